"""Two ways of rescaling the cost, on a 2-layer net (4-3-1, tanh, sigmoid + cross-entropy), m = 5.
(a) L2: J_reg = J + (lambda/(2m)) sum ||W[l]||^2 adds (lambda/m) W[l] to dW[l] and leaves db unchanged.
(b) Sum instead of mean: every gradient is m times larger, so one step with (sum, alpha/m) equals (mean, alpha).
Look at: the relative errors vs finite differences (db keeps its formula), the ratio (= m) and the step difference.
"""
import numpy as np

np.set_printoptions(precision=6, suppress=True)
rng = np.random.default_rng(6)

n_x, n_1, m = 4, 3, 5
X = rng.standard_normal((n_x, m))                    # (4, 5), columns are examples
Y = np.array([[0.0, 1.0, 1.0, 0.0, 1.0]])            # (1, 5)
params = {"W1": rng.standard_normal((n_1, n_x)) * 0.8, "b1": rng.standard_normal((n_1, 1)) * 0.1,
          "W2": rng.standard_normal((1, n_1)), "b2": np.zeros((1, 1))}
lambd = 0.7                                          # "lambda" is a Python keyword
keys = ["W1", "b1", "W2", "b2"]


def run_forward(p):
    A1 = np.tanh(np.dot(p["W1"], X) + p["b1"])                # (3, 5)
    A2 = 1 / (1 + np.exp(-(np.dot(p["W2"], A1) + p["b2"])))   # (1, 5)
    return A1, A2


def loss_row(p):
    """Per-example cross-entropy losses, shape (1, m)."""
    A2 = run_forward(p)[1]
    return -(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))


def cost_mean(p):
    return float(np.mean(loss_row(p)))


def cost_sum(p):
    return float(np.sum(loss_row(p)))


def l2_penalty(p):
    """(lambda/(2m)) * sum of the squared weights; biases are not penalised."""
    return lambd / (2 * m) * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))


def cost_reg(p):
    return cost_mean(p) + l2_penalty(p)


def grads_data(p, scale):
    """dW = scale * dZ A_prev^T, db = scale * sum(dZ): scale = 1/m for the mean cost, 1 for the sum."""
    A1, A2 = run_forward(p)
    dZ2 = A2 - Y                                     # (1, 5), per example, same for mean and sum
    dZ1 = np.dot(p["W2"].T, dZ2) * (1 - A1 ** 2)     # (3, 5)
    return {"dW2": scale * np.dot(dZ2, A1.T), "db2": scale * np.sum(dZ2, axis=1, keepdims=True),
            "dW1": scale * np.dot(dZ1, X.T), "db1": scale * np.sum(dZ1, axis=1, keepdims=True)}


def numeric_grads(f, p, eps=1e-6):
    """Two-sided finite differences of the scalar f(p) for every entry of every parameter."""
    num = {}
    for k in keys:
        num["d" + k] = np.zeros_like(p[k])
        for idx in np.ndindex(p[k].shape):
            old = p[k][idx]
            p[k][idx] = old + eps
            f_plus = f(p)
            p[k][idx] = old - eps
            f_minus = f(p)
            p[k][idx] = old
            num["d" + k][idx] = (f_plus - f_minus) / (2 * eps)
    return num


def flat(g, names):
    return np.concatenate([g[name].ravel() for name in names])


def rel_error(a, n):
    return np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n))


A2 = run_forward(params)[1]
assert 0.05 < A2.min() and A2.max() < 0.95           # no saturated sigmoid

