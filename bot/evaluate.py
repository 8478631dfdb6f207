"""Retrieval metrics over a JSONL file of {question, topics}; empty topics mean the question is out of scope."""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.answer import Answer
from bot.errors import BadQuestion
from bot.kb import KnowledgeBase

DECLINED = "(declined)"  # what a confusion names as "got" when the bot said the KB does not cover the question


@dataclass(frozen=True)
class Case:
    question: str
    topics: frozenset[str]
    oos_kind: str = ""  # for an out-of-scope case: what kind of near-miss it is (optional)


@dataclass
class TopicScore:
    n: int = 0  # in-scope cases labelled with this topic
    top1: int = 0  # ... whose first answer answers them (any of their topics)
    recall3: int = 0  # ... with an answering entry among the first three


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
    per_topic: dict[str, TopicScore] = field(default_factory=dict)
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)  # (wanted topics, got entry) on a top-1 miss
    out_kinds: dict[str, list[int]] = field(default_factory=dict)  # oos_kind -> [declined, total]

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
            cases.append(Case(str(row["question"]), frozenset(row.get("topics", [])), str(row.get("oos_kind") or "")))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
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
            kind = report.out_kinds.setdefault(case.oos_kind or "unlabelled", [0, 0])
            kind[0] += not answer.in_scope
            kind[1] += 1
            if answer.in_scope:
                report.misses.append(f"answered out-of-scope {case.question!r} with {answer.answers[0].id} "
                                     f"(confidence {answer.confidence:.2f})")
            continue
        report.n_in += 1
        report.rejected_in += not answer.in_scope
        ranks = [i for i, s in enumerate(answer.answers, 1) if topics.get(s.id, set()) & case.topics]
        first = ranks[0] if ranks else None
        report.top1 += first == 1
        report.recall3 += first is not None and first <= 3
        report.reciprocal += 1 / first if first else 0.0
        for topic in case.topics:
            score = report.per_topic.setdefault(topic, TopicScore())
            score.n += 1
            score.top1 += first == 1
            score.recall3 += first is not None and first <= 3
        if first != 1 or not answer.in_scope:
            got = answer.answers[0].id if answer.in_scope and answer.answers else DECLINED
            report.confusions[("+".join(sorted(case.topics)), got)] += 1
            shown = ", ".join(s.id for s in answer.answers[:3])
            why = "declined" if not answer.in_scope else f"rank {first or '>' + str(len(answer.answers))}"
            report.misses.append(f"{why}: {case.question!r} wants {sorted(case.topics)}; got {shown} "
                                 f"(confidence {answer.confidence:.2f})")
    return report


def render(report: Report, source: str, misses: int = 20, confusions: int = 10) -> str:
    """The report as text: the misses, the figures, per-topic recall, the scope by kind and the top confusions."""
    lines = []
    if misses and report.misses:
        lines.append(f"misses ({len(report.misses)}, first {min(misses, len(report.misses))}):")
        lines += [_short(m, 220) for m in report.misses[:misses]]
        lines.append("")
    lines.append(f"{report.n_in} in-scope and {report.n_out} out-of-scope questions from {source}")
    lines += [f"{name:16} {value:.3f}" for name, value in report.metrics().items()]
    if report.per_topic:
        lines += ["", f"{'per topic':32} {'n':>4} {'top-1':>6} {'recall@3':>9}"]
        for topic, s in sorted(report.per_topic.items(), key=lambda kv: (kv[1].top1 / kv[1].n, kv[0])):
            lines.append(f"  {topic:30} {s.n:4d} {s.top1 / s.n:6.2f} {s.recall3 / s.n:9.2f}")
    if report.out_kinds:
        lines += ["", f"{'out of scope by kind':32} {'n':>4} {'declined':>9}"]
        for kind, (declined, total) in sorted(report.out_kinds.items(), key=lambda kv: (kv[1][0] / kv[1][1], kv[0])):
            lines.append(f"  {kind:30} {total:4d} {declined / total:9.2f}")
    if report.confusions and confusions:
        lines += ["", "most frequent confusions (wanted -> got):"]
        lines += [f"  {count:3d}  {wanted} -> {got}" for (wanted, got), count in report.confusions.most_common(confusions)]
    return "\n".join(lines)


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 6] + " [...]"
