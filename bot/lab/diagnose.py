"""The verdict rules of "Check my backprop": what a student's gradient says about the mistake that made it.

Each returned gradient g is compared with the reference r (bot.proofs.gradcheck's backward, exact) and with finite
differences of J (the number students know from gradient checking). Values: fit the best scalar c = <g, r> / <r, r>;
if g = c r up to rounding, c = m^k names where the 1/m went (m = 7 keeps 7, 49, 1/7 apart from 2 or 1/2); else
candidate mistakes are recomputed (dZ[l] without g'(Z[l])); else "unexplained". Shapes are judged first: W
transposed, db summed over everything or without keepdims. Each verdict links the KB entry that explains it.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bot.proofs.gradcheck import relative_error

EXACT = 1e-6  # g = c r when ||g - c r|| / (||g|| + ||c r||) is below this; float64 rounding is ~1e-15
EXPLAINED = {"ok", "one-over-m-twice", "one-over-m-missing", "one-over-m-power", "one-over-m-every-layer", "sign",
             "no-gprime", "transposed", "db-sum-all", "db-keepdims", "db-axis", "db-no-sum"}


@dataclass(frozen=True)
class Verdict:
    """One gradient's verdict: OK, or what is wrong in words, with the KB entry that explains it."""

    name: str  # "dW1", "db2", "dA1" (dA_prev of linear_backward at layer 2)
    ok: bool
    kind: str  # a stable code: "ok", "one-over-m-twice", "db-keepdims", "unexplained", ... (see EXPLAINED)
    message: str
    entry: str | None = None  # KB entry id
    rel_error: float | None = None  # against finite differences of J; None when the shapes differ
    power: int | None = None  # g = m^power * r exactly
    function: str = "backward"

    @property
    def explained(self) -> bool:
        return self.kind in EXPLAINED

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "function": self.function, "ok": self.ok, "kind": self.kind,
                "message": self.message, "entry": self.entry, "rel_error": self.rel_error, "power": self.power}


@dataclass(frozen=True)
class Value:
    kind: str
    phrase: str  # completes "<name> is ..."
    entry: str | None
    power: int | None = None


def grade(name: str, got: Mapping[str, Any] | None, ref: np.ndarray, numeric: np.ndarray, m: int,
          function: str = "backward", candidates: Mapping[tuple[int, ...], np.ndarray] | None = None) -> Verdict:
    """The verdict for one returned gradient (`got` as the harness reports it: shape and values, or kind)."""
    base = Verdict(name, False, "missing", "", function=function)
    if got is None:
        return replace(base, message=f"{name} is missing from what {function} returned")
    if "values" not in got and "too_big" not in got:
        return replace(base, kind="not-array", message=f"{name} is a {got.get('kind')}, not a NumPy array of numbers")
    shape, want = tuple(got["shape"]), ref.shape
    if shape != want and not (name.startswith("db") and math.prod(shape) == math.prod(want) == 1):
        return _shape(base, name, shape, want, got, ref, numeric, m, candidates)
    g = np.array(got["values"], dtype=np.float64).reshape(want)
    if not np.all(np.isfinite(g)):
        return replace(base, kind="nan", message=f"{name} contains NaN or inf: look for a division by zero, "
                                                   "log(0), or an overflow in exp")
    value = _value(name, g, ref, m, function, candidates or {})
    error = relative_error(g, numeric)
    if value.kind == "ok":
        note = "" if shape == want else f"; its shape {shape} works here, keepdims=True keeps the shape {want} of b"
        return Verdict(name, True, "ok", f"matches finite differences of J (difference {error:.1e}){note}",
                       None, error, 0, function)
    return Verdict(name, False, value.kind, f"{name} is {value.phrase}", value.entry, error, value.power, function)


