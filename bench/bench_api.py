"""Load benchmark of the HTTP API against a server this script starts (and stops) on 127.0.0.1.

    .venv/bin/python bench/bench_api.py [--workers 0] [--clients 1,8,32] [--requests 300] [--seconds 20]

--workers is the server's (model processes; 0 = one per core).

The reference is bare `model.encode` of the same questions, one per call as bot.ask does it, with every core
busy: one single-threaded encoder process per core (on 2 cores this beats one process with torch's 2 threads,
which is also printed, as is the per-core figure with 4 questions per call: the server batches, the reference
does not). This machine's CPU speed drifts (up to 2x within minutes), so the reference is measured
for a few seconds right before and right after every run, and each run is compared with their mean.

The server is `python -m bot serve` on a free port; for each client count, that many concurrent clients (one
keep-alive connection each) on POST /v1/ask and GET /v1/similar: requests/s, p50/p95 latency and errors. A run
stops after --requests requests or --seconds seconds, whichever comes first. The questions are the KB's own.
The clients speak HTTP/1.1 over raw asyncio streams (~0.2 ms of CPU per request) rather than httpx (~3 ms),
because they share the server's cores: a heavy load generator would measure itself.
"""
from __future__ import annotations

import argparse
import asyncio
import json
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
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def encoder(questions: list[str], threads: int) -> Any:
    """A warm embedder and a function that encodes the questions `batch` per call for `seconds`: questions/s."""
    from bot.config import load_settings
    from bot.retrieval.embed import SentenceEmbedder
    from bot.retrieval.notation import normalize

    embedder = SentenceEmbedder(load_settings().model, threads)
    texts = [normalize(q) for q in questions]
    for text in texts[:20]:
        embedder.encode([text])

    def rate(seconds: float, batch: int = 1) -> float:
        done, begin = 0, time.perf_counter()
        while time.perf_counter() - begin < seconds:
            embedder.encode([texts[(done + i) % len(texts)] for i in range(batch)])
            done += batch
        return done / (time.perf_counter() - begin)

    return rate


def _reference_process(questions: list[str], start: Any, orders: Any, results: Any) -> None:
    rate = encoder(questions, threads=1)
    while (order := orders.get()) is not None:
        start.wait()  # all processes encode over the same window
        results.put(rate(*order))


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

    def measure(self, seconds: float, batch: int = 1) -> float:
        for orders in self.orders:
            orders.put((seconds, batch))
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


def start_server(port: int, workers: int, folder: str) -> subprocess.Popen[bytes]:
    """`python -m bot serve` in its own process group; its log goes to folder/server.log."""
    env = {**os.environ, "BOT_API_RATE_LIMIT": "0", "BOT_DB_PATH": f"{folder}/bench.sqlite3"}
    with open(f"{folder}/server.log", "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", str(workers)], cwd=ROOT, env=env, start_new_session=True,
                                stdout=log, stderr=subprocess.STDOUT)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server, which stops its model processes; SIGKILL to its process group if anything lingers."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:  # the usual case: everything has exited
        pass
    server.wait()


def batching(folder: str) -> str:
    """The server's last word on batching ("encoded N texts in M batches (x per batch)"), from its log."""
    lines = Path(folder, "server.log").read_text(errors="replace").splitlines()
    return next((line.split(":", 1)[1].strip() for line in reversed(lines) if "per batch" in line), "not logged")


