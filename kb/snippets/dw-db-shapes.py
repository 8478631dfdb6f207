"""dW = (1/m) dZ A_prev^T and db = (1/m) np.sum(dZ, axis=1, keepdims=True) for one layer (n_prev = 4, n = 3, m = 5).
The upstream dZ is given (as in a unit test of the linear step); the check is against finite differences of J.
Look at: the small relative errors, the shapes (each gradient has the shape of its parameter), and what
happens to b - alpha * db when db is computed without keepdims: shape (3,) broadcasts b to (3, 3).
"""
import numpy as np

np.set_printoptions(precision=6, suppress=True)
rng = np.random.default_rng(5)

n_prev, n, m = 4, 3, 5
A_prev = rng.standard_normal((n_prev, m))            # (4, 5), input of this layer, columns are examples
W = rng.standard_normal((n, n_prev))                 # (3, 4)
b = rng.standard_normal((n, 1))                      # (3, 1)
dZ = rng.standard_normal((n, m))                     # (3, 5), given: column i is dL(i)/dz(i)


def cost_J(W, b):
    """J = (1/m) sum_i L(i) with a stand-in loss L(i) = dZ[:, i] . z(i), z(i) = W a_prev(i) + b.
    It is linear in z, so dL(i)/dz(i) is exactly the given column dZ[:, i]. Whatever sits above the layer
    only changes dZ; the layer's formulas for dW and db stay the same."""
    Z = np.dot(W, A_prev) + b                        # (3, 5), b broadcast to every column
    return float(np.sum(dZ * Z) / m)


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


dW = (1 / m) * np.dot(dZ, A_prev.T)                  # (3, 5)(5, 4) -> (3, 4): sums over the m examples
db = (1 / m) * np.sum(dZ, axis=1, keepdims=True)     # (3, 5) summed over axis 1 (examples) -> (3, 1)

dW_num = numeric_grad(lambda V: cost_J(V, b), W)
db_num = numeric_grad(lambda V: cost_J(W, V), b)
print("dW analytic:\n", dW)
print("dW numeric:\n", dW_num)
print("db analytic:", db.ravel(), "  numeric:", db_num.ravel())
rel_err_dW, rel_err_db = rel_error(dW, dW_num), rel_error(db, db_num)
assert rel_err_dW < 1e-7 and rel_err_db < 1e-7, (rel_err_dW, rel_err_db)
print("relative errors vs finite differences of J, tolerance 1e-7:")
print(f"claim: rel_err_dW = {rel_err_dW:.1e}")
print(f"claim: rel_err_db = {rel_err_db:.1e}")

dA_prev = np.dot(W.T, dZ)                            # (4, 3)(3, 5) -> (4, 5), passed to the layer below
print(f"shapes: W {W.shape}, dW {dW.shape}, b {b.shape}, db {db.shape}, dZ {dZ.shape}, A_prev {A_prev.shape}")
print(f"        dA_prev {dA_prev.shape}: every gradient has the shape of the array it differentiates")
assert dW.shape == W.shape and db.shape == b.shape and dA_prev.shape == A_prev.shape

# without keepdims the sum is a rank-1 array, and the update broadcasts (3, 1) against (3,)
db_flat = (1 / m) * np.sum(dZ, axis=1)               # shape (3,)
alpha = 0.1
b_bad = b - alpha * db_flat                          # (3, 1) - (3,) -> (3, 3): every b_j minus every db_k
print(f"without keepdims: db {db_flat.shape}, b - alpha*db {b_bad.shape} instead of {b.shape}")
