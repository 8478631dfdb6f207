"""Rendering: math that Streamlit can typeset, derivations, and pre-filled mentor links."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.answer import Bot
from bot.config import ROOT
from bot.retrieval.kb import load_kb
from bot.serve.render import ask_a_mentor_url, derivation_markdown, normalize_math


@pytest.mark.parametrize("text, expected", [
    (r"inline \(a^2\) here", "inline $a^2$ here"),
    (r"display \[x = 1\] here", "display \n$$\nx = 1\n$$\n here"),
    ("costs $5 and $10", r"costs \$5 and \$10"),
    ("a lone $ sign", r"a lone \$ sign"),
    ("keep $x$ and $$y$$", "keep $x$ and $$y$$"),
    ("code `a = $1` and ```\nb = $2\n``` stays", "code `a = $1` and ```\nb = $2\n``` stays"),
    (r"already \$ escaped", r"already \$ escaped"),
])
def test_normalize_math(text: str, expected: str) -> None:
    assert normalize_math(text) == expected


@given(st.text(alphabet="ab $\\()[]`\n", max_size=60))
def test_normalize_math_is_idempotent(text: str) -> None:
    once = normalize_math(text)
    assert normalize_math(once) == once


def test_kb_bodies_are_already_normal() -> None:
    for entry in load_kb(ROOT / "kb").entries:
        assert normalize_math(entry.body) == entry.body, entry.id


def test_mentor_link_prefills_title_and_body(fake_bot: Bot) -> None:
    answer = fake_bot.ask("relu derivative")
    url = urlparse(ask_a_mentor_url("https://forum.example/", "why is relu' 0 at 0?", answer))
    fields = parse_qs(url.query)
    assert url.path == "/new-topic" and fields["title"] == ["why is relu' 0 at 0?"]
    assert fields["body"][0].startswith("why is relu' 0 at 0?\n\nThe backprop Q&A bot suggested:\n- [")


def test_derivation_markdown_has_one_display_block_per_step() -> None:
    derivation = {"title": "T", "steps": [{"text": "a", "latex": "x=1"}, {"text": "b", "latex": "y=2"}]}
    assert derivation_markdown(derivation).count("$$") == 4
