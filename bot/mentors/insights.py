"""What mentors learn from the log: unanswered questions grouped by meaning, and feedback per entry.

The mentor page (pages/3_Mentor.py) and `python -m bot report` both show a `Report`.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from bot.datatypes import KnowledgeBase, Suggestion
from bot.mentors.store import DraftedTopic, LoggedAsk, Store
from bot.retrieval.notation import normalize

if TYPE_CHECKING:
    from bot.retrieval.embed import Embedder
    from bot.retrieval.retrieve import Retriever

# Mean cosine within a group, on embeddings centred on the KB's mean. Tuned on hand-made paraphrase sets: 6
# topics x 2-4 wordings give 7 groups (one split), 20 distinct questions give 14, 36 KB entries' questions 23.
SAME_MEANING = 0.35
MAX_QUESTIONS = 3000  # distinct questions grouped (the most recent): the clustering holds an n x n matrix
REASONS = ("out_of_scope", "unsure", "not_helpful")
UNSURE = 0.8  # an ask answered with a confidence (covered) below this is listed for mentors as unsure


class Searcher(Protocol):
    """What the report needs of the Bot (bot.answer.Bot is one), so that mentors' code never imports the Bot."""

    retriever: Retriever
    embedder: Embedder

    def similar(self, text: str, k: int = 5) -> list[Suggestion]: ...


@dataclass(frozen=True)
class Group:
    """Unanswered or doubtful questions that mean the same thing: one entry to write (or to fix)."""

    representative: str  # the question closest to the group's centre
    count: int  # asks in the group, repeats included
    questions: list[str]  # the distinct questions, most asked first
    nearest: Suggestion | None  # the closest existing entry
    reasons: dict[str, int]  # out_of_scope / unsure / not_helpful -> asks


@dataclass(frozen=True)
class Candidate:
    """A logged question that reached an entry and is not yet one of its `questions`."""

    question: str
    times: int
    confidence: float  # the lowest confidence it was answered with: low = adding it helps most


@dataclass(frozen=True)
class EntryStats:
    entry_id: str
    title: str
    shown: int
    helpful: int
    not_helpful: int
    comments: list[str]  # the latest, newest first
    candidates: list[Candidate]  # most asked first


@dataclass(frozen=True)
class Report:
    since: float | None  # unix time; None = the whole log
    totals: dict[str, int]  # see Store.totals
    groups: list[Group]
    entries: list[EntryStats]
    drafts: list[DraftedTopic] = field(default_factory=list)  # forum topics the bot claimed, newest first


def key(question: str) -> str:
    """The form two questions share when they are the same text (as bot.retrieval.kb compares `questions`)."""
    return " ".join(question.lower().split())


def cluster(vectors: np.ndarray, threshold: float = SAME_MEANING) -> list[list[int]]:
    """Average-linkage clusters of L2-normalised rows: every pair of merged groups has mean cosine >= threshold.

    Returns lists of row numbers, each in row order; groups in order of their first row.
    """
    if len(vectors) < 2:
        return [[i] for i in range(len(vectors))]
    from sklearn.cluster import AgglomerativeClustering  # a dependency of sentence-transformers

    labels = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                     distance_threshold=1.0 - threshold).fit_predict(vectors)
    groups: dict[int, list[int]] = {}
    for row, label in enumerate(labels):
        groups.setdefault(int(label), []).append(row)
    return list(groups.values())


