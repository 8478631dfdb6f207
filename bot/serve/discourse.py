"""The bot on a Discourse forum: webhook checks, a thin API client, the draft a new topic gets, and the worker
that posts it off the request path.

A delivery is answered in milliseconds: its topic is claimed in the store (one row per topic, ever) and queued
there; a worker thread in every API process takes due topics one at a time, drafts and posts. A topic a dead worker
left half done is read back (`GET /t/{id}.json`) before anything is posted again.
"""
from __future__ import annotations

import email.utils
import hashlib
import hmac
import html
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from bot.answer import Bot
from bot.config import Settings
from bot.datatypes import Answer
from bot.errors import BadQuestion, BotError
from bot.mentors.store import ForumTopic, Store, TopicJob, TopicOutcome
from bot.serve.forum import forum_post
from bot.serve.guards import ApiError

log = logging.getLogger(__name__)
# mode=reply posts in public only above this entry_confidence, else it whispers. Chosen, not fitted: well past
# AMBIGUOUS (0.5), where first entries held out are already right 0.82 of the time (bot/answer.py).
REPLY_ABOVE = 0.8
LEASE_S = 120.0  # a topic `posting` this long is a dead worker's: another one reads the topic and finishes it
POLL_S = 1.0  # how often a worker looks for due topics (retries, other processes' claims); a delivery wakes it
MAX_WAIT_S = 3600.0  # a longer Retry-After is cut to this
CATCH_UP_HOURS = 48  # at start, topics opened this recently without a draft get one
TIMEOUT_S = 10.0
WHISPER_LINE = ("*Automated draft for mentors to check (only staff see this whisper): edit it, then post it as a "
                "reply, or delete it.*")
REPLY_LINE = "*Automated answer from the course's backprop Q&A bot; a mentor will check it.*"
AMBIGUOUS_LINE = ("*Automated draft for mentors (only staff see this whisper): the question may be one of these "
                  "entries; pick the one that answers it and reply with it.*")
TOPIC_URL = re.compile(r"/t/(?:[^/?#]+/)?(\d+)")
_TAG = re.compile(r"<[^>]+>")
OPENAPI: dict[str, Any] = {"requestBody": {"required": True, "description": "Discourse's JSON, signed with the "
                                           "webhook's secret: {post: {...}}, {topic: {...}} or {ping: 'OK'}",
                                           "content": {"application/json": {"schema": {"type": "object"}}}}}