async def wait_ready(base: str, server: subprocess.Popen[bytes] | None = None, folder: str = "",
                     timeout: float = 180.0) -> None:
    """Poll /readyz until it says 200 (the model processes take ~10 s to import torch); stop if the server exits."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            if server is not None and server.poll() is not None:
                log = Path(folder, "server.log").read_text(errors="replace").splitlines()[-15:]
                raise SystemExit(f"the server exited with code {server.returncode}:\n" + "\n".join(log))
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server was not ready after {timeout:.0f} s")
            await asyncio.sleep(0.2)


def request_bytes(endpoint: str, question: str) -> bytes:
    """One HTTP/1.1 request, ready to write."""
    if endpoint == "ask":
        body = json.dumps({"question": question}).encode()
        return (b"POST /v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    return f"GET /v1/similar?{urlencode({'text': question, 'k': 5})} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request, read its whole response (uvicorn sends Content-Length), return the status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    headers = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
    length = next((int(v) for k, v in headers.items() if k.strip().lower() == b"content-length"), 0)
    await reader.readexactly(length)
    return int(head.split(b" ", 2)[1])


async def load(port: int, endpoint: str, questions: list[str], clients: int, total: int,
               seconds: float) -> tuple[float, list[float], int]:
    """`clients` concurrent clients, each with its own connection, until `total` requests or `seconds`."""
    requests = [request_bytes(endpoint, q) for q in questions]
    latencies: list[float] = []
    errors, sent = 0, 0
    deadline = time.perf_counter() + seconds

    async def client_loop() -> None:
        nonlocal errors, sent
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while sent < total and time.perf_counter() < deadline:
                request = requests[sent % len(requests)]
                sent += 1
                start = time.perf_counter()
                try:
                    ok = await exchange(reader, writer, request) == 200
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    ok = False
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                latencies.append((time.perf_counter() - start) * 1000)
                errors += not ok
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    return len(latencies) / (time.perf_counter() - start), latencies, errors


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=0, help="server model processes (default: 0 = one per core)")
    parser.add_argument("--clients", default="1,8,32", help="concurrent clients, comma-separated (default: 1,8,32)")
    parser.add_argument("--requests", type=int, default=300, help="requests per run at most (default: 300)")
    parser.add_argument("--seconds", type=float, default=20, help="seconds per run at most (default: 20)")
    parser.add_argument("--questions", type=int, default=100, help="distinct questions, cycled (default: 100)")
    parser.add_argument("--reference-seconds", type=float, default=4, help="each reference window (default: 4)")
    args = parser.parse_args()

    from bot.config import load_settings
    from bot.retrieval.kb import load_kb

    every = [q for entry in load_kb(load_settings().kb_dir).entries for q in entry.questions]
    questions = every[:: max(1, len(every) // args.questions)][: args.questions]  # spread over all the entries
    cores = os.cpu_count() or 1
    one_process = encoder(questions, threads=0)(args.reference_seconds)
    reference = Reference(questions, cores)
    per_core = reference.measure(args.reference_seconds)
    batched = reference.measure(args.reference_seconds, batch=4)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-api-") as db_dir:
        server = start_server(port, args.workers, db_dir)
        try:
            await wait_ready(base, server, db_dir)
            # warm-up: the server computes each entry's derivation at start, but the variants a question asks for
            # (another activation or loss) on first use, up to ~1 s each in SymPy
            await load(port, "ask", questions, 8, len(questions), 120)
            for endpoint in ("ask", "similar"):
                for clients in [int(c) for c in args.clients.split(",")]:
                    before = reference.measure(args.reference_seconds)
                    rate, latencies, errors = await load(port, endpoint, questions, clients, args.requests,
                                                         args.seconds)
                    after = reference.measure(args.reference_seconds)
                    rows.append((endpoint, clients, rate, latencies, errors, (before + after) / 2))
        finally:
            stop_server(server)
            reference.close()
        batches = batching(db_dir)

    print(f"bare model.encode, one question per call, {cores} cores busy: {per_core:.1f} questions/s with one "
          f"single-threaded process per core, {one_process:.1f} with one process and torch's default threads; "
          f"{batched:.1f} with one process per core and 4 questions per call")
    print(f"server: python -m bot serve --workers {args.workers}; it {batches}")
    print("reference: the per-core one-per-call figure, measured right before and after each row\n")
    print("| endpoint | clients | requests | req/s | p50 ms | p95 ms | errors | reference q/s | vs reference |")
    print("| --- | --: | --: | --: | --: | --: | --: | --: | --: |")
    for endpoint, clients, rate, latencies, errors, ref in rows:
        name = "POST /v1/ask" if endpoint == "ask" else "GET /v1/similar"
        print(f"| {name} | {clients} | {len(latencies)} | {rate:.1f} | {statistics.median(latencies):.1f} | "
              f"{percentile(latencies, 95):.1f} | {errors} | {ref:.1f} | {rate / ref:.0%} |")


if __name__ == "__main__":
    asyncio.run(main())
