"""The ONNX backend: what it reads from a model folder, when it exports, and when it leaves the model to torch."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.answer import Bot
from bot.config import ROOT, load_settings
from bot.retrieval import embed
from bot.retrieval.corpus import documents
from bot.retrieval.embed import load_embedder, resolve_model
from bot.retrieval.notation import normalize
from bot.retrieval.onnx_backend import OnnxEmbedder, Unsupported, export_key, export_path, read_stack

PACKAGED = Path(resolve_model(load_settings().model))


def model_folder(tmp_path: Path, modules: list[str], pooling: dict[str, object] | None = None) -> Path:
    """A sentence-transformers folder's small files (no weights): enough for read_stack and export_key."""
    folder = tmp_path / "model"
    (folder / "1_Pooling").mkdir(parents=True)
    types = [{"idx": i, "name": str(i), "path": "" if i == 0 else f"{i}_{t}",
              "type": f"sentence_transformers.models.{t}"} for i, t in enumerate(modules)]
    (folder / "modules.json").write_text(json.dumps(types))
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling or {
        "word_embedding_dimension": 8, "pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64}))
    (folder / "tokenizer.json").write_text("{}")
    return folder


def test_the_packaged_model_is_mean_pooled_384_dimensions_256_pieces() -> None:
    stack = read_stack(PACKAGED)
    assert (stack.pooling, stack.dim, stack.max_length) == ("mean", 384, 256)


def test_a_stack_with_another_module_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(Unsupported, match=r"\['Transformer', 'Pooling', 'Dense'\] is not Transformer, Pooling"):
        read_stack(model_folder(tmp_path, ["Transformer", "Pooling", "Dense"]))


def test_a_pooling_this_backend_does_not_run_is_unsupported(tmp_path: Path) -> None:
    pooling = {"word_embedding_dimension": 8, "pooling_mode_mean_tokens": False, "pooling_mode_weightedmean_tokens": True}
    with pytest.raises(Unsupported, match="pooling"):
        read_stack(model_folder(tmp_path, ["Transformer", "Pooling"], pooling))


def test_the_export_key_changes_with_any_model_file(tmp_path: Path) -> None:
    stack = read_stack(model_folder(tmp_path, ["Transformer", "Pooling", "Normalize"]))
    before = export_key(stack)
    (stack.folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128}))
    assert export_key(stack) != before


def test_an_unsupported_model_falls_back_to_torch_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    folder = model_folder(tmp_path, ["Transformer", "Pooling", "Dense"])
    monkeypatch.setattr(embed, "SentenceEmbedder", lambda model, threads: ("torch", model, threads))
    with caplog.at_level(logging.WARNING):
        chosen = load_embedder(str(folder), "onnx", tmp_path / "cache", 1)
    assert chosen == ("torch", str(folder), 1)
    [line] = [r.getMessage() for r in caplog.records]
    assert "cannot run this model" in line and "Dense" in line and "using sentence-transformers (torch)" in line


# --- with the real model -------------------------------------------------------------------------------------------

def test_every_kb_text_embeds_the_same_on_both_backends(real_bot: Bot) -> None:
    texts = [normalize(d.text) for d in documents(real_bot.kb)]
    settings = real_bot.settings
    torch_vectors = load_embedder(settings.model, "torch", settings.cache_dir).encode(texts)
    onnx_vectors = real_bot.embedder.encode(texts)
    assert isinstance(real_bot.embedder, OnnxEmbedder)
    cosines = (torch_vectors * onnx_vectors).sum(axis=1)
    assert cosines.min() >= 0.99999, texts[int(np.argmin(cosines))]


def test_a_damaged_export_is_exported_again_with_one_line(real_bot: Bot, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    stack = read_stack(PACKAGED)
    good = export_path(real_bot.settings.cache_dir, stack)
    damaged = export_path(tmp_path, stack)
    damaged.write_bytes(good.read_bytes()[:1000])  # torn in the middle of a write
    with caplog.at_level(logging.WARNING):
        embedder = OnnxEmbedder("packaged", PACKAGED, tmp_path, 1)
    assert [r.getMessage() for r in caplog.records if "unusable" in r.getMessage()]
    assert damaged.stat().st_size == good.stat().st_size
    assert float(embedder.encode(["dZ = A - Y"])[0] @ real_bot.embedder.encode(["dZ = A - Y"])[0]) > 0.99999


def test_answering_imports_neither_torch_nor_transformers_nor_scikit_learn(real_bot: Bot) -> None:
    """A fresh process over the index and export the session built: the path `python -m bot ask` takes."""
    code = ("import sys; from bot.answer import Bot; a = Bot().ask('why is there no 1/m in dZ2?'); "
            "print(a.entry.id, sorted(m for m in ('torch', 'transformers', 'sklearn', 'sentence_transformers') "
            "if m in sys.modules))")
    env = {**os.environ, "BOT_CACHE_DIR": str(real_bot.settings.cache_dir), "BOT_EMBED_BACKEND": "onnx"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["one-over-m-placement", "[]"], out.stderr


def test_both_backends_rank_the_same_three_entries_first(real_bot: Bot) -> None:
    """On every evaluation question and seed post (where they are beside the repo) and every KB question."""
    from tests.conftest import SHARED_EVAL

    asked = [q for e in real_bot.kb.entries for q in e.questions]
    for name in ("dev.jsonl", "forum.jsonl"):
        if (SHARED_EVAL / name).exists():
            lines = (SHARED_EVAL / name).read_text(encoding="utf-8").splitlines()
            asked += [json.loads(line)["question"] for line in lines if line.strip()]
    seeds = ROOT.parent / "shared" / "seeds" / "opening-posts"
    asked += [p.read_text(encoding="utf-8") for p in sorted(seeds.glob("*.txt"))] if seeds.exists() else []
    torch_bot = Bot(real_bot.settings, embedder=load_embedder(real_bot.settings.model, "torch",
                                                              real_bot.settings.cache_dir))
    differ = [q for q in asked if [h.entry_id for h in real_bot.retriever.rank(q).hits[:3]]
              != [h.entry_id for h in torch_bot.retriever.rank(q).hits[:3]]]
    assert not differ, differ[:3]
