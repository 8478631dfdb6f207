"""A reference oracle for backprop: a small fully connected net, its gradients, and a finite-difference check.

Course notation: X is (n_x, m), one example per column; W[l] is (n[l], n[l-1]); b[l] is (n[l], 1); Z[l] and A[l]
are (n[l], m). The cost J is the mean of the per-example losses, so 1/m enters exactly once: in dW, db (the course's
convention) or in dZ[L] (the alternative). Two deliberate mistakes can be switched on to show what they do.
Plain NumPy, float64 only, no other bot module: it has to stay an independent judge of the KB's snippets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax")
LOSSES = ("bce", "cce", "mse")  # binary cross-entropy, categorical cross-entropy, squared error with 1/2
CONVENTIONS = ("course", "alternative")
OUTPUT_FOR_LOSS = {"bce": "sigmoid", "cce": "softmax"}  # log(A) and log(1 - A) need these ranges; mse takes any
SHORTCUTS = {("bce", "sigmoid"), ("cce", "softmax")}  # pairs where dL/dZ[L] simplifies to A - Y


@dataclass(frozen=True)
class Net:
    sizes: tuple[int, ...]  # (n_x, n1, ..., nL)
    activations: tuple[str, ...]  # one per layer, len(sizes) - 1
    loss: str = "bce"
    leaky_slope: float = 0.01  # leaky ReLU's slope for z <= 0

    def __post_init__(self) -> None:
        sizes, acts = self.sizes, self.activations
        if len(sizes) < 2 or any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in sizes):
            raise ValueError(f"Net.sizes must be (n_x, n1, ..., nL) with at least two positive ints, got {sizes!r}")
        if len(acts) != len(sizes) - 1:
            raise ValueError(f"Net.activations must have one name per layer ({len(sizes) - 1} for sizes {sizes}), "
                             f"got {len(acts)}: {acts!r}")
        for l, name in enumerate(acts, start=1):
            if name not in ACTIVATIONS:
                raise ValueError(f"Net.activations[{l - 1}] (layer {l}) must be one of {', '.join(ACTIVATIONS)}; "
                                 f"got {name!r}")
            if name == "softmax" and l < len(acts):
                raise ValueError(f"Net.activations[{l - 1}] (layer {l}) is 'softmax', which is allowed only as the "
                                 "last activation, with loss 'cce'")
        if self.loss not in LOSSES:
            raise ValueError(f"Net.loss must be one of {', '.join(LOSSES)}; got {self.loss!r}")
        needed = OUTPUT_FOR_LOSS.get(self.loss)
        if needed is not None and acts[-1] != needed:
            raise ValueError(f"Net.loss {self.loss!r} needs activations[-1] {needed!r}, got {acts[-1]!r}")
        if acts[-1] == "softmax" and self.loss != "cce":
            raise ValueError(f"Net.activations[-1] 'softmax' needs loss 'cce', got {self.loss!r}")
        if acts[-1] == "softmax" and sizes[-1] < 2:
            raise ValueError(f"Net.sizes[-1] must be >= 2 for a softmax output (one unit is always 1), got {sizes[-1]}")
        if not 0.0 <= self.leaky_slope < 1.0:
            raise ValueError(f"Net.leaky_slope must be in [0, 1), got {self.leaky_slope!r}")

    @property
    def L(self) -> int:
        """The number of layers with parameters (the input layer is layer 0)."""
        return len(self.sizes) - 1


def init_params(net: Net, seed: int = 0, scale: float = 0.5) -> dict[str, np.ndarray]:
    """Seeded float64 weights N(0, scale^2) and small random biases (not zero, so db is really exercised)."""
    rng = np.random.default_rng(seed)
    params: dict[str, np.ndarray] = {}
    for l in range(1, net.L + 1):
        params[f"W{l}"] = scale * rng.standard_normal((net.sizes[l], net.sizes[l - 1]))
        params[f"b{l}"] = 0.1 * rng.standard_normal((net.sizes[l], 1))
    return params


def _activate(name: str, Z: np.ndarray, slope: float) -> np.ndarray:
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * Z))  # the same function as 1 / (1 + e^-z), without overflow for z << 0
    if name == "tanh":
        return np.tanh(Z)
    if name == "relu":
        return np.maximum(Z, 0.0)
    if name == "leaky_relu":
        return np.where(Z > 0, Z, slope * Z)
    if name == "softmax":
        E = np.exp(Z - Z.max(axis=0, keepdims=True))  # shifting each column leaves softmax unchanged
        return E / E.sum(axis=0, keepdims=True)
    return Z.copy()  # linear


def _derivative(name: str, Z: np.ndarray, A: np.ndarray, slope: float) -> np.ndarray:
    """g'(Z) elementwise; softmax has no elementwise derivative and only ever meets cce through the A - Y shortcut."""
    if name == "sigmoid":
        return A * (1.0 - A)
    if name == "tanh":
        return 1.0 - A**2
    if name == "relu":
        return (Z > 0).astype(np.float64)  # ReLU'(0) = 0, as in the course's dZ[Z <= 0] = 0
    if name == "leaky_relu":
        return np.where(Z > 0, 1.0, slope)
    if name == "linear":
        return np.ones_like(Z)
    raise ValueError(f"no elementwise derivative for activation {name!r}")


