"""Check my backprop: run a student's backward pass in the sandbox and say, per gradient, what is wrong.

The student's code is never imported or run in this process. bot/lab/harness.py (read as text) plus a JSON spec
(their code, and the seeded X, Y, params and forward cache of each network) runs in the sandbox and prints their
gradients as JSON; here they are compared with bot.proofs.gradcheck's reference and finite differences of J, on the
same data, by the rules of bot.lab.diagnose. Each network has m = 7 examples, so a factor m = 7 or 1/49 cannot be
mistaken for a 2 or a 1/2.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from bot.datatypes import Limits, RunResult
from bot.lab.diagnose import Verdict, every_layer, grade
from bot.lab.explain import Failure, explain, from_sandbox, returned_wrong
from bot.lab.harness import FULL, MARK
from bot.lab.networks import DATA_SEED, NETWORKS, PARAMS_SEED, SCALE, M, Setup
from bot.lab.templates import Choices, form_code
from bot.proofs import gradcheck
from bot.proofs.sandbox import run_code

MAX_CODE_CHARS = 50_000
HARNESS = (Path(__file__).parent / "harness.py").read_text(encoding="utf-8")


@cache
def setup(key: str) -> Setup:
    sizes, hidden = NETWORKS[key]
    net = gradcheck.Net(sizes, (hidden,) * (len(sizes) - 2) + ("sigmoid",))
    params = gradcheck.init_params(net, PARAMS_SEED, SCALE)
    X, Y = gradcheck.make_data(net, M, DATA_SEED)
    cache_ = {"A0": X}
    for l, (Z, A) in enumerate(gradcheck.forward(net, params, X), start=1):
        cache_ |= {f"Z{l}": Z, f"A{l}": A}
    hidden_layers = list(range(1, net.L))
    skips = [(l,) for l in reversed(hidden_layers)] + ([tuple(hidden_layers)] if len(hidden_layers) > 1 else [])
    no_gprime: dict[str, dict[tuple[int, ...], np.ndarray]] = {}
    for skip in skips:
        for name, value in _without_gprime(net, params, cache_, Y, hidden, skip).items():
            if max(skip) >= int(name[2:]):  # gradients of layers above the skip are unchanged
                no_gprime.setdefault(name, {})[skip] = value
    return Setup(key, net, params, X, Y, cache_, gradcheck.backward(net, params, X, Y),
                 gradcheck.numerical_grads(net, params, X, Y), no_gprime)


def _without_gprime(net: gradcheck.Net, params: dict[str, np.ndarray], cache_: dict[str, np.ndarray],
                    Y: np.ndarray, hidden: str, skip: tuple[int, ...]) -> dict[str, np.ndarray]:
    """dW, db when dZ[l] = dA[l] for l in skip: the mistake of leaving out g'(Z[l])."""
    L, grads = net.L, {}
    dZ = cache_[f"A{L}"] - Y
    for l in range(L, 0, -1):
        grads[f"dW{l}"] = dZ @ cache_[f"A{l - 1}"].T / M
        grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True) / M
        if l > 1:
            dA = params[f"W{l}"].T @ dZ
            g = (cache_[f"Z{l - 1}"] > 0) if hidden == "relu" else 1.0 - cache_[f"A{l - 1}"] ** 2
            dZ = dA if l - 1 in skip else dA * g
    return grads


