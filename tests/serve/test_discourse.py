"""The bot on a Discourse forum: deliveries signed as Discourse signs them, against a stand-in forum on loopback."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.answer import Bot
from bot.cli import main
from bot.mentors.store import ForumTopic, SqliteStore, TopicJob
from bot.serve.api import create_app
from bot.serve.discourse import AMBIGUOUS_LINE, REPLY_LINE, WHISPER_LINE, preview, topic_id_from
from bot.serve.forum import forum_post
from tests.discourse_standin import API_KEY, BOT_USER, StandIn

SECRET = "a-webhook-secret"
SURE = ("Why is there no 1/m in dZ?", "In the lab dZ2 = A2 - Y has no 1/m, but dW has one. Why?")
UNSURE = ("loss or cost 1/m dW shapes", "")
AWAY = ("tell me a joke please", "")


@pytest.fixture
def forum() -> Iterator[StandIn]:
    with StandIn() as stand_in:
        yield stand_in


def until(condition: Callable[[], Any], seconds: float = 10.0) -> Any:
    """Poll until `condition()` is truthy (the worker posts off the request path); fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (value := condition()):
            return value
        time.sleep(0.02)
    raise AssertionError(f"not within {seconds} s")


def db_path(bot: Bot) -> Any:
    return bot.settings.cache_dir.parent / "bot.sqlite3"


def topic_rows(bot: Bot) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path(bot)) as db:
        return db.execute("SELECT topic_id, state, kind, entry_id, mode, attempts FROM forum_topics").fetchall()


def finished(bot: Bot, topic_id: int) -> tuple[Any, ...] | None:
    return next((r for r in topic_rows(bot) if r[0] == topic_id and r[1] not in ("queued", "posting")), None)


@contextmanager
def serving(bot: Bot, forum: StandIn, **overrides: Any) -> Iterator[TestClient]:
    """The API over `bot`, drafting on the stand-in forum; yields once the worker's catch-up pass has read it."""
    settings = replace(bot.settings, **{"db_path": db_path(bot), "api_rate_limit": 0, "discourse_url": forum.url,
                                        "discourse_api_key": API_KEY, "discourse_username": BOT_USER,
                                        "discourse_webhook_secret": SECRET, "discourse_categories": "week-3",
                                        "discourse_retry_s": 0.05, "discourse_max_attempts": 3, **overrides})
    seen = len(forum.calls("GET", "/latest.json"))
    with TestClient(create_app(lambda: bot, settings)) as client:
        if not settings.discourse_missing:
            until(lambda: len(forum.calls("GET", "/latest.json")) > seen)
        yield client


def post(topic_id: int, title: str, raw: str, **changes: Any) -> dict[str, Any]:
    """A post_created payload's post, as Discourse sends it for the opening post of a regular topic."""
    return {"id": topic_id * 10, "topic_id": topic_id, "post_number": 1, "raw": raw, "topic_title": title,
            "category_id": 5, "category_slug": "week-3", "username": "student", "post_type": 1,
            "topic_archetype": "regular"} | changes


def deliver(client: TestClient, forum: StandIn, body: dict[str, Any], event_id: int = 1, secret: str | None = SECRET,
            instance: str | None = None, event: str = "post_created") -> Any:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Discourse-Event-Type": event.split("_")[0],
               "X-Discourse-Event": event, "X-Discourse-Event-Id": str(event_id),
               "X-Discourse-Instance": instance or forum.url}
    if secret is not None:  # Discourse: sha256= and the hex HMAC-SHA256 of the raw body with the webhook's secret
        headers["X-Discourse-Event-Signature"] = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return client.post("/v1/discourse/webhook", content=raw, headers=headers)


def open_and_deliver(client: TestClient, forum: StandIn, topic_id: int, question: tuple[str, str]) -> Any:
    forum.open_topic(topic_id, *question)
    return deliver(client, forum, {"post": post(topic_id, *question)})


