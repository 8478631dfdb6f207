"""Damaged files the product reads: each heals (rebuilt or moved aside, with one warning) or is refused in one
line naming the file and the fix, and the start after it is healthy."""
from __future__ import annotations

import io
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from bot.answer import Bot
from bot.cli import main, progress_bar
from bot.config import load_settings, writable_cache
from bot.datatypes import Answer
from bot.errors import ConfigError
from bot.mentors.store import Feedback, SqliteStore
from bot.retrieval.corpus import documents, is_current, load_or_build
from bot.retrieval.kb import load_kb, validate_kb
from bot.serve.api import create_app
from tests.conftest import HashEmbedder

# --- the index (.cache/index): every fault is rebuilt with one warning line ---


def _zeros(folder: Path) -> None:
    vectors = folder / "vectors.npy"
    vectors.write_bytes(bytes(vectors.stat().st_size))


def _zero_rows(folder: Path) -> None:
    shape = np.load(folder / "vectors.npy").shape
    np.save(folder / "vectors.npy", np.zeros(shape, np.float32))


def _shuffled(folder: Path) -> None:
    vectors = np.load(folder / "vectors.npy")
    np.save(folder / "vectors.npy", vectors[np.random.default_rng(0).permutation(len(vectors))])


def _truncated(folder: Path) -> None:
    data = (folder / "vectors.npy").read_bytes()
    (folder / "vectors.npy").write_bytes(data[: len(data) // 2])


def _old_format(folder: Path) -> None:
    manifest = folder / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"vectors_sha256"', '"unused"'))


INDEX_FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "0-byte vectors.npy": (lambda d: (d / "vectors.npy").write_bytes(b""), "not a readable NumPy array file (0 bytes"),
    "vectors.npy all zero bytes": (_zeros, "not a readable NumPy array file"),
    "vectors all zero": (_zero_rows, "does not match the checksum"),
    "rows shuffled in place": (_shuffled, "does not match the checksum"),
    "random bytes": (lambda d: (d / "vectors.npy").write_bytes(os.urandom(5000)), "not a readable NumPy array file"),
    "truncated vectors.npy": (_truncated, "not a readable NumPy array file"),
    "vectors.npy deleted": (lambda d: (d / "vectors.npy").unlink(), "missing vectors.npy"),
    "manifest.json deleted": (lambda d: (d / "manifest.json").unlink(), "missing manifest.json"),
    "manifest.json not JSON": (lambda d: (d / "manifest.json").write_text("{"), "manifest.json is unreadable"),
    "manifest.json not UTF-8": (lambda d: (d / "manifest.json").write_bytes(b"\xff\xfe"), "manifest.json is unreadable"),
    "manifest.json a list": (lambda d: (d / "manifest.json").write_text("[]"), "manifest.json is not an object"),
    "manifest.json without a checksum": (_old_format, "no checksum"),
}


@pytest.fixture
def built(kb_dir: Path, tmp_path: Path) -> Path:
    """A saved index of the fixture KB."""
    load_or_build(load_kb(kb_dir), HashEmbedder(), tmp_path / "cache")
    return tmp_path / "cache"


@pytest.mark.parametrize("fault", INDEX_FAULTS)
def test_a_damaged_index_is_rebuilt_with_one_line_and_the_next_start_reuses_it(
        fault: str, kb_dir: Path, built: Path, caplog: pytest.LogCaptureFixture) -> None:
    damage, reason = INDEX_FAULTS[fault]
    damage(built)
    kb, embedder = load_kb(kb_dir), HashEmbedder()
    assert not is_current(kb, built, embedder.name)  # so `build --if-stale` rebuilds it too
    with caplog.at_level(logging.WARNING):
        index = load_or_build(kb, embedder, built)
    [warning] = [r.getMessage() for r in caplog.records]
    assert reason in warning and "rebuilding it" in warning and "\n" not in warning
    assert "pickle" not in warning
    np.testing.assert_array_equal(index.vectors, load_or_build(kb, HashEmbedder(), built, force=True).vectors)
    caplog.clear()
    again = HashEmbedder()
    load_or_build(kb, again, built)
    assert again.calls == 0 and not caplog.records and is_current(kb, built, again.name)


def test_an_index_folder_that_cannot_be_written_moves_to_the_user_cache_once(
        kb_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    writable_cache.cache_clear()
    with caplog.at_level(logging.WARNING):
        folder = writable_cache(blocker / "index")
    assert folder.is_relative_to(tmp_path / "user-cache")
    assert [r.getMessage() for r in caplog.records] == [
        (f"warning: cannot write to {blocker / 'index'}; keeping the index and the model export in {folder} instead "
         "(make the folder writable or set BOT_CACHE_DIR to silence this)")]
    kb = load_kb(kb_dir)
    load_or_build(kb, HashEmbedder(), folder)
    writable_cache.cache_clear()  # the next start
    second = HashEmbedder()
    load_or_build(kb, second, writable_cache(blocker / "index"))
    assert second.calls == 0
    writable_cache.cache_clear()


def test_the_progress_bar_clears_its_line_before_anything_else_is_printed() -> None:
    stream = io.StringIO()
    tick, close = progress_bar(stream)
    tick(64, 128)
    tick(128, 128)
    drawn = stream.getvalue()
    close()
    assert "embedding the KB" in drawn and drawn.endswith("\r")  # the cursor is back at the start of a clear line
    assert stream.getvalue() == drawn


def test_a_server_whose_bot_failed_to_load_says_so_without_a_retry_hint(tmp_path: Path) -> None:
    def broken() -> Bot:
        raise ConfigError("BOT_MODEL=/nowhere is not a model folder; fix BOT_MODEL")

    settings = load_settings(db_path=tmp_path / "bot.sqlite3", api_rate_limit=0)
    with TestClient(create_app(broken, settings)) as client:
        for _ in range(200):
            response = client.post("/v1/ask", json={"question": "what is dZ?"})
            if "failed to load" in response.text:
                break
            time.sleep(0.02)
    assert response.status_code == 503 and "Retry-After" not in response.headers
    assert "fix BOT_MODEL" in response.json()["detail"] and "restart" in response.json()["detail"]


# --- the question log (SQLite): damage is moved aside, never deleted, and a new log starts ---


def _filled(path: Path, asks: int = 300) -> Path:
    store = SqliteStore(path)
    answer = Answer("q" * 200, "out_of_scope", False, 0.1, [], "")
    for _ in range(asks):
        store.log_ask(answer, "chat", 1.0)
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every row in the main file, as after a clean shutdown
    return path


def _overwrite(path: Path, start: int, length: int) -> None:
    data = bytearray(path.read_bytes())
    data[start:start + length] = os.urandom(length)
    path.write_bytes(bytes(data))


def _emptied(path: Path) -> None:
    path.write_bytes(b"")
    old = time.time() - 60  # emptied a minute ago, not a file another process is creating right now
    os.utime(path, (old, old))


STORE_FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "header overwritten": (lambda p: _overwrite(p, 0, 100), "file is not a database"),
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "malformed"),
    "random bytes": (lambda p: p.write_bytes(os.urandom(p.stat().st_size)), "file is not a database"),
    "middle pages": (lambda p: _overwrite(p, p.stat().st_size // 2 // 4096 * 4096, 3 * 4096), "malformed"),
    "emptied": (_emptied, "the file is empty"),
}


@pytest.mark.parametrize("fault", STORE_FAULTS)
def test_a_damaged_log_is_moved_aside_with_one_line_and_a_new_one_starts(
        fault: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    damage, reason = STORE_FAULTS[fault]
    path = _filled(tmp_path / "bot.sqlite3")
    damage(path)
    damaged = path.read_bytes()
    with caplog.at_level(logging.WARNING):
        store = SqliteStore(path)
    [warning] = [r.getMessage() for r in caplog.records]
    aside = store.restarted
    assert aside is not None and aside.read_bytes() == damaged and store.set_aside() == [aside]
    assert reason in warning and str(path) in warning and str(aside) in warning and "bot store recover" in warning
    assert store.log_ask(Answer("new", "out_of_scope", False, 0.1, [], ""), "chat", 1.0) == 1
    caplog.clear()
    assert SqliteStore(path).restarted is None and not caplog.records  # the next start is healthy


def test_rows_of_a_damaged_log_come_back_with_the_command_the_warning_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    path = _filled(tmp_path / "bot.sqlite3")
    SqliteStore(path).add_feedback(Feedback("shapes", "shape of db?", False, ask_id=300))
    STORE_FAULTS["middle pages"][0](path)
    store = SqliteStore(path)
    store.log_ask(Answer("after the restart", "out_of_scope", False, 0.1, [], ""), "chat", 1.0)
    monkeypatch.setenv("BOT_DB_PATH", str(path))
    assert main(["store", "recover", str(store.restarted)]) == 0
    recovered = store.count("asks") - 1
    assert 200 < recovered < 300 and store.count("feedback") == 1  # all but the rows on the 3 damaged pages
    assert store.feedback()[0].ask_id == 1 + recovered  # the rating follows its ask to the ask's new id
    assert f"recovered {recovered} asks and 1 ratings" in capsys.readouterr().out and store.set_aside() == []


def test_a_log_damaged_while_running_is_moved_aside_and_the_write_goes_to_a_new_one(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _filled(tmp_path / "bot.sqlite3")
    store = SqliteStore(path)
    _overwrite(path, 4096, path.stat().st_size - 4096)  # every page after the first: the asks table is gone
    with caplog.at_level(logging.WARNING):
        ask_id = store.log_ask(Answer("kept", "out_of_scope", False, 0.1, [], ""), "chat", 1.0)
    assert ask_id == 1 and store.restarted is not None and "damaged" in caplog.text
    assert [a.question for a in store.asks()] == ["kept"]


def test_a_zero_byte_file_another_process_is_creating_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    path.write_bytes(b"")  # just now: as sqlite3.connect leaves it for a moment in another process
    assert SqliteStore(path).restarted is None and not list(tmp_path.glob("*.damaged-*"))


def test_two_heals_in_one_second_keep_both_damaged_files(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    for _ in range(2):
        path.write_bytes(os.urandom(8192))
        SqliteStore(path)
    assert len(SqliteStore(path).set_aside()) == 2


def test_a_log_folder_that_cannot_be_written_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"cannot open the question log .*a-file/bot\.sqlite3 .*BOT_DB_PATH"):
        SqliteStore(blocker / "bot.sqlite3")


def test_report_on_a_damaged_log_warns_once_and_reports_the_new_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    path = _filled(tmp_path / "bot.sqlite3")
    _overwrite(path, 0, 100)
    monkeypatch.setenv("BOT_DB_PATH", str(path))
    with caplog.at_level(logging.WARNING):
        assert main(["report"]) == 0
    assert [r.getMessage().count("is damaged") for r in caplog.records] == [1]
    assert "Traceback" not in capsys.readouterr().err


def test_feedback_while_the_log_stays_locked_is_503_with_retry_after(fake_bot: Bot, tmp_path: Path) -> None:
    settings = load_settings(kb_dir=fake_bot.settings.kb_dir, cache_dir=fake_bot.settings.cache_dir,
                             db_path=tmp_path / "bot.sqlite3", api_rate_limit=0)
    with TestClient(create_app(lambda: fake_bot, settings)) as client:
        client.app.state.store.patience = 0.2  # type: ignore[attr-defined]
        holder = sqlite3.connect(settings.db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        for _ in range(200):
            response = client.post("/v1/feedback", json={"entry_id": "shapes", "question": "shape of db?",
                                                          "helpful": True})
            if response.status_code != 503 or "loading" not in response.text:
                break
            time.sleep(0.02)
        holder.execute("ROLLBACK")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "stayed locked" in response.json()["detail"] and "nothing was stored" in response.json()["detail"]


# --- the KB (kb/): one line naming the file and the fix, exit 1 ---


def _with_snippet(kb_dir: Path, code: bytes) -> None:
    (kb_dir / "snippets").mkdir(exist_ok=True)
    (kb_dir / "snippets" / "demo.py").write_bytes(code)
    entry = kb_dir / "shapes.md"
    entry.write_text(entry.read_text().replace("---\n", "---\nsnippet: demo.py\n", 1))


def _unclosed(kb_dir: Path) -> None:
    entry = kb_dir / "shapes.md"
    head, _, body = entry.read_text().partition("\n---\n")
    entry.write_text(head + "\n" + body)


KB_FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "snippet not UTF-8": (lambda d: _with_snippet(d, b"print('\xff\xfe')\n"),
                          "snippets/demo.py: not UTF-8 text (the snippet of"),
    "folder named like an entry": (lambda d: (d / "extra-entry.md").mkdir(),
                                   "extra-entry.md: a folder named like an entry; entries are files: move or rename it"),
    "front matter not closed": (_unclosed, "shapes.md: front matter not closed; add a '---' line after the last field"),
    "entry not UTF-8": (lambda d: (d / "shapes.md").write_bytes(b"---\nid: \xff\n---\n"),
                        "shapes.md: not UTF-8 text; save the file as UTF-8"),
    "no front matter": (lambda d: (d / "shapes.md").write_text("just text\n"), "shapes.md: no front matter"),
    "malformed front matter": (lambda d: (d / "shapes.md").write_text("---\nid: [x\n---\nbody\n"),
                               "shapes.md: malformed front matter"),
    "topics.json not JSON": (lambda d: (d / "topics.json").write_text("{"), "topics.json: field 'topics'"),
    "topics.json a folder": (lambda d: ((d / "topics.json").unlink(), (d / "topics.json").mkdir()),
                             "topics.json: cannot be read"),
    "scope.yaml malformed": (lambda d: (d / "scope.yaml").write_text("covers: [x\n"), "scope.yaml: malformed YAML"),
    "snippet missing": (lambda d: (d / "shapes.md").write_text((d / "shapes.md").read_text().replace(
        "---\n", "---\nsnippet: gone.py\n", 1)), "kb/snippets/gone.py does not exist"),
}


@pytest.mark.parametrize("fault", KB_FAULTS)
def test_a_damaged_kb_file_is_one_line_naming_it_and_the_fix(fault: str, kb_dir: Path) -> None:
    damage, message = KB_FAULTS[fault]
    damage(kb_dir)
    problems = validate_kb(kb_dir)
    assert any(message in p for p in problems), problems
    assert all("\n" not in p for p in problems)


@pytest.mark.parametrize("fault", ["snippet not UTF-8", "folder named like an entry", "front matter not closed"])
def test_validate_ask_and_serve_stop_on_a_damaged_kb_file_with_exit_1(
        fault: str, kb_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    KB_FAULTS[fault][0](kb_dir)
    monkeypatch.setenv("BOT_KB_DIR", str(kb_dir))
    for command in (["validate"], ["ask", "what is dZ?"], ["serve", "--port", "9"]):
        assert main(command) == 1
        err = capsys.readouterr()
        assert KB_FAULTS[fault][1] in err.out + err.err and "Traceback" not in err.out + err.err


def test_a_byte_order_mark_before_the_front_matter_is_read_as_utf8(kb_dir: Path) -> None:
    entry = kb_dir / "shapes.md"
    entry.write_bytes(b"\xef\xbb\xbf" + entry.read_bytes())  # as some Windows editors save UTF-8
    assert validate_kb(kb_dir) == []
    assert load_kb(kb_dir).get("shapes").title


def test_a_repaired_kb_validates_again(kb_dir: Path) -> None:
    entry = kb_dir / "shapes.md"
    original = entry.read_text()
    _unclosed(kb_dir)
    assert validate_kb(kb_dir)
    entry.write_text(original)
    assert validate_kb(kb_dir) == [] and len(documents(load_kb(kb_dir))) > 0
