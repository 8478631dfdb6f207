"""Hybrid retrieval: dense similarity to each entry's texts and their centroid, over the whole question and over
windows of a long one, plus BM25 on the entry's text and on its questions; the features are combined with weights
fitted on the KB.

A ten-word question is one window; a five-hundred-word post is several (bot/retrieval/segment.py), so its end is
read too.
The lexical share fades with the question's length: a post has five times the keywords of a question, and the
entries that mention everything (shapes, products, the layer loop) would otherwise win on keywords alone.

Both probabilities are calibrated on the KB itself, every question and post of every entry held out in turn: the
in-scope one with those texts as positives and the out-of-scope examples as negatives; "the first entry is the
right one" with the texts whose first entry shares a topic with their own as positives and the others as negatives.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.datatypes import KnowledgeBase
from bot.retrieval import fit
from bot.retrieval.corpus import Doc
from bot.retrieval.embed import Embedder
from bot.retrieval.index import VectorIndex
from bot.retrieval.lexical import BM25
from bot.retrieval.notation import lexical_tokens, normalize
from bot.retrieval.segment import WINDOW, pieces, segments

log = logging.getLogger(__name__)

# The ranking features of an entry, and their weights: fitted by bench/fit_ranking.py on the KB's own questions
# and posts (each held out in turn), never on an evaluation set; scaled so that the dense weights sum to 1.
FEATURES = ("best", "second", "centroid", "window_best", "window_centroid", "lexical", "lexical_questions")
WEIGHTS = np.array([0.153, 0.154, 0.229, 0.229, 0.236, 0.340, 0.153])
# The lexical share of a question of SHORT estimated word pieces or fewer is kept whole; at LONG or more it is
# multiplied by 1 - LONG_DAMPING, log-linearly in between. Not fitted: the KB's own posts share the KB's words, so
# a fit on them cannot see what keywords do on a real post. On real posts (a held-out set, issue 11) damping
# alone moved top-1 from 0.68 to 0.78; on the KB's posts, held out, 0.5 costs nothing (bench/fit_ranking.py).
SHORT, LONG, LONG_DAMPING = 16, 256, 0.5
# What the in-scope probability is fitted on: the best entry's closest text's cosine, and by how much that beats
# the closest out-of-scope example (a near-miss post is closer to one of those than to any entry).
SCOPE = ("closest", "margin")
# What P(the first entry is right | in scope) is fitted on: its lead over the second entry, and over the best entry
# that shares no topic with it (two entries answering the same topic key are not a confusion; on the KB held out
# the second alone separates right from wrong first entries with an AUC of 0.80, the first 0.75).
ENTRY = ("lead", "lead_other_topic")
Fitted = tuple[np.ndarray, float]  # a logistic fit's weights and intercept


@dataclass(frozen=True)
class Hit:
    entry_id: str
    score: float  # ranking score: WEIGHTS @ the entry's features
    dense: float  # cosine to the entry's closest text (title, summary, question or post), best over windows
    lexical: float  # BM25 on the entry's text, divided by the best entry's BM25, damped on a long question (0..1)


@dataclass(frozen=True)
class Ranking:
    hits: list[Hit]  # every entry, best first
    out_of_scope: float  # best cosine to an out-of-scope example (over windows)
    confidence: float  # calibrated probability that the KB answers the question
    margin: float  # the first entry's closest text's cosine minus out_of_scope: > 0 when the entry is nearer
    entry_confidence: float  # calibrated probability that the first entry answers it: confidence * P(right | in scope)


@dataclass(frozen=True)
class Scored:
    """Every entry's features for one question, before the weights: what the fit and the ranking share."""

    features: np.ndarray  # (n_entries, len(FEATURES))
    closest: np.ndarray  # (n_entries,) cosine to the entry's closest text, best over windows
    out_of_scope: float


