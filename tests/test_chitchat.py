"""Small talk gets a reply of its own; anything with a question in it goes to retrieval."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.chitchat import GOODBYE, HELLO, WELCOME, code_only, reply


@pytest.mark.parametrize(("text", "expected"), [
    ("hi", HELLO), ("Hey there 👋", HELLO), ("good evening everyone!", HELLO), ("Hello, can you help me?", HELLO),
    ("is anyone there?", HELLO), ("thanks!", WELCOME), ("Thank you so much!!", WELCOME), ("great, thanks", WELCOME),
    ("bye", GOODBYE), ("thanks, bye!", GOODBYE),
])
def test_small_talk_gets_its_reply(text: str, expected: str) -> None:
    assert reply(text) == expected


@pytest.mark.parametrize("text", [
    "hi, why is there no 1/m in dZ?", "thanks, but what about db?", "hello can you explain dA_prev = W.T dZ",
    "dropout", "help me with the dW1 assertion error",
])
def test_a_question_is_not_small_talk(text: str) -> None:
    assert reply(text) is None


@given(st.text(max_size=200))
def test_reply_never_fails_and_is_one_of_three(text: str) -> None:
    assert reply(text) in (None, HELLO, WELCOME, GOODBYE)


def test_code_that_parses_is_code_only() -> None:
    assert code_only("dW2 = (1 / m) * np.dot(dZ2, A1.T)\ndb2 = (1 / m) * np.sum(dZ2, axis=1, keepdims=True)")


def test_a_formula_is_code_only() -> None:
    assert code_only("dZ[L] = A[L] - Y")


@pytest.mark.parametrize("text", [
    "why is dZ = A - Y", "Traceback (most recent call last):\n  File \"x.py\", line 3\nValueError: shapes not aligned",
    "dZ = A - Y  # but where does the 1/m go in this line?", "vanishing gradients",
])
def test_text_with_a_sentence_is_not_code_only(text: str) -> None:
    assert not code_only(text)
