"""The cached index: reused while the KB and model are unchanged, rebuilt (with a warning if broken) otherwise."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.retrieval.corpus import documents, load_or_build
from bot.retrieval.kb import load_kb
from tests.conftest import HashEmbedder


def test_documents_hold_titles_summaries_questions_and_scope_examples(kb_dir: Path) -> None:
    kb = load_kb(kb_dir)
    kinds = [d.kind for d in documents(kb)]
    assert kinds.count("title") == len(kb.entries) == kinds.count("summary")
    assert kinds.count("question") == sum(len(e.questions) for e in kb.entries)
    assert kinds.count("out-of-scope") == len(kb.out_of_scope) == 4


def test_unchanged_kb_loads_the_saved_index(kb_dir: Path, tmp_path: Path) -> None:
    kb, embedder = load_kb(kb_dir), HashEmbedder()
    load_or_build(kb, embedder, tmp_path / "cache")
    built = embedder.calls
    load_or_build(kb, embedder, tmp_path / "cache")
    assert built == len(documents(kb)) and embedder.calls == built


def test_changed_kb_rebuilds(kb_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    embedder = HashEmbedder()
    load_or_build(load_kb(kb_dir), embedder, tmp_path / "cache")
    path = kb_dir / "shapes.md"
    path.write_text(path.read_text().replace("shape of db", "what is the shape of db"))
    index = load_or_build(load_kb(kb_dir), embedder, tmp_path / "cache")
    assert embedder.calls == 2 * len(index)
    assert "built for another kb_hash; rebuilding it" in caplog.text


def test_changed_model_rebuilds(kb_dir: Path, tmp_path: Path) -> None:
    kb, first, second = load_kb(kb_dir), HashEmbedder(), HashEmbedder()
    second.name = "another-model"
    load_or_build(kb, first, tmp_path / "cache")
    load_or_build(kb, second, tmp_path / "cache")
    assert second.calls == len(documents(kb))


def test_corrupt_index_is_rebuilt_with_one_warning(kb_dir: Path, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    kb, embedder = load_kb(kb_dir), HashEmbedder()
    load_or_build(kb, embedder, tmp_path / "cache")
    (tmp_path / "cache" / "vectors.npy").write_bytes(b"\x00garbage")
    with caplog.at_level(logging.WARNING):
        index = load_or_build(kb, embedder, tmp_path / "cache")
    assert len(index) == len(documents(kb))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "unusable" in warnings[0].getMessage()


def test_unwritable_cache_still_answers(kb_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("")
    index = load_or_build(load_kb(kb_dir), HashEmbedder(), blocker / "cache")
    assert len(index) > 0 and "could not save the index" in caplog.text
