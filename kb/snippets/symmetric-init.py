"""Symmetric initialisation: a 2-layer network with every weight set to 0.5 keeps identical hidden units.

Look at: the first-step gradient (checked against finite differences) has identical rows in dW1; after
50 gradient-descent steps the rows of W1 have moved but are still identical (row spread 0), while a random
init gives different rows; logistic regression started from zeros gets a different dw for each feature.
"""
import numpy as np

np.set_printoptions(precision=6, suppress=True)
rng = np.random.default_rng(6)
n_x, n_1, m = 3, 4, 5
eps, learning_rate, steps = 1e-6, 0.5, 50

X = rng.standard_normal((n_x, m))
Y = np.array([[1.0, 0.0, 1.0, 1.0, 0.0]])


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def cost_J(p):
    A1 = np.tanh(np.dot(p["W1"], X) + p["b1"])
    A2 = sigmoid(np.dot(p["W2"], A1) + p["b2"])
    return -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))


def grads_2layer(p):
    A1 = np.tanh(np.dot(p["W1"], X) + p["b1"])          # (n_1, m)
    A2 = sigmoid(np.dot(p["W2"], A1) + p["b2"])         # (1, m)
    dZ2 = A2 - Y
    dZ1 = np.dot(p["W2"].T, dZ2) * (1 - A1 ** 2)        # equal entries of W2 -> equal rows of dZ1
    return {"W1": np.dot(dZ1, X.T) / m, "b1": np.sum(dZ1, axis=1, keepdims=True) / m,
            "W2": np.dot(dZ2, A1.T) / m, "b2": np.sum(dZ2, axis=1, keepdims=True) / m}


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


def flat(g):
    return np.concatenate([g[k].ravel() for k in ["W1", "b1", "W2", "b2"]])


def train(p):
    for _ in range(steps):
        g = grads_2layer(p)
        p = {k: p[k] - learning_rate * g[k] for k in p}
    return p


def row_spread(W):
    # largest difference between two rows of W (0 means all hidden units have the same weights)
    return np.max(np.max(W, axis=0) - np.min(W, axis=0))


const = {"W1": np.full((n_1, n_x), 0.5), "b1": np.zeros((n_1, 1)),
         "W2": np.full((1, n_1), 0.5), "b2": np.zeros((1, 1))}

# first step: backprop vs finite differences, and the rows of dW1 are equal
g0, n0 = grads_2layer(const), numeric_grad(const)
err = np.linalg.norm(flat(g0) - flat(n0)) / (np.linalg.norm(flat(g0)) + np.linalg.norm(flat(n0)))
print("first-step dW1 (constant init), every row the same:\n", g0["W1"])
print(f"relative error {err:.1e}, tolerance 1e-7")
print(f"claim: rel_err_first_step = {err:.1e}")
assert err < 1e-7, err

W1_const = train(const)["W1"]
print("W1 after 50 steps from the constant 0.5:\n", W1_const)
print(f"claim: row_spread_constant_init = {row_spread(W1_const)}")

rand = {"W1": rng.standard_normal((n_1, n_x)) * 0.5, "b1": np.zeros((n_1, 1)),
        "W2": rng.standard_normal((1, n_1)) * 0.5, "b2": np.zeros((1, 1))}
W1_rand = train(rand)["W1"]
print(f"claim: row_spread_random_init = {row_spread(W1_rand):.6f}")
assert row_spread(W1_const) < 1e-12 < row_spread(W1_rand)

# all zeros with tanh: A1 = 0 and W2 = 0, so dW1 and dW2 are exactly zero; only b2 moves
zeros = {k: np.zeros_like(v) for k, v in const.items()}
gz = grads_2layer(zeros)
print(f"all-zero init: max |dW1| = {np.max(np.abs(gz['W1']))}, max |dW2| = {np.max(np.abs(gz['W2']))}, "
      f"db2 = {gz['b2'][0, 0]:.6f}")

# logistic regression from w = 0: A = 0.5 everywhere, yet dw differs per feature
w = np.zeros((n_x, 1))
A = sigmoid(np.dot(w.T, X) + 0.0)
dw = np.dot(X, (A - Y).T) / m                            # (n_x, 1)
print("logistic regression from zeros, dw per feature:", dw.ravel())
