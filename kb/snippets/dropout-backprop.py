"""Backprop through inverted dropout on A1 (keep_prob = 0.8) with one FIXED mask D1.

Look at: with dA1 = dA1 * D1 / keep_prob the gradients match finite differences of J computed with the
same mask; forgetting the mask or the / keep_prob gives a large relative error (dW1 comes out at 0.8x).
"""
import numpy as np

np.set_printoptions(precision=6, suppress=True)
rng = np.random.default_rng(6)
n_x, n_1, m = 3, 5, 5
keep_prob = 0.8
eps = 1e-6

X = rng.standard_normal((n_x, m))
Y = (rng.random((1, m)) < 0.5).astype(float)
p = {"W1": rng.standard_normal((n_1, n_x)) * 0.8, "b1": rng.standard_normal((n_1, 1)) * 0.1,
     "W2": rng.standard_normal((1, n_1)) * 0.8, "b2": np.zeros((1, 1))}
# the mask is drawn ONCE (forward pass) and reused by backprop and by every J evaluation
D1 = (rng.random((n_1, m)) < keep_prob).astype(float)   # (n_1, m), 1 = keep
print("D1 (fixed mask):\n", D1)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def forward_with_mask(p):
    Z1 = np.dot(p["W1"], X) + p["b1"]                    # (n_1, m)
    A1 = np.maximum(0, Z1) * D1 / keep_prob              # ReLU, then inverted dropout
    A2 = sigmoid(np.dot(p["W2"], A1) + p["b2"])          # (1, m)
    return Z1, A1, A2


def cost_J(p):
    A2 = forward_with_mask(p)[2]
    return -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))


def grads_dropout(p, mask=True, divide=True):
    Z1, A1, A2 = forward_with_mask(p)
    dZ2 = A2 - Y                                         # (1, m)
    dW2 = (1 / m) * np.dot(dZ2, A1.T)                    # A1 after dropout: the one that fed layer 2
    db2 = (1 / m) * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(p["W2"].T, dZ2)                         # (n_1, m), w.r.t. the dropped-out A1
    if mask:
        dA1 = dA1 * D1                                   # same mask as the forward pass
    if divide:
        dA1 = dA1 / keep_prob                            # same scaling as the forward pass
    dZ1 = dA1 * (Z1 > 0)                                 # ReLU'
    dW1 = (1 / m) * np.dot(dZ1, X.T)
    db1 = (1 / m) * np.sum(dZ1, axis=1, keepdims=True)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def numeric_grad(p):
    out = {}
    for k, v in p.items():
        g = np.zeros_like(v)
        for idx in np.ndindex(v.shape):
            plus = {kk: vv.copy() for kk, vv in p.items()}
            minus = {kk: vv.copy() for kk, vv in p.items()}
            plus[k][idx] += eps
            minus[k][idx] -= eps
            g[idx] = (cost_J(plus) - cost_J(minus)) / (2 * eps)
        out[k] = g
    return out


def rel_error(a, n):
    return np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n))


def flat(g):
    return np.concatenate([g[k].ravel() for k in ["W1", "b1", "W2", "b2"]])


Z1 = np.dot(p["W1"], X) + p["b1"]
assert np.min(np.abs(Z1)) > 1e-3, "a z too close to the ReLU kink"

num = numeric_grad(p)
good = grads_dropout(p)
print("dW1 row 0, analytic :", good["W1"][0])
print("dW1 row 0, numerical:", num["W1"][0])
err = rel_error(flat(good), flat(num))
print(f"relative error over all parameters {err:.1e}, tolerance 1e-7")
print(f"claim: rel_err_with_mask = {err:.1e}")
assert err < 1e-7, err
# the assignment's ReLU' from the dropped A1, np.int64(A1 > 0), is also fine: dropped units already have dA1 = 0
Z1_fwd, A1_drop, A2_fwd = forward_with_mask(p)
dA1_masked = np.dot(p["W2"].T, A2_fwd - Y) * D1 / keep_prob
max_abs_diff_a1_mask = np.max(np.abs(dA1_masked * np.int64(A1_drop > 0) - dA1_masked * (Z1_fwd > 0)))
print(f"dZ1 with np.int64(A1 > 0) on the dropped A1 vs dZ1 with (Z1 > 0), max diff {max_abs_diff_a1_mask:.1e}")
print(f"claim: max_abs_diff_a1_mask = {max_abs_diff_a1_mask:.1e}")
assert max_abs_diff_a1_mask < 1e-12, max_abs_diff_a1_mask

no_div = grads_dropout(p, divide=False)
err_no_div = rel_error(no_div["W1"], num["W1"])
ratio = np.linalg.norm(no_div["W1"]) / np.linalg.norm(num["W1"])
print(f"without / keep_prob: ||dW1|| / ||numerical dW1|| = {ratio:.6f} (= keep_prob)")
print(f"without / keep_prob: rel_err dW1 = {err_no_div:.6f} = |0.8-1|/(0.8+1) = {0.2 / 1.8:.6f}")
print(f"claim: rel_err_without_keep_prob = {err_no_div:.6f}")
assert err_no_div > 0.1
no_mask = grads_dropout(p, mask=False)
print(f"without the mask D1: rel_err dW1 = {rel_error(no_mask['W1'], num['W1']):.6f}")
