"""The store on both back ends: asks and feedback are kept, linked, and survive concurrent writers and restarts."""
from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

from bot.cli import main
from bot.datatypes import Answer, Entry, Suggestion
from bot.errors import ConfigError, StoreBusy
from bot.mentors.store import (
    MAX_COMMENT_CHARS,
    SCHEMA_VERSION,
    EntryCounts,
    Feedback,
    ForumTopic,
    PostgresStore,
    SqliteStore,
    Store,
    open_store,
)

if TYPE_CHECKING:
    from pg_support import PgCluster


def answer(question: str = "why 1/m?") -> Answer:
    return Answer(question, "out_of_scope", False, 0.2, [Suggestion("a", "A", [], 0.4, "u")], "not covered")


def test_a_fresh_file_gets_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "new.sqlite3")
    db = sqlite3.connect(tmp_path / "new.sqlite3")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_fresh_postgresql_database_gets_the_same_schema_version(pg_cluster: PgCluster) -> None:
    url = pg_cluster.new_database()
    open_store(url)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_the_url_picks_the_back_end_and_a_wrong_one_says_what_to_write(tmp_path: Path) -> None:
    assert isinstance(open_store(f"sqlite:///{tmp_path}/a.sqlite3"), SqliteStore)
    with pytest.raises(ConfigError, match=r"neither postgresql://.*fix BOT_DB_URL"):
        open_store("mysql://root:secret@db/bot")


def test_feedback_is_linked_to_its_ask(log_url: str) -> None:
    store = open_store(log_url)
    ask_id = store.log_ask(answer(), "chat", 12.5)
    store.add_feedback(Feedback("a", "why 1/m?", True, "clear", ask_id))
    assert store.feedback("a") == [Feedback("a", "why 1/m?", True, "clear", ask_id)]
    assert store.feedback("other") == []


def test_a_comment_joins_its_rating_and_is_cut_at_the_limit(log_url: str) -> None:
    store = open_store(log_url)
    first = store.add_feedback(Feedback("a", "q1", False))
    store.add_feedback(Feedback("b", "q2", False))
    store.add_comment(first, "x" * (MAX_COMMENT_CHARS + 50))
    assert [f.comment for f in store.feedback()] == ["x" * MAX_COMMENT_CHARS, None]


def test_a_file_from_a_newer_version_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ConfigError, match="newer than this code"):
        SqliteStore(path)


def test_a_postgresql_database_from_a_newer_version_is_refused_with_what_to_do(pg_cluster: PgCluster) -> None:
    url = pg_cluster.new_database()
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(ConfigError, match="newer than this code.*BOT_DB_URL"):
        open_store(url)


def test_reopening_keeps_the_rows(log_url: str) -> None:
    open_store(log_url).log_ask(answer(), "api", 3.0)
    assert open_store(log_url).count("asks") == 1


def test_a_write_retried_with_its_key_is_one_row(log_url: str) -> None:
    store = open_store(log_url)  # what a retry after a lost commit acknowledgement does: the same write, same key
    first = store.log_ask(answer(), "api", 1.0, key="ask-1")
    assert store.log_ask(answer(), "api", 1.0, key="ask-1") == first
    rating = store.add_feedback(Feedback("a", "why 1/m?", True, ask_id=first), key="rating-1")
    assert store.add_feedback(Feedback("a", "why 1/m?", True, ask_id=first), key="rating-1") == rating
    assert store.count("asks") == store.count("feedback") == 1


