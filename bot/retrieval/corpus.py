"""The texts that represent each entry for dense retrieval, and their embeddings cached on disk."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bot import __version__
from bot.datatypes import KnowledgeBase
from bot.retrieval.embed import Embedder
from bot.retrieval.index import VectorIndex
from bot.retrieval.notation import normalize

log = logging.getLogger(__name__)
FORMAT = 2  # bump when the way documents are made changes, so old caches rebuild
OUT_OF_SCOPE = ""  # entry id of the out-of-scope examples


@dataclass(frozen=True)
class Doc:
    entry_id: str  # OUT_OF_SCOPE for an example of what the KB does not answer
    kind: str  # title | summary | question | post | out-of-scope
    text: str


def documents(kb: KnowledgeBase) -> list[Doc]:
    """One row per title, summary, question and post of every entry, then the out-of-scope examples."""
    docs: list[Doc] = []
    for entry in kb.entries:
        docs.append(Doc(entry.id, "title", entry.title))
        docs.append(Doc(entry.id, "summary", entry.summary))
        docs.extend(Doc(entry.id, "question", q) for q in entry.questions)
        docs.extend(Doc(entry.id, "post", p) for p in entry.posts)
    docs.extend(Doc(OUT_OF_SCOPE, "out-of-scope", q) for q in kb.out_of_scope)
    return docs


def is_current(kb: KnowledgeBase, cache_dir: Path, model: str) -> bool:
    """Whether the saved index is intact and was built for this KB, model and format (no model loaded)."""
    try:
        _, manifest = VectorIndex.load(cache_dir, "numpy")
    except ValueError:
        return False
    expected = {"format": FORMAT, "model": model, "kb_hash": kb.content_hash, "n_docs": len(documents(kb))}
    return all(manifest.get(k) == v for k, v in expected.items())


def load_or_build(kb: KnowledgeBase, embedder: Embedder, cache_dir: Path, backend: str = "auto",
                  progress: Callable[[int, int], None] | None = None, force: bool = False) -> VectorIndex:
    """Load the cached index when it matches this KB and model; otherwise embed the documents and save."""
    docs = documents(kb)
    expected = {"format": FORMAT, "model": embedder.name, "dim": embedder.dim,
                "kb_hash": kb.content_hash, "n_docs": len(docs)}
    if not force:
        try:
            index, manifest = VectorIndex.load(cache_dir, backend)
            stale = {k: manifest.get(k) for k, v in expected.items() if manifest.get(k) != v}
            if not stale:
                return index
            log.warning("warning: index in %s was built for another %s; rebuilding it", cache_dir, ", ".join(sorted(stale)))
        except ValueError as exc:
            if (cache_dir / "manifest.json").exists() or (cache_dir / "vectors.npy").exists():
                log.warning("warning: index in %s is unusable (%s); rebuilding it", cache_dir, exc)
    index = VectorIndex(_embed([normalize(d.text) for d in docs], embedder, progress), backend)
    manifest = {**expected, "package_version": __version__,
                "built_at": datetime.now(UTC).isoformat(timespec="seconds")}
    try:
        index.save(cache_dir, manifest)
    except OSError as exc:  # e.g. a full disk: still answers, and rebuilds next start
        log.warning("warning: could not save the index to %s (%s); it will be rebuilt next start", cache_dir,
                    exc.strerror or exc)
    return index


def _embed(texts: list[str], embedder: Embedder, progress: Callable[[int, int], None] | None,
           batch: int = 64) -> np.ndarray:
    parts = []
    for start in range(0, len(texts), batch):
        parts.append(embedder.encode(texts[start:start + batch]))
        if progress:
            progress(min(start + batch, len(texts)), len(texts))
    return np.vstack(parts) if parts else np.zeros((0, embedder.dim), np.float32)
