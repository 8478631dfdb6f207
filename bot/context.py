"""Follow-up questions read against the previous turn: "and for ReLU?", "what about db?", "why the transpose there?".

A question is read in context only when it looks like a follow-up (it opens with "and", "what about", "same for"
... or points back with "there", "instead", "as well") and is short. Then, in order:
1. nothing is left but a choice (an activation, a loss, a layer, the output or a hidden layer): the previous
   entry's derivation for that choice, or, when its derivation has no such variant or is about the other layer,
   the neighbouring entry (related either way) whose derivation has it;
2. the question read alone is confidently answered, or is out of scope: that answer (a new topic stays new);
3. it names only a gradient (dW, db, dZ, dA): the previous entry if its title has it, else the neighbour that does;
4. otherwise the previous entry or one of its related entries, by the question's own ranking, nudged by its
   ranking when read after the previous entry's title.
No SymPy here: which choices a derivation has is read from bot/proofs/derive.py's tables.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.datatypes import Entry, KnowledgeBase
from bot.errors import BadQuestion, EntryNotFound
from bot.proofs.derive import _ACTIVATION_WORDS, _LOSS_WORDS, OPTIONS, OUTPUT_PAIRS, detect_choices
from bot.retrieval.notation import normalize
from bot.retrieval.retrieve import Ranking

# Longer than this, a question carries its own topic: it is read alone even after an "and".
MAX_WORDS = 12
# Step 2: the question read alone is answered when its first entry is at least this likely (on the two-turn
# benchmark, bench/followups.py, the follow-ups that retrieval alone gets wrong are all below 0.8; the topic switches
# that open like a follow-up are all above 0.95).
CONFIDENT = 0.8
# Step 4: how much the ranking after the previous entry's title adds to the question's own (small: it only breaks
# near ties toward the conversation; the question's words decide).
IN_CONTEXT = 0.1
_OPENER = re.compile(r"^\W*(?:and|but|so|ok(?:ay)?|then|now|also|same|what about|how about|what if|for|with|"
                     r"in that case|instead)\b", re.IGNORECASE)
_POINTER = re.compile(r"\b(?:instead|same|as well|there|too)\b", re.IGNORECASE)
# Words that carry no topic of their own in a follow-up ("and what if the hidden layer is ... instead?").
_FILLER = frozenset("""a an the and but so ok okay then now also same what about how if for with in of on to is it
    its be do does did i my me we you this that there these those instead as well too again one thing case why where
    hidden output layer layers unit units single activation activations function loss cost derivation derive
    instead please just here use using used""".split())
_CHOICE_WORDS = [pattern for _, pattern in _ACTIVATION_WORDS + _LOSS_WORDS] + [r"\blayer\s*\[?\s*\d+\]?",
                                                                                 r"\b\d+(?:st|nd|rd|th)\b"]
_POSITION = re.compile(r"\bhidden\b|\boutput\b", re.IGNORECASE)
_POSITIONS = {"dz-output": "output", "softmax-ce": "output", "activation": "hidden"}
_GRADIENT = re.compile(r"^d?(?:w|b|z|a|a_prev|al)$")
_TOKEN = re.compile(r"[a-z_]+(?:\[[^\]]*\])?|\d+/m|1/m", re.IGNORECASE)


@dataclass(frozen=True)
class Context:
    """What a client knows of the previous turn: the entry it answered with and, if it has it, that question."""

    previous_entry_id: str
    previous_question: str = ""


@dataclass(frozen=True)
class Resolution:
    """The entry a follow-up resolves to, the derivation choices to use for it and which step decided."""

    entry_id: str | None  # None: answer the question as if read alone
    choices: dict[str, str]
    rule: str  # "choice", "alone", "gradient", "neighbour" or "not a follow-up"


def previous_entry(kb: KnowledgeBase, context: Context) -> Entry:
    """The context's entry, or EntryNotFound (HTTP 404, as for feedback on an unknown entry) naming the field."""
    if not isinstance(context.previous_question, str):
        raise BadQuestion("context.previous_question must be text (the previous question), or left out")
    ids = {e.id for e in kb.entries}
    if not isinstance(context.previous_entry_id, str) or context.previous_entry_id not in ids:
        raise EntryNotFound(f"context.previous_entry_id {context.previous_entry_id!r} is not an entry id; pass the "
                          "answer.id of the previous answer (python -m bot list, or GET /v1/entries, lists them)")
    return kb.get(context.previous_entry_id)


def looks_like_follow_up(question: str) -> bool:
    """Short, and opens like a follow-up or points back at the previous answer."""
    return len(question.split()) <= MAX_WORDS and bool(_OPENER.search(question) or _POINTER.search(question))


