"""Store benchmark: rows/s with 4 concurrent writer processes, and what logging adds to each `ask` (log_ask p50).

    .venv/bin/python bench/bench_store.py [--db postgresql://...] [--processes 4] [--threads 2] [--rows 2000] [--n 2000]

SQLite always (a temporary folder under .cache/, the same disk as the default .data/, deleted afterwards); with
--db, the same figures on that PostgreSQL database too, in the same run (rows are added to its tables, never removed).
A row is one ask or one feedback; every writer logs an ask, then a rating linked to it, as the chat does.
"""
from __future__ import annotations

import argparse
import multiprocessing
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.datatypes import Answer, Suggestion
from bot.mentors.store import Feedback, Store, open_store, redact

ANSWER = Answer("why is there a 1/m in dW but not in dZ?", "answer", True, 0.93,
                [Suggestion(f"entry-{i}", "", [], 0.9 - i / 10, "") for i in range(3)], "")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def writer(url: str, threads: int, rows: int, barrier: Any, out: Any) -> None:
    """One process: `threads` threads sharing a Store write `rows` rows (ask + feedback pairs) in all."""
    store = open_store(url)
    barrier.wait()
    start = time.time()

    def pairs(n: int) -> None:
        for _ in range(n):
            ask_id = store.log_ask(ANSWER, "api", 12.0)
            store.add_feedback(Feedback("entry-0", ANSWER.question, True, ask_id=ask_id))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(pairs, [rows // 2 // threads] * threads))
    out.put((start, time.time(), rows // 2 // threads * threads * 2))


def rows_in(url: str) -> int:
    store = open_store(url)
    return store.count("asks") + store.count("feedback")


def throughput(url: str, processes: int, threads: int, rows: int) -> tuple[float, int]:
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(processes), ctx.Queue()
    before = rows_in(url)
    workers = [ctx.Process(target=writer, args=(url, threads, rows, barrier, out)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    written = sum(r[2] for r in results)
    seconds = max(r[1] for r in results) - min(r[0] for r in results)
    counted = rows_in(url) - before
    assert counted == written, f"{written} rows written, {counted} read back"
    return written / seconds, written


def log_ask_ms(store: Store, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        store.log_ask(ANSWER, "chat", 12.0)
        times.append((time.perf_counter() - start) * 1000)
    return times


def connection_per_write_ms(path: Path, n: int) -> list[float]:
    """The v1 store's way, for comparison: open, BEGIN IMMEDIATE, insert, COMMIT, close."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        db = sqlite3.connect(path, timeout=5.0, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO asks (at, channel, question, kind, in_scope, confidence, entry_id, top, latency_ms) "
                   "VALUES (?, 'chat', ?, 'answer', 1, 0.9, 'a', '[]', 12.0)", (time.time(), ANSWER.question))
        db.execute("COMMIT")
        db.close()
        times.append((time.perf_counter() - start) * 1000)
    return times


def measure(name: str, url: str, args: argparse.Namespace) -> None:
    """Throughput, then log_ask alone and while the other processes write flat out, on one back end."""
    rate, written = throughput(url, args.processes, args.threads, args.rows)
    print(f"{name}: {args.processes} writer processes x {args.threads} threads: {written} rows in all, "
          f"{rate:,.0f} rows/s sustained (every row read back)")
    store = open_store(url)
    log_ask_ms(store, 50)  # warm-up: the first write opens the connection
    times = log_ask_ms(store, args.n)
    print(f"{name}: log_ask (the latency logging adds to an ask), one process, {args.n} calls: p50 "
          f"{statistics.median(times):.3f} ms, p95 {percentile(times, 95):.3f} ms, p99 {percentile(times, 99):.3f} ms")
    ctx = multiprocessing.get_context("spawn")  # the same while 3 other processes write flat out
    barrier, out = ctx.Barrier(args.processes), ctx.Queue()  # the others and this one
    others = [ctx.Process(target=writer, args=(url, 1, 10**7, barrier, out)) for _ in range(args.processes - 1)]
    for other in others:
        other.start()
    barrier.wait()
    busy = log_ask_ms(store, min(args.n, 1000))
    for other in others:
        other.terminate()
        other.join()
    store.close()
    print(f"{name}: log_ask while {len(others)} other processes write flat out: p50 {statistics.median(busy):.3f} ms, "
          f"p95 {percentile(busy, 95):.3f} ms, max {max(busy):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", metavar="URL", help="also measure this PostgreSQL database (postgresql://...)")
    parser.add_argument("--processes", type=int, default=4, help="concurrent writer processes (default: 4)")
    parser.add_argument("--threads", type=int, default=2, help="threads per writer process (default: 2)")
    parser.add_argument("--rows", type=int, default=2000, help="rows each process writes (default: 2000)")
    parser.add_argument("--n", type=int, default=2000, help="log_ask calls timed (default: 2000)")
    args = parser.parse_args()
    if args.db is not None and not args.db.startswith(("postgresql://", "postgres://")):
        parser.error(f"--db must be a postgresql:// URL, got {args.db!r}")
    root = Path(__file__).resolve().parent.parent / ".cache"
    root.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-store-", dir=root))
    try:
        measure("SQLite", f"sqlite:///{folder / 'busy.sqlite3'}", args)
        open_store(folder / "v1.sqlite3")  # no connection stays open on it: each close checkpoints, as in v1
        old = connection_per_write_ms(folder / "v1.sqlite3", min(args.n, 500))
        print(f"SQLite: for comparison, a new connection per write (the v1 store): p50 {statistics.median(old):.3f} ms")
        if args.db is not None:
            measure(f"PostgreSQL {redact(args.db)}", args.db, args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
