"""Enter -> rendered answer in headless Chromium: median of 10 questions (the answer's title and first formula drawn).

    .venv/bin/python bench/bench_enter.py      (needs Debian's chromium and the playwright package)
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import expect, sync_playwright

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, streamlit_server

QUESTIONS = [  # each with a unique title to wait for; the warm-up question is not counted
    ("why is there no 1/m in dZ2 when dW2 has it?", "Why 1/m is in dW and db but not in dZ or dA"),
    ("derivative of relu at zero?", "The derivative of ReLU at z = 0"),
    ("how is dAL = -(Y/AL - (1-Y)/(1-AL)) derived", "Where dAL = -(Y/AL - (1-Y)/(1-AL)) comes from"),
    ("softmax output dZ = A - Y why", "dZ = A - Y for a softmax output with categorical cross-entropy"),
    ("what does keepdims=True do in db", "Deriving db[l] = (1/m) np.sum(dZ[l], axis=1, keepdims=True)"),
]
RUNS = 10


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, streamlit_server(Path(tmp) / "chat.sqlite3") as url, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_test_id("stChatInputTextArea").wait_for(state="visible", timeout=120_000)
        times = []
        for run in range(RUNS + 1):
            if run % len(QUESTIONS) == 0:  # a fresh conversation now and then, so the page does not grow without end
                page.goto(url, wait_until="domcontentloaded")
            question, title = QUESTIONS[run % len(QUESTIONS)]
            box = page.get_by_test_id("stChatInputTextArea")
            box.wait_for(state="visible", timeout=120_000)
            box.fill(question)
            start = time.perf_counter()
            box.press("Enter")
            reply = page.get_by_test_id("stChatMessage").filter(has=page.get_by_role("heading", name=title)).last
            expect(reply.locator(".katex").first).to_be_visible(timeout=60_000)
            if run:  # the first one warms the model's caches
                times.append(time.perf_counter() - start)
        browser.close()
    print(f"Enter -> rendered answer (title and first formula drawn), median of {len(times)}: "
          f"{statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})")


if __name__ == "__main__":
    main()