@dataclass(frozen=True)
class Report:
    """What the lab found: a verdict per gradient, or why the code could not be checked."""

    verdicts: tuple[Verdict, ...]
    failure: Failure | None  # the code could not be (fully) checked: what to fix
    function: str | None  # the function(s) checked
    network: str  # what it was checked on
    output: str  # what the student's code printed
    seconds: float  # submit to verdict

    @property
    def ok(self) -> bool:
        return self.failure is None and bool(self.verdicts) and all(v.ok for v in self.verdicts)

    def to_text(self, base_url: str) -> str:
        """The per-gradient table for a terminal, each mistake with the link to the entry that explains it."""
        lines = [f"Checked {self.function or 'your code'} on {self.network}"]
        names = [f"{v.function}: {v.name}" if v.function == "linear_backward" else v.name for v in self.verdicts]
        width = max(map(len, names), default=0)
        for name, v in zip(names, self.verdicts, strict=True):
            lines.append(f"  {name:{width}}  {'OK' if v.ok else 'WRONG':5}  {v.message}")
            if v.entry:
                lines.append(f"  {'':{width + 9}}see {base_url.rstrip('/')}/?entry={v.entry}")
        if self.failure is not None:
            f = self.failure
            lines.append("")
            lines += [f"Error: {f.message}"] + ([f"  line {f.line}: {f.source}"] if f.source else [])
            lines += [f"  see {base_url.rstrip('/')}/?entry={f.entry}"] if f.entry else []
        if self.verdicts:
            lines += ["", f"{sum(v.ok for v in self.verdicts)} of {len(self.verdicts)} gradients OK."]
        if self.output.strip():
            lines += ["", "Your code printed:", self.output.rstrip()]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "function": self.function, "network": self.network, "seconds": round(self.seconds, 3),
                "verdicts": [v.to_dict() for v in self.verdicts],
                "failure": None if self.failure is None else self.failure.to_dict(), "output": self.output}


def check_code(code: str, limits: Limits | None = None, isolation: str = "auto") -> Report:
    """Run the student's code in the sandbox on the lab's networks and judge every gradient it returns."""
    start = time.perf_counter()
    refused = _refuse(code)
    if refused is not None:
        return Report((), refused, None, setup("3-relu").description, "", time.perf_counter() - start)
    spec = {"code": code, "order": _order(code), "variants": {key: setup(key).spec() for key in NETWORKS}}
    result = run_code(f"{HARNESS}\n\nmain({json.dumps(spec)!r})\n", limits, isolation)
    payload = _payload(result)
    if payload is None:
        failure = from_sandbox(result)
        return Report((), failure, None, setup("3-relu").description, result.stdout[:2000], time.perf_counter() - start)
    try:
        report = _judge(payload, code)
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError):  # the code wrote a fake result
        report = Report((), Failure("the lab could not read your gradients: does your code write to the process's "
                                    "output directly (os.write)? Use print", "unreadable"), None,
                        setup("3-relu").description, "", 0.0)
    return Report(report.verdicts, report.failure, report.function, report.network, report.output,
                  time.perf_counter() - start)


def check_form(choices: Choices, limits: Limits | None = None, isolation: str = "auto") -> Report:
    """The form path: write a backward pass from the choices and check it like a student's (its lines stay hidden)."""
    report = check_code(form_code(choices), limits, isolation)
    if report.failure is None:
        return report
    return replace(report, failure=replace(report.failure, line=None, source=None))


def _refuse(code: object) -> Failure | None:
    if not isinstance(code, str) or "\x00" in code:
        return Failure("the code must be plain text (it contains a NUL byte or is not text); paste it again", "input")
    if not code.strip():
        return Failure("there is no code to check: paste your backward function (start from the template)", "input")
    if len(code) > MAX_CODE_CHARS:
        return Failure(f"the code is {len(code):,} characters; the lab checks at most {MAX_CODE_CHARS:,}: paste only "
                       "the backward pass and the helpers it calls", "input")
    return None


def _order(code: str) -> list[str]:
    """Which networks to try first (only a tie-breaker: the verdicts pick the network that fits the code)."""
    low = code.lower()
    tanh, relu = re.search(r"tanh|\*\*\s*2|power\(", low), re.search(r"relu|>\s*0|maximum", low)
    hidden = ["tanh", "relu"] if tanh and not relu else ["relu", "tanh"]
    two = re.search(r"w2|dz2", low) and not re.search(r"w3|dz3|range\(|for ", low)
    return [f"{layers}-{h}" for layers in ([2, 3] if two else [3, 2]) for h in hidden]


