"""Why a student's backward pass could not be checked, in one sentence that says what to fix.

Input is what bot/lab/harness.py reports from the sandbox (an exception with the line of the student's code it passed
through and the shapes of the arrays named on that line), or the sandbox's own result when the harness never
answered (a time, memory or output limit, or a process that killed itself).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.datatypes import RunResult
from bot.lab.networks import Setup

NAMES = "backward(X, Y, params, cache), L_model_backward(AL, Y, caches) or linear_backward(dZ, cache)"
DNN_UTILS = {"relu_backward", "sigmoid_backward", "tanh_backward", "linear_activation_backward", "sigmoid", "relu"}
# g'(Z) written out on a line: 1 - A**2, np.power(A, 2), A * (1 - A), Z > 0, a helper named *deriv* or *prime*
DERIVATIVE = re.compile(r"\*\*\s*2|np\.power|1\s*-\s*\w|>\s*0|deriv|prime|_backward\(|heaviside", re.IGNORECASE)


@dataclass(frozen=True)
class Failure:
    """The code could not be checked (or not completely): what happened and what to fix."""

    message: str
    kind: str  # "syntax", "missing", "stub", "elementwise-vs-dot", "shape-error", "error", "limit", "crash", ...
    entry: str | None = None  # KB entry id that explains it
    line: int | None = None  # in the student's code
    source: str | None = None  # that line

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "kind": self.kind, "entry": self.entry, "line": self.line,
                "source": self.source}


def explain(error: dict[str, Any], code: str, setup: Setup) -> Failure:
    """The harness's error report as a Failure."""
    where, kind = str(error.get("where", "")), str(error.get("type", "Error"))
    message, line = str(error.get("message", "")), error.get("line")
    lines = code.splitlines()
    source = lines[line - 1].strip() if isinstance(line, int) and 0 < line <= len(lines) else None
    at_line = line if source is not None else None

    def failure(text: str, kind: str, entry: str | None = None) -> Failure:
        return Failure(text, kind, entry, at_line, source)

    if where == "compile":
        return failure(f"{kind} at line {line} of your code: {message}", "syntax")
    if where == "missing":
        return _missing([str(name) for name in error.get("defined", [])])
    if where == "settings":
        return Failure(f"LAYERS must be 2 or 3 and HIDDEN 'relu' or 'tanh'; your code has {message}", "settings")
    if where == "harness":
        return Failure(f"the lab could not run the check ({kind}: {message}); please tell a mentor", "internal")
    function = error.get("function")
    place = f" (in {function})" if function and function != "<module>" else ""
    head = f"{kind} at line {line} of your code{place}: {message}" if at_line else f"{kind}: {message}"
    if kind == "NotImplementedError" and function == where:
        return failure(f"{where} is not written yet: replace `raise NotImplementedError` with your code", "stub")
    if kind == "SystemExit":
        return failure(f"your code called exit(){' at line ' + str(line) if at_line else ''}: remove it, the lab "
                       "needs your function to return its gradients", "exit")
    shapes = {str(k): tuple(v) for k, v in error.get("shapes", {}).items()}
    on_line = "; on that line " + ", ".join(f"{k} is {v}" for k, v in shapes.items()) if shapes else ""
    if kind == "ValueError" and re.search(r"not aligned|matmul|core dimension|broadcast", message):
        layer = _elementwise_layer(message, source or "", shapes, setup)
        if layer is not None:
            n = setup.net.sizes[layer]
            return failure(f"dZ{layer} uses a matrix product where an element-wise product with g'(Z{layer}) is "
                           f"needed: the code multiplies two ({n}, {setup.X.shape[1]}) arrays with np.dot or @; "
                           f"use * (np.multiply)", "elementwise-vs-dot", "elementwise-vs-dot")
        return failure(f"{head}{on_line}", "shape-error", "shape-mismatch-errors")
    if kind == "KeyError":
        keys = ", ".join(setup.params) + "; cache has " + ", ".join(setup.cache)
        return failure(f"{head}; params has {keys}", "key-error")
    if kind == "NameError":
        name = m[1] if (m := re.search(r"name '(\w+)'", message)) else ""
        hint = ("; add `import numpy as np` at the top" if name == "np" else
                "; the lab does not provide the course's dnn_utils: paste your own helpers too" if name in DNN_UTILS
                else "")
        return failure(f"{head}{hint}", "name-error")
    if kind == "ModuleNotFoundError":
        return failure(f"{head}; the sandbox has NumPy but not the course's files (dnn_utils, testCases, ...): paste "
                       "the helpers your functions call", "import-error")
    return failure(f"{head}{on_line}", "error")


