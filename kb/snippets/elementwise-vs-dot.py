"""np.dot vs * in dZ1 = W2^T dZ2 * g1'(Z1): a matrix product, then an element-wise product.

Look at: the shapes of each factor, dZ1 checked against finite differences of the summed loss,
the ValueErrors that the wrong products raise, and np.dot(X, dZ.T) as a sum of element-wise products.
"""
import numpy as np

np.set_printoptions(precision=6, suppress=True)
rng = np.random.default_rng(8)
n_x, n_1, n_2, m = 3, 4, 2, 5                 # n_2 = 2 output units, so W2.T * dZ2 cannot "work by luck"
eps = 1e-6

X = rng.standard_normal((n_x, m))
Y = (rng.random((n_2, m)) < 0.5).astype(float)
W1, b1 = rng.standard_normal((n_1, n_x)) * 0.7, np.zeros((n_1, 1))
W2, b2 = rng.standard_normal((n_2, n_1)) * 0.7, np.zeros((n_2, 1))


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def summed_loss(Z1):
    # sum of the per-example losses as a function of Z1; its gradient is exactly the course's dZ1
    A2 = sigmoid(np.dot(W2, np.tanh(Z1)) + b2)
    return -np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))


Z1 = np.dot(W1, X) + b1                        # (n_1, m)
A1 = np.tanh(Z1)
A2 = sigmoid(np.dot(W2, A1) + b2)              # (n_2, m)
dZ2 = A2 - Y                                   # (n_2, m)
g1_prime = 1 - np.power(A1, 2)                 # (n_1, m)
dA1 = np.dot(W2.T, dZ2)                        # (n_1, n_2)(n_2, m) -> (n_1, m): sum over output units
dZ1 = dA1 * g1_prime                           # (n_1, m) * (n_1, m): each unit times its own g'
print(f"W2.T {W2.T.shape} dot dZ2 {dZ2.shape} -> {dA1.shape};  * g1'(Z1) {g1_prime.shape} -> dZ1 {dZ1.shape}")

dZ1_num = np.zeros_like(Z1)
for idx in np.ndindex(Z1.shape):
    Zp, Zm = Z1.copy(), Z1.copy()
    Zp[idx] += eps
    Zm[idx] -= eps
    dZ1_num[idx] = (summed_loss(Zp) - summed_loss(Zm)) / (2 * eps)
err = np.linalg.norm(dZ1 - dZ1_num) / (np.linalg.norm(dZ1) + np.linalg.norm(dZ1_num))
print("dZ1[:, 0] analytic :", dZ1[:, 0])
print("dZ1[:, 0] numerical:", dZ1_num[:, 0])
print(f"relative error {err:.1e}, tolerance 1e-7")
print(f"claim: rel_err_dZ1 = {err:.1e}")
assert err < 1e-7, err

# the wrong products: numpy says which shapes it could not combine
for label, wrong in [("np.dot(dA1, g1_prime)", lambda: np.dot(dA1, g1_prime)),
                     ("W2.T * dZ2", lambda: W2.T * dZ2)]:
    try:
        wrong()
    except ValueError as e:
        print(f"{label}: ValueError: {e}")

# week 2: the matrix product X dZ^T is the element-wise product summed over the examples
dZ = rng.standard_normal((1, m))               # one row, as in logistic regression
via_dot = np.dot(X, dZ.T)                      # (n_x, m)(m, 1) -> (n_x, 1)
via_sum = np.sum(X * dZ, axis=1, keepdims=True)  # (n_x, m) * (1, m) broadcast, then sum over i
print("np.dot(X, dZ.T):", via_dot.ravel(), " np.sum(X * dZ, axis=1):", via_sum.ravel())
max_diff = np.max(np.abs(via_dot - via_sum))
print(f"max |difference| = {max_diff:.1e}")
print(f"claim: dot_equals_sum_of_products = {int(np.allclose(via_dot, via_sum, rtol=0, atol=1e-12))}")
assert np.allclose(via_dot, via_sum, rtol=0, atol=1e-12)
