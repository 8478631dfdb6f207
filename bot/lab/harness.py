"""The script "Check my backprop" runs in the sandbox: it runs the student's code and prints their gradients as JSON.

bot/lab/check.py reads this file as text, appends `main(<spec>)` and runs the whole with run_code (it imports only the
constants), so the student's code only ever runs in the sandbox. The spec (JSON) holds the student's code and the
seeded data (X, Y, params, cache) of every network to try. The student's code is compiled on its own, under the
file name your_code.py, so every line number in an error is a line of their code, not of this harness.
The last stdout line starting with MARK is the result; anything else on stdout is the student's.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import types
from typing import Any

import numpy as np

MARK = "@@lab-result@@ "
FILENAME = "your_code.py"
FULL = ("backward", "backward_propagation", "L_model_backward")  # functions that return every dW, db
PRINTS = 2000  # characters of the student's prints kept per call
BIG = 10_000  # larger returned arrays are reported by shape only


class Prints(io.StringIO):
    """The student's stdout: keeps the first PRINTS characters, drops the rest (a print loop must not eat memory)."""

    def write(self, text: str) -> int:
        room = PRINTS - self.tell()
        if room > 0:
            super().write(str(text)[:room])
        return len(text)


def main(spec_text: str) -> None:
    write, dumps, exit_ = os.write, json.dumps, os._exit  # taken before the student's code can patch them
    try:
        result = check(json.loads(spec_text))
    except BaseException as exc:  # noqa: BLE001 - a bug here must still produce an answer
        result = {"error": {"where": "harness", "type": type(exc).__name__, "message": str(exc)[:500]}}
    data = (MARK + dumps(result) + "\n").encode()
    while data:
        data = data[write(1, data):]
    exit_(0)  # skip the student's atexit handlers and threads


def check(spec: dict[str, Any]) -> dict[str, Any]:
    source: str = spec["code"]
    try:
        code = compile(source, FILENAME, "exec")
    except (SyntaxError, ValueError) as exc:  # ValueError: a NUL byte
        line = getattr(exc, "lineno", None)
        return {"error": {"where": "compile", "type": type(exc).__name__, "line": line,
                          "message": getattr(exc, "msg", str(exc))}}
    namespace: dict[str, Any] = {"__name__": "your_code"}
    printed = Prints()
    try:
        with contextlib.redirect_stdout(printed):
            exec(code, namespace)  # noqa: S102 - this runs only in the sandbox
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too
        return {"error": describe(exc, source, "top-level"), "stdout": printed.getvalue()}
    functions = [name for name in (*FULL, "linear_backward") if isinstance(namespace.get(name), types.FunctionType)]
    if not functions:
        defined = [k for k, v in namespace.items() if isinstance(v, types.FunctionType)]
        return {"error": {"where": "missing", "type": "missing", "defined": defined}}
    layers, hidden = namespace.get("LAYERS"), namespace.get("HIDDEN")
    if (layers is not None and layers not in (2, 3)) or (hidden is not None and hidden not in ("relu", "tanh")):
        return {"error": {"where": "settings", "type": "settings", "message": f"LAYERS={layers!r}, HIDDEN={hidden!r}"}}
    runs = []
    full = next((name for name in FULL if name in functions), None)
    if full == "L_model_backward":  # the assignment's network
        runs.append(call(namespace[full], full, "3-relu", spec["variants"]["3-relu"], source))
    elif full is not None:
        for key in spec["order"]:  # every network that LAYERS and HIDDEN allow
            data = spec["variants"][key]
            if layers in (None, data["layers"]) and hidden in (None, data["hidden"]):
                runs.append(call(namespace[full], full, key, data, source))
    if "linear_backward" in functions:
        data = spec["variants"]["3-relu"]
        for layer in range(1, data["layers"] + 1):
            runs.append(call(namespace["linear_backward"], "linear_backward", "3-relu", data, source, layer))
    return {"runs": runs, "stdout": printed.getvalue()}


def arrays(data: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.array(v, dtype=np.float64) for k, v in data.items()}


def call(fn: Any, name: str, key: str, data: dict[str, Any], source: str, layer: int = 0) -> dict[str, Any]:
    """Call one of the student's functions on fresh copies of the data (it may change them in place)."""
    X, Y, params, cache = np.array(data["X"]), np.array(data["Y"]), arrays(data["params"]), arrays(data["cache"])
    if name == "backward":
        args: tuple[Any, ...] = (X, Y, params, cache)
    elif name == "backward_propagation":  # week 3's order
        args = (params, cache, X, Y)
    elif name == "L_model_backward":
        L = data["layers"]
        caches = [((cache[f"A{l - 1}"], params[f"W{l}"], params[f"b{l}"]), cache[f"Z{l}"]) for l in range(1, L + 1)]
        args = (cache[f"A{L}"], Y, caches)
    else:
        args = (np.array(data["dZ"][str(layer)]), (cache[f"A{layer - 1}"], params[f"W{layer}"], params[f"b{layer}"]))
    run: dict[str, Any] = {"function": name, "variant": key, "layer": layer}
    printed = Prints()
    try:
        with contextlib.redirect_stdout(printed):
            value = fn(*args)
            run["returned"] = returned(value, name)
    except BaseException as exc:  # noqa: BLE001 - whatever the student raises
        run["error"] = describe(exc, source, name)
    run["stdout"] = printed.getvalue()
    return run


def returned(value: Any, name: str) -> dict[str, Any]:
    """The return value as JSON: {"type": ..., "items": {key: array}} (items only for a dict or a 3-tuple)."""
    out: dict[str, Any] = {"type": type(value).__name__}
    if name == "linear_backward" and isinstance(value, (tuple, list)):
        out["length"] = len(value)
        if len(value) == 3:
            out["items"] = {k: array(v) for k, v in zip(("dA_prev", "dW", "db"), value, strict=True)}
    elif name != "linear_backward" and isinstance(value, dict):
        out["items"] = {str(k): array(v) for k, v in value.items()}
    elif isinstance(value, (tuple, list)):
        out["length"] = len(value)
    return out


def array(value: Any) -> dict[str, Any]:
    try:
        a = np.asarray(value, dtype=np.float64)
    except Exception:  # noqa: BLE001 - a str, a dict, an object array, ...
        return {"kind": type(value).__name__}
    if a.size > BIG:
        return {"shape": list(a.shape), "too_big": True}
    return {"shape": list(a.shape), "values": a.ravel().tolist()}


def describe(exc: BaseException, source: str, where: str) -> dict[str, Any]:
    """The exception, the last line of the student's code it passed through, and the shapes of the arrays on it."""
    out: dict[str, Any] = {"where": where, "type": type(exc).__name__, "message": str(exc)[:500]}
    frame, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            frame, out["line"], out["function"] = tb.tb_frame, tb.tb_lineno, tb.tb_frame.f_code.co_name
        tb = tb.tb_next
    if frame is not None:
        lines = source.splitlines()
        text = lines[out["line"] - 1] if 0 < out["line"] <= len(lines) else ""
        names = set(re.findall(r"[A-Za-z_]\w*", text))
        out["shapes"] = {k: list(v.shape) for k, v in frame.f_locals.items() if k in names and isinstance(v, np.ndarray)}
    return out
