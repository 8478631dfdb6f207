"""BM25 as bm25s and Lucene compute it, and a held-out text that leaves its document as if never there."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.retrieval.lexical import BM25, K1, B

DOCS = [["relu", "mask", "relu"], ["sigmoid", "derivative"], ["mask", "dropout", "keep", "prob", "mask"]]


def test_scores_match_a_hand_computation() -> None:
    # "relu" occurs only in document 0 (twice, length 3; mean length 10/3)
    idf = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))
    tf, norm = 2, K1 * (1 - B + B * 3 / (10 / 3))
    assert BM25(DOCS).scores(["relu"]) == pytest.approx([idf * tf / (tf + norm), 0.0, 0.0])


def test_unknown_words_score_nothing() -> None:
    assert BM25(DOCS).scores(["softmax"]).tolist() == [0.0, 0.0, 0.0]


tokens = st.lists(st.sampled_from(["relu", "mask", "sigmoid", "dropout", "dz", "dw"]), min_size=1, max_size=6)


@given(st.lists(tokens, min_size=2, max_size=4), tokens, st.data())
def test_leaving_a_text_out_equals_indexing_without_it(docs: list[list[str]], query: list[str],
                                                       data: st.DataObject) -> None:
    row = data.draw(st.integers(0, len(docs) - 1))
    keep = data.draw(st.integers(1, len(docs[row])))  # the document keeps at least one word
    held, rest = docs[row][keep:], docs[row][:keep]
    expected = BM25([*docs[:row], rest, *docs[row + 1:]]).scores(query)
    assert np.allclose(BM25(docs).scores(query, without=(row, held)), expected)
