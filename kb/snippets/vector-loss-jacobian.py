"""The Jacobian of the loss row L (1, m) is diagonal w.r.t. AL and block-sparse w.r.t. A1 (m = 4).

Look at: the (m, m) finite-difference Jacobian dL/dAL (off-diagonal entries exactly 0, diagonal = dAL),
then the (m, n_1, m) Jacobian dL/dA1, whose only nonzero blocks, stacked as columns, give dA1 = W2^T dZ2:
the course's "dX has the shape of X" (column) layout.
"""
import numpy as np

np.set_printoptions(precision=6, suppress=True)
rng = np.random.default_rng(9)
n_1, m = 3, 4
eps = 1e-6

Y = np.array([[1.0, 0.0, 1.0, 0.0]])
A1 = rng.uniform(0.1, 0.9, size=(n_1, m))      # hidden activations (n_1, m)
W2 = rng.standard_normal((1, n_1))             # (1, n_1)
b2 = np.array([[0.2]])


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def loss_row(AL):
    return -(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))   # (1, m): one loss per example


def loss_row_from_A1(A1):
    return loss_row(sigmoid(np.dot(W2, A1) + b2))


def rel_error(a, n):
    return np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n))


# output layer: Jacobian entry (i, k) = d L(i) / d AL(k)
AL = sigmoid(np.dot(W2, A1) + b2)              # (1, m)
jac_out = np.zeros((m, m))
for k in range(m):
    Ap, Am = AL.copy(), AL.copy()
    Ap[0, k] += eps
    Am[0, k] -= eps
    jac_out[:, k] = ((loss_row(Ap) - loss_row(Am)) / (2 * eps)).ravel()
print("finite-difference Jacobian dL/dAL, (m, m):\n", jac_out)
dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))      # the course's dAL, (1, m)
off_out = np.max(np.abs(jac_out - np.diag(np.diag(jac_out))))
err_diag = rel_error(dAL.ravel(), np.diag(jac_out))
print("dAL              :", dAL.ravel())
print(f"relative error {err_diag:.1e}, tolerance 1e-7")
print(f"claim: rel_err_diagonal = {err_diag:.1e}")
assert err_diag < 1e-7, err_diag

# hidden layer: Jacobian entry (i, j, k) = d L(i) / d A1[j, k]
jac_hid = np.zeros((m, n_1, m))
for j, k in np.ndindex(n_1, m):
    Ap, Am = A1.copy(), A1.copy()
    Ap[j, k] += eps
    Am[j, k] -= eps
    jac_hid[:, j, k] = ((loss_row_from_A1(Ap) - loss_row_from_A1(Am)) / (2 * eps)).ravel()
mask = np.zeros_like(jac_hid, dtype=bool)
for i in range(m):
    mask[i, :, i] = True                       # the block of example i: d L(i) / d a1(i)
off_hid = np.max(np.abs(jac_hid[~mask]))
print(f"dL/dA1 has {jac_hid.size} entries; {mask.sum()} can be nonzero (n_1 * m); max |other entries| = {off_hid}")
max_off = max(off_out, off_hid)
print(f"claim: max_abs_offdiagonal = {max_off}")
assert max_off == 0.0

# stack block i as column i: that is the course's dA1 = W2^T dZ2, shape (n_1, m) like A1
dA1_blocks = np.stack([jac_hid[i, :, i] for i in range(m)], axis=1)
dZ2 = AL - Y
dA1 = np.dot(W2.T, dZ2)                        # (n_1, 1)(1, m) -> (n_1, m)
print("stacked blocks:\n", dA1_blocks)
print("W2.T dZ2:\n", dA1)
err_a1 = rel_error(dA1, dA1_blocks)
print(f"relative error {err_a1:.1e}, tolerance 1e-7")
print(f"claim: rel_err_dA1 = {err_a1:.1e}")
assert err_a1 < 1e-7, err_a1

# layout: for one example, numerator layout writes dL/da1 as the row dz2 @ W2 (1, n_1);
# the course stores its transpose, the column W2^T dz2 (n_1, 1), with the factors in reverse order
row_numerator = dZ2[:, [0]].T @ W2             # (1, 1)(1, n_1) -> (1, n_1)
print("example 0, numerator layout (row):", row_numerator.ravel(), " course column:", dA1[:, 0])
# and dJ/dAL (J = mean of the losses) is the column sum of the Jacobian = dAL / m
print("column sums / m:", jac_out.sum(axis=0) / m, " dAL / m:", (dAL / m).ravel())

# the weights: dW2[0, j] = dJ/dW2[0, j] sits where W2[0, j] sits, so dW2 = (1/m) dZ2 A1^T has W2's shape (1, n_1);
# a numerator-layout source writes (1/m) A1 dZ2^T (n_1, 1): the same numbers, transposed
dW2 = np.dot(dZ2, A1.T) / m
dW2_num = np.zeros_like(W2)
for j in range(n_1):
    Wp, Wm = W2.copy(), W2.copy()
    Wp[0, j] += eps
    Wm[0, j] -= eps
    J_plus = np.mean(loss_row(sigmoid(np.dot(Wp, A1) + b2)))       # J is the mean of the loss row
    J_minus = np.mean(loss_row(sigmoid(np.dot(Wm, A1) + b2)))
    dW2_num[0, j] = (J_plus - J_minus) / (2 * eps)
print(f"dW2 {dW2.shape}:", dW2.ravel(), " numerical:", dW2_num.ravel(), f" rel_err {rel_error(dW2, dW2_num):.1e}")
assert rel_error(dW2, dW2_num) < 1e-7
