"""A flat inner-product vector index: FAISS when installed, NumPy otherwise; saved with a manifest.

Only vectors.npy is saved: a flat FAISS index rebuilds from it in well under a millisecond, so there is one source of truth.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

try:
    import faiss

    FAISS = True
except ImportError:  # the NumPy path gives identical results at this size
    FAISS = False


class VectorIndex:
    """Exact cosine search over L2-normalised rows."""

    def __init__(self, vectors: np.ndarray, backend: str = "auto") -> None:
        if backend == "auto":
            backend = "faiss" if FAISS else "numpy"
        if backend == "faiss" and not FAISS:
            raise RuntimeError("faiss is not installed: `pip install faiss-cpu`, or set BOT_INDEX_BACKEND=numpy")
        self.backend = backend
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)  # (n_docs, dim)
        self._faiss = None
        if backend == "faiss":
            self._faiss = faiss.IndexFlatIP(self.vectors.shape[1])
            self._faiss.add(self.vectors)

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, row ids), each (n_queries, k), best first."""
        k = min(k, len(self))
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if self._faiss is not None:
            scores, ids = self._faiss.search(queries, k)
            return scores, ids
        sims = queries @ self.vectors.T
        ids = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(sims, ids, axis=1), ids

    def save(self, folder: Path, manifest: dict[str, object]) -> None:
        """Write vectors.npy, then manifest.json, so that a torn write leaves no manifest and is detected."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "manifest.json").unlink(missing_ok=True)
        np.save(folder / "vectors.npy", self.vectors, allow_pickle=False)
        tmp = folder / "manifest.json.tmp"
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(folder / "manifest.json")

    @classmethod
    def load(cls, folder: Path, backend: str = "auto") -> tuple[VectorIndex, dict[str, object]]:
        """Load a saved index; raise ValueError (with the reason) when it is missing, torn or corrupt."""
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            vectors = np.load(folder / "vectors.npy", allow_pickle=False)
        except FileNotFoundError as exc:
            raise ValueError(f"missing {Path(exc.filename).name}") from None
        except (OSError, ValueError) as exc:  # ValueError covers bad JSON, bad UTF-8 and a non-.npy file
            raise ValueError(f"unreadable: {exc}") from None
        if not isinstance(manifest, dict):
            raise ValueError("manifest.json is not an object")
        if vectors.ndim != 2 or vectors.shape != (manifest.get("n_docs"), manifest.get("dim")):
            raise ValueError(f"vectors.npy has shape {vectors.shape}, manifest says "
                             f"({manifest.get('n_docs')}, {manifest.get('dim')})")
        if not np.isfinite(vectors).all():
            raise ValueError("vectors.npy holds NaN or infinite values")
        return cls(vectors, backend), manifest