def _shape(base: Verdict, name: str, shape: tuple[int, ...], want: tuple[int, ...], got: Mapping[str, Any],
           ref: np.ndarray, numeric: np.ndarray, m: int, candidates: Mapping[tuple[int, ...], np.ndarray] | None) -> Verdict:
    layer, what = name[2:], name[1:]  # "dW2" -> "2", "W2"
    head = f"{name} has shape {shape}, expected {want} (the shape of {what})"
    if name.startswith("db"):
        n = want[0]
        keepdims = f"np.sum(dZ{layer}, axis=1, keepdims=True)"
        rules = {(): ("db-sum-all", f"{name} has shape (), expected {want}: sum over axis=1 with keepdims=True"),
                 (1, 1): ("db-sum-all", f"{name} has shape (1, 1), expected {want}: sum over axis=1 with keepdims=True"),
                 (n,): ("db-keepdims", f"{name} has shape ({n},), expected {want}: keepdims=True is missing, {keepdims}"),
                 (1, m): ("db-axis", f"{head}: it sums over axis=0 (the units); sum over axis=1 (the examples)"),
                 (n, m): ("db-no-sum", f"{head}: sum dZ{layer} over the examples, {keepdims}")}
        if shape in rules:
            kind, message = rules[shape]
            return replace(base, kind=kind, message=message, entry="db-derivation")
    if len(want) == 2 and shape == want[::-1] and "values" in got:
        g = np.array(got["values"], dtype=np.float64).reshape(shape).T
        fixes = {"dA": f"use W{int(layer) + 1}.T @ dZ{int(layer) + 1}",
                 "db": f"use np.sum(dZ{layer}, axis=1, keepdims=True)",
                 "dW": f"use dZ{layer} @ A{int(layer) - 1}.T, not A{int(layer) - 1} @ dZ{layer}.T"}
        fix = fixes.get(name[:2], "transpose it")
        message = f"{name} has shape {shape}, the shape of {what} transposed (expected {want}): {fix}"
        if not np.all(np.isfinite(g)):
            return replace(base, kind="transposed", message=message, entry="gradient-shapes")
        value = _value(name, g, ref, m, base.function, candidates or {})
        tail = "; transposed back, its values are right" if value.kind == "ok" else f"; transposed back, it is " \
                                                                                     f"{value.phrase}"
        return replace(base, kind="transposed", message=message + tail, entry="gradient-shapes",
                       rel_error=relative_error(g, numeric), power=value.power)
    return replace(base, kind="shape", message=head, entry="gradient-shapes")


def _value(name: str, g: np.ndarray, ref: np.ndarray, m: int, function: str,
           candidates: Mapping[tuple[int, ...], np.ndarray]) -> Value:
    fit = _fit(g, ref, m)
    if fit is not None:
        c, k = fit
        if k is None:
            return Value("factor", f"off by a constant factor {c:.3g} that is not a power of m = {m}: "
                                   f"relative error {relative_error(g, ref):.2g}", "gradient-check-failures")
        if c < 0:
            size = "" if k == 0 else f", and {_times(k, m)}"
            return Value("sign", f"of the wrong sign (-1 times the right gradient{size}): A - Y, not Y - A",
                         "dz-output-derivation", k)
        return factor_value(name, k, m, function)
    for layers, candidate in candidates.items():  # the mistake of dZ[l] = dA[l], without g'(Z[l]), for l in layers
        fit = _fit(g, candidate, m)
        if fit is not None and fit[0] > 0 and fit[1] is not None:
            also = "" if fit[1] == 0 else f", and {_times(fit[1], m)}"
            if len(layers) == 1:
                l = layers[0]
                missing = f"dZ{l} lacks the element-wise factor g'(Z{l}): dZ{l} = dA{l} * g'(Z{l})"
            else:
                missing = (f"{' and '.join(f'dZ{l}' for l in layers)} lack the element-wise factors g'(Z[l]): "
                           "dZ[l] = dA[l] * g'(Z[l])")
            return Value("no-gprime", f"wrong: {missing}{also}", "dz-hidden-derivation")
    return Value("unexplained", f"wrong by an unexplained factor: relative error {relative_error(g, ref):.2g}",
                 "gradient-check-failures")


