"""Small NumPy fits for the retriever: a logistic calibration and a softmax ranking, each a few Newton or
gradient steps on a few hundred rows (no scikit-learn on the answering path)."""
from __future__ import annotations

import numpy as np


def logistic(X: np.ndarray, y: np.ndarray, l2: float = 0.1, balanced: bool = True) -> tuple[np.ndarray, float]:
    """Weights and intercept of P(y=1 | x) = sigmoid(x @ w + b), by Newton's method with an L2 penalty on w
    (`balanced` weighs both classes equally, whatever their counts)."""
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    sample = np.ones(len(y))
    if balanced and 0 < y.sum() < len(y):
        sample = np.where(y == 1, len(y) / (2 * y.sum()), len(y) / (2 * (len(y) - y.sum())))
    A = np.column_stack([X, np.ones(len(y))])
    penalty = np.full(A.shape[1], l2)
    penalty[-1] = 0.0  # the intercept is not shrunk
    theta = np.zeros(A.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(A @ theta, -30, 30)))
        grad = A.T @ (sample * (p - y)) + penalty * theta
        hess = (A * (sample * p * (1 - p))[:, None]).T @ A + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return theta[:-1], float(theta[-1])


def softmax_ranking(X: np.ndarray, target: np.ndarray, l2: float = 1e-3, weight: np.ndarray | None = None,
                    steps: int = 3000, rate: float = 0.5) -> np.ndarray:
    """Weights w that make X[i] @ w rank one of the entries target[i] marks (n_queries, n_entries, booleans) first
    among the rows of X[i] (n_queries, n_entries, n_features): the softmax probability of the marked entries,
    log-likelihood averaged over queries (weighted by `weight`), maximised by Adam steps from w = 0."""
    n, _, f = X.shape
    target = np.asarray(target, bool)
    weight = np.ones(n) if weight is None else np.asarray(weight, np.float64)
    weight = weight / weight.sum()
    w = np.zeros(f)
    m = np.zeros(f)
    v = np.zeros(f)
    for t in range(1, steps + 1):
        s = X @ w
        s -= s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        q = np.where(target, p, 0.0)
        q /= q.sum(axis=1, keepdims=True)  # the same softmax restricted to the marked entries
        grad = ((p[:, :, None] * X).sum(axis=1) - (q[:, :, None] * X).sum(axis=1)).T @ weight + 2 * l2 * w
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        w -= rate / np.sqrt(t) * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w
