"""Plain data shared across the concerns: a KB entry, an answer, a sandbox run and its limits, the derivation names.

Nothing here imports another bot module but bot.errors, so every package may import it and none needs the Bot.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import EntryNotFound

# the derivations bot.proofs can show; plain data so that the KB validator checks a name without the proofs
DERIVATION_NAMES: tuple[str, ...] = ("dz-output", "softmax-ce", "activation", "da-prev", "dw-db", "cost-mean", "l2")


@dataclass(frozen=True)
class Entry:
    """One curated answer: a Markdown body plus the metadata retrieval and the UI need."""

    id: str
    title: str
    summary: str
    topics: tuple[str, ...]
    weeks: tuple[str, ...]
    related: tuple[str, ...]
    questions: tuple[str, ...]
    body: str
    path: Path
    snippet: str | None = None  # file name under kb/snippets/
    derivation: str | None = None  # one of DERIVATION_NAMES
    snippet_code: str | None = None  # the snippet file's text, read once at load
    posts: tuple[str, ...] = ()  # whole forum-style posts (context, code, errors) this entry answers
    formula: str | None = None  # the key formula in LaTeX for the link card; None = the body's first display equation


@dataclass(frozen=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]
    topics: dict[str, str]  # key -> description, from kb/topics.json
    covers: str  # one line saying what the KB answers, from kb/scope.yaml
    out_of_scope: tuple[str, ...]  # examples of questions the KB deliberately does not answer
    content_hash: str

    def get(self, entry_id: str) -> Entry:
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise EntryNotFound(f"no entry with id {entry_id!r}; `python -m bot list` shows the ids")

    def covering(self, topic: str) -> list[Entry]:
        return [e for e in self.entries if topic in e.topics]


@dataclass(frozen=True)
class Suggestion:
    id: str
    title: str
    topics: list[str]
    score: float | None  # ranking score; None for a related-entry link
    url: str
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "summary": self.summary, "topics": list(self.topics),
                "score": self.score, "url": self.url}


@dataclass(frozen=True)
class Answer:
    question: str
    kind: str  # "answer" | "out_of_scope" | "greeting" (any small talk)
    in_scope: bool
    confidence: float  # 0..1: calibrated probability that the KB answers the question
    answers: list[Suggestion]  # ranked nearest entries (suggestions when out of scope)
    message: str  # one-line text for the user: a caveat, the "not covered" reply or the small-talk reply
    entry: Entry | None = None  # the best entry when in scope
    related: list[Suggestion] = field(default_factory=list)
    snippet: str | None = None  # the entry's runnable NumPy demonstration (code)
    derivation: dict[str, Any] | None = None  # the entry's SymPy derivation: {name, title, choice, steps}
    entry_confidence: float = 0.0  # 0..1: calibrated probability that answers[0] is the entry that answers it
    ambiguous: bool = False  # in scope, but entry_confidence < AMBIGUOUS: the answer is "one of these"
    candidates: list[Suggestion] = field(default_factory=list)  # when ambiguous: the entries it may be
    follow_up_of: str | None = None  # the previous entry, when the question was read as a follow-up to it

    def to_dict(self) -> dict[str, Any]:
        """The `ask --json` object (by hand: dataclasses.asdict would deep-copy the whole entry on every answer)."""
        e = self.entry
        return {"question": self.question, "kind": self.kind, "in_scope": self.in_scope,
                "confidence": self.confidence, "entry_confidence": self.entry_confidence,
                "ambiguous": self.ambiguous, "candidates": [s.to_dict() for s in self.candidates],
                "answers": [s.to_dict() for s in self.answers],
                "message": self.message, "related": [s.to_dict() for s in self.related], "snippet": self.snippet,
                "derivation": self.derivation, "follow_up_of": self.follow_up_of, "body": e.body if e else None,
                "answer": None if e is None else {"id": e.id, "title": e.title, "summary": e.summary,
                                                  "topics": list(e.topics), "weeks": list(e.weeks), "body": e.body,
                                                  "url": self.answers[0].url}}


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 10.0
    cpu_seconds: int = 10
    memory_mb: int = 1024  # address space; NumPy + Python need ~300 MB of it
    output_kb: int = 64  # shown to the student; the rest is cut with a note
    processes: int = 16  # new processes and threads the snippet may start
    file_mb: int = 8  # largest file it may write; also ends a print flood early
    disk_mb: int = 100  # bytes written to /sandbox and /tmp together
    files: int = 1000  # files and folders it may create there


@dataclass(frozen=True)
class RunResult:
    stdout: str
    stderr: str
    exit_code: int | None  # None when it never started
    seconds: float
    limit: str | None  # "wall-time", "cpu-time", "memory", "output", "disk", "files", "processes" or None
    message: str  # one line for the student
    isolation: str  # "bubblewrap", "limits only", "limits only (as root)" or "none" (refused)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.limit is None
