"""Load the knowledge base from kb/ and validate it, collecting every problem with its file, field and fix."""
from __future__ import annotations

import difflib
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from bot.datatypes import DERIVATION_NAMES, Entry, KnowledgeBase
from bot.errors import KBError

MIN_QUESTIONS = 8
REQUIRED = ("id", "title", "summary", "topics", "weeks", "related", "questions")
OPTIONAL = ("snippet", "derivation", "posts", "formula")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
WEEK = re.compile(r"^C[1-5]W[1-4]$")
BOUNDARY = re.compile(r"^-{3,}\s*$")  # what python-frontmatter takes as the line that opens or closes the fields


def load_kb(kb_dir: Path) -> KnowledgeBase:
    """Load and validate kb_dir; raise KBError listing every problem if it does not validate."""
    kb, problems = _read(kb_dir)
    if problems:
        raise KBError(problems)
    return kb


def validate_kb(kb_dir: Path) -> list[str]:
    """Return one line per problem (empty when the KB is valid)."""
    return _read(kb_dir)[1]


def _read(kb_dir: Path) -> tuple[KnowledgeBase, list[str]]:
    problems: list[str] = []
    topics = _read_topics(kb_dir / "topics.json", problems)
    covers, out_of_scope = _read_scope(kb_dir / "scope.yaml", problems)
    entries: list[Entry] = []
    files = sorted(path for path in kb_dir.glob("*.md") if path.is_file())
    for folder in sorted(path for path in kb_dir.glob("*.md") if not path.is_file()):
        problems.append(f"{_show(folder)}: a folder named like an entry; entries are files: move or rename it")
    if not files:
        problems.append(f"{_show(kb_dir)}: no entries (*.md) found; add at least one entry file")
    unreadable: set[str] = set()  # their ids are unknown, but links to them are not the problem to report
    for path in files:
        entry = _read_entry(path, topics, problems)
        if entry is not None:
            entries.append(entry)
        else:
            unreadable.add(path.stem)
    _check_across(entries, topics, kb_dir, problems, unreadable)
    kb = KnowledgeBase(tuple(entries), topics, covers, out_of_scope, _hash(kb_dir, files))
    return kb, problems


