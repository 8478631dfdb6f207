"""The derivations: each adds its steps to a Chain, which has SymPy check them, and returns its title.

Small symbolic instances stand in for the general case (2 units, 3 inputs, 2 examples; 3 classes; 3 examples):
every entry of every matrix is checked, and the pattern the student sees is the general formula's.
Over 300 lines: seven derivations of 20-50 lines each, one per KB formula; splitting them would only scatter them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp

from bot.proofs.chain import Chain, Expr


def _labels(layer: int | None, default: str) -> tuple[str, str]:
    """Superscripts of this layer and the one before: ("L", "L-1"), ("l", "l-1"), or ("2", "1") for layer=2."""
    return (default, f"{default}-1") if layer is None else (str(layer), str(layer - 1))


def _times(c: Expr, e: Expr) -> Expr:
    """c * e printed as written, e.g. (1/m)(a - y) rather than (a - y)/m or a/m - y/m."""
    return sp.Mul(sp.UnevaluatedExpr(c), e, evaluate=False)


def dz_output(chain: Chain, layer: int | None, activation: str, loss: str, **_: Any) -> str:
    up, _prev = _labels(layer, "L")
    z, a, y = chain.symbol("z", f"z^{{[{up}]}}"), chain.symbol("a", f"a^{{[{up}]}}"), chain.symbol("y", "y")
    g = {"sigmoid": 1 / (1 + sp.exp(-z)), "tanh": sp.tanh(z), "linear": z}[activation]
    chain.let(a, g)
    dL_da, da_dz = rf"\frac{{\partial \mathcal{{L}}}}{{\partial a^{{[{up}]}}}}", rf"\frac{{da^{{[{up}]}}}}{{dz^{{[{up}]}}}}"
    dL_dz = rf"\frac{{\partial \mathcal{{L}}}}{{\partial z^{{[{up}]}}}}"
    where = rf",\qquad a^{{[{up}]}} = {chain.latex(g)}"
    A, dZ = f"A^{{[{up}]}}", f"dZ^{{[{up}]}}"
    if loss == "bce":
        L = -(y * sp.log(a) + (1 - y) * sp.log(1 - a))
        chain.premise("Choice: sigmoid output with binary cross-entropy; the loss of one example, y is 0 or 1",
                      r"\mathcal{L}(a, y)", L, note=where)
        first = chain.step(f"Differentiate with respect to a (y is a constant): this is dA[{up}], `dAL` in the code",
                           dL_da, (1 - y) / (1 - a) - y / a, equals=sp.diff(L, a))
        chain.step("SymPy differentiates the sigmoid", da_dz, sp.exp(-z) / (1 + sp.exp(-z)) ** 2, equals=sp.diff(g, z))
        chain.step("Since 1 − σ(z) = e^(−z)/(1 + e^(−z)), that is a(1 − a)", da_dz, a * (1 - a))
        chain.step("Chain rule: z reaches the loss only through a, so multiply the two derivatives",
                   dL_dz, sp.Mul(first, a * (1 - a), evaluate=False), equals=sp.diff(L.subs(a, g), z), order="none")
        chain.step("Multiply a(1 − a) into each fraction: a and 1 − a cancel the denominators", dL_dz,
                   a * (1 - y) - y * (1 - a))
        chain.step("Expand the products", dL_dz, sp.Add(-y, a * y, a, -a * y, evaluate=False), order="none")
        chain.step("The a·y terms cancel: g′(z) is not missing, it cancelled the fractions", dL_dz, a - y)
        chain.premise("Restated for all m: each example (column) has its own a, y and z; dZ = A − Y, (1, m), no 1/m",
                      dZ, a - y, shown=f"{A} - Y")
        return f"dZ[{up}] = A[{up}] − Y for a sigmoid output with binary cross-entropy"
    L = (a - y) ** 2 / 2
    chain.premise(f"Choice: {activation} output with the squared-error loss of one example", r"\mathcal{L}(a, y)",
                  L, note=where)
    chain.step(f"Differentiate with respect to a: the 1/2 cancels the 2 from the square; this is dA[{up}]",
               dL_da, a - y, equals=sp.diff(L, a))
    slope = {"sigmoid": a * (1 - a), "tanh": 1 - a**2, "linear": sp.Integer(1)}[activation]
    chain.step(f"The derivative of the {activation} output, written with a (see the activation derivation)",
               da_dz, slope, equals=sp.diff(g, z))
    if activation == "linear":
        chain.step("Chain rule: multiply the two derivatives; the slope is 1, so nothing changes", dL_dz, a - y,
                   equals=sp.diff(L.subs(a, g), z))
        chain.premise("Restated for all m examples: dZ = A − Y, the same form as sigmoid with cross-entropy", dZ,
                      a - y, shown=f"{A} - Y")
        return f"dZ[{up}] = A[{up}] − Y for a linear output with squared error"
    chain.step("Chain rule: multiply the two derivatives; nothing cancels this time", dL_dz,
               sp.Mul(a - y, slope, evaluate=False), equals=sp.diff(L.subs(a, g), z), order="none")
    shown = {"sigmoid": rf"({A} - Y) * {A}(1 - {A})", "tanh": rf"({A} - Y) * (1 - ({A})^{{2}})"}[activation]
    chain.premise("Restated for all m examples, element-wise (`*`): g′ stays in dZ, unlike sigmoid + cross-entropy",
                  dZ, sp.Mul(a - y, slope, evaluate=False), shown=shown)
    return f"dZ[{up}] for a {activation} output with squared error"


def softmax_ce(chain: Chain, layer: int | None, **_: Any) -> str:
    up, _prev = _labels(layer, "L")
    z = [chain.symbol(f"z{k}", f"z^{{[{up}]}}_{{{k}}}") for k in (1, 2, 3)]
    a = [chain.symbol(f"a{k}", f"a^{{[{up}]}}_{{{k}}}") for k in (1, 2, 3)]
    y = [chain.symbol(f"y{k}", f"y_{{{k}}}") for k in (1, 2, 3)]
    softmax = [sp.exp(zk) / sum(sp.exp(zj) for zj in z) for zk in z]
    for ak, sk in zip(a, softmax, strict=True):
        chain.let(ak, sk)
    chain.premise("Softmax over C = 3 classes: all the a share one denominator, so every z moves every a",
                  f"a^{{[{up}]}}", sp.Matrix(softmax))
    L = -sum(yk * sp.log(ak) for yk, ak in zip(y, a, strict=True))
    chain.premise("Categorical cross-entropy of one example; the label is one-hot, so y1 + y2 + y3 = 1",
                  r"\mathcal{L}", L)
    dL_da = chain.step("Differentiate with respect to each a", r"\frac{\partial \mathcal{L}}{\partial a}",
                       sp.Matrix([-yk / ak for yk, ak in zip(y, a, strict=True)]),
                       equals=sp.Matrix([sp.diff(L, ak) for ak in a]))
    jacobian = sp.Matrix(3, 3, lambda c, k: a[c] * (1 - a[c]) if c == k else -a[c] * a[k])
    chain.step("SymPy's Jacobian of softmax: not diagonal, so no element-wise g′(z) here",
               r"\frac{\partial a}{\partial z} = \operatorname{diag}(a) - a a^{T}", jacobian,
               equals=sp.Matrix(softmax).jacobian(z))
    lhs = r"\frac{\partial \mathcal{L}}{\partial z}"
    chain.step("Chain rule: each z reaches the loss through every a, so sum over them (checked against SymPy's dL/dz)",
               lhs + r" = \left(\frac{\partial a}{\partial z}\right)^{T} \frac{\partial \mathcal{L}}{\partial a}",
               sp.MatMul(sp.ImmutableMatrix(jacobian.T), sp.ImmutableMatrix(dL_da), evaluate=False),
               equals=sp.Matrix([sp.diff(chain.unfold(L), zk) for zk in z]))
    chain.step("Multiply out: each a cancels the a in −y/a", lhs,
               sp.Matrix([ak * (y[0] + y[1] + y[2]) - yk for ak, yk in zip(a, y, strict=True)]))
    chain.let(y[2], 1 - y[0] - y[1])  # the one-hot constraint, used from here on
    chain.step("The labels sum to 1: dz = a − y entry by entry, so for m examples dZ = A − Y, shape (C, m)",
               lhs, sp.Matrix([ak - yk for ak, yk in zip(a, y, strict=True)]))
    return f"dZ[{up}] = A[{up}] − Y for a softmax output with categorical cross-entropy"


def activation_derivative(chain: Chain, layer: int | None, activation: str, **_: Any) -> str:
    up, _prev = _labels(layer, "l")
    z, a = chain.symbol("z", f"z^{{[{up}]}}"), chain.symbol("a", f"a^{{[{up}]}}")
    a_lhs, g_lhs = f"a^{{[{up}]}}", f"g'(z^{{[{up}]}})"
    if activation == "sigmoid":
        g = chain.premise("Sigmoid: a = σ(z)", a_lhs, 1 / (1 + sp.exp(-z)))
        chain.let(a, g)
        chain.step("SymPy differentiates (1 + e^(−z))^(−1) with the chain rule", g_lhs,
                   sp.exp(-z) / (1 + sp.exp(-z)) ** 2, equals=sp.diff(g, z))
        chain.step("Split into two fractions", g_lhs, sp.Mul(sp.UnevaluatedExpr(g),
                   sp.UnevaluatedExpr(sp.exp(-z) / (1 + sp.exp(-z))), evaluate=False))
        chain.step("The second fraction is 1 − σ(z)", g_lhs,
                   sp.Mul(sp.UnevaluatedExpr(g), sp.UnevaluatedExpr(1 - g), evaluate=False))
        chain.step("With a = σ(z): σ′(z) = a(1 − a), at most 1/4 (at z = 0)", g_lhs, a * (1 - a))
    elif activation == "tanh":
        g = chain.premise("tanh: a = tanh(z)", a_lhs, sp.tanh(z))
        chain.let(a, g)
        p, q = sp.exp(z) - sp.exp(-z), sp.exp(z) + sp.exp(-z)
        chain.step("Written with exponentials", a_lhs, p / q)
        chain.step("Quotient rule: the numerator's derivative is the denominator and vice versa", g_lhs,
                   (q**2 - p**2) / q**2, equals=sp.diff(p / q, z))
        chain.step("Split the fraction", g_lhs, 1 - (p / q) ** 2)
        chain.step("The fraction is tanh(z) again", g_lhs, 1 - sp.tanh(z) ** 2)
        chain.step("With a = tanh(z): tanh′(z) = 1 − a², at most 1 (at z = 0)", g_lhs, 1 - a**2)
    else:
        slope = sp.Integer(0) if activation == "relu" else sp.Float(0.01)
        name = "ReLU" if activation == "relu" else "Leaky ReLU"
        g = chain.premise(f"{name}: a = max({'0.01·z' if slope else '0'}, z)", a_lhs, sp.Max(slope * z, z))
        chain.let(a, g)
        pieces = chain.step("The same function in two pieces", a_lhs, sp.Piecewise((z, z > 0), (slope * z, True)))
        h = sp.Symbol("h", positive=True)
        # checked on each side of the kink (z = h and z = -h), printed as the piecewise slope with no value at 0
        chain.step("Differentiate each piece: the derivative exists for z > 0 and for z < 0", g_lhs,
                   sp.Matrix([1, slope]), equals=sp.Matrix([sp.diff(pieces, z).subs(z, h), sp.diff(pieces, z).subs(z, -h)]),
                   shown=chain.latex(sp.Piecewise((1, z > 0), (slope, z < 0))))
        chain.step("At z = 0 the slopes from the right and from the left differ, so g′(0) is undefined",
                   r"\left[\begin{matrix}\frac{g(h) - g(0)}{h} \\ \frac{g(0) - g(-h)}{h}\end{matrix}\right]_{h > 0}",
                   sp.Matrix([1, slope]),
                   equals=sp.Matrix([(g.subs(z, h) - g.subs(z, 0)) / h, (g.subs(z, 0) - g.subs(z, -h)) / h]))
        chain.premise(f"Convention, a choice and not derived: z = 0 takes the z < 0 slope, g′(0) = {'0.01' if slope else '0'}, "
                      "as in the course's `dZ[Z <= 0] = 0`",
                      g_lhs, sp.Piecewise((1, z > 0), (slope, True)))
        chain.step("With a: a > 0 exactly when z > 0, so the same convention written with a", g_lhs,
                   sp.Piecewise((1, a > 0), (slope, True)))
    name = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "leaky ReLU"}[activation]
    return f"The derivative of {name}, written with a = g(z)"


# SymPy prints a product's factors sorted by symbol name, so the names below (never shown) put them in the
# course's order: W before dz before a_prev (W, d, x).


def _layer_symbols(chain: Chain, up: str, down: str) -> tuple[Expr, Expr, Expr, Expr, Expr, Expr]:
    """W (2, 3), A_prev (3, 2), b (2, 1), Z = W A_prev + b, dZ, and the per-example losses; m = 2 examples."""
    W = sp.Matrix(2, 3, lambda j, k: chain.symbol(f"W{j + 1}{k + 1}", f"W^{{[{up}]}}_{{{j + 1}{k + 1}}}"))
    A = sp.Matrix(3, 2, lambda k, i: chain.symbol(f"x{k + 1}_{i + 1}", f"a^{{[{down}]({i + 1})}}_{{{k + 1}}}"))
    b = sp.Matrix(2, 1, lambda j, _: chain.symbol(f"b{j + 1}", f"b^{{[{up}]}}_{{{j + 1}}}"))
    z = sp.Matrix(2, 2, lambda j, i: chain.symbol(f"z{j + 1}_{i + 1}", f"z^{{[{up}]({i + 1})}}_{{{j + 1}}}"))
    dZ = sp.Matrix(2, 2, lambda j, i: chain.symbol(f"dz{j + 1}_{i + 1}", f"dz^{{[{up}]({i + 1})}}_{{{j + 1}}}"))
    losses = sp.Matrix(1, 2, lambda _, i: chain.symbol(f"L{i + 1}", rf"\mathcal{{L}}^{{({i + 1})}}"))
    ell = sp.Function("ell")  # any per-example loss: it sees only its own column of Z
    for i in range(2):
        chain.let(losses[i], ell(*z[:, i]))
    for j in range(2):
        for i in range(2):
            chain.let(dZ[j, i], sp.diff(ell(*z[:, i]), z[j, i]))  # dz_j^(i) = ∂L^(i)/∂z_j^(i)
    Z = W * A + b * sp.ones(1, 2)
    for zz, value in zip(z, Z, strict=True):
        chain.let(zz, value)
    return W, A, b, Z, dZ, losses


_UPSTREAM = r",\qquad dz^{{[{up}](i)}}_{{j}} = \frac{{\partial \mathcal{{L}}^{{(i)}}}}{{\partial z^{{[{up}](i)}}_{{j}}}}"


def da_prev(chain: Chain, layer: int | None, **_: Any) -> str:
    up, down = _labels(layer, "l")
    W, A, _b, Z, dZ, losses = _layer_symbols(chain, up, down)
    chain.premise("A layer with 2 units, 3 inputs and m = 2 examples (columns); b is added to every column",
                  f"Z^{{[{up}]}} = W^{{[{up}]}} A^{{[{down}]}} + b^{{[{up}]}}", Z)
    L = chain.premise("Any loss that adds one term per example, each a function of its own column of Z",
                      r"\mathcal{L}", losses[0] + losses[1], note=_UPSTREAM.format(up=up))
    total = chain.unfold(L)
    chain.step("SymPy's derivative for one input: it feeds both units, so one term per path",
               rf"\frac{{\partial \mathcal{{L}}}}{{\partial a^{{[{down}](1)}}_{{1}}}}",
               W[0, 0] * dZ[0, 0] + W[1, 0] * dZ[1, 0], equals=sp.diff(total, A[0, 0]))
    dA = f"dA^{{[{down}]}}"
    chain.step("Every input k and example i: `dA[k, i] = sum over j of W[j, k] * dZ[j, i]`", dA,
               sp.Matrix(3, 2, lambda k, i: sum(W[j, k] * dZ[j, i] for j in range(2))),
               equals=sp.Matrix(3, 2, lambda k, i: sp.diff(total, A[k, i])))
    chain.step("The sum runs down column k of W, i.e. along row k of W^T: a matrix product, shape (3, 2); "
               "no sum over examples, no 1/m", f"{dA} = W^{{[{up}]T}} dZ^{{[{up}]}}",
               sp.MatMul(sp.ImmutableMatrix(W.T), sp.ImmutableMatrix(dZ), evaluate=False))
    return f"dA[{down}] = W[{up}]^T dZ[{up}]"


def dw_db(chain: Chain, layer: int | None, **_: Any) -> str:
    up, down = _labels(layer, "l")
    W, A, b, Z, dZ, losses = _layer_symbols(chain, up, down)
    m = chain.symbol("m", "m", positive=True)
    chain.let(m, 2)
    chain.premise("A layer with 2 units, 3 inputs and m = 2 examples (columns); b is added to every column",
                  f"Z^{{[{up}]}} = W^{{[{up}]}} A^{{[{down}]}} + b^{{[{up}]}}", Z)
    J = chain.premise("The cost is the mean of the m = 2 per-example losses; dz is per example, without 1/m",
                      "J", _times(1 / m, losses[0] + losses[1]), note=_UPSTREAM.format(up=up))
    cost = chain.unfold(J)
    chain.step("SymPy's derivative for one weight: both examples use it, so it sums over them",
               rf"\frac{{\partial J}}{{\partial W^{{[{up}]}}_{{11}}}}",
               _times(1 / m, dZ[0, 0] * A[0, 0] + dZ[0, 1] * A[0, 1]), equals=sp.diff(cost, W[0, 0]))
    dW = f"dW^{{[{up}]}}"
    chain.step("Every weight: `dW[j, k] = (1/m) * sum over i of dZ[j, i] * A_prev[k, i]`", dW,
               sp.Matrix(2, 3, lambda j, k: _times(1 / m, sum(dZ[j, i] * A[k, i] for i in range(2)))),
               equals=sp.Matrix(2, 3, lambda j, k: sp.diff(cost, W[j, k])))
    chain.step("The sum over examples i is a matrix product with `A_prev.T`, shape (2, 3) like W",
               rf"{dW} = \frac{{1}}{{m}} dZ^{{[{up}]}} A^{{[{down}]T}}",
               sp.MatMul(1 / m, sp.ImmutableMatrix(dZ), sp.ImmutableMatrix(A.T), evaluate=False))
    db = f"db^{{[{up}]}}"
    chain.step("Each bias is added, with slope 1, to its row of Z in every example: db is the mean of each row of dZ",
               db, sp.Matrix(2, 1, lambda j, _: _times(1 / m, dZ[j, 0] + dZ[j, 1])),
               equals=sp.Matrix(2, 1, lambda j, _: sp.diff(cost, b[j])))
    chain.step("Summing each row is dZ times a column of ones: `np.sum(dZ, axis=1, keepdims=True)`, shape (2, 1)",
               rf"{db} = \frac{{1}}{{m}} \sum_{{i}} dZ^{{[{up}]}}_{{:, i}}",
               sp.MatMul(1 / m, sp.ImmutableMatrix(dZ), sp.ImmutableMatrix(sp.ones(2, 1)), evaluate=False))
    return f"dW[{up}] = (1/m) dZ[{up}] A[{down}]^T and db[{up}] = (1/m) np.sum(dZ[{up}], axis=1, keepdims=True)"


def cost_mean(chain: Chain, layer: int | None, **_: Any) -> str:
    up, down = _labels(layer, "L")
    z = [chain.symbol(f"z{i}", f"z^{{[{up}]({i})}}") for i in (1, 2, 3)]
    a = [chain.symbol(f"a{i}", f"a^{{[{up}]({i})}}") for i in (1, 2, 3)]
    y = [chain.symbol(f"y{i}", f"y^{{({i})}}") for i in (1, 2, 3)]
    losses = [chain.symbol(f"L{i}", rf"\mathcal{{L}}^{{({i})}}") for i in (1, 2, 3)]
    for Li, ai, yi in zip(losses, a, y, strict=True):
        chain.let(Li, -(yi * sp.log(ai) + (1 - yi) * sp.log(1 - ai)))
    for ai, zi in zip(a, z, strict=True):
        chain.let(ai, 1 / (1 + sp.exp(-zi)))
    m = chain.symbol("m", "m", positive=True)
    chain.let(m, 3)
    J = chain.premise("The cost of m = 3 examples, each with a sigmoid output and cross-entropy loss", "J",
                      _times(1 / m, sum(losses)), note=rf",\qquad a^{{[{up}](i)}} = \sigma(z^{{[{up}](i)}})")
    dL1 = chain.symbol("dL1", rf"\frac{{\partial \mathcal{{L}}^{{(1)}}}}{{\partial z^{{[{up}](1)}}}}")
    chain.let(dL1, sp.diff(chain.unfold(losses[0]), z[0]))
    dJ_dz1 = rf"\frac{{\partial J}}{{\partial z^{{[{up}](1)}}}}"
    chain.step("z^(1) appears only in the first loss, so the other terms are constants", dJ_dz1,
               _times(1 / m, dL1), equals=sp.diff(chain.unfold(J), z[0]))
    chain.step("The per-example derivative is a − y (the dz-output derivation)", dJ_dz1, _times(1 / m, a[0] - y[0]))
    chain.step("The same for every example: ∂J/∂Z = (1/m)(A − Y), the derivative of the cost",
               rf"\frac{{\partial J}}{{\partial Z^{{[{up}]}}}}",
               sp.Matrix([[_times(1 / m, ai - yi) for ai, yi in zip(a, y, strict=True)]]),
               equals=sp.Matrix([[sp.diff(chain.unfold(J), zi) for zi in z]]))
    w = [chain.symbol(f"W{k}", f"W^{{[{up}]}}_{{1{k}}}") for k in (1, 2)]
    b = chain.symbol("b", f"b^{{[{up}]}}")
    x = sp.Matrix(2, 3, lambda k, i: chain.symbol(f"x{k + 1}_{i + 1}", f"a^{{[{down}]({i + 1})}}_{{{k + 1}}}"))
    for i, zi in enumerate(z):
        chain.let(zi, w[0] * x[0, i] + w[1] * x[1, i] + b)  # one output unit with 2 inputs
    cost = chain.unfold(J)
    residual = sp.ImmutableMatrix([[ai - yi for ai, yi in zip(a, y, strict=True)]])
    chain.step("Course: dZ = A − Y has no 1/m; the 1/m enters once, in dW (checked against SymPy's dJ/dW)",
               rf"dW^{{[{up}]}} = \frac{{1}}{{m}} (A^{{[{up}]}} - Y) A^{{[{down}]T}}",
               sp.MatMul(1 / m, residual, sp.ImmutableMatrix(x.T), evaluate=False),
               equals=sp.Matrix([[sp.diff(cost, wk) for wk in w]]))
    chain.step("Alternative: dZ = (1/m)(A − Y) carries the 1/m, so dW = dZ `A_prev.T` has none: the same dW",
               rf"dW^{{[{up}]}} = \left(\frac{{1}}{{m}} (A^{{[{up}]}} - Y)\right) A^{{[{down}]T}}",
               sp.MatMul(residual.applyfunc(lambda r: _times(1 / m, r)), sp.ImmutableMatrix(x.T), evaluate=False))
    chain.step("Course db: the 1/m is applied to the sum of A − Y", rf"db^{{[{up}]}} = \frac{{1}}{{m}} \sum_i "
               rf"(a^{{[{up}](i)}} - y^{{(i)}})", _times(1 / m, sp.Add(*[t for ai, yi in zip(a, y, strict=True) for t in (ai, -yi)], evaluate=False)), equals=sp.diff(cost, b), order="none")
    chain.step("Alternative db: the plain sum of the alternative dZ, again the same: apply 1/m exactly once",
               rf"db^{{[{up}]}} = \sum_i \frac{{1}}{{m}} (a^{{[{up}](i)}} - y^{{(i)}})",
               sp.Add(*[_times(1 / m, r) for r in residual], evaluate=False), order="none")
    return "Where the 1/m goes: J is a mean, so ∂J/∂z(i) = (1/m) ∂L(i)/∂z(i)"


def l2(chain: Chain, layer: int | None, **_: Any) -> str:
    up, _prev = _labels(layer, "l")
    W = sp.Matrix(2, 2, lambda j, k: chain.symbol(f"W{j + 1}{k + 1}", f"W^{{[{up}]}}_{{{j + 1}{k + 1}}}"))
    lam, m, alpha = (chain.symbol(n, latex, positive=True) for n, latex in
                     (("lam", r"\lambda"), ("m", "m"), ("alpha", r"\alpha")))
    J = chain.symbol("J", "J")
    dJ = sp.Matrix(2, 2, lambda j, k: chain.symbol(
        f"dJ{j + 1}{k + 1}", rf"\frac{{\partial J}}{{\partial W^{{[{up}]}}_{{{j + 1}{k + 1}}}}}"))
    cost = sp.Function("J")(*W)  # the unregularised cost: any function of the weights
    chain.let(J, cost)
    for d, w in zip(dJ, W, strict=True):
        chain.let(d, sp.diff(cost, w))
    J_reg = chain.premise("L2 regularisation on a 2×2 W: add λ/(2m) times the sum of all squared weights",
                          r"J_{\text{reg}}", J + lam / (2 * m) * sum(w**2 for w in W))
    full = chain.unfold(J_reg)
    chain.step("Differentiate: only the square of W11 contains W11, and 2 · λ/(2m) = λ/m",
               rf"\frac{{\partial J_{{\text{{reg}}}}}}{{\partial W^{{[{up}]}}_{{11}}}}",
               dJ[0, 0] + _times(lam / m, W[0, 0]), equals=sp.diff(full, W[0, 0]))
    dW = f"dW^{{[{up}]}}"
    grad = chain.step("Every weight the same way", dW, dJ + W.applyfunc(lambda w: _times(lam / m, w)),
                      equals=sp.Matrix(2, 2, lambda j, k: sp.diff(full, W[j, k])))
    chain.step("In matrix form: the data gradient plus (λ/m)W; db, dZ and dA do not change", dW,
               sp.MatAdd(sp.ImmutableMatrix(dJ), sp.MatMul(lam / m, sp.ImmutableMatrix(W), evaluate=False),
                         evaluate=False), order="none")
    update = rf"W^{{[{up}]}} - \alpha\, {dW}"
    chain.premise("Definition: one gradient-descent step with learning rate α", update,
                  sp.Matrix(2, 2, lambda j, k: W[j, k] - _times(alpha, grad[j, k])))
    chain.step("Collect the W terms: each step first shrinks W by 1 − αλ/m, then takes the usual step (weight decay)",
               update, sp.Matrix(2, 2, lambda j, k: W[j, k] * (1 - alpha * lam / m) - _times(alpha, dJ[j, k])))
    return f"dW[{up}] with L2 regularisation: + (λ/m) W[{up}], and why it is called weight decay"


BUILDERS: dict[str, Callable[..., str]] = {
    "dz-output": dz_output, "softmax-ce": softmax_ce, "activation": activation_derivative, "da-prev": da_prev,
    "dw-db": dw_db, "cost-mean": cost_mean, "l2": l2,
}
