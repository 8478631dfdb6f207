"""SQLite store of what students asked and what they thought of the answers (WAL, safe for many writers)."""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bot.answer import Answer

SCHEMA_VERSION = 1
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
]
T = TypeVar("T")


@dataclass(frozen=True)
class Feedback:
    entry_id: str
    question: str
    helpful: bool
    comment: str | None = None
    ask_id: int | None = None


class Store:
    """One SQLite file; open it anywhere (chat, API workers), each call is its own short transaction."""

    def __init__(self, path: Path, retries: int = 20) -> None:
        self.path, self.retries = path, retries
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, nor it them
            self._migrate(db)

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
            raise RuntimeError(f"{self.path} has schema version {version}, newer than this code ({SCHEMA_VERSION}); "
                               "upgrade the bot or point BOT_DB_PATH at another file")

    def _write(self, action: Callable[[sqlite3.Connection], T]) -> T:
        """Run `action` in an IMMEDIATE transaction, retrying while another writer holds the lock."""
        for attempt in range(self.retries):
            try:
                with self._connect() as db:
                    db.execute("BEGIN IMMEDIATE")
                    result = action(db)
                    db.execute("COMMIT")
                    return result
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(min(0.01 * 2**attempt, 0.5))
        raise RuntimeError(f"{self.path} stayed locked through {self.retries} retries")

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
        return self._write(lambda db: int(db.execute(
            "INSERT INTO feedback (at, ask_id, entry_id, question, helpful, comment) VALUES (?, ?, ?, ?, ?, ?)",
            row).lastrowid or 0))

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
