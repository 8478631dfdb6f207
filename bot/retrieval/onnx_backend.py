"""The embedding model on ONNX Runtime: exported once with torch (when the index is built), then run with onnxruntime
and tokenizers only, pooled and normalised in NumPy as the model's own modules.json and 1_Pooling/config.json say.

Answering never imports torch: a new process loads this in ~0.3 s where sentence-transformers takes ~10 s.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
EXPORT_VERSION = 1  # bump when export() changes what it writes: every cached export is then redone
POOLINGS = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls", "pooling_mode_max_tokens": "max"}
BATCH = 32  # texts per model call
TRANSFORMER, POOLING, NORMALIZE = (f"sentence_transformers.models.{n}" for n in ("Transformer", "Pooling", "Normalize"))


class Unsupported(Exception):
    """The model is not one this backend can run (its message says why); the caller falls back to torch."""


@dataclass(frozen=True)
class Stack:
    """What a sentence-transformers folder says its model does after the transformer."""

    folder: Path
    pooling: str  # mean | cls | max
    dim: int
    max_length: int  # word pieces the transformer reads; the rest is cut off, as sentence-transformers does


def read_stack(folder: Path) -> Stack:
    """The module stack of a sentence-transformers folder, or Unsupported naming what this backend cannot run."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        types = [m["type"] for m in modules]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise Unsupported(f"{folder} has no readable modules.json ({exc})") from None
    if types not in ([TRANSFORMER, POOLING], [TRANSFORMER, POOLING, NORMALIZE]) or modules[0].get("path"):
        raise Unsupported(f"the module stack {[t.rsplit('.', 1)[-1] for t in types]} is not Transformer, Pooling "
                          "and optionally Normalize")
    try:
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
        config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError) as exc:
        raise Unsupported(f"cannot read the pooling or sentence-bert config of {folder} ({exc})") from None
    chosen = [name for key, name in POOLINGS.items() if pooling.get(key)]
    others = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v and k not in POOLINGS]
    if len(chosen) != 1 or others:
        raise Unsupported(f"pooling {chosen + others} is not exactly one of {', '.join(POOLINGS.values())}")
    if not (folder / "tokenizer.json").is_file():
        raise Unsupported(f"{folder} has no tokenizer.json (a fast tokenizer)")
    return Stack(folder, chosen[0], int(pooling["word_embedding_dimension"]),
                 int(config.get("max_seq_length") or 512))


def export_key(stack: Stack) -> str:
    """Changes when any file of the model changes (by name, size and time) or when the export itself does."""
    files = sorted(p for p in stack.folder.rglob("*") if p.is_file())
    seen = [(str(p.relative_to(stack.folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    return hashlib.sha256(json.dumps([EXPORT_VERSION, seen]).encode()).hexdigest()[:16]


def export_path(cache_dir: Path, stack: Stack) -> Path:
    """Where the export of these model files is cached: beside the index."""
    return cache_dir / f"model-{export_key(stack)}.onnx"


def export(stack: Stack, path: Path) -> None:
    """Write the transformer as ONNX (imports torch: build time only), atomically."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = SentenceTransformer(str(stack.folder), device="cpu")
    first: Any = model[0]  # the Transformer module (read_stack checked the stack)

    class Hidden(torch.nn.Module):  # keyword arguments: the positional order of forward() differs by version
        def __init__(self) -> None:
            super().__init__()
            self.transformer = first.auto_model.eval()

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                    token_type_ids=token_type_ids).last_hidden_state

    sample = first.tokenizer(["an example", "a second, longer example"], padding=True, return_tensors="pt")
    inputs = ("input_ids", "attention_mask", "token_type_ids")
    args = tuple(sample.get(name, torch.zeros_like(sample["input_ids"])) for name in inputs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # API model processes may export side by side on a first start
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on Python-side branches; the equivalence test checks the result
        torch.onnx.export(Hidden(), args, str(tmp), input_names=list(inputs), output_names=["hidden"],
                          dynamic_axes={name: {0: "batch", 1: "length"} for name in (*inputs, "hidden")},
                          opset_version=17, dynamo=False)
    tmp.replace(path)


class OnnxEmbedder:
    """An Embedder on ONNX Runtime for a sentence-transformers folder; exports it into `cache_dir` the first time."""

    def __init__(self, model: str, folder: Path, cache_dir: Path, threads: int = 0) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.stack = read_stack(folder)
        self.name, self.dim = model, self.stack.dim
        self.path = export_path(cache_dir, self.stack)
        options = onnxruntime.SessionOptions()
        if threads > 0:
            options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        options.log_severity_level = 3  # its warnings are about graph optimisations, not about the answers
        if not self.path.exists():
            self._export("no ONNX export of the model yet")
        try:
            self._session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - a torn or damaged file: any load error means export again
            self._export(f"the ONNX export {self.path.name} is unusable ({type(exc).__name__})")
            self._session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.stack.max_length)
        self._tokenizer.no_padding()  # tokenizer.json may pad everything to a fixed 128: padding is per batch here
        self._pad = _pad_token(folder)
        self._pad_id = self._tokenizer.token_to_id(self._pad) or 0

    def _export(self, why: str) -> None:
        log.warning("warning: %s; exporting it (once, ~10 s) to %s", why, self.path)
        for old in self.path.parent.glob("model-*.onnx"):
            if old != self.path:
                old.unlink(missing_ok=True)  # an export of other model files: never read again
        try:
            export(self.stack, self.path)
        except Exception as exc:  # noqa: BLE001 - whatever torch refuses to export, the caller uses torch itself
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise Unsupported(f"the model could not be exported to ONNX ({type(exc).__name__}: {first})") from None

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        encoded = self._tokenizer.encode_batch(texts)  # unpadded: padding is done per batch, below
        # by length, BATCH at a time, as sentence-transformers does: a short text is never padded to a long one's size
        order = np.argsort([len(e.ids) for e in encoded], kind="stable")
        vectors = np.empty((len(texts), self.dim), np.float32)
        for start in range(0, len(texts), BATCH):
            rows = order[start:start + BATCH]
            vectors[rows] = self._encode([encoded[i] for i in rows])
        return vectors

    def _encode(self, encoded: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encoded)
        feed = {name: np.zeros((len(encoded), width), np.int64) for name in ("input_ids", "attention_mask",
                                                                             "token_type_ids")}
        feed["input_ids"][:] = self._pad_id
        for row, e in enumerate(encoded):
            n = len(e.ids)
            feed["input_ids"][row, :n], feed["attention_mask"][row, :n], feed["token_type_ids"][row, :n] = (
                e.ids, e.attention_mask, e.type_ids)
        hidden = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        mask = feed["attention_mask"][:, :, None].astype(np.float32)
        if self.stack.pooling == "mean":
            vectors = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        elif self.stack.pooling == "cls":
            vectors = hidden[:, 0]
        else:
            vectors = np.where(mask > 0, hidden, -1e9).max(axis=1)
        # always unit length, with or without a Normalize module: the index compares by inner product, and the torch
        # backend normalises too
        return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)

def _pad_token(folder: Path) -> str:
    """The tokenizer's padding token, as its special_tokens_map.json names it ([PAD] for BERT-like models)."""
    try:
        pad = json.loads((folder / "special_tokens_map.json").read_text(encoding="utf-8")).get("pad_token", "[PAD]")
    except (OSError, ValueError):
        return "[PAD]"
    return str(pad["content"] if isinstance(pad, dict) else pad)
