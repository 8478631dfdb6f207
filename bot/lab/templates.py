"""The code students start from in "Check my backprop", and the backward pass the lab's form writes from options.

The templates hold signatures, docstrings and `raise NotImplementedError` only: never a solution of the course's
graded functions. The form's code is run and diagnosed, not shown.
"""
from __future__ import annotations

from dataclasses import dataclass

BACKWARD = '''"""Check my backprop: write backward() below, then press Check (or: python -m bot check-grads FILE).

The lab calls backward(X, Y, params, cache) on a small seeded network and batch, compares each dW, db you return
with finite differences of the cost J, and says per gradient what is wrong (1/m, shapes, products).

The network (pick it with LAYERS and HIDDEN; delete both lines and the lab picks the one that fits your code):
  LAYERS = 3: sizes 5-4-3-1 (n_x = 5, n1 = 4, n2 = 3, n3 = 1), as in week 4
  LAYERS = 2: sizes 5-4-1 (n_x = 5, n1 = 4, n2 = 1), as in week 3
  HIDDEN: the activation of the hidden layers, "relu" or "tanh"; the output layer is a sigmoid
  cost: J = -(1/m) sum(Y log(AL) + (1 - Y) log(1 - AL)), binary cross-entropy over m = 7 examples

Arguments (NumPy float64 arrays, one example per column):
  X       (n_x, m) = (5, 7), the inputs
  Y       (1, m) = (1, 7), the labels, 0 or 1
  params  {"W1": (n1, n_x), "b1": (n1, 1), "W2": (n2, n1), "b2": (n2, 1), ...} up to W{L}, b{L}
  cache   the forward pass: {"A0": X, "Z1": (n1, m), "A1": (n1, m), ..., "Z{L}": (1, m), "A{L}": (1, m)}
          where Z[l] = W[l] A[l-1] + b[l], A[l] = g(Z[l]), and A{L} = sigmoid(Z{L}) are the predictions
Return grads, a dict {"dW1": ..., "db1": ..., ..., "dW{L}": ..., "db{L}": ...}; each has the shape of its
parameter. Other keys (dZ2, dA1, ...) are ignored. print() works: what you print is shown after the verdicts.
Week 3's backward_propagation(parameters, cache, X, Y) is accepted too.
"""
import numpy as np

LAYERS = 3
HIDDEN = "relu"


def backward(X, Y, params, cache):
    """Return grads = {"dW1": ..., "db1": ..., ..., "dW{L}": ..., "db{L}": ...}, the gradients of J."""
    raise NotImplementedError("write your backward pass here")
'''

ASSIGNMENT = '''"""Check my backprop, assignment style (week 4, "Building your Deep Neural Network: Step by Step").

Paste your own functions; the lab finds them by name and checks each one it finds:
  L_model_backward(AL, Y, caches) -> grads        end to end: dW1, db1, ..., dW3, db3
  linear_backward(dZ, cache) -> dA_prev, dW, db   layer by layer
Paste every helper they call as well (linear_activation_backward, relu_backward, sigmoid_backward):
the lab does not provide the course's dnn_utils.

The network: sizes 5-4-3-1, ReLU, ReLU, sigmoid output, binary cross-entropy over m = 7 examples.
  AL      (1, m), the sigmoid output A[3];  Y (1, m), the labels, 0 or 1
  caches  [((A_prev, W, b), Z) for layers 1, 2, 3]: (linear cache, activation cache) as L_model_forward
          returns them; A_prev of layer 1 is X
  grads   {"dA0": ..., "dW1": ..., "db1": ..., ...}; the dA keys are not checked
  linear_backward gets the per-example dZ[l] (n[l], m), without 1/m as in the assignment, and cache = (A_prev, W, b)
"""
import numpy as np


def linear_backward(dZ, cache):
    """Return dA_prev (shape of A_prev), dW (shape of W), db (shape of b)."""
    raise NotImplementedError("write linear_backward here")


def L_model_backward(AL, Y, caches):
    """Return grads with "dW1", "db1", ..., "dW3", "db3" (and dA keys, which are not checked)."""
    raise NotImplementedError("write L_model_backward here")
'''