class Retriever:
    def __init__(self, kb: KnowledgeBase, docs: list[Doc], index: VectorIndex, embedder: Embedder,
                 cache_dir: Path | None = None) -> None:
        self.kb, self.docs, self.index, self.embedder = kb, docs, index, embedder
        self._ids = [e.id for e in kb.entries]
        position = {entry_id: i for i, entry_id in enumerate(self._ids)}
        self._doc_entry = np.array([position.get(d.entry_id, -1) for d in docs])  # -1: out-of-scope example
        rows = [np.flatnonzero(self._doc_entry == i) for i in range(len(self._ids))]
        self._sums = np.array([index.vectors[r].sum(axis=0) for r in rows])  # (n_entries, dim)
        # each entry's rows, padded with len(docs): the slot of a -inf appended to the similarities
        width = max(2, *(len(r) for r in rows))
        self._rows = np.array([np.pad(r, (0, width - len(r)), constant_values=len(docs)) for r in rows], dtype=np.int64)
        self._oos = np.flatnonzero(self._doc_entry < 0)
        topics = [set(e.topics) for e in kb.entries]
        self._shares_topic = np.array([[bool(a & b) for b in topics] for a in topics])  # (n_entries, n_entries)
        # what the entry says (title and summary twice: they say what it answers) and how students ask for it
        self._bm25 = BM25([lexical_tokens(f"{e.title} {e.title} {e.summary} {e.summary} {e.body}") or ["_"]
                           for e in kb.entries])
        self._bm25_questions = BM25([lexical_tokens(" ".join(e.questions)) or ["_"] for e in kb.entries])
        self._calibration, self._entry_calibration = self._load_or_calibrate(cache_dir)

    def rank(self, question: str) -> Ranking:
        text = normalize(question)
        windows = segments(text)
        vectors = self.embedder.encode([text])
        if len(windows) > 1:  # a call of their own: batched with the whole text, each window is padded to its length
            vectors = np.vstack([vectors, self.embedder.encode(windows)])
        scored = self.score(vectors, self.lexical(question), pieces(text))
        combined, confidence, entry_confidence = self.judge(scored)
        order = np.argsort(-combined, kind="stable")
        lexical = scored.features[:, FEATURES.index("lexical")]
        hits = [Hit(self._ids[i], float(combined[i]), float(scored.closest[i]), float(lexical[i])) for i in order]
        return Ranking(hits, scored.out_of_scope, confidence, hits[0].dense - scored.out_of_scope, entry_confidence)

    def judge(self, scored: Scored) -> tuple[np.ndarray, float, float]:
        """Every entry's ranking score, the probability that the KB answers the question, and the probability
        that the first entry does."""
        combined = scored.features @ WEIGHTS
        confidence = self._probability(self._calibration, self._scope_features(combined, scored))
        right = self._probability(self._entry_calibration, self._entry_features(combined))
        return combined, confidence, confidence * right

    def shares_topic(self, entry_id: str, other_id: str) -> bool:
        """Whether two entries answer a topic key in common (what the evaluation counts as the right entry)."""
        return bool(self._shares_topic[self._ids.index(entry_id), self._ids.index(other_id)])

    def lexical(self, question: str, held_out: int | None = None) -> np.ndarray:
        """(2, n_entries): each entry's BM25 for the question over its text and over its questions, each divided
        by the best entry's (0..1); `held_out` is a question's row, left out of its entry's questions."""
        tokens = lexical_tokens(question)
        without = None
        if held_out is not None and self._doc_entry[held_out] >= 0 and self.docs[held_out].kind == "question":
            without = (int(self._doc_entry[held_out]), tokens)
        rows = [self._bm25.scores(tokens), self._bm25_questions.scores(tokens, without)]
        return np.array([raw / raw.max() if raw.max() > 0 else raw for raw in rows])

    def score(self, vectors: np.ndarray, lexical: np.ndarray, length: int, held_out: int | None = None) -> Scored:
        """The features of every entry for a question's vectors (the whole question first, then its windows, if
        any); `held_out` is a document row left out everywhere (for calibration, the fit and leave-one-out)."""
        found, rows = self.index.search(vectors, len(self.index))
        sims = np.full((len(vectors), len(self.docs) + 1), -np.inf)  # the last column: -inf for padding
        np.put_along_axis(sims[:, :-1], rows, found, axis=1)
        sums = self._sums
        if held_out is not None:
            sims[:, held_out] = -np.inf
            if self._doc_entry[held_out] >= 0:
                sums = sums.copy()
                sums[self._doc_entry[held_out]] -= self.index.vectors[held_out]
        top = -np.partition(-sims[:, self._rows], 1, axis=2)[:, :, :2]  # (n_vectors, n_entries, 2)
        best = top[:, :, 0]
        second = np.where(np.isfinite(top[:, :, 1]), top[:, :, 1], best)
        centroid = (vectors @ sums.T) / np.linalg.norm(sums, axis=1)
        window = slice(1, None) if len(vectors) > 1 else slice(0, 1)
        longness = float(np.clip(np.log2(max(length, 1) / SHORT) / np.log2(LONG / SHORT), 0.0, 1.0))
        damped = lexical * (1 - LONG_DAMPING * longness)
        features = np.column_stack([best[0], second[0], centroid[0], best[window].max(axis=0),
                                    centroid[window].max(axis=0), damped[0], damped[1]])
        oos = sims[:, self._oos]
        return Scored(features, best.max(axis=0), float(oos.max()) if oos.size else 0.0)

    def _scope_features(self, combined: np.ndarray, scored: Scored) -> np.ndarray:
        first = int(np.argmax(combined))
        values = {"score": combined[first], "closest": scored.closest[first],
                  "margin": scored.closest[first] - scored.out_of_scope}
        return np.array([values[name] for name in SCOPE])

    def _entry_features(self, combined: np.ndarray) -> np.ndarray:
        order = np.argsort(-combined, kind="stable")
        first = order[0]
        second = combined[order[1]] if len(order) > 1 else 0.0  # a one-entry KB: nothing to confuse it with
        other = combined[~self._shares_topic[first]]
        values = {"lead": combined[first] - second,
                  "lead_other_topic": combined[first] - (other.max() if other.size else second)}
        return np.array([values[name] for name in ENTRY])

    @staticmethod
    def _probability(fitted: Fitted, features: np.ndarray) -> float:
        w, b = fitted
        return float(1.0 / (1.0 + np.exp(-(features @ w + b))))

    def held_out(self, row: int, windows: bool = True) -> Scored:
        """The features for document `row` asked as a question, with itself left out of the KB; without
        `windows`, a long text is read as the model reads it whole (its first 256 word pieces), and nothing is
        embedded."""
        doc = self.docs[row]
        text = normalize(doc.text)
        parts = segments(text) if windows else [text]
        vectors = self.index.vectors[row][None]
        if len(parts) > 1:
            vectors = np.vstack([vectors, self.embedder.encode(parts)])
        return self.score(vectors, self.lexical(doc.text, row), pieces(text), held_out=row)

    def _load_or_calibrate(self, cache_dir: Path | None) -> tuple[Fitted, Fitted]:
        """The calibrations saved beside the index when they were fitted for this KB, model and ranking; else fit
        them (about a second) and save them."""
        key = hashlib.sha256(json.dumps([self.kb.content_hash, self.embedder.name, FEATURES, WEIGHTS.tolist(),
                                         WINDOW, SHORT, LONG, LONG_DAMPING, SCOPE, ENTRY]).encode()).hexdigest()[:16]
        path = cache_dir / "calibration.json" if cache_dir else None
        if path is not None:
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
                if saved["key"] == key:
                    scope, entry = ((np.array(saved[name]["weights"], dtype=np.float64), float(saved[name]["intercept"]))
                                    for name in ("scope", "entry"))
                    return scope, entry
            except (OSError, ValueError, KeyError, TypeError):
                pass  # missing, stale or damaged: fit them again
        scope, entry = self._calibrate()
        if path is not None:
            saved = {"key": key} | {name: {"features": features, "weights": w.tolist(), "intercept": b}
                                    for name, features, (w, b) in (("scope", SCOPE, scope), ("entry", ENTRY, entry))}
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(saved), encoding="utf-8")
                tmp.replace(path)
            except OSError as exc:
                log.warning("warning: could not save the calibration to %s (%s); it is refitted next start", path, exc)
        return scope, entry

    def _calibrate(self) -> tuple[Fitted, Fitted]:
        """Fit P(in scope) on held-out KB questions and posts (positives) and out-of-scope examples (negatives),
        and P(the first entry is right | in scope) on the same questions and posts."""
        X, y, X_entry, y_entry = [], [], [], []
        for row, doc in enumerate(self.docs):
            if doc.kind in ("question", "post", "out-of-scope"):
                # no windows: embedding those of every long post would cost a start-up ~30 s on a busy machine
                scored = self.held_out(row, windows=False)
                combined = scored.features @ WEIGHTS
                X.append(self._scope_features(combined, scored))
                y.append(doc.kind != "out-of-scope")
                if doc.kind != "out-of-scope":
                    X_entry.append(self._entry_features(combined))
                    y_entry.append(self._shares_topic[int(np.argmax(combined)), self._doc_entry[row]])
        if len(set(y)) < 2:  # no out-of-scope examples: fall back to a plain cosine threshold of 0.45
            scope = np.array([20.0 if name == "closest" else 0.0 for name in SCOPE]), -9.0
        else:
            scope = fit.logistic(np.array(X), np.array(y), l2=0.1)
        if len(set(y_entry)) < 2:  # every first entry right (or none): nothing to learn, say what was seen
            return scope, (np.zeros(len(ENTRY)), 10.0 if all(y_entry) else -10.0)
        # not balanced: this probability must match how often the first entry is right
        return scope, fit.logistic(np.array(X_entry), np.array(y_entry), l2=0.1, balanced=False)

