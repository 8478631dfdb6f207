"""Sandbox cost: overhead on a trivial NumPy snippet (median of 20) and the run time of every KB snippet.

bubblewrap runs it as untrusted code (students' edits); limits-only as a curated snippet, the only kind it runs as root.

    .venv/bin/python bench/bench_sandbox.py
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.proofs.sandbox import bubblewrap, run_code

TRIVIAL = "import numpy as np\nprint(np.ones(3).sum())"


def median_ms(fn, n: int = 20) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm the page cache
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    bare = median_ms(lambda: subprocess.run([sys.executable, "-c", TRIVIAL], capture_output=True, check=True))
    print(f"bare `python -c 'import numpy; ...'`: median {bare:.0f} ms (n=20)")
    modes = ["limits"] + (["bubblewrap"] if bubblewrap() else [])
    for mode in modes:
        sandboxed = median_ms(lambda mode=mode: run_code(TRIVIAL, isolation=mode, curated=mode == "limits"))
        print(f"sandbox ({mode}): median {sandboxed:.0f} ms, overhead {sandboxed - bare:.0f} ms (n=20)")
    slowest = []
    for path in sorted((Path(__file__).resolve().parent.parent / "kb" / "snippets").glob("*.py")):
        result = run_code(path.read_text(), curated=True)
        slowest.append((result.seconds, path.name, result.ok))
    slowest.sort(reverse=True)
    print(f"KB snippets: {len(slowest)}, all ok: {all(ok for *_, ok in slowest)}; slowest: "
          + ", ".join(f"{name} {s:.2f} s" for s, name, _ in slowest[:3]))


if __name__ == "__main__":
    main()
