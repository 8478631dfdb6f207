"""1/m applied twice: in dAL (or dZ[L]) and again in dW, db, like the assignment's linear step.
3-layer net (4-5-3-1, tanh, ReLU, sigmoid + cross-entropy), m = 7. Look at: every dW, db is exactly
1/m = 1/7 of the correct value in every layer, and the gradient check then reports (m-1)/(m+1) = 0.75.
"""
import numpy as np

np.set_printoptions(precision=6, suppress=True)
rng = np.random.default_rng(2)

layer_sizes = [4, 5, 3, 1]        # n_x, n[1], n[2], n[3]
L = len(layer_sizes) - 1          # 3 layers with parameters
m = 7                             # odd, so a stray factor m is easy to recognise
X = rng.standard_normal((layer_sizes[0], m))             # (4, 7), columns are examples
Y = np.array([[1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0]])      # (1, 7)
params = {}
for l in range(1, L + 1):
    params[f"W{l}"] = rng.standard_normal((layer_sizes[l], layer_sizes[l - 1])) * 0.7   # (n[l], n[l-1])
    params[f"b{l}"] = rng.standard_normal((layer_sizes[l], 1)) * 0.1                    # (n[l], 1)


def run_forward(params, X):
    """Layer 1 tanh, layer 2 ReLU, layer 3 sigmoid; returns A0..A3 and Z1..Z3."""
    cache = {"A0": X}
    acts = {1: np.tanh, 2: lambda z: np.maximum(0, z), 3: lambda z: 1 / (1 + np.exp(-z))}
    for l in range(1, L + 1):
        cache[f"Z{l}"] = np.dot(params[f"W{l}"], cache[f"A{l - 1}"]) + params[f"b{l}"]  # (n[l], m)
        cache[f"A{l}"] = acts[l](cache[f"Z{l}"])
    return cache


def cost_J(params):
    """J = (1/m) sum_i L(a(i), y(i)), binary cross-entropy, in float64."""
    AL = run_forward(params, X)[f"A{L}"]
    return float(-np.mean(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)))


def g_prime(l, cache):
    """g'(Z[l]) for the hidden layers: tanh' = 1 - a^2, ReLU' = 1 where z > 0."""
    if l == 1:
        return 1 - cache["A1"] ** 2
    return (cache["Z2"] > 0).astype(float)




def backprop_from_dAL(params, cache, scale_dAL, scale_dW_db):
    """Start from dAL = scale_dAL * dL/dAL, sigmoid step, then per layer dW, db (times scale_dW_db), dA_prev."""
    AL = cache[f"A{L}"]
    dA = -scale_dAL * (Y / AL - (1 - Y) / (1 - AL))                            # (1, m)
    dZ = dA * AL * (1 - AL)                                                    # sigmoid step: sigma' = a(1-a)
    grads = {}
    for l in range(L, 0, -1):
        grads[f"dW{l}"] = scale_dW_db * np.dot(dZ, cache[f"A{l - 1}"].T)       # (n[l], n[l-1])
        grads[f"db{l}"] = scale_dW_db * np.sum(dZ, axis=1, keepdims=True)      # (n[l], 1)
        if l > 1:
            dA = np.dot(params[f"W{l}"].T, dZ)                                 # dA_prev, (n[l-1], m)
            dZ = dA * g_prime(l - 1, cache)
    return grads


def numeric_grad(params, key, eps=1e-6):
    """Two-sided finite differences of J with respect to every entry of params[key]."""
    P = params[key]
    num = np.zeros_like(P)
    for idx in np.ndindex(P.shape):
        old = P[idx]
        P[idx] = old + eps
        J_plus = cost_J(params)
        P[idx] = old - eps
        J_minus = cost_J(params)
        P[idx] = old
        num[idx] = (J_plus - J_minus) / (2 * eps)
    return num


def rel_error(a, n):
    return np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n))


cache = run_forward(params, X)
# finite differences need smooth points: no ReLU input near its kink, no saturated sigmoid
assert np.min(np.abs(cache["Z2"])) > 1e-3, "a ReLU input is too close to 0; change the seed"
assert 0.02 < cache["A3"].min() and cache["A3"].max() < 0.98

correct = backprop_from_dAL(params, cache, scale_dAL=1.0, scale_dW_db=1 / m)     # course convention
twice = backprop_from_dAL(params, cache, scale_dAL=1 / m, scale_dW_db=1 / m)     # 1/m in dAL AND in dW, db

keys = [f"{p}{l}" for l in range(1, L + 1) for p in ("W", "b")]
numeric = {k: numeric_grad(params, k) for k in keys}
err = rel_error(np.concatenate([correct["d" + k].ravel() for k in keys]),
                np.concatenate([numeric[k].ravel() for k in keys]))
assert err < 1e-7, err
print(f"course convention vs finite differences, all parameters: rel. error {err:.1e} (tolerance 1e-7)")
print("dW3 correct :", correct["dW3"], " finite diffs:", numeric["W3"])
print("dW3 twice   :", twice["dW3"])

print(f"ratio twice / correct per layer (1/m = {1 / m:.6f}):")
for l in range(1, L + 1):
    for name in (f"dW{l}", f"db{l}"):
        ratio = np.linalg.norm(twice[name]) / np.linalg.norm(correct[name])
        assert np.allclose(twice[name], correct[name] / m, rtol=1e-12, atol=1e-15)   # every entry, not just the norm
        print(f"claim: ratio_{name} = {ratio:.6f}")

# the gradient check of the assignment: ||grad - gradapprox|| / (||grad|| + ||gradapprox||)
grad = np.concatenate([twice["d" + k].ravel() for k in keys])
gradapprox = np.concatenate([numeric[k].ravel() for k in keys])
difference = rel_error(grad, gradapprox)
assert abs(difference - (m - 1) / (m + 1)) < 1e-6
print(f"gradient check with the twice-scaled gradients: (m-1)/(m+1) = {(m - 1) / (m + 1):.6f}, far above 2e-7")
print(f"claim: difference = {difference:.6f}")
print("Why the unit tests fail: the grader tests each function on its own, in the course convention.")
print("  linear_backward's test feeds a per-example dZ and expects (1/m) dZ A_prev^T: drop that 1/m and it fails.")
print("  Keep it and also put 1/m in dAL, and L_model_backward's dW, db are all 1/m of the expected values.")
print(f"claim: m = {m}")
print(f"claim: layers = {L}")
