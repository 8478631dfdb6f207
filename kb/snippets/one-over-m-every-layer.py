"""An extra 1/m in every hidden dZ[l] is wrong: 3-layer net (4-5-3-1, tanh, ReLU, sigmoid + cross-entropy), m = 7.
Correct: dZ3 = (A3 - Y)/m, no 1/m in dW, db (the alternative convention; the course's gives the same dW, db).
Mistaken: the same plus dZ[l] = (1/m) * (W[l+1]^T dZ[l+1]) * g'(Z[l]) in each hidden layer.
Look at: the ratio correct / mistaken per layer next to m^(L-l), i.e. 1, 7, 49 for layers 3, 2, 1.
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




def backprop_alt(params, cache, extra_hidden):
    """Alternative convention: dZ[L] = (A[L] - Y)/m, dW = dZ A_prev^T, db = sum(dZ); hidden dZ times extra_hidden."""
    grads = {}
    dZ = (cache[f"A{L}"] - Y) / m                                  # (1, m) = dJ/dZ3, the one 1/m of J
    for l in range(L, 0, -1):
        grads[f"dW{l}"] = np.dot(dZ, cache[f"A{l - 1}"].T)         # (n[l], n[l-1])
        grads[f"db{l}"] = np.sum(dZ, axis=1, keepdims=True)        # (n[l], 1)
        if l > 1:
            dA_prev = np.dot(params[f"W{l}"].T, dZ)                # (n[l-1], m)
            dZ = extra_hidden * dA_prev * g_prime(l - 1, cache)    # extra_hidden = 1/m is the mistake
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

correct = backprop_alt(params, cache, extra_hidden=1.0)
mistaken = backprop_alt(params, cache, extra_hidden=1 / m)

print(f"m = {m}, L = {L}")
print("relative error vs finite differences of J (tolerance 1e-7 for the correct gradients):")
for l in range(L, 0, -1):
    num = numeric_grad(params, f"W{l}")
    err_ok, err_bad = rel_error(correct[f"dW{l}"], num), rel_error(mistaken[f"dW{l}"], num)
    assert err_ok < 1e-7, (l, err_ok)
    print(f"  dW{l}: correct {err_ok:.1e}, mistaken {err_bad:.1e}")
print("dW1[2] correct  :", correct["dW1"][2])
print("dW1[2] mistaken :", mistaken["dW1"][2], "(row 2, 49 times smaller)")

print("ratio correct / mistaken per layer, next to m^(L-l):")
for l in range(L, 0, -1):
    print(f"layer {l}: m^(L-l) = {m}^{L - l} = {m ** (L - l)}")
    for name in (f"dW{l}", f"db{l}"):
        ratio = np.linalg.norm(correct[name]) / np.linalg.norm(mistaken[name])
        # every entry is scaled by the same factor, not just the norm
        assert np.allclose(correct[name], ratio * mistaken[name], rtol=1e-12, atol=1e-15)
        assert abs(ratio - m ** (L - l)) < 1e-9 * m ** (L - l)
        print(f"claim: ratio_{name} = {ratio:.6f}")
print(f"claim: m = {m}")
print(f"claim: layers = {L}")
