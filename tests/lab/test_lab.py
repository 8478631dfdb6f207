"""Check my backprop: deliberately broken backward passes, each with the verdict the lab must give.

Every student code below runs in the sandbox (about 0.25 s each). The assignment-style functions are stand-ins
computed by finite differences, so this file holds no solution of the course's graded functions.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from bot import cli
from bot.config import ROOT
from bot.datatypes import Limits
from bot.lab.check import NETWORKS, M, Report, check_code, check_form, setup
from bot.lab.diagnose import grade
from bot.lab.templates import TEMPLATES, Choices
from bot.proofs.gradcheck import relative_error

FAST = Limits(wall_seconds=4, cpu_seconds=1)


def edit(code: str, *pairs: str) -> str:
    """`code` with each (old, new) pair replaced; fails loudly when `old` is not there (a typo in a case)."""
    for old, new in zip(pairs[::2], pairs[1::2], strict=True):
        assert old in code, old
        code = code.replace(old, new)
    return code


WEEK3 = '''import numpy as np


def backward(X, Y, params, cache):
    m = X.shape[1]
    W2 = params["W2"]
    A1, A2 = cache["A1"], cache["A2"]
    dZ2 = A2 - Y
    dW2 = 1 / m * dZ2 @ A1.T
    db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = W2.T @ dZ2 * (1 - A1 ** 2)
    dW1 = 1 / m * dZ1 @ X.T
    db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
'''
WEEK4 = '''import numpy as np

LAYERS = 3
HIDDEN = "relu"


def backward(X, Y, params, cache):
    m = X.shape[1]
    L = len(params) // 2
    grads = {}
    dZ = cache[f"A{L}"] - Y
    for l in reversed(range(1, L + 1)):
        grads[f"dW{l}"] = 1 / m * np.dot(dZ, cache[f"A{l - 1}"].T)
        grads[f"db{l}"] = 1 / m * np.sum(dZ, axis=1, keepdims=True)
        if l > 1:
            dA = np.dot(params[f"W{l}"].T, dZ)
            dZ = dA * (cache[f"Z{l - 1}"] > 0)
    return grads
'''
# Stand-ins for a student's assignment functions: finite differences, right by construction, scaled by FACTOR.
FD_L_MODEL = '''import numpy as np

FACTOR = 1.0


def cost(X, Y, params, L):
    A = X
    for l in range(1, L + 1):
        Z = params[l][0] @ A + params[l][1]
        A = np.maximum(Z, 0) if l < L else 1 / (1 + np.exp(-Z))
    return float(-np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A)))


def L_model_backward(AL, Y, caches):
    L, X = len(caches), caches[0][0][0]
    params = {l: [caches[l - 1][0][1].copy(), caches[l - 1][0][2].copy()] for l in range(1, L + 1)}
    grads = {}
    for l in range(1, L + 1):
        for name, p in zip(("dW", "db"), params[l]):
            g = np.zeros_like(p)
            for i in np.ndindex(p.shape):
                p[i] += 1e-6
                plus = cost(X, Y, params, L)
                p[i] -= 2e-6
                minus = cost(X, Y, params, L)
                p[i] += 1e-6
                g[i] = (plus - minus) / 2e-6
            grads[f"{name}{l}"] = FACTOR * g
    return grads
'''
FD_LINEAR = '''import numpy as np

SCALE_DA, SCALE_DW, SCALE_DB, TRANSPOSE_DW = 1.0, 1.0, 1.0, False


def slope(f, p):
    g = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        base = f()
        p[i] += 1.0
        g[i] = f() - base
        p[i] -= 1.0
    return g


def linear_backward(dZ, cache):
    A_prev, W, b = (a.copy() for a in cache)
    m = A_prev.shape[1]
    f = lambda: float(np.sum(dZ * (W @ A_prev + b)))  # linear in each argument: the unit step is exact
    dW = slope(f, W) / m * SCALE_DW
    return slope(f, A_prev) * SCALE_DA, dW.T if TRANSPOSE_DW else dW, slope(f, b) / m * SCALE_DB
'''
ALL3 = ("dW1", "db1", "dW2", "db2", "dW3", "db3")
ALL2 = ("dW1", "db1", "dW2", "db2")
LINEAR = ("dA0", "dW1", "db1", "dA1", "dW2", "db2", "dA2", "dW3", "db3")

# case -> (student code, the function checked, {gradient: kind} for every wrong one; all others must be OK)
CASES: dict[str, tuple[str, str, dict[str, str]]] = {
    "week 3, 1/m in dW and db (course)": (WEEK3, "backward", {}),
    "week 3, 1/m in dZ2 only (alternative)": (edit(WEEK3, "dZ2 = A2 - Y", "dZ2 = (A2 - Y) / m", "1 / m * ", ""),
                                              "backward", {}),
    "week 3, 1/m in dZ2 and in dW, db": (edit(WEEK3, "dZ2 = A2 - Y", "dZ2 = (A2 - Y) / m"), "backward",
                                         dict.fromkeys(ALL2, "one-over-m-twice")),
    "week 3, 1/m missing in dW2": (edit(WEEK3, "dW2 = 1 / m * ", "dW2 = "), "backward",
                                   {"dW2": "one-over-m-missing"}),
    "week 3, 1/m nowhere": (edit(WEEK3, "1 / m * ", ""), "backward", dict.fromkeys(ALL2, "one-over-m-missing")),
    "week 3, 1/m again in dZ1": (edit(WEEK3, "(1 - A1 ** 2)", "(1 - A1 ** 2) / m"), "backward",
                                 {"dW1": "one-over-m-every-layer", "db1": "one-over-m-every-layer"}),
    "week 3, db1 summed over everything": (edit(WEEK3, "np.sum(dZ1, axis=1, keepdims=True)",
                                                "np.sum(dZ1, keepdims=True)"), "backward", {"db1": "db-sum-all"}),
    "week 3, db1 without keepdims": (edit(WEEK3, "np.sum(dZ1, axis=1, keepdims=True)", "np.sum(dZ1, axis=1)"),
                                     "backward", {"db1": "db-keepdims"}),
    "week 3, db1 summed over axis=0": (edit(WEEK3, "np.sum(dZ1, axis=1, keepdims=True)",
                                            "np.sum(dZ1, axis=0, keepdims=True)"), "backward", {"db1": "db-axis"}),
    "week 3, dW1 = X dZ1^T (transposed)": (edit(WEEK3, "dZ1 @ X.T", "X @ dZ1.T"), "backward",
                                           {"dW1": "transposed"}),
    "week 3, dZ1 without g'(Z1)": (edit(WEEK3, " * (1 - A1 ** 2)", ""), "backward",
                                   {"dW1": "no-gprime", "db1": "no-gprime"}),
    "week 3, factor 2 in dW2": (edit(WEEK3, "dW2 = 1 / m", "dW2 = 2 / m"), "backward", {"dW2": "factor"}),
    "week 3, 1 - A1 for tanh'": (edit(WEEK3, "(1 - A1 ** 2)", "(1 - A1) ** 2"), "backward",
                                 {"dW1": "unexplained", "db1": "unexplained"}),
    "week 3, dZ2 = Y - A2": (edit(WEEK3, "A2 - Y", "Y - A2"), "backward", dict.fromkeys(ALL2, "sign")),
    "week 3, key dw1": (edit(WEEK3, '"dW1": dW1', '"dw1": dW1'), "backward", {"dW1": "key"}),
    "week 3, dW1 not returned": (edit(WEEK3, '"dW1": dW1, ', ""), "backward", {"dW1": "missing"}),
    "week 3, NaN in dW1": (edit(WEEK3, "dW1 = 1 / m", "dW1 = np.log(1 - 1) / m"), "backward", {"dW1": "nan"}),
    "week 3 backward_propagation(parameters, cache, X, Y)": (
        edit(WEEK3, "def backward(X, Y, params, cache)", "def backward_propagation(params, cache, X, Y)"),
        "backward_propagation", {}),
    "week 4, 1/m in dW and db (course)": (WEEK4, "backward", {}),
    "week 4, no LAYERS or HIDDEN (detected)": (edit(WEEK4, 'LAYERS = 3\nHIDDEN = "relu"\n', ""), "backward", {}),
    "week 4, 1/m in dZ[L] only (alternative)": (edit(WEEK4, "dZ = cache[f\"A{L}\"] - Y",
                                                     "dZ = (cache[f\"A{L}\"] - Y) / m", "1 / m * ", ""),
                                                "backward", {}),
    "week 4, 1/m in dZ[L] and in dW, db": (edit(WEEK4, "dZ = cache[f\"A{L}\"] - Y", "dZ = (cache[f\"A{L}\"] - Y) / m"),
                                           "backward", dict.fromkeys(ALL3, "one-over-m-twice")),
    "week 4, 1/m in every dZ[l]": (edit(WEEK4, "(cache[f\"Z{l - 1}\"] > 0)", "(cache[f\"Z{l - 1}\"] > 0) / m"),
                                   "backward", dict.fromkeys(ALL3[:4], "one-over-m-every-layer")),
    "assignment, L_model_backward right": (FD_L_MODEL, "L_model_backward", {}),
    "assignment, L_model_backward 1/m twice": (edit(FD_L_MODEL, "FACTOR = 1.0", "FACTOR = 1 / 7"), "L_model_backward",
                                               dict.fromkeys(ALL3, "one-over-m-twice")),
    "assignment, linear_backward right": (FD_LINEAR, "linear_backward", {}),
    "assignment, linear_backward without 1/m": (edit(FD_LINEAR, "1.0, 1.0, 1.0,", "1.0, 7.0, 7.0,"),
                                                "linear_backward", {k: "one-over-m-missing" for k in LINEAR
                                                                    if k[:2] != "dA"}),
    "assignment, linear_backward dW transposed": (edit(FD_LINEAR, "TRANSPOSE_DW = 1.0, 1.0, 1.0, False",
                                                       "TRANSPOSE_DW = 1.0, 1.0, 1.0, True"), "linear_backward",
                                                  {"dW1": "transposed", "dW2": "transposed", "dW3": "transposed"}),
    "assignment, linear_backward 1/m in dA_prev": (edit(FD_LINEAR, "SCALE_DB, TRANSPOSE_DW = 1.0,",
                                                        "SCALE_DB, TRANSPOSE_DW = 1 / 7,"), "linear_backward",
                                                   {"dA0": "one-over-m-power", "dA1": "one-over-m-power",
                                                    "dA2": "one-over-m-power"}),
}
ENTRIES = {"one-over-m-twice": "one-over-m-twice", "one-over-m-missing": "one-over-m-placement",
           "one-over-m-every-layer": "one-over-m-every-layer", "one-over-m-power": "one-over-m-placement",
           "db-sum-all": "db-derivation", "db-keepdims": "db-derivation", "db-axis": "db-derivation",
           "transposed": "gradient-shapes", "no-gprime": "dz-hidden-derivation", "factor": "gradient-check-failures",
           "unexplained": "gradient-check-failures", "sign": "dz-output-derivation", "key": None, "missing": None,
           "nan": None}


def wrong(report: Report) -> dict[str, str]:
    return {v.name: v.kind for v in report.verdicts if not v.ok}


@pytest.mark.parametrize("case", list(CASES))
def test_each_broken_backward_pass_gets_its_verdict(case: str) -> None:
    code, function, expected = CASES[case]
    report = check_code(code, FAST)
    assert report.failure is None, report.failure
    assert {v.function for v in report.verdicts} == {function}
    assert wrong(report) == expected
    assert report.ok == (not expected)
    for v in report.verdicts:
        # linear_backward without 1/m: the entry on why moving 1/m out of it fails that function's own test
        linear = v.function == "linear_backward" and v.kind == "one-over-m-missing"
        assert v.entry == (None if v.ok else "one-over-m-twice" if linear else ENTRIES[v.kind]), v
        if v.rel_error is not None and v.ok:
            assert v.rel_error < 1e-6


def test_the_issues_wording_is_what_students_read() -> None:
    twice = check_code(CASES["week 3, 1/m in dZ2 and in dW, db"][0], FAST).verdicts[0]
    assert twice.message == "dW1 is m times too small (ratio 1/7): 1/m applied twice (in dZ and in dW)"
    missing = check_code(CASES["week 3, 1/m missing in dW2"][0], FAST).verdicts[2]
    assert missing.message == "dW2 is m times too large (ratio 7): 1/m missing"
    assert missing.rel_error == pytest.approx(6 / 8, abs=1e-6)  # |c - 1| / (c + 1) with c = m = 7
    every = check_code(CASES["week 4, 1/m in every dZ[l]"][0], FAST).verdicts
    assert every[0].message.startswith("dW1 is m^2 times too small (ratio 1/49): 1/m applied in every dZ[l]")
    assert every[2].message.startswith("dW2 is m times too small (ratio 1/7)") and every[4].ok
    keepdims = check_code(CASES["week 3, db1 summed over everything"][0], FAST).verdicts[1]
    assert keepdims.message == "db1 has shape (1, 1), expected (4, 1): sum over axis=1 with keepdims=True"
    transposed = check_code(CASES["week 3, dW1 = X dZ1^T (transposed)"][0], FAST).verdicts[0]
    assert transposed.message.startswith("dW1 has shape (5, 4), the shape of W1 transposed (expected (4, 5))")
    assert transposed.message.endswith("transposed back, its values are right")
    odd = check_code(CASES["week 3, 1 - A1 for tanh'"][0], FAST).verdicts[0]
    assert odd.message.startswith("dW1 is wrong by an unexplained factor: relative error 0.")


def test_the_network_that_fits_the_code_is_picked() -> None:
    week3 = check_code(WEEK3, FAST)
    assert week3.network.startswith("a 5-4-1 network (tanh, sigmoid output)") and "picked" in week3.network
    pinned = check_code(WEEK4, FAST)
    assert pinned.network == "a 5-4-3-1 network (ReLU, ReLU, sigmoid output), binary cross-entropy, m = 7 examples"


def test_both_assignment_functions_are_checked_together() -> None:
    code = FD_L_MODEL + FD_LINEAR.replace("import numpy as np\n", "")
    report = check_code(code, FAST)
    assert report.ok and report.function == "L_model_backward + linear_backward" and len(report.verdicts) == 6 + 9


@pytest.mark.parametrize("code, kind, message, line", [
    (edit(WEEK3, "dZ1 = W2.T @ dZ2 * (1 - A1 ** 2)", "dZ1 = np.dot(W2.T @ dZ2, 1 - A1 ** 2)"), "elementwise-vs-dot",
     "dZ1 uses a matrix product where an element-wise product with g'(Z1) is needed", 11),
    (edit(WEEK4, "dA * (cache", "dA @ (cache"), "elementwise-vs-dot",
     "dZ2 uses a matrix product where an element-wise product with g'(Z2) is needed", 17),
    (edit(WEEK3, "dZ2 @ A1.T", "dZ2 @ A1"), "shape-error", "ValueError at line 9 of your code (in backward): matmul", 9),
    (edit(WEEK3, "    m = X.shape[1]\n", "    m = X.shape[1\n"), "syntax", "SyntaxError at line 5 of your code", 5),
    (edit(WEEK3, "    dZ2 = A2 - Y\n", "      dZ2 = A2 - Y\n"), "syntax", "IndentationError at line 8 of your code", 8),
    ("def backward(X, Y, params, cache):\n    while True:\n        pass\n", "limit", "your code did not finish", None),
    ("import numpy as np\n\n\ndef Backward(X, Y, params, cache):\n    return {}\n", "missing",
     "your code defines no function the lab can check", None),
    ("def backward(X, Y, params, cache):\n    grads = {}\n", "returned",
     "backward returned None: end it with `return grads`, a dict with dW1, db1, dW2, db2, dW3, db3", None),
    ("def backward(X, Y, params, cache):\n    return [1, 2]\n", "returned", "backward returned a list of 2 items", None),
    (edit(WEEK3, "import numpy as np\n", ""), "name-error", ("NameError at line 9 of your code (in backward): name "
     "'np' is not defined; add `import numpy as np` at the top"), 9),
    (edit(WEEK3, 'params["W2"]', 'params["w2"]'), "key-error", ("KeyError at line 6 of your code (in backward): 'w2'; "
     "params has W1, b1, W2, b2; cache has A0, Z1, A1, Z2, A2"), 6),
    ("import sys\nsys.exit(0)\n", "exit", "your code called exit() at line 2", 2),
    ("import os\ndef backward(X, Y, params, cache):\n    os._exit(0)\n", "crash", "your code ended the lab's process", None),
    ("def backward(X, Y, params, cache):\n    while True:\n        print('x' * 1000, flush=True)\n", "limit",
     "your code did not finish", None),
    ("print('x')\x00", "input", "the code must be plain text", None),
    (TEMPLATES["backward"], "stub", "backward is not written yet", 30),
    (TEMPLATES["assignment"], "stub", "L_model_backward is not written yet", 26),
    (("import os\nos.write(1, b'@@lab-result@@ {\"runs\": [{\"variant\": \"3-relu\", \"function\": \"backward\", "
     "\"layer\": \"x\", \"returned\": {\"items\": 1}}]}\\n')\nos._exit(0)\n"), "returned", "backward returned a", None),
], ids=["np.dot for g'", "@ for g' in a loop", "missing .T", "syntax error", "indentation", "endless loop",
        "misnamed function", "returns None", "returns a list", "no numpy import", "wrong params key", "sys.exit",
        "os._exit", "print loop", "NUL byte", "backward template as is", "assignment template as is",
        "forged result line"])
def test_broken_or_hostile_code_gets_a_message_not_a_crash(code: str, kind: str, message: str,
                                                           line: int | None) -> None:
    report = check_code(code, FAST)
    assert report.failure is not None and not report.ok
    assert (report.failure.kind, report.failure.line) == (kind, line)
    assert report.failure.message.startswith(message), report.failure.message


def test_syntax_error_line_is_the_students_line_and_is_shown() -> None:
    code = "import numpy as np\n\n\ndef backward(X, Y, params, cache)\n    return {}\n"
    failure = check_code(code, FAST).failure
    assert failure is not None and failure.line == 4 and failure.source == "def backward(X, Y, params, cache)"
    assert failure.message == "SyntaxError at line 4 of your code: expected ':'"


@pytest.mark.parametrize("choices, expected", [
    (Choices(), {}),
    (Choices(one_over_m="dZ[L]"), {}),
    (Choices(one_over_m="both"), dict.fromkeys(ALL3, "one-over-m-twice")),
    (Choices(one_over_m="nowhere", layers=2, hidden="tanh"), dict.fromkeys(ALL2, "one-over-m-missing")),
    (Choices(one_over_m="every dZ[l]"), dict.fromkeys(ALL3[:4], "one-over-m-every-layer")),
    (Choices(db_sum="axis=1"), {"db1": "db-keepdims", "db2": "db-keepdims"}),
    (Choices(dw="A_prev @ dZ.T", layers=2), {"dW1": "transposed", "dW2": "transposed"}),
])
def test_form_choices_are_diagnosed_like_code(choices: Choices, expected: dict[str, str]) -> None:
    report = check_form(choices, FAST)
    assert report.failure is None and wrong(report) == expected


def test_form_matrix_product_names_the_mistake_without_showing_the_generated_code() -> None:
    failure = check_form(Choices(dz_product="matrix product"), FAST).failure
    assert failure is not None and failure.kind == "elementwise-vs-dot" and failure.source is None
    with pytest.raises(ValueError, match="Choices.one_over_m must be one of"):
        Choices(one_over_m="sometimes")


@pytest.mark.parametrize("key", list(NETWORKS))
def test_each_network_has_a_sound_reference(key: str) -> None:
    s = setup(key)
    for name, numeric in s.numeric.items():
        assert relative_error(s.reference[name], numeric) < 1e-7
        assert np.linalg.norm(s.reference[name]) > 1e-3  # no zero gradient: every factor is measurable
    for l in range(1, s.net.L):
        assert np.all(np.abs(s.cache[f"Z{l}"]) > 1e-3)  # no ReLU kink within the finite-difference step


@pytest.mark.parametrize("factor, kind, power", [
    (1.0, "ok", 0), (1 / M, "one-over-m-twice", -1), (M, "one-over-m-missing", 1), (M**-2, "one-over-m-power", -2),
    (2.0, "factor", None), (0.5, "factor", None), (-1.0, "sign", 0),
])
def test_grade_reads_the_factor(factor: float, kind: str, power: int | None) -> None:
    ref = setup("3-relu").reference["dW2"]
    got = {"shape": list(ref.shape), "values": (factor * ref).ravel().tolist()}
    verdict = grade("dW2", got, ref, setup("3-relu").numeric["dW2"], M)
    assert (verdict.kind, verdict.power) == (kind, power)


def test_cli_exit_codes_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text(WEEK3)
    bad.write_text(CASES["week 3, 1/m missing in dW2"][0])
    assert cli.main(["check-grads", str(good)]) == 0
    assert "4 of 4 gradients OK." in capsys.readouterr().out
    assert cli.main(["check-grads", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "dW2  WRONG  dW2 is m times too large (ratio 7): 1/m missing" in out and "?entry=one-over-m-placement" in out
    assert cli.main(["check-grads", "--json", str(bad)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and [v["kind"] for v in data["verdicts"]][2] == "one-over-m-missing"
    assert cli.main(["check-grads", str(tmp_path / "missing.py")]) == 2
    assert cli.main(["check-grads"]) == 2
    assert cli.main(["check-grads", "--template", "backward"]) == 0
    assert "def backward(X, Y, params, cache):" in capsys.readouterr().out


@pytest.fixture
def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "2_Check_my_backprop.py"), default_timeout=30)
    at.run()
    assert not at.exception and at.text_area(key="lab-code").value == TEMPLATES["backward"]
    return at


def table(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("| | gradient |"))


def test_page_says_a_correct_backward_pass_is_ok(page: AppTest) -> None:
    page.text_area(key="lab-code").set_value(WEEK4).run()
    page.button(key="lab-check").click().run()
    assert not page.exception and page.success[0].value == "All 6 gradients match finite differences of J."
    assert table(page).count(":green[:material/check_circle:]") == 6 and ":red[" not in table(page)


def test_page_names_the_mistake_and_links_its_entry(page: AppTest) -> None:
    page.text_area(key="lab-code").set_value(CASES["week 3, 1/m in dZ2 and in dW, db"][0]).run()
    page.button(key="lab-check").click().run()
    assert not page.exception and page.warning[0].value == "4 of 4 gradients are wrong."
    assert ("| :red[:material/cancel:] | dW1 | dW1 is m times too small (ratio 1/7): 1/m applied twice (in dZ and in "
            "dW) |") in table(page)
    assert "(/?entry=one-over-m-twice)" in table(page)


def test_page_shows_a_syntax_error_with_its_line_and_no_traceback(page: AppTest) -> None:
    page.text_area(key="lab-code").set_value("import numpy as np\n\ndef backward(X, Y, params, cache)\n").run()
    page.button(key="lab-check").click().run()
    assert not page.exception and page.error[0].value == "SyntaxError at line 3 of your code: expected ':'"
    assert any(c.value == "line 3: def backward(X, Y, params, cache)" for c in page.code)


def test_page_says_checked_only_when_the_code_ran(page: AppTest) -> None:
    page.text_area(key="lab-code").set_value(WEEK4.replace("import numpy as np\n", "", 1)).run()
    page.button(key="lab-check").click().run()
    assert not page.exception and page.error[0].value.startswith("NameError")
    assert not any(c.value.startswith("Checked") for c in page.caption)
    page.text_area(key="lab-code").set_value(WEEK4).run()
    page.button(key="lab-check").click().run()
    assert any(c.value.startswith("Checked") for c in page.caption)


def test_page_form_path_diagnoses_the_choices(page: AppTest) -> None:
    page.selectbox(key="form-one-over-m").set_value("every dZ[l]").run()
    page.button(key="form-check").click().run()
    assert not page.exception and "1/m applied in every dZ\\[l\\]" in table(page)
    page.selectbox(key="form-dz").set_value("matrix product").run()
    page.button(key="form-check").click().run()
    assert page.error[0].value.startswith("dZ2 uses a matrix product where an element-wise product")
    assert "(/?entry=elementwise-vs-dot)" in page.markdown[-1].value
