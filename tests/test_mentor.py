"""The mentor page through Streamlit's AppTest: locked without the password, the log's lessons with it."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from bot.answer import Bot
from bot.config import ROOT
from bot.mentors.store import Feedback, ForumTopic, SqliteStore, TopicOutcome
from bot.retrieval.kb import load_kb

PAGE = str(ROOT / "pages" / "3_Mentor.py")
UNANSWERED = ["how do I backprop through batch normalization?", "what is the gradient of a batch norm layer",
              "derivative of batchnorm with respect to gamma and beta"]
NEW_WORDING = "relu slope at exactly zero: 0 or 1??"
OTHER_WORDING = "with ten sigmoid layers my first layer gradients are tiny, why?"  # reaches vanishing-gradients


@pytest.fixture
def env(real_bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A log with unanswered paraphrases and a rated answer, and a private copy of the real KB; returns the KB."""
    import bot.answer

    kb_dir = Path(shutil.copytree(ROOT / "kb", tmp_path / "kb"))
    monkeypatch.setattr(bot.answer, "Bot", lambda: real_bot)  # the session's model: no second load
    monkeypatch.setenv("BOT_DB_PATH", str(tmp_path / "log.sqlite3"))
    monkeypatch.setenv("BOT_KB_DIR", str(kb_dir))
    monkeypatch.setenv("BOT_MENTOR_PASSWORD", "s3cret")
    store = SqliteStore(tmp_path / "log.sqlite3")
    for question in [*UNANSWERED, UNANSWERED[0], NEW_WORDING, OTHER_WORDING]:
        store.log_ask(real_bot.ask(question), "chat", 10.0)
    relu = real_bot.ask(NEW_WORDING)
    assert relu.entry is not None and relu.entry.id == "relu-derivative-at-zero"
    store.add_feedback(Feedback(relu.entry.id, NEW_WORDING, True, "great, thanks", 5))
    st.cache_resource.clear()
    st.cache_data.clear()
    return kb_dir


def headers(page: AppTest) -> list[str]:
    return [h.value for h in page.header]


def test_without_a_password_set_the_page_is_off_and_says_how_to_enable_it(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_MENTOR_PASSWORD")
    page = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not page.exception and not headers(page) and not page.text_input
    assert "BOT_MENTOR_PASSWORD" in page.info[0].value


def test_a_wrong_password_shows_nothing(env: Path) -> None:
    page = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not page.exception and not headers(page) and page.text_input[0].label == "Mentor password"
    page.text_input[0].set_value("guess").run()
    assert page.error[0].value == "Wrong password." and not headers(page)
    assert not any("batch" in m.value for m in page.markdown)


def test_with_the_password_it_shows_groups_entries_and_export(env: Path) -> None:
    page = AppTest.from_file(PAGE, default_timeout=60).run()
    page.text_input[0].set_value("s3cret").run()
    assert not page.exception
    assert headers(page) == ["Write these entries next", "Per entry", "Drafted on the forum", "Add as phrasing",
                             "Export"]
    assert [m.value for m in page.metric][:3] == ["6", "2", "4"]  # asked, answered, declined (the batch norm ones)
    group = next(m.value for m in page.markdown if m.value.startswith("**"))
    assert group.startswith("**4×**") and "batch" in group  # the 3 paraphrases (one asked twice) in one group
    table = page.dataframe[0].value
    row = table[table["entry"] == "relu-derivative-at-zero"].iloc[0]
    assert (row["shown"], row["helpful"], row["new phrasings"], row["latest comment"]) == (1, 1, 1, "great, thanks")
    assert page.get("download_button")[0].proto.label == "Export CSV"


def test_the_forum_topics_the_bot_drafted_for_are_listed_with_their_entry(env: Path, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "log.sqlite3")
    topic = ForumTopic("https://forum.example", 42, "Why no 1/m in dZ?", "dZ2 = A2 - Y", "5")
    store.claim_topic(topic)
    store.finish_topic(topic, TopicOutcome("posted", "sure", "one-over-m-placement", 0.91, "whisper", 1001))
    page = AppTest.from_file(PAGE, default_timeout=60).run()
    page.text_input[0].set_value("s3cret").run()
    row = page.dataframe[1].value.iloc[0]
    assert (row["topic"], row["state"], row["mode"], row["entry"], row["entry_confidence"]) == \
        ("https://forum.example/t/42", "posted", "whisper", "one-over-m-placement", 0.91)


def test_add_as_phrasing_writes_the_question_into_the_entry(env: Path) -> None:
    page = AppTest.from_file(PAGE, default_timeout=60).run()
    page.text_input[0].set_value("s3cret").run()
    assert page.selectbox(key="phrasing-entry").value == "relu-derivative-at-zero"
    page.multiselect(key="pick-relu-derivative-at-zero").select(NEW_WORDING).run()
    page.button(key="add-phrasing").click().run()
    assert not page.exception and page.success[0].value.startswith("Added 1 phrasing(s) to kb/relu-derivative")
    assert NEW_WORDING in load_kb(env).get("relu-derivative-at-zero").questions
    assert page.selectbox(key="phrasing-entry").value == "vanishing-gradients"  # relu has no new wording left
