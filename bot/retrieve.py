"""Hybrid retrieval: dense similarity to each entry's texts and to their centroid, plus BM25 on the entry's text.

The in-scope decision is calibrated on the KB itself: every question of every entry, held out in turn, is a
positive example and every out-of-scope example a negative one; a logistic fit turns scores into a probability.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import bm25s
import numpy as np

from bot.corpus import Doc
from bot.embed import Embedder
from bot.index import VectorIndex
from bot.kb import KnowledgeBase
from bot.notation import lexical_tokens, normalize

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG and chats on every index()
# Both chosen by leave-one-out on the KB's own questions (bench/loo.py), never on an evaluation set.
LEXICAL_WEIGHT = 0.3  # share of the (max-normalised) BM25 score in the ranking score
SECOND_WEIGHT = 0.3  # share of an entry's second-best matching text: two phrasings agreeing beat one fluke
CENTROID_WEIGHT = 0.7  # share of the cosine to the mean of the entry's texts (a prototype of what it answers)


@dataclass(frozen=True)
class Hit:
    entry_id: str
    score: float  # ranking score: dense + LEXICAL_WEIGHT * lexical
    dense: float  # cosine to the entry's best two texts (title, summary, questions) blended with that to their centroid
    lexical: float  # BM25 on the entry's text, divided by the best entry's BM25 (0..1)


@dataclass(frozen=True)
class Ranking:
    hits: list[Hit]  # every entry, best first
    out_of_scope: float  # best cosine to an out-of-scope example
    confidence: float  # calibrated probability that the KB answers the question


class Retriever:
    def __init__(self, kb: KnowledgeBase, docs: list[Doc], index: VectorIndex, embedder: Embedder) -> None:
        self.kb, self.docs, self.index, self.embedder = kb, docs, index, embedder
        self._ids = [e.id for e in kb.entries]
        position = {entry_id: i for i, entry_id in enumerate(self._ids)}
        self._doc_entry = np.array([position.get(d.entry_id, -1) for d in docs])  # -1: out-of-scope example
        rows = [np.flatnonzero(self._doc_entry == i) for i in range(len(self._ids))]
        self._sums = np.array([index.vectors[r].sum(axis=0) for r in rows])  # (n_entries, dim)
        # each entry's rows, padded with len(docs): the slot of a -inf appended to the similarities
        width = max(2, *(len(r) for r in rows))
        self._rows = np.array([np.pad(r, (0, width - len(r)), constant_values=len(docs)) for r in rows], dtype=np.int64)
        self._bm25 = bm25s.BM25()
        # title and summary count twice: they say what the entry answers; the body also mentions neighbours
        self._bm25.index([lexical_tokens(f"{e.title} {e.title} {e.summary} {e.summary} {e.body}") or ["_"]
                          for e in kb.entries], show_progress=False)
        self._calibration = self._calibrate()

    def rank(self, question: str) -> Ranking:
        query = self.embedder.encode([normalize(question)])
        scores, rows = self.index.search(query, len(self.index))
        sims = np.empty(len(self.index), np.float32)
        sims[rows[0]] = scores[0]
        hits, out_of_scope = self._score(query[0], sims, self._lexical(question))
        return Ranking(hits, out_of_scope, self._confidence(hits[0], out_of_scope))

    def _lexical(self, question: str) -> np.ndarray:
        tokens = lexical_tokens(question)
        raw = self._bm25.get_scores(tokens) if tokens else np.zeros(len(self._ids))
        top = float(np.max(raw)) if len(raw) else 0.0
        return np.asarray(raw / top if top > 0 else raw, dtype=np.float32)

    def _score(self, query: np.ndarray, sims: np.ndarray, lexical: np.ndarray,
               held_out: int | None = None) -> tuple[list[Hit], float]:
        """Every entry's hit, best first, and the best out-of-scope cosine; `held_out` leaves a text out of its
        entry's centroid (for calibration and leave-one-out)."""
        sums = self._sums
        if held_out is not None and self._doc_entry[held_out] >= 0:
            sums = sums.copy()
            sums[self._doc_entry[held_out]] -= self.index.vectors[held_out]
        centroid = (sums @ query) / np.linalg.norm(sums, axis=1)
        best = _best_two(np.append(sims, -np.inf)[self._rows])
        dense = ((1 - CENTROID_WEIGHT) * best + CENTROID_WEIGHT * centroid).astype(np.float32)
        oos = sims[self._doc_entry < 0]
        out_of_scope = float(oos.max()) if oos.size else 0.0
        combined = dense + LEXICAL_WEIGHT * lexical
        order = np.argsort(-combined, kind="stable")
        return [Hit(self._ids[i], float(combined[i]), float(dense[i]), float(lexical[i])) for i in order], out_of_scope

    def _features(self, best: Hit, out_of_scope: float) -> np.ndarray:
        return np.array([best.dense, best.dense - out_of_scope, best.lexical])

    def _confidence(self, best: Hit, out_of_scope: float) -> float:
        w, b = self._calibration
        return float(1.0 / (1.0 + np.exp(-(self._features(best, out_of_scope) @ w + b))))

    def _calibrate(self) -> tuple[np.ndarray, float]:
        """Fit P(in scope) on held-out KB questions (positives) and out-of-scope examples (negatives)."""
        vectors = self.index.vectors
        held_out = [i for i, d in enumerate(self.docs) if d.kind in ("question", "out-of-scope")]
        X, y = [], []
        for i in held_out:
            sims = vectors @ vectors[i]
            sims[i] = -1.0  # the question itself is not there when a student asks it
            hits, out_of_scope = self._score(vectors[i], sims, self._lexical(self.docs[i].text), held_out=i)
            X.append(self._features(hits[0], out_of_scope))
            y.append(self.docs[i].kind == "question")
        if len(set(y)) < 2:  # no out-of-scope examples: fall back to a plain cosine threshold of 0.45
            return np.array([20.0, 0.0, 0.0]), -9.0
        from sklearn.linear_model import LogisticRegression  # already imported by sentence-transformers

        model = LogisticRegression(class_weight="balanced", C=10.0).fit(np.array(X), np.array(y))
        return model.coef_[0], float(model.intercept_[0])


def _best_two(sims: np.ndarray) -> np.ndarray:
    """Per row (an entry's texts, -inf padded), the best similarity blended with the second best; an entry with a
    single text has its best, one with none -1."""
    top = -np.partition(-sims, 1, axis=1)[:, :2]
    first, second = top[:, 0], top[:, 1]
    blended = (1 - SECOND_WEIGHT) * first + SECOND_WEIGHT * second
    return np.where(np.isfinite(second), blended, np.where(np.isfinite(first), first, -1.0)).astype(np.float64)
