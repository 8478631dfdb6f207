"""Bot.ask on the fixture KB with the fake embedder: the logic around retrieval, not the model's quality."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answer import Bot, check_question
from bot.errors import BadQuestion


def test_answers_with_the_matching_entry(fake_bot: Bot) -> None:
    answer = fake_bot.ask("where does the 1/m in dW come from")
    assert answer.kind == "answer" and answer.in_scope
    assert answer.entry is not None and answer.entry.id == "one-over-m"
    assert answer.answers[0].url == "http://localhost:8501/?entry=one-over-m"


def test_related_entries_come_with_the_answer(fake_bot: Bot) -> None:
    answer = fake_bot.ask("why does dW have the same shape as W")
    assert [r.id for r in answer.related] == ["one-over-m"]


def test_out_of_scope_is_declined_with_suggestions_and_coverage(fake_bot: Bot) -> None:
    answer = fake_bot.ask("tell me a joke please")
    assert answer.kind == "out_of_scope" and not answer.in_scope and answer.entry is None
    assert answer.message.startswith("This knowledge base does not cover that.")
    assert "the cost, the 1/m, shapes and ReLU" in answer.message
    assert len(answer.answers) == 3


@pytest.mark.parametrize("greeting", ["hello", "Hi!", "hey", "Good morning.", "hi there! 👋", "Hello, can you help me?"])
def test_greeting_gets_a_hello_and_an_invitation(fake_bot: Bot, greeting: str) -> None:
    answer = fake_bot.ask(greeting)
    assert answer.kind == "greeting" and not answer.in_scope and answer.answers == []
    assert answer.message.startswith("Hello!") and "1/m" in answer.message


@pytest.mark.parametrize("thanks", ["thanks!", "thank you so much", "Thanks, that helped 🙏", "ok thx"])
def test_thanks_gets_you_are_welcome(fake_bot: Bot, thanks: str) -> None:
    answer = fake_bot.ask(thanks)
    assert answer.kind == "greeting" and answer.message.startswith("You're welcome")


def test_a_question_after_a_greeting_is_answered(fake_bot: Bot) -> None:
    assert fake_bot.ask("Hello, can you help me? why does dW have the same shape as W").kind == "answer"


def test_a_pasted_function_without_a_question_is_answered_with_a_note(fake_bot: Bot) -> None:
    code = "def relu_backward(dA, cache):\n    Z = cache\n    dZ = np.array(dA, copy=True)\n    dZ[Z <= 0] = 0\n    return dZ\n"
    answer = fake_bot.ask(code)
    assert answer.in_scope and "Add a sentence" in answer.message


def test_a_question_in_a_code_comment_gets_no_note(fake_bot: Bot) -> None:
    answer = fake_bot.ask("dZ = np.array(dA, copy=True)\ndZ[Z <= 0] = 0  # why is the relu derivative zero here?")
    assert "Add a sentence" not in answer.message


def test_at_least_three_ranked_answers_even_if_fewer_asked(fake_bot: Bot) -> None:
    assert len(fake_bot.ask("relu derivative", top_k=1).answers) == 3
    assert len(fake_bot.ask("relu derivative", top_k=4).answers) == 4


def test_formula_only_question_is_answered_with_a_note(fake_bot: Bot) -> None:
    answer = fake_bot.ask("dZ[Z <= 0] = 0")
    assert answer.in_scope and "only a formula or code" in answer.message


def test_json_has_the_documented_fields(fake_bot: Bot) -> None:
    data = fake_bot.ask("relu derivative at zero").to_dict()
    assert {"question", "in_scope", "confidence", "entry_confidence", "ambiguous", "candidates", "answers", "body",
            "answer", "message", "kind"} <= set(data)
    assert 0.0 <= data["entry_confidence"] <= data["confidence"] <= 1.0
    assert set(data["answers"][0]) == {"id", "title", "summary", "topics", "score", "url"}
    assert data["body"] == data["answer"]["body"] and data["answer"]["id"] == "relu-derivative"


BAD = [
    ("", "the question is empty"),
    ("   \n\t ", "the question is empty"),
    ("x" * 5000, "the question is 5,000 characters long; the limit is 4,000"),
    ("\x00\x01\x02\x03\x04\x05\n", r"the question is empty \(it has only control characters\)"),
    (42, "the question must be text, got int"),
]


@pytest.mark.parametrize("question, message", BAD, ids=["empty", "blank", "huge", "control", "not-text"])
def test_bad_questions_are_refused_with_what_to_do(fake_bot: Bot, question: str, message: str) -> None:
    with pytest.raises(BadQuestion, match=message):
        fake_bot.ask(question)


def test_stray_control_characters_are_removed_and_the_question_answered(fake_bot: Bot) -> None:
    answer = fake_bot.ask("\x1b[31mrelu\x1b[0m derivative\x00 at zero")
    assert answer.question == "[31mrelu[0m derivative at zero" and answer.kind == "answer"


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_text_is_answered_or_refused_never_crashes(fake_bot: Bot, text: str) -> None:
    try:
        answer = fake_bot.ask(text)
    except BadQuestion:
        return
    assert answer.kind in {"answer", "out_of_scope", "greeting"} and 0.0 <= answer.confidence <= 1.0


def test_check_question_trims_white_space() -> None:
    assert check_question("  why 1/m?  \n", 100) == "why 1/m?"


@pytest.mark.parametrize("question, formula_only", [
    ("dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))", True),
    (r"$$dZ^{[L]} = A^{[L]} - Y$$", True),
    ("db = 1/m * np.sum(dZ, axis=1, keepdims=True)", True),
    ("why keepdims", False),
    ("derivative of relu", False),
])
def test_formula_only_questions_get_a_note(fake_bot: Bot, question: str, formula_only: bool) -> None:
    answer = fake_bot.ask(question)
    assert ("only a formula or code" in answer.message) == (formula_only and answer.in_scope)
