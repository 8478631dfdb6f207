"""Loss vs cost on a 2-layer net (4-3-1, tanh, sigmoid + cross-entropy), m = 5.
The loss L is a (1, m) row, one number per example; the cost J is its mean, one number.
Look at: dJ/dZ2 = (1/m)(A2 - Y) but dL(i)/dz(i) = a(i) - y(i) (no 1/m), and dW computed as the
mean of m per-example outer products dz(i) a(i)^T (each one matches finite differences of L(i)) matches finite
differences of J and equals (1/m) dZ A^T (derivative of a mean = mean of derivatives).
"""
import numpy as np

np.set_printoptions(precision=6, suppress=True)
rng = np.random.default_rng(7)

n_x, n_1, m = 4, 3, 5
X = rng.standard_normal((n_x, m))                    # (4, 5), columns are examples
Y = np.array([[1.0, 1.0, 0.0, 0.0, 1.0]])            # (1, 5)
W1 = rng.standard_normal((n_1, n_x)) * 0.8           # (3, 4)
b1 = rng.standard_normal((n_1, 1)) * 0.1             # (3, 1)
W2 = rng.standard_normal((1, n_1))                   # (1, 3)
b2 = np.zeros((1, 1))                                # (1, 1)


def loss_row_from_Z2(Z2):
    """L: per-example losses, shape (1, m)."""
    A2 = 1 / (1 + np.exp(-Z2))
    return -(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))


def cost_J_from_Z2(Z2):
    """J = (1/m) sum_i L(i): one number."""
    return float(np.mean(loss_row_from_Z2(Z2)))


def rel_error(a, n):
    return np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n))


A1 = np.tanh(np.dot(W1, X) + b1)                     # (3, 5)
Z2 = np.dot(W2, A1) + b2                             # (1, 5)
A2 = 1 / (1 + np.exp(-Z2))                           # (1, 5)
assert 0.05 < A2.min() and A2.max() < 0.95           # no saturated sigmoid
print(f"loss row L, shape {loss_row_from_Z2(Z2).shape}:", loss_row_from_Z2(Z2)[0])
print(f"cost J = mean of L = {cost_J_from_Z2(Z2):.6f}")

eps = 1e-6
dJ_dZ = np.zeros_like(Z2)                            # derivative of the cost J
dL_dz = np.zeros_like(Z2)                            # column i: derivative of example i's own loss L(i)
for i in range(m):
    Zp, Zm = Z2.copy(), Z2.copy()
    Zp[0, i] += eps
    Zm[0, i] -= eps
    dJ_dZ[0, i] = (cost_J_from_Z2(Zp) - cost_J_from_Z2(Zm)) / (2 * eps)
    dL_dz[0, i] = (loss_row_from_Z2(Zp)[0, i] - loss_row_from_Z2(Zm)[0, i]) / (2 * eps)

print("dJ/dZ2 numeric     :", dJ_dZ[0])
print("(1/m)(A2 - Y)      :", ((A2 - Y) / m)[0])
print("dL(i)/dz(i) numeric:", dL_dz[0])
print("a(i) - y(i)        :", (A2 - Y)[0])
rel_err_dJ_dZ = rel_error((A2 - Y) / m, dJ_dZ)
rel_err_dL_dz = rel_error(A2 - Y, dL_dz)
assert rel_err_dJ_dZ < 1e-7 and rel_err_dL_dz < 1e-7, (rel_err_dJ_dZ, rel_err_dL_dz)
print("relative errors, tolerance 1e-7:")
print(f"claim: rel_err_dJ_dZ = {rel_err_dJ_dZ:.1e}")
print(f"claim: rel_err_dL_dz = {rel_err_dL_dz:.1e}")

# derivative of an average: dW is the mean of the m per-example gradients dz(i) a_prev(i)^T
def loss_row_from_W(W1_, W2_):
    """L as a function of the weights, shape (1, m)."""
    return loss_row_from_Z2(np.dot(W2_, np.tanh(np.dot(W1_, X) + b1)) + b2)


def numeric_dW(f, W):
    """Two-sided finite differences of the scalar f(W), one entry of W at a time."""
    num = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += eps
        Wm[idx] -= eps
        num[idx] = (f(Wp) - f(Wm)) / (2 * eps)
    return num


dZ2 = A2 - Y                                         # (1, 5), course convention: per example
dZ1 = np.dot(W2.T, dZ2) * (1 - A1 ** 2)              # (3, 5)
layers = (("dW1", dZ1, X, W1, lambda W, i: loss_row_from_W(W, W2)[0, i]),
          ("dW2", dZ2, A1, W2, lambda W, i: loss_row_from_W(W1, W)[0, i]))
rel_err_example, rel_err_mean, max_abs_diff = 0.0, 0.0, 0.0
for name, dZ, A_prev, W, loss_i in layers:
    dW_loop = np.zeros_like(W)
    for i in range(m):
        dW_i = np.outer(dZ[:, i], A_prev[:, i])      # example i's gradient, shape of W ...
        num_i = numeric_dW(lambda V, f=loss_i, i=i: f(V, i), W)   # ... against differences of L(i) alone
        rel_err_example = max(rel_err_example, rel_error(dW_i, num_i))
        dW_loop += dW_i
    dW_loop /= m                                     # average over the m examples ...
    num_J = numeric_dW(lambda V, f=loss_i: float(np.mean([f(V, i) for i in range(m)])), W)
    rel_err_mean = max(rel_err_mean, rel_error(dW_loop, num_J))   # ... against finite differences of J
    dW_vec = (1 / m) * np.dot(dZ, A_prev.T)          # the vectorised formula, (n[l], m)(m, n[l-1])
    max_abs_diff = max(max_abs_diff, np.max(np.abs(dW_loop - dW_vec)))
    if name == "dW2":
        print("dW2, mean of m outer products:", dW_loop[0], " finite differences of J:", num_J[0])
assert rel_err_example < 1e-7 and rel_err_mean < 1e-7, (rel_err_example, rel_err_mean)
print("dz(i) a_prev(i)^T vs finite differences of L(i), worst example over dW1 and dW2:")
print(f"claim: rel_err_dW_per_example = {rel_err_example:.1e}")
print("mean of the m outer products vs finite differences of J, worse of dW1 and dW2:")
print(f"claim: rel_err_dW_mean_of_outer = {rel_err_mean:.1e}")
assert max_abs_diff < 1e-12
print("max |loop mean - (1/m) dZ A_prev^T| over dW1 and dW2:")
print(f"claim: max_abs_diff_mean_of_outer = {max_abs_diff:.1e}")
