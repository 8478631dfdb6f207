"""Derivations: every step is re-checked here numerically, independently of the module's own SymPy proof."""
from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from itertools import pairwise
from typing import Any

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.core.function import AppliedUndef

from bot.config import ROOT
from bot.proofs.chain import Chain, Derivation, DerivationError, Step, difference
from bot.proofs.derive import ACTIVATIONS, LOSSES, NAMES, OPTIONS, OUTPUT_PAIRS, derive, detect_choices

# Every name with its defaults, and every choice a derivation supports.
CHOICES: list[tuple[str, dict[str, Any]]] = ([(name, {}) for name in NAMES]
           + [("dz-output", {"activation": a, "loss": lo}) for a, lo in OUTPUT_PAIRS]
           + [("activation", {"activation": a}) for a in OPTIONS["activation"]["activation"]])
IDS = [f"{name}-{'-'.join(choice.values()) or 'default'}" for name, choice in CHOICES]
TOL = 1e-9  # the steps are exact identities; only float round-off separates the two sides


def numeric(expr: Any, given: tuple[tuple[Any, Any], ...], values: dict[Any, Any]) -> Any:
    """expr as numbers: shorthands substituted, any undefined function (a generic loss) made concrete."""
    expr = sp.sympify(expr).doit().subs(list(given)).doit()
    for f in {call.func for call in expr.atoms(AppliedUndef)}:
        arity = len(next(call for call in expr.atoms(AppliedUndef) if call.func == f).args)
        v = sp.symbols(f"v1:{arity + 1}")
        expr = expr.subs(f, sp.Lambda(v, sum(sp.sin(k * x) for k, x in enumerate(v, 1)) + sp.Mul(*v) / 3))
    expr = expr.doit()
    missing = {s: values.setdefault(s, 0.0) for s in expr.free_symbols if s not in values}
    assert not missing, f"no value for {missing}"
    return sp.Matrix([expr] if not hasattr(expr, "shape") else expr).xreplace(values).evalf()


@pytest.mark.parametrize(("name", "choice"), CHOICES, ids=IDS)
def test_every_derivation_builds_with_its_choices(name: str, choice: dict[str, Any]) -> None:
    d = derive(name, **choice)
    assert d.name == name and d.title
    assert 4 <= len(d.steps) <= 10
    assert choice.items() <= d.choice.items()
    assert all(s.text and "\n" not in s.text and len(s.text) <= 120 for s in d.steps)


@pytest.mark.parametrize(("name", "choice"), CHOICES, ids=IDS)
def test_every_step_holds_at_a_random_point(name: str, choice: dict[str, Any]) -> None:
    """The numeric oracle: each checked step equals what it was checked against, at seeded random values."""
    rng = random.Random(42)
    checked = [s for s in derive(name, **choice).steps if s.check]
    assert len(checked) >= 3
    for step in checked:
        assert step.check is not None
        parts = [sp.sympify(step.check.expr).doit(), sp.sympify(step.check.reference).doit()]
        symbols = set().union(*(sp.sympify(p).subs(list(step.check.given)).free_symbols for p in parts))
        values = {s: sp.Float(rng.uniform(0.5, 2.0) if s.is_positive else rng.uniform(-2.0, 2.0)) for s in symbols}
        left, right = (numeric(p, step.check.given, values) for p in parts)
        assert left.shape == right.shape
        assert all(abs(complex(x - y)) <= TOL * (1 + abs(complex(y))) for x, y in zip(left, right, strict=True)), \
            f"{name} step {step.text!r}: {left} != {right}"


def _equals(expr: Any, expected: str) -> bool:
    symbols = {s.name: s for s in sp.sympify(expr).doit().free_symbols}
    return difference(expr, sp.sympify(expected, locals=symbols)) == ""


