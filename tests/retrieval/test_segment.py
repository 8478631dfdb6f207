"""Long questions are cut into windows the model reads whole; short ones stay as they are."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.retrieval.segment import WINDOW, pieces, segments


def test_a_short_question_is_one_window() -> None:
    question = "why is there no 1/m in dZ2?"
    assert segments(question) == [question]


def test_pieces_count_words_numbers_and_punctuation() -> None:
    assert pieces("dW1 = 0.003") == 6  # dW, 1, =, 0, ., 003


def test_a_long_post_is_cut_between_sentences() -> None:
    post = " ".join(f"Sentence number {i} says something about dZ and dW." for i in range(40))
    windows = segments(post, window=40)
    assert len(windows) > 1
    assert all(w.endswith(".") for w in windows)  # no sentence is split
    assert all(pieces(w) <= 40 for w in windows)


words = st.lists(st.text(alphabet="abcxyz019.,?()=*", min_size=1, max_size=12), min_size=1, max_size=400)


@given(words, st.integers(min_value=8, max_value=WINDOW))
def test_windows_keep_every_word_in_order_and_fit(tokens: list[str], window: int) -> None:
    text = " ".join(tokens)
    windows = segments(text, window)
    assert " ".join(windows).split() == text.split()
    assert all(pieces(w) <= window or len(w.split()) == 1 for w in windows)