# --- a new topic gets one draft -------------------------------------------------------------------------------------

def test_an_opening_post_the_kb_answers_gets_one_whisper_with_the_forum_post(fake_bot: Bot, forum: StandIn) -> None:
    with serving(fake_bot, forum) as client:
        response = open_and_deliver(client, forum, 11, SURE)
        assert response.status_code == 200 and response.json()["action"] == "queued"
        until(lambda: finished(fake_bot, 11))
    [sent] = forum.calls("POST", "/posts.json")
    answer = fake_bot.ask(f"{SURE[0]}\n\n{SURE[1]}", derive=False)
    assert sent.headers["Api-Key"] == API_KEY and sent.headers["Api-Username"] == BOT_USER
    assert sent.form == {"topic_id": "11", "whisper": "true",
                         "raw": f"{WHISPER_LINE}\n\n{forum_post(answer, fake_bot.permalink('one-over-m'))}"}
    assert [p["post_type"] for p in forum.bot_posts(11)] == [4]  # a whisper
    assert finished(fake_bot, 11) == (11, "posted", "sure", "one-over-m", "whisper", 0)


def test_the_same_post_delivered_three_times_is_posted_once(fake_bot: Bot, forum: StandIn) -> None:
    with serving(fake_bot, forum) as client:
        forum.open_topic(12, *SURE)
        actions = [deliver(client, forum, {"post": post(12, *SURE)}, event_id).json()["action"] for event_id in (7, 7, 8)]
        until(lambda: finished(fake_bot, 12))
        time.sleep(0.3)  # a second post would be on its way by now
    assert actions == ["queued", "duplicate", "duplicate"]
    assert len(forum.bot_posts(12)) == 1


def test_two_api_apps_receiving_the_post_at_once_post_it_once(fake_bot: Bot, forum: StandIn) -> None:
    """Two apps with their own store connections and workers on one store file, as two `bot serve` processes."""
    with ExitStack() as stack:
        clients = [stack.enter_context(serving(fake_bot, forum)) for _ in range(2)]
        forum.open_topic(13, *SURE)
        start, actions = threading.Barrier(2), []

        def send(client: TestClient) -> None:
            start.wait()
            actions.append(deliver(client, forum, {"post": post(13, *SURE)}).json()["action"])

        threads = [threading.Thread(target=send, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        until(lambda: finished(fake_bot, 13))
        time.sleep(0.3)
    assert len(forum.bot_posts(13)) == 1
    assert sorted(actions) == ["duplicate", "queued"]


def test_an_ambiguous_question_gets_a_whisper_listing_the_candidates(fake_bot: Bot, forum: StandIn) -> None:
    answer = fake_bot.ask(UNSURE[0], derive=False)
    assert answer.ambiguous
    with serving(fake_bot, forum) as client:
        open_and_deliver(client, forum, 14, UNSURE)
        until(lambda: finished(fake_bot, 14))
    [sent] = forum.calls("POST", "/posts.json")
    assert sent.form["whisper"] == "true"
    assert sent.form["raw"].startswith(AMBIGUOUS_LINE)
    links = [line for line in sent.form["raw"].splitlines() if line.startswith("- [")]
    assert [f"({fake_bot.permalink(c.id)})" in line for c, line in zip(answer.candidates, links, strict=True)] == \
        [True] * len(answer.candidates)
    assert 2 <= len(links) <= 3


def test_out_of_scope_posts_nothing_and_logs_the_question_as_unanswered(fake_bot: Bot, forum: StandIn) -> None:
    with serving(fake_bot, forum) as client:
        open_and_deliver(client, forum, 15, AWAY)
        until(lambda: finished(fake_bot, 15))
    assert forum.calls("POST", "/posts.json") == []
    assert finished(fake_bot, 15)[1:3] == ("skipped", "out_of_scope")  # type: ignore[index]
    with sqlite3.connect(db_path(fake_bot)) as db:
        assert db.execute("SELECT channel, question, kind FROM asks").fetchall() == \
            [("forum", AWAY[0], "out_of_scope")]


def test_reply_mode_answers_in_public_when_sure(fake_bot: Bot, forum: StandIn) -> None:
    with serving(fake_bot, forum, discourse_mode="reply") as client:
        open_and_deliver(client, forum, 16, SURE)
        until(lambda: finished(fake_bot, 16))
    [sent] = forum.calls("POST", "/posts.json")
    assert "whisper" not in sent.form and sent.form["raw"].startswith(REPLY_LINE)
    assert finished(fake_bot, 16)[4] == "reply"  # type: ignore[index]


# --- refusals and what is ignored -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("secret", "instance", "status"), [(None, None, 401), ("not-the-secret", None, 403),
                                                             (SECRET, "https://another.forum", 403)],
                         ids=["missing-signature", "wrong-signature", "another-forum"])
