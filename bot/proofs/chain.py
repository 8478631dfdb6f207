"""The checked chain a derivation is built on: each step SymPy proves equal to the one before it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Expr = Any  # a SymPy expression or matrix; SymPy ships no type hints


class DerivationError(Exception):
    """A step does not equal the one before it: a bug in bot/proofs/derivations.py, never the student's fault."""


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