@pytest.mark.parametrize(("name", "choice", "expected"), [
    ("dz-output", {}, "a - y"),
    ("dz-output", {"activation": "linear", "loss": "mse"}, "a - y"),
    ("dz-output", {"loss": "mse"}, "(a - y)*a*(1 - a)"),
    ("softmax-ce", {}, "Matrix([a1 - y1, a2 - y2, a3 - y3])"),
    ("activation", {"activation": "sigmoid"}, "a*(1 - a)"),
    ("activation", {"activation": "tanh"}, "1 - a**2"),
    ("activation", {"activation": "relu"}, "Piecewise((1, a > 0), (0, True))"),
])
def test_final_step_is_the_course_formula(name: str, choice: dict[str, Any], expected: str) -> None:
    final = [s.check for s in derive(name, **choice).steps if s.check][-1]  # after it, at most a restatement
    assert _equals(final.expr, expected)


@pytest.mark.parametrize(("name", "choice"), CHOICES, ids=IDS)
def test_a_step_checked_against_the_one_before_says_something_new(name: str, choice: dict[str, Any]) -> None:
    """Restating the previous line (for all m, in matrix form) is a premise, not a check of a thing against itself."""
    steps = derive(name, **choice).steps
    for before, step in pairwise(steps):
        if step.check and before.check and step.check.reference is before.check.expr:
            assert sp.srepr(step.check.expr) != sp.srepr(step.check.reference), f"{name}: {step.text!r}"


def test_the_update_rule_is_a_definition_and_weight_decay_is_derived_from_it() -> None:
    steps = derive("l2").steps
    definition = next(s for s in steps if s.text.startswith("Definition: one gradient-descent step"))
    assert definition.check is None and steps[-1].check is not None and "weight decay" in steps[-1].text


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_the_kink_is_undefined_and_the_value_at_0_a_labelled_choice(activation: str) -> None:
    steps = derive("activation", activation=activation).steps
    undefined = next(s for s in steps if "undefined" in s.text)
    convention = next(s for s in steps if s.text.startswith("Convention, a choice"))
    assert undefined.check is not None and convention.check is None
    assert steps.index(undefined) < steps.index(convention)
    assert "otherwise" not in next(s for s in steps if s.text.startswith("Differentiate")).latex


def test_final_latex_reads_like_the_lecture() -> None:
    assert derive("dz-output").steps[-1].latex == "dZ^{[L]} = A^{[L]} - Y"
    assert derive("activation", activation="tanh").steps[-1].latex == r"g'(z^{[l]}) = 1 - \left(a^{[l]}\right)^{2}"
    assert derive("da-prev").steps[-1].latex.startswith(r"dA^{[l-1]} = W^{[l]T} dZ^{[l]} = ")


def test_layer_changes_only_the_superscripts() -> None:
    default, second = derive("da-prev"), derive("da-prev", layer=2)
    assert [s.text for s in second.steps] == [s.text for s in default.steps]
    assert second.steps[-1].latex.startswith(r"dA^{[1]} = W^{[2]T} dZ^{[2]} = ")
    assert not any("[l" in s.latex for s in second.steps)
    assert derive("dz-output", layer=3).steps[-1].latex == "dZ^{[3]} = A^{[3]} - Y"
    for loss in ("bce", "mse"):
        assert not any("[L]" in s.text or "[L" in s.latex for s in derive("dz-output", loss=loss, layer=2).steps)


def test_choice_records_what_was_derived() -> None:
    assert derive("dz-output").choice == {"activation": "sigmoid", "loss": "bce"}
    assert derive("dz-output", activation="tanh").choice == {"activation": "tanh", "loss": "mse"}
    assert derive("activation", activation="Leaky ReLU").choice == {"activation": "leaky_relu"}
    assert derive("l2", activation="tanh", layer=2).choice == {"layer": "2"}  # l2 does not depend on g