def test_an_unsigned_or_foreign_delivery_is_refused_and_nothing_is_posted(fake_bot: Bot, forum: StandIn,
                                                                          secret: str | None, instance: str | None,
                                                                          status: int) -> None:
    with serving(fake_bot, forum) as client:
        forum.open_topic(21, *SURE)
        response = deliver(client, forum, {"post": post(21, *SURE)}, secret=secret, instance=instance)
        time.sleep(0.2)
    assert response.status_code == status and set(response.json()) == {"ok", "status", "error", "detail"}
    assert topic_rows(fake_bot) == [] and forum.calls("POST", "/posts.json") == []


@pytest.mark.parametrize("changes", [{"post_number": 2}, {"topic_archetype": "private_message"},
                                     {"username": BOT_USER}, {"category_id": 9, "category_slug": "general"},
                                     {"post_type": 4}],
                         ids=["a-reply", "a-private-message", "the-bots-own-post", "an-unwatched-category",
                              "a-whisper"])
def test_everything_but_a_students_opening_post_in_a_watched_category_is_ignored(
        fake_bot: Bot, forum: StandIn, changes: dict[str, Any]) -> None:
    with serving(fake_bot, forum) as client:
        forum.open_topic(22, *SURE)
        response = deliver(client, forum, {"post": post(22, *SURE, **changes)})
        time.sleep(0.2)
    assert response.status_code == 200 and response.json()["action"] == "ignored"
    assert topic_rows(fake_bot) == [] and forum.calls("POST", "/posts.json") == []


def test_a_ping_gets_200(fake_bot: Bot, forum: StandIn) -> None:
    with serving(fake_bot, forum) as client:
        response = deliver(client, forum, {"ping": "OK"}, event="ping")
    assert response.status_code == 200 and response.json()["action"] == "pong"


def test_the_webhook_is_off_until_its_settings_are_there(fake_bot: Bot, forum: StandIn) -> None:
    with serving(fake_bot, forum, discourse_api_key="") as client:
        response = deliver(client, forum, {"post": post(23, *SURE)})
    assert response.status_code == 403 and "BOT_DISCOURSE_API_KEY" in response.json()["detail"]


def test_deliveries_are_not_held_to_the_per_address_rate_limit(fake_bot: Bot, forum: StandIn) -> None:
    with serving(fake_bot, forum, api_rate_limit=2) as client:
        statuses = [deliver(client, forum, {"ping": "OK"}, event="ping").status_code for _ in range(5)]
        assert client.get("/v1/entries").status_code == 200
        assert [client.get("/v1/entries").status_code for _ in range(2)][-1] == 429  # the limit itself is on
    assert statuses == [200] * 5


# --- when the forum fails -------------------------------------------------------------------------------------------

def test_a_429_is_retried_after_its_retry_after(fake_bot: Bot, forum: StandIn) -> None:
    forum.fail(429, headers={"Retry-After": "1"})
    with serving(fake_bot, forum) as client:
        open_and_deliver(client, forum, 31, SURE)
        until(lambda: finished(fake_bot, 31))
    first, second = forum.calls("POST", "/posts.json")
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0
    assert len(forum.bot_posts(31)) == 1


