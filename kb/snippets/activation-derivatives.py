"""Activation derivatives written in terms of a = g(z), checked against two-sided finite differences.

Look at: the rel_err lines (sigmoid' = a(1-a), tanh' = 1 - a^2, ReLU' and leaky ReLU' = 1 or 0 / 0.01),
the from-A vs from-Z comparison (both match finite differences and agree when A = g(Z); they differ when A and Z
are drawn independently, as in the unit tests), the slopes of ReLU at exactly z = 0, and an all-zero ReLU net
that trains the same whatever g'(0) is.
"""
import numpy as np

np.set_printoptions(precision=6, suppress=True)
rng = np.random.default_rng(1)
eps = 1e-6

# Z (n, m) = (3, 5), every |z| in [0.5, 3]: far from ReLU's kink and from sigmoid saturation
Z = rng.uniform(0.5, 3.0, size=(3, 5)) * rng.choice([-1.0, 1.0], size=(3, 5))


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def relu(z):
    return np.maximum(0, z)


def leaky_relu(z):
    return np.where(z > 0, z, 0.01 * z)


# derivative written with a = g(z), the form the backward pass uses
from_a = {
    "sigmoid": (sigmoid, lambda a: a * (1 - a)),
    "tanh": (np.tanh, lambda a: 1 - np.power(a, 2)),
    "relu": (relu, lambda a: (a > 0).astype(float)),
    "leaky_relu": (leaky_relu, lambda a: np.where(a > 0, 1.0, 0.01)),
}
# the same derivative recomputed from Z (what the week 4 helpers do with their cached Z)
from_z = {
    "sigmoid": lambda z: sigmoid(z) * (1 - sigmoid(z)),
    "tanh": lambda z: 1 - np.tanh(z) ** 2,
    "relu": lambda z: (z > 0).astype(float),
    "leaky_relu": lambda z: np.where(z > 0, 1.0, 0.01),
}


def rel_error(a, n):
    return np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n))


print("first row of Z:", Z[0])
for name, (g, g_prime_a) in from_a.items():
    A = g(Z)
    analytic = g_prime_a(A)                          # (3, 5), element-wise
    numeric = (g(Z + eps) - g(Z - eps)) / (2 * eps)  # each z nudged on its own: g acts element-wise
    err = rel_error(analytic, numeric)
    print(f"{name:10s} analytic {analytic[0]}  numeric {numeric[0]}")
    print(f"relative error {err:.1e}, tolerance 1e-7")
    print(f"claim: rel_err_{name} = {err:.1e}")
    assert err < 1e-7, f"{name}: rel_err {err}"

# From A or from Z: the from-Z forms are derivatives of g too (checked on their own), and they give the same
# numbers as the from-A forms whenever A = g(Z), up to round-off
for name, (g, _) in from_a.items():
    err_z = rel_error(from_z[name](Z), (g(Z + eps) - g(Z - eps)) / (2 * eps))
    print(f"claim: rel_err_from_z_{name} = {err_z:.1e}")
    assert err_z < 1e-7, f"{name} from Z: rel_err {err_z}"
diff_consistent = max(np.max(np.abs(g_prime_a(g(Z)) - from_z[name](Z))) for name, (g, g_prime_a) in from_a.items())
print(f"A = g(Z): max |from A - from Z| over the four activations = {diff_consistent:.1e}")
print(f"claim: max_abs_diff_from_a_vs_from_z = {diff_consistent:.1e}")
assert diff_consistent < 1e-12, diff_consistent

# ... but not when the cached A is an independent random array (as in the assignment's test cases)
A_fixture = rng.standard_normal(Z.shape)
diffs = {name: np.max(np.abs(g_prime_a(A_fixture) - from_z[name](Z))) for name, (_, g_prime_a) in from_a.items()}
print("A drawn independently of Z, max |from A - from Z|:", {k: round(float(v), 6) for k, v in diffs.items()})
diff_inconsistent = max(diffs.values())
print(f"claim: from_a_vs_from_z_inconsistent = {diff_inconsistent:.6f}")
assert diff_inconsistent > 0.1

# ReLU at exactly z = 0: the one-sided slopes disagree, so there is no derivative there
h = 1e-6
right = (relu(h) - relu(0.0)) / h
left = (relu(0.0) - relu(-h)) / h
centred = (relu(h) - relu(-h)) / (2 * h)
print(f"ReLU at z = 0: slope from the right {right:.6f}, from the left {left:.6f}, centred difference {centred:.6f}")
assert (right, left, centred) == (1.0, 0.0, 0.5)
# a z within eps of the kink gives a centred difference in between (why grad checks can fail near 0)
z_near, e = 3e-8, 1e-7
print(f"ReLU at z = 3e-8, eps = 1e-7: centred difference {(relu(z_near + e) - relu(z_near - e)) / (2 * e):.6f}")

# all-zero initialisation of a 3-2-1 ReLU net (sigmoid output): W = 0 makes every A and every dA below the output 0,
# so 100 steps of gradient descent give the same parameters with g'(0) = 0 and with g'(0) = 1; only b2 moves
X0, Y0 = Z[:, :4], np.array([[1.0, 0.0, 1.0, 1.0]])             # 3 features, 4 examples


def train_from_zeros(relu_slope_at_0, steps=100, alpha=0.5):
    p = {"W1": np.zeros((2, 3)), "b1": np.zeros((2, 1)), "W2": np.zeros((1, 2)), "b2": np.zeros((1, 1))}
    for _ in range(steps):
        Z1 = np.dot(p["W1"], X0) + p["b1"]
        A1 = relu(Z1)
        A2 = sigmoid(np.dot(p["W2"], A1) + p["b2"])
        dZ2 = A2 - Y0
        dZ1 = np.dot(p["W2"].T, dZ2) * np.where(Z1 > 0, 1.0, np.where(Z1 < 0, 0.0, relu_slope_at_0))
        grads = {"W2": np.dot(dZ2, A1.T) / 4, "b2": np.sum(dZ2, axis=1, keepdims=True) / 4,
                 "W1": np.dot(dZ1, X0.T) / 4, "b1": np.sum(dZ1, axis=1, keepdims=True) / 4}
        p = {k: p[k] - alpha * grads[k] for k in p}
    return p


p_0, p_1 = train_from_zeros(0.0), train_from_zeros(1.0)
max_abs_diff_zero_init = max(np.max(np.abs(p_0[k] - p_1[k])) for k in p_0)
moved = sorted(k for k in p_1 if np.any(p_1[k] != 0))
print(f"zero init, 100 steps, g'(0) = 0 vs g'(0) = 1: max |difference| of the parameters {max_abs_diff_zero_init:.1e};"
      f" parameters that moved: {moved}, b2 = {p_1['b2'][0, 0]:.4f}")
print(f"claim: max_abs_diff_zero_init = {max_abs_diff_zero_init:.1e}")
assert max_abs_diff_zero_init < 1e-12 and moved == ["b2"], (max_abs_diff_zero_init, moved)
