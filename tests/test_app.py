"""The chat, driven headless with Streamlit's AppTest and the real bot (loaded once per test session)."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from bot.answer import Bot
from bot.config import ROOT
from bot.errors import StoreBusy
from bot.mentors.store import Feedback, SqliteStore, Store


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BOT_DB_PATH", str(tmp_path / "chat.sqlite3"))
    return tmp_path / "chat.sqlite3"


@pytest.fixture
def app(real_bot: Bot, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    import bot.answer

    monkeypatch.setattr(bot.answer, "Bot", lambda: real_bot)  # reuse the session's model: no second 10 s load
    st.cache_resource.clear()  # a fresh Store on this test's database
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def ask(app: AppTest, question: str) -> AppTest:
    app.run()
    app.chat_input[0].set_value(question).run()
    assert not app.exception
    return app


def titles(app: AppTest) -> list[str]:
    return [m.value.removeprefix("#### ") for m in app.markdown if m.value.startswith("#### ")]


def test_welcome_offers_example_questions(app: AppTest) -> None:
    app.run()
    assert not app.exception and sum(b.key.startswith("example-") for b in app.button) >= 4


def test_example_button_asks_it(app: AppTest) -> None:
    app.run()
    app.button(key="example-0").click().run()
    assert titles(app) == ["Why 1/m is in dW and db but not in dZ or dA"]


def test_question_gets_the_right_entry_with_math_derivation_and_snippet(app: AppTest) -> None:
    ask(app, "why isn't there a 1/m in dZ2 when dW2 has one?")
    assert titles(app) == ["Why 1/m is in dW and db but not in dZ or dA"]
    assert [m.name for m in app.chat_message] == ["user", "assistant"]
    assert any("$$" in m.value for m in app.markdown)  # display math, which the browser typesets
    assert any(e.label.startswith("Derivation, step by step") for e in app.expander)
    assert any("import numpy as np" in c.value for c in app.code)


def test_follow_up_click_answers_it_as_a_new_turn(app: AppTest) -> None:
    ask(app, "why isn't there a 1/m in dZ2 when dW2 has one?")
    follow_up = next(b for b in app.button if b.key.startswith("rel-0-"))
    follow_up.click().run()
    assert not app.exception and len(app.chat_message) == 4
    assert titles(app)[1] == follow_up.label


def test_a_follow_up_is_read_against_the_previous_answer(app: AppTest) -> None:
    ask(app, "How is dZ[L] = A[L] - Y derived?")
    app.chat_input[0].set_value("and what if the hidden layer is ReLU instead?").run()
    assert not app.exception
    assert titles(app)[1] == "Deriving dZ[l] = dA[l] * g'(Z[l]) for a hidden layer"
    assert any(e.label.endswith("for relu, as in your question") for e in app.expander)
    assert any(c.value.startswith("read as a follow-up to “Deriving dZ[L] = A[L] - Y") for c in app.caption)


def test_run_shows_the_snippets_output(app: AppTest) -> None:
    ask(app, "I put 1/m in dZ[L] and dropped it from dW and db, is that right?")
    app.button(key="run-0").click().run()
    assert not app.exception
    assert app.success[0].value.startswith("ran in")
    assert any("claim: max_abs_diff_dW1" in c.value for c in app.code)


def test_edit_and_run_reports_the_students_error_line(app: AppTest) -> None:
    ask(app, "I put 1/m in dZ[L] and dropped it from dW and db, is that right?")
    app.text_area(key="edit-0").set_value("import numpy as np\nx = np.ones((2, 3)) @ np.ones((2, 3))\n")
    app.button(key="run-edited-0").click().run()
    assert not app.exception and app.error[0].value.startswith("ValueError at line 2")


def test_permalink_entry_opens_that_entry(app: AppTest) -> None:
    app.query_params["entry"] = "softmax-gradient"
    app.run()
    assert not app.exception and titles(app) == ["dZ = A - Y for a softmax output with categorical cross-entropy"]


def test_permalink_q_asks_on_load(app: AppTest) -> None:
    app.query_params["q"] = "derivative of relu at zero?"
    app.run()
    assert not app.exception and titles(app) == ["The derivative of ReLU at z = 0"]


def test_unknown_permalink_says_so_and_offers_browse_and_the_nearest_entries(app: AppTest) -> None:
    app.query_params["entry"] = "softmax-gradients"
    app.run()
    assert not app.exception and app.warning[0].value.startswith("There is no entry “softmax\\-gradients”")
    nearest = [b.label for b in app.button if b.key.startswith("missing-")]
    assert "dZ = A - Y for a softmax output with categorical cross-entropy" in nearest


def test_out_of_scope_question_is_declined_with_nearest_entries_and_a_mentor_link(app: AppTest) -> None:
    ask(app, "How do I get a refund for my subscription?")
    assert not titles(app)
    assert any(m.value.startswith("This knowledge base does not cover that.") for m in app.markdown)
    assert sum(b.key.startswith("near-0-") for b in app.button) == 3


def test_too_long_question_is_kept_with_its_length_to_shorten_and_ask_again(app: AppTest) -> None:
    ask(app, "why " * 1010 + "is there no 1/m in dZ2?")
    assert "the limit is 4,000" in app.error[0].value
    draft = app.text_area(key="draft-text")
    assert draft.value.endswith("is there no 1/m in dZ2?") and draft.label.startswith("Your question (4,063 characters)")
    draft.set_value("why is there no 1/m in dZ2?")
    app.button(key="draft-ask").click().run()
    assert not app.exception and titles(app) == ["Why 1/m is in dW and db but not in dZ or dA"]


def test_the_students_message_is_shown_as_typed(app: AppTest) -> None:
    ask(app, "is 1/m*dz[L].a[L-1].T right?\n\nTraceback (most recent call last):\n  File \"x.py\", line 3")
    with_markdown, traceback = app.chat_message[0].markdown[0], app.chat_message[0].code[0]
    assert with_markdown.value == "is 1/m\\*dz\\[L\\]\\.a\\[L\\-1\\]\\.T right?"  # every * and [ literal
    assert traceback.value == "Traceback (most recent call last):\n  File \"x.py\", line 3"


def test_a_new_answer_is_kept_in_the_url_so_a_reload_shows_it(app: AppTest) -> None:
    ask(app, "derivative of relu at zero?")
    assert app.query_params["q"] == "derivative of relu at zero?"
    follow_up = next(b for b in app.button if b.key.startswith("rel-0-"))
    follow_up.click().run()
    assert "q" not in app.query_params and app.query_params["entry"] == follow_up.key.removeprefix("rel-0-")


def test_the_snippet_shows_its_first_lines_with_run_and_the_whole_code_one_click_away(app: AppTest) -> None:
    ask(app, "why isn't there a 1/m in dZ2 when dW2 has one?")
    code = next(c.value for c in app.chat_message[1].code if "import numpy as np" in c.value)
    lines = code.rstrip().count("\n") + 1  # the browser test checks that the block shows only its first lines
    assert app.toggle(key="whole-0").label == f"Show all {lines} lines" and app.button(key="run-0").label == "Run"
    app.toggle(key="whole-0").set_value(True).run()
    assert not app.exception and app.toggle(key="whole-0").value


def test_the_chat_is_called_ask_and_the_mentor_page_is_listed_only_once_it_has_a_password(
        app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_MENTOR_PASSWORD", raising=False)
    app.run()
    assert not app.exception and page_titles(app) == ["Ask", "Browse", "Check my backprop"]
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page("pages/3_Mentor.py")
    monkeypatch.setenv("BOT_MENTOR_PASSWORD", "s3cret")
    app.run()
    app.switch_page("pages/3_Mentor.py").run()
    assert not app.exception and app.text_input[0].label == "Mentor password"


def page_titles(app: AppTest) -> list[str]:
    return [info["page_name"] for info in app._registered_pages.values()]  # what st.navigation was given


def test_feedback_is_recorded_with_the_question_and_entry(app: AppTest, db_path: Path) -> None:
    ask(app, "derivative of relu at zero?")
    app.button(key="no-0").click().run()
    assert not app.exception
    [feedback] = SqliteStore(db_path).feedback()
    assert (feedback.entry_id, feedback.question, feedback.helpful) == (
        "relu-derivative-at-zero", "derivative of relu at zero?", False)
    assert feedback.ask_id is not None and SqliteStore(db_path).count("asks") == 1


def test_not_helpful_asks_what_was_missing_and_keeps_the_comment_with_the_rating(app: AppTest, db_path: Path) -> None:
    ask(app, "derivative of relu at zero?")
    app.button(key="no-0").click().run()
    app.text_input(key="comment-text-0").input("I meant leaky ReLU")  # typed, then sent: the form submits both
    app.button(key="send-0").click().run()
    assert not app.exception
    [feedback] = SqliteStore(db_path).feedback()
    assert (feedback.helpful, feedback.comment) == (False, "I meant leaky ReLU")
    assert "Thanks: a mentor will see this." in [c.value for c in app.caption]


def test_browse_lists_every_entry_and_filters() -> None:
    page = AppTest.from_file(str(ROOT / "pages" / "1_Browse.py"), default_timeout=30).run()
    assert not page.exception
    links = {m.value.split("](/?entry=")[1].split(")")[0] for m in page.markdown if "](/?entry=" in m.value}
    assert len(links) == 36
    page.text_input[0].set_value("keepdims").run()
    assert any("db-derivation" in m.value for m in page.markdown)
    assert not any("symmetric-initialization" in m.value for m in page.markdown)
    page.text_input[0].set_value("zzzz").run()
    assert page.info[0].value.startswith("No entry matches")


def test_permalink_works_in_embed_mode(app: AppTest) -> None:
    app.query_params["entry"] = "dw-derivation"
    app.query_params["embed"] = "true"
    app.run()
    assert not app.exception and titles(app) == ["Deriving dW[l] = (1/m) dZ[l] A[l-1]^T"]


def test_the_chat_tells_the_student_that_a_damaged_log_restarted(app: AppTest, db_path: Path) -> None:
    db_path.write_bytes(os.urandom(8192))
    ask(app, "why is there no 1/m in dZ?")
    assert any("question log was found damaged and restarted" in i.value for i in app.info)
    assert len(SqliteStore(db_path).set_aside()) == 1


def test_a_rating_the_log_could_not_keep_is_not_thanked_for(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    def busy(self: Store, feedback: Feedback) -> int:
        raise StoreBusy("the question log stayed locked for 60 s, so nothing was stored")

    ask(app, "why is there no 1/m in dZ?")
    monkeypatch.setattr(Store, "add_feedback", busy)
    app.button(key="yes-0").click().run()
    assert any("could not be saved" in e.value for e in app.error)
    assert app.button(key="yes-0") is not None and not any("Thanks" in c.value for c in app.caption)


def test_streamlit_config_has_a_minimal_toolbar_and_no_file_watcher() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] == "minimal"  # no Deploy button
    assert config["server"]["fileWatcherType"] == "none"  # never walks .venv
