"""Follow-up questions read against the previous turn (bot/context.py), on the real KB with hand-made rankings, and
through the real bot where the model's ranking decides."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.answer import Bot
from bot.config import load_settings
from bot.context import MAX_WORDS, Context, accepts, content_words, looks_like_follow_up, previous_entry, resolve
from bot.datatypes import KnowledgeBase
from bot.errors import EntryNotFound
from bot.retrieval.kb import load_kb
from bot.retrieval.retrieve import Hit, Ranking

KB = load_kb(load_settings().kb_dir)


def ranking(kb: KnowledgeBase, scores: dict[str, float], entry_confidence: float = 0.5) -> Ranking:
    """Every entry, those in `scores` first with their scores, the rest at 0."""
    hits = sorted((Hit(e.id, scores.get(e.id, 0.0), 0.0, 0.0) for e in kb.entries), key=lambda h: -h.score)
    return Ranking(hits, 0.0, 0.9, 0.1, entry_confidence)


def test_a_short_question_that_opens_with_and_is_a_follow_up() -> None:
    assert looks_like_follow_up("and for tanh?") and looks_like_follow_up("why the transpose there?")


def test_a_self_contained_question_is_not_a_follow_up() -> None:
    assert not looks_like_follow_up("How do you derive dZ for a hidden layer with tanh activations?")


@given(st.lists(st.sampled_from(["and", "what", "about", "db", "there", "relu"]), min_size=MAX_WORDS + 1))
def test_a_question_longer_than_max_words_is_never_a_follow_up(words: list[str]) -> None:
    assert not looks_like_follow_up(" ".join(words))


def test_a_changed_activation_leaves_no_content_words() -> None:
    assert content_words("and what if the hidden layer is ReLU instead?") == []
    assert content_words("same thing for a tanh output with squared error?") == []


def test_a_named_gradient_is_a_content_word() -> None:
    assert content_words("what about db?") == ["db"]


def test_which_derivations_have_a_variant_for_a_choice() -> None:
    assert accepts("dz-output", {"activation": "tanh", "loss": "mse"})
    assert not accepts("dz-output", {"activation": "relu"})
    assert accepts("activation", {"activation": "relu"}) and not accepts("activation", {"activation": "softmax"})
    assert not accepts("softmax-ce", {"activation": "sigmoid"}) and accepts("dw-db", {"activation": "relu"})


def test_relu_after_the_output_layer_moves_to_the_hidden_layer_entry() -> None:
    question = "and what if the hidden layer is ReLU instead?"
    found = resolve(question, KB.get("dz-output-derivation"), KB, ranking(KB, {"vanishing-gradients": 0.9}),
                    ranking(KB, {"dz-hidden-derivation": 0.9, "activation-derivatives": 0.7}), True)
    assert (found.entry_id, found.choices) == ("dz-hidden-derivation", {"activation": "relu"})


def test_a_choice_the_previous_derivation_has_keeps_its_entry() -> None:
    found = resolve("and for tanh?", KB.get("dz-hidden-derivation"), KB,
                    ranking(KB, {"activation-derivatives": 0.9}), ranking(KB, {}), True)
    assert (found.entry_id, found.choices) == ("dz-hidden-derivation", {"activation": "tanh"})


def test_a_layer_follow_up_keeps_the_previous_questions_activation_and_loss() -> None:
    found = resolve("and for layer 3?", KB.get("dz-output-derivation"), KB, ranking(KB, {}), ranking(KB, {}),
                    False, previous_question="derive dZ[L] for a tanh output with squared error")
    assert found.choices == {"activation": "tanh", "loss": "mse", "layer": "3"}


def test_a_named_gradient_moves_to_the_neighbour_whose_title_has_it() -> None:
    found = resolve("what about db?", KB.get("dw-derivation"), KB,
                    ranking(KB, {"one-over-m-in-dzl": 0.7, "db-derivation": 0.6}), ranking(KB, {}), True)
    assert found.entry_id == "db-derivation"


def test_a_named_gradient_the_previous_title_has_stays() -> None:
    found = resolve("and db?", KB.get("gradient-shapes"), KB, ranking(KB, {"db-derivation": 0.8}), ranking(KB, {}),
                    True)
    assert found.entry_id == "gradient-shapes"


def test_a_confident_new_topic_is_answered_as_if_read_alone() -> None:
    found = resolve("what about the derivative of tanh?", KB.get("gradient-checking"), KB,
                    ranking(KB, {"activation-derivatives": 1.1}, entry_confidence=0.99), ranking(KB, {}), True)
    assert found.entry_id is None


def test_an_out_of_scope_follow_up_stays_out_of_scope() -> None:
    found = resolve("and which learning rate schedule for Adam?", KB.get("softmax-gradient"), KB, ranking(KB, {}),
                    ranking(KB, {"softmax-gradient": 1.1}), False)
    assert found.entry_id is None


def test_an_unknown_previous_entry_names_the_field() -> None:
    with pytest.raises(EntryNotFound, match="context.previous_entry_id 'no-such-entry'"):
        previous_entry(KB, Context("no-such-entry"))


def test_the_issues_relu_follow_up_gets_the_hidden_layer_entry_and_a_relu_derivation(real_bot: Bot) -> None:
    first = real_bot.ask("How is dZ[L] = A[L] - Y derived?")
    answer = real_bot.ask("and what if the hidden layer is ReLU instead?",
                          context=Context(first.entry.id if first.entry else "", first.question))
    assert answer.entry is not None and answer.entry.id == "dz-hidden-derivation"
    assert answer.derivation is not None and answer.derivation["choice"]["activation"] == "relu"
    assert answer.follow_up_of == "dz-output-derivation"


@pytest.mark.parametrize("question", ["Why does zero initialisation fail to break symmetry between hidden units?",
                                      "what about the derivative of tanh?", "what will the weather be tomorrow?"])
def test_a_new_topic_gets_the_answer_it_gets_alone(real_bot: Bot, question: str) -> None:
    alone = real_bot.ask(question)
    after = real_bot.ask(question, context=Context("dz-output-derivation"))
    assert (after.kind, after.entry and after.entry.id, after.follow_up_of) == (alone.kind, alone.entry
                                                                                and alone.entry.id, None)


def test_the_output_layer_after_a_hidden_layer_moves_to_the_entry_that_links_to_it() -> None:
    found = resolve("how about the output layer then?", KB.get("dz-hidden-derivation"), KB, ranking(KB, {}),
                    ranking(KB, {"dz-output-derivation": 1.0, "softmax-gradient": 0.9}), True)
    assert found.entry_id == "dz-output-derivation"


def test_a_gradient_in_the_previous_title_only_as_a_variable_moves_on() -> None:
    found = resolve("and dA_prev?", KB.get("dw-derivation"), KB, ranking(KB, {"da-prev-derivation": 0.7}),
                    ranking(KB, {}), True)
    assert found.entry_id == "da-prev-derivation"
