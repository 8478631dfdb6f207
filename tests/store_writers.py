"""A writer process for the store's concurrency test: threads logging asks and feedback as fast as they can.

Imported by the 'spawn' children, so it stays light: bot.mentors.store and bot.answer, no torch, no model.
"""
from __future__ import annotations

import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.datatypes import Answer, Suggestion
from bot.mentors.store import Feedback, open_store


def question(process: int, thread: int, i: int) -> str:
    return f"p{process} t{thread} q{i}: why is there a 1/m in dW?"


def write(url: str, process: int, threads: int, per_thread: int, barrier: Any, results: Any) -> None:
    """Open the store (the first process to get there creates the file), wait for the others, then write."""
    try:
        store = open_store(url)
        barrier.wait(timeout=120)  # all processes start writing together

        def one_thread(thread: int) -> None:
            for i in range(per_thread):
                q = question(process, thread, i)
                answer = Answer(q, "answer", True, 0.9, [Suggestion("a", "A", [], 0.9, "u")], "")
                ask_id = store.log_ask(answer, "api" if process % 2 else "chat", 1.0)
                store.add_feedback(Feedback("a", q, i % 2 == 0, ask_id=ask_id))

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(one_thread, range(threads)))  # re-raises the first exception of any thread
        results.put((process, threads * per_thread, None, "torch" in sys.modules))
    except BaseException:  # noqa: BLE001  reported to the test, which fails with the traceback
        results.put((process, 0, traceback.format_exc(), "torch" in sys.modules))