@pytest.mark.parametrize(("name", "kwargs", "message"), [
    ("dz", {}, "unknown derivation 'dz'; choose one of: dz-output, softmax-ce, activation, da-prev, dw-db, cost-mean, l2"),
    ("activation", {"activation": "swish"},
     "unknown activation 'swish'; choose one of: sigmoid, tanh, relu, leaky_relu, softmax, linear"),
    ("activation", {"activation": "softmax"}, ("derivation 'activation' has no activation 'softmax' (its derivative "
                                               "is a full Jacobian: see 'softmax-ce'); choose one of: sigmoid, tanh, "
                                               "relu, leaky_relu")),
    ("dz-output", {"loss": "hinge"}, "unknown loss 'hinge'; choose one of: bce, cce, mse"),
    ("dz-output", {"activation": "tanh", "loss": "bce"}, ("derivation 'dz-output' has no tanh output with loss "
                                                          "'bce'; choose one of: sigmoid with bce, sigmoid with mse, "
                                                          "tanh with mse, linear with mse")),
    ("dz-output", {"loss": "cce"}, ("derivation 'dz-output' is for one output unit; a softmax output with "
                                    "categorical cross-entropy is the 'softmax-ce' derivation")),
    ("l2", {"layer": 0}, "layer must be a positive integer (1 for the first hidden layer), got 0"),
])
def test_unsupported_requests_say_what_to_choose(name: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as error:
        derive(name, **kwargs)
    assert str(error.value) == message


def test_checker_rejects_a_wrong_step_by_name_and_number() -> None:
    chain = Chain("demo")
    a = chain.symbol("a", "a")
    chain.premise("start", "f", a * (1 - a))
    chain.step("expand", "f", a - a**2)
    with pytest.raises(DerivationError, match=r"derivation 'demo', step 3 \(sign slip\)"):
        chain.step("sign slip", "f", a + a**2)


def test_checker_names_the_wrong_entry_of_a_matrix() -> None:
    x = sp.Symbol("x")
    assert difference(sp.Matrix([[x, 2 * x], [x**2, 1]]), sp.Matrix([[x, x + x], [x**2, 1]])) == ""
    assert difference(sp.Matrix([[x, 2 * x], [x**2, 1]]), sp.Matrix([[x, 2 * x], [x**3, 1]])).startswith("entry (2, 1)")
    assert difference(sp.Matrix([[x, x]]), sp.Matrix([[x], [x]])).startswith("shape (1, 2)")


def test_checker_uses_shorthands_and_splits_kinks() -> None:
    a, z = sp.Symbol("a", real=True), sp.Symbol("z", real=True)
    sigmoid = 1 / (1 + sp.exp(-z))
    assert difference(a * (1 - a), sp.diff(sigmoid, z), given=((a, sigmoid),)) == ""
    assert difference(sp.Max(0, z), sp.Piecewise((z, z > 0), (0, True))) == ""
    assert difference(sp.Max(0, z), sp.Piecewise((z, z >= 0), (z / 2, True))) != ""


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-4, 4), min_size=1, max_size=3), st.lists(st.integers(-4, 4), min_size=1, max_size=3),
       st.integers(-3, 3).filter(bool))
def test_checker_is_exact_on_polynomials(p: list[int], q: list[int], slip: int) -> None:
    x = sp.Symbol("x")
    product = sp.Poly(p, x).as_expr() * sp.Poly(q, x).as_expr()
    assert difference(sp.expand(product), product) == ""
    assert difference(sp.expand(product) + slip * x, product) != ""


