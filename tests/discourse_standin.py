"""A stand-in Discourse forum for the tests: a real HTTP server on loopback with the calls the bot makes.

POST /posts.json, GET /t/{id}.json, GET /latest.json and GET /categories.json answer as Discourse does (the fields the
bot reads); every request is recorded, and `fail` makes the next calls answer 429 or 5xx.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

API_KEY, BOT_USER = "test-api-key", "backprop-bot"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    at: float
    status: int = 0


@dataclass
class Topic:
    id: int
    title: str
    category_id: int
    archetype: str = "regular"
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat().replace("+00:00", "Z"))
    posts: list[dict[str, Any]] = field(default_factory=list)


class StandIn:
    def __init__(self) -> None:
        self.topics: dict[int, Topic] = {}
        self.categories = {5: "week-3", 9: "general"}
        self.requests: list[Recorded] = []
        self.failures: list[tuple[int, dict[str, str]]] = []  # answers to the next POST /posts.json calls
        self.lock = threading.Lock()
        self._ids = iter(range(1000, 10**6))
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                stand_in.handle(self, "GET")

            def do_POST(self) -> None:
                stand_in.handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def open_topic(self, topic_id: int, title: str, raw: str, category_id: int = 5, username: str = "student") -> None:
        with self.lock:
            self.topics[topic_id] = Topic(topic_id, title, category_id)
            self._add_post(self.topics[topic_id], raw, username, 1)

    def fail(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        self.failures += [(status, headers or {})] * times

    def bot_posts(self, topic_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return [p for p in self.topics[topic_id].posts if p["username"] == BOT_USER]

    def calls(self, method: str, path_start: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_start)]

    def _add_post(self, topic: Topic, raw: str, username: str, post_type: int) -> dict[str, Any]:
        post = {"id": next(self._ids), "post_number": len(topic.posts) + 1, "username": username, "raw": raw,
                "cooked": f"<p>{raw}</p>", "post_type": post_type, "topic_id": topic.id}
        topic.posts.append(post)
        return post

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(request.path)
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0)).decode()
        form = {k: v[0] for k, v in parse_qs(body).items()}
        record = Recorded(method, url.path, dict(request.headers.items()), form, time.monotonic())
        with self.lock:
            self.requests.append(record)
            status, answer, headers = self._answer(request, method, url.path, form)
            record.status = status
        data = json.dumps(answer).encode()
        request.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(data)), **headers}.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)

    def _answer(self, request: BaseHTTPRequestHandler, method: str, path: str,
                form: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        if request.headers.get("Api-Key") != API_KEY or request.headers.get("Api-Username") != BOT_USER:
            return 403, {"errors": ["You are not permitted to view the requested resource."]}, {}
        if method == "POST" and path == "/posts.json":
            if self.failures:
                status, headers = self.failures.pop(0)
                return status, {"errors": ["stand-in failure"]}, headers
            topic = self.topics.get(int(form.get("topic_id", 0)))
            if topic is None or not form.get("raw"):
                return 422, {"errors": ["topic_id and raw are required"]}, {}
            post = self._add_post(topic, form["raw"], BOT_USER, 4 if form.get("whisper") == "true" else 1)
            return 200, post | {"topic_slug": "a-topic"}, {}
        if method == "GET" and path.startswith("/t/") and path.endswith(".json"):
            topic = self.topics.get(int(path[3:-5])) if path[3:-5].isdigit() else None
            if topic is None:
                return 404, {"errors": ["The requested URL or resource could not be found."]}, {}
            return 200, {"id": topic.id, "title": topic.title, "category_id": topic.category_id,
                         "archetype": topic.archetype, "post_stream": {"posts": topic.posts}}, {}
        if method == "GET" and path == "/latest.json":
            listed = [{"id": t.id, "title": t.title, "category_id": t.category_id, "archetype": t.archetype,
                       "created_at": t.created_at, "posts_count": len(t.posts)} for t in self.topics.values()]
            return 200, {"topic_list": {"topics": listed}}, {}
        if method == "GET" and path == "/categories.json":
            found = [{"id": i, "slug": s} for i, s in self.categories.items()]
            return 200, {"category_list": {"categories": found}}, {}
        return 404, {"errors": ["no such route on the stand-in"]}, {}