def test_a_forum_that_stays_down_gets_bounded_retries_then_a_logged_failure(
        fake_bot: Bot, forum: StandIn, caplog: pytest.LogCaptureFixture) -> None:
    forum.fail(503, times=10)
    with caplog.at_level(logging.WARNING, "bot.serve.discourse"), serving(fake_bot, forum) as client:
        open_and_deliver(client, forum, 32, SURE)
        until(lambda: finished(fake_bot, 32))
    assert [r.status for r in forum.calls("POST", "/posts.json")] == [503, 503, 503]  # discourse_max_attempts
    assert finished(fake_bot, 32)[1] == "failed"  # type: ignore[index]
    assert any("topic 32: gave up after 3 attempt(s)" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("posted_before_the_crash", [True, False], ids=["post-reached-the-forum", "post-never-sent"])
def test_a_crash_between_claim_and_post_is_reconciled_on_restart_without_a_duplicate(
        fake_bot: Bot, forum: StandIn, posted_before_the_crash: bool) -> None:
    forum.open_topic(33, *SURE)
    store = SqliteStore(db_path(fake_bot))
    topic = ForumTopic(forum.url, 33, *SURE, "5")
    assert store.claim_topic(topic)
    assert store.take_topic(TopicJob(topic, "queued", 0), time.time(), lease_s=-1)  # taken, then the worker died
    if posted_before_the_crash:
        with forum.lock:  # the forum has the post; the dead worker never recorded it
            forum._add_post(forum.topics[33], "the draft the dead worker sent", BOT_USER, 4)
    with serving(fake_bot, forum):
        until(lambda: finished(fake_bot, 33))
    assert forum.calls("GET", "/t/33.json")  # read before any repost
    assert len(forum.bot_posts(33)) == 1
    assert len(forum.calls("POST", "/posts.json")) == (0 if posted_before_the_crash else 1)


def test_the_catch_up_pass_drafts_a_topic_opened_while_the_bot_was_away(fake_bot: Bot, forum: StandIn) -> None:
    forum.open_topic(41, *SURE)
    forum.open_topic(42, *SURE, category_id=9)  # not watched
    with serving(fake_bot, forum):
        until(lambda: finished(fake_bot, 41))
    assert len(forum.bot_posts(41)) == 1 and forum.bot_posts(42) == []
    assert forum.bot_posts(41)[0]["raw"].startswith(WHISPER_LINE)


@pytest.mark.parametrize(("text", "topic_id"), [("1234", 1234), ("https://forum.example/t/why-1-m/1234", 1234),
                                                 ("https://forum.example/t/why-1-m/1234/5", 1234),
                                                 ("https://forum.example/t/1234", 1234)])
def test_a_topic_is_named_by_its_id_or_its_url(text: str, topic_id: int) -> None:
    assert topic_id_from(text) == topic_id


def test_draft_shows_what_would_be_posted_on_a_topic_without_posting(fake_bot: Bot, forum: StandIn) -> None:
    forum.open_topic(51, *SURE)
    settings = replace(fake_bot.settings, discourse_url=forum.url, discourse_api_key=API_KEY,
                       discourse_username=BOT_USER)
    line, made = preview(fake_bot, settings, 51)
    assert line.startswith("topic 51: would post a sure draft as a whisper (entry one-over-m")
    assert made.markdown is not None and made.markdown.startswith(WHISPER_LINE)
    assert forum.calls("POST", "/posts.json") == [] and forum.calls("GET", "/t/51.json")


def test_draft_refuses_what_is_not_a_topic_before_loading_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discourse", "draft", "https://forum.example/c/week-3"]) == 2
    assert "neither a topic id nor a topic URL" in capsys.readouterr().err
