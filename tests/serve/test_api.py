"""The HTTP API as a client sees it, through FastAPI's TestClient (the fake embedder, except where marked)."""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import GenerationMode

from bot.answer import Bot
from bot.config import ROOT, load_settings
from bot.errors import ConfigError, ModelUnavailable
from bot.serve.api import create_app
from bot.serve.guards import TokenBucket
from bot.serve.preview import markdown_html, math_html
from tests.conftest import FIXTURE_KB, HashEmbedder


def wait_ready(client: TestClient, seconds: float = 4) -> None:
    for _ in range(int(seconds / 0.02)):
        if client.get("/readyz").status_code == 200:
            return
        time.sleep(0.02)
    raise AssertionError(f"never ready: {client.get('/readyz').json()}")


@contextmanager
def serving(bot: Bot, **overrides: Any) -> Iterator[TestClient]:
    """The API over `bot`, started and ready; the store is a file next to the bot's index cache."""
    settings = replace(bot.settings, **{"db_path": bot.settings.cache_dir.parent / "bot.sqlite3",
                                        "api_rate_limit": 0, **overrides})
    with TestClient(create_app(lambda: bot, settings)) as client:
        wait_ready(client)
        yield client


def rows(bot: Bot, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(bot.settings.cache_dir.parent / "bot.sqlite3") as db:
        return db.execute(sql).fetchall()


def raw(body: bytes) -> dict[str, Any]:
    """A JSON request body sent as these exact bytes (httpx would refuse to encode a lone surrogate itself)."""
    return {"content": body, "headers": {"content-type": "application/json"}}


@pytest.fixture
def client(fake_bot: Bot) -> Iterator[TestClient]:
    with serving(fake_bot) as client:
        yield client


@pytest.fixture
def rich_bot(kb_dir: Path, tmp_path: Path) -> Bot:
    """The fixture KB with a snippet and a derivation on one-over-m."""
    (kb_dir / "snippets").mkdir()
    (kb_dir / "snippets" / "tiny.py").write_text("import numpy as np\nprint('claim: sum =', int(np.ones(3).sum()))\n")
    path = kb_dir / "one-over-m.md"
    path.write_text(path.read_text().replace("related:", "snippet: tiny.py\nderivation: cost-mean\nrelated:", 1))
    return Bot(load_settings(kb_dir=kb_dir, cache_dir=tmp_path / "cache"), embedder=HashEmbedder())


# --- health and start-up -------------------------------------------------------------------------------------------

def test_healthz_is_up_while_the_model_loads_and_readyz_says_503_until_it_is(fake_bot: Bot) -> None:
    loaded = threading.Event()

    def slow() -> Bot:
        loaded.wait(10)
        return fake_bot

    settings = replace(fake_bot.settings, db_path=fake_bot.settings.cache_dir.parent / "bot.sqlite3")
    with TestClient(create_app(slow, settings)) as client:
        assert client.get("/healthz").json() == {"ok": True}
        response = client.get("/readyz")
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
        assert response.json()["error"] == "not ready" and "loading" in response.json()["detail"]
        assert client.post("/v1/ask", json={"question": "relu derivative"}).status_code == 503
        loaded.set()
        wait_ready(client)
        body = client.get("/readyz").json()
        assert {k: body[k] for k in ("ok", "entries", "model")} == {"ok": True, "entries": 4,
                                                                    "model": "test-hash-embedder"}
        assert body["sandbox"]["isolation"] in ("bubblewrap", "limits only", "limits only (as root)")


def test_readyz_reports_a_failed_load(fake_bot: Bot) -> None:
    def broken() -> Bot:
        raise ConfigError("cannot load embedding model 'nope'")

    settings = replace(fake_bot.settings, db_path=fake_bot.settings.cache_dir.parent / "bot.sqlite3")
    with TestClient(create_app(broken, settings)) as client:
        time.sleep(0.1)
        body = client.get("/readyz").json()
        assert body["status"] == 503 and "cannot load embedding model 'nope'" in body["detail"]


# --- answers -------------------------------------------------------------------------------------------------------

def test_ask_is_the_cli_object_plus_a_forum_reply_a_permalink_and_an_ask_id(client: TestClient, fake_bot: Bot) -> None:
    body = client.post("/v1/ask", json={"question": "why is there no 1/m in dZ"}).json()
    cli_keys = set(fake_bot.ask("why is there no 1/m in dZ").to_dict())
    assert set(body) == cli_keys | {"answer_markdown", "permalink", "ask_id"}
    assert body["answer"]["id"] == "one-over-m" and body["permalink"] == "http://localhost:8501/?entry=one-over-m"
    assert body["answer_markdown"].startswith("### Why 1/m is in dW but not in dZ")
    assert body["answer_markdown"].rstrip().endswith(body["permalink"])
    assert rows(fake_bot, "SELECT id, channel, question, entry_id FROM asks") == [
        (body["ask_id"], "api", "why is there no 1/m in dZ", "one-over-m")]


def test_ask_with_an_api_base_url_links_to_the_preview_page(fake_bot: Bot) -> None:
    bot = Bot(replace(fake_bot.settings, api_base_url="https://api.example.org/"), embedder=HashEmbedder())
    assert bot.permalink("shapes") == "https://api.example.org/e/shapes"
    assert fake_bot.permalink("shapes") == fake_bot.url("shapes")  # no API base URL: the chat's link
    with serving(bot) as client:
        body = client.post("/v1/ask", json={"question": "derivative of relu at zero"}).json()
        entries = client.get("/v1/entries").json()["entries"]
    assert body["permalink"] == "https://api.example.org/e/relu-derivative"
    assert body["answer_markdown"].rstrip().endswith("https://api.example.org/e/relu-derivative")
    assert {e["permalink"] for e in entries} == {f"https://api.example.org/e/{e['id']}" for e in entries}


@pytest.mark.parametrize("question, kind, starts", [
    ("hello", "greeting", "Hello!"),
    ("tell me a joke please", "out_of_scope", "This knowledge base does not cover that."),
])
def test_ask_without_an_entry_has_no_permalink(client: TestClient, question: str, kind: str, starts: str) -> None:
    body = client.post("/v1/ask", json={"question": question}).json()
    assert body["kind"] == kind and body["permalink"] is None and body["answer_markdown"].startswith(starts)


def test_ask_is_not_logged_when_logging_is_off(fake_bot: Bot) -> None:
    with serving(fake_bot, log_questions=False) as client:
        assert client.post("/v1/ask", json={"question": "relu derivative"}).json()["ask_id"] is None
    assert rows(fake_bot, "SELECT COUNT(*) FROM asks") == [(0,)]


def test_ask_still_answers_when_the_store_cannot_log_it(client: TestClient, monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    def locked(*_: object) -> int:
        raise RuntimeError("bot.sqlite3 stayed locked for 60 s")

    monkeypatch.setattr(client.app.state.store, "log_ask", locked)  # type: ignore[attr-defined]
    response = client.post("/v1/ask", json={"question": "relu derivative"})
    assert response.status_code == 200
    assert response.json()["answer"]["id"] == "relu-derivative" and response.json()["ask_id"] is None
    assert "could not log the ask" in caplog.text


def test_similar_ranks_entries_with_scores_and_logs_nothing(client: TestClient, fake_bot: Bot) -> None:
    body = client.get("/v1/similar", params={"text": "derivative of relu", "k": 2}).json()
    assert [e["id"] for e in body["entries"]][:1] == ["relu-derivative"] and len(body["entries"]) == 2
    assert body["entries"][0]["score"] >= body["entries"][1]["score"]
    assert set(body["entries"][0]) == {"id", "title", "summary", "topics", "score", "url", "permalink"}
    assert rows(fake_bot, "SELECT COUNT(*) FROM asks") == [(0,)]


# --- entries, previews and the sandbox ------------------------------------------------------------------------------

def test_entries_lists_every_entry(client: TestClient) -> None:
    entries = client.get("/v1/entries").json()["entries"]
    assert sorted(e["id"] for e in entries) == ["loss-vs-cost", "one-over-m", "relu-derivative", "shapes"]
    assert set(entries[0]) == {"id", "title", "summary", "topics", "permalink"}


def test_entry_is_whole_with_body_derivation_snippet_and_related(rich_bot: Bot) -> None:
    with serving(rich_bot) as client:
        entry = client.get("/v1/entries/one-over-m").json()
    assert entry["body"].startswith("**Short answer.**") and entry["snippet"] == "tiny.py"
    assert "np.ones(3)" in entry["snippet_code"]
    assert entry["derivation"]["name"] == "cost-mean" and all(s["latex"] for s in entry["derivation"]["steps"])
    assert [r["id"] for r in entry["related"]] == ["loss-vs-cost", "shapes"]


def test_run_entry_runs_the_curated_snippet_in_the_sandbox(rich_bot: Bot) -> None:
    with serving(rich_bot) as client:
        result = client.post("/v1/entries/one-over-m/run").json()
        missing = client.post("/v1/entries/shapes/run")
    assert result["ok"] and result["exit_code"] == 0 and result["stdout"] == "claim: sum = 3\n"
    assert set(result) == {"stdout", "stderr", "exit_code", "seconds", "limit", "message", "isolation", "ok"}
    assert missing.status_code == 404 and missing.json()["error"] == "no snippet"


def test_preview_page_is_self_contained_html_with_mathml_a_highlighted_snippet_and_a_chat_link(
        rich_bot: Bot) -> None:
    with serving(rich_bot) as client:
        response = client.get("/e/one-over-m")
    page = response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert page.count("<math ") >= 2 and 'class="tex"' not in page  # the body's and every derivation step's math
    assert '<div class="highlight">' in page
    assert "<script" not in page and "stylesheet" not in page and " src=" not in page  # nothing fetched: no CDN
    assert f'<a href="{rich_bot.url("one-over-m")}">Ask a follow-up in the chat</a>' in page
    assert "Derivation: " in page


def test_preview_has_an_absolute_og_image_that_answers_a_card_sized_png(rich_bot: Bot) -> None:
    with serving(rich_bot, api_base_url="https://api.example.org/") as client:
        tags = MetaTags()
        tags.feed(client.get("/e/one-over-m").text)
        image = tags.tags["og:image"]
        assert image == "https://api.example.org/e/one-over-m/card.png"
        response = client.get(image.removeprefix("https://api.example.org"))
    png = response.content
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[12:16] == b"IHDR"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1200, 630) and 5_000 < len(png) < 300_000
    assert (tags.tags["og:image:width"], tags.tags["og:image:height"]) == ("1200", "630")


def test_the_card_of_an_unknown_entry_is_a_404(client: TestClient) -> None:
    response = client.get("/e/does-not-exist/card.png")
    assert response.status_code == 404 and response.json()["error"] == "unknown entry"


class MetaTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and found.get("content") is not None:
            self.tags[found.get("property") or found.get("name") or "?"] = found["content"] or ""


def test_preview_meta_tags_are_present_and_escaped(kb_dir: Path, tmp_path: Path) -> None:
    title = 'Why <script>alert("x")</script> & "1/m" matter'
    summary = 'dZ is per-example; "dW" averages <b>m</b> of them.'
    path = kb_dir / "one-over-m.md"
    text = path.read_text()
    text = text.replace("title: Why 1/m is in dW but not in dZ", f"title: '{title}'", 1)
    path.write_text(text.replace(text.split("\n")[3], f"summary: '{summary}'", 1))
    bot = Bot(load_settings(kb_dir=kb_dir, cache_dir=tmp_path / "cache"), embedder=HashEmbedder())
    with serving(bot) as client:
        page = client.get("/e/one-over-m").text
    parser = MetaTags()
    parser.feed(page)
    assert parser.tags["og:title"] == title and parser.tags["twitter:title"] == title
    assert parser.tags["og:description"] == summary and parser.tags["twitter:description"] == summary
    assert parser.tags["og:site_name"] == "Backprop Q&A" and parser.tags["twitter:card"] == "summary_large_image"
    assert parser.tags["og:url"] == bot.permalink("one-over-m")
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)" in page and "<b>m</b>" not in page


