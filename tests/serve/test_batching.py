"""BatchingEmbedder: questions that arrive together are encoded together, and each caller gets its own rows."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.serve.batching import BatchingEmbedder
from tests.conftest import HashEmbedder


class GatedModel(HashEmbedder):
    """Records each batch; the first call waits for `gate`, so that later callers queue up behind it."""

    def __init__(self) -> None:
        super().__init__()
        self.gate, self.started = threading.Event(), threading.Event()
        self.batches: list[list[str]] = []
        self.closed = False

    def encode(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        self.started.set()
        self.gate.wait(10)
        return super().encode(texts)

    def close(self) -> None:
        self.closed = True


class SlowModel(HashEmbedder):
    """2 ms a call: long enough for concurrent callers to pile up into batches."""

    def encode(self, texts: list[str]) -> np.ndarray:
        time.sleep(0.002)
        return super().encode(texts)


class BrokenModel(HashEmbedder):
    def encode(self, texts: list[str]) -> np.ndarray:
        if "boom" in texts:
            raise ValueError("the model cannot encode 'boom'")
        return super().encode(texts)


def wait_until(condition: Callable[[], bool], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.005)):
        if condition():
            return
        threading.Event().wait(0.005)
    raise AssertionError("condition never held")


def test_a_lone_question_is_encoded_at_once_as_it_would_be_alone() -> None:
    model = GatedModel()
    model.gate.set()
    batcher = BatchingEmbedder([model])
    vectors = batcher.encode(["why 1/m in dW"])
    assert np.array_equal(vectors, HashEmbedder().encode(["why 1/m in dW"]))
    assert model.batches == [["why 1/m in dW"]]
    batcher.close()


def pile_up(batcher: BatchingEmbedder, model: GatedModel, waiting: int) -> list[np.ndarray]:
    """"first" holds the model while q0, q1, ... queue behind it; then the gate opens: every caller's result."""
    with ThreadPoolExecutor(waiting + 1) as pool:
        first = pool.submit(batcher.encode, ["first"])
        model.started.wait(10)
        queued = [pool.submit(batcher.encode, [f"q{i}"]) for i in range(waiting)]
        wait_until(lambda: batcher._waiting.qsize() == waiting)
        model.gate.set()
        return [first.result()] + [q.result() for q in queued]


def test_questions_waiting_while_the_model_works_go_in_one_batch() -> None:
    model = GatedModel()
    batcher = BatchingEmbedder([model])
    results = pile_up(batcher, model, 4)
    assert model.batches[0] == ["first"]
    assert sorted(model.batches[1]) == ["q0", "q1", "q2", "q3"]
    assert (batcher.texts, batcher.batches) == (5, 2)
    for i, vectors in enumerate(results[1:]):
        assert np.array_equal(vectors, HashEmbedder().encode([f"q{i}"]))
    batcher.close()


def test_a_batch_holds_at_most_max_texts() -> None:
    model = GatedModel()
    batcher = BatchingEmbedder([model], max_texts=3)
    pile_up(batcher, model, 7)
    assert [len(batch) for batch in model.batches] == [1, 3, 3, 1]
    batcher.close()


def test_every_model_takes_work_when_questions_wait() -> None:
    models = [GatedModel(), GatedModel()]
    batcher = BatchingEmbedder(models)
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(batcher.encode, ["q0"])]
        wait_until(lambda: any(m.started.is_set() for m in models))
        futures.append(pool.submit(batcher.encode, ["q1"]))
        wait_until(lambda: all(m.started.is_set() for m in models))  # the idle model took it: both busy at once
        for model in models:
            model.gate.set()
        for future in futures:
            future.result()
    assert sorted(b for m in models for batch in m.batches for b in batch) == ["q0", "q1"]
    batcher.close()


def test_an_error_reaches_the_callers_of_that_batch_and_the_next_question_is_answered() -> None:
    batcher = BatchingEmbedder([BrokenModel()])
    with pytest.raises(ValueError, match="cannot encode 'boom'"):
        batcher.encode(["boom"])
    assert batcher.encode(["fine"]).shape == (1, HashEmbedder.dim)
    batcher.close()


class GatedBrokenModel(GatedModel):
    """Gated like GatedModel, and fails any batch that holds 'boom', as a tokenizer fails on a lone surrogate."""

    def encode(self, texts: list[str]) -> np.ndarray:
        if "boom" in texts:
            self.batches.append(list(texts))
            raise ValueError("the model cannot encode 'boom'")
        return super().encode(texts)


def test_a_bad_text_fails_only_its_own_caller_not_its_batch() -> None:
    model = GatedBrokenModel()
    batcher = BatchingEmbedder([model])
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(batcher.encode, ["first"])  # holds the model until the gate opens
        wait_until(model.started.is_set)
        bad = pool.submit(batcher.encode, ["boom"])
        good = [pool.submit(batcher.encode, [f"q{i}"]) for i in range(2)]
        wait_until(lambda: batcher._waiting.qsize() == 3)
        model.gate.set()
        with pytest.raises(ValueError, match="cannot encode 'boom'"):
            bad.result(10)
        assert first.result(10).shape == (1, HashEmbedder.dim)
        assert all(g.result(10).shape == (1, HashEmbedder.dim) for g in good)
    assert ["boom", "q0", "q1"] in model.batches  # they did share a batch, and only 'boom' failed
    batcher.close()


def test_close_stops_the_threads_and_closes_the_models() -> None:
    model = GatedModel()
    model.gate.set()
    batcher = BatchingEmbedder([model, model])
    batcher.encode(["q"])
    batcher.close()
    assert model.closed
    assert not any(thread.is_alive() for thread in batcher._threads)


def test_it_needs_a_model() -> None:
    with pytest.raises(ValueError, match="at least one model"):
        BatchingEmbedder([])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=4), min_size=1, max_size=12),
       st.integers(1, 3), st.integers(1, 8))
def test_each_caller_gets_exactly_its_own_rows(calls: list[list[str]], models: int, max_texts: int) -> None:
    batcher = BatchingEmbedder([SlowModel() for _ in range(models)], max_texts=max_texts)
    with ThreadPoolExecutor(len(calls)) as pool:
        results = list(pool.map(batcher.encode, calls))
    for texts, vectors in zip(calls, results, strict=True):
        assert np.array_equal(vectors, HashEmbedder().encode(texts))
    assert batcher.texts == sum(len(texts) for texts in calls)
    batcher.close()
