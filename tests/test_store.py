"""The SQLite store: asks and feedback are kept, linked, and survive concurrent writers."""
from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from bot.answer import Answer, Suggestion
from bot.errors import ConfigError, StoreBusy
from bot.kb import Entry
from bot.store import MAX_COMMENT_CHARS, SCHEMA_VERSION, EntryCounts, Feedback, ForumTopic, Store


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


def test_a_comment_joins_its_rating_and_is_cut_at_the_limit(tmp_path: Path) -> None:
    store = Store(tmp_path / "bot.sqlite3")
    first = store.add_feedback(Feedback("a", "q1", False))
    store.add_feedback(Feedback("b", "q2", False))
    store.add_comment(first, "x" * (MAX_COMMENT_CHARS + 50))
    assert [f.comment for f in store.feedback()] == ["x" * MAX_COMMENT_CHARS, None]


def test_a_file_from_a_newer_version_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ConfigError, match="newer than this code"):
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


V1_DDL = """
CREATE TABLE asks (id INTEGER PRIMARY KEY, at REAL NOT NULL, channel TEXT NOT NULL, question TEXT NOT NULL,
    kind TEXT NOT NULL, in_scope INTEGER NOT NULL, confidence REAL NOT NULL, entry_id TEXT, top TEXT NOT NULL,
    latency_ms REAL NOT NULL);
CREATE TABLE feedback (id INTEGER PRIMARY KEY, at REAL NOT NULL, ask_id INTEGER REFERENCES asks(id),
    entry_id TEXT NOT NULL, question TEXT NOT NULL, helpful INTEGER NOT NULL, comment TEXT);
CREATE INDEX feedback_entry ON feedback(entry_id);
PRAGMA user_version = 1;
"""


def test_a_v1_file_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    db = sqlite3.connect(path)  # as the first release left it: v1 tables, rollback journal
    db.executescript(V1_DDL)
    db.execute("INSERT INTO asks VALUES (1, 1.0, 'chat', 'why 1/m?', 'answer', 1, 0.9, 'a', '[]', 12.0)")
    db.execute("INSERT INTO feedback VALUES (1, 2.0, 1, 'a', 'why 1/m?', 0, 'too short')")
    db.commit()
    db.close()

    store = Store(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    indexes = {row[1] for table in ("asks", "feedback", "forum_topics")
               for row in db.execute(f"PRAGMA index_list({table})")}
    assert {"asks_entry", "asks_at", "feedback_ask", "feedback_entry", "forum_topics_due"} <= indexes
    assert store.feedback() == [Feedback("a", "why 1/m?", False, "too short", 1)]
    assert [(a.id, a.question, a.not_helpful) for a in store.asks()] == [(1, "why 1/m?", True)]
    assert store.log_ask(answer(), "chat", 1.0) == 2  # and it takes new rows after the old ones


def test_four_processes_of_eight_threads_lose_no_row(tmp_path: Path) -> None:
    import multiprocessing

    import store_writers

    path, processes, threads, per_thread = tmp_path / "busy.sqlite3", 4, 8, 100
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter each, as uvicorn workers are
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    workers = [ctx.Process(target=store_writers.write, args=(str(path), p, threads, per_thread, barrier, results))
               for p in range(processes)]  # the file does not exist yet: they also race to create and migrate it
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)

    assert [error for _, _, error, _ in reports] == [None] * processes
    assert not any(torch for *_, torch in reports) and all(w.exitcode == 0 for w in workers)
    written = sum(n for _, n, _, _ in reports)
    assert written == processes * threads * per_thread == 3200
    store = Store(path)
    assert store.count("asks") == store.count("feedback") == written
    asked = {a.question for a in store.asks()}
    assert asked == {store_writers.question(p, t, i) for p in range(processes) for t in range(threads)
                     for i in range(per_thread)}
    db = sqlite3.connect(path)  # every rating points at the ask it was given for
    assert db.execute("SELECT COUNT(*) FROM feedback f JOIN asks a ON a.id = f.ask_id "
                      "WHERE a.question = f.question").fetchone()[0] == written


def test_the_write_connection_is_shared_by_threads_and_survives_a_bad_write(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    with pytest.raises(sqlite3.IntegrityError):
        store._write(lambda db: db.execute("INSERT INTO asks (id, at) VALUES (1, 0)"))  # NOT NULL fails
    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(lambda i: store.log_ask(answer(f"q{i}"), "chat", 1.0), range(20)))
    assert sorted(ids) == list(range(1, 21)) and store.count("asks") == 20


def mentor_log(tmp_path: Path) -> Store:
    """Four asks: one out of scope, one unsure, one sure but rated not helpful, one sure and helpful."""
    store = Store(tmp_path / "m.sqlite3")

    def log(question: str, kind: str, confidence: float, entry: str | None) -> int:
        shown = Answer(question, kind, kind == "answer", confidence, [Suggestion("a", "A", [], 0.5, "u")], "")
        return store.log_ask(shown if entry is None else replace(shown, entry=fake_entry(entry)), "chat", 1.0)

    log("how do I get a refund?", "out_of_scope", 0.1, None)
    log("1/m again?", "answer", 0.6, "a")
    bad = log("why 1/m in dW", "answer", 0.95, "a")
    good = log("where does 1/m come from", "answer", 0.97, "a")
    store.add_feedback(Feedback("a", "why 1/m in dW", False, "=did not answer it", bad))
    store.add_feedback(Feedback("a", "where does 1/m come from", True, "clear", good))
    store.add_feedback(Feedback("b", "no ask logged for this one", True))
    return store


