"""ModelProcess: the embedder runs in a spawned child; its failures come back as clear errors, never as a hang."""
from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import numpy as np
import pytest

from bot.errors import ConfigError, ModelUnavailable
from bot.serve.model_process import ModelProcess
from tests.conftest import HashEmbedder


class Moody(HashEmbedder):
    """A picklable embedder that fails on cue: "raise" fails the batch, "exit" ends the process."""

    def encode(self, texts: list[str]) -> np.ndarray:
        if "raise" in texts:
            raise ValueError("cannot encode 'raise'")
        if "exit" in texts:
            os._exit(3)
        return super().encode(texts)


def no_model() -> HashEmbedder:
    raise ConfigError("cannot load embedding model 'nowhere'. Set BOT_MODEL to a sentence-transformers model folder")


@pytest.fixture
def child() -> Iterator[ModelProcess]:
    process = ModelProcess(Moody, "test-model")
    yield process
    process.close()


def test_the_child_encodes_as_the_embedder_would_in_process(child: ModelProcess) -> None:
    texts = ["why 1/m in dW", "dZ = A - Y"]
    assert (child.name, child.dim) == (HashEmbedder.name, HashEmbedder.dim)
    assert np.array_equal(child.encode(texts), HashEmbedder().encode(texts))


def test_a_model_that_cannot_load_raises_its_own_error_in_the_parent() -> None:
    with pytest.raises(ConfigError, match="Set BOT_MODEL"):
        ModelProcess(no_model)


def test_a_failed_batch_is_an_error_for_that_batch_and_the_child_keeps_serving(child: ModelProcess) -> None:
    with pytest.raises(ModelUnavailable, match="failed on this batch: ValueError: cannot encode 'raise'"):
        child.encode(["raise"])
    assert child.encode(["fine"]).shape == (1, HashEmbedder.dim)


def test_a_child_that_dies_is_reported_and_the_next_encode_starts_a_new_one(child: ModelProcess) -> None:
    first = child.pid
    with pytest.raises(ModelUnavailable, match=r"test-model process stopped \(exit code 3\)"):
        child.encode(["exit"])
    assert child.encode(["fine"]).shape == (1, HashEmbedder.dim)
    assert child.pid not in (None, first)


def test_ctrl_c_is_left_to_the_parent(child: ModelProcess) -> None:
    assert child.pid is not None
    os.kill(child.pid, signal.SIGINT)  # a terminal sends it to the whole process group
    assert child.encode(["still here"]).shape == (1, HashEmbedder.dim)


def test_close_ends_the_child(child: ModelProcess) -> None:
    pid = child.pid
    assert pid is not None
    child.close()
    assert child.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(ModelUnavailable, match="was closed"):
        child.encode(["too late"])