def group_questions(asks: list[LoggedAsk], encode: Callable[[list[str]], np.ndarray],
                    nearest: Callable[[str], Suggestion | None], sure: float,
                    threshold: float = SAME_MEANING) -> list[Group]:
    """Group the asks by meaning, largest group first; repeats of one text count but are embedded once."""
    texts: dict[str, str] = {}  # key -> the latest wording
    counts: dict[str, int] = {}
    reasons: dict[str, dict[str, int]] = {}
    for ask in asks:
        reason = _reason(ask, sure)
        if reason is None:
            continue
        k = key(ask.question)
        texts[k], counts[k] = ask.question, counts.get(k, 0) + 1
        reasons.setdefault(k, {})[reason] = reasons.get(k, {}).get(reason, 0) + 1
    keys = list(texts)[-MAX_QUESTIONS:]
    if not keys:
        return []
    vectors = encode([texts[k] for k in keys])  # (n, dim), L2-normalised
    weights = np.array([counts[k] for k in keys], dtype=np.float32)
    groups = []
    for rows in cluster(vectors, threshold):
        centre = (weights[rows, None] * vectors[rows]).sum(axis=0)
        best = rows[int(np.argmax(vectors[rows] @ centre))]
        members = sorted(rows, key=lambda r: -counts[keys[r]])
        why: dict[str, int] = {}
        for r in rows:
            for reason, n in reasons.get(keys[r], {}).items():
                why[reason] = why.get(reason, 0) + n
        groups.append(Group(texts[keys[best]], int(weights[rows].sum()), [texts[keys[r]] for r in members],
                            None, dict(sorted(why.items()))))
    groups.sort(key=lambda g: (-g.count, -len(g.questions)))
    return [Group(g.representative, g.count, g.questions, nearest(g.representative), g.reasons) for g in groups]


def _reason(ask: LoggedAsk, sure: float) -> str | None:
    """Why a mentor should look at this ask, or None."""
    if ask.not_helpful:
        return "not_helpful"
    if ask.kind == "out_of_scope":
        return "out_of_scope"
    return "unsure" if ask.kind == "answer" and ask.confidence < sure else None


def entry_stats(store: Store, kb: KnowledgeBase, since: float | None = None) -> list[EntryStats]:
    """Every entry with its numbers, the most shown first; candidates skip questions any entry already has."""
    counts, comments = store.entry_counts(since), store.comments(since)
    known = {key(q) for e in kb.entries for q in e.questions}
    reached: dict[str, dict[str, list[LoggedAsk]]] = {}
    for ask in store.asks(since):
        if ask.kind == "answer" and ask.entry_id and not ask.not_helpful and key(ask.question) not in known:
            reached.setdefault(ask.entry_id, {}).setdefault(key(ask.question), []).append(ask)
    stats = []
    for entry in kb.entries:
        c = counts.get(entry.id)
        candidates = [Candidate(same[-1].question, len(same), min(a.confidence for a in same))
                      for same in reached.get(entry.id, {}).values()]
        candidates.sort(key=lambda x: (-x.times, x.confidence))
        stats.append(EntryStats(entry.id, entry.title, c.shown if c else 0, c.helpful if c else 0,
                                c.not_helpful if c else 0, comments.get(entry.id, []), candidates))
    stats.sort(key=lambda s: (-s.shown, -s.not_helpful, s.entry_id))
    return stats


def doubtful_groups(store: Store, load_bot: Callable[[], Searcher], since: float | None = None) -> list[Group]:
    """The unanswered, unsure and not-helpful asks grouped by meaning; the model loads only if there are any."""
    doubtful = store.asks(since, unsure_below=UNSURE)
    if not doubtful:
        return []
    bot = load_bot()
    # (dim,): what every short text about backprop shares; not the out-of-scope examples, whose near-misses (batch
    # norm, RNNs, Adam) would be centred away, nor the long posts
    rows = [i for i, d in enumerate(bot.retriever.docs) if d.kind in ("title", "summary", "question")]
    domain = bot.retriever.index.vectors[rows].mean(axis=0)

    def encode(texts: list[str]) -> np.ndarray:
        """Embeddings centred on the KB's mean and renormalised: "gradient" alone no longer makes two alike."""
        vectors = bot.embedder.encode([normalize(t) for t in texts]) - domain  # notation as retrieval sees it
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    return group_questions(doubtful, encode, lambda q: _nearest(bot, q), UNSURE)


