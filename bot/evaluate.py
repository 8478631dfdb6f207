"""Retrieval metrics over a JSONL file of {question, topics}; empty topics mean the question is out of scope."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.answer import Answer
from bot.errors import BadQuestion
from bot.kb import KnowledgeBase


@dataclass(frozen=True)
class Case:
    question: str
    topics: frozenset[str]


@dataclass
class Report:
    n_in: int = 0
    n_out: int = 0
    top1: int = 0  # in-scope questions whose first-ranked entry answers them
    recall3: int = 0  # ... with an answering entry among the first three
    reciprocal: float = 0.0  # sum of 1/rank of the first answering entry
    rejected_out: int = 0  # out-of-scope questions the bot declined
    rejected_in: int = 0  # in-scope questions the bot wrongly declined
    misses: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        n_in, n_out = max(self.n_in, 1), max(self.n_out, 1)
        return {"top1": self.top1 / n_in, "recall@3": self.recall3 / n_in, "mrr": self.reciprocal / n_in,
                "oos_rejection": self.rejected_out / n_out, "false_rejection": self.rejected_in / n_in}


def read_cases(path: Path) -> list[Case]:
    """Parse the JSONL file; raise ValueError naming the line that is not {question, topics}."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(Case(str(row["question"]), frozenset(row.get("topics", []))))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: expected {{\"question\": ..., \"topics\": [...]}} ({exc})") from None
    return cases


def evaluate(cases: list[Case], ask: Callable[[str], Answer], kb: KnowledgeBase) -> Report:
    """Score every case: ranking by the entries' topics, scope by the bot's in/out decision."""
    report = Report()
    topics = {e.id: set(e.topics) for e in kb.entries}
    for case in cases:
        try:
            answer = ask(case.question)
        except BadQuestion as exc:
            report.misses.append(f"refused {case.question!r}: {exc}")
            continue
        if not case.topics:
            report.n_out += 1
            report.rejected_out += not answer.in_scope
            if answer.in_scope:
                report.misses.append(f"answered out-of-scope {case.question!r} with {answer.answers[0].id} "
                                     f"(confidence {answer.confidence:.2f})")
            continue
        report.n_in += 1
        report.rejected_in += not answer.in_scope
        ranks = [i for i, s in enumerate(answer.answers, 1) if topics[s.id] & case.topics]
        first = ranks[0] if ranks else None
        report.top1 += first == 1
        report.recall3 += first is not None and first <= 3
        report.reciprocal += 1 / first if first else 0.0
        if first != 1 or not answer.in_scope:
            got = ", ".join(s.id for s in answer.answers[:3])
            why = "declined" if not answer.in_scope else f"rank {first or '>' + str(len(answer.answers))}"
            report.misses.append(f"{why}: {case.question!r} wants {sorted(case.topics)}; got {got} "
                                 f"(confidence {answer.confidence:.2f})")
    return report
