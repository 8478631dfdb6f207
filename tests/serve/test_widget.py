"""The composer widget (GET /widget.js) in headless Chromium, on a page like Discourse's composer served from
another origin than the API (the fake embedder)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.answer import Bot
from bot.config import load_settings
from bot.serve.api import create_app
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, ServedApp, api_server, page_server
from tests.conftest import HashEmbedder

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not os.path.exists(CHROMIUM):
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

SHOWN = 15_000  # ms: a generous bound on the panel showing up, not a speed target (bench/bench_widget.py is)

# What Discourse renders for its composer, reduced to what the widget looks for.
COMPOSER = """<!doctype html>
<meta name="viewport" content="width=device-width, initial-scale=1">
<body style="margin: 0 8px">
<div id="reply-control">
  <input id="reply-title" placeholder="Title" style="width: 100%; box-sizing: border-box">
  <div class="d-editor-textarea-wrapper">
    <textarea class="d-editor-input" rows="8" style="width: 100%; box-sizing: border-box"></textarea>
  </div>
</div>
<script src="{api}/widget.js" data-count="2" data-pause="200" async></script>
"""


@dataclass
class Composer:
    page: Any
    api: ServedApp
    bot: Bot
    errors: list[str]

    @property
    def textarea(self) -> Any:
        return self.page.locator("textarea.d-editor-input")

    @property
    def panel(self) -> Any:
        return self.page.locator(".bpqa-panel")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def composer(browser: Any, bot: Bot, width: int = 1000, **settings: Any) -> Iterator[Composer]:
    pages: dict[str, str] = {}
    with page_server(pages) as origin:
        overrides = {"db_path": bot.settings.cache_dir.parent / "bot.sqlite3", "api_rate_limit": 0,
                     "api_cors_origins": origin, **settings}
        with api_server(create_app(lambda: bot, replace(bot.settings, **overrides))) as api:
            pages["/"] = COMPOSER.format(api=api.url)
            page = browser.new_page(viewport={"width": width, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(origin + "/")
            page.wait_for_function("document.querySelector('style') !== null")  # the widget has run
            yield Composer(page, api, bot, errors)
            page.close()


@pytest.fixture
def desk(browser: Any, fake_bot: Bot) -> Iterator[Composer]:
    with composer(browser, fake_bot) as desk:
        yield desk


def test_typing_a_question_lists_the_matching_entries_as_links_to_their_permalinks(desk: Composer) -> None:
    desk.page.locator("#reply-title").fill("ReLU question")
    desk.textarea.press_sequentially("what is the derivative of relu at zero?", delay=20)
    links = desk.panel.get_by_role("link")
    playwright.expect(links.first).to_have_text("The derivative of ReLU", timeout=SHOWN)
    assert links.first.get_attribute("href") == desk.bot.permalink("relu-derivative")
    assert links.count() == 2  # data-count
    assert desk.errors == []


def test_clearing_the_text_hides_the_panel(desk: Composer) -> None:
    desk.textarea.press_sequentially("shapes of dW and db", delay=20)
    playwright.expect(desk.panel).to_be_visible(timeout=SHOWN)
    desk.textarea.fill("")
    playwright.expect(desk.panel).to_be_hidden(timeout=SHOWN)


def test_with_the_api_stopped_nothing_is_shown_and_typing_goes_on(desk: Composer) -> None:
    desk.textarea.press_sequentially("shapes of dW and db", delay=20)
    playwright.expect(desk.panel).to_be_visible(timeout=SHOWN)
    desk.api.stop()
    shown_before = desk.page.locator("body").inner_text()
    with desk.page.expect_event("requestfailed", timeout=SHOWN) as failed:  # the widget did try
        desk.textarea.press_sequentially(", and why is db a column", delay=20)
    assert "/v1/similar" in failed.value.url
    playwright.expect(desk.panel).to_be_hidden(timeout=SHOWN)  # the stale entries went, nothing came instead
    assert desk.textarea.input_value() == "shapes of dW and db, and why is db a column"
    assert desk.page.locator("body").inner_text() in shown_before and desk.errors == []


def test_when_rate_limited_nothing_is_shown_and_typing_goes_on(browser: Any, fake_bot: Bot) -> None:
    # two requests a minute: the script, then one look-up; the next look-up gets 429
    with composer(browser, fake_bot, api_rate_limit=2) as desk:
        desk.textarea.press_sequentially("shapes of dW and db", delay=20)
        playwright.expect(desk.panel).to_be_visible(timeout=SHOWN)
        with desk.page.expect_response(lambda r: "/v1/similar" in r.url, timeout=SHOWN) as limited:
            desk.textarea.press_sequentially(", and why is db a column", delay=20)
        assert limited.value.status == 429
        playwright.expect(desk.panel).to_be_hidden(timeout=SHOWN)
        assert desk.textarea.input_value() == "shapes of dW and db, and why is db a column" and desk.errors == []


def test_at_phone_width_the_panel_fits_without_horizontal_scrolling(browser: Any, kb_dir: Path,
                                                                    tmp_path: Path) -> None:
    path = kb_dir / "relu-derivative.md"  # a title with code in it does not break at spaces
    code = "dZ=np.multiply(dA,np.int64(Z>0)).astype(np.float64).reshape(Z.shape)"
    path.write_text(path.read_text().replace("title: The derivative of ReLU", f"title: The derivative of ReLU, {code}"))
    bot = Bot(load_settings(kb_dir=kb_dir, cache_dir=tmp_path / "cache"), embedder=HashEmbedder())
    with composer(browser, bot, width=390) as phone:
        phone.textarea.press_sequentially("what is the derivative of relu at zero?", delay=20)
        playwright.expect(phone.panel.get_by_role("link").first).to_be_visible(timeout=SHOWN)
        box = phone.panel.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert phone.page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_script_is_served_as_javascript_and_documented(fake_bot: Bot) -> None:
    settings = replace(fake_bot.settings, db_path=fake_bot.settings.cache_dir.parent / "bot.sqlite3")
    with TestClient(create_app(lambda: fake_bot, settings)) as client:
        script = client.get("/widget.js")
        documented = client.get("/openapi.json").json()["paths"]["/widget.js"]["get"]["responses"]
    assert script.headers["content-type"].startswith("text/javascript") and "/v1/similar" in script.text
    assert set(documented["200"]["content"]) == {"text/javascript"}
    assert set(documented["429"]["content"]) == {"application/json"}  # errors are the JSON error shape