def test_math_is_sanitised_and_unsupported_latex_is_shown_as_source() -> None:
    assert "<script" not in math_html(r"\text{<script>alert(1)</script>}")
    assert "&lt;script&gt;" in math_html(r"\text{<script>alert(1)</script>}")
    assert math_html(r"\frac{1}{") == r'<code class="tex">\frac{1}{</code>'


def test_markdown_keeps_code_as_written_and_raw_html_as_text() -> None:
    out = markdown_html("Cost $J$, code `x = $y$`.\n\n$$\nJ = \\frac{1}{m}\n$$\n\n<img src=x onerror=alert(1)>")
    assert out.count('display="inline"') == 1 and out.count('display="block"') == 1
    assert "<code>x = $y$</code>" in out and "&lt;img src=x onerror=alert(1)&gt;" in out


# --- keys, feedback and arbitrary code -------------------------------------------------------------------------------

def test_feedback_is_open_by_default_and_lands_in_the_store(client: TestClient, fake_bot: Bot) -> None:
    response = client.post("/v1/feedback", json={"entry_id": "shapes", "question": "shape of dW?", "helpful": False,
                                                 "comment": "wanted db too"})
    assert response.status_code == 201 and response.json() == {"ok": True, "id": 1}
    assert rows(fake_bot, "SELECT entry_id, question, helpful, comment FROM feedback") == [
        ("shapes", "shape of dW?", 0, "wanted db too")]