def _missing(defined: list[str]) -> Failure:
    wanted = ("backward", "backward_propagation", "L_model_backward", "linear_backward")
    near = [f"{name} (did you mean {w}? names are case-sensitive)" for name in defined for w in wanted
            if name.lower() == w.lower()]
    has = f"; it defines {', '.join(near or defined)}" if defined else ""
    return Failure(f"your code defines no function the lab can check: define {NAMES} (start from the template){has}",
                   "missing")


def _elementwise_layer(message: str, source: str, shapes: dict[str, tuple[int, ...]], setup: Setup) -> int | None:
    """The hidden layer l when the error is dA[l] @ g'(Z[l]): a matrix product of two (n[l], m) arrays."""
    m, L = setup.X.shape[1], setup.net.L
    hidden = {setup.net.sizes[l]: l for l in range(1, L)}
    if dot := re.search(r"shapes \((\d+),(\d+)\) and \((\d+),(\d+)\) not aligned", message):
        a, b, c, d = map(int, dot.groups())
        return hidden.get(a) if (a, b) == (c, d) and b == m else None
    if mat := re.search(r"size (\d+) is different from (\d+)", message):
        n, k = map(int, mat.groups())
        same = sum(shape == (n, m) for shape in shapes.values())
        if k == m and n in hidden and (same >= 2 or DERIVATIVE.search(source)):
            return hidden[n]
    return None


def returned_wrong(function: str, returned: dict[str, Any], L: int) -> Failure:
    """The function returned something other than a dict (or, for linear_backward, three arrays)."""
    kind = str(returned.get("type", "value of an unknown type"))
    what = f"a {kind}" + (f" of {returned['length']} items" if "length" in returned else "")
    if function == "linear_backward":
        fix = "end it with `return dA_prev, dW, db`" if kind == "NoneType" else "return the three arrays dA_prev, dW, db"
        return Failure(f"linear_backward returned {'None' if kind == 'NoneType' else what}: {fix}", "returned")
    keys = ", ".join(f"dW{l}, db{l}" for l in range(1, L + 1))
    if kind == "NoneType":
        return Failure(f"{function} returned None: end it with `return grads`, a dict with {keys}", "returned")
    return Failure(f"{function} returned {what}: return a dict {{'dW1': ..., 'db1': ..., ...}} with {keys}",
                   "returned")


def from_sandbox(result: RunResult) -> Failure:
    """When the harness never answered: a limit stopped the code, or it ended the process itself."""
    if result.exit_code is None:
        return Failure(result.message, "refused")
    if result.limit in ("wall-time", "cpu-time"):
        which = "the time limit" if result.limit == "wall-time" else "the CPU-time limit"
        return Failure(f"your code did not finish in {result.seconds:.0f} s ({which}): a backward pass on this "
                       "network takes milliseconds, so look for a loop that never ends", "limit")
    if result.limit is not None:
        return Failure(f"your code was stopped: {result.message.removeprefix('stopped: ')}", "limit")
    status = "" if result.exit_code == 0 else f" ({result.message})"
    return Failure(f"your code ended the lab's process before its gradients came back{status}: remove os._exit, "
                   "os.kill and the like", "crash")