def _fit(g: np.ndarray, ref: np.ndarray, m: int) -> tuple[float, int | None] | None:
    """(c, k) when g = c ref up to rounding, k an integer with |c| = m^k (else None); None when g is not c ref."""
    norm = float(np.sum(ref * ref))
    if norm == 0.0:
        return None
    c = float(np.sum(g * ref)) / norm
    if c == 0.0 or relative_error(g, c * ref) > EXACT:
        return None
    k = round(math.log(abs(c)) / math.log(m))
    return c, (k if abs(abs(c) / float(m) ** k - 1.0) < EXACT else None)


def _times(k: int, m: int) -> str:
    """'m times too small (ratio 1/7)', 'm^2 times too large (ratio 49)'."""
    p = abs(k)
    ratio = f"1/{m**p}" if k < 0 else f"{m**p}"
    return f"{'m' if p == 1 else f'm^{p}'} times too {'small' if k < 0 else 'large'} (ratio {ratio})"


def factor_value(name: str, k: int, m: int, function: str = "backward") -> Value:
    """What g = m^k r means for gradient `name` (k == 0 is right)."""
    if k == 0:
        return Value("ok", "right", None, 0)
    times = _times(k, m)
    if name.startswith("dA"):  # linear_backward's dA_prev
        return Value("one-over-m-power", f"{times}: dA_prev = W.T @ dZ has no 1/m (it belongs only in dW and db)",
                     "one-over-m-placement", k)
    if k == -1:
        return Value("one-over-m-twice", f"{times}: 1/m applied twice (in dZ and in {name[:2]})", "one-over-m-twice",
                     k)
    if k == 1 and function == "linear_backward":
        return Value("one-over-m-missing", f"{times}: 1/m missing; linear_backward gets the per-example dZ, so the "
                                           "1/m belongs in dW and db here", "one-over-m-twice", k)
    if k == 1:
        return Value("one-over-m-missing", f"{times}: 1/m missing", "one-over-m-placement", k)
    if k < 0:
        return Value("one-over-m-power", f"{times}: 1/m applied {1 - k} times; it belongs exactly once",
                     "one-over-m-placement", k)
    return Value("one-over-m-power", f"{times}: 1/m missing and {k - 1} more factor(s) m", "one-over-m-placement", k)


def every_layer(verdicts: list[Verdict], L: int, m: int) -> list[Verdict]:
    """Rewrite dW, db verdicts when their powers of m drop by one per layer down: 1/m applied in every dZ[l]."""
    powers: dict[int, int] = {}
    for v in verdicts:
        if v.name.startswith("dW") and v.kind != "transposed":
            if v.power is None:
                return verdicts
            powers[int(v.name[2:])] = v.power
    if L < 2 or sorted(powers) != list(range(1, L + 1)) or len(set(powers.values())) == 1:
        return verdicts
    if any(powers[l] - powers[l + 1] != -1 for l in range(1, L)):
        return verdicts
    again = ", and again in dW and db" if powers[L] == -1 else ""
    if L == 2 and powers == {1: -1, 2: 0}:  # two points: 1/m in dZ2 and again in dW1, db1 gives the same numbers
        again = ", or in dZ2 and again in dW1 and db1"
    out = []
    for v in verdicts:
        if (v.power is not None and v.power < 0 and v.kind != "transposed" and v.name[:2] in ("dW", "db")
                and powers[int(v.name[2:])] == v.power):
            v = replace(v, kind="one-over-m-every-layer", entry="one-over-m-every-layer",
                        message=f"{v.name} is {_times(v.power, m)}: 1/m applied in every dZ[l] (one more 1/m per "
                                f"layer down){again}")
        out.append(v)
    return out
