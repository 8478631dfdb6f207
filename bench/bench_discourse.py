"""Time from a Discourse delivery to the posted draft, on loopback: the API (uvicorn, the real KB and model) and a
stand-in forum (tests/discourse_standin.py), both on free 127.0.0.1 ports in this process.

    .venv/bin/python bench/bench_discourse.py [--topics 20]

Each topic is opened on the stand-in, its post_created delivery is signed and sent to POST /v1/discourse/webhook,
and the clock stops when the stand-in has recorded the bot's POST /posts.json. Prints the webhook's own answer time
and the delivery-to-post time: median, p90, min, max. The questions are the KB's entry titles (not the eval sets).
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    import uvicorn

    from bot.answer import Bot
    from bot.config import load_settings
    from bot.serve.api import create_app
    from tests.discourse_standin import API_KEY, BOT_USER, StandIn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=20)
    args = parser.parse_args()
    secret = "bench-secret"
    with tempfile.TemporaryDirectory() as tmp, StandIn() as forum:
        settings = replace(load_settings(embed_threads=1), db_path=Path(tmp) / "bot.sqlite3", api_rate_limit=0,
                           discourse_url=forum.url, discourse_api_key=API_KEY, discourse_username=BOT_USER,
                           discourse_webhook_secret=secret)
        bot = Bot(settings)
        bot.warm()
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(lambda: bot, settings), host="127.0.0.1", port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        answered, posted = [], []
        try:
            with httpx.Client(base_url=base, timeout=10) as client:
                while client.get("/readyz").status_code != 200 or not forum.calls("GET", "/latest.json"):
                    time.sleep(0.05)
                titles = [e.title for e in bot.kb.entries]
                for n in range(args.topics):
                    topic_id, title = 100 + n, titles[n % len(titles)]
                    forum.open_topic(topic_id, title, "I am stuck on this part of the week's assignment.")
                    body = json.dumps({"post": {"id": topic_id * 10, "topic_id": topic_id, "post_number": 1,
                                                "raw": "I am stuck on this part of the week's assignment.",
                                                "topic_title": title, "category_id": 5, "username": "student",
                                                "post_type": 1, "topic_archetype": "regular"}}).encode()
                    headers = {"Content-Type": "application/json", "X-Discourse-Event": "post_created",
                               "X-Discourse-Event-Type": "post", "X-Discourse-Instance": forum.url,
                               "X-Discourse-Event-Signature": "sha256=" + hmac.new(secret.encode(), body,
                                                                                   hashlib.sha256).hexdigest()}
                    before = len(forum.calls("POST", "/posts.json"))
                    start = time.monotonic()
                    response = client.post("/v1/discourse/webhook", content=body, headers=headers)
                    answered.append(time.monotonic() - start)
                    assert response.json()["action"] == "queued", response.text
                    deadline = start + 30
                    while len(forum.calls("POST", "/posts.json")) == before and time.monotonic() < deadline:
                        time.sleep(0.001)
                    calls = forum.calls("POST", "/posts.json")
                    if len(calls) == before:
                        print(f"topic {topic_id}: no post within 30 s (out of scope?)", file=sys.stderr)
                        continue
                    posted.append(calls[-1].at - start)
        finally:
            server.should_exit = True
            thread.join(10)
            bot.close()

    def line(name: str, values: list[float]) -> str:
        ms = sorted(v * 1000 for v in values)
        p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
        return (f"{name}: median {statistics.median(ms):.1f} ms, p90 {p90:.1f} ms, min {ms[0]:.1f} ms, "
                f"max {ms[-1]:.1f} ms ({len(ms)} topics)")

    print(line("webhook answered (2xx)", answered))
    print(line("delivery to posted draft", posted))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
