"""The backprop equations, entry by entry, for a 2-layer net (4-3-1, tanh hidden, sigmoid + cross-entropy), m = 5.
dAL, dZ2, dA1, dZ1 are per-example derivatives, so they are checked against finite differences of the
SUMMED loss S = sum_i L(i) (no 1/m). Look at: dAL = -(Y/AL - (1-Y)/(1-AL)), dZ2 = A2 - Y,
dA1 = W2^T dZ2 and dZ1 = dA1 * (1 - A1^2) each match, and dAL * AL(1-AL) gives the same numbers as A2 - Y.
"""
import numpy as np

np.set_printoptions(precision=6, suppress=True)
rng = np.random.default_rng(0)

n_x, n_1, m = 4, 3, 5
X = rng.standard_normal((n_x, m))                    # (4, 5), columns are examples
Y = np.array([[1.0, 0.0, 0.0, 1.0, 1.0]])            # (1, 5)
W1 = rng.standard_normal((n_1, n_x)) * 0.8           # (3, 4)
b1 = rng.standard_normal((n_1, 1)) * 0.1             # (3, 1)
W2 = rng.standard_normal((1, n_1))                   # (1, 3)
b2 = np.zeros((1, 1))                                # (1, 1)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def loss_row(A1):
    """Per-example losses, shape (1, m), as a function of the hidden activations A1."""
    AL = sigmoid(np.dot(W2, A1) + b2)
    return -(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))


def summed_loss_from_AL(AL):
    """S = sum_i L(a(i), y(i)): each column's loss counts once, no 1/m."""
    return float(-np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)))


def summed_loss_from_Z2(Z2):
    return summed_loss_from_AL(sigmoid(Z2))


def summed_loss_from_A1(A1):
    return summed_loss_from_Z2(np.dot(W2, A1) + b2)


def summed_loss_from_Z1(Z1):
    return summed_loss_from_A1(np.tanh(Z1))


def numeric_grad(f, V, eps=1e-6):
    """Two-sided finite differences of the scalar f(V), one entry of V at a time."""
    V = V.copy()
    num = np.zeros_like(V)
    for idx in np.ndindex(V.shape):
        old = V[idx]
        V[idx] = old + eps
        f_plus = f(V)
        V[idx] = old - eps
        f_minus = f(V)
        V[idx] = old
        num[idx] = (f_plus - f_minus) / (2 * eps)
    return num


def rel_error(a, n):
    return np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n))


# forward pass; this is what the cache keeps: A_prev (here X, A1), W, b and Z for each layer
Z1 = np.dot(W1, X) + b1                              # (3, 5)
A1 = np.tanh(Z1)                                     # (3, 5)
Z2 = np.dot(W2, A1) + b2                             # (1, 5)
A2 = sigmoid(Z2)                                     # (1, 5) = AL
assert 0.05 < A2.min() and A2.max() < 0.95           # no saturated sigmoid

# backward pass, course convention (no 1/m anywhere in these four)
dAL = -(Y / A2 - (1 - Y) / (1 - A2))                 # (1, 5): dL(i)/da(i), element-wise division
dZ2 = A2 - Y                                         # (1, 5): dL(i)/dz2(i)
dA1 = np.dot(W2.T, dZ2)                              # (3, 5): the transpose sends dz back along each weight
dZ1 = dA1 * (1 - A1 ** 2)                            # (3, 5): element-wise, tanh' = 1 - a^2

checks = [("dAL", dAL, summed_loss_from_AL, A2), ("dZ2", dZ2, summed_loss_from_Z2, Z2),
          ("dA1", dA1, summed_loss_from_A1, A1), ("dZ1", dZ1, summed_loss_from_Z1, Z1)]
tol = 1e-7
print("analytic vs finite differences of S = sum_i L(i), eps = 1e-6, tolerance 1e-7 (row 0 shown):")
for name, analytic, f, V in checks:
    num = numeric_grad(f, V)
    err = rel_error(analytic, num)
    assert err < tol, (name, err)
    print(f"{name} {analytic.shape!s:7} analytic : {analytic[0]}")
    print(f"{'':12}numeric  : {num[0]}")
    print(f"claim: rel_err_{name} = {err:.1e}")

# the assignment's modular route: dAL, then the sigmoid step dZ = dA * a(1-a), gives A2 - Y
route = dAL * A2 * (1 - A2)
max_abs_diff_route = np.max(np.abs(route - dZ2))
print(f"max |dAL * AL(1-AL) - (AL - Y)| = {max_abs_diff_route:.1e}")
print(f"claim: max_abs_diff_route = {max_abs_diff_route:.1e}")
assert max_abs_diff_route < 1e-12, max_abs_diff_route
# dA_prev = W^T dZ keeps one column per example: nudging A1[0, 0] moves only example 0's loss
eps = 1e-6
A1_plus, A1_minus = A1.copy(), A1.copy()
A1_plus[0, 0] += eps
A1_minus[0, 0] -= eps
print("d(loss row)/dA1[0, 0]:", ((loss_row(A1_plus) - loss_row(A1_minus)) / (2 * eps))[0],
      f" dA1[0, 0] = {dA1[0, 0]:.6f}")
