"""The embedding model in a child process, driven over a pipe: the HTTP server keeps its event loop and GIL to
itself, and N of these use N cores whichever connection a question came in on."""
from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from bot.errors import BatchFailed, ConfigError, ModelUnavailable
from bot.retrieval.embed import Embedder

log = logging.getLogger(__name__)
START_TIMEOUT = 300.0  # seconds for the child to load the model (ONNX ~0.3 s, torch ~10 s; more on a busy box)


def _serve(conn: Connection, factory: Callable[[], Embedder]) -> None:
    """The child: build the embedder, say so, then encode each list of texts that arrives until the pipe closes."""
    # Ctrl+C reaches the whole process group: the parent shuts its children down by closing their pipes
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from tqdm import tqdm  # sentence-transformers' encode makes a (disabled) bar, and tqdm's default lock is a

    tqdm.set_lock(threading.RLock())  # multiprocessing semaphore that outlives the child: a warning at shutdown
    try:
        embedder = factory()
    except BaseException as exc:  # noqa: BLE001 - the parent shows it, e.g. a ConfigError naming BOT_MODEL
        conn.send(("error", f"{type(exc).__name__}: {exc}", isinstance(exc, ConfigError)))
        return
    conn.send(("ready", embedder.name, embedder.dim))
    while True:
        try:
            texts = conn.recv()
        except EOFError:  # the parent closed the pipe or died
            return
        try:
            conn.send(("ok", embedder.encode(texts)))
        except Exception as exc:  # noqa: BLE001 - a bad batch fails that batch, not the process
            conn.send(("error", f"{type(exc).__name__}: {exc}", False))


class ModelProcess:
    """An Embedder whose model lives in a spawned child; one caller at a time (BatchingEmbedder drives it)."""

    def __init__(self, factory: Callable[[], Embedder], name: str = "model") -> None:
        self._factory, self._label = factory, name
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Connection | None = None
        self._closed = False
        self.name, self.dim = self._start()

    @property
    def pid(self) -> int | None:
        """The child's process id, None between a crash and the next encode."""
        return None if self._process is None else int(self._process.pid)

    def _start(self) -> tuple[str, int]:
        context = multiprocessing.get_context("spawn")  # fork would copy the parent's threads and locks
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child, self._factory), name=self._label, daemon=True)
        process.start()
        child.close()
        if not parent.poll(START_TIMEOUT):
            process.kill()
            raise ModelUnavailable(f"the {self._label} process did not load the model in {START_TIMEOUT:.0f} s")
        try:
            reply = parent.recv()
        except EOFError:
            process.join(5)
            raise ModelUnavailable(f"the {self._label} process exited while loading the model "
                                    f"(exit code {process.exitcode}); its error is in the log above") from None
        if reply[0] == "error":
            process.join(5)
            raise (ConfigError if reply[2] else ModelUnavailable)(reply[1])
        self._process, self._conn = process, parent
        return str(reply[1]), int(reply[2])

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            if self._closed:
                raise ModelUnavailable(f"the {self._label} process was closed")
            if self._conn is None:  # the last one died: start another (its error was raised to that caller)
                self._start()
            assert self._conn is not None
            try:
                self._conn.send(texts)
                reply = self._conn.recv()
            except (EOFError, OSError):
                code = self._stop()
                log.error("the %s process stopped (exit code %s); the next question starts a new one",
                          self._label, code)
                raise ModelUnavailable(f"the {self._label} process stopped (exit code {code}) while encoding; "
                                        "retry: a new one is started") from None
        if reply[0] == "error":
            raise BatchFailed(f"the {self._label} process failed on this batch: {reply[1]}")
        return np.asarray(reply[1], dtype=np.float32)

    def _stop(self) -> int | None:
        if self._conn is not None:
            self._conn.close()
        process, self._process, self._conn = self._process, None, None
        if process is None:
            return None
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join()
        return process.exitcode  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop the child (closing the pipe ends its loop); encode() refuses from now on."""
        with self._lock:
            self._closed = True
            self._stop()
