"""The minimal chat, driven headless with Streamlit's AppTest and the real bot."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from bot.answer import Bot
from bot.config import ROOT


@pytest.fixture
def app(real_bot: Bot, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    import bot.answer

    monkeypatch.setattr(bot.answer, "Bot", lambda: real_bot)  # reuse the session's model: no second 10 s load
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    return at


def test_asking_shows_the_entry_title(app: AppTest) -> None:
    app.run()
    app.chat_input[0].set_value("why is there no 1/m in dZ[L]?").run()
    assert not app.exception
    assert [m.name for m in app.chat_message] == ["user", "assistant"]
    assert "1/m" in app.subheader[0].value


def test_permalink_opens_the_entry(app: AppTest) -> None:
    app.query_params["entry"] = "softmax-gradient"
    app.run()
    assert not app.exception and app.subheader[0].value.startswith("dZ = A - Y for a softmax")


def test_out_of_scope_question_is_declined(app: AppTest) -> None:
    app.run()
    app.chat_input[0].set_value("How do I get a refund for my subscription?").run()
    assert not app.exception and not app.subheader
    assert any("does not cover that" in m.value for m in app.markdown)
