"""A flat inner-product vector index: FAISS when installed, NumPy otherwise; saved with a manifest.

Only vectors.npy is saved: a flat FAISS index rebuilds from it in well under a millisecond, so there is one source of truth.
"""
from __future__ import annotations

import hashlib
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

    def checksum(self) -> str:
        """SHA-256 of the vectors' bytes: a file damaged in place (zeroed, rows shuffled) no longer matches it."""
        return hashlib.sha256(self.vectors.tobytes()).hexdigest()

    def save(self, folder: Path, manifest: dict[str, object]) -> None:
        """Write vectors.npy, then manifest.json (with the vectors' checksum), so a torn write leaves no manifest."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "manifest.json").unlink(missing_ok=True)
        np.save(folder / "vectors.npy", self.vectors, allow_pickle=False)
        tmp = folder / "manifest.json.tmp"
        tmp.write_text(json.dumps({**manifest, "vectors_sha256": self.checksum()}, indent=2, sort_keys=True),
                       encoding="utf-8")
        tmp.replace(folder / "manifest.json")

    @classmethod
    def load(cls, folder: Path, backend: str = "auto") -> tuple[VectorIndex, dict[str, object]]:
        """Load a saved index; raise ValueError (with the reason) when it is missing, torn or corrupt."""
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError("missing manifest.json") from None
        except (OSError, ValueError) as exc:  # ValueError covers bad JSON and bad UTF-8
            raise ValueError(f"manifest.json is unreadable ({type(exc).__name__})") from None
        if not isinstance(manifest, dict):
            raise ValueError("manifest.json is not an object")
        vectors = _read_vectors(folder / "vectors.npy")
        if vectors.ndim != 2 or vectors.shape != (manifest.get("n_docs"), manifest.get("dim")):
            raise ValueError(f"vectors.npy has shape {vectors.shape}, manifest says "
                             f"({manifest.get('n_docs')}, {manifest.get('dim')})")
        index = cls(vectors, backend)
        if manifest.get("vectors_sha256") != index.checksum():
            raise ValueError("vectors.npy does not match the checksum in manifest.json (changed after it was saved)"
                             if "vectors_sha256" in manifest else "manifest.json has no checksum (an older format)")
        if not np.isfinite(index.vectors).all():  # saved that way: the model produced NaN
            raise ValueError("vectors.npy holds NaN or infinite values")
        return index, manifest


def _read_vectors(path: Path) -> np.ndarray:
    """The array in a .npy file, never unpickled; any damage is a ValueError saying what is wrong with the file."""
    try:
        with path.open("rb") as file:
            return np.asarray(np.lib.format.read_array(file, allow_pickle=False))
    except FileNotFoundError:
        raise ValueError("missing vectors.npy") from None
    except (OSError, ValueError, EOFError) as exc:  # numpy's own text would suggest allow_pickle=, which we never use
        size = path.stat().st_size if path.exists() else 0
        raise ValueError(f"vectors.npy is not a readable NumPy array file ({size} bytes, {type(exc).__name__})") from None
