"""Load benchmark of the HTTP API against a server this script starts (and stops) on 127.0.0.1.

    .venv/bin/python bench/bench_api.py [--workers 2] [--clients 1,8,32] [--requests 300] [--seconds 20]

The reference is bare `model.encode` of the same questions, one per call as bot.ask does it, with every core
busy: one single-threaded encoder process per core (on 2 cores this beats one process with torch's 2 threads,
which is also printed). This machine's CPU speed drifts (up to 2x within minutes), so the reference is measured
for a few seconds right before and right after every run, and each run is compared with their mean.

The server is `python -m bot serve` on a free port; for each client count, that many concurrent httpx clients
(one connection each) on POST /v1/ask and GET /v1/similar: requests/s, p50/p95 latency and errors. A run stops
after --requests requests or --seconds seconds, whichever comes first. The questions are the KB's own.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def encoder(questions: list[str], threads: int) -> Any:
    """A warm embedder and a function that encodes the questions one at a time for `seconds`: questions/s."""
    from bot.config import load_settings
    from bot.embed import SentenceEmbedder
    from bot.notation import normalize

    embedder = SentenceEmbedder(load_settings().model, threads)
    texts = [normalize(q) for q in questions]
    for text in texts[:20]:
        embedder.encode([text])

    def rate(seconds: float) -> float:
        done, begin = 0, time.perf_counter()
        while time.perf_counter() - begin < seconds:
            embedder.encode([texts[done % len(texts)]])
            done += 1
        return done / (time.perf_counter() - begin)

    return rate


def _reference_process(questions: list[str], start: Any, orders: Any, results: Any) -> None:
    rate = encoder(questions, threads=1)
    while (seconds := orders.get()) is not None:
        start.wait()  # all processes encode over the same window
        results.put(rate(seconds))


class Reference:
    """One single-threaded encoder process per core, loaded once, measured together on demand."""

    def __init__(self, questions: list[str], cores: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.start, self.results = context.Barrier(cores), context.Queue()
        self.orders = [context.Queue() for _ in range(cores)]
        self.processes = [context.Process(target=_reference_process, args=(questions, self.start, o, self.results))
                          for o in self.orders]
        for process in self.processes:
            process.start()

    def measure(self, seconds: float) -> float:
        for orders in self.orders:
            orders.put(seconds)
        return sum(self.results.get(timeout=180 + seconds) for _ in self.orders)

    def close(self) -> None:
        for orders in self.orders:
            orders.put(None)
        for process in self.processes:
            process.join(timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(port: int, workers: int, db_dir: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BOT_API_RATE_LIMIT": "0", "BOT_DB_PATH": f"{db_dir}/bench.sqlite3"}
    return subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers)], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (uvicorn and its workers), SIGKILL if it lingers."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    except ProcessLookupError:
        pass


async def wait_ready(base: str, workers: int, timeout: float = 180.0) -> None:
    """Every worker answers /readyz with 200: fresh connections land on random workers, so ask until a run of 200s."""
    deadline, streak = time.monotonic() + timeout, 0
    while streak < 10 * workers:
        if time.monotonic() > deadline:
            raise SystemExit(f"the server was not ready after {timeout:.0f} s")
        try:
            async with httpx.AsyncClient() as client:
                streak = streak + 1 if (await client.get(f"{base}/readyz")).status_code == 200 else 0
        except httpx.TransportError:
            streak = 0
        await asyncio.sleep(0.1 if streak == 0 else 0)


async def load(base: str, endpoint: str, questions: list[str], clients: int, total: int,
               seconds: float) -> tuple[float, list[float], int]:
    """`clients` concurrent clients, each with its own connection, until `total` requests or `seconds`."""
    latencies: list[float] = []
    errors, sent = 0, 0
    deadline = time.perf_counter() + seconds

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal errors, sent
        while sent < total and time.perf_counter() < deadline:
            question = questions[sent % len(questions)]
            sent += 1
            start = time.perf_counter()
            try:
                if endpoint == "ask":
                    response = await client.post("/v1/ask", json={"question": question})
                else:
                    response = await client.get("/v1/similar", params={"text": question, "k": 5})
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - start) * 1000)
            errors += not ok

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        start = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return len(latencies) / elapsed, latencies, errors


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (default: 2)")
    parser.add_argument("--clients", default="1,8,32", help="concurrent clients, comma-separated (default: 1,8,32)")
    parser.add_argument("--requests", type=int, default=300, help="requests per run at most (default: 300)")
    parser.add_argument("--seconds", type=float, default=20, help="seconds per run at most (default: 20)")
    parser.add_argument("--questions", type=int, default=100, help="distinct questions, cycled (default: 100)")
    parser.add_argument("--reference-seconds", type=float, default=4, help="each reference window (default: 4)")
    args = parser.parse_args()

    from bot.config import load_settings
    from bot.kb import load_kb

    every = [q for entry in load_kb(load_settings().kb_dir).entries for q in entry.questions]
    questions = every[:: max(1, len(every) // args.questions)][: args.questions]  # spread over all the entries
    cores = os.cpu_count() or 1
    one_process = encoder(questions, threads=0)(args.reference_seconds)
    reference = Reference(questions, cores)
    per_core = reference.measure(args.reference_seconds)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-api-") as db_dir:
        server = start_server(port, args.workers, db_dir)
        try:
            await wait_ready(base, args.workers)
            # warm-up: SymPy's first derivation of each kind costs up to ~1 s, then it is cached in that worker; the
            # kernel spreads connections at random, so 4 passes per worker leave a question unseen by one of 2
            # workers with probability 1/2^8
            await load(base, "ask", questions, 8, 4 * args.workers * len(questions), 120)
            for endpoint in ("ask", "similar"):
                for clients in [int(c) for c in args.clients.split(",")]:
                    before = reference.measure(args.reference_seconds)
                    rate, latencies, errors = await load(base, endpoint, questions, clients, args.requests,
                                                         args.seconds)
                    after = reference.measure(args.reference_seconds)
                    rows.append((endpoint, clients, rate, latencies, errors, (before + after) / 2))
        finally:
            stop_server(server)
            reference.close()

    print(f"bare model.encode, one question per call, {cores} cores busy: {per_core:.1f} questions/s with one "
          f"single-threaded process per core, {one_process:.1f} with one process and torch's default threads")
    print(f"server: python -m bot serve --workers {args.workers}; reference = the per-core figure, measured "
          "right before and after each run\n")
    print("| endpoint | clients | requests | req/s | p50 ms | p95 ms | errors | reference q/s | vs reference |")
    print("| --- | --: | --: | --: | --: | --: | --: | --: | --: |")
    for endpoint, clients, rate, latencies, errors, ref in rows:
        name = "POST /v1/ask" if endpoint == "ask" else "GET /v1/similar"
        print(f"| {name} | {clients} | {len(latencies)} | {rate:.1f} | {statistics.median(latencies):.1f} | "
              f"{percentile(latencies, 95):.1f} | {errors} | {ref:.1f} | {rate / ref:.0%} |")


if __name__ == "__main__":
    asyncio.run(main())