def test_feedback_with_an_ask_id_of_no_ask_is_kept_without_the_link(client: TestClient, fake_bot: Bot) -> None:
    asked = client.post("/v1/ask", json={"question": "shape of dW?"}).json()["ask_id"]
    for ask_id in (asked, 999_999):
        response = client.post("/v1/feedback", json={"entry_id": "shapes", "question": "shape of dW?",
                                                     "helpful": True, "ask_id": ask_id})
        assert response.status_code == 201
    assert rows(fake_bot, "SELECT ask_id FROM feedback ORDER BY id") == [(asked,), (None,)]


def test_a_request_sent_again_with_its_idempotency_key_is_stored_once(client: TestClient, fake_bot: Bot) -> None:
    ask = [client.post("/v1/ask", json={"question": "shape of dW?"}, headers={"Idempotency-Key": "a1"}).json()
           for _ in range(2)]  # e.g. the first reply was lost to a restart, and the client sent it again
    assert ask[0]["ask_id"] == ask[1]["ask_id"] is not None
    rating = {"entry_id": "shapes", "question": "shape of dW?", "helpful": True, "ask_id": ask[0]["ask_id"]}
    ids = [client.post("/v1/feedback", json=rating, headers={"Idempotency-Key": "a1"}).json()["id"] for _ in range(2)]
    assert ids[0] == ids[1] and rows(fake_bot, "SELECT COUNT(*) FROM asks UNION ALL SELECT COUNT(*) FROM feedback") == [
        (1,), (1,)]