def forward(net: Net, params: dict[str, np.ndarray], X: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The cache [(Z1, A1), ..., (ZL, AL)], each (n[l], m)."""
    if X.ndim != 2 or X.shape[0] != net.sizes[0]:
        raise ValueError(f"X must be (n_x, m) = ({net.sizes[0]}, m), one example per column, got {X.shape}")
    cache, A = [], X
    for l, name in enumerate(net.activations, start=1):
        Z = params[f"W{l}"] @ A + params[f"b{l}"]
        A = _activate(name, Z, net.leaky_slope)
        cache.append((Z, A))
    return cache


def losses(net: Net, AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The per-example loss row L, shape (1, m), summed over output units."""
    if Y.shape != AL.shape:
        raise ValueError(f"Y must have the shape of AL {AL.shape} (one column per example), got {Y.shape}")
    if net.loss == "bce":  # several sigmoid units are independent binary labels
        per_unit = -(Y * np.log(AL) + (1.0 - Y) * np.log(1.0 - AL))
    elif net.loss == "cce":
        per_unit = -Y * np.log(AL)
    else:
        per_unit = 0.5 * (AL - Y) ** 2
    return per_unit.sum(axis=0, keepdims=True)


def cost(net: Net, params: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray, l2: float = 0.0) -> float:
    """J = mean of the losses, plus (l2 / (2m)) * sum of ||W[l]||_F^2 when l2 > 0."""
    m = X.shape[1]
    J = float(losses(net, forward(net, params, X)[-1][1], Y).mean())
    if l2:
        J += l2 / (2 * m) * sum(float(np.sum(params[f"W{l}"] ** 2)) for l in range(1, net.L + 1))
    return J


def _loss_grad(net: Net, AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """dL/dA[L] for one example per column."""
    if net.loss == "bce":
        return -(Y / AL) + (1.0 - Y) / (1.0 - AL)
    if net.loss == "cce":
        return -Y / AL
    return AL - Y


def backward(net: Net, params: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray, convention: str = "course",
             l2: float = 0.0, one_over_m_every_layer: bool = False,
             one_over_m_twice: bool = False) -> dict[str, np.ndarray]:
    """Backprop by the given convention: {"dW1", "db1", ..., "dZ1", ..., "dA0", ..., "dAL"}.

    "course": dZ[L] is per example (dL/dZ[L]) and 1/m sits in dW, db. "alternative": dZ[L] = dJ/dZ[L] already
    carries 1/m, so dW = dZ A_prev^T and db = sum(dZ) without it. Both give the same dW, db.
    one_over_m_every_layer (a mistake): every hidden dZ[l] is divided by m again, so layer l is m^(L-l) too small.
    one_over_m_twice (a mistake): 1/m both at dZ[L] and in dW, db, so every dW, db is m times too small.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {', '.join(CONVENTIONS)}; got {convention!r}")
    m = X.shape[1]
    alternative = convention == "alternative"
    at_output = 1.0 / m if alternative or one_over_m_twice else 1.0  # where 1/m goes decides the convention
    in_dW = 1.0 / m if not alternative or one_over_m_twice else 1.0
    cache = forward(net, params, X)
    ZL, AL = cache[-1]
    grads = {f"dA{net.L}": at_output * _loss_grad(net, AL, Y)}
    if (net.loss, net.activations[-1]) in SHORTCUTS:
        dZ = at_output * (AL - Y)  # the product dA * g'(Z) simplifies; also avoids dividing by A
    else:
        dZ = grads[f"dA{net.L}"] * _derivative(net.activations[-1], ZL, AL, net.leaky_slope)
    for l in range(net.L, 0, -1):
        A_prev = cache[l - 2][1] if l > 1 else X
        W = params[f"W{l}"]
        grads[f"dZ{l}"] = dZ
        grads[f"dW{l}"] = in_dW * dZ @ A_prev.T + (l2 / m) * W  # the l2 term is dJ/dW of (l2/(2m))||W||^2
        grads[f"db{l}"] = in_dW * dZ.sum(axis=1, keepdims=True)
        grads[f"dA{l - 1}"] = W.T @ dZ
        if l > 1:
            Z, A = cache[l - 2]
            dZ = grads[f"dA{l - 1}"] * _derivative(net.activations[l - 2], Z, A, net.leaky_slope)
            if one_over_m_every_layer:
                dZ = dZ / m
    return grads


def numerical_grads(net: Net, params: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray, eps: float = 1e-6,
                    l2: float = 0.0) -> dict[str, np.ndarray]:
    """Two-sided differences (J(p + eps) - J(p - eps)) / (2 eps) of cost() for every entry of every W and b."""
    work = {k: v.astype(np.float64, copy=True) for k, v in params.items()}  # the caller's arrays stay untouched
    numeric: dict[str, np.ndarray] = {}
    for l in range(1, net.L + 1):
        for name in (f"W{l}", f"b{l}"):
            p, g = work[name], np.zeros_like(work[name])
            for idx in np.ndindex(p.shape):
                saved = p[idx]
                p[idx] = saved + eps
                plus = cost(net, work, X, Y, l2)
                p[idx] = saved - eps
                minus = cost(net, work, X, Y, l2)
                p[idx] = saved
                g[idx] = (plus - minus) / (2 * eps)
            numeric[f"d{name}"] = g
    return numeric


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||) over all entries; 0.0 when both are zero."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"relative_error needs arrays of the same size, got {a.size} and {b.size}")
    denominator = float(np.linalg.norm(a) + np.linalg.norm(b))
    return float(np.linalg.norm(a - b)) / denominator if denominator else 0.0


def gradient_difference(grads: dict[str, np.ndarray], numeric: dict[str, np.ndarray]) -> float:
    """The course's gradient-check "difference": relative_error of every dW, db flattened into one vector.

    The keys come from `numeric`, so dZ and dA entries in `grads` are ignored. Below 1e-7 is great; above 1e-3 is a bug.
    """
    keys = sorted((k for k in numeric if k[:2] in ("dW", "db")), key=lambda k: (int(k[2:]), k[:2] == "db"))
    missing = [k for k in keys if k not in grads]
    if missing:
        raise ValueError(f"grads lacks {', '.join(missing)}, which numeric has")
    return relative_error(np.concatenate([grads[k].ravel() for k in keys]),
                          np.concatenate([numeric[k].ravel() for k in keys]))


def make_data(net: Net, m: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Seeded X (n_x, m) ~ N(0, 1) and a Y that fits the loss: 0/1 for bce, one-hot for cce, real for mse."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((net.sizes[0], m))
    nL = net.sizes[-1]
    if net.loss == "bce":
        Y = (rng.random((nL, m)) < 0.5).astype(np.float64)
    elif net.loss == "cce":
        Y = np.eye(nL)[:, rng.integers(nL, size=m)]  # column j is the one-hot label of example j
    else:
        Y = rng.standard_normal((nL, m))
    return X, Y
