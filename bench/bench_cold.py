"""Cold start of a one-shot answer: `python -m bot ask QUESTION` as a new process, index and export already built.

Prints the wall time (median of --runs) against `python -c "import numpy"` in the same run, the peak RSS of the
ask process, and the breakdown of one in-process cold start: interpreter, imports, model load, KB and lexical index
(with the cached calibration), the answer, and the derivation (which the text output does not compute).

    python bench/bench_cold.py [--runs 5] [--question "why is there no 1/m in dZ2?"]
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHASES = """
import json, time
t0 = time.perf_counter()
from bot.answer import Bot
from bot.config import load_settings
from bot.retrieval.embed import load_embedder
t1 = time.perf_counter()
s = load_settings()
embedder = load_embedder(s.model, s.embed_backend, s.cache_dir, s.threads)
t2 = time.perf_counter()
bot = Bot(s, embedder=embedder)  # the KB, the index, BM25 and the saved calibration
t3 = time.perf_counter()
answer = bot.ask(QUESTION, derive=False)
t4 = time.perf_counter()
bot.derivation(answer.entry, QUESTION)
t5 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "model load": t2 - t1, "KB and lexical index": t3 - t2,
                  "answer": t4 - t3, "derivation": t5 - t4}))
"""


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--question", default="why is there no 1/m in dZ2?")
    args = parser.parse_args()
    python = sys.executable
    subprocess.run([python, "-m", "bot", "build", "--if-stale"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    ask = [python, "-m", "bot", "ask", args.question]
    wall(ask)  # the page cache warm, as on a machine that answered before
    asks = [wall(ask) for _ in range(args.runs)]
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child: an ask process
    numpy = statistics.median(wall([python, "-c", "import numpy"]) for _ in range(args.runs))
    interpreter = statistics.median(wall([python, "-c", "pass"]) for _ in range(args.runs))
    phases = json.loads(subprocess.run([python, "-c", PHASES.replace("QUESTION", repr(args.question))], cwd=ROOT,
                                       check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    ask_wall = statistics.median(asks)
    print(f"python -m bot ask, new process: wall p50 {ask_wall:.2f} s over {args.runs} runs "
          f"(target <= 1.5 s); {ask_wall / numpy:.1f}x python -c 'import numpy' ({numpy:.2f} s; target <= 20x); "
          f"peak RSS {rss_mb:.0f} MB (target <= 250)")
    print("breakdown: " + ", ".join([f"interpreter {interpreter:.2f} s"] + [f"{k} {v:.2f} s" for k, v in phases.items()]))


if __name__ == "__main__":
    main()
