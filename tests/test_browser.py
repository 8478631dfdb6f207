"""End to end in a real browser: headless Debian Chromium (via Playwright) against `streamlit run`."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.serve import preview
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, streamlit_server

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not os.path.exists(CHROMIUM):
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

TITLE_DZ = "Deriving dZ[L] = A[L] - Y for a sigmoid output with cross-entropy"
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


def ask_in_browser(page, question: str, title: str):  # type: ignore[no-untyped-def]
    """Type the question, press Enter, wait for the answer titled `title`; return that chat message."""
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for(state="visible", timeout=90_000)
    box.fill(question)
    box.press("Enter")
    answer = page.get_by_test_id("stChatMessage").filter(has=page.get_by_role("heading", name=title))
    playwright.expect(answer.locator(".katex").first).to_be_visible(timeout=30_000)
    page.wait_for_timeout(2500)  # the page settles: KaTeX, code blocks and the scroll to the answer
    return answer


def test_after_enter_the_view_is_at_the_answers_first_line(page) -> None:  # type: ignore[no-untyped-def]
    page.goto(page.base_url, wait_until="domcontentloaded")
    answer = ask_in_browser(page, "how is dZ[L] = A[L] - Y derived?", TITLE_DZ)
    top = answer.bounding_box()["y"]
    assert 0 <= top <= 150, f"the answer starts {top:.0f} px from the top of the view"


def test_the_students_message_is_shown_as_typed(page) -> None:  # type: ignore[no-untyped-def]
    typed = "is 1/m*dz[L].a[L-1].T, db[L] = 1/m*sum(dz[L]) right for __array_function__?"
    traceback = 'Traceback (most recent call last):\n  File "x.py", line 3, in <module>\n-----\nNameError: dz'
    page.goto(page.base_url, wait_until="domcontentloaded")
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for(state="visible", timeout=90_000)
    box.fill(f"{typed}\n\n{traceback}")
    box.press("Enter")
    message = page.get_by_test_id("stChatMessage").first
    playwright.expect(message.locator("pre")).to_be_visible(timeout=30_000)
    assert message.get_by_test_id("stMarkdownContainer").first.inner_text() == typed
    assert message.locator("pre").first.inner_text().strip() == traceback
    assert message.locator("em, strong, hr").count() == 0


def test_nothing_is_wider_than_a_phone_and_wide_math_scrolls(page) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        page.goto(page.base_url, wait_until="domcontentloaded")
        ask_in_browser(page, "how is dZ[L] = A[L] - Y derived?", TITLE_DZ)
        page.get_by_text("Derivation, step by step").first.click()
        page.wait_for_timeout(1500)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        overflow = page.evaluate("""[...document.querySelectorAll('.katex-display')]
            .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => getComputedStyle(e).overflowX)""")
        assert overflow and set(overflow) == {"auto"}  # the wide ones scroll instead of being cut off
    finally:
        page.set_viewport_size({"width": 1100, "height": 1000})


def test_the_preview_page_fits_a_phone(page, real_bot) -> None:  # type: ignore[no-untyped-def]
    phone = page.context.browser.new_page(viewport={"width": 390, "height": 844})
    for entry in real_bot.kb.entries:  # every entry: the widest table or formula is somewhere
        answer = real_bot.answer_for(entry.id)
        phone.set_content(preview.entry_page(entry, "https://x.org/e/1", "https://x.org/", answer.derivation))
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, entry.id
    phone.close()


def test_an_unknown_permalink_says_so_and_offers_browse_and_the_nearest_entries(page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{page.base_url}/?entry=relu-derivative-at-0", wait_until="domcontentloaded")
    expect = playwright.expect
    expect(page.get_by_text("There is no entry “relu-derivative-at-0”")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("link", name="Browse all entries")).to_be_visible()
    expect(page.get_by_role("button", name="The derivative of ReLU at z = 0")).to_be_visible()
    assert "python -m bot" not in page.inner_text("body")


def test_the_snippet_shows_its_first_lines_and_tab_indents_in_a_monospace_editor(page) -> None:  # type: ignore[no-untyped-def]
    page.goto(page.base_url, wait_until="domcontentloaded")
    answer = ask_in_browser(page, "how is dZ[L] = A[L] - Y derived?", TITLE_DZ)
    snippet = answer.get_by_test_id("stCode").first
    assert snippet.bounding_box()["height"] <= 260 and answer.get_by_role("button", name="Run", exact=True).is_visible()
    answer.get_by_text("Edit and run").click()
    editor = answer.locator("textarea").first
    assert "monospace" in editor.evaluate("e => getComputedStyle(e).fontFamily")
    editor.click()
    editor.press("Control+End")
    editor.press("Tab")
    editor.type("x = 1")
    assert editor.input_value().endswith("    x = 1") and editor.evaluate("e => document.activeElement === e")


def test_embed_mode_has_no_sidebar(page) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{page.base_url}/?entry=dw-derivation&embed=true", wait_until="domcontentloaded")
    playwright.expect(page.get_by_role("heading", name="Deriving dW[l] = (1/m) dZ[l] A[l-1]^T")).to_be_visible(
        timeout=60_000)
    assert page.get_by_test_id("stSidebar").count() == 0 or not page.get_by_test_id("stSidebar").is_visible()
