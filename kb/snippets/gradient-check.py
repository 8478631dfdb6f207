"""The course's gradient check on a small 2-layer network (tanh hidden layer, sigmoid output, m = 3).

Look at: the difference ||grad - gradapprox|| / (||grad|| + ||gradapprox||) for correct backprop (< 1e-7),
the same difference for epsilon from 1e-3 to 1e-9 (smallest near 1e-5: round-off takes over below), then for gradients that are off by a constant factor c (1/m twice, 1/m missing, factor 2): the measured
difference sits next to the prediction |c-1|/(c+1), so 0.5 with m = 3 and 1/3 for a factor 2.
"""
import numpy as np

np.set_printoptions(precision=6, suppress=True)
rng = np.random.default_rng(3)
n_x, n_1, m = 3, 4, 3          # m = 3, as in the notebook's gradient-check test case
epsilon = 1e-7                 # the course's value for the check

X = rng.standard_normal((n_x, m))
Y = np.array([[1.0, 0.0, 1.0]])
params = {"W1": rng.standard_normal((n_1, n_x)) * 0.5, "b1": rng.standard_normal((n_1, 1)) * 0.1,
          "W2": rng.standard_normal((1, n_1)) * 0.5, "b2": rng.standard_normal((1, 1)) * 0.1}
names = ["W1", "b1", "W2", "b2"]
shapes = {k: params[k].shape for k in names}


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def to_vector(d, keys):
    # flatten W1, b1, W2, b2 into one column, always in the same order (like dictionary_to_vector)
    return np.concatenate([d[k].reshape(-1, 1) for k in keys])


def to_dict(theta):
    out, i = {}, 0
    for k in names:
        size = int(np.prod(shapes[k]))
        out[k] = theta[i:i + size].reshape(shapes[k])
        i += size
    return out


def cost_J(theta):
    p = to_dict(theta)
    A1 = np.tanh(np.dot(p["W1"], X) + p["b1"])                 # (n_1, m)
    A2 = sigmoid(np.dot(p["W2"], A1) + p["b2"])                # (1, m)
    return -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))


def grads_course(p, scale=1.0 / m, dz2_factor=1.0):
    # scale is the factor in front of dW and db: 1/m is correct; 1/m**2 and 1 are the two classic bugs
    A1 = np.tanh(np.dot(p["W1"], X) + p["b1"])
    A2 = sigmoid(np.dot(p["W2"], A1) + p["b2"])
    dZ2 = dz2_factor * (A2 - Y)                                 # (1, m)
    dW2 = scale * np.dot(dZ2, A1.T)                             # (1, n_1)
    db2 = scale * np.sum(dZ2, axis=1, keepdims=True)            # (1, 1)
    dZ1 = np.dot(p["W2"].T, dZ2) * (1 - np.power(A1, 2))        # (n_1, m)
    dW1 = scale * np.dot(dZ1, X.T)                              # (n_1, n_x)
    db1 = scale * np.sum(dZ1, axis=1, keepdims=True)            # (n_1, 1)
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}


def difference(grad, gradapprox):
    return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))


def gradapprox_at(theta, epsilon):
    # two forward passes per parameter, nudging one component of theta at a time
    approx = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        theta_plus, theta_minus = np.copy(theta), np.copy(theta)
        theta_plus[i] += epsilon
        theta_minus[i] -= epsilon
        approx[i] = (cost_J(theta_plus) - cost_J(theta_minus)) / (2 * epsilon)
    return approx


theta = to_vector(params, names)
gradapprox = gradapprox_at(theta, epsilon)
grad = to_vector(grads_course(params), ["d" + k for k in names])
print(f"theta has {theta.shape[0]} entries; the first row of W1:")
print("  grad      ", grad[:n_x].ravel())
print("  gradapprox", gradapprox[:n_x].ravel())
d_ok = difference(grad, gradapprox)
print(f"difference {d_ok:.1e}, tolerance 1e-7")
print(f"claim: difference_correct = {d_ok:.1e}")
assert d_ok < 1e-7, d_ok

# choosing epsilon: the eps^2 truncation error shrinks and the ~1e-16 |J| / eps round-off grows as eps gets smaller
sweep = {k: difference(grad, gradapprox_at(theta, 10.0 ** -k)) for k in range(3, 10)}
print("epsilon  " + "  ".join(f"{'1e-' + str(k):7}" for k in sweep))
print("diff     " + "  ".join(f"{d:.1e}" for d in sweep.values()))
best = min(sweep, key=lambda k: sweep[k])
print(f"claim: best_epsilon_exponent = {-best}")
for k in (5, 7, 8):
    print(f"claim: difference_eps{k} = {sweep[k]:.1e}")
assert sweep[7] > sweep[best] and sweep[8] > sweep[7], sweep      # 1e-7 is on the round-off side of the optimum

# constant-factor bugs: grad = c * true gradient gives difference |c-1|/(c+1)
bugs = [("c_third", "1/m applied twice, c = 1/m = 1/3", {"scale": 1.0 / m**2}, 1 / 3),
        ("c_3", "1/m missing, c = m = 3", {"scale": 1.0}, 3.0),
        ("c_2", "factor 2 in dZ2, c = 2", {"dz2_factor": 2.0}, 2.0)]
for key, label, kwargs, c in bugs:
    bad = to_vector(grads_course(params, **kwargs), ["d" + k for k in names])
    d = difference(bad, gradapprox)
    predicted = abs(c - 1) / (c + 1)
    ratio = np.median(bad / gradapprox)        # the ratio tells c from 1/c; the difference cannot
    print(f"{label:34s} difference {d:.6f}   |c-1|/(c+1) = {predicted:.6f}   grad/gradapprox ~ {ratio:.4f}")
    print(f"claim: difference_{key} = {d:.6f}")
    assert abs(d - predicted) < 1e-6, (key, d)
