"""Concurrent encodes coalesced into batches, spread over one or more models: a server's simultaneous questions
share forward passes, and every model (e.g. one per core, in its own process) stays busy."""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

from bot.errors import BatchFailed, ModelUnavailable
from bot.retrieval.embed import Embedder

log = logging.getLogger(__name__)
Job = tuple[list[str], "Future[np.ndarray]"]
MAX_TEXTS = 8  # per model call at most: on a CPU, batches past ~4 short questions gain little


class BatchingEmbedder:
    """An Embedder for many threads: each model has a thread that takes everything waiting (up to `max_texts`) and
    encodes it in one call; a lone question goes at once, nothing waits for a batch to fill."""

    def __init__(self, models: Sequence[Embedder], max_texts: int = MAX_TEXTS) -> None:
        if not models:
            raise ValueError("BatchingEmbedder needs at least one model")
        self.models, self.max_texts = list(models), max_texts
        self.name, self.dim = models[0].name, models[0].dim
        self._waiting: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self.batches = self.texts = 0  # texts / batches is the mean batch size (bench/bench_api.py prints it)
        self._threads = [threading.Thread(target=self._serve, args=(m,), name=f"batcher-{i}", daemon=True)
                         for i, m in enumerate(self.models)]
        for thread in self._threads:
            thread.start()

    def encode(self, texts: list[str]) -> np.ndarray:
        done: Future[np.ndarray] = Future()
        self._waiting.put((texts, done))
        return done.result()

    def close(self) -> None:
        """Let the threads finish what they hold and stop; then close models that can be closed."""
        for _ in self._threads:
            self._waiting.put(None)
        for thread in self._threads:
            thread.join()
        if self.batches:
            log.info("encoded %d texts in %d batches (%.1f per batch)", self.texts, self.batches,
                     self.texts / self.batches)
        for model in self.models:
            if hasattr(model, "close"):
                model.close()

    def _serve(self, model: Embedder) -> None:
        while (first := self._waiting.get()) is not None:
            jobs, size = [first], len(first[0])
            while size < self.max_texts:
                try:
                    job = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if job is None:  # close() was called: finish this batch, then let another thread see the stop
                    self._waiting.put(None)
                    break
                jobs.append(job)
                size += len(job[0])
            self._run(model, jobs)

    def _run(self, model: Embedder, jobs: list[Job]) -> None:
        try:
            vectors = model.encode([text for texts, _ in jobs for text in texts])
        except BaseException as exc:  # noqa: BLE001 - each caller gets the error in its own thread
            dead = isinstance(exc, ModelUnavailable) and not isinstance(exc, BatchFailed)
            if len(jobs) > 1 and not dead:  # one job's text may be at fault: it must not fail its neighbours
                for job in jobs:
                    self._run(model, [job])
                return
            for _, done in jobs:
                done.set_exception(exc)
            return
        with self._lock:
            self.batches, self.texts = self.batches + 1, self.texts + len(vectors)
        start = 0
        for texts, done in jobs:
            done.set_result(vectors[start:start + len(texts)])
            start += len(texts)
