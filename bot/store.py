"""SQLite store of what students asked and what they thought of the answers (WAL, safe for many writers)."""
from __future__ import annotations

import csv
import fcntl
import itertools
import json
import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO, TypeVar

from bot.answer import Answer
from bot.errors import ConfigError, StoreBusy

SCHEMA_VERSION = 3
_SCHEMA = [  # index i upgrades a database at user_version i to i + 1
    """
    CREATE TABLE asks (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,               -- unix time
        channel TEXT NOT NULL,          -- chat | api | cli
        question TEXT NOT NULL,
        kind TEXT NOT NULL,             -- answer | out_of_scope | greeting
        in_scope INTEGER NOT NULL,
        confidence REAL NOT NULL,
        entry_id TEXT,                  -- the entry shown, if any
        top TEXT NOT NULL,              -- JSON [[entry_id, score], ...], best first
        latency_ms REAL NOT NULL
    );
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        ask_id INTEGER REFERENCES asks(id),
        entry_id TEXT NOT NULL,
        question TEXT NOT NULL,
        helpful INTEGER NOT NULL,
        comment TEXT
    );
    CREATE INDEX feedback_entry ON feedback(entry_id);
    """,
    # v2: the mentors' queries (per-entry stats, a time window, asks joined with their feedback) use indexes
    """
    CREATE INDEX asks_entry ON asks(entry_id);
    CREATE INDEX asks_at ON asks(at);
    CREATE INDEX feedback_ask ON feedback(ask_id);
    """,
    # v3: forum topics the bot drafts for (bot/discourse.py). The primary key is the claim: one row per topic, ever,
    # whichever process inserts it first; the row is also the durable queue entry. Portable SQL (SQLite, PostgreSQL)
    """
    CREATE TABLE forum_topics (
        forum TEXT NOT NULL,            -- the forum's base URL
        topic_id BIGINT NOT NULL,
        title TEXT NOT NULL,
        raw TEXT NOT NULL,              -- the opening post as the student wrote it
        category TEXT NOT NULL,         -- the category id it was posted in
        state TEXT NOT NULL,            -- queued | posting | posted | skipped | failed
        attempts INTEGER NOT NULL,      -- post attempts that failed
        due DOUBLE PRECISION NOT NULL,  -- unix time the next try may start
        lease_until DOUBLE PRECISION NOT NULL,  -- while posting: past it, the worker is taken for dead
        claimed_at DOUBLE PRECISION NOT NULL,
        done_at DOUBLE PRECISION,
        kind TEXT,                      -- sure | ambiguous | out_of_scope
        entry_id TEXT,
        entry_confidence DOUBLE PRECISION,
        mode TEXT,                      -- whisper | reply, as posted
        post_id BIGINT,
        error TEXT,                     -- the last failure
        PRIMARY KEY (forum, topic_id)
    );
    CREATE INDEX forum_topics_due ON forum_topics(state, due);
    """,
]
T = TypeVar("T")
log = logging.getLogger(__name__)
RECOVERED = ".recovered"  # suffix of a damaged log whose rows were merged back by `bot store recover`
EMPTY_GRACE_S = 5.0  # a 0-byte file younger than this is another process creating the log, not an emptied one
MAX_COMMENT_CHARS = 2000  # a feedback comment, from the chat or the API
_INHERITED: list[sqlite3.Connection] = []  # write connections a forked child got from its parent: kept, never used
CSV_COLUMNS = ("ask_id", "asked_at", "channel", "question", "kind", "in_scope", "confidence", "entry_id", "top",
               "latency_ms", "feedback_id", "feedback_at", "feedback_entry_id", "helpful", "comment")


@dataclass(frozen=True)
class Feedback:
    entry_id: str
    question: str
    helpful: bool
    comment: str | None = None
    ask_id: int | None = None


@dataclass(frozen=True)
class LoggedAsk:
    """One logged question as the mentors' views read it back."""

    id: int
    at: float  # unix time
    question: str
    kind: str  # answer | out_of_scope | greeting
    confidence: float
    entry_id: str | None  # the entry shown, if any
    not_helpful: bool  # a student rated the answer to this ask "not helpful"


