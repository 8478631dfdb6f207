"""BM25 over the entries' texts, able to leave one text out: the fit and the calibration ask every KB question and
post with itself removed, and a held-out question must not find its own words in its entry's lexical document."""
from __future__ import annotations

from collections import Counter

import numpy as np

K1, B = 1.5, 0.75  # the usual BM25 constants (Lucene's defaults)


class BM25:
    """BM25 as Lucene (and bm25s) computes it, one document per entry, kept as a dense term-count matrix (entries x terms)."""

    def __init__(self, documents: list[list[str]]) -> None:
        self._vocab: dict[str, int] = {}
        for tokens in documents:
            for token in tokens:
                self._vocab.setdefault(token, len(self._vocab))
        self._counts = np.zeros((len(documents), max(len(self._vocab), 1)))
        for row, tokens in enumerate(documents):
            for token, n in Counter(tokens).items():
                self._counts[row, self._vocab[token]] = n
        self._df, self._norm = _stats(self._counts)  # what every question without `without` shares

    def scores(self, query: list[str], without: tuple[int, list[str]] | None = None) -> np.ndarray:
        """Each document's BM25 for the query tokens; `without` = (document, tokens) removes those tokens from that
        document first, as if the text they came from had never been in it."""
        counts, df, norm = self._counts, self._df, self._norm
        if without is not None:
            counts = counts.copy()
            row, tokens = without
            for token, n in Counter(tokens).items():
                if token in self._vocab:
                    column = self._vocab[token]
                    counts[row, column] = max(counts[row, column] - n, 0.0)
            df, norm = _stats(counts)
        terms = [self._vocab[t] for t in query if t in self._vocab]
        if not terms or not len(counts):
            return np.zeros(len(counts))
        tf = counts[:, terms]  # (documents, query terms): a repeated query word counts again, as in bm25s
        idf = np.log(1 + (len(counts) - df[terms] + 0.5) / (df[terms] + 0.5))
        return (tf / (tf + norm[:, None]) * idf).sum(axis=1)  # Lucene drops the constant (K1 + 1) factor


def _stats(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each term's document frequency and each document's length normalisation."""
    lengths = counts.sum(axis=1)
    mean = float(lengths.mean()) if len(lengths) else 0.0
    return (counts > 0).sum(axis=0), K1 * (1 - B + B * lengths / max(mean, 1e-9))