def _payload(result: RunResult) -> dict[str, Any] | None:
    """The harness's JSON (the last line that starts with MARK), or None when it never got that far."""
    lines = [line for line in result.stdout.splitlines() if line.startswith(MARK)]
    if not lines:
        return None
    try:
        payload = json.loads(lines[-1][len(MARK):])
    except (ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def _judge(payload: dict[str, Any], code: str) -> Report:
    default = setup("3-relu").description
    if "error" in payload:
        return Report((), explain(payload["error"], code, setup("3-relu")), None, default,
                      str(payload.get("stdout", "")), 0.0)
    runs = [r for r in payload.get("runs", []) if r.get("variant") in NETWORKS]
    full = [r for r in runs if r.get("function") in FULL]
    linear = [r for r in runs if r.get("function") == "linear_backward"]
    if not runs:
        return Report((), Failure("no network matches LAYERS and HIDDEN; use LAYERS = 2 or 3 and HIDDEN = 'relu' or "
                                  "'tanh'", "settings"), None, default, "", 0.0)
    verdicts: list[Verdict] = []
    failures: list[Failure] = []
    functions: list[str] = []
    network, output = default, str(payload.get("stdout", ""))
    if full:
        judged = [(run, _judge_run(run, code)) for run in full]
        fits = [(_score(v), -i, run, v) for i, (run, v) in enumerate(judged) if isinstance(v, list)]
        functions.append(full[0]["function"])
        if fits:
            *_, run, best = max(fits, key=lambda fit: fit[:2])
            verdicts += best
            network = setup(run["variant"]).description + (", picked as the one that fits your code best (set LAYERS "
                                                           "and HIDDEN to choose)" if len(full) > 1 else "")
            output += str(run.get("stdout", ""))
        else:
            first = judged[0][1]
            assert isinstance(first, Failure)
            failures.append(first)
            network = setup(full[0]["variant"]).description
            output += str(full[0].get("stdout", ""))
    for run in linear:
        judged_run = _judge_run(run, code)
        if isinstance(judged_run, Failure):
            failures.append(judged_run)
            output += str(run.get("stdout", ""))
            break
        verdicts += judged_run
    if linear:
        functions.append("linear_backward")
    live = [f for f in failures if f.kind != "stub"]
    failure = live[0] if live else None
    if failures and not live and not verdicts:
        failure = failures[0]
    return Report(tuple(verdicts), failure, " + ".join(functions), network, output[:4000], 0.0)


def _score(verdicts: list[Verdict]) -> tuple[float, float]:
    """How well a network fits the code: the share of verdicts the rules explain, then the share that are OK."""
    n = max(len(verdicts), 1)
    return sum(v.explained for v in verdicts) / n, sum(v.ok for v in verdicts) / n


def _judge_run(run: dict[str, Any], code: str) -> list[Verdict] | Failure:
    s, function = setup(run["variant"]), str(run["function"])
    if "error" in run:
        return explain(run["error"], code, s)
    returned = run.get("returned") or {}
    items = returned.get("items")
    if not isinstance(items, dict):
        return returned_wrong(function, returned, s.net.L)
    if function == "linear_backward":
        l = int(run["layer"])
        names = {"dA_prev": f"dA{l - 1}", "dW": f"dW{l}", "db": f"db{l}"}
        return [grade(names[key], items.get(key), s.reference[names[key]],
                      s.numeric.get(names[key], s.reference[names[key]]), M, function) for key in names]
    verdicts = []
    for l in range(1, s.net.L + 1):
        for name in (f"dW{l}", f"db{l}"):
            key = _key(items, name)
            verdict = grade(name, items.get(key) if key else None, s.reference[name], s.numeric[name], M, function,
                            s.no_gprime.get(name))
            if key and key != name:
                verdict = _renamed(verdict, key)
            verdicts.append(verdict)
    return every_layer(verdicts, s.net.L, M)


def _key(items: dict[str, Any], name: str) -> str | None:
    """The key that holds `name`: itself, or a near miss like "dw1", "dW_1" or "dW[1]"."""
    if name in items:
        return name
    plain = re.sub(r"\W|_", "", name).lower()
    return next((k for k in items if re.sub(r"\W|_", "", k).lower() == plain), None)


def _renamed(verdict: Verdict, key: str) -> Verdict:
    rename = f"name the key {verdict.name!r}, not {key!r} (keys are case-sensitive)"
    if verdict.ok:
        return replace(verdict, ok=False, kind="key", entry=None, message=f"{rename}; its values are right")
    return replace(verdict, message=f"{verdict.message}; also {rename}")
