"""Check my backprop: time from submit to verdict (median of 10), in process (what the page does) and by the CLI.

    .venv/bin/python bench/bench_lab.py
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.lab.check import check_code, setup
from bot.lab.templates import Choices, form_code

WEEK3 = '''import numpy as np


def backward(X, Y, params, cache):
    m = X.shape[1]
    dZ2 = cache["A2"] - Y
    dW2 = 1 / m * dZ2 @ cache["A1"].T
    db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = params["W2"].T @ dZ2 * (1 - cache["A1"] ** 2)
    dW1 = 1 / m * dZ1 @ X.T
    db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
'''
CODES = {
    "week-3 backward, right (LAYERS/HIDDEN unset: 4 networks tried)": WEEK3,
    "week-4 backward, 1/m twice (LAYERS/HIDDEN set: 1 network)": form_code(Choices(one_over_m="both")),
    "syntax error": "def backward(X, Y, params, cache)\n    return {}\n",
}


def median_s(fn: Callable[[], object], n: int = 10) -> tuple[float, float, float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def main() -> None:
    start = time.perf_counter()
    for key in ("3-relu", "2-tanh", "2-relu", "3-tanh"):
        setup(key)
    print(f"reference networks (once per process): {time.perf_counter() - start:.2f} s")
    for label, code in CODES.items():
        check_code(code)  # warm the page cache
        med, low, high = median_s(lambda code=code: check_code(code))  # type: ignore[misc]
        print(f"submit to verdict, {label}: median {med:.2f} s of 10 (min {low:.2f}, max {high:.2f})")
    with tempfile.NamedTemporaryFile("w", suffix=".py") as f:
        f.write(WEEK3)
        f.flush()
        cmd = [sys.executable, "-m", "bot", "check-grads", f.name]
        med, low, high = median_s(lambda: subprocess.run(cmd, cwd=ROOT, capture_output=True, check=True))
    print(f"python -m bot check-grads (a new process each time): median {med:.2f} s of 10 (min {low:.2f}, "
          f"max {high:.2f})")


if __name__ == "__main__":
    main()