def test_a_broken_derivation_never_reaches_a_student(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.proofs import derivations

    def broken(chain: Chain, **_: object) -> str:
        w = chain.symbol("w", "w")
        chain.premise("penalty", "P", w**2 / 2)
        chain.step("differentiate", "P'", 2 * w, equals=sp.diff(w**2 / 2, w))  # the 2 did not cancel
        return "broken"

    monkeypatch.setitem(derivations.BUILDERS, "l2", broken)
    with pytest.raises(DerivationError, match=r"derivation 'l2', step 2 \(differentiate\)"):
        derive("l2", layer=97)  # a layer no other test asks for, so the cache misses and the broken builder runs


@pytest.mark.parametrize(("name", "choice"), CHOICES, ids=IDS)
def test_markdown_has_one_display_block_per_step(name: str, choice: dict[str, Any]) -> None:
    d = derive(name, **choice)
    markdown = d.to_markdown()
    blocks = re.findall(r"^\$\$\n(.+?)\n\$\$$", markdown, flags=re.MULTILINE | re.DOTALL)
    assert blocks == [s.latex for s in d.steps]
    outside = re.sub(r"^\$\$\n.+?\n\$\$$", "", markdown, flags=re.MULTILINE | re.DOTALL)
    assert "$" not in outside
    assert re.findall(r"^(\d+)\. ", markdown, flags=re.MULTILINE) == [str(i) for i in range(1, len(d.steps) + 1)]


@pytest.mark.parametrize(("name", "choice"), CHOICES, ids=IDS)
def test_text_and_latex_render_cleanly(name: str, choice: dict[str, Any]) -> None:
    for step in derive(name, **choice).steps:
        prose = re.sub(r"`[^`]*`", "", step.text)
        assert not re.search(r"[_*$\\]", prose), f"markdown would mangle {step.text!r}"
        assert "$" not in step.latex
        depth = 0
        for char in step.latex:
            depth += {"{": 1, "}": -1}.get(char, 0)
            assert depth >= 0, step.latex
        assert depth == 0, step.latex
        assert not re.search(r"\^\{(?:[^{}]|\{[^{}]*\})*\}\^", step.latex), f"double superscript in {step.latex}"


def test_to_dict_is_json_ready() -> None:
    d = derive("activation", activation="tanh")
    data = json.loads(json.dumps(d.to_dict()))
    assert data["name"] == "activation" and data["choice"] == {"activation": "tanh"}
    assert data["steps"][0] == {"text": d.steps[0].text, "latex": d.steps[0].latex}
    assert Derivation("x", "t", {}, (Step("s", "x = 1"),)).to_dict()["steps"] == [{"text": "s", "latex": "x = 1"}]


def test_names_match_the_builders_and_importing_needs_no_sympy() -> None:
    from bot.proofs.derivations import BUILDERS

    assert set(BUILDERS) == set(NAMES)
    code = "import sys, bot.proofs.derive; print('sympy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(("question", "expected"), [
    ("why is tanh' = 1 - a^2", {"activation": "tanh"}),
    ("ReLU derivative at zero?", {"activation": "relu"}),
    ("relu_backward sets dZ[Z <= 0] = 0, why", {"activation": "relu"}),
    ("derivative of leaky relu, is it the same as ReLU?", {"activation": "leaky_relu"}),
    ("σ'(z) = σ(z)(1 - σ(z)) proof", {"activation": "sigmoid"}),
    ("softmax with cross-entropy gives A - Y?", {"activation": "softmax", "loss": "cce"}),
    ("dZ for binary cross-entropy and a sigmoid output", {"activation": "sigmoid", "loss": "bce"}),
    ("derivative of the cross entropy loss", {"loss": "bce"}),
    ("categorical cross-entropy gradient for 10 classes", {"loss": "cce"}),
    ("what if I use MSE instead?", {"loss": "mse"}),
    ("mean squared error with a linear output", {"activation": "linear", "loss": "mse"}),
    ("why 1/2 in the squared error cost", {"loss": "mse"}),
    ("dZ2 = A2 - Y, where does it come from", {"layer": "2"}),
    ("how is dZ^{[3]} computed", {"layer": "3"}),
    ("derive dW[2] = 1/m dZ[2] A[1].T", {"layer": "2"}),
    ("dA1 = W2^T dZ2 how??", {"layer": "2"}),
    ("what is dA1 for a tanh hidden layer", {"activation": "tanh", "layer": "1"}),
    ("gradient of W[3] with L2 regularisation", {"layer": "3"}),
    ("backprop through layer 2 with tanh", {"activation": "tanh", "layer": "2"}),
    ("in the second layer, why do we use the transpose", {"layer": "2"}),
    ("why is there a 1/m in dW and db", {}),
    ("why does the 1/m stay in J = 1/m Σ L(i)", {}),
    ("for a 2-layer network with L2 regularization", {}),
    ("dZL = AL - Y", {}),
])
def test_detect_choices(question: str, expected: dict[str, str]) -> None:
    assert detect_choices(question) == expected


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_detect_choices_returns_only_known_values(question: str) -> None:
    found = detect_choices(question)
    assert set(found) <= {"activation", "loss", "layer"}
    assert found.get("activation", "sigmoid") in ACTIVATIONS
    assert found.get("loss", "bce") in LOSSES
    assert int(found.get("layer", "1")) >= 1
