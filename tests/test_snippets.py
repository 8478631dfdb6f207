"""Every KB snippet runs in the sandbox, proves its claims, and agrees with the independent oracle (bot.gradcheck)."""
from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from bot import gradcheck as gc
from bot.config import ROOT
from bot.forum import GRADED_FUNCTIONS
from bot.kb import load_kb
from bot.sandbox import Limits, RunResult, run_code

SNIPPETS = ROOT / "kb" / "snippets"
FILES = sorted(SNIPPETS.glob("*.py"))
CLAIM = re.compile(r"^claim: (\w+) = (\S+)$", re.MULTILINE)


@cache
def run(name: str) -> RunResult:
    return run_code((SNIPPETS / name).read_text(), Limits(wall_seconds=20))


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
    """Correct dW[l] / mistaken dW[l] per layer, from bot.gradcheck on a net of the same depth and batch size."""
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


def test_computation_graph_numbers() -> None:
    got = claims("computation-graph.py")
    assert (got["dj_da"], got["dj_db"], got["dj_dc"]) == pytest.approx((3.0, 6.0, 9.0), abs=1e-6)
