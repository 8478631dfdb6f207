"""Step-by-step derivations of the course's backprop formulas: SymPy does the algebra and checks every derived step.

Each step is one equation with a line of English. Before a step is kept, SymPy verifies that it equals the step
before it (or the derivative it claims to show); if not, DerivationError names the derivation and the step, so a
wrong line never reaches a student. The derivations themselves live in bot/derivations.py.

This module does not import SymPy at load time (about 0.5 s): the KB validator imports it only for NAMES.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot.notation import normalize

Expr = Any  # a SymPy expression or matrix; SymPy ships no type hints

NAMES: tuple[str, ...] = ("dz-output", "softmax-ce", "activation", "da-prev", "dw-db", "cost-mean", "l2")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softmax", "linear")
LOSSES = ("bce", "cce", "mse")
# The choices each derivation uses; it ignores the others (every derivation takes `layer`, for its superscripts).
OPTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "dz-output": {"activation": ("sigmoid", "tanh", "linear"), "loss": ("bce", "mse")},
    "activation": {"activation": ("sigmoid", "tanh", "relu", "leaky_relu")},
}
OUTPUT_PAIRS = (("sigmoid", "bce"), ("sigmoid", "mse"), ("tanh", "mse"), ("linear", "mse"))  # for dz-output


class DerivationError(Exception):
    """A step does not equal the one before it: a bug in bot/derivations.py, never the student's fault."""


@dataclass(frozen=True)
class Check:
    """What SymPy verified for a step: `expr` equals `reference` once the shorthands in `given` are substituted."""

    expr: Expr
    reference: Expr
    given: tuple[tuple[Expr, Expr], ...] = ()  # (shorthand, meaning) in substitution order, e.g. (a, 1/(1+exp(-z)))


@dataclass(frozen=True)
class Step:
    text: str  # one short English line: what this step does
    latex: str  # the equation after the step, KaTeX-renderable, no $ delimiters
    check: Check | None = field(default=None, repr=False, compare=False)  # None for a premise; not serialised


