"""KB validation: every broken file gets one line naming the file, the field and the fix."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import ROOT
from bot.errors import EntryNotFound, KBError
from bot.retrieval.kb import load_kb, validate_kb
from tests.conftest import SHARED_EVAL


def edit(kb_dir: Path, name: str, old: str, new: str) -> None:
    path = kb_dir / name
    text = path.read_text()
    assert old in text, f"fixture {name} no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1))


def test_fixture_kb_is_valid(kb_dir: Path) -> None:
    assert validate_kb(kb_dir) == []


def test_real_kb_is_valid() -> None:
    assert validate_kb(ROOT / "kb") == []


BROKEN = [
    ("shapes.md", "topics: [shapes]", "topics: [shapez]",
     "shapes.md: field 'topics': unknown topic key 'shapez' (did you mean 'shapes'?); use a key from kb/topics.json"),
    ("shapes.md", "id: shapes", "id: one-over-m",
     "shapes.md: field 'id': 'one-over-m' differs from the file name; rename the file to one-over-m.md"),
    ("shapes.md", "related: [one-over-m]", "related: [one-over-n]",
     "shapes.md: field 'related': no entry has id 'one-over-n' (did you mean 'one-over-m'?); fix the link"),
    ("shapes.md", "related: [one-over-m]", "related: [shapes]",
     "shapes.md: field 'related': links to itself; remove 'shapes'"),
    ("shapes.md", "title: Shapes of the gradients\n", "",
     "shapes.md: field 'title': missing or empty; add it to the front matter"),
    ("shapes.md", "summary: dW has", "sumary: dW has",
     "shapes.md: field 'sumary': unknown field; did you mean 'summary'?"),
    ("shapes.md", "weeks: [C1W3]", "weeks: [week3]",
     "shapes.md: field 'weeks': 'week3' is not a course/week tag; write it like C1W3"),
    ("shapes.md", "  - 'shape of db'\n  - 'is dZ (n, m)'\n", "",
     "shapes.md: field 'questions': 6 given, at least 8 needed; add phrasings students really use"),
    ("shapes.md", "topics: [shapes]", "topics: shapes",
     "shapes.md: field 'topics': must be a list of non-empty strings, like [a, b]"),
    ("shapes.md", "title: Shapes of the gradients", "title: Shapes: of the gradients",
     ("shapes.md: malformed front matter at line 3 (mapping values are not allowed in this context); "
      "quote values that contain ': ' and questions with single quotes")),
    ("shapes.md", "---\nid: shapes", "id: shapes",
     "shapes.md: no front matter; start the file with a '---' line, the YAML fields, and '---'"),
    ("shapes.md", "**Short answer.** $dW^{[l]}$ is $(n^{[l]}, n^{[l-1]})$, like $W^{[l]}$.", "",
     "shapes.md: body: empty; write the explanation below the closing '---'"),
    ("shapes.md", "questions:", "snippet: nope.py\nquestions:",
     "shapes.md: field 'snippet': kb/snippets/nope.py does not exist; add the file or fix the name"),
    ("shapes.md", "questions:", "snippet: ../secret.py\nquestions:",
     "shapes.md: field 'snippet': '../secret.py' must be a file name like conventions-agree.py"),
    ("shapes.md", "questions:", "derivation: dz-outptu\nquestions:",
     ("shapes.md: field 'derivation': unknown derivation 'dz-outptu'; use one of dz-output, softmax-ce, activation, "
     "da-prev, dw-db, cost-mean, l2")),
    ("shapes.md", "questions:", "formula: ''\nquestions:",
     ("shapes.md: field 'formula': empty; write the key formula in LaTeX (no $), or remove the field to use the body's "
      "first display equation")),
    ("shapes.md", "questions:", "formula: '$dW = dZ A^T$'\nquestions:",
     "shapes.md: field 'formula': has a '$'; write the LaTeX without $ or $$ around it"),
    ("shapes.md", "questions:", "formula: [dW]\nquestions:", "shapes.md: field 'formula': must be text, got list"),
    ("relu-derivative.md", "  - 'ReLU slope'", "  - 'what shape is dW'",
     ("shapes.md: field 'questions': 'what shape is dW' is also a question of 'relu-derivative'; "
      "keep it in the entry that answers it best")),
]


@pytest.mark.parametrize("name, old, new, expected", BROKEN, ids=[b[3].split(":")[1].strip() for b in BROKEN])
def test_broken_entry_reports_file_field_and_fix(kb_dir: Path, name: str, old: str, new: str, expected: str) -> None:
    edit(kb_dir, name, old, new)
    problems = [p.replace(str(kb_dir) + "/", "") for p in validate_kb(kb_dir)]
    assert expected in problems


def test_duplicate_id_is_reported(kb_dir: Path) -> None:
    (kb_dir / "shapes-copy.md").write_text((kb_dir / "shapes.md").read_text().replace("id: shapes", "id: shapes-copy"))
    edit(kb_dir, "shapes-copy.md", "id: shapes-copy", "id: shapes")
    problems = [p.replace(str(kb_dir) + "/", "") for p in validate_kb(kb_dir)]
    assert any(p.startswith("shapes.md: field 'id': duplicate id 'shapes'") for p in problems)


def test_a_malformed_file_is_one_problem_not_a_cascade_of_broken_links(kb_dir: Path) -> None:
    edit(kb_dir, "shapes.md", "title: Shapes of the gradients", "title: Shapes: of the gradients")
    problems = validate_kb(kb_dir)
    assert len(problems) == 1 and "malformed front matter" in problems[0]


def test_uncovered_topic_is_reported(kb_dir: Path) -> None:
    edit(kb_dir, "relu-derivative.md", "topics: [relu]", "topics: [shapes]")
    problems = [p.replace(str(kb_dir) + "/", "") for p in validate_kb(kb_dir)]
    assert "topics.json: topic 'relu': no entry covers it; add it to the 'topics' of the entry that answers it" in problems


def test_load_kb_raises_with_every_problem(kb_dir: Path) -> None:
    edit(kb_dir, "shapes.md", "weeks: [C1W3]", "weeks: [W3]")
    edit(kb_dir, "shapes.md", "related: [one-over-m]", "related: [nope]")
    with pytest.raises(KBError) as err:
        load_kb(kb_dir)
    assert len(err.value.problems) == 2


def test_get_unknown_entry_names_the_id(kb_dir: Path) -> None:
    with pytest.raises(EntryNotFound, match="'nope'"):
        load_kb(kb_dir).get("nope")


def test_content_hash_changes_when_an_entry_changes(kb_dir: Path) -> None:
    before = load_kb(kb_dir).content_hash
    edit(kb_dir, "shapes.md", "shape of db", "shape of db[1]")
    assert load_kb(kb_dir).content_hash != before


@pytest.mark.skipif(not (SHARED_EVAL / "topics.json").exists(), reason="../shared/eval is not beside the repo")
def test_topics_match_the_shared_contract() -> None:
    ours = json.loads((ROOT / "kb" / "topics.json").read_text())["topics"]
    theirs = json.loads((SHARED_EVAL / "topics.json").read_text())["topics"]
    assert ours == theirs


@pytest.mark.skipif(not (SHARED_EVAL / "dev.jsonl").exists(), reason="../shared/eval is not beside the repo")
def test_no_evaluation_question_is_copied_into_the_kb() -> None:
    def key(text: str) -> str:
        return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())

    dev = {key(json.loads(line)["question"]) for line in (SHARED_EVAL / "dev.jsonl").read_text().splitlines() if line}
    kb = load_kb(ROOT / "kb")
    ours = {key(q) for e in kb.entries for q in e.questions} | {key(q) for q in kb.out_of_scope}
    assert not ours & dev


def test_every_core_topic_has_a_derivation_length_entry() -> None:
    core = ["loss-vs-cost", "one-over-m-placement", "one-over-m-alternative", "dz-output-derivation", "dal-formula",
            "da-prev-derivation", "dz-hidden-derivation", "dw-db-formulas", "vector-loss-jacobian"]
    kb = load_kb(ROOT / "kb")
    for topic in core:
        assert max(len(e.body.split()) for e in kb.covering(topic)) >= 300, topic


def test_kb_has_at_least_28_entries_with_10_questions_each() -> None:
    kb = load_kb(ROOT / "kb")
    assert len(kb.entries) >= 28
    assert min(len(e.questions) for e in kb.entries) >= 10
