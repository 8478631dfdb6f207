"""Shared fixtures: a tiny fixture KB with a fake embedder for logic tests, and the real model once per session."""
from __future__ import annotations

import hashlib
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from bot.answer import Bot
from bot.config import ROOT, load_settings
from bot.proofs import sandbox
from bot.retrieval.notation import lexical_tokens

if TYPE_CHECKING:
    from pg_support import PgCluster

FIXTURE_KB = Path(__file__).parent / "fixtures" / "kb"
SHARED_EVAL = ROOT.parent / "shared" / "eval"


class HashEmbedder:
    """Deterministic, offline, instant: each token hashed into one of 256 dimensions, L2-normalised."""

    name = "test-hash-embedder"
    dim = 256

    def __init__(self) -> None:
        self.calls = 0  # texts encoded, so tests can tell a cache hit from a rebuild

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for token in lexical_tokens(text):
                out[row, int(hashlib.md5(token.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


@pytest.fixture(autouse=True)
def keep_main_module() -> Iterator[None]:
    """AppTest leaves the script it ran as sys.modules["__main__"], and every later 'spawn' child (model processes,
    store writers) would run it again first: a whole chat page, torch included."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A private copy of the fixture KB that a test may edit."""
    return Path(shutil.copytree(FIXTURE_KB, tmp_path / "kb"))


@pytest.fixture
def fake_bot(kb_dir: Path, tmp_path: Path) -> Bot:
    settings = load_settings(kb_dir=kb_dir, cache_dir=tmp_path / "cache")
    return Bot(settings, embedder=HashEmbedder())


@pytest.fixture(scope="session")
def real_bot(tmp_path_factory: pytest.TempPathFactory) -> Bot:
    """The real KB with the packaged model: loaded once per test session (~10 s)."""
    return Bot(load_settings(cache_dir=tmp_path_factory.mktemp("index")))


@pytest.fixture
def root_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine of the issue: root, no working bubblewrap, and an interpreter under a private /root."""
    monkeypatch.setattr(sandbox, "bubblewrap", lambda: None)
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 0)
    monkeypatch.setattr(sandbox, "_world_readable", lambda path: False)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL server for the session (about 1 s to create); tests get their own database."""
    import pg_support

    if (reason := pg_support.unavailable()) is not None:
        pytest.skip(reason)
    cluster = pg_support.PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(params=["sqlite", "postgresql"])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty question log on each back end: a SQLite file, or a new database on the test server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    return str(request.getfixturevalue("pg_cluster").new_database())