@dataclass(frozen=True)
class Derivation:
    name: str
    title: str
    choice: dict[str, str]  # what was derived for, e.g. {"activation": "tanh"}; {} if not parameterised
    steps: tuple[Step, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the text and LaTeX of every step (the SymPy objects stay behind)."""
        return {"name": self.name, "title": self.title, "choice": dict(self.choice),
                "steps": [{"text": s.text, "latex": s.latex} for s in self.steps]}

    def to_markdown(self) -> str:
        """Numbered steps, each its line of text followed by a $$ display block."""
        parts = [f"**{self.title}**"]
        for number, step in enumerate(self.steps, 1):
            parts += [f"{number}. {step.text}", f"$$\n{step.latex}\n$$"]
        return "\n\n".join(parts) + "\n"


class Chain:
    """Collects the steps of one derivation; every step that is not a premise is checked by SymPy before it is kept."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.names: dict[Expr, str] = {}  # symbol -> its LaTeX, e.g. a -> a^{[L]}
        self.given: list[tuple[Expr, Expr]] = []  # shorthands the checks substitute, in order (a first, then z)
        self.steps: list[Step] = []
        self._last: Expr = None

    def symbol(self, name: str, latex: str, **assumptions: bool) -> Expr:
        """A real SymPy symbol (unless told otherwise) that prints as `latex`."""
        import sympy

        sym = sympy.Symbol(name, **({"real": True} | assumptions))
        self.names[sym] = latex
        return sym

    def let(self, shorthand: Expr, meaning: Expr) -> None:
        """From now on checks read `shorthand` as `meaning` (a = σ(z), or a constraint such as y3 = 1 - y1 - y2)."""
        self.given.append((shorthand, meaning))

    def unfold(self, expr: Expr) -> Expr:
        """The expression in the base variables: every shorthand substituted."""
        return expr.subs(self.given) if self.given else expr

    def latex(self, expr: Expr, order: str = "old") -> str:
        """SymPy's LaTeX with our symbol names; 'old' keeps 1 - a and e^z - e^{-z} in reading order."""
        import sympy

        return sympy.latex(expr, symbol_names=self.names, order=order)

    def premise(self, text: str, lhs: str, expr: Expr, note: str = "", shown: str | None = None) -> Expr:
        """A starting point (a definition, a choice, a restatement of a checked result): shown, not checked."""
        self.steps.append(Step(text, f"{lhs} = {shown if shown is not None else self.latex(expr)}{note}"))
        self._last = expr
        return expr

    def step(self, text: str, lhs: str, expr: Expr, *, equals: Expr = None, shown: str | None = None,
             order: str = "old") -> Expr:
        """Add `lhs = expr`, checked equal to `equals` (what SymPy computed) or, by default, to the previous step.

        `shown` replaces the printed right-hand side: the same result in another form (a piecewise checked side by side).
        """
        reference = self._last if equals is None else equals
        number = len(self.steps) + 1
        if reference is None:
            raise DerivationError(f"derivation {self.name!r}, step {number} ({text}): nothing to check it against")
        given = tuple(self.given)
        problem = difference(expr, reference, given)
        if problem:
            raise DerivationError(f"derivation {self.name!r}, step {number} ({text}): {problem}")
        latex = shown if shown is not None else self.latex(expr, order)
        self.steps.append(Step(text, f"{lhs} = {latex}" if lhs else latex, Check(expr, reference, given)))
        self._last = expr
        return expr


def difference(expr: Expr, reference: Expr, given: tuple[tuple[Expr, Expr], ...] = ()) -> str:
    """'' if SymPy proves expr == reference (element by element for matrices), else what differs."""
    import sympy

    def explicit(x: Expr) -> Expr:
        x = sympy.sympify(x)
        return sympy.Matrix(x.doit()) if isinstance(x, (sympy.MatrixBase, sympy.MatrixExpr)) else x

    left, right = explicit(expr), explicit(reference)
    if isinstance(left, sympy.MatrixBase) != isinstance(right, sympy.MatrixBase):
        return "a matrix compared with a scalar"
    if isinstance(left, sympy.MatrixBase):
        if left.shape != right.shape:
            return f"shape {left.shape} differs from {right.shape}"
        for (row, col), (x, y) in zip(((r, c) for r in range(left.rows) for c in range(left.cols)),
                                      zip(left, right, strict=True), strict=True):
            if not is_zero((x - y).subs(list(given))):
                return f"entry ({row + 1}, {col + 1}): {x} is not equal to {y}"
        return ""
    return "" if is_zero((left - right).subs(list(given))) else f"{expr} is not equal to {reference}"


def is_zero(d: Expr) -> bool:
    """True if SymPy proves d == 0; a kink (max, piecewise) is checked on each side of it and at it."""
    import sympy

    d = sympy.sympify(d).doit()
    if d == 0:
        return True
    kinks = set().union(*(k.free_symbols for k in d.atoms(sympy.Piecewise, sympy.Max, sympy.Min, sympy.Heaviside)))
    cases: list[dict[Expr, Expr]] = [{}]
    for s in sorted(kinks, key=str):  # z > 0, z < 0 and z = 0 separately: simplify cannot split cases itself
        p = sympy.Dummy("p", positive=True)
        cases = [case | {s: value} for case in cases for value in (p, -p, sympy.Integer(0))]
    for case in cases:
        e = d.subs(case) if case else d
        if sympy.simplify(e) != 0 and sympy.simplify(e.rewrite(sympy.exp)) != 0:  # tanh vs exponentials
            return False
    return True


def derive(name: str, activation: str | None = None, loss: str | None = None, layer: int | None = None) -> Derivation:
    """The named derivation for these choices, every step checked; ValueError for a name or choice it lacks."""
    if name not in NAMES:
        raise ValueError(f"unknown derivation {name!r}; choose one of: {', '.join(NAMES)}")
    activation, loss = _canonical(activation, ACTIVATIONS, "activation"), _canonical(loss, LOSSES, "loss")
    if layer is not None and (isinstance(layer, bool) or not isinstance(layer, int) or layer < 1):
        raise ValueError(f"layer must be a positive integer (1 for the first hidden layer), got {layer!r}")
    if name == "dz-output":
        activation, loss = _output_pair(activation, loss)
    elif name == "activation":
        activation, loss = activation or "sigmoid", None
        supported = OPTIONS[name]["activation"]
        if activation not in supported:
            why = " (its derivative is a full Jacobian: see 'softmax-ce')" if activation == "softmax" else ""
            raise ValueError(f"derivation 'activation' has no activation {activation!r}{why}; "
                             f"choose one of: {', '.join(supported)}")
    else:
        activation = loss = None  # these derivations do not depend on them
    title, steps = _build(name, activation, loss, layer)
    choice = {"activation": activation, "loss": loss, "layer": None if layer is None else str(layer)}
    return Derivation(name, title, {k: v for k, v in choice.items() if v is not None}, steps)


def _canonical(value: str | None, allowed: tuple[str, ...], kind: str) -> str | None:
    if value is None:
        return None
    key = re.sub(r"[\s-]+", "_", value.strip().lower())
    if key not in allowed:
        raise ValueError(f"unknown {kind} {value!r}; choose one of: {', '.join(allowed)}")
    return key


def _output_pair(activation: str | None, loss: str | None) -> tuple[str, str]:
    """Fill in dz-output's defaults (sigmoid with cross-entropy; squared error for any other output) and check."""
    if activation == "softmax" or loss == "cce":
        raise ValueError("derivation 'dz-output' is for one output unit; a softmax output with categorical "
                         "cross-entropy is the 'softmax-ce' derivation")
    loss = loss or ("bce" if activation in (None, "sigmoid") else "mse")
    activation = activation or "sigmoid"
    if (activation, loss) not in OUTPUT_PAIRS:
        raise ValueError(f"derivation 'dz-output' has no {activation} output with loss {loss!r}; choose one of: "
                         + ", ".join(f"{a} with {lo}" for a, lo in OUTPUT_PAIRS))
    return activation, loss


@lru_cache(maxsize=64)
def _build(name: str, activation: str | None, loss: str | None, layer: int | None) -> tuple[str, tuple[Step, ...]]:
    from bot.derivations import BUILDERS  # imports SymPy: only when a derivation is asked for

    chain = Chain(name)
    title = BUILDERS[name](chain, layer=layer, activation=activation, loss=loss)
    return title, tuple(chain.steps)


# ---- reading the choices out of a student's question ----
# Ordered by how specific they are; a question naming several of one kind gets the one it mentions first.
_ACTIVATION_WORDS = (
    ("leaky_relu", r"leaky[\s_-]*re\s*lu|\blrelu\b"),
    ("relu", r"(?<![a-z])relu(?![a-z])|rectified linear"),
    ("tanh", r"(?<![a-z])tanh(?![a-z])|hyperbolic tangent"),
    ("sigmoid", r"sigmoid|(?-i:σ)|\\sigma(?![a-z])|logistic (?:function|activation)"),  # Σ (a sum) is not σ
    ("softmax", r"soft[\s-]?max"),
    ("linear", r"linear (?:output|activation)|identity (?:output|activation)"),
)
_LOSS_WORDS = (
    ("mse", r"(?<![a-z])mse(?![a-z])|squared[\s-]*error|mean[\s-]*squared|squared loss|quadratic (?:loss|cost)"),
    ("cce", r"categorical|(?<![a-z])cce(?![a-z])"),
    ("bce", r"binary[\s_-]*cross[\s_-]*entropy|(?<![a-z])bce(?![a-z])|log[\s-]?loss|logistic loss"),
    ("cross-entropy", r"cross[\s_-]*entropy"),  # bare: categorical next to softmax or classes, else binary
)
_MANY_CLASSES = re.compile(r"multi[\s-]?class|classes", re.IGNORECASE)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
_LAYER_WORD = re.compile(r"\blayer\s*\[?\s*(\d+)\b|\b(\d+)(?:st|nd|rd|th)\s+layer\b|\b(" + "|".join(_ORDINALS)
                         + r")\s+(?:hidden\s+)?layer\b", re.IGNORECASE)
_LAYER_OF = re.compile(r"\b(?:d?[ZW]|db|b)\[(\d+)\]")  # dZ[2], W[3], b[1]: the layer a formula is about
_LAYER_OF_A = re.compile(r"\bd?A\[(\d+)\]")  # A[1] is the input of layer 2 in dW[2], so only a fallback


def detect_choices(question: str) -> dict[str, str]:
    """The activation, loss and layer a question names (only those it names), e.g. {"activation": "tanh"}."""
    text = question
    found: dict[str, str] = {}
    activation = _first(text, _ACTIVATION_WORDS)
    if activation:
        found["activation"] = activation
    loss = _first(text, _LOSS_WORDS)
    if loss == "cross-entropy":
        loss = "cce" if activation == "softmax" or _MANY_CLASSES.search(text) else "bce"
    if loss:
        found["loss"] = loss
    layer = _layer(question)
    if layer:
        found["layer"] = str(layer)
    return found


def _first(text: str, words: tuple[tuple[str, str], ...]) -> str | None:
    hits = []
    for key, pattern in words:
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            hits.append((match.start(), key))
            text = re.sub(pattern, lambda m: " " * len(m[0]), text, flags=re.IGNORECASE)  # leaky relu is no relu
    return min(hits)[1] if hits else None


def _layer(question: str) -> int | None:
    match = _LAYER_WORD.search(question)
    if match:
        number = match[1] or match[2]
        return int(number) if number else _ORDINALS[match[3].lower()]
    notation = normalize(question)  # dZ2, dz^{[2]} and dZ^[2] all become dZ[2]
    for pattern in (_LAYER_OF, _LAYER_OF_A):
        layers = [int(m[1]) for m in pattern.finditer(notation) if int(m[1]) > 0]
        if layers:
            return layers[0]
    return None
