"""The README's pictures: a two-turn conversation at desktop (1280x900) and phone (390x844) width, in Chromium.

    .venv/bin/python bench/screenshots.py      (writes docs/chat-desktop.png and docs/chat-phone.png)
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import expect, sync_playwright

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, ROOT, streamlit_server

TURNS = [("why is there no 1/m in dZ2 when dW2 has it?", "Why 1/m is in dW and db but not in dZ or dA"),
         ("how is dZ[L] = A[L] - Y derived?", "Deriving dZ[L] = A[L] - Y for a sigmoid output with cross-entropy")]
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, streamlit_server(Path(tmp) / "chat.sqlite3") as url, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for name, (width, height) in SIZES.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url, wait_until="domcontentloaded")
            for question, title in TURNS:
                box = page.get_by_test_id("stChatInputTextArea")
                box.wait_for(state="visible", timeout=120_000)
                box.fill(question)
                box.press("Enter")
                reply = page.get_by_test_id("stChatMessage").filter(has=page.get_by_role("heading", name=title))
                expect(reply.locator(".katex").first).to_be_visible(timeout=60_000)
                page.wait_for_timeout(3000)  # KaTeX, code blocks and the scroll to the new answer
            page.screenshot(path=str(ROOT / "docs" / f"chat-{name}.png"))
            page.close()
        browser.close()
    print("wrote", ", ".join(f"docs/chat-{name}.png" for name in SIZES))


if __name__ == "__main__":
    main()
