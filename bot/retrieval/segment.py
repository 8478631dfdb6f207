"""Split a long question into windows the embedding model reads whole.

The model reads at most 256 word pieces of a text and drops the rest, so the end of a long forum post (often where
the question is) would never be seen. Counting word pieces needs no tokenizer: a run of letters or digits or one
punctuation mark is about one piece in this domain's text (a number like 0.00301023 is three here and five to the
model, so windows stay well below the model's limit)."""
from __future__ import annotations

import re

WINDOW = 128  # estimated word pieces per window; chosen by bench/fit_ranking.py
_PIECE = re.compile(r"[A-Za-z]+|\d+|[^\sA-Za-z\d]")
_SENTENCE = re.compile(r"(?<=[.?!:])\s+|\n+")


def pieces(text: str) -> int:
    """An estimate of the number of word pieces the model sees in `text`."""
    return len(_PIECE.findall(text))


def segments(text: str, window: int = WINDOW) -> list[str]:
    """`text` itself when it fits one window, else consecutive windows of whole sentences (a sentence longer than a
    window is cut between words)."""
    if pieces(text) <= window:
        return [text]
    parts: list[str] = []
    for sentence in filter(str.strip, _SENTENCE.split(text)):
        parts.extend(_pack(sentence.split(), window) if pieces(sentence) > window else [sentence])
    return _pack(parts, window)


def _pack(items: list[str], window: int) -> list[str]:
    """Consecutive items joined by spaces into as few windows as fit `window` pieces each (an item too long for
    one window is a window of its own)."""
    windows: list[str] = []
    current: list[str] = []
    size = 0
    for item in items:
        n = pieces(item)
        if current and size + n > window:
            windows.append(" ".join(current))
            current, size = [], 0
        current.append(item)
        size += n
    if current:
        windows.append(" ".join(current))
    return windows
