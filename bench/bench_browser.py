"""Browser timings: the chat's first load, and Enter -> rendered answer (median of 5), in headless Chromium.

    .venv/bin/python bench/bench_browser.py      (needs Debian's chromium and the playwright package)

Also saves docs/screenshot.png, the picture in the README.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import expect, sync_playwright

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, ROOT, streamlit_server

QUESTIONS = [  # each with a unique title to wait for
    ("why is there no 1/m in dZ2 when dW2 has it?", "Why 1/m is in dW and db but not in dZ or dA"),
    ("derivative of relu at zero?", "The derivative of ReLU at z = 0"),
    ("how is dAL = -(Y/AL - (1-Y)/(1-AL)) derived", "Where dAL = -(Y/AL - (1-Y)/(1-AL)) comes from"),
    ("softmax output dZ = A - Y why", "dZ = A - Y for a softmax output with categorical cross-entropy"),
    ("what does keepdims=True do in db", "Deriving db[l] = (1/m) np.sum(dZ[l], axis=1, keepdims=True)"),
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, streamlit_server(Path(tmp) / "chat.sqlite3") as url, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        loads = []
        for _ in range(3):  # the first load also pays the model's import in the server
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            start = time.perf_counter()
            page.goto(url, wait_until="domcontentloaded")
            page.get_by_test_id("stChatInputTextArea").wait_for(state="visible", timeout=120_000)
            loads.append(time.perf_counter() - start)
        answers = []
        for question, title in QUESTIONS:
            box = page.get_by_test_id("stChatInputTextArea")
            box.fill(question)
            start = time.perf_counter()
            box.press("Enter")
            reply = page.get_by_test_id("stChatMessage").filter(has=page.get_by_role("heading", name=title))
            expect(reply.locator(".katex").first).to_be_visible(timeout=60_000)
            answers.append(time.perf_counter() - start)
        shot = browser.new_page(viewport={"width": 900, "height": 1100})
        shot.goto(f"{url}/?q=why is there no 1/m in dZ2 when dW2 has it?", wait_until="domcontentloaded")
        expect(shot.locator(".katex").first).to_be_visible(timeout=60_000)
        expect(shot.get_by_text("Check it numerically")).to_be_visible(timeout=30_000)
        shot.wait_for_timeout(2000)  # let the code blocks and buttons finish drawing
        shot.get_by_test_id("stChatMessage").first.evaluate("e => e.scrollIntoView({block: 'start'})")
        shot.wait_for_timeout(500)
        (ROOT / "docs").mkdir(exist_ok=True)
        shot.screenshot(path=str(ROOT / "docs" / "screenshot.png"))
        browser.close()
    print(f"first page load (server cold, model import included): {loads[0]:.1f} s; later loads: "
          + ", ".join(f"{t:.1f} s" for t in loads[1:]))
    print(f"Enter -> rendered answer with KaTeX, median of {len(answers)}: {statistics.median(answers):.2f} s "
          f"(min {min(answers):.2f}, max {max(answers):.2f})")


if __name__ == "__main__":
    main()
