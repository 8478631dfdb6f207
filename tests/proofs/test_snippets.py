"""Every KB snippet runs in the sandbox, proves its claims, and agrees with the independent oracle
(bot.proofs.gradcheck)."""
from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from bot.config import ROOT
from bot.datatypes import Limits, RunResult
from bot.proofs import gradcheck as gc
from bot.proofs.sandbox import run_code
from bot.retrieval.kb import load_kb
from bot.serve.forum import GRADED_FUNCTIONS

SNIPPETS = ROOT / "kb" / "snippets"
FILES = sorted(SNIPPETS.glob("*.py"))
CLAIM = re.compile(r"^claim: (\w+) = (\S+)$", re.MULTILINE)


@cache
def run(name: str) -> RunResult:
    return run_code((SNIPPETS / name).read_text(), Limits(wall_seconds=20), curated=True)


def claims(name: str) -> dict[str, float]:
    return {key.lower(): float(value) for key, value in CLAIM.findall(run(name).stdout)}


def test_every_snippet_belongs_to_an_entry_and_every_reference_exists() -> None:
    used = {e.snippet for e in load_kb(ROOT / "kb").entries if e.snippet}
    assert used == {f.name for f in FILES}


def test_entries_that_state_a_gradient_formula_have_a_snippet() -> None:
    kb = load_kb(ROOT / "kb")
    formula = re.compile(r"\$\$[^$]*\b(?:d[WZAb]|\\partial|\\frac\{d)", re.DOTALL)
    missing = [e.id for e in kb.entries if formula.search(e.body) and not e.snippet]
    assert not missing


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_snippet_runs_clean_in_the_sandbox_in_under_2_s(path: Path) -> None:
    result = run(path.name)
    assert result.ok, f"{path.name}: {result.message}\n{result.stderr[-2000:]}"
    assert result.seconds < 2.0 and claims(path.name)


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_snippet_is_numpy_only_and_no_graded_function(path: Path) -> None:
    tree = ast.parse(path.read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"numpy", "math"}, imported
    defined = {n.name.lower() for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    assert not defined & GRADED_FUNCTIONS  # a snippet defining one would be a drop-in solution


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_snippet_gradients_match_finite_differences(path: Path) -> None:
    deliberate_mistakes = {"rel_err_without_keep_prob"}  # claims that show a wrong version failing
    # dW1 of a deep sigmoid net is ~1e-7: at eps = 1e-6, round-off (~1e-16 J / eps) alone is ~1e-4 of it
    tolerance = {"rel_err_dw1_sigmoid": 1e-3}
    for key, value in claims(path.name).items():
        if key.startswith("rel_err") and key not in deliberate_mistakes:
            assert value < tolerance.get(key, 1e-6), (key, value)
        if key.startswith("max_abs_diff"):
            assert value < 1e-12, (key, value)


# --- the snippets' numbers against the oracle -------------------------------------------------------------------

def oracle_ratios(m: int, layers: int, **mistake: bool) -> dict[int, float]:
    """Correct dW[l] / mistaken dW[l] per layer, from bot.proofs.gradcheck on a net of the same depth and batch size."""
    net = gc.Net((4,) + (3,) * (layers - 1) + (1,), ("tanh",) * (layers - 1) + ("sigmoid",))
    params = gc.init_params(net, seed=3)
    X, Y = gc.make_data(net, m, seed=4)
    right = gc.backward(net, params, X, Y, convention="alternative")
    wrong = gc.backward(net, params, X, Y, convention="alternative", **mistake)
    return {l: float(np.mean(right[f"dW{l}"] / wrong[f"dW{l}"])) for l in range(1, layers + 1)}


def test_one_over_m_every_layer_ratios_match_the_oracle() -> None:
    got = claims("one-over-m-every-layer.py")
    m, layers = int(got["m"]), int(got["layers"])
    for layer, ratio in oracle_ratios(m, layers, one_over_m_every_layer=True).items():
        assert ratio == pytest.approx(m ** (layers - layer))
        assert got[f"ratio_dw{layer}"] == pytest.approx(ratio, abs=1e-6)


def test_one_over_m_twice_ratios_and_difference_match_the_oracle() -> None:
    got = claims("one-over-m-twice.py")
    m, layers = int(got["m"]), int(got["layers"])
    for layer, ratio in oracle_ratios(m, layers, one_over_m_twice=True).items():  # correct / mistaken
        assert ratio == pytest.approx(m)
        assert got[f"ratio_dw{layer}"] == pytest.approx(1 / ratio, abs=1e-6)
    assert got["difference"] == pytest.approx((m - 1) / (m + 1), abs=1e-6)


def test_conventions_agree_like_the_oracle() -> None:
    got = claims("conventions-agree.py")
    net = gc.Net((4, 5, 3, 1), ("tanh", "relu", "sigmoid"))
    params = gc.init_params(net)
    X, Y = gc.make_data(net, 7)
    course = gc.backward(net, params, X, Y, convention="course")
    alternative = gc.backward(net, params, X, Y, convention="alternative")
    assert max(np.abs(course[f"dW{l}"] - alternative[f"dW{l}"]).max() for l in (1, 2, 3)) < 1e-12
    assert max(v for k, v in got.items() if k.startswith("max_abs_diff")) < 1e-12


@pytest.mark.parametrize("key, c", [("difference_c_third", 1 / 3), ("difference_c_3", 3.0), ("difference_c_2", 2.0)])
def test_gradient_check_differences_match_the_oracle(key: str, c: float) -> None:
    true = gc.init_params(gc.Net((3, 4, 1), ("relu", "sigmoid")))["W1"]
    assert claims("gradient-check.py")[key] == pytest.approx(gc.relative_error(c * true, true), abs=1e-6)


def test_sum_cost_scales_gradients_by_m_like_the_oracle() -> None:
    got = claims("l2-and-cost-scaling.py")
    assert got["ratio_sum_over_mean"] == pytest.approx(got["m"], rel=1e-9)


def test_squared_error_without_the_half_doubles_the_gradient() -> None:
    assert claims("squared-error.py")["ratio_without_half"] == pytest.approx(2.0, rel=1e-9)


def test_gradient_check_epsilon_is_smallest_near_1e_5_and_1e_7_is_on_the_round_off_side() -> None:
    got = claims("gradient-check.py")
    # truncation ~ eps^2 |J^(3)| / 6 against round-off ~ 1e-16 |J| / eps: their sum is smallest near 1e-5 in float64
    assert -6 <= got["best_epsilon_exponent"] <= -4
    assert got["difference_eps5"] < got["difference_eps7"] < got["difference_eps8"]
    assert got["difference_eps7"] < 1e-7 < got["difference_c_2"]


def test_the_epsilon_figures_in_the_kb_are_the_snippets() -> None:
    body = next(e.body for e in load_kb(ROOT / "kb").entries if e.id == "gradient-checking")
    got = claims("gradient-check.py")
    for k in (5, 7, 8):
        mantissa, exponent = f"{got[f'difference_eps{k}']:.1e}".split("e")
        assert rf"{mantissa}\times10^{{{int(exponent)}}}$ at $10^{{-{k}}}$" in body, k


def test_computation_graph_numbers() -> None:
    got = claims("computation-graph.py")
    assert (got["dj_da"], got["dj_db"], got["dj_dc"]) == pytest.approx((3.0, 6.0, 9.0), abs=1e-6)


# --- every check can fail --------------------------------------------------------------------------------------------

# (snippet, text in its source, the same text with the analytic gradient off by 0.1 %): a copy rewritten this way
# must stop on an assertion. A check that compares a thing with itself cannot pass this.
PERTURBED = [
    ("activation-derivatives.py", '"sigmoid": (sigmoid, lambda a: a * (1 - a))',
     '"sigmoid": (sigmoid, lambda a: 1.001 * a * (1 - a))'),
    ("activation-derivatives.py", '"tanh": lambda z: 1 - np.tanh(z) ** 2',
     '"tanh": lambda z: 1.001 * (1 - np.tanh(z) ** 2)'),
    ("backprop-equations.py", "dA1 = np.dot(W2.T, dZ2) ", "dA1 = 1.001 * np.dot(W2.T, dZ2) "),
    ("backprop-equations.py", "route = dAL * A2 * (1 - A2)", "route = 1.001 * dAL * A2 * (1 - A2)"),
    ("computation-graph.py", "db = du * c ", "db = 1.001 * du * c "),
    ("conventions-agree.py", "dZ = dA_prev * g_prime(l - 1, cache)", "dZ = 1.001 * dA_prev * g_prime(l - 1, cache)"),
    ("dropout-backprop.py", "dA1 = dA1 / keep_prob ", "dA1 = 1.001 * dA1 / keep_prob "),
    ("dropout-backprop.py", "np.abs(dA1_masked * np.int64(A1_drop > 0)",
     "np.abs(1.001 * dA1_masked * np.int64(A1_drop > 0)"),
    ("dw-db-shapes.py", "db = (1 / m) * np.sum(dZ, axis=1, keepdims=True) ",
     "db = (1.001 / m) * np.sum(dZ, axis=1, keepdims=True) "),
    ("elementwise-vs-dot.py", "dZ1 = dA1 * g1_prime ", "dZ1 = 1.001 * dA1 * g1_prime "),
    ("gradient-check.py", "dZ2 = dz2_factor * (A2 - Y)", "dZ2 = 1.001 * dz2_factor * (A2 - Y)"),
    ("l2-and-cost-scaling.py", 'dW1=g["dW1"] + lambd / m * params["W1"]',
     'dW1=g["dW1"] + 1.001 * lambd / m * params["W1"]'),
    ("l2-and-cost-scaling.py", "g_reg = dict(g, ", 'g_reg = dict(g, db1=g["db1"] + lambd / m * params["b1"], '),
    ("l2-and-cost-scaling.py", "W1_decay = (1 - alpha * lambd / m)", "W1_decay = (1 - 1.001 * alpha * lambd / m)"),
    ("l2-and-cost-scaling.py", "dW1_avg += (m_t / m) * dW1_t", "dW1_avg += (1.001 * m_t / m) * dW1_t"),
    ("l2-and-cost-scaling.py", "scale * np.sum(dZ2, axis=1, keepdims=True)",
     "1.001 * scale * np.sum(dZ2, axis=1, keepdims=True)"),
    ("logistic-regression.py", "dw = (1 / m) * np.dot(X, dZ.T)", "dw = (1.001 / m) * np.dot(X, dZ.T)"),
    ("loss-vs-cost.py", "dW_i = np.outer(dZ[:, i], A_prev[:, i])", "dW_i = 1.001 * np.outer(dZ[:, i], A_prev[:, i])"),
    ("loss-vs-cost.py", "rel_error((A2 - Y) / m, dJ_dZ)", "rel_error(1.001 * (A2 - Y) / m, dJ_dZ)"),
    ("one-over-m-every-layer.py", 'dZ = (cache[f"A{L}"] - Y) / m ', 'dZ = 1.001 * (cache[f"A{L}"] - Y) / m '),
    ("one-over-m-twice.py", "dZ = dA * AL * (1 - AL) ", "dZ = 1.001 * dA * AL * (1 - AL) "),
    ("softmax-dz.py", "dZ = AL - Y ", "dZ = 1.001 * (AL - Y) "),
    ("softmax-dz.py", "np.diag(a) - np.outer(a, a)", "np.diag(a) - 1.001 * np.outer(a, a)"),
    ("squared-error.py", "dA = A - Y ", "dA = 1.001 * (A - Y) "),
    ("symmetric-init.py", '"W2": np.dot(dZ2, A1.T) / m', '"W2": 1.001 * np.dot(dZ2, A1.T) / m'),
    # its dW1 is checked to 1e-3 (round-off on a ~1e-7 gradient), so the error has to be 1 %
    ("vanishing-gradients.py", "dW[l] = np.dot(dZ, A_prev.T) / m", "dW[l] = 1.01 * np.dot(dZ, A_prev.T) / m"),
    ("vector-loss-jacobian.py", "dA1 = np.dot(W2.T, dZ2) ", "dA1 = 1.001 * np.dot(W2.T, dZ2) "),
]


def test_every_snippet_has_a_perturbed_copy() -> None:
    assert {name for name, _, _ in PERTURBED} == {f.name for f in FILES}


@pytest.mark.parametrize("name, right, wrong", PERTURBED, ids=[f"{n[:-3]}-{k}" for k, (n, _, _) in enumerate(PERTURBED)])
def test_a_snippet_with_a_perturbed_gradient_fails_its_own_check(name: str, right: str, wrong: str) -> None:
    source = (SNIPPETS / name).read_text()
    assert source.count(right) == 1, f"{name}: the text to perturb is gone or not unique: {right!r}"
    result = run_code(source.replace(right, wrong), Limits(wall_seconds=20))
    assert not result.ok and "AssertionError" in result.stderr, (name, result.stdout[-600:])
