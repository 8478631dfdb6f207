"""The Bot: one object that holds the KB, the model and the index, and answers questions."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot import chitchat
from bot.config import Settings, load_settings, writable_cache
from bot.context import Context, previous_entry, resolve
from bot.datatypes import Answer, Entry, Suggestion
from bot.errors import BadQuestion, QuestionTooLong
from bot.proofs.derivation_cache import DerivationCache
from bot.retrieval.corpus import documents, load_or_build
from bot.retrieval.embed import Embedder, load_embedder
from bot.retrieval.kb import load_kb
from bot.retrieval.retrieve import Ranking, Retriever

# A question is in scope when its best entry is nearer than every out-of-scope example (kb/scope.yaml holds the
# near-misses) and the calibrated confidence is at least MIN_CONFIDENCE. On the KB itself, each text held out:
# the rule alone declines 1.8% of its questions and posts and 87% of the out-of-scope examples; with 0.3, 2.8%
# and 90%; with 0.5, 5.6% and 93%.
MIN_CONFIDENCE = 0.3
# An answer is ambiguous, and shows its CANDIDATES side by side, when its first entry is more likely wrong than
# right. On the KB's own questions and posts, held out (bench/ambiguity.py), 0.5 flags 10% of them; unflagged first
# entries are right 0.82 of the time and flagged ones have a right candidate 0.85 of the time (0.6: 24%, 0.86).
AMBIGUOUS = 0.5
CANDIDATES = 3
# Control characters carry no meaning in a question (a stray one comes from a terminal or a PDF): they are removed.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# A question needs one character that is neither white space nor a control character. Spelt out, not \s, so that
# Python and the API schema's ECMAScript regex (VISIBLE.pattern is its `pattern`) agree on every character.
VISIBLE = re.compile("[^\t\n\v\f\r \x00-\x08\x0e-\x1f\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
                     "\u205f\u3000\ufeff]")


class Bot:
    """Load once per process (~1 s on ONNX, ~10 s on torch), then call `ask` as often as you like."""

    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None,
                 progress: Callable[[int, int], None] | None = None, rebuild: bool = False) -> None:
        self.settings = settings or load_settings()
        self.kb = load_kb(self.settings.kb_dir)
        self.cache = cache = writable_cache(self.settings.cache_dir)  # the configured folder, or one we can write
        self.embedder = embedder or load_embedder(self.settings.model, self.settings.embed_backend, cache,
                                                  self.settings.threads)
        index = load_or_build(self.kb, self.embedder, cache, self.settings.index_backend, progress, force=rebuild)
        self.retriever = Retriever(self.kb, documents(self.kb), index, self.embedder, cache)
        self.derivations = DerivationCache(cache / "derivations.json")

    def warm(self) -> None:
        """Have every entry's derivation ready now (read from disk, or SymPy's ~1.5 s each the first time)."""
        for entry in self.kb.entries:
            self.derivation(entry)

    def close(self) -> None:
        """Stop the embedder's model processes, if it has any."""
        close = getattr(self.embedder, "close", None)
        if close is not None:
            close()

    def url(self, entry_id: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}/?entry={entry_id}"

    def permalink(self, entry_id: str) -> str:
        """The link to share: the API's preview page (it unfurls into a card) when api_base_url is set, else url()."""
        base = self.settings.api_base_url.rstrip("/")
        return f"{base}/e/{entry_id}" if base else self.url(entry_id)

    def suggestion(self, entry: Entry, score: float | None = None) -> Suggestion:
        return Suggestion(entry.id, entry.title, list(entry.topics), None if score is None else round(score, 4),
                          self.url(entry.id), entry.summary)

    def answer_for(self, entry_id: str) -> Answer:
        """The answer a permalink shows: that entry, as if it had been asked; EntryNotFound if no such id."""
        entry = self.kb.get(entry_id)
        return Answer(entry.title, "answer", True, 1.0, [self.suggestion(entry, 1.0)], "", entry,
                      [self.suggestion(self.kb.get(r)) for r in entry.related], entry.snippet_code,
                      self.derivation(entry), entry_confidence=1.0)

    def ask(self, question: str, top_k: int | None = None, derive: bool = True,
            context: Context | None = None) -> Answer:
        """Answer one question; raise BadQuestion for input that cannot be a question. Without `derive` the answer
        has no derivation (SymPy takes ~1.5 s the first time; a caller that shows only its name need not pay it).
        With `context` (the previous turn), a follow-up such as "and for ReLU?" is read against that turn."""
        question = check_question(question, self.settings.max_question_chars)
        previous = None if context is None else previous_entry(self.kb, context)
        top_k = max(3, top_k or self.settings.top_k)
        if (small_talk := chitchat.reply(question)) is not None:
            return Answer(question, "greeting", False, 1.0, [], small_talk)
        ranking = self.retriever.rank(question)
        if previous is not None and context is not None:
            followed = self._follow_up(question, previous, context, ranking, top_k, derive)
            if followed is not None:
                return followed
        answers = [self.suggestion(self.kb.get(h.entry_id), h.score) for h in ranking.hits[:top_k]]
        confidence, entry_confidence = round(ranking.confidence, 4), round(ranking.entry_confidence, 4)
        if confidence < MIN_CONFIDENCE or ranking.margin <= 0:
            return Answer(question, "out_of_scope", False, confidence, answers,
                          "This knowledge base does not cover that. It answers backprop-math questions from "
                          f"the Deep Learning Specialization: {self.kb.covers or 'see the list of entries'}.",
                          entry_confidence=entry_confidence)
        best = self.kb.get(ranking.hits[0].entry_id)
        related = [self.suggestion(self.kb.get(r)) for r in best.related]
        ambiguous = entry_confidence < AMBIGUOUS
        candidates = answers[:CANDIDATES] if ambiguous else []
        message = ""
        if chitchat.code_only(question):
            message = chitchat.CODE_ONLY
        elif ambiguous:
            message = "This may be one of these: " + ", ".join(f"“{c.title}”" for c in candidates) + "."
        return Answer(question, "answer", True, confidence, answers, message, best, related, best.snippet_code,
                      self.derivation(best, question) if derive else None, entry_confidence, ambiguous, candidates)

    def _follow_up(self, question: str, previous: Entry, context: Context, alone: Ranking, top_k: int,
                   derive: bool) -> Answer | None:
        """The answer to `question` read as a follow-up to `previous`, or None to answer it as if read alone."""
        alone_answered = alone.confidence >= MIN_CONFIDENCE and alone.margin > 0
        in_context = self.retriever.rank(f"{previous.title} {question}")
        found = resolve(question, previous, self.kb, alone, in_context, alone_answered, context.previous_question)
        if found.entry_id is None:
            return None
        best = self.kb.get(found.entry_id)
        scores = {h.entry_id: h.score for h in in_context.hits}
        order = [best.id] + [h.entry_id for h in in_context.hits if h.entry_id != best.id]
        answers = [self.suggestion(self.kb.get(i), scores[i]) for i in order[:top_k]]
        # the question read after the previous entry's title is what was answered: its probabilities, not alone's
        right = in_context.hits[0].entry_id == best.id
        entry_confidence = round(in_context.entry_confidence if right else min(in_context.entry_confidence,
                                                                                   AMBIGUOUS), 4)
        return Answer(question, "answer", True, round(in_context.confidence, 4), answers, "", best,
                      [self.suggestion(self.kb.get(r)) for r in best.related], best.snippet_code,
                      self.derivation(best, choices=found.choices) if derive else None, entry_confidence,
                      follow_up_of=previous.id)

    def similar(self, text: str, k: int = 5) -> list[Suggestion]:
        """The k entries nearest to `text`, best first: retrieval only (no scope decision, no derivation)."""
        text = check_question(text, self.settings.max_question_chars)
        return [self.suggestion(self.kb.get(h.entry_id), h.score) for h in self.retriever.rank(text).hits[:k]]

    def derivation(self, entry: Entry, question: str = "",
                   choices: dict[str, str] | None = None) -> dict[str, Any] | None:
        """The entry's derivation, for the activation, loss or layer the question names (or `choices`, when given)
        when it supports them. The result's `detected` field says which of those choices were used.
        """
        if entry.derivation is None:
            return None
        from bot.proofs.derive import detect_choices  # no SymPy: that is only imported to compute a derivation

        detected = detect_choices(question) if choices is None else choices
        # detect_choices gives the layer as text; derive() takes it as a number (as text it raised ValueError,
        # and every question naming a layer got the default derivation)
        wanted: dict[str, Any] = {k: int(v) if k == "layer" else v for k, v in detected.items()}
        try:
            result = self.derivations.get(entry.derivation, wanted)
        except ValueError:  # no variant for that choice (e.g. softmax in the sigmoid derivation): the default one
            result, detected = self.derivations.get(entry.derivation, {}), {}
        used = {k: v for k, v in detected.items() if result["choice"].get(k) == str(v)}
        return result | {"detected": used}


def surrogate_at(text: str) -> int | None:
    """The index of the first lone surrogate (it cannot be encoded as UTF-8, stored or embedded), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def check_question(question: str, max_chars: int) -> str:
    """The question with its white space trimmed, or BadQuestion saying what is wrong and what to do."""
    if not isinstance(question, str):
        raise BadQuestion(f"the question must be text, got {type(question).__name__}")
    if (where := surrogate_at(question)) is not None:
        raise BadQuestion(f"character {where + 1} of the question is not text (a lone surrogate: a byte that is "
                          "not UTF-8, or half of a broken emoji); remove it and ask again")
    if not VISIBLE.search(question):
        only = " (it has only control characters)" if _CONTROL.search(question) else ""
        raise BadQuestion(f"the question is empty{only}; type a question, e.g. “why is there no 1/m in dZ[L]?”")
    question = _CONTROL.sub("", question).strip()
    if len(question) > max_chars:
        raise QuestionTooLong(f"the question is {len(question):,} characters long; the limit is {max_chars:,}. "
                              "Paste only the formula or the lines of code you are asking about")
    return question
