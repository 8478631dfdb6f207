"""The NumPy fits behind the retriever: a calibration and a ranking, on data whose answer is known."""
from __future__ import annotations

import numpy as np
import pytest

from bot.retrieval.fit import logistic, softmax_ranking


def test_logistic_of_a_symmetric_set_has_no_intercept() -> None:
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    w, b = logistic(X, np.array([0, 0, 1, 1]), l2=1.0)
    assert w[0] > 0 and b == pytest.approx(0.0, abs=1e-9)


def test_logistic_balances_unequal_classes() -> None:
    # nine positives at x = 1, one negative at x = -1: balanced, the boundary stays halfway, at 0
    X = np.array([[1.0]] * 9 + [[-1.0]])
    w, b = logistic(X, np.array([1] * 9 + [0]), l2=1.0)
    assert -b / w[0] == pytest.approx(0.0, abs=1e-6)


def test_softmax_ranking_learns_the_feature_that_marks_the_answer() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 6, 2))  # 50 queries, 6 entries, feature 0 is noise ...
    target = rng.integers(0, 6, size=50)
    X[np.arange(50), target, 1] += 3.0  # ... feature 1 is higher for the right entry
    w = softmax_ranking(X, np.eye(6, dtype=bool)[target])
    assert w[1] > 5 * abs(w[0])
    assert ((X @ w).argmax(axis=1) == target).mean() > 0.9


def test_softmax_ranking_accepts_several_right_entries() -> None:
    X = np.zeros((2, 3, 1))
    X[:, :2, 0] = 1.0  # entries 0 and 1 have the feature, both count as right
    w = softmax_ranking(X, np.array([[True, True, False]] * 2))
    assert w[0] > 0
