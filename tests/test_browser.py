"""End to end in a real browser: headless Debian Chromium (via Playwright) against `streamlit run`."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, streamlit_server

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not os.path.exists(CHROMIUM):
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

SHOTS = Path(__file__).resolve().parent.parent / "bench" / "results"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with streamlit_server(tmp_path_factory.mktemp("db") / "chat.sqlite3") as url, \
            playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1000})
        page.base_url = url  # type: ignore[attr-defined]
        yield page
        browser.close()


def test_ask_typesets_the_math_runs_the_snippet_and_opens_a_permalink(page) -> None:  # type: ignore[no-untyped-def]
    expect = playwright.expect
    page.goto(page.base_url, wait_until="domcontentloaded")
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for(state="visible", timeout=90_000)  # the first load pays the model's import

    box.fill("how come dZ2 has no 1/m but dW2 has one?")
    box.press("Enter")
    answer = page.get_by_test_id("stChatMessage").filter(has_text="Why 1/m is in dW and db but not in dZ or dA")
    expect(answer).to_be_visible(timeout=30_000)
    expect(answer.locator(".katex").first).to_be_visible()
    assert "$$" not in answer.inner_text()  # every formula was typeset, none leaked as source

    page.get_by_role("button", name="Run", exact=True).first.click()
    expect(page.get_by_text("ran in")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("claim: max_abs_diff_dW1").first).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "answer.png"), full_page=False)

    page.goto(f"{page.base_url}/?entry=softmax-gradient", wait_until="domcontentloaded")
    heading = page.get_by_role("heading", name="dZ = A - Y for a softmax output with categorical cross-entropy")
    expect(heading).to_be_visible(timeout=30_000)
