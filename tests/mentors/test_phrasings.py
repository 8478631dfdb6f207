"""Add as phrasing: logged questions go into an entry's `questions`, and nothing else in the file changes."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import bot.mentors.phrasings
from bot.config import ROOT
from bot.errors import EntryNotFound, KBError
from bot.mentors.phrasings import add_phrasings
from bot.retrieval.kb import load_kb, validate_kb


def test_new_phrasings_are_appended_as_quoted_lines_and_the_rest_is_untouched(kb_dir: Path) -> None:
    path = kb_dir / "one-over-m.md"
    before = path.read_text(encoding="utf-8")
    result = add_phrasings(kb_dir, "one-over-m", ["isn't dW's 1/m also dZ's?", "  why  1/m\nonly in dW  "])
    assert result.added == ["isn't dW's 1/m also dZ's?", "why 1/m only in dW"] and result.skipped == {}
    after = path.read_text(encoding="utf-8")
    last = "  - 'why the m in dW = 1/m dZ A.T'\n"
    assert after == before.replace(last, last + "  - 'isn''t dW''s 1/m also dZ''s?'\n  - 'why 1/m only in dW'\n")
    assert load_kb(kb_dir).get("one-over-m").questions[-2:] == ("isn't dW's 1/m also dZ's?", "why 1/m only in dW")


def test_duplicates_empty_and_overlong_questions_are_skipped_with_the_reason(kb_dir: Path) -> None:
    before = (kb_dir / "one-over-m.md").read_bytes()
    result = add_phrasings(kb_dir, "one-over-m", ["Why is there no 1/m in  dZ", "what shape is dW", "  ", "x" * 301])
    assert result.added == [] and result.skipped == {
        "Why is there no 1/m in  dZ": "already a phrasing of this entry",
        "what shape is dW": "already a phrasing of 'shapes'",  # validate would refuse it in two entries
        "  ": "empty", "x" * 301: "longer than 300 characters"}
    assert (kb_dir / "one-over-m.md").read_bytes() == before


def test_a_real_entry_stays_valid_after_adding(tmp_path: Path) -> None:
    kb_dir = Path(shutil.copytree(ROOT / "kb", tmp_path / "kb"))
    path = kb_dir / "relu-derivative-at-zero.md"
    before = path.read_text(encoding="utf-8")
    result = add_phrasings(kb_dir, "relu-derivative-at-zero", ["relu'(0): zero or one? # asking for the grader",
                                                               "- is relu differentiable at 0"])
    assert len(result.added) == 2 and validate_kb(kb_dir) == []
    after = path.read_text(encoding="utf-8")
    assert after.split("\n---\n", 1)[1] == before.split("\n---\n", 1)[1]  # the body, byte for byte
    assert load_kb(kb_dir).get("relu-derivative-at-zero").questions[-2:] == tuple(result.added)


def test_crlf_files_get_crlf_lines(kb_dir: Path) -> None:
    path = kb_dir / "shapes.md"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    add_phrasings(kb_dir, "shapes", ["dW has the shape of W, why?"])
    data = path.read_bytes()
    assert b"  - 'dW has the shape of W, why?'\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert validate_kb(kb_dir) == []


def test_a_result_that_does_not_validate_is_rolled_back(kb_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = (kb_dir / "shapes.md").read_bytes()
    monkeypatch.setattr(bot.mentors.phrasings, "_insert",
                        lambda text, added, path: text.replace("questions:", "questions: ["))
    with pytest.raises(KBError, match="malformed front matter"):
        add_phrasings(kb_dir, "shapes", ["a new one"])
    assert (kb_dir / "shapes.md").read_bytes() == before and not list(kb_dir.glob(".*.tmp"))


def test_an_inline_questions_list_is_refused_unchanged(kb_dir: Path) -> None:
    path = kb_dir / "shapes.md"
    entry = load_kb(kb_dir).get("shapes")
    text = path.read_text(encoding="utf-8")
    block = text[text.index("questions:\n"):text.index("\n---", 4) + 1]
    flow = "questions: [" + ", ".join(f"'{q}'" for q in entry.questions) + "]\n"
    path.write_text(text.replace(block, flow), encoding="utf-8")
    assert validate_kb(kb_dir) == []
    with pytest.raises(KBError, match="write it as a block list"):
        add_phrasings(kb_dir, "shapes", ["a new one"])
    assert path.read_text(encoding="utf-8") == text.replace(block, flow)


def test_an_unknown_entry_is_an_error(kb_dir: Path) -> None:
    with pytest.raises(EntryNotFound):
        add_phrasings(kb_dir, "no-such-entry", ["q"])
