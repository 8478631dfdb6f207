"""Two-turn conversations: does a follow-up resolve against the previous answer, and does a new topic stay new?

Each line of bench/conversations.jsonl is one conversation: a first question, then a second one that is either a
genuine follow-up ("and for tanh?") or a switch to another topic. The first question is asked alone; the second is
asked with the entry the first answer showed as its context, as the chat passes it. A follow-up is right when it
answers with the expected entry and, where one is given, the expected derivation (its name and every choice
listed). A switch is "not dragged" when it does not answer with the previous entry; it is right when it answers
with the expected entry (null: declined as out of scope).

    python bench/followups.py [--misses] [--file bench/conversations_holdout.jsonl]

conversations_holdout.jsonl was written after the thresholds in bot/context.py were chosen on conversations.jsonl,
and not used to choose them.

On code whose Bot.ask takes no context, every second question is asked as if it were the first.
"""
from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.answer import Bot
from bot.datatypes import Answer

CONVERSATIONS = Path(__file__).with_name("conversations.jsonl")


def derivation_matches(answer: Answer, expected: dict[str, str] | None) -> bool:
    if expected is None:
        return True
    got = answer.derivation or {}
    choice = got.get("choice", {})
    return got.get("name") == expected["name"] and all(choice.get(k) == v for k, v in expected.items()
                                                          if k != "name")


def second_turn(bot: Bot, first: Answer, question: str) -> Answer:
    if "context" not in inspect.signature(bot.ask).parameters or first.entry is None:
        return bot.ask(question)
    from bot.context import Context  # only on code that has it

    return bot.ask(question, context=Context(first.entry.id, first.question))


def describe(answer: Answer) -> str:
    if answer.entry is None:
        return f"({answer.kind})"
    choice = (answer.derivation or {}).get("choice", {})
    name = (answer.derivation or {}).get("name")
    return answer.entry.id + (f" [{name} {json.dumps(choice)}]" if name else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="print every conversation scored wrong")
    parser.add_argument("--file", type=Path, default=CONVERSATIONS, help="the conversations (JSONL)")
    args = parser.parse_args()
    conversations = [json.loads(line) for line in args.file.read_text(encoding="utf-8").splitlines() if line]
    bot = Bot()
    counts: dict[str, dict[str, int]] = {"follow_up": {}, "switch": {}}
    misses: list[str] = []
    for c in conversations:
        first = bot.ask(c["first"])
        second = second_turn(bot, first, c["second"])
        got = second.entry.id if second.entry else None
        tally = counts[c["kind"]]
        tally["n"] = tally.get("n", 0) + 1
        tally["first right"] = tally.get("first right", 0) + (first.entry is not None
                                                                and first.entry.id == c["first_entry"])
        right = got == c["entry"] and derivation_matches(second, c.get("derivation"))
        tally["right"] = tally.get("right", 0) + right
        if c["kind"] == "switch":
            dragged = first.entry is not None and got == first.entry.id
            tally["not dragged"] = tally.get("not dragged", 0) + (not dragged)
        if not right:
            misses.append(f"{c['id']} {c['kind']}: {c['first']!r} -> {describe(first)}; {c['second']!r} -> "
                          f"{describe(second)}; expected {c['entry']} {json.dumps(c.get('derivation') or {})}")
    for kind, tally in counts.items():
        n = tally["n"]
        figures = ", ".join(f"{key} {tally[key]}/{n} = {tally[key] / n:.3f}" for key in tally if key != "n")
        print(f"{kind}: {n} conversations; {figures}")
    if args.misses:
        print("\n".join(["", "misses:", *misses]) if misses else "\nno misses")
    bot.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
