"""Vanishing gradients in a deep narrow network: 8 hidden layers of 10 units, sigmoid output, m = 5.

Look at: ||dW[l]|| per layer for sigmoid hidden layers (shrinks towards layer 1, since sigmoid' <= 1/4)
vs ReLU hidden layers with He init (roughly the same size in every layer), and the finite-difference check
of dW1 in the sigmoid net: the tiny gradient is correct, not a bug.
"""
import numpy as np

np.set_printoptions(precision=3, suppress=False)
rng = np.random.default_rng(7)
n_x, m = 10, 5
dims = [n_x] + [10] * 8 + [1]                   # n[0], ..., n[L]; L = 9 layers with weights
L = len(dims) - 1
eps = 1e-6

X = rng.standard_normal((n_x, m))
Y = np.array([[1.0, 0.0, 0.0, 1.0, 1.0]])
G = [rng.standard_normal((dims[l], dims[l - 1])) for l in range(1, L + 1)]   # shared random draws


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def make_params(scale_num):
    # W[l] (n[l], n[l-1]) = randn * sqrt(scale_num / n[l-1]); 1 -> Xavier (sigmoid), 2 -> He (ReLU)
    return {l: (G[l - 1] * np.sqrt(scale_num / dims[l - 1]), np.full((dims[l], 1), 0.1)) for l in range(1, L + 1)}


def forward_deep(p, hidden):
    A, caches = X, []
    for l in range(1, L + 1):
        W, b = p[l]
        Z = np.dot(W, A) + b
        caches.append((A, Z))
        A = sigmoid(Z) if (l == L or hidden == "sigmoid") else np.maximum(0, Z)
    return A, caches


def cost_J(p, hidden):
    AL = forward_deep(p, hidden)[0]
    return -np.mean(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))


def grads_deep(p, hidden):
    AL, caches = forward_deep(p, hidden)
    dZ = AL - Y                                           # (1, m), output layer
    dW = {}
    for l in range(L, 0, -1):
        A_prev, _ = caches[l - 1]
        dW[l] = np.dot(dZ, A_prev.T) / m
        if l > 1:
            dA_prev = np.dot(p[l][0].T, dZ)               # one W^T factor per layer ...
            Z_prev = caches[l - 2][1]
            if hidden == "sigmoid":
                s = sigmoid(Z_prev)
                dZ = dA_prev * s * (1 - s)                # ... and one g'(Z) <= 1/4 factor
            else:
                dZ = dA_prev * (Z_prev > 0)               # ReLU': 1 on active units
    return dW


ratios = {}
for hidden, scale_num in [("sigmoid", 1), ("relu", 2)]:
    p = make_params(scale_num)
    dW = grads_deep(p, hidden)
    norms = np.array([np.linalg.norm(dW[l]) for l in range(1, L + 1)])
    print(f"{hidden:7s} ||dW[l]||, l = 1..{L}:", norms)
    ratios[hidden] = norms[0] / norms[-1]
    print(f"{hidden:7s} ||dW[1]|| / ||dW[{L}]|| = {ratios[hidden]:.3e}")
    print(f"claim: ratio_first_to_last_{hidden} = {ratios[hidden]:.3e}")

p = make_params(1)
s_max = max(np.max(sigmoid(Z) * (1 - sigmoid(Z))) for _, Z in forward_deep(p, "sigmoid")[1][1:])
print(f"largest sigmoid'(Z) in the hidden layers: {s_max:.6f} (never above 1/4)")

# finite-difference check of the tiny dW1 in the sigmoid net
def numeric_dW1(p, e):
    g = np.zeros_like(p[1][0])
    for idx in np.ndindex(g.shape):
        W_plus, W_minus = p[1][0].copy(), p[1][0].copy()
        W_plus[idx] += e
        W_minus[idx] -= e
        J_plus = cost_J({**p, 1: (W_plus, p[1][1])}, "sigmoid")
        J_minus = cost_J({**p, 1: (W_minus, p[1][1])}, "sigmoid")
        g[idx] = (J_plus - J_minus) / (2 * e)
    return g


def rel_error(a, n):
    return np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n))


dW1 = grads_deep(p, "sigmoid")[1]
dW1_num = numeric_dW1(p, eps)
err = rel_error(dW1, dW1_num)
print("dW1[0, :3] backprop :", dW1[0, :3])
print("dW1[0, :3] numerical:", dW1_num[0, :3])
# J(theta +- eps) carries round-off of about 1e-16 * |J|, i.e. ~1e-10 in each numerical entry: tiny in absolute
# terms, but not small next to entries of size 1e-7, so the tolerance here is 1e-3 (a real bug gives ~0.1 to 1)
print(f"max |backprop - numerical| = {np.max(np.abs(dW1 - dW1_num)):.1e}, "
      f"round-off scale 1e-16 * J / eps = {1e-16 * cost_J(p, 'sigmoid') / eps:.1e}")
print(f"dW1 relative error {err:.1e} (eps = 1e-6, tolerance 1e-3)")
print(f"claim: rel_err_dW1_sigmoid = {err:.1e}")
assert err < 1e-3, err
print(f"same check with eps = 1e-4 (less round-off): rel_err = {rel_error(dW1, numeric_dW1(p, 1e-4)):.1e}")
assert ratios["sigmoid"] < 1e-2 < ratios["relu"]
