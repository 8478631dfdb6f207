"""Turn answers into text for people: math delimiters Streamlit can render, derivations, mentor links."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from bot.datatypes import Answer

FENCE = re.compile(r"(```.*?```|`[^`\n]*`)", re.DOTALL)  # code is left exactly as written
_DISPLAY = re.compile(r"\\\[(.+?)\\\]", re.DOTALL)
_INLINE = re.compile(r"\\\((.+?)\\\)", re.DOTALL)
# pandoc's rule for inline math: no space just inside the dollars, no digit just after the closing one ("$5 and $10")
MATH = re.compile(r"((?<!\\)\$\$.+?(?<!\\)\$\$|(?<!\\)\$(?=\S)[^$\n]+?(?<=\S)(?<!\\)\$(?!\d))", re.DOTALL)
_STRAY = re.compile(r"(?<!\\)\$")
# every character Streamlit's Markdown gives a meaning to (CommonMark's, $ for math, : for :emoji: and :red[...])
_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def normalize_math(markdown: str) -> str:
    """Use only $...$ and $$...$$ (all Streamlit renders): rewrite \\(...\\) and \\[...\\], escape stray dollars."""
    parts = FENCE.split(markdown)
    for i in range(0, len(parts), 2):  # even parts are prose, odd parts code
        text = _DISPLAY.sub(lambda m: f"\n$$\n{m[1].strip()}\n$$\n", parts[i])
        text = _INLINE.sub(lambda m: f"${m[1].strip()}$", text)
        pieces = MATH.split(text)
        for j in range(0, len(pieces), 2):  # outside math: a lone $ would open a formula that never closes
            pieces[j] = _STRAY.sub(r"\\$", pieces[j])
        parts[i] = "".join(pieces)
    return "".join(parts)


def escape_markdown(text: str) -> str:
    """Text that Markdown shows as itself: no emphasis, links, math, rules or emoji codes made from it."""
    return _MARKUP.sub(r"\\\1", text)


def message_blocks(text: str) -> list[tuple[str, str]]:
    """A message as typed, in ("text", markdown) and ("pre", raw) blocks: a one-line paragraph is escaped prose,
    anything that spans lines (code, a traceback, a table) stays preformatted with its breaks and indentation."""
    blocks: list[tuple[str, str]] = []
    for paragraph in re.split(r"\n[ \t]*\n", text.strip("\n")):
        if not paragraph.strip():
            continue
        if "\n" in paragraph or paragraph.startswith(("    ", "\t")):
            blocks.append(("pre", paragraph.rstrip()))
        else:
            blocks.append(("text", escape_markdown(paragraph.strip())))
    return blocks


def derivation_markdown(derivation: dict[str, Any]) -> str:
    """Numbered steps, each a sentence and a display formula."""
    lines = [f"**{derivation['title']}**", ""]
    for number, step in enumerate(derivation["steps"], 1):
        lines += [f"{number}. {step['text']}", "", "$$", step["latex"], "$$", ""]
    return "\n".join(lines).rstrip() + "\n"


def ask_a_mentor_url(forum_url: str, question: str, answer: Answer | None) -> str:
    """A Discourse new-topic link pre-filled with the question and the nearest entries."""
    body = f"{question}\n\n"
    if answer is not None and answer.answers:
        body += "The backprop Q&A bot suggested:\n" + "\n".join(f"- [{s.title}]({s.url})" for s in answer.answers)
    title = question if len(question) <= 120 else question[:117] + "..."
    return f"{forum_url.rstrip('/')}/new-topic?{urlencode({'title': title, 'body': body}, quote_via=quote)}"