def test_concurrent_writers_lose_no_row(log_url: str) -> None:
    open_store(log_url)

    def write(i: int) -> None:
        store = open_store(log_url)  # each writer with its own connections, as chat and API workers would be
        ask_id = store.log_ask(answer(f"q{i}"), "api", 1.0)
        store.add_feedback(Feedback("a", f"q{i}", i % 2 == 0, ask_id=ask_id))
        store.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(400)))
    assert open_store(log_url).count("asks") == 400 and open_store(log_url).count("feedback") == 400


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

    store = SqliteStore(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    indexes = {row[1] for table in ("asks", "feedback", "forum_topics")
               for row in db.execute(f"PRAGMA index_list({table})")}
    assert {"asks_entry", "asks_at", "feedback_ask", "feedback_entry", "forum_topics_due"} <= indexes
    assert store.feedback() == [Feedback("a", "why 1/m?", False, "too short", 1)]
    assert [(a.id, a.question, a.not_helpful) for a in store.asks()] == [(1, "why 1/m?", True)]
    assert store.log_ask(answer(), "chat", 1.0) == 2  # and it takes new rows after the old ones


def test_four_processes_of_eight_threads_lose_no_row(log_url: str) -> None:
    import multiprocessing

    import store_writers

    processes, threads, per_thread = 4, 8, 100
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter each, as uvicorn workers are
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    workers = [ctx.Process(target=store_writers.write, args=(log_url, p, threads, per_thread, barrier, results))
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
    store = open_store(log_url)
    assert store.count("asks") == store.count("feedback") == written
    asked = {a.question for a in store.asks()}
    assert asked == {store_writers.question(p, t, i) for p in range(processes) for t in range(threads)
                     for i in range(per_thread)}
    assert store._read("SELECT COUNT(*) FROM feedback f JOIN asks a ON a.id = f.ask_id "  # each rating points at
                       "WHERE a.question = f.question") == [(written,)]  # the ask it was given for


def test_the_write_connection_is_shared_by_threads_and_survives_a_bad_write(log_url: str) -> None:
    store = open_store(log_url)
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
        store._write(lambda db: db.execute("INSERT INTO asks (id, at) VALUES (1, 0)"))  # NOT NULL fails
    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(lambda i: store.log_ask(answer(f"q{i}"), "chat", 1.0), range(20)))
    assert sorted(ids) == list(range(1, 21)) and store.count("asks") == 20


def mentor_log(url: str) -> Store:
    """Four asks: one out of scope, one unsure, one sure but rated not helpful, one sure and helpful."""
    store = open_store(url)

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


def test_asks_needing_a_mentor_are_out_of_scope_unsure_or_not_helpful(log_url: str) -> None:
    store = mentor_log(log_url)
    assert [a.question for a in store.asks(unsure_below=0.8)] == ["how do I get a refund?", "1/m again?",
                                                                    "why 1/m in dW"]
    assert len(store.asks()) == 4 and store.asks(since=time.time() + 60) == []


def test_entry_counts_comments_and_totals(log_url: str) -> None:
    store = mentor_log(log_url)
    assert store.entry_counts() == {"a": EntryCounts(3, 1, 1), "b": EntryCounts(0, 1, 0)}
    assert store.comments() == {"a": ["clear", "=did not answer it"]}
    totals = store.totals()
    assert (totals["asks"], totals["kind:answer"], totals["kind:out_of_scope"], totals["channel:chat"]) == (4, 3, 1, 4)
    assert (totals["helpful"], totals["not_helpful"]) == (2, 1)


def test_csv_export_joins_asks_with_feedback_and_keeps_formulas_as_text(log_url: str) -> None:
    import csv
    import io

    out = io.StringIO()
    assert mentor_log(log_url).export_csv(out) == 5  # 4 asks (one without feedback) + 1 feedback without an ask
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["ask_id"], r["question"], r["helpful"]) for r in rows] == [
        ("1", "how do I get a refund?", ""), ("2", "1/m again?", ""), ("3", "why 1/m in dW", "0"),
        ("4", "where does 1/m come from", "1"), ("", "no ask logged for this one", "1")]
    assert rows[2]["comment"] == "'=did not answer it" and rows[2]["asked_at"].endswith("+00:00")


