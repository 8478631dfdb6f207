"""Two `bot serve` replicas over one PostgreSQL: clients spread over both, one replica and then the database are
restarted mid-run, and every acknowledged ask and rating is in the database exactly once."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from pg_support import free_port, stop_process

from bot.config import ROOT
from bot.mentors.store import open_store

if TYPE_CHECKING:
    from pg_support import PgCluster

CLIENTS, RUN_S, READY_S, REQUEST_TIMEOUT_S = 16, 8.0, 600.0, 90.0  # READY_S: a model load on a busy machine


@dataclass
class Tally:
    asks: list[str] = field(default_factory=list)  # questions whose /v1/ask was acknowledged with an ask_id
    ratings: list[str] = field(default_factory=list)  # questions whose /v1/feedback got 201
    retried: int = 0  # requests sent again (same Idempotency-Key) after an error or a lost reply
    lock: threading.Lock = field(default_factory=threading.Lock)


class Replica:
    def __init__(self, url: str, port: int) -> None:
        self.url, self.port = url, port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = os.environ | {"BOT_DB_URL": self.url, "BOT_API_RATE_LIMIT": "0", "BOT_API_WORKERS": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(self.port)], cwd=ROOT,
                                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ready(self) -> bool:
        assert self.process is not None and self.process.poll() is None, "bot serve exited while starting"
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_S
        while not self.ready():
            assert time.monotonic() < deadline, f"replica on port {self.port} not ready after {READY_S:.0f} s"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)  # SIGTERM: in-flight requests finish (bounded by uvicorn), then it exits
            self.process = None


def send(ports: list[int], first: int, path: str, body: dict[str, object], tally: Tally) -> dict[str, object] | None:
    """POST to one replica, and on any failure to the next, with the same key, until acknowledged (or time is up)."""
    key, deadline, attempt = uuid.uuid4().hex, time.monotonic() + REQUEST_TIMEOUT_S, 0
    while time.monotonic() < deadline:
        port = ports[(first + attempt) % len(ports)]
        try:
            reply = httpx.post(f"http://127.0.0.1:{port}{path}", json=body, headers={"Idempotency-Key": key},
                               timeout=REQUEST_TIMEOUT_S)
            if reply.status_code in (200, 201):
                return dict(reply.json())
        except httpx.HTTPError:
            pass
        attempt += 1
        with tally.lock:
            tally.retried += 1
        time.sleep(0.1)
    return None


def client(n: int, ports: list[int], stop: threading.Event, tally: Tally) -> None:
    i = 0
    while not stop.is_set():
        question = f"client {n} question {i}: why is there a 1/m in dW but not in dZ?"
        asked = send(ports, n + i, "/v1/ask", {"question": question}, tally)
        if asked is not None and asked.get("ask_id") is not None:
            with tally.lock:
                tally.asks.append(question)
            rating = {"entry_id": "one-over-m-placement", "question": question, "helpful": i % 2 == 0,
                      "ask_id": asked["ask_id"]}
            if send(ports, n + i + 1, "/v1/feedback", rating, tally) is not None:
                with tally.lock:
                    tally.ratings.append(question)
        i += 1


def test_two_replicas_through_a_replica_and_a_database_restart_store_each_acknowledged_write_once(
        pg_cluster: PgCluster) -> None:
    url = pg_cluster.new_database()
    replicas = [Replica(url, free_port()) for _ in range(2)]
    stop, tally = threading.Event(), Tally()
    threads = [threading.Thread(target=client, args=(n, [r.port for r in replicas], stop, tally))
               for n in range(CLIENTS)]
    try:
        for replica in replicas:
            replica.start()
        for replica in replicas:
            replica.wait_ready()
        for thread in threads:
            thread.start()
        time.sleep(RUN_S / 2)
        replicas[1].stop()  # restart one replica: its clients go to the other meanwhile
        replicas[1].start()
        replicas[1].wait_ready()
        time.sleep(1.0)
        pg_cluster.restart(down_s=1.0)  # then the database: writes wait and retry, nothing is lost or doubled
        time.sleep(RUN_S / 2)
    finally:
        stop.set()
        for thread in threads:
            if thread.ident is not None:  # started
                thread.join(timeout=REQUEST_TIMEOUT_S * 2 + 10)
        for replica in replicas:
            replica.stop()
        if pg_cluster.process is None:
            pg_cluster.start()

    store = open_store(url)
    asked = Counter(q for (q,) in store._read("SELECT question FROM asks"))
    rated = Counter(q for (q,) in store._read("SELECT question FROM feedback"))
    print(f"\ntwo replicas: {len(tally.asks)} asks and {len(tally.ratings)} ratings acknowledged, "
          f"{sum(asked.values())} asks and {sum(rated.values())} ratings in the database, {tally.retried} requests "
          f"sent again, duplicates {sum(n - 1 for counts in (asked, rated) for n in counts.values())}")
    assert len(tally.asks) > 100 and not any(thread.is_alive() for thread in threads)
    assert all(asked[q] == 1 for q in tally.asks) and all(rated[q] == 1 for q in tally.ratings)
    assert max(asked.values()) == 1 and max(rated.values()) == 1  # nothing stored twice, acknowledged or not