# (a) L2 regularisation: only dW gets the extra term
g = grads_data(params, scale=1 / m)
g_reg = dict(g, dW1=g["dW1"] + lambd / m * params["W1"], dW2=g["dW2"] + lambd / m * params["W2"])
num_reg = numeric_grads(cost_reg, params)
print("dW2 with L2, analytic:", g_reg["dW2"], " numeric:", num_reg["dW2"])
rel_err_l2_dW = rel_error(flat(g_reg, ["dW1", "dW2"]), flat(num_reg, ["dW1", "dW2"]))
rel_err_l2_db = rel_error(flat(g_reg, ["db1", "db2"]), flat(num_reg, ["db1", "db2"]))
assert rel_err_l2_dW < 1e-7 and rel_err_l2_db < 1e-7, (rel_err_l2_dW, rel_err_l2_db)
print("dW with L2 vs finite differences of J_reg, tolerance 1e-7:")
print(f"claim: rel_err_l2_dW = {rel_err_l2_dW:.1e}")
print("db with L2 (the unchanged formula, no lambda term) vs finite differences of J_reg:")
print(f"claim: rel_err_l2_db = {rel_err_l2_db:.1e}")
alpha = 0.5
W1_step = params["W1"] - alpha * g_reg["dW1"]
W1_decay = (1 - alpha * lambd / m) * params["W1"] - alpha * g["dW1"]
max_abs_diff_weight_decay = np.max(np.abs(W1_step - W1_decay))
print(f"weight decay: W1 - alpha*dW1_reg equals {1 - alpha * lambd / m:.2f} * W1 - alpha*dW1_data,"
      f" max diff {max_abs_diff_weight_decay:.1e}")
print(f"claim: max_abs_diff_weight_decay = {max_abs_diff_weight_decay:.1e}")
assert max_abs_diff_weight_decay < 1e-12, max_abs_diff_weight_decay

# (b) sum instead of mean: same dZ, no 1/m in dW and db, every gradient m times larger
g_sum = grads_data(params, scale=1.0)
num_sum = numeric_grads(cost_sum, params)
all_grads = ["d" + k for k in keys]
err_sum = rel_error(flat(g_sum, all_grads), flat(num_sum, all_grads))
assert err_sum < 1e-7, err_sum
print(f"sum-cost gradients vs finite differences of sum_i L(i): rel. error {err_sum:.1e} (tolerance 1e-7)")
ratio = np.linalg.norm(flat(g_sum, all_grads)) / np.linalg.norm(flat(g, all_grads))
assert np.allclose(flat(g_sum, all_grads), m * flat(g, all_grads), rtol=1e-12, atol=0)
print(f"||sum-cost gradients|| / ||mean-cost gradients||, m = {m}:")
print(f"claim: ratio_sum_over_mean = {ratio:.6f}")
step_mean = {k: params[k] - alpha * g["d" + k] for k in keys}
step_sum = {k: params[k] - (alpha / m) * g_sum["d" + k] for k in keys}
max_abs_diff_step = np.max(np.abs(flat(step_mean, keys) - flat(step_sum, keys)))
assert max_abs_diff_step < 1e-12
print(f"one step with (mean, alpha = {alpha}) vs (sum, alpha/m), max |difference| of the new parameters:")
print(f"claim: max_abs_diff_step = {max_abs_diff_step:.1e}")

# mini-batches: each batch uses its own m_t; the size-weighted average of batch gradients is the full gradient
batches = [np.arange(0, 3), np.arange(3, 5)]         # m_t = 3 and 2
dW1_avg = np.zeros_like(params["W1"])
for cols in batches:
    X_t, Y_t, m_t = X[:, cols], Y[:, cols], len(cols)          # m_t = X_t.shape[1], this batch's m
    A1_t = np.tanh(np.dot(params["W1"], X_t) + params["b1"])
    A2_t = 1 / (1 + np.exp(-(np.dot(params["W2"], A1_t) + params["b2"])))
    dZ1_t = np.dot(params["W2"].T, A2_t - Y_t) * (1 - A1_t ** 2)
    dW1_t = (1 / m_t) * np.dot(dZ1_t, X_t.T)                   # the batch step divides by m_t
    dW1_avg += (m_t / m) * dW1_t
max_abs_diff_minibatch = np.max(np.abs(dW1_avg - g["dW1"]))
print(f"mini-batches of 3 and 2: sum_t (m_t/m) dW1{{t}} vs full dW1, max diff {max_abs_diff_minibatch:.1e}")
print(f"claim: max_abs_diff_minibatch = {max_abs_diff_minibatch:.1e}")
assert max_abs_diff_minibatch < 1e-12, max_abs_diff_minibatch
print(f"claim: m = {m}")