@dataclass(frozen=True)
class EntryCounts:
    shown: int  # asks answered with the entry
    helpful: int
    not_helpful: int


# --- forum topics (bot/discourse.py): the records of the claims block in Store below ---

@dataclass(frozen=True)
class ForumTopic:
    """A forum topic's opening post, as claimed for drafting."""

    forum: str  # the forum's base URL
    topic_id: int
    title: str
    raw: str  # the opening post's Markdown
    category: str  # its category id


@dataclass(frozen=True)
class TopicJob:
    topic: ForumTopic
    state: str  # queued, or posting when a worker died holding it
    attempts: int  # failed attempts so far


@dataclass(frozen=True)
class TopicOutcome:
    state: str  # posted | skipped | failed
    kind: str | None = None  # sure | ambiguous | out_of_scope
    entry_id: str | None = None
    entry_confidence: float | None = None
    mode: str | None = None  # whisper | reply
    post_id: int | None = None
    error: str | None = None
    attempts: int = 0


@dataclass(frozen=True)
class DraftedTopic:
    """A claimed topic as mentors read it back."""

    forum: str
    topic_id: int
    title: str
    state: str  # queued | posting | posted | skipped | failed
    kind: str | None
    entry_id: str | None
    entry_confidence: float | None
    mode: str | None
    attempts: int
    claimed_at: float
    error: str | None

    @property
    def link(self) -> str:
        return f"{self.forum.rstrip('/')}/t/{self.topic_id}"

# --- end of forum topic records ---


