"""Two places for the 1/m, one answer: a 3-layer net (4-5-3-1, tanh, ReLU, sigmoid + cross-entropy, m = 7).
Course: dZ3 = A3 - Y and 1/m in every dW, db. Alternative: dZ3 = (A3 - Y)/m and no 1/m in dW, db.
Look at: max |course - alternative| per layer (round-off, ~1e-16) and both conventions' relative
errors against two-sided finite differences of J (both tiny).
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


def backprop(params, cache, scale_dZL, scale_dW_db):
    """dZ[L] = scale_dZL * (A[L] - Y); dW = scale_dW_db * dZ A_prev^T; db likewise; dA_prev = W^T dZ."""
    grads = {}
    dZ = scale_dZL * (cache[f"A{L}"] - Y)                                   # (1, m)
    for l in range(L, 0, -1):
        A_prev = cache[f"A{l - 1}"]
        grads[f"dW{l}"] = scale_dW_db * np.dot(dZ, A_prev.T)                # (n[l], n[l-1]), shape of W[l]
        grads[f"db{l}"] = scale_dW_db * np.sum(dZ, axis=1, keepdims=True)   # (n[l], 1)
        if l > 1:
            dA_prev = np.dot(params[f"W{l}"].T, dZ)                         # (n[l-1], m), no 1/m: per example
            dZ = dA_prev * g_prime(l - 1, cache)                            # element-wise
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

grads_course = backprop(params, cache, scale_dZL=1.0, scale_dW_db=1 / m)   # dZ3 = A3 - Y, 1/m in dW, db
grads_alt = backprop(params, cache, scale_dZL=1 / m, scale_dW_db=1.0)      # dZ3 = (A3 - Y)/m, no 1/m later

print("dW3, course       :", grads_course["dW3"])
print("dW3, alternative  :", grads_alt["dW3"])
print("dW3, finite diffs :", numeric_grad(params, "W3"))
print("max |course - alternative| per layer (round-off only):")
for l in range(1, L + 1):
    for name in (f"dW{l}", f"db{l}"):
        diff = np.max(np.abs(grads_course[name] - grads_alt[name]))
        assert diff < 1e-12, name
        print(f"claim: max_abs_diff_{name} = {diff:.1e}")

print("relative error vs finite differences of J (tolerance 1e-7):")
for l in range(1, L + 1):
    for p in (f"W{l}", f"b{l}"):
        num = numeric_grad(params, p)
        err_course = rel_error(grads_course["d" + p], num)
        err_alt = rel_error(grads_alt["d" + p], num)
        assert err_course < 1e-7 and err_alt < 1e-7, (p, err_course, err_alt)
        if p.startswith("W"):
            print(f"claim: rel_err_course_d{p} = {err_course:.1e}")
            print(f"claim: rel_err_alt_d{p} = {err_alt:.1e}")
        else:
            print(f"  d{p}: course {err_course:.1e}, alternative {err_alt:.1e}")
print("Both conventions compute dJ/dW and dJ/db; the 1/m is applied exactly once in each.")