class DiscourseError(BotError):
    """A call to the forum failed; `transient` ones (429, 5xx, timeouts, no connection) are worth retrying."""

    def __init__(self, message: str, transient: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.transient, self.retry_after = transient, retry_after


class Client:
    """The four calls the bot makes, over httpx, as the bot user (Api-Key and Api-Username headers)."""

    def __init__(self, base: str, api_key: str, username: str, timeout: float = TIMEOUT_S) -> None:
        headers = {"Api-Key": api_key, "Api-Username": username, "Accept": "application/json"}
        self.base, self.http = base.rstrip("/"), httpx.Client(base_url=base, headers=headers, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def create_post(self, topic_id: int, raw: str, whisper: bool) -> dict[str, Any]:
        """Reply in the topic; a form body, as Discourse reads `whisper` as the string "true"."""
        form = {"topic_id": str(topic_id), "raw": raw} | ({"whisper": "true"} if whisper else {})
        return self._call("POST", "/posts.json", data=form)

    def topic(self, topic_id: int) -> dict[str, Any]:
        """The topic and its first posts, with each post's Markdown (`raw`) where the forum gives it."""
        return self._call("GET", f"/t/{topic_id}.json", params={"include_raw": "true"})

    def latest(self) -> list[dict[str, Any]]:
        topics = self._call("GET", "/latest.json").get("topic_list", {}).get("topics", [])
        return [t for t in topics if isinstance(t, dict)]

    def category_ids(self) -> dict[str, int]:
        """Category slug -> id (to match slugs in BOT_DISCOURSE_CATEGORIES against listed topics)."""
        found = self._call("GET", "/categories.json").get("category_list", {}).get("categories", [])
        return {str(c.get("slug")): int(c["id"]) for c in found if isinstance(c, dict) and "id" in c}

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise DiscourseError(f"{method} {path}: no answer within {self.http.timeout.read} s", True) from None
        except httpx.TransportError as exc:
            raise DiscourseError(f"{method} {path}: cannot reach {self.base} ({exc})", True) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise DiscourseError(f"{method} {path}: {response.status_code} {response.text[:200]}", True,
                                 retry_after(response.headers.get("Retry-After")))
        if response.status_code >= 400:
            raise DiscourseError(f"{method} {path}: {response.status_code} {response.text[:300]}", False)
        try:
            body = response.json()
        except ValueError:
            raise DiscourseError(f"{method} {path}: the forum answered {response.status_code} without JSON", True) \
                from None
        return body if isinstance(body, dict) else {}


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# --- the webhook ----------------------------------------------------------------------------------------------------

def signature(secret: str, body: bytes) -> str:
    """The X-Discourse-Event-Signature header Discourse sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_delivery(settings: Settings, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The delivery's JSON, once it is shown to come from our forum; else ApiError 401, 403 or 422."""
    if settings.discourse_mode == "off" or settings.discourse_missing:
        missing = ", ".join(settings.discourse_missing) or "BOT_DISCOURSE_MODE=whisper (it is off)"
        raise ApiError(403, f"the Discourse integration is off on this server; an operator sets {missing}",
                       "disabled")
    given = headers.get("x-discourse-event-signature")
    if not given:
        raise ApiError(401, "a Discourse delivery needs the X-Discourse-Event-Signature header: set the webhook's "
                            "secret in Discourse to BOT_DISCOURSE_WEBHOOK_SECRET", "missing signature")
    if not hmac.compare_digest(given.encode(), signature(settings.discourse_webhook_secret, body).encode()):
        raise ApiError(403, "X-Discourse-Event-Signature does not match the body signed with "
                            "BOT_DISCOURSE_WEBHOOK_SECRET; give the webhook in Discourse the same secret",
                       "wrong signature")
    instance = headers.get("x-discourse-instance", "").rstrip("/")
    if instance and instance != settings.discourse_base:
        raise ApiError(403, f"the delivery is from {instance}, and this server drafts for {settings.discourse_base} "
                            "(BOT_DISCOURSE_URL)", "another forum")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, dict):
        raise ApiError(422, [{"loc": ["body"], "type": "json_invalid",
                              "msg": "a Discourse delivery is one JSON object, e.g. {\"post\": {...}}"}])
    return payload


def accept(payload: dict[str, Any], event: str, settings: Settings, store: Store) -> dict[str, Any]:
    """Acknowledge a checked delivery: pong, ignore it (saying why) or claim and queue its topic."""
    if "ping" in payload or event == "ping":
        return {"ok": True, "action": "pong", "reason": "ping", "topic_id": None}
    topic = topic_of(payload.get("post"), event, settings)
    if isinstance(topic, str):
        return {"ok": True, "action": "ignored", "reason": topic, "topic_id": None}
    claimed = store.claim_topic(topic)
    if claimed:
        log.info("discourse topic %d: claimed and queued", topic.topic_id)
    return {"ok": True, "action": "queued" if claimed else "duplicate", "topic_id": topic.topic_id,
            "reason": "a new topic" if claimed else "this topic was claimed already: one draft per topic"}


def topic_of(post: Any, event: str, settings: Settings) -> ForumTopic | str:
    """The topic to draft for when `post` opens a regular topic in a watched category; else why it is ignored."""
    if event not in ("", "post_created") or not isinstance(post, dict):
        return f"not a new post ({event or 'no post in the body'}): the bot drafts on post_created"
    if post.get("post_number") != 1:
        return "not the opening post of a topic"
    if post.get("topic_archetype", "regular") != "regular":
        return "a private message"
    if str(post.get("username", "")).lower() == settings.discourse_username.lower():
        return "the bot's own post"
    if post.get("post_type", 1) != 1:
        return "not a regular post (a whisper or a moderator action)"
    if not watched(settings, post.get("category_id"), post.get("category_slug")):
        return f"category {post.get('category_slug') or post.get('category_id')} is not watched (BOT_DISCOURSE_CATEGORIES)"
    try:
        topic_id = int(post["topic_id"])
    except (KeyError, TypeError, ValueError):
        return "the post has no topic_id"
    return ForumTopic(settings.discourse_base, topic_id, str(post.get("topic_title") or ""), str(post.get("raw") or ""),
                      str(post.get("category_id", "")))


def watched(settings: Settings, category_id: Any, slug: Any = None, slugs: Mapping[str, int] | None = None) -> bool:
    wanted = settings.discourse_category_list
    if not wanted:
        return True
    ids = {w for w in wanted if w.isdigit()} | {str(i) for w, i in (slugs or {}).items() if w in wanted}
    return str(category_id) in ids or (slug is not None and str(slug) in wanted)


# --- the draft ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Draft:
    """What the bot posts on a topic: `markdown` None means nothing (out of scope, small talk)."""

    kind: str  # sure | ambiguous | out_of_scope
    markdown: str | None
    whisper: bool
    answer: Answer | None

    @property
    def mode(self) -> str | None:
        return None if self.markdown is None else "whisper" if self.whisper else "reply"


def draft(bot: Bot, topic: ForumTopic, mode: str) -> Draft:
    """The reply for a topic's opening post: the forum-safe answer, the candidates to choose from, or nothing."""
    limit = bot.settings.max_question_chars
    question = f"{topic.title}\n\n{topic.raw}".strip()[:limit]
    try:
        answer = bot.ask(question, derive=False)
    except BadQuestion:
        return Draft("out_of_scope", None, True, None)
    if answer.entry is None:
        return Draft("out_of_scope", None, True, answer)
    if answer.ambiguous:
        lines = [AMBIGUOUS_LINE, ""] + [f"- [{c.title}]({bot.permalink(c.id)}): {c.summary}" for c in answer.candidates]
        return Draft("ambiguous", "\n".join(lines) + "\n", True, answer)
    public = mode == "reply" and answer.entry_confidence > REPLY_ABOVE
    body = forum_post(answer, bot.permalink(answer.entry.id))
    return Draft("sure", f"{REPLY_LINE if public else WHISPER_LINE}\n\n{body}", not public, answer)


def opening_post(view: dict[str, Any], forum: str) -> tuple[ForumTopic, str] | None:
    """The topic and its opening post's author from `GET /t/{id}.json`; None when the first post is not there."""
    posts = view.get("post_stream", {}).get("posts", [])
    first = next((p for p in posts if isinstance(p, dict) and p.get("post_number") == 1), None)
    if first is None or "id" not in view:
        return None
    raw = first.get("raw")
    if not isinstance(raw, str):  # a forum that leaves out `raw` still gives the HTML
        raw = html.unescape(_TAG.sub(" ", str(first.get("cooked", "")))).strip()
    topic = ForumTopic(forum, int(view["id"]), str(view.get("title", "")), raw, str(view.get("category_id", "")))
    return topic, str(first.get("username", ""))


def has_post_by(view: dict[str, Any], username: str) -> bool:
    posts = view.get("post_stream", {}).get("posts", [])
    return any(isinstance(p, dict) and str(p.get("username", "")).lower() == username.lower() for p in posts)


def topic_id_from(text: str) -> int:
    """The topic id in a topic URL (…/t/slug/123, …/t/123/4) or a bare id; BadQuestion otherwise."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if (found := TOPIC_URL.search(text)) is not None:
        return int(found[1])
    raise BadQuestion(f"{text!r} is neither a topic id nor a topic URL; give e.g. 1234 or https://forum/t/slug/1234")


def preview(bot: Bot, settings: Settings, topic_id: int) -> tuple[str, Draft]:
    """What the bot would post on an existing topic, read through the API: one line saying how, and the draft."""
    client = Client(settings.discourse_base, settings.discourse_api_key, settings.discourse_username)
    try:
        opened = opening_post(client.topic(topic_id), settings.discourse_base)
    finally:
        client.close()
    if opened is None:
        raise BadQuestion(f"topic {topic_id} on {settings.discourse_base} has no opening post the bot can read")
    made = draft(bot, opened[0], settings.discourse_mode)
    if made.markdown is None:
        return f"topic {topic_id}: nothing would be posted (out of scope; a delivery logs it as unanswered)", made
    entry = made.answer.entry.id if made.answer and made.answer.entry else "?"
    confidence = made.answer.entry_confidence if made.answer else 0.0
    line = (f"topic {topic_id}: would post a {made.kind} draft as a {made.mode} (entry {entry}, entry_confidence "
            f"{confidence:.2f}):")
    return line, made


# --- the worker -----------------------------------------------------------------------------------------------------

class Worker:
    """One per API process: a catch-up pass at start, then the store's due topics, one at a time."""

    def __init__(self, bot: Bot, store: Store, settings: Settings, lease_s: float = LEASE_S,
                 poll_s: float = POLL_S) -> None:
        self.bot, self.store, self.settings, self.lease_s, self.poll_s = bot, store, settings, lease_s, poll_s
        self.forum = settings.discourse_base
        self.client = Client(self.forum, settings.discourse_api_key, settings.discourse_username)
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="discourse", daemon=True)

    def start(self) -> Worker:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        self.client.close()

    def _run(self) -> None:
        try:
            self.catch_up()
        except Exception:  # the forum may be down at start: deliveries still get drafted
            log.exception("discourse: the catch-up pass failed; topics opened while the bot was away wait for the "
                          "next start")
        while not self._stop.is_set():
            self._wake.clear()
            try:
                busy = self.run_once()
            except Exception:
                log.exception("discourse: the worker failed on a topic; it carries on with the next one")
                busy = False
            if not busy:
                self._wake.wait(self.poll_s)

    def catch_up(self) -> int:
        """Claim the recent topics of the watched categories that no delivery claimed; returns how many."""
        slugs = self.client.category_ids() if any(not c.isdigit() for c in self.settings.discourse_category_list) \
            else {}
        since, claimed = time.time() - CATCH_UP_HOURS * 3600, 0
        for listed in self.client.latest():
            if listed.get("archetype", "regular") != "regular" or not watched(self.settings, listed.get("category_id"),
                                                                              None, slugs):
                continue
            if _timestamp(listed.get("created_at")) < since or "id" not in listed:
                continue
            # no text yet: the worker reads the topic (and any draft already in it) before it posts
            topic = ForumTopic(self.forum, int(listed["id"]), str(listed.get("title", "")), "",
                               str(listed.get("category_id", "")))
            claimed += self.store.claim_topic(topic)
        if claimed:
            log.info("discourse: the catch-up pass queued %d topic(s)", claimed)
            self._wake.set()
        return claimed

    def run_once(self) -> bool:
        """Take one due topic and work it; False when there was none."""
        now = time.time()
        for job in self.store.due_topics(self.forum, now):
            if self.store.take_topic(job, now, self.lease_s):
                self.work(job)
                return True
        return False

    def work(self, job: TopicJob) -> None:
        topic, attempts, found = job.topic, job.attempts, None
        try:
            # a dead worker, a timed-out post or a catch-up claim: the draft may be in the topic already
            if not topic.raw or job.state == "posting" or attempts:
                view = self.client.topic(topic.topic_id)
                opened = opening_post(view, self.forum)
                if opened is None or opened[1].lower() == self.settings.discourse_username.lower():
                    self._finish(topic, TopicOutcome("skipped", error="no opening post by a student", attempts=attempts))
                    return
                topic, found = (opened[0] if not topic.raw else topic), has_post_by(view, self.settings.discourse_username)
            made = draft(self.bot, topic, self.settings.discourse_mode)
            outcome = TopicOutcome("skipped", made.kind, *_entry(made.answer), attempts=attempts)
            if found:
                log.info("discourse topic %d: the bot's draft is in the topic already; not posting again",
                         topic.topic_id)
                outcome = TopicOutcome("posted", made.kind, *_entry(made.answer), made.mode, attempts=attempts,
                                       error="found in the topic, not posted again")
            elif made.markdown is not None:
                post = self.client.create_post(topic.topic_id, made.markdown, made.whisper)
                outcome = TopicOutcome("posted", made.kind, *_entry(made.answer), made.mode, _int(post.get("id")),
                                       attempts=attempts)
                log.info("discourse topic %d: posted a %s %s draft", topic.topic_id, made.kind, made.mode)
            else:
                log.info("discourse topic %d: out of scope, nothing posted; logged as unanswered", topic.topic_id)
            if made.answer is not None:
                self.store.log_ask(made.answer, "forum", 0.0)
            self._finish(topic, outcome)
        except DiscourseError as exc:
            attempts += 1
            if exc.transient and attempts < self.settings.discourse_max_attempts:
                wait = min(MAX_WAIT_S, max(exc.retry_after or 0.0, self.settings.discourse_retry_s * 2 ** (attempts - 1)))
                log.warning("discourse topic %d: attempt %d of %d failed (%s); next try in %.1f s", topic.topic_id,
                            attempts, self.settings.discourse_max_attempts, exc, wait)
                self.store.retry_topic(topic, attempts, time.time() + wait, str(exc))
            else:
                log.error("discourse topic %d: gave up after %d attempt(s): %s", topic.topic_id, attempts, exc)
                self._finish(topic, TopicOutcome("failed", error=str(exc), attempts=attempts))
        except Exception as exc:  # a bug, not the forum: retrying would fail the same way, every lease, forever
            log.exception("discourse topic %d: drafting failed; given up, nothing posted", topic.topic_id)
            self._finish(topic, TopicOutcome("failed", error=f"{type(exc).__name__}: {exc}", attempts=attempts + 1))

    def _finish(self, topic: ForumTopic, outcome: TopicOutcome) -> None:
        self.store.finish_topic(topic, outcome)


def _entry(answer: Answer | None) -> tuple[str | None, float | None]:
    if answer is None or answer.entry is None:
        return None, None
    return answer.entry.id, answer.entry_confidence


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _timestamp(value: Any) -> float:
    """Unix time of Discourse's ISO 8601 `created_at`; 0 when absent or unreadable."""
    try:
        when = datetime.fromisoformat(str(value))  # 3.11 reads a trailing Z
    except ValueError:
        return 0.0
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
