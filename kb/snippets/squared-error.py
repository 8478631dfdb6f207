"""Squared-error cost J = 1/(2m) sum (a - y)^2: the 2 from the power rule cancels the 1/2.

Look at: dJ/dA = (1/m)(A - Y); dZ = A - Y per example for a linear output and (A - Y) A (1 - A) for a
sigmoid output, each checked through dW = (1/m) dZ A_prev^T and db against finite differences of J;
and the gradient of J without the 1/2, exactly 2 times as large.
"""
import numpy as np

np.set_printoptions(precision=6, suppress=True)
rng = np.random.default_rng(5)
n_prev, m = 3, 5
eps = 1e-6

A_prev = rng.standard_normal((n_prev, m))        # input to the output layer, (n_prev, m)
W = rng.standard_normal((1, n_prev)) * 0.5       # (1, n_prev)
b = np.array([[0.1]])                            # (1, 1)
Y_reg = rng.standard_normal((1, m))              # regression targets for the linear output
Y_bin = (rng.random((1, m)) < 0.5).astype(float) # targets in [0, 1] for the sigmoid output


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def cost_mse(A, Y, half=True):
    return (1 / (2 * m) if half else 1 / m) * np.sum((A - Y) ** 2)


def rel_error(a, n):
    return np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n))


def numeric_grad(f, x):
    # two-sided differences of the scalar f with respect to every entry of the array x
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        g[idx] = (f(xp) - f(xm)) / (2 * eps)
    return g


# 1) J as a function of A directly: dJ/dA = (1/m)(A - Y)
A = np.dot(W, A_prev) + b
dJ_dA = (1 / m) * (A - Y_reg)
err_a = rel_error(dJ_dA, numeric_grad(lambda a: cost_mse(a, Y_reg), A))
print(f"dJ/dA = (1/m)(A - Y): rel_err = {err_a:.1e}   (tolerance 1e-7)")
assert err_a < 1e-7, err_a

# 2) one output layer, linear or sigmoid; the 1/m enters once, in dW and db
for name, g, Y in [("linear", lambda z: z, Y_reg), ("sigmoid", sigmoid, Y_bin)]:
    A = g(np.dot(W, A_prev) + b)
    dA = A - Y                                    # per example: d/da of (1/2)(a - y)^2
    dZ = dA if name == "linear" else dA * A * (1 - A)
    dW = (1 / m) * np.dot(dZ, A_prev.T)           # (1, n_prev), like W
    db = (1 / m) * np.sum(dZ, axis=1, keepdims=True)
    dW_num = numeric_grad(lambda w, g=g, Y=Y: cost_mse(g(np.dot(w, A_prev) + b), Y), W)
    db_num = numeric_grad(lambda bb, g=g, Y=Y: cost_mse(g(np.dot(W, A_prev) + bb), Y), b)
    err = rel_error(np.append(dW, db), np.append(dW_num, db_num))
    print(f"{name:7s} output: dW {dW.ravel()}  numerical {dW_num.ravel()}")
    print(f"relative error {err:.1e}, tolerance 1e-7")
    print(f"claim: rel_err_{name} = {err:.1e}")
    assert err < 1e-7, (name, err)

# 3) without the 1/2 every gradient doubles (same as doubling the learning rate)
dW_half = numeric_grad(lambda w: cost_mse(np.dot(w, A_prev) + b, Y_reg), W)
dW_full = numeric_grad(lambda w: cost_mse(np.dot(w, A_prev) + b, Y_reg, half=False), W)
ratios = dW_full / dW_half
print("dW without the 1/2 divided by dW with it:", ratios.ravel())
print(f"claim: ratio_without_half = {np.mean(ratios):.6f}")
assert np.allclose(ratios, 2.0, atol=1e-6)