class Store:
    """One SQLite file; open it anywhere (chat, API workers), each write is its own short transaction.

    Writes reuse one connection per process (opening one costs ~1 ms, more than the write itself), guarded by a
    lock so threads can share it; reads open their own, so a slow mentor query never holds up a student's log.
    """

    def __init__(self, path: Path, patience: float = 60.0) -> None:
        self.path, self.patience = path, patience  # seconds a write keeps trying while other writers hold the lock
        self._lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self.restarted: Path | None = None  # where this process moved a damaged log before starting a new one
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._open()
        except (OSError, sqlite3.OperationalError) as exc:  # not damage: a folder we cannot write, a full disk
            raise ConfigError(f"cannot open the question log {path} ({exc}); make its folder writable or point "
                              "BOT_DB_PATH at another file") from None

    def _open(self) -> None:
        """Check the file, move it aside if damaged, and bring it to the schema; one process at a time (switching
        to WAL fails at once, without waiting, while another process is reading the file to check it)."""
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._heal()
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, nor it them
                self._migrate(db)

    def set_aside(self) -> list[Path]:
        """Damaged logs moved aside beside this one (by any process, at any start) and not yet recovered."""
        found = self.path.parent.glob(f"{self.path.name}.damaged-*")
        return sorted(p for p in found if not p.name.endswith(("-wal", "-shm", RECOVERED)))

    def recover(self, damaged: Path) -> dict[str, int]:
        """Copy every row SQLite can still read from a damaged log into this one (asks get new ids, feedback
        follows them), in one transaction; then rename the file *.recovered so it is never merged twice."""
        try:
            source = sqlite3.connect(f"file:{damaged}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open {damaged} ({exc}); give the path `bot store recover` was told") from None
        try:
            asks, feedback = (_readable(source, table) for table in ("asks", "feedback"))
        finally:
            source.close()

        def merge(db: sqlite3.Connection) -> None:
            new_id = {}
            for row in asks:
                new_id[row[0]] = db.execute(
                    "INSERT INTO asks (at, channel, question, kind, in_scope, confidence, entry_id, top, latency_ms) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row[1:]).lastrowid
            db.executemany("INSERT INTO feedback (at, ask_id, entry_id, question, helpful, comment) "
                           "VALUES (?, ?, ?, ?, ?, ?)", [(r[1], new_id.get(r[2]), *r[3:]) for r in feedback])

        self._write(merge)
        for suffix in ("", "-wal", "-shm"):
            if (part := Path(f"{damaged}{suffix}")).exists():
                part.replace(f"{damaged}{RECOVERED}{suffix}")
        return {"asks": len(asks), "feedback": len(feedback)}

    def _heal(self) -> None:
        """When the file is damaged, move it aside (never delete it) so a new log starts (called under the lock:
        another process may have just healed it, and then the file it finds is sound)."""
        problem = self._damage()
        if problem is None:
            return
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside, n = self.path.with_name(f"{self.path.name}.damaged-{stamp}"), 1
        while aside.exists():  # two heals in one second: never overwrite the first one's file
            aside, n = self.path.with_name(f"{self.path.name}.damaged-{stamp}-{n}"), n + 1
        for suffix in ("", "-wal", "-shm"):  # the WAL may hold the newest rows: it goes along
            if (part := Path(f"{self.path}{suffix}")).exists():
                part.replace(f"{aside}{suffix}")
        self.restarted = aside
        log.warning("warning: the question log %s is damaged (%s); moved it to %s and started a new log; bring "
                    "back the rows it still holds with `python -m bot store recover %s`", self.path, problem,
                    aside, aside)

    def _damage(self) -> str | None:
        """What is wrong with the file (SQLite's own check), or None when it is sound or does not exist yet."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        if info.st_size == 0:
            return "the file is empty" if time.time() - info.st_mtime > EMPTY_GRACE_S else None
        try:
            with self._connect() as db:
                rows = db.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as exc:
            if not _damaged(exc):
                raise
            return str(exc)
        return None if rows == [("ok",)] else "; ".join(str(r[0]) for r in rows[:3])

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)  # autocommit; BEGIN where we write
        try:
            yield db
        finally:
            db.close()

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Bring the file to SCHEMA_VERSION, one step per transaction; safe when several processes start at once."""
        while True:
            db.execute("BEGIN IMMEDIATE")  # re-read the version under the write lock: another process may have won
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version >= SCHEMA_VERSION:
                db.execute("COMMIT")
                break
            for statement in _SCHEMA[version].split(";"):  # executescript would COMMIT first: run them one by one
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        if version > SCHEMA_VERSION:
            raise ConfigError(f"{self.path} has schema version {version}, newer than this code ({SCHEMA_VERSION}); "
                              "upgrade the bot or point BOT_DB_PATH at another file")

    def _connection(self) -> sqlite3.Connection:
        """The write connection of this process (called with the lock held)."""
        if self._writer is None:
            # synchronous stays FULL: a commit survives a power cut, and with one open connection it costs ~0.3 ms.
            # timeout=0: _write polls every ~1 ms itself; SQLite's own busy wait sleeps up to 100 ms between tries
            # and lets a busy writer starve the others for seconds.
            self._writer = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        return self._writer

    def _after_fork(self) -> None:
        """In a forked child: the parent's connection and lock are not ours (SQLite forbids using, even closing,
        a connection across fork; the lock may have been held by a thread that does not exist here)."""
        if self._writer is not None:
            _INHERITED.append(self._writer)  # never closed here
        self._writer, self._lock, self._pid = None, threading.Lock(), os.getpid()

    def _write(self, action: Callable[[sqlite3.Connection], T]) -> T:
        """Run `action` in an IMMEDIATE transaction, retrying while another writer holds the lock; on a file
        damaged while running, move it aside and write to a new log (once)."""
        try:
            return self._write_once(action)
        except sqlite3.DatabaseError as exc:
            if not _damaged(exc):
                raise
        self.close()
        self._open()
        return self._write_once(action)

    def _write_once(self, action: Callable[[sqlite3.Connection], T]) -> T:
        if self._pid != os.getpid():
            self._after_fork()
        deadline, attempt = time.monotonic() + self.patience, 0
        while True:
            try:
                with self._lock:
                    db = self._connection()
                    db.execute("BEGIN IMMEDIATE")  # fails at once while another process is writing
                    try:
                        result = action(db)
                        db.execute("COMMIT")
                    except BaseException:
                        self._rollback(db)
                        raise
                    return result
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise StoreBusy(f"the question log {self.path} stayed locked for {self.patience:.0f} s, so "
                                    "nothing was stored; send it again later (is a process stuck in a transaction, "
                                    "e.g. an open sqlite3 shell?)") from exc
                attempt += 1
                time.sleep(min(0.0002 * attempt, 0.002) * (0.5 + random.random()))  # jitter: no lockstep

    def _rollback(self, db: sqlite3.Connection) -> None:
        try:
            if db.in_transaction:
                db.execute("ROLLBACK")
        except sqlite3.Error:  # the connection is in an unknown state: start the next write on a fresh one
            db.close()
            self._writer = None

    def close(self) -> None:
        if self._pid != os.getpid():
            self._after_fork()
        with self._lock:
            if self._writer is not None:
                self._writer.close()
            self._writer = None

    def log_ask(self, answer: Answer, channel: str, latency_ms: float) -> int:
        """Record one answered question; returns its id (for linking feedback)."""
        top = json.dumps([[s.id, s.score] for s in answer.answers])
        row = (time.time(), channel, answer.question, answer.kind, int(answer.in_scope), answer.confidence,
               answer.entry.id if answer.entry else None, top, latency_ms)
        return self._write(lambda db: int(db.execute(
            "INSERT INTO asks (at, channel, question, kind, in_scope, confidence, entry_id, top, latency_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row).lastrowid or 0))

    def add_feedback(self, feedback: Feedback) -> int:
        row = (time.time(), feedback.ask_id, feedback.entry_id, feedback.question, int(feedback.helpful),
               feedback.comment)
        # an ask_id that matches no ask is kept as no link: a rating is never lost, and never points nowhere
        return self._write(lambda db: int(db.execute(
            "INSERT INTO feedback (at, ask_id, entry_id, question, helpful, comment) "
            "VALUES (?, (SELECT id FROM asks WHERE id = ?), ?, ?, ?, ?)", row).lastrowid or 0))

    def add_comment(self, feedback_id: int, comment: str) -> None:
        """Attach the student's words to a rating already stored (the chat asks for them after "Not helpful")."""
        self._write(lambda db: db.execute("UPDATE feedback SET comment = ? WHERE id = ?",
                                          (comment[:MAX_COMMENT_CHARS], feedback_id)))

    def feedback(self, entry_id: str | None = None) -> list[Feedback]:
        with self._connect() as db:
            rows = db.execute("SELECT entry_id, question, helpful, comment, ask_id FROM feedback "
                              "WHERE ? IS NULL OR entry_id = ? ORDER BY id", (entry_id, entry_id)).fetchall()
        return [Feedback(e, q, bool(h), c, a) for e, q, h, c, a in rows]

    def count(self, table: str) -> int:
        if table not in ("asks", "feedback"):
            raise ValueError(f"table must be asks or feedback, got {table!r}")
        with self._connect() as db:
            return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    # --- what the mentors read (bot/insights.py); `since` is a unix time, None = everything ---

    def asks(self, since: float | None = None, unsure_below: float | None = None) -> list[LoggedAsk]:
        """Asks, oldest first; with unsure_below, only those needing a mentor: out of scope, answered with a
        confidence below it, or rated not helpful."""
        attention = ("AND (a.kind = 'out_of_scope' OR (a.kind = 'answer' AND a.confidence < :below) OR bad)"
                     if unsure_below is not None else "")
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM (SELECT a.id, a.at, a.question, a.kind, a.confidence, a.entry_id, EXISTS("
                "SELECT 1 FROM feedback f WHERE f.ask_id = a.id AND f.helpful = 0) AS bad FROM asks a "
                f"WHERE a.at >= :since) a WHERE 1 {attention} ORDER BY a.id",
                {"since": since or 0.0, "below": unsure_below}).fetchall()
        return [LoggedAsk(i, at, q, k, c, e, bool(bad)) for i, at, q, k, c, e, bad in rows]

    def entry_counts(self, since: float | None = None) -> dict[str, EntryCounts]:
        """Per entry id: times shown, and helpful / not helpful ratings (feedback without a logged ask included)."""
        with self._connect() as db:
            shown = dict(db.execute("SELECT entry_id, COUNT(*) FROM asks WHERE entry_id IS NOT NULL AND at >= ? "
                                    "GROUP BY entry_id", (since or 0.0,)).fetchall())
            rated = db.execute("SELECT entry_id, SUM(helpful), SUM(1 - helpful) FROM feedback WHERE at >= ? "
                               "GROUP BY entry_id", (since or 0.0,)).fetchall()
        votes = {e: (int(h), int(n)) for e, h, n in rated}
        return {e: EntryCounts(int(shown.get(e, 0)), *votes.get(e, (0, 0))) for e in set(shown) | set(votes)}

    def comments(self, since: float | None = None, per_entry: int = 3) -> dict[str, list[str]]:
        """Per entry id: the latest non-empty feedback comments, newest first."""
        with self._connect() as db:
            rows = db.execute("SELECT entry_id, comment FROM feedback WHERE at >= ? AND TRIM(COALESCE(comment, '')) "
                              "!= '' ORDER BY id DESC", (since or 0.0,)).fetchall()
        latest: dict[str, list[str]] = {}
        for entry_id, comment in rows:
            if len(latest.setdefault(entry_id, [])) < per_entry:
                latest[entry_id].append(comment.strip())
        return latest

    def totals(self, since: float | None = None) -> dict[str, int]:
        """Counts for a summary line: asks by kind and by channel, and feedback by rating."""
        with self._connect() as db:
            by_kind = db.execute("SELECT kind, COUNT(*) FROM asks WHERE at >= ? GROUP BY kind", (since or 0.0,))
            out = {f"kind:{k}": int(n) for k, n in by_kind.fetchall()}
            by_channel = db.execute("SELECT channel, COUNT(*) FROM asks WHERE at >= ? GROUP BY channel",
                                    (since or 0.0,))
            out |= {f"channel:{c}": int(n) for c, n in by_channel.fetchall()}
            rated = db.execute("SELECT COALESCE(SUM(helpful), 0), COUNT(*) FROM feedback WHERE at >= ?",
                               (since or 0.0,)).fetchone()
        return out | {"asks": sum(v for k, v in out.items() if k.startswith("kind:")),
                      "helpful": int(rated[0]), "not_helpful": int(rated[1] - rated[0])}

    def export_csv(self, out: TextIO, since: float | None = None) -> int:
        """Write the log as CSV, one row per ask and feedback pair (asks joined with their feedback, then any
        feedback whose ask was not logged); returns the rows written."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM (SELECT a.id AS ask, a.at, a.channel, a.question, a.kind, a.in_scope, a.confidence, "
                "a.entry_id, a.top, a.latency_ms, f.id AS fid, f.at, f.entry_id, f.helpful, f.comment FROM asks a "
                "LEFT JOIN feedback f ON f.ask_id = a.id WHERE a.at >= :since "
                "UNION ALL SELECT NULL, NULL, NULL, f.question, NULL, NULL, NULL, NULL, NULL, NULL, f.id, f.at, "
                "f.entry_id, f.helpful, f.comment FROM feedback f LEFT JOIN asks a ON a.id = f.ask_id "
                "WHERE a.id IS NULL AND f.at >= :since) ORDER BY ask IS NULL, ask, fid",
                {"since": since or 0.0}).fetchall()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            cells = list(row)
            for i in (1, 11):  # times as ISO 8601 UTC, readable in a spreadsheet
                cells[i] = "" if cells[i] is None else datetime.fromtimestamp(cells[i], UTC).isoformat(timespec="seconds")
            writer.writerow([_cell(c) for c in cells])
        return len(rows)


    # --- forum topics (bot/discourse.py): claims and the draft queue; portable SQL, keep this block together ---

    def claim_topic(self, topic: ForumTopic, state: str = "queued") -> bool:
        """Claim a topic for drafting: True for the one caller that inserted it, False if it was already claimed."""
        now = time.time()
        row = (topic.forum, topic.topic_id, topic.title, topic.raw, topic.category, state, now, now,
               now if state != "queued" else None)
        return self._write(lambda db: db.execute(
            "INSERT INTO forum_topics (forum, topic_id, title, raw, category, state, attempts, due, lease_until, "
            "claimed_at, done_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, 0, ?, ?) ON CONFLICT DO NOTHING", row).rowcount == 1)

    def due_topics(self, forum: str, now: float, limit: int = 10) -> list[TopicJob]:
        """Queued topics whose time has come, and topics left `posting` past their lease (a worker died)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT forum, topic_id, title, raw, category, state, attempts FROM forum_topics WHERE forum = ? "
                "AND ((state = 'queued' AND due <= ?) OR (state = 'posting' AND lease_until < ?)) ORDER BY due "
                "LIMIT ?", (forum, now, now, limit)).fetchall()
        return [TopicJob(ForumTopic(f, t, title, raw, c), state, attempts) for f, t, title, raw, c, state, attempts
                in rows]

    def take_topic(self, job: TopicJob, now: float, lease_s: float) -> bool:
        """Take a due topic for this worker until now + lease_s: True for exactly one of the workers that try."""
        key = (now + lease_s, job.topic.forum, job.topic.topic_id, now, now)
        return self._write(lambda db: db.execute(
            "UPDATE forum_topics SET state = 'posting', lease_until = ? WHERE forum = ? AND topic_id = ? AND "
            "((state = 'queued' AND due <= ?) OR (state = 'posting' AND lease_until < ?))", key).rowcount == 1)

    def retry_topic(self, topic: ForumTopic, attempts: int, due: float, error: str) -> None:
        self._write(lambda db: db.execute(
            "UPDATE forum_topics SET state = 'queued', attempts = ?, due = ?, lease_until = 0, error = ? "
            "WHERE forum = ? AND topic_id = ?", (attempts, due, error, topic.forum, topic.topic_id)))

    def finish_topic(self, topic: ForumTopic, outcome: TopicOutcome) -> None:
        """Record how a topic ended: posted, skipped (nothing to post) or failed (retries spent, or refused)."""
        o = outcome
        self._write(lambda db: db.execute(
            "UPDATE forum_topics SET state = ?, done_at = ?, kind = ?, entry_id = ?, entry_confidence = ?, mode = ?, "
            "post_id = ?, error = ?, attempts = ? WHERE forum = ? AND topic_id = ?",
            (o.state, time.time(), o.kind, o.entry_id, o.entry_confidence, o.mode, o.post_id, o.error, o.attempts,
             topic.forum, topic.topic_id)))

    def forum_topics(self, since: float | None = None) -> list[DraftedTopic]:
        """Every claimed topic, newest first: what mentors see listed as drafted (or not)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT forum, topic_id, title, state, kind, entry_id, entry_confidence, mode, attempts, claimed_at, "
                "error FROM forum_topics WHERE claimed_at >= ? ORDER BY claimed_at DESC, topic_id DESC",
                (since or 0.0,)).fetchall()
        return [DraftedTopic(*row) for row in rows]

    # --- end of forum topics ---


def _readable(db: sqlite3.Connection, table: str) -> list[tuple[object, ...]]:
    """The rows of `table` that can still be read: forwards up to the damage, backwards down to it, then each id
    in between by itself (a lookup that avoids the damaged pages finds it); oldest first."""
    columns = ("id, at, channel, question, kind, in_scope, confidence, entry_id, top, latency_ms" if table == "asks"
               else "id, at, ask_id, entry_id, question, helpful, comment")
    rows: dict[int, tuple[object, ...]] = {}
    for order, start in (("ASC", -1), ("DESC", 2**63 - 1)):
        try:
            for row in db.execute(f"SELECT {columns} FROM {table} WHERE id {'>' if order == 'ASC' else '<'} ? "
                                  f"ORDER BY id {order}", (max(rows, default=start) if order == "ASC" else start,)):
                if row[0] in rows:
                    break
                rows[row[0]] = row
        except sqlite3.DatabaseError:
            pass  # the damaged pages: read around them
    ids = sorted(rows)
    for gap_start, gap_end in itertools.pairwise(ids):
        for row_id in range(gap_start + 1, gap_end):
            try:
                if (row := db.execute(f"SELECT {columns} FROM {table} WHERE id = ?", (row_id,)).fetchone()):
                    rows[row_id] = row
            except sqlite3.DatabaseError:
                continue
    return [rows[i] for i in sorted(rows)]


def _damaged(exc: sqlite3.Error) -> bool:
    """Whether SQLite says the file is damaged (not merely locked, read-only or missing)."""
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _cell(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: a student's '=HYPERLINK(...)' must not become a live formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value
