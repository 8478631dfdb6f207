"""Logistic regression gradients (C1W2): dZ = A - Y, dw = (1/m) X dZ^T, db = (1/m) np.sum(dZ).

Look at: dw printed next to the finite-difference gradient of the cost J (same (n_x, 1) shape as w),
db next to its numerical value, and the relative errors.
"""
import numpy as np

np.set_printoptions(precision=6, suppress=True)
rng = np.random.default_rng(2)
n_x, m = 3, 7
eps = 1e-6

X = rng.standard_normal((n_x, m))              # (n_x, m), one example per column
Y = (rng.random((1, m)) < 0.5).astype(float)   # (1, m) labels
w = rng.standard_normal((n_x, 1)) * 0.5        # (n_x, 1): a column, as in the week 2 notebook
b = 0.1                                        # scalar


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def cost_J(w, b):
    A = sigmoid(np.dot(w.T, X) + b)            # (1, m)
    return -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))


def rel_error(a, n):
    return np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n))


# analytic gradients
A = sigmoid(np.dot(w.T, X) + b)                # (1, m)
dZ = A - Y                                     # (1, m), per-example dL/dz
dw = (1 / m) * np.dot(X, dZ.T)                 # (n_x, m)(m, 1) -> (n_x, 1), like w
db = (1 / m) * np.sum(dZ)                      # scalar; dZ has one row, so no axis needed
assert dw.shape == w.shape

# two-sided finite differences of J, one parameter at a time
dw_num = np.zeros_like(w)
for k in range(n_x):
    w_plus, w_minus = w.copy(), w.copy()
    w_plus[k, 0] += eps
    w_minus[k, 0] -= eps
    dw_num[k, 0] = (cost_J(w_plus, b) - cost_J(w_minus, b)) / (2 * eps)
db_num = (cost_J(w, b + eps) - cost_J(w, b - eps)) / (2 * eps)

print("dw (analytic) :", dw.ravel(), " shape", dw.shape)
print("dw (numerical):", dw_num.ravel())
print(f"db (analytic) : {db:.9f}   db (numerical): {db_num:.9f}")
err_dw, err_db = rel_error(dw, dw_num), rel_error(np.array(db), np.array(db_num))
print(f"relative error {err_dw:.1e}, tolerance 1e-7")
print(f"claim: rel_err_dw = {err_dw:.1e}")
print(f"relative error {err_db:.1e}, tolerance 1e-7")
print(f"claim: rel_err_db = {err_db:.1e}")
assert err_dw < 1e-7, err_dw
assert err_db < 1e-7, err_db

# np.dot(dZ, X.T) has the right numbers but the shape (1, n_x) of a row, not of w
print("np.dot(dZ, X.T) shape:", np.dot(dZ, X.T).shape, "-> transpose of dw:", np.allclose(np.dot(dZ, X.T).T / m, dw))
