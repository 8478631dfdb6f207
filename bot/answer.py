"""The Bot: one object that holds the KB, the model and the index, and answers questions."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings, load_settings
from bot.corpus import documents, load_or_build
from bot.embed import Embedder, SentenceEmbedder
from bot.errors import BadQuestion, QuestionTooLong
from bot.kb import Entry, load_kb
from bot.retrieve import Retriever

# A question is in scope when its best entry is nearer than every out-of-scope example (kb/scope.yaml holds the
# near-misses) and the calibrated confidence is at least MIN_CONFIDENCE. On the KB itself, each text held out:
# the rule alone declines 2.6% of its questions and posts and 84% of the out-of-scope examples; with 0.3, 3.7%
# and 90%; with 0.5, 6.2% and 93%.
MIN_CONFIDENCE = 0.3
SURE = 0.8  # below this an in-scope answer is flagged as a possible mismatch, with alternatives
GREETING = re.compile(r"^\s*(hi+|hello+|hey+|hiya|howdy|yo|good (morning|afternoon|evening)|thanks?( you)?|"
                      r"thank you( so much)?|ty|cheers|bye|goodbye)[\s!.,:)]*$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufffd]")
_CODE = re.compile(r"\\[a-zA-Z]+|\w+\(|\.\w+|\b\w*[\d_]\w*\b|\b(?:np|True|False|None|keepdims|axis)\b")
_WORDS = re.compile(r"[A-Za-z]{3,}")


@dataclass(frozen=True)
class Suggestion:
    id: str
    title: str
    topics: list[str]
    score: float | None  # ranking score; None for a related-entry link
    url: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "topics": list(self.topics), "score": self.score, "url": self.url}


@dataclass(frozen=True)
class Answer:
    question: str
    kind: str  # "answer" | "out_of_scope" | "greeting"
    in_scope: bool
    confidence: float  # 0..1: calibrated probability that the KB answers the question
    answers: list[Suggestion]  # ranked nearest entries (suggestions when out of scope)
    message: str  # one-line text for the user: a caveat, the "not covered" reply or the greeting
    entry: Entry | None = None  # the best entry when in scope
    related: list[Suggestion] = field(default_factory=list)
    snippet: str | None = None  # the entry's runnable NumPy demonstration (code)
    derivation: dict[str, Any] | None = None  # the entry's SymPy derivation: {name, title, choice, steps}

    def to_dict(self) -> dict[str, Any]:
        """The `ask --json` object (by hand: dataclasses.asdict would deep-copy the whole entry on every answer)."""
        e = self.entry
        return {"question": self.question, "kind": self.kind, "in_scope": self.in_scope,
                "confidence": self.confidence, "answers": [s.to_dict() for s in self.answers],
                "message": self.message, "related": [s.to_dict() for s in self.related], "snippet": self.snippet,
                "derivation": self.derivation, "body": e.body if e else None,
                "answer": None if e is None else {"id": e.id, "title": e.title, "summary": e.summary,
                                                  "topics": list(e.topics), "weeks": list(e.weeks), "body": e.body,
                                                  "url": self.answers[0].url}}


class Bot:
    """Load once per process (~10 s for the model import), then call `ask` as often as you like."""

    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None,
                 progress: Callable[[int, int], None] | None = None, rebuild: bool = False) -> None:
        self.settings = settings or load_settings()
        self.kb = load_kb(self.settings.kb_dir)
        self.embedder = embedder or SentenceEmbedder(self.settings.model, self.settings.torch_threads)
        index = load_or_build(self.kb, self.embedder, self.settings.cache_dir, self.settings.index_backend,
                              progress, force=rebuild)
        self.retriever = Retriever(self.kb, documents(self.kb), index, self.embedder, self.settings.cache_dir)

    def warm(self) -> None:
        """Compute every entry's derivation now (SymPy takes up to ~1.5 s each the first time), not on a question."""
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
                          self.url(entry.id))

    def answer_for(self, entry_id: str) -> Answer:
        """The answer a permalink shows: that entry, as if it had been asked; EntryNotFound if no such id."""
        entry = self.kb.get(entry_id)
        return Answer(entry.title, "answer", True, 1.0, [self.suggestion(entry, 1.0)], "", entry,
                      [self.suggestion(self.kb.get(r)) for r in entry.related], entry.snippet_code,
                      self.derivation(entry))

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        """Answer one question; raise BadQuestion for input that cannot be a question."""
        question = check_question(question, self.settings.max_question_chars)
        top_k = max(3, top_k or self.settings.top_k)
        if GREETING.match(question):
            return Answer(question, "greeting", False, 1.0, [], "Hello! Ask me about backprop math, e.g. "
                          "“why is there a 1/m in dW but not in dZ?”")
        ranking = self.retriever.rank(question)
        answers = [self.suggestion(self.kb.get(h.entry_id), h.score) for h in ranking.hits[:top_k]]
        confidence = round(ranking.confidence, 4)
        if confidence < MIN_CONFIDENCE or ranking.margin <= 0:
            return Answer(question, "out_of_scope", False, confidence, answers,
                          "This knowledge base does not cover that. It answers backprop-math questions from "
                          f"the Deep Learning Specialization: {self.kb.covers or 'see the list of entries'}.")
        best = self.kb.get(ranking.hits[0].entry_id)
        related = [self.suggestion(self.kb.get(r)) for r in best.related]
        message = "" if confidence >= SURE else "I am not sure this is what you asked; see also the other matches."
        if not _WORDS.search(_CODE.sub(" ", question)):
            message = ("Your question is only a formula or code; I matched it to the entry below. "
                       "Add a sentence saying what you want to know for a better match.")
        return Answer(question, "answer", True, confidence, answers, message, best, related, best.snippet_code,
                      self.derivation(best, question))

    def similar(self, text: str, k: int = 5) -> list[Suggestion]:
        """The k entries nearest to `text`, best first: retrieval only (no scope decision, no derivation)."""
        text = check_question(text, self.settings.max_question_chars)
        return [self.suggestion(self.kb.get(h.entry_id), h.score) for h in self.retriever.rank(text).hits[:k]]

    def derivation(self, entry: Entry, question: str = "") -> dict[str, Any] | None:
        """The entry's derivation, for the activation, loss or layer the question names when it supports them.

        The result's `detected` field says which of those choices came from the question.
        """
        if entry.derivation is None:
            return None
        from bot.derive import derive, detect_choices  # SymPy: paid on the first derivation, then cached

        detected = detect_choices(question)
        try:
            result = derive(entry.derivation, **detected).to_dict()  # type: ignore[arg-type]
        except ValueError:  # no variant for that choice (e.g. softmax in the sigmoid derivation): the default one
            result, detected = derive(entry.derivation).to_dict(), {}
        used = {k: v for k, v in detected.items() if result["choice"].get(k) == str(v)}
        return result | {"detected": used}


def check_question(question: str, max_chars: int) -> str:
    """The question with its white space trimmed, or BadQuestion saying what is wrong and what to do."""
    if not isinstance(question, str):
        raise BadQuestion(f"the question must be text, got {type(question).__name__}")
    question = question.strip()
    if not question:
        raise BadQuestion("the question is empty; type a question, e.g. “why is there no 1/m in dZ[L]?”")
    if len(question) > max_chars:
        raise QuestionTooLong(f"the question is {len(question):,} characters long; the limit is {max_chars:,}. "
                              "Paste only the formula or the lines of code you are asking about")
    junk = len(_CONTROL.findall(question))
    if junk > max(2, len(question) // 50):
        raise BadQuestion(f"the question contains {junk} control or undecodable characters (binary data?); "
                          "type or paste plain text")
    return question
