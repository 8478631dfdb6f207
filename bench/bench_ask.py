"""Latency benchmark: cold start split by phase, warm ask p50/p95 on short questions and long posts, and one bare
model.encode of the same text as the floor.

    .venv/bin/python bench/bench_ask.py [--n 200]

Run it in a fresh process (it times the imports). The questions are the KB's own phrasings, so the numbers
do not depend on any evaluation set.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="questions to time (default: 200)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from bot.answer import Bot
    from bot.config import load_settings
    from bot.retrieval.corpus import documents, load_or_build
    from bot.retrieval.embed import load_embedder
    from bot.retrieval.kb import load_kb
    from bot.retrieval.notation import normalize
    from bot.retrieval.retrieve import Retriever

    t1 = time.perf_counter()
    settings = load_settings()
    embedder = load_embedder(settings.model, settings.embed_backend, settings.cache_dir, settings.threads)
    t2 = time.perf_counter()
    kb = load_kb(settings.kb_dir)
    index = load_or_build(kb, embedder, settings.cache_dir, settings.index_backend)
    t3 = time.perf_counter()
    Retriever(kb, documents(kb), index, embedder)  # no cache_dir: times the calibration fit itself
    t4 = time.perf_counter()
    build_start = time.perf_counter()
    load_or_build(kb, embedder, Path("/tmp/bench-index-rebuild"), force=True)
    build = time.perf_counter() - build_start
    bot = Bot(settings, embedder=embedder)
    bot.warm()  # every derivation computed once, as the chat and the server do at start
    print(f"backend {settings.embed_backend} ({type(embedder).__name__}); "
          f"cold start: imports {t1 - t0:.2f} s, model load {t2 - t1:.2f} s, "
          f"KB + index load {t3 - t2:.2f} s, retriever + calibration {t4 - t3:.2f} s")
    print(f"index build from scratch ({len(index)} texts): {build:.2f} s")
    # short questions are one window; the KB's posts (70-300 words) are several, each embedded
    groups = {"questions": [q for e in kb.entries for q in e.questions][: args.n],
              "posts": [p for e in kb.entries for p in e.posts][: args.n]}
    for name, texts in groups.items():
        for q in texts[:10]:  # warm-up: first calls allocate
            bot.ask(q)
        ask_ms, encode_ms = [], []
        for q in texts:
            start = time.perf_counter()
            bot.ask(q)
            ask_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            embedder.encode([normalize(q)])
            encode_ms.append((time.perf_counter() - start) * 1000)
        ratio = statistics.median(ask_ms) / statistics.median(encode_ms)
        print(f"warm ask, {len(texts)} KB {name}: p50 {statistics.median(ask_ms):.1f} ms, p95 "
              f"{percentile(ask_ms, 95):.1f} ms; one bare encode of the same text p50 "
              f"{statistics.median(encode_ms):.1f} ms; ratio {ratio:.2f} (target <= 3)")
    # the other backend's warm one-question encode, in the same run (the ONNX target: <= 0.7x sentence-transformers)
    other = "torch" if settings.embed_backend == "onnx" else "onnx"
    second = load_embedder(settings.model, other, settings.cache_dir, settings.threads)
    questions = [normalize(q) for q in groups["questions"]]
    for q in questions[:10]:
        second.encode([q])
    timings = {}
    for name, model in ((settings.embed_backend, embedder), (other, second)):
        times = []
        for q in questions:
            start = time.perf_counter()
            model.encode([q])
            times.append((time.perf_counter() - start) * 1000)
        timings[name] = statistics.median(times)
    print(f"warm one-question encode p50: onnx {timings['onnx']:.1f} ms, torch {timings['torch']:.1f} ms "
          f"(onnx/torch {timings['onnx'] / timings['torch']:.2f}, target <= 0.7)")

if __name__ == "__main__":
    main()
