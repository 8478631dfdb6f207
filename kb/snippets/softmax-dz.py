"""Softmax output + categorical cross-entropy with one-hot Y (C = 4 classes, m = 5): dZ = A - Y.
dZ is per example, so it is checked against finite differences of the SUMMED loss sum_i L(i).
Look at: analytic A - Y next to the numeric gradient, the full Jacobian route diag(a) - a a^T giving
the same column, and every column of dZ summing to 0 (both a and y sum to 1).
"""
import numpy as np

np.set_printoptions(precision=6, suppress=True)
rng = np.random.default_rng(4)

C, m = 4, 5
ZL = rng.standard_normal((C, m))                     # (4, 5) logits, columns are examples
labels = np.array([2, 0, 3, 1, 2])                   # class of each example
Y = np.zeros((C, m))
Y[labels, np.arange(m)] = 1.0                        # one-hot, (4, 5), each column sums to 1


def softmax(Z):
    """Column-wise softmax; subtracting the column max only avoids overflow, it does not change A."""
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)          # (C, m)


def summed_loss(Z):
    """sum_i L(i) with L(i) = -sum_c y_c log a_c (no 1/m: dZ is a per-example derivative)."""
    return float(-np.sum(Y * np.log(softmax(Z))))


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


AL = softmax(ZL)                                     # (4, 5)
dZ = AL - Y                                          # (4, 5), the claimed formula
num = numeric_grad(summed_loss, ZL)

print("dZ = A - Y (analytic):\n", dZ)
print("finite differences of sum_i L(i):\n", num)
rel_err = rel_error(dZ, num)
assert rel_err < 1e-7, rel_err
print("relative error, tolerance 1e-7:")
print(f"claim: rel_err_dZ = {rel_err:.1e}")

# the long way for example 0: softmax Jacobian (not diagonal) times dL/da = -y/a
a, y = AL[:, 0], Y[:, 0]
jacobian = np.diag(a) - np.outer(a, a)               # (4, 4), symmetric, da_c/dz_j = a_c (delta_cj - a_j)
via_jacobian = np.dot(jacobian.T, -y / a)
max_abs_diff_jacobian = np.max(np.abs(via_jacobian - (a - y)))
print("column 0 via Jacobian^T (-y/a):", via_jacobian, "  a - y:", a - y)
print(f"claim: max_abs_diff_jacobian = {max_abs_diff_jacobian:.1e}")
assert max_abs_diff_jacobian < 1e-12, max_abs_diff_jacobian

column_sums = dZ.sum(axis=0)                         # (5,), one per example
max_abs_column_sum = np.max(np.abs(column_sums))
assert max_abs_column_sum < 1e-12
print("column sums of dZ:", column_sums)
print(f"claim: max_abs_column_sum = {max_abs_column_sum:.1e}")
