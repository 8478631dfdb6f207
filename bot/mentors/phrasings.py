"""Add logged questions to an entry's `questions` in kb/<id>.md without reformatting the rest of the file.

The new phrasings go in as single-quoted YAML lines after the last one, in the list's own indentation and line
endings; the KB is validated afterwards and the file restored if anything is wrong. The index rebuilds itself on
the next start (the KB hash changes).
"""
from __future__ import annotations

import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from bot.errors import KBError
from bot.retrieval.kb import load_kb

MAX_CHARS = 300  # a longer "question" is a pasted notebook cell, not a phrasing
_LOCK = threading.Lock()  # the mentor page serves every session from one process
_QUESTIONS = re.compile(r"questions:[ \t]*(#.*)?$")
_ITEM = re.compile(r"([ \t]*)-[ \t]")


@dataclass(frozen=True)
class Added:
    added: list[str]  # as written into the file
    skipped: dict[str, str]  # question -> why it was left out


def add_phrasings(kb_dir: Path, entry_id: str, questions: list[str]) -> Added:
    """Append `questions` to the entry's `questions`; skip empty, too long and duplicate ones (in any entry).

    Raises EntryNotFound for an unknown id and KBError when the KB does not validate (before or after).
    """
    with _LOCK:
        kb = load_kb(kb_dir)  # a KB that is broken already: fix it first (`python -m bot validate`)
        entry = kb.get(entry_id)
        owners = {_key(q): e.id for e in kb.entries for q in e.questions}
        added: list[str] = []
        skipped: dict[str, str] = {}
        for question in questions:
            text = _one_line(question)
            owner = owners.get(_key(text))
            if not text:
                skipped[question] = "empty"
            elif len(text) > MAX_CHARS:
                skipped[question] = f"longer than {MAX_CHARS} characters"
            elif owner is not None:
                skipped[question] = "already a phrasing of " + ("this entry" if owner == entry_id else repr(owner))
            else:
                added.append(text)
                owners[_key(text)] = entry_id
        if not added:
            return Added([], skipped)
        original = entry.path.read_bytes()
        _replace(entry.path, _insert(original.decode("utf-8"), added, entry.path).encode("utf-8"))
        try:
            after = load_kb(kb_dir).get(entry_id)
            if [_key(q) for q in after.questions] != [_key(q) for q in (*entry.questions, *added)]:
                problem = f"{entry.path}: field 'questions': the new lines did not land in the list; add them by hand"
                raise KBError([problem])
        except BaseException:
            _replace(entry.path, original)  # roll back: the file as it was, byte for byte
            raise
        return Added(added, skipped)


def _insert(text: str, added: list[str], path: Path) -> str:
    """The file's text with one `- '...'` line per question after the last item of `questions:`."""
    lines = text.splitlines(keepends=True)
    bare = [line.rstrip("\r\n") for line in lines]
    opening = next(i for i, line in enumerate(bare) if line.strip())  # load_kb checked it is '---'
    closing = next((i for i in range(opening + 1, len(bare)) if bare[i].rstrip() == "---"), len(bare))
    start = next((i for i in range(opening + 1, closing) if _QUESTIONS.match(bare[i])), None)
    if start is None:
        problem = (f"{path}: field 'questions': write it as a block list ('questions:' on its own line, then one "
                   "'  - ...' line per question) to add phrasings from the mentor page")
        raise KBError([problem])
    last = start
    for i in range(start + 1, closing):
        if bare[i].strip() and not bare[i][0].isspace() and not bare[i].startswith("-"):
            break  # the next field
        if bare[i].strip() and not bare[i].lstrip().startswith("#"):
            last = i
    item = next((m for m in map(_ITEM.match, bare[start + 1:last + 1]) if m), None)
    prefix = (item.group(1) if item else "  ") + "- "
    newline = "\r\n" if lines[start].endswith("\r\n") else "\n"
    if not lines[last].endswith(("\n", "\r")):
        lines[last] += newline
    new = [f"{prefix}'{q.replace(chr(39), chr(39) * 2)}'{newline}" for q in added]
    return "".join(lines[: last + 1] + new + lines[last + 1:])


def _replace(path: Path, data: bytes) -> None:
    """Write atomically: a reader (or a crash) sees the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _one_line(question: str) -> str:
    """Printable characters on one line (YAML refuses control characters; a phrasing is one line)."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in question).split())


def _key(question: str) -> str:
    return " ".join(question.lower().split())  # as bot.retrieval.kb compares questions across entries
