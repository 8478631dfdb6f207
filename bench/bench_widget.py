"""The composer widget's delay: last keystroke -> panel in the page (median of 20), headless Chromium on loopback.

    .venv/bin/python bench/bench_widget.py      (needs Debian's chromium and the playwright package)

The API (the real model, in-process, as the tests run it) and a Discourse-like composer page are served on free
127.0.0.1 ports, from two origins as on a forum. Each question is typed a key every 30 ms into the empty textarea;
the time runs from its last keydown to the panel's entries being in the DOM (a MutationObserver). It includes the
widget's deliberate pause after typing (400 ms, data-pause), printed separately. One unmeasured question first
warms the model. Also saves docs/widget.png, the picture in the README.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import expect, sync_playwright

from bot.answer import Bot
from bot.config import load_settings
from bot.serve.api import create_app
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, ROOT, ServedApp, page_server

PAUSE_MS = 400  # the widget's default data-pause
QUESTIONS = [  # drafts a student might start a topic with (written for this script)
    "why does dW2 get a 1/m but dZ2 does not",
    "what is the derivative of relu when z is exactly zero",
    "where does dAL = -(Y/AL - (1-Y)/(1-AL)) come from",
    "why do we use keepdims=True when computing db",
    "shape of dW1 does not match W1 in my backprop",
    "why is dZ = A - Y for the softmax layer",
    "what exactly is stored in the cache during forward propagation",
    "how do I compute dA_prev from dZ and W",
    "derivative of the sigmoid function written with A",
    "why is the tanh derivative 1 - a squared",
    "my gradient check gives a difference of 1e-2, is that wrong",
    "what is the difference between the loss and the cost",
    "why do we transpose W when going backwards",
    "how does dropout change the backward pass",
    "why multiply by the derivative of g elementwise",
    "L2 regularization term in dW, where does lambda/m W come from",
    "why initialise weights randomly and not with zeros",
    "what does np.sum axis=1 do for db",
    "how does batch norm backprop work for gamma and beta",
    "chain rule for a two layer network step by step",
]
COMPOSER = """<!doctype html>
<meta name="viewport" content="width=device-width, initial-scale=1">
<body style="margin: 16px; font: 15px system-ui, sans-serif; background: #fff">
<div id="reply-control" style="max-width: 640px">
  <input id="reply-title" placeholder="Type title, or paste a link here"
         style="width: 100%; box-sizing: border-box; padding: 6px; margin-bottom: 8px; font: inherit">
  <div class="d-editor-textarea-wrapper">
    <textarea class="d-editor-input" rows="6" style="width: 100%; box-sizing: border-box; padding: 6px; font: inherit"
              placeholder="Type here. Use Markdown, BBCode, or HTML to format."></textarea>
  </div>
</div>
<script src="{api}/widget.js" async></script>
"""
TIMING = """
window.__t = {key: 0, shown: 0};
document.addEventListener("keydown", () => { window.__t.key = performance.now(); }, true);
new MutationObserver(() => {
  const panel = document.querySelector(".bpqa-panel");
  if (panel && !panel.hidden && panel.querySelector("a")) window.__t.shown = performance.now();
}).observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ["hidden"]});
"""


def main() -> None:
    pages: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp, page_server(pages) as origin, sync_playwright() as p:
        settings = load_settings(db_path=Path(tmp) / "bot.sqlite3", api_rate_limit=0)
        bot = Bot(settings)
        api = ServedApp(create_app(lambda: bot, replace(settings, api_cors_origins=origin)))
        api.start(timeout=300)
        try:
            pages["/"] = COMPOSER.format(api=api.url)
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 700, "height": 320})
            page.add_init_script(TIMING)
            page.goto(origin + "/")
            page.wait_for_function("document.querySelector('style') !== null")
            textarea, panel = page.locator("textarea.d-editor-input"), page.locator(".bpqa-panel")

            def typed(question: str) -> float:
                """Type `question` into the emptied textarea; ms from its last keydown to the panel listing entries."""
                textarea.fill("")
                if panel.count():
                    expect(panel).to_be_hidden(timeout=10_000)
                page.evaluate("window.__t.shown = 0")
                textarea.press_sequentially(question, delay=30)
                page.wait_for_function("window.__t.shown > window.__t.key", timeout=30_000)
                return float(page.evaluate("window.__t.shown - window.__t.key"))

            typed(QUESTIONS[0])  # warms the model up
            delays = [typed(question) for question in QUESTIONS]
            median = statistics.median(delays)
            print(f"last keystroke -> panel, median of {len(delays)}: {median:.0f} ms "
                  f"({PAUSE_MS} ms of it the widget's pause, {median - PAUSE_MS:.0f} ms request + render); "
                  f"min {min(delays):.0f} ms, max {max(delays):.0f} ms")
            textarea.fill("")
            page.locator("#reply-title").fill("Where did the 1/m go in dZ2?")  # the widget reads the title too
            textarea.press_sequentially("I get dW2 with a 1/m but dZ2 = A2 - Y has none, why?", delay=10)
            page.wait_for_function("window.__t.shown > window.__t.key", timeout=30_000)
            page.wait_for_timeout(300)  # let the panel paint before the picture
            page.screenshot(path=str(ROOT / "docs" / "widget.png"), full_page=False)
            print("saved docs/widget.png")
            browser.close()
        finally:
            api.stop()
            bot.close()


if __name__ == "__main__":
    main()