def _show(path: Path) -> str:
    """A path as the user will recognise it: relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read_topics(path: Path, problems: list[str]) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        topics = data["topics"]
        if not isinstance(topics, dict) or not topics:
            raise TypeError
        return {str(k): str(v) for k, v in topics.items()}
    except FileNotFoundError:
        problems.append(f"{_show(path)}: file missing; copy the topic list (a JSON object with a 'topics' map) there")
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        problems.append(f"{_show(path)}: field 'topics': expected {{\"topics\": {{key: description}}}} ({exc or 'empty'})")
    except UnicodeDecodeError:
        problems.append(f"{_show(path)}: not UTF-8 text; save the file as UTF-8")
    except OSError as exc:
        problems.append(f"{_show(path)}: cannot be read ({exc.strerror}); make it a readable JSON file")
    return {}


def _read_scope(path: Path, problems: list[str]) -> tuple[str, tuple[str, ...]]:
    """The 'covers' line and the out-of-scope examples; both optional, so a tiny KB needs no scope file."""
    if not path.exists():
        return "", ()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except yaml.YAMLError as exc:
        problems.append(f"{_show(path)}: malformed YAML ({_yaml_where(exc)}); fix the syntax")
        return "", ()
    except UnicodeDecodeError:
        problems.append(f"{_show(path)}: not UTF-8 text; save the file as UTF-8")
        return "", ()
    except OSError as exc:
        problems.append(f"{_show(path)}: cannot be read ({exc.strerror}); make it a readable YAML file")
        return "", ()
    if not isinstance(data, dict):
        problems.append(f"{_show(path)}: expected the fields 'covers' and 'out_of_scope'")
        return "", ()
    covers, examples = data.get("covers", ""), data.get("out_of_scope", [])
    if not isinstance(covers, str):
        problems.append(f"{_show(path)}: field 'covers': must be one line of text")
        covers = ""
    if not isinstance(examples, list) or not all(isinstance(q, str) and q.strip() for q in examples):
        problems.append(f"{_show(path)}: field 'out_of_scope': must be a list of non-empty strings")
        examples = []
    return " ".join(covers.split()), tuple(q.strip() for q in examples)


def _yaml_where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    what = getattr(exc, "problem", None) or "invalid YAML"
    return f"{what} at line {mark.line + 1}" if mark is not None else str(what)


def _read_entry(path: Path, topics: dict[str, str], problems: list[str]) -> Entry | None:
    where = _show(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (some Windows editors write one) is dropped
    except UnicodeDecodeError:
        problems.append(f"{where}: not UTF-8 text; save the file as UTF-8")
        return None
    except OSError as exc:
        problems.append(f"{where}: cannot be read ({exc.strerror}); make it a readable file")
        return None
    if not text.lstrip().startswith("---"):
        problems.append(f"{where}: no front matter; start the file with a '---' line, the YAML fields, and '---'")
        return None
    if not any(BOUNDARY.match(line) for line in text.lstrip().splitlines()[1:]):
        problems.append(f"{where}: front matter not closed; add a '---' line after the last field, before the body")
        return None
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        # python-frontmatter hands PyYAML the text from the opening '---' line's newline on, so +1 gives the file line
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problems.append(f"{where}: malformed front matter{line} ({getattr(exc, 'problem', exc)}); "
                        "quote values that contain ': ' and questions with single quotes")
        return None
    meta: dict[str, Any] = dict(post.metadata)
    before = len(problems)

    for key in sorted(set(meta) - set(REQUIRED) - set(OPTIONAL)):
        close = difflib.get_close_matches(key, REQUIRED + OPTIONAL, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; allowed fields: {', '.join(REQUIRED + OPTIONAL)}"
        problems.append(f"{where}: field '{key}': unknown field{hint}")
    for key in REQUIRED:
        value = meta.get(key)
        if value is None or (isinstance(value, (str, list)) and not value):
            problems.append(f"{where}: field '{key}': missing or empty; add it to the front matter")
    for key in ("id", "title", "summary", "formula"):
        if key in meta and meta[key] is not None and not isinstance(meta[key], str):
            problems.append(f"{where}: field '{key}': must be text, got {type(meta[key]).__name__}")
    if "formula" in meta and (meta["formula"] is None or not str(meta["formula"]).strip()):
        problems.append(f"{where}: field 'formula': empty; write the key formula in LaTeX (no $), or remove the field "
                        "to use the body's first display equation")
    elif isinstance(meta.get("formula"), str) and "$" in meta["formula"]:
        problems.append(f"{where}: field 'formula': has a '$'; write the LaTeX without $ or $$ around it")
    for key in ("topics", "weeks", "related", "questions", "posts"):
        value = meta.get(key)
        if value and not (isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)):
            problems.append(f"{where}: field '{key}': must be a list of non-empty strings, like [a, b]")
    if len(problems) > before:
        return None

    entry_id = meta["id"]
    if not SLUG.match(entry_id):
        problems.append(f"{where}: field 'id': {entry_id!r} is not a slug; use lowercase words joined by '-'")
    if entry_id != path.stem:
        problems.append(f"{where}: field 'id': {entry_id!r} differs from the file name; rename the file to {entry_id}.md")
    for topic in meta["topics"]:
        if topics and topic not in topics:
            close = difflib.get_close_matches(topic, list(topics), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"{where}: field 'topics': unknown topic key {topic!r}{hint}; use a key from kb/topics.json")
    for week in meta["weeks"]:
        if not WEEK.match(week):
            problems.append(f"{where}: field 'weeks': {week!r} is not a course/week tag; write it like C1W3")
    if len(meta["questions"]) < MIN_QUESTIONS:
        problems.append(f"{where}: field 'questions': {len(meta['questions'])} given, at least {MIN_QUESTIONS} needed; "
                        "add phrasings students really use")
    if not post.content.strip():
        problems.append(f"{where}: body: empty; write the explanation below the closing '---'")
    snippet_code = _check_extras(where, path, meta, problems)
    return Entry(
        id=entry_id, title=meta["title"].strip(), summary=meta["summary"].strip(),
        topics=tuple(meta["topics"]), weeks=tuple(meta["weeks"]), related=tuple(meta["related"]),
        questions=tuple(q.strip() for q in meta["questions"]), body=post.content.strip() + "\n", path=path,
        snippet=meta.get("snippet"), derivation=meta.get("derivation"), snippet_code=snippet_code,
        posts=tuple(p.strip() for p in meta.get("posts") or ()),
        formula=meta["formula"].strip() if meta.get("formula") else None,
    )


def _check_extras(where: str, path: Path, meta: dict[str, Any], problems: list[str]) -> str | None:
    """Check the optional `snippet` (a file in kb/snippets/) and `derivation` (a known name); return the code."""
    snippet, code = meta.get("snippet"), None
    if snippet is not None:
        if not isinstance(snippet, str) or "/" in snippet or not snippet.endswith(".py"):
            problems.append(f"{where}: field 'snippet': {snippet!r} must be a file name like conventions-agree.py")
        elif not (path.parent / "snippets" / snippet).is_file():
            problems.append(f"{where}: field 'snippet': kb/snippets/{snippet} does not exist; add the file or fix the name")
        else:
            file = path.parent / "snippets" / snippet
            try:
                code = file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                problems.append(f"{_show(file)}: not UTF-8 text (the snippet of {where}); save the file as UTF-8")
            except OSError as exc:
                problems.append(f"{_show(file)}: cannot be read ({exc.strerror}); make it a readable file")
    derivation = meta.get("derivation")
    if derivation is not None and derivation not in DERIVATION_NAMES:
        problems.append(f"{where}: field 'derivation': unknown derivation {derivation!r}; "
                        f"use one of {', '.join(DERIVATION_NAMES)}")
    return code


def _check_across(entries: list[Entry], topics: dict[str, str], kb_dir: Path, problems: list[str],
                  unreadable: set[str]) -> None:
    seen: dict[str, Entry] = {}
    for entry in entries:
        if entry.id in seen:
            problems.append(f"{_show(entry.path)}: field 'id': duplicate id {entry.id!r} (also in "
                            f"{_show(seen[entry.id].path)}); give one of them a new id")
        seen[entry.id] = entry
    owner: dict[str, str] = {}
    for entry in entries:
        for rel in entry.related:
            if rel == entry.id:
                problems.append(f"{_show(entry.path)}: field 'related': links to itself; remove {rel!r}")
            elif rel not in seen and rel not in unreadable:
                close = difflib.get_close_matches(rel, list(seen), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                problems.append(f"{_show(entry.path)}: field 'related': no entry has id {rel!r}{hint}; fix the link")
        for question in entry.questions:
            key = " ".join(question.lower().split())
            if key in owner and owner[key] != entry.id:
                problems.append(f"{_show(entry.path)}: field 'questions': {question!r} is also a question of "
                                f"{owner[key]!r}; keep it in the entry that answers it best")
            owner.setdefault(key, entry.id)
    if entries and not unreadable:
        covered = {t for e in entries for t in e.topics}
        for topic in topics:
            if topic not in covered:
                problems.append(f"{_show(kb_dir / 'topics.json')}: topic {topic!r}: no entry covers it; "
                                "add it to the 'topics' of the entry that answers it")


def _hash(kb_dir: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in [*files, kb_dir / "topics.json", kb_dir / "scope.yaml"]:
        try:
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        except OSError:  # missing or unreadable: reported with its fix by the reader above
            pass
    return digest.hexdigest()[:16]
