"""Retrieval metrics over a JSONL file of {question, topics}; empty topics mean the question is out of scope."""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.datatypes import Answer, KnowledgeBase
from bot.errors import BadQuestion

DECLINED = "(declined)"  # what a confusion names as "got" when the bot said the KB does not cover the question
# A probability is calibrated when no bin of at least MIN_BIN questions predicts more than SLACK above what it sees.
MIN_BIN, SLACK = 10, 0.10


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


@dataclass(frozen=True)
class Bin:
    low: float  # predicted probabilities in [low, high)
    high: float
    n: int
    predicted: float  # mean predicted probability
    observed: float  # share of the bin's questions where it came true

    @property
    def overconfident(self) -> bool:
        return self.n >= MIN_BIN and self.predicted - self.observed > SLACK


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
    covered: list[tuple[float, bool]] = field(default_factory=list)  # (confidence, the question is in scope)
    right: list[tuple[float, bool]] = field(default_factory=list)  # (entry_confidence, the first entry answers it)
    answered: int = 0  # in-scope questions the bot answered
    sure_right: list[bool] = field(default_factory=list)  # answered, not ambiguous: is the first entry right?
    unsure_shown: list[bool] = field(default_factory=list)  # answered, ambiguous: is a right entry a candidate?

    def metrics(self) -> dict[str, float]:
        n_in, n_out = max(self.n_in, 1), max(self.n_out, 1)
        return {"top1": self.top1 / n_in, "recall@3": self.recall3 / n_in, "mrr": self.reciprocal / n_in,
                "oos_rejection": self.rejected_out / n_out, "false_rejection": self.rejected_in / n_in,
                "top1_unambiguous": sum(self.sure_right) / max(len(self.sure_right), 1),
                "ambiguous_share": len(self.unsure_shown) / max(self.answered, 1),
                "ambiguous_shown": sum(self.unsure_shown) / max(len(self.unsure_shown), 1)}


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
        ranks = [i for i, s in enumerate(answer.answers, 1) if topics.get(s.id, set()) & case.topics]
        first = ranks[0] if ranks else None
        if answer.kind != "greeting":
            report.covered.append((answer.confidence, bool(case.topics)))
            report.right.append((answer.entry_confidence, first == 1))
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
        if answer.in_scope:
            report.answered += 1
            if answer.ambiguous:
                report.unsure_shown.append(any(topics.get(s.id, set()) & case.topics for s in answer.candidates))
            else:
                report.sure_right.append(first == 1)
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


def calibration_table(pairs: list[tuple[float, bool]], bins: int = 10) -> list[Bin]:
    """(predicted, happened) pairs grouped by predicted probability into equal-width bins; empty bins left out."""
    table = []
    for k in range(bins):
        low, high = k / bins, (k + 1) / bins
        inside = [(p, y) for p, y in pairs if low <= p < high or (k == bins - 1 and p == 1.0)]
        if inside:
            table.append(Bin(low, high, len(inside), sum(p for p, _ in inside) / len(inside),
                             sum(y for _, y in inside) / len(inside)))
    return table


def render_calibration(table: list[Bin], name: str) -> str:
    """One line per bin, and whether any bin big enough to judge is overconfident by more than SLACK."""
    lines = [f"{name:18} {'n':>4} {'predicted':>10} {'observed':>9}"]
    lines += [f"  {b.low:.1f}-{b.high:.1f}{'':8} {b.n:4d} {b.predicted:10.3f} {b.observed:9.3f}"
              + ("  <- overconfident" if b.overconfident else "") for b in table]
    bad = sum(b.overconfident for b in table)
    lines.append(f"  calibrated (no bin of {MIN_BIN}+ predicting {SLACK:.2f} above what it sees): "
                 + ("yes" if not bad else f"no, {bad} bin(s)"))
    return "\n".join(lines)


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
    if report.covered:
        lines += ["", render_calibration(calibration_table(report.covered), "confidence (covered)")]
        lines += ["", render_calibration(calibration_table(report.right), "entry_confidence")]
    if report.confusions and confusions:
        lines += ["", "most frequent confusions (wanted -> got):"]
        lines += [f"  {count:3d}  {wanted} -> {got}" for (wanted, got), count in report.confusions.most_common(confusions)]
    return "\n".join(lines)


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 6] + " [...]"