def build_report(store: Store, kb: KnowledgeBase, load_bot: Callable[[], Searcher], since: float | None = None) -> Report:
    """The whole summary (what the mentor page shows and `python -m bot report` prints)."""
    return Report(since, store.totals(since), doubtful_groups(store, load_bot, since), entry_stats(store, kb, since),
                  store.forum_topics(since))


def _nearest(bot: Searcher, question: str) -> Suggestion | None:
    from bot.errors import BadQuestion

    try:
        return next(iter(bot.similar(question, k=1)), None)
    except BadQuestion:  # e.g. a logged question longer than today's limit
        return None


def render(report: Report, groups: int = 15, candidates: int = 5) -> str:
    """The report as plain text (what `python -m bot report` prints)."""
    t = report.totals
    window = ("since " + time.strftime("%Y-%m-%d %H:%M", time.localtime(report.since))
              if report.since else "whole log")
    summary = (f"Backprop Q&A, {window}: {t.get('asks', 0)} asks ({t.get('kind:answer', 0)} answered, "
               f"{t.get('kind:out_of_scope', 0)} out of scope, {t.get('kind:greeting', 0)} greetings; "
               f"chat {t.get('channel:chat', 0)}, api {t.get('channel:api', 0)}, forum {t.get('channel:forum', 0)}), "
               f"feedback {t.get('helpful', 0)} "
               f"helpful / {t.get('not_helpful', 0)} not helpful")
    lines = [summary, ""]
    lines.append(f"Write these entries next ({len(report.groups)} groups of unanswered, unsure or not-helpful "
                 "questions, largest first):")
    for g in report.groups[:groups]:
        near = f"nearest entry: {g.nearest.id} (score {g.nearest.score:.2f})" \
            if g.nearest and g.nearest.score is not None else "no nearest entry"
        why = ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in g.reasons.items())
        lines.append(f"  {g.count:4}  {g.representative}")
        lines.append(f"        {len(g.questions)} distinct; {why}; {near}")
    if not report.groups:
        lines.append("  (none)")
    lines += ["", "Per entry (the ones shown or rated):",
              f"  {'entry':32} {'shown':>6} {'helpful':>8} {'not helpful':>12} {'new phrasings':>14}"]
    for s in report.entries:
        if not (s.shown or s.helpful or s.not_helpful):
            continue
        lines.append(f"  {s.entry_id:32} {s.shown:6} {s.helpful:8} {s.not_helpful:12} {len(s.candidates):14}")
        lines += [f"      comment: {c}" for c in s.comments]
        lines += [f"      phrasing: {c.question} (x{c.times}, confidence {c.confidence:.2f})"
                  for c in s.candidates[:candidates]]
    quiet = sum(1 for s in report.entries if not (s.shown or s.helpful or s.not_helpful))
    lines.append(f"  ({quiet} other entries were neither shown nor rated in this period)")
    lines += ["", f"Forum topics the bot drafted for ({len(report.drafts)}, newest first):"]
    lines += [f"  {d.link}  {drafted(d)}  {d.title}" for d in report.drafts] or ["  (none)"]
    return "\n".join(lines)


def drafted(topic: DraftedTopic) -> str:
    """What became of a claimed topic, in a few words: state, mode, entry and entry_confidence."""
    if topic.state in ("queued", "posting"):
        return f"{topic.state} (attempt {topic.attempts + 1})"
    if topic.state == "failed":
        return f"failed after {topic.attempts} attempt(s): {topic.error}"
    if topic.entry_id is None:
        return f"{topic.state}: {(topic.kind or 'no opening post').replace('_', ' ')}"
    return (f"{topic.state} {topic.mode or ''} {topic.kind}: {topic.entry_id} "
            f"(entry_confidence {topic.entry_confidence or 0:.2f})").replace("  ", " ")
