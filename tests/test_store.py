"""The SQLite store: asks and feedback are kept, linked, and survive concurrent writers."""
from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.answer import Answer, Suggestion
from bot.store import SCHEMA_VERSION, Feedback, Store


def answer(question: str = "why 1/m?") -> Answer:
    return Answer(question, "out_of_scope", False, 0.2, [Suggestion("a", "A", [], 0.4, "u")], "not covered")


def test_a_fresh_file_gets_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    Store(tmp_path / "new.sqlite3")
    db = sqlite3.connect(tmp_path / "new.sqlite3")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_feedback_is_linked_to_its_ask(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    ask_id = store.log_ask(answer(), "chat", 12.5)
    store.add_feedback(Feedback("a", "why 1/m?", True, "clear", ask_id))
    assert store.feedback("a") == [Feedback("a", "why 1/m?", True, "clear", ask_id)]
    assert store.feedback("other") == []


def test_a_file_from_a_newer_version_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer than this code"):
        Store(path)


def test_reopening_keeps_the_rows(tmp_path: Path) -> None:
    Store(tmp_path / "s.sqlite3").log_ask(answer(), "api", 3.0)
    assert Store(tmp_path / "s.sqlite3").count("asks") == 1


def test_concurrent_writers_lose_no_row(tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite3"
    Store(path)

    def write(i: int) -> None:
        store = Store(path)  # each writer with its own connections, as chat and API workers would be
        ask_id = store.log_ask(answer(f"q{i}"), "api", 1.0)
        store.add_feedback(Feedback("a", f"q{i}", i % 2 == 0, ask_id=ask_id))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(400)))
    assert Store(path).count("asks") == 400 and Store(path).count("feedback") == 400