TEMPLATES = {"backward": BACKWARD, "assignment": ASSIGNMENT}

# The form's options: each maps a label to what the generated code does.
ONE_OVER_M = {
    "dW, db": "in dW and db (the course)",
    "dZ[L]": "in dZ[L] only (the alternative)",
    "both": "in dZ[L] and again in dW, db",
    "every dZ[l]": "in every dZ[l]",
    "nowhere": "nowhere",
}
DB_SUMS = {"axis=1, keepdims=True": "axis=1, keepdims=True", "axis=1": "axis=1", "keepdims=True": "keepdims=True"}
DZ_PRODUCTS = {"element-wise": "dA * gprime", "matrix product": "np.dot(dA, gprime)"}
DW_FORMS = {"dZ @ A_prev.T": "dZ @ A_prev.T", "A_prev @ dZ.T": "A_prev @ dZ.T"}
HIDDEN_DERIVATIVES = {"relu": '(cache[f"Z{l - 1}"] > 0)', "tanh": '(1 - cache[f"A{l - 1}"] ** 2)'}


@dataclass(frozen=True)
class Choices:
    """What the form asks: where 1/m goes, the network, and three places where shapes go wrong."""

    one_over_m: str = "dW, db"  # a key of ONE_OVER_M
    hidden: str = "relu"  # "relu" or "tanh"
    layers: int = 3  # 2 (5-4-1) or 3 (5-4-3-1)
    db_sum: str = "axis=1, keepdims=True"  # a key of DB_SUMS: the arguments of np.sum for db
    dz_product: str = "element-wise"  # a key of DZ_PRODUCTS: dZ[l] = dA[l] * g'(Z[l]) or np.dot(dA[l], g'(Z[l]))
    dw: str = "dZ @ A_prev.T"  # a key of DW_FORMS

    def __post_init__(self) -> None:
        for name, value, allowed in (("one_over_m", self.one_over_m, ONE_OVER_M), ("hidden", self.hidden,
                                     HIDDEN_DERIVATIVES), ("layers", self.layers, {2: 2, 3: 3}),
                                     ("db_sum", self.db_sum, DB_SUMS), ("dz_product", self.dz_product, DZ_PRODUCTS),
                                     ("dw", self.dw, DW_FORMS)):
            if value not in allowed:
                raise ValueError(f"Choices.{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


def form_code(choices: Choices) -> str:
    """A backward(X, Y, params, cache) written from the form's choices, for the lab to run and diagnose."""
    where = choices.one_over_m
    at_output = " / m" if where in ("dZ[L]", "both", "every dZ[l]") else ""
    in_dw = "(1 / m) * " if where in ("dW, db", "both") else ""
    every = "            dZ = dZ / m\n" if where == "every dZ[l]" else ""
    return f'''import numpy as np

LAYERS = {choices.layers}
HIDDEN = "{choices.hidden}"


def backward(X, Y, params, cache):
    m = X.shape[1]
    L = LAYERS
    grads = {{}}
    dZ = (cache[f"A{{L}}"] - Y){at_output}
    for l in range(L, 0, -1):
        A_prev = cache[f"A{{l - 1}}"]
        grads[f"dW{{l}}"] = {in_dw}({DW_FORMS[choices.dw]})
        grads[f"db{{l}}"] = {in_dw}np.sum(dZ, {DB_SUMS[choices.db_sum]})
        if l > 1:
            dA = params[f"W{{l}}"].T @ dZ
            gprime = {HIDDEN_DERIVATIVES[choices.hidden]}
            dZ = {DZ_PRODUCTS[choices.dz_product]}
{every}    return grads
'''