def test_a_write_waits_for_a_writer_holding_the_lock_then_lands(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    other = sqlite3.connect(tmp_path / "s.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # e.g. another worker in the middle of a write
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(store.log_ask, answer(), "chat", 1.0)
        time.sleep(0.3)
        assert not pending.done()
        other.execute("COMMIT")
        assert pending.result(timeout=5) == 1


def test_a_lock_held_past_the_patience_is_an_error_naming_the_file(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3", patience=0.2)
    other = sqlite3.connect(tmp_path / "s.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StoreBusy, match=r"s\.sqlite3 stayed locked for 0 s"):
        store.log_ask(answer(), "chat", 1.0)
    other.execute("ROLLBACK")
    assert store.log_ask(answer(), "chat", 1.0) == 1  # and it works again once the lock is free


def test_a_forked_child_writes_on_its_own_connection(log_url: str) -> None:
    import multiprocessing

    store = open_store(log_url)
    store.log_ask(answer("parent, before the fork"), "chat", 1.0)  # the parent's write connection is open now
    child = multiprocessing.get_context("fork").Process(target=store.log_ask, args=(answer("child"), "chat", 1.0))
    child.start()
    child.join(timeout=30)
    store.log_ask(answer("parent, after"), "chat", 1.0)
    assert child.exitcode == 0
    assert [a.question for a in store.asks()] == ["parent, before the fork", "child", "parent, after"]


# --- forum topics: the claim and the queue of bot/serve/discourse.py ---

def test_a_topic_is_claimed_by_exactly_one_of_many_writers(log_url: str) -> None:
    stores = [open_store(log_url) for _ in range(4)]  # a connection each, as separate processes have
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


def test_a_due_topic_is_taken_once_and_again_only_when_its_lease_has_run_out(log_url: str) -> None:
    store = open_store(log_url)
    store.claim_topic(ForumTopic("https://forum.example", 7, "why 1/m?", "dZ has none", "5"))
    [job] = store.due_topics("https://forum.example", time.time())
    now = time.time()
    assert store.take_topic(job, now, lease_s=60) and not store.take_topic(job, now, lease_s=60)
    assert store.due_topics("https://forum.example", now + 30) == []
    assert [j.state for j in store.due_topics("https://forum.example", now + 61)] == ["posting"]
    assert store.take_topic(job, now + 61, lease_s=60)


def test_a_write_during_a_postgresql_restart_waits_and_lands_once(pg_cluster: PgCluster) -> None:
    store = open_store(pg_cluster.new_database())
    store.log_ask(answer("before"), "api", 1.0)  # the pool holds a connection the restart will break
    pg_cluster.stop()
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(store.log_ask, answer("during"), "api", 1.0)
            time.sleep(0.5)
            assert not pending.done()  # retrying with backoff while the server is down
            pg_cluster.start()
            pending.result(timeout=30)
    finally:
        pg_cluster.start() if pg_cluster.process is None else None
    assert [a.question for a in store.asks()] == ["before", "during"]


def test_postgresql_away_past_the_patience_is_an_error_naming_the_server(pg_cluster: PgCluster) -> None:
    url = pg_cluster.new_database()
    store = PostgresStore(url, patience=0.5)
    pg_cluster.stop()
    try:
        with pytest.raises(StoreBusy, match=rf"127\.0\.0\.1:{pg_cluster.port}/.* did not answer for 0 s.*nothing was "
                                            "stored"):
            store.log_ask(answer(), "api", 1.0)
    finally:
        pg_cluster.start()
    assert store.log_ask(answer(), "api", 1.0) >= 1 and store.count("asks") == 1  # and it works again


def test_replicas_starting_together_migrate_once(pg_cluster: PgCluster) -> None:
    url = pg_cluster.new_database()
    with ThreadPoolExecutor(max_workers=6) as pool:
        stores = list(pool.map(lambda _: open_store(url), range(6)))
    assert stores[0]._read("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]


def test_store_copy_from_sqlite_to_postgresql_is_idempotent_and_counts(tmp_path: Path, pg_cluster: PgCluster,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    source = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    mentor_log(source)
    target = pg_cluster.new_database()
    assert main(["store", "copy", "--from", source, "--to", target]) == 0
    assert "copied 4 asks and 3 ratings" in capsys.readouterr().out
    open_store(source).log_ask(answer("asked after the first copy"), "chat", 1.0)
    assert main(["store", "copy", "--from", source, "--to", target]) == 0
    out = capsys.readouterr().out
    assert "copied 1 asks and 0 ratings" in out and "(4 asks and 3 ratings were already there)" in out
    copied = open_store(target)
    assert copied.entry_counts() == mentor_log(f"sqlite:///{tmp_path / 'again.sqlite3'}").entry_counts()
    assert [f.ask_id for f in copied.feedback()] == [3, 4, None]  # ratings follow their asks


def test_store_copy_from_a_missing_file_says_which(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "copy", "--from", f"sqlite:///{tmp_path}/none.sqlite3", "--to", "sqlite:///x"]) != 0
    assert "none.sqlite3: no such file" in capsys.readouterr().err