def fake_entry(entry_id: str) -> Entry:
    return Entry(entry_id, entry_id.upper(), "", (), (), (), (), "", Path(f"{entry_id}.md"))


def test_asks_needing_a_mentor_are_out_of_scope_unsure_or_not_helpful(tmp_path: Path) -> None:
    store = mentor_log(tmp_path)
    assert [a.question for a in store.asks(unsure_below=0.8)] == ["how do I get a refund?", "1/m again?",
                                                                    "why 1/m in dW"]
    assert len(store.asks()) == 4 and store.asks(since=time.time() + 60) == []


def test_entry_counts_comments_and_totals(tmp_path: Path) -> None:
    store = mentor_log(tmp_path)
    assert store.entry_counts() == {"a": EntryCounts(3, 1, 1), "b": EntryCounts(0, 1, 0)}
    assert store.comments() == {"a": ["clear", "=did not answer it"]}
    totals = store.totals()
    assert (totals["asks"], totals["kind:answer"], totals["kind:out_of_scope"], totals["channel:chat"]) == (4, 3, 1, 4)
    assert (totals["helpful"], totals["not_helpful"]) == (2, 1)


def test_csv_export_joins_asks_with_feedback_and_keeps_formulas_as_text(tmp_path: Path) -> None:
    import csv
    import io

    out = io.StringIO()
    assert mentor_log(tmp_path).export_csv(out) == 5  # 4 asks (one without feedback) + 1 feedback without an ask
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["ask_id"], r["question"], r["helpful"]) for r in rows] == [
        ("1", "how do I get a refund?", ""), ("2", "1/m again?", ""), ("3", "why 1/m in dW", "0"),
        ("4", "where does 1/m come from", "1"), ("", "no ask logged for this one", "1")]
    assert rows[2]["comment"] == "'=did not answer it" and rows[2]["asked_at"].endswith("+00:00")


def test_a_write_waits_for_a_writer_holding_the_lock_then_lands(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    other = sqlite3.connect(tmp_path / "s.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # e.g. another worker in the middle of a write
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(store.log_ask, answer(), "chat", 1.0)
        time.sleep(0.3)
        assert not pending.done()
        other.execute("COMMIT")
        assert pending.result(timeout=5) == 1


def test_a_lock_held_past_the_patience_is_an_error_naming_the_file(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3", patience=0.2)
    other = sqlite3.connect(tmp_path / "s.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StoreBusy, match=r"s\.sqlite3 stayed locked for 0 s"):
        store.log_ask(answer(), "chat", 1.0)
    other.execute("ROLLBACK")
    assert store.log_ask(answer(), "chat", 1.0) == 1  # and it works again once the lock is free


def test_a_forked_child_writes_on_its_own_connection(tmp_path: Path) -> None:
    import multiprocessing

    store = Store(tmp_path / "s.sqlite3")
    store.log_ask(answer("parent, before the fork"), "chat", 1.0)  # the parent's write connection is open now
    child = multiprocessing.get_context("fork").Process(target=store.log_ask, args=(answer("child"), "chat", 1.0))
    child.start()
    child.join(timeout=30)
    store.log_ask(answer("parent, after"), "chat", 1.0)
    assert child.exitcode == 0
    assert [a.question for a in store.asks()] == ["parent, before the fork", "child", "parent, after"]


# --- forum topics: the claim and the queue of bot/discourse.py ---

def test_a_topic_is_claimed_by_exactly_one_of_many_writers(tmp_path: Path) -> None:
    stores = [Store(tmp_path / "bot.sqlite3") for _ in range(4)]  # a connection each, as separate processes have
    topic = ForumTopic("https://forum.example", 7, "why 1/m?", "dZ has none", "5")
    start, won = threading.Barrier(8), []

    def claim(store: Store) -> None:
        start.wait()
        won.append(store.claim_topic(topic))

    threads = [threading.Thread(target=claim, args=(stores[i % 4],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == [False] * 7 + [True]


def test_a_due_topic_is_taken_once_and_again_only_when_its_lease_has_run_out(tmp_path: Path) -> None:
    store = Store(tmp_path / "bot.sqlite3")
    store.claim_topic(ForumTopic("https://forum.example", 7, "why 1/m?", "dZ has none", "5"))
    [job] = store.due_topics("https://forum.example", time.time())
    now = time.time()
    assert store.take_topic(job, now, lease_s=60) and not store.take_topic(job, now, lease_s=60)
    assert store.due_topics("https://forum.example", now + 30) == []
    assert [j.state for j in store.due_topics("https://forum.example", now + 61)] == ["posting"]
    assert store.take_topic(job, now + 61, lease_s=60)
