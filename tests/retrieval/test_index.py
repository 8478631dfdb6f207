"""The vector index: FAISS and NumPy agree, and a saved index round-trips or is refused with a reason."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from bot.retrieval.index import FAISS, VectorIndex


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.skipif(not FAISS, reason="faiss-cpu is not installed")
@pytest.mark.parametrize("n, dim, k", [(1, 3, 1), (17, 8, 5), (333, 384, 7), (50, 16, 80)])
def test_faiss_and_numpy_return_the_same_top_k(n: int, dim: int, k: int) -> None:
    rng = np.random.default_rng(42)
    docs, queries = unit_rows(rng, n, dim), unit_rows(rng, 4, dim)
    f_scores, f_ids = VectorIndex(docs, "faiss").search(queries, k)
    n_scores, n_ids = VectorIndex(docs, "numpy").search(queries, k)
    assert f_ids.shape == (4, min(k, n))
    np.testing.assert_allclose(f_scores, n_scores, atol=1e-5)
    np.testing.assert_array_equal(f_ids, n_ids)


def test_search_scores_are_cosines_best_first() -> None:
    docs = np.eye(3, dtype=np.float32)
    scores, ids = VectorIndex(docs, "numpy").search(np.array([[0.6, 0.8, 0.0]], np.float32), 3)
    assert ids.tolist() == [[1, 0, 2]]
    np.testing.assert_allclose(scores, [[0.8, 0.6, 0.0]], atol=1e-6)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    docs = unit_rows(np.random.default_rng(0), 5, 4)
    VectorIndex(docs).save(tmp_path, {"n_docs": 5, "dim": 4, "model": "m"})
    index, manifest = VectorIndex.load(tmp_path)
    assert manifest["model"] == "m" and len(index) == 5
    np.testing.assert_array_equal(index.vectors, docs)


@pytest.mark.parametrize("damage, reason", [
    (lambda d: (d / "manifest.json").unlink(), "missing manifest.json"),
    (lambda d: (d / "vectors.npy").write_bytes(b"not numpy"), "not a readable NumPy array file (9 bytes"),
    (lambda d: (d / "manifest.json").write_text("{"), "manifest.json is unreadable"),
    (lambda d: (d / "manifest.json").write_text('{"n_docs": 9, "dim": 4}'), "manifest says (9, 4)"),
])
def test_damaged_index_is_refused_with_the_reason(tmp_path: Path, damage, reason: str) -> None:  # type: ignore[no-untyped-def]
    VectorIndex(unit_rows(np.random.default_rng(0), 5, 4)).save(tmp_path, {"n_docs": 5, "dim": 4})
    damage(tmp_path)
    with pytest.raises(ValueError, match=re.escape(reason)):
        VectorIndex.load(tmp_path)
