"""The few errors a user can see; each shell (CLI, chat, API) translates them once."""
from __future__ import annotations


class BotError(Exception):
    """Base class: the message is written for the user and says what to do."""


class ConfigError(BotError):
    """A setting (environment variable or keyword) is invalid."""


class KBError(BotError):
    """The knowledge base does not validate; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"the knowledge base has {len(problems)} problem(s):\n" + "\n".join(problems))


class BadQuestion(BotError):
    """The question cannot be answered as typed (empty, too long, binary)."""


class EntryNotFound(BotError):
    """No entry has this id."""


class QuestionTooLong(BadQuestion):
    """The question is longer than the configured limit (HTTP 413; a BadQuestion everywhere else)."""


class ModelUnavailable(BotError):
    """The model process stopped or failed on a batch (HTTP 503); the next question starts a new one."""


class BatchFailed(ModelUnavailable):
    """The model process is alive but failed on a batch: one of its texts may be at fault, not the others."""


class StoreBusy(BotError):
    """The question log stayed locked by another writer past the retry patience (HTTP 503 with Retry-After)."""
