"""Soak: N normal clients and one hostile client against `python -m bot serve` on loopback, for a bounded time.

The hostile client sends lone surrogates, bodies that never finish arriving, malformed and deeply nested JSON,
invalid UTF-8 and huge numbers, without pause. The normal clients ask real questions and rate answers; any answer
that is not a 2xx (a 429 included) or a failed connection is an error. The target is 0.

    python bench/soak.py [--clients 8] [--seconds 30] [--port 8765]

The server runs with the rate limit off (BOT_API_RATE_LIMIT=0) and one model process; it is stopped by its PID.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "why is there a 1/m in dW but not in dZ?",
    "I put the 1/m in dZ[L] instead, is that also right?",
    "how is dA_prev = W.T dZ derived",
    "what is the difference between the loss L and the cost J",
    "why np.sum(dZ, axis=1, keepdims=True) for db",
    "derivative of relu at zero",
    "my gradient check says difference = 0.5, what is wrong?",
    "hi there!",
]
HOSTILE = [  # (what, raw JSON body)
    ("surrogate", b'{"question": "why no 1/m in dZ \\ud800"}'),
    ("malformed", b'{"question": "why no'),
    ("nested", b"[" * 10_000 + b"]" * 10_000),
    ("invalid-utf8", b'{"question": "why \xff\xfe dZ"}'),
    ("huge-number", b'{"question": "q", "top_k": ' + b"9" * 5000 + b"}"),
    ("control-only", b'{"question": "\\u0000\\u0001\\u0002"}'),
]


def serve(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BOT_API_RATE_LIMIT": "0", "BOT_API_WORKERS": "1", "BOT_LOG_QUESTIONS": "true",
           "BOT_DB_PATH": str(ROOT / ".cache" / "soak.sqlite3")}
    return subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_ready(base: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server at {base} was not ready in {seconds:.0f} s")


def normal(base: str, stop: threading.Event, seed: int, latencies: list[float], errors: Counter[str]) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.is_set():
            start = time.perf_counter()
            try:
                reply = client.post("/v1/ask", json={"question": rng.choice(QUESTIONS)})
                if reply.status_code >= 300:
                    errors[f"ask {reply.status_code}"] += 1
                    continue
                latencies.append(time.perf_counter() - start)
                body = reply.json()
                if body["answer"] is not None and rng.random() < 0.2:
                    rated = client.post("/v1/feedback", json={"entry_id": body["answer"]["id"], "helpful": True,
                                                              "question": body["question"], "ask_id": body["ask_id"]})
                    if rated.status_code >= 300:
                        errors[f"feedback {rated.status_code}"] += 1
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1


def hostile(host: str, port: int, stop: threading.Event, sent: Counter[str]) -> None:
    """Bad bodies back to back, and a growing set of connections that send 4 of 100 promised bytes."""
    slow: list[socket.socket] = []
    base = f"http://{host}:{port}"
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.is_set():
            for what, body in HOSTILE:
                try:
                    reply = client.post("/v1/ask", content=body, headers={"content-type": "application/json"})
                    sent[f"{what} -> {reply.status_code}"] += 1
                except httpx.HTTPError as exc:
                    sent[f"{what} -> {type(exc).__name__}"] += 1
            if len(slow) < 200:
                try:
                    s = socket.create_connection((host, port), 5)
                    s.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              b"Content-Length: 100\r\n\r\n{\"qu")
                    slow.append(s)
                    sent["slow body opened"] += 1
                except OSError as exc:
                    sent[f"slow body -> {type(exc).__name__}"] += 1
    for s in slow:
        s.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    host, base = "127.0.0.1", f"http://127.0.0.1:{args.port}"
    server = serve(args.port)
    try:
        print(f"starting the server (pid {server.pid}) ...", flush=True)
        wait_ready(base)
        stop, latencies, errors, sent = threading.Event(), [], Counter(), Counter()  # type: ignore[var-annotated]
        threads = [threading.Thread(target=normal, args=(base, stop, i, latencies, errors)) for i in range(args.clients)]
        threads.append(threading.Thread(target=hostile, args=(host, args.port, stop, sent)))
        for thread in threads:
            thread.start()
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join(60)
        stopping = time.perf_counter()
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        shutdown = time.perf_counter() - stopping
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    ms = sorted(1000 * t for t in latencies)
    print(f"{args.clients} normal clients, {args.seconds:.0f} s: {len(ms)} answers, p50 {statistics.median(ms):.0f} ms, "
          f"p95 {ms[int(0.95 * (len(ms) - 1))]:.0f} ms" if ms else "no answers")
    print(f"normal clients' errors: {sum(errors.values())}" + (f" ({dict(errors)})" if errors else ""))
    print("hostile client: " + ", ".join(f"{k} x{v}" for k, v in sorted(sent.items())))
    print(f"SIGTERM to exit: {shutdown:.1f} s")


if __name__ == "__main__":
    main()