def content_words(question: str) -> list[str]:
    """The words that carry a topic: what is left once fillers and activation, loss and layer names are gone."""
    text = normalize(question)
    for pattern in _CHOICE_WORDS:
        text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
    words = [re.sub(r"\[[^\]]*\]|'s$", "", w).lower() for w in _TOKEN.findall(text)]
    return [w for w in words if w and w not in _FILLER]


def accepts(derivation: str | None, choices: dict[str, str]) -> bool:
    """Whether the derivation has a variant for the activation and loss chosen (every one takes a layer)."""
    activation, loss = choices.get("activation"), choices.get("loss")
    if derivation == "dz-output":
        if activation == "softmax" or loss == "cce":
            return False
        loss = loss or ("bce" if activation in (None, "sigmoid") else "mse")
        return (activation or "sigmoid", loss) in OUTPUT_PAIRS
    if derivation == "softmax-ce":
        return activation in (None, "softmax") and loss in (None, "cce")
    if derivation in OPTIONS:
        return activation is None or activation in OPTIONS[derivation]["activation"]
    return True  # no derivation, or one that does not depend on the activation or the loss


def _symbols(title: str) -> set[str]:
    """The gradients and variables a title names, without layer superscripts: {"dw", "dz", "a"}."""
    return {w.lower() for w in re.findall(r"\b(?:d[A-Za-z]|[WZA]|b)(?=[\[\s,.^)_]|$)", normalize(title))}


def _names(title: str, gradients: list[str]) -> bool:
    """Whether a title names one of these gradients; a title of plain variables ("Shapes of W, b, Z, A and their
    gradients") names theirs too, but one about dW does not name dA because it has A[l-1] in it."""
    symbols = _symbols(title)
    if any(s.startswith("d") for s in symbols):
        return bool(symbols & set(gradients))
    return bool(symbols & ({g.removeprefix("d") for g in gradients} | set(gradients)))


def position(question: str) -> str | None:
    """"output" or "hidden" when the question names the layer it is about, else None."""
    match = _POSITION.search(question)
    return None if match is None else "hidden" if match[0].lower().startswith("hidden") else "output"


def fits(derivation: str | None, choices: dict[str, str], where: str | None) -> bool:
    """Whether the derivation has the choices and is about that layer (dz-output and softmax-ce are the output
    layer's dZ, activation the hidden layers' g'(Z)); one about neither layer fits any."""
    if not accepts(derivation, choices):
        return False
    if where is None or derivation not in _POSITIONS:
        return True
    return _POSITIONS[derivation] == where


def resolve(question: str, previous: Entry, kb: KnowledgeBase, alone: Ranking, in_context: Ranking,
            alone_answered: bool, previous_question: str = "") -> Resolution:
    """Which entry the follow-up `question` asks about, given the previous entry and the question's rankings read
    alone and after the previous entry's title; `alone_answered` is whether the question alone is in scope."""
    new = detect_choices(question)
    if not looks_like_follow_up(question):
        return Resolution(None, new, "not a follow-up")
    words = content_words(question)
    # the entry's related entries, and those that link to it (dz-output lists dz-hidden; not the other way round)
    linked = [kb.get(r) for r in previous.related] + [e for e in kb.entries
                                                      if previous.id in e.related and e.id not in previous.related]
    neighbours = [previous] + linked
    if not words:  # step 1: only a choice changed ("and for ReLU?", "and for layer 3?") or nothing ("and why?")
        inherited = detect_choices(previous_question) | new
        where = position(question)
        if fits(previous.derivation, new, where):
            return Resolution(previous.id, inherited if accepts(previous.derivation, inherited) else new, "choice")
        scores = {h.entry_id: h.score for h in in_context.hits}
        fitting = [e for e in linked if e.derivation is not None and fits(e.derivation, new, where)]
        if fitting:
            return Resolution(max(fitting, key=lambda e: scores[e.id]).id, new, "choice")
        return Resolution(previous.id, new, "choice")
    if not alone_answered or alone.entry_confidence >= CONFIDENT:  # step 2: a new topic, or one retrieval knows
        return Resolution(None, new, "alone")
    alone_scores = {h.entry_id: h.score for h in alone.hits}
    if all(_GRADIENT.match(w) for w in words):  # step 3: "what about db?", "and dW?"
        if _names(previous.title, words):
            return Resolution(previous.id, new, "gradient")
        having = [e for e in neighbours[1:] if _names(e.title, words)]
        if having:
            return Resolution(max(having, key=lambda e: alone_scores[e.id]).id, new, "gradient")
    context_scores = {h.entry_id: h.score for h in in_context.hits}
    best = max(neighbours, key=lambda e: alone_scores[e.id] + IN_CONTEXT * context_scores[e.id])
    return Resolution(best.id, new, "neighbour")