def test_an_idempotency_key_that_is_not_a_token_is_a_422(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": "shape of dW?"}, headers={"Idempotency-Key": "a b"})
    assert response.status_code == 422 and "Idempotency-Key" in response.text


@pytest.mark.parametrize("headers, status, error", [
    ({}, 401, "missing API key"),
    ({"X-API-Key": "guess"}, 403, "wrong API key"),
    ({"X-API-Key": "k2"}, 201, None),
])
def test_feedback_needs_a_key_once_keys_are_set(fake_bot: Bot, headers: dict[str, str], status: int,
                                                error: str | None) -> None:
    with serving(fake_bot, api_keys="k1, k2") as client:
        response = client.post("/v1/feedback", headers=headers,
                               json={"entry_id": "shapes", "question": "q", "helpful": True})
    assert response.status_code == status and response.json().get("error") == error


@pytest.mark.parametrize("overrides, headers, status, error, detail", [
    ({}, {"X-API-Key": "k"}, 403, "disabled", "BOT_API_RUN_CODE=true"),
    ({"api_run_code": True}, {"X-API-Key": "k"}, 403, "no API key configured", "BOT_API_KEYS="),
    ({"api_run_code": True, "api_keys": "k"}, {}, 401, "missing API key", "X-API-Key header"),
    ({"api_run_code": True, "api_keys": "k"}, {"X-API-Key": "K"}, 403, "wrong API key", "does not match"),
])
def test_run_code_is_off_by_default_and_needs_a_key(fake_bot: Bot, overrides: dict[str, Any],
                                                    headers: dict[str, str], status: int, error: str,
                                                    detail: str) -> None:
    with serving(fake_bot, **overrides) as client:
        response = client.post("/v1/run", headers=headers, json={"code": "print(42)"})
    assert response.status_code == status
    assert response.json()["error"] == error and detail in response.json()["detail"]


def test_run_code_with_a_key_runs_it_in_the_sandbox(fake_bot: Bot) -> None:
    with serving(fake_bot, api_run_code=True, api_keys="k") as client:
        result = client.post("/v1/run", headers={"X-API-Key": "k"}, json={"code": "print(6 * 7)"}).json()
        too_long = client.post("/v1/run", headers={"X-API-Key": "k"}, json={"code": "#" * 100_001})
    assert result["ok"] and result["stdout"] == "42\n"
    assert too_long.status_code == 413 and "100,001 characters" in too_long.json()["detail"]


@pytest.mark.usefixtures("root_only")
def test_where_code_would_run_as_root_only_curated_snippets_run_and_readyz_says_so(rich_bot: Bot) -> None:
    with serving(rich_bot, api_run_code=True, api_keys="k") as client:
        ready = client.get("/readyz").json()
        curated = client.post("/v1/entries/one-over-m/run").json()
        sent = client.post("/v1/run", headers={"X-API-Key": "k"}, json={"code": "print(6 * 7)"}).json()
    assert ready["sandbox"]["isolation"] == "limits only (as root)" and "edited code is refused" in ready["sandbox"][
        "detail"]
    assert curated["ok"] and curated["stdout"] == "claim: sum = 3\n"
    assert not sent["ok"] and sent["exit_code"] is None and "never runs as root" in sent["message"]


# --- errors: one shape, the right status -----------------------------------------------------------------------------

@pytest.mark.parametrize("method, path, kwargs, status, error", [
    ("GET", "/nowhere", {}, 404, "not found"),
    ("DELETE", "/v1/ask", {}, 405, "method not allowed"),
    ("GET", "/v1/entries/no-such-entry", {}, 404, "unknown entry"),
    ("GET", "/e/no-such-entry", {}, 404, "unknown entry"),
    ("POST", "/v1/entries/no-such-entry/run", {}, 404, "unknown entry"),
    ("POST", "/v1/feedback", {"json": {"entry_id": "nope", "question": "q", "helpful": True}}, 404, "unknown entry"),
    ("POST", "/v1/ask", {"json": {"question": "x" * 4001}}, 413, "too large"),
    ("GET", "/v1/similar", {"params": {"text": "x" * 4001}}, 413, "too large"),
    ("POST", "/v1/ask", {"json": {"question": "x" * 300_000}}, 413, "too large"),
    ("POST", "/v1/ask", {"json": {}}, 422, "invalid input"),
    ("POST", "/v1/ask", {"json": {"question": "  "}}, 422, "invalid input"),
    ("POST", "/v1/ask", {"json": {"question": "q", "top_k": 0}}, 422, "invalid input"),
    ("POST", "/v1/ask", {"json": {"question": "q", "typo": 1}}, 422, "invalid input"),
    ("POST", "/v1/ask", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 422,
     "invalid input"),
    ("GET", "/v1/similar", {}, 422, "invalid input"),
    ("GET", "/v1/similar", {"params": {"text": "relu", "k": 0}}, 422, "invalid input"),
    ("POST", "/v1/feedback", {"json": {"entry_id": "shapes", "question": "q"}}, 422, "invalid input"),
    ("POST", "/v1/feedback", {"json": {"entry_id": "shapes", "question": "q", "helpful": True,
                                       "comment": "x" * 2001}}, 422, "invalid input"),
    # a lone surrogate is not text: it cannot be embedded or stored, and a retry can never succeed
    ("POST", "/v1/ask", raw(b'{"question": "why no 1/m in dZ \\ud800"}'), 422, "invalid input"),
    ("POST", "/v1/feedback", raw(b'{"entry_id": "shapes", "question": "q \\ud800", "helpful": true}'), 422,
     "invalid input"),
    ("POST", "/v1/feedback", raw(b'{"entry_id": "shapes", "question": "q", "helpful": true, "comment": "\\udfff"}'),
     422, "invalid input"),
    ("POST", "/v1/feedback", {"json": {"entry_id": "shapes", "question": "q", "helpful": True,
                                       "ask_id": 9223372036854775808}}, 422, "invalid input"),
    ("POST", "/v1/ask", {"json": {"question": ""}}, 422, "invalid input"),
    ("GET", "/v1/similar", {"params": {"text": ""}}, 422, "invalid input"),
    ("POST", "/v1/ask", {"json": {"question": "q", "top_k": True}}, 422, "invalid input"),
    # bodies the JSON parser refuses are 422 like any other invalid input, as the schema says
    ("POST", "/v1/ask", raw(b'{"question": "why \xff"}'), 422, "invalid input"),
    ("POST", "/v1/ask", raw(b"[" * 10_000 + b"]" * 10_000), 422, "invalid input"),
    ("POST", "/v1/ask", raw(b'{"question": "q", "top_k": ' + b"9" * 5000 + b"}"), 422, "invalid input"),
])
def test_errors_have_one_shape_and_the_right_status(client: TestClient, method: str, path: str,
                                                    kwargs: dict[str, Any], status: int, error: str) -> None:
    response = client.request(method, path, **kwargs)
    body = response.json()
    assert response.status_code == status and body["status"] == status
    assert body["ok"] is False and body["error"] == error and body["detail"]
    assert set(body) == {"ok", "status", "error", "detail"}


def test_a_model_process_that_died_mid_question_is_a_503_to_retry(fake_bot: Bot,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def died(texts: list[str]) -> Any:
        raise ModelUnavailable("the model-1 process stopped (exit code -9) while encoding; retry: a new one is started")

    monkeypatch.setattr(fake_bot.retriever.embedder, "encode", died)
    with serving(fake_bot) as client:
        response = client.post("/v1/ask", json={"question": "relu derivative"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.json()["error"] == "model unavailable" and "exit code -9" in response.json()["detail"]


def test_a_streamed_body_over_the_cap_is_413(fake_bot: Bot) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count
        yield b'{"question": "'
        for _ in range(40):
            yield b"x" * 100
        yield b'"}'

    with serving(fake_bot, api_max_body_kb=2) as client:
        response = client.post("/v1/ask", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["detail"] == "the request body is larger than 2 KB"


def test_rate_limit_answers_429_with_retry_after_and_spares_health_checks(fake_bot: Bot) -> None:
    with serving(fake_bot, api_rate_limit=2) as client:
        assert [client.get("/v1/entries").status_code for _ in range(2)] == [200, 200]
        limited = client.get("/v1/similar", params={"text": "relu"})
        assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
    assert limited.status_code == 429 and limited.json()["error"] == "rate limited"
    assert int(limited.headers["retry-after"]) >= 1 and "more than 2 requests a minute" in limited.json()["detail"]


def test_token_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(60, clock=lambda: now[0])  # one token a second, bursts of 60
    assert all(bucket.take("a") == 0.0 for _ in range(60))
    assert bucket.take("a") == pytest.approx(1.0) and bucket.take("b") == 0.0  # clients are counted apart
    now[0] = 1.0
    assert bucket.take("a") == 0.0 and bucket.take("a") > 0


def test_cors_allows_only_the_listed_origins(fake_bot: Bot) -> None:
    forum = "https://community.deeplearning.ai"
    with serving(fake_bot, api_cors_origins=f"{forum}/, https://other.example") as client:
        allowed = client.get("/v1/entries", headers={"Origin": forum})
        refused = client.get("/v1/entries", headers={"Origin": "https://evil.example"})
        preflight = client.options("/v1/ask", headers={"Origin": forum, "Access-Control-Request-Method": "POST",
                                                       "Access-Control-Request-Headers": "content-type"})
    assert allowed.headers["access-control-allow-origin"] == forum
    assert "access-control-allow-origin" not in refused.headers
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == forum


def test_openapi_documents_every_route_and_the_error_shape(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/v1/ask", "/v1/similar", "/v1/entries", "/v1/entries/{entry_id}", "/v1/entries/{entry_id}/run",
            "/v1/run", "/v1/feedback", "/healthz", "/readyz", "/e/{entry_id}"} <= set(schema["paths"])
    assert "ErrorBody" in json.dumps(schema["paths"]["/v1/ask"]["post"]["responses"]["422"])
    assert client.get("/docs").status_code == 200


def test_the_api_reference_documents_every_route(client: TestClient) -> None:
    section = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for path in client.get("/openapi.json").json()["paths"]:
        assert f" {path.replace('{entry_id}', '{id}')}" in section, path


def test_serve_runs_one_http_process_over_the_model_processes_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from fastapi import FastAPI

    from bot import cli

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append({"app": app, **kwargs}))
    assert cli.main(["serve", "--port", "8123", "--workers", "3"]) == 0
    [call] = calls
    assert isinstance(call["app"], FastAPI)
    assert call["app"].state.settings.api_workers == 3
    assert (call["host"], call["port"]) == ("127.0.0.1", 8123)
    assert "bot" in call["log_config"]["loggers"]  # start-up and errors of bot.* show up next to uvicorn's


def test_serve_refuses_bad_arguments_before_loading_anything(capsys: pytest.CaptureFixture[str]) -> None:
    from bot import cli

    assert cli.main(["serve", "--workers", "-1"]) == 2
    assert "--workers must be >= 0 (0 = one per core)" in capsys.readouterr().err


# --- the real model ---------------------------------------------------------------------------------------------------

def test_ask_with_an_unknown_previous_entry_is_404_naming_the_field(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": "and db?", "context": {"previous_entry_id": "nope"}})
    assert response.status_code == 404 and "context.previous_entry_id 'nope'" in response.text


def test_the_schema_documents_the_ask_context(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert "previous_entry_id" in schemas["AskContext"]["properties"]
    assert "context" in schemas["AskRequest"]["properties"] and "follow_up_of" in schemas["AskResponse"]["properties"]


def test_real_ask_and_preview(real_bot: Bot, tmp_path: Path) -> None:
    settings = replace(real_bot.settings, db_path=tmp_path / "bot.sqlite3", api_rate_limit=0)
    with TestClient(create_app(lambda: real_bot, settings)) as client:
        wait_ready(client)
        body = client.post("/v1/ask", json={"question": "why is there no 1/m in dZ2?"}).json()
        similar = client.get("/v1/similar", params={"text": "transpose of W in dA_prev", "k": 3}).json()
        page = client.get("/e/one-over-m-placement").text
    assert body["answer"]["id"] == "one-over-m-placement" and "$$" in body["answer_markdown"]
    assert "da-prev-derivation" in [e["id"] for e in similar["entries"]]
    assert page.count("<math ") > 20 and 'class="tex"' not in page


def test_real_follow_up_with_context_gets_the_chats_entry_and_derivation(real_bot: Bot, tmp_path: Path) -> None:
    settings = replace(real_bot.settings, db_path=tmp_path / "bot.sqlite3", api_rate_limit=0)
    with TestClient(create_app(lambda: real_bot, settings)) as client:
        wait_ready(client)
        body = client.post("/v1/ask", json={"question": "and what if the hidden layer is ReLU instead?",
                                            "context": {"previous_entry_id": "dz-output-derivation"}}).json()
    assert body["answer"]["id"] == "dz-hidden-derivation" and body["follow_up_of"] == "dz-output-derivation"
    assert body["derivation"]["choice"]["activation"] == "relu"


def test_served_app_runs_the_model_in_worker_processes_and_stops_them(tmp_path: Path) -> None:
    """What `python -m bot serve` runs, with the real model in one worker process (~10 s to start)."""
    from bot.serve.api import app_from_env

    settings = load_settings(cache_dir=tmp_path / "index", db_path=tmp_path / "bot.sqlite3", api_workers=1)
    app = app_from_env(settings)
    with TestClient(app) as client:
        wait_ready(client, seconds=300)
        body = client.post("/v1/ask", json={"question": "why do we divide by m in dW but not in dZ?"}).json()
        [model] = app.state.bot.embedder.models
        pid = model.pid
    assert body["answer"]["id"] == "one-over-m-placement"
    assert pid is not None and pid != os.getpid()
    with pytest.raises(ProcessLookupError):  # shut down with the app
        os.kill(pid, 0)


# --- fuzzing the OpenAPI schema -----------------------------------------------------------------------------------

def _schema(tmp: Path, **overrides: Any) -> Any:
    """Schemathesis runs the app's lifespan itself; the fake bot is ready a moment after the schema is read."""
    settings = load_settings(kb_dir=FIXTURE_KB, cache_dir=tmp / "cache", db_path=tmp / "bot.sqlite3", api_rate_limit=0,
                             **overrides)
    bot = Bot(settings, embedder=HashEmbedder())
    app = create_app(lambda: bot, settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    for _ in range(200):
        if app.state.bot is not None:
            break
        time.sleep(0.02)
    return schema


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _schema(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def keyed_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Keys set, POST /v1/run on and the Discourse webhook on: feedback and run need the key, deliveries a signature
    (the forum is a closed port on loopback: the worker's calls fail at once)."""
    return _schema(tmp_path_factory.mktemp("fuzz-keyed"), api_keys="fuzz-key", api_run_code=True,
                   discourse_url="http://127.0.0.1:9", discourse_api_key="k", discourse_username="backprop-bot",
                   discourse_webhook_secret="fuzz-secret")


def fuzz_every_operation(schema: Any, mode: GenerationMode, headers: dict[str, str] | None = None) -> None:
    """Every operation, with valid (positive) or invalid (negative) input, through every schemathesis check."""
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.given(case=operation.as_strategy(mode))
        @hypothesis.settings(max_examples=12, deadline=None, derandomize=True, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck))
        def fuzz(case: Any) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, headers=headers)  # every check schemathesis has
            if response.status_code >= 400:
                assert set(response.json()) == {"ok", "status", "error", "detail"}

        try:
            fuzz()
        except hypothesis.errors.Unsatisfiable:  # an operation without inputs has no invalid input to send
            assert mode is GenerationMode.NEGATIVE, operation.label


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_fuzzed_requests_pass_every_schema_check(api_schema: Any, mode: GenerationMode) -> None:
    fuzz_every_operation(api_schema, mode)


@pytest.mark.parametrize("key", ["fuzz-key", None], ids=["with-key", "without-key"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_fuzzed_requests_pass_every_schema_check_with_and_without_a_key(keyed_schema: Any, mode: GenerationMode,
                                                                         key: str | None) -> None:
    fuzz_every_operation(keyed_schema, mode, {"X-API-Key": key} if key else None)


# --- slow clients, over a real socket on loopback ----------------------------------------------------------------

@contextmanager
def listening(bot: Bot, **overrides: Any) -> Iterator[int]:
    """The API served by uvicorn in a thread on 127.0.0.1 (a free port), as `bot serve` runs it; yields the port."""
    import socket

    import uvicorn

    settings = replace(bot.settings, **{"db_path": bot.settings.cache_dir.parent / "bot.sqlite3",
                                        "api_rate_limit": 0, **overrides})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(lambda: bot, settings), host="127.0.0.1", port=port,
                                           log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_body_that_never_arrives_gets_408_and_the_connection_is_closed(fake_bot: Bot) -> None:
    import socket

    with listening(fake_bot, api_body_timeout_s=0.5) as port, socket.create_connection(("127.0.0.1", port), 5) as s:
        s.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{\"qu")  # 4 of the 100 bytes, then nothing
        s.settimeout(5)
        reply = b""
        while chunk := s.recv(65536):  # until the server closes the connection
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 408") and b'"error":"request timeout"' in reply


def test_a_link_to_no_entry_is_an_html_404_page_for_a_browser_and_json_for_a_client(client: TestClient) -> None:
    page = client.get("/e/does-not-exist", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "This link points to no entry" in page.text and "“does-not-exist”" in page.text
    api = client.get("/e/does-not-exist", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.json()["error"] == "unknown entry"


def test_the_schema_documents_both_404s_of_a_preview_link(client: TestClient) -> None:
    missing = client.get("/openapi.json").json()["paths"]["/e/{entry_id}"]["get"]["responses"]["404"]["content"]
    assert set(missing) == {"text/html", "application/json"}
