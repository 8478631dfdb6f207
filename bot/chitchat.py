"""Small talk and pasted code: what the bot says to "hi there! 👋" or "thanks!", and how it tells code from a question.

Retrieval answers any text with its nearest entry, so small talk never reaches it: a greeting, thanks or goodbye
with nothing else in it gets a short reply, and a question that is only code gets a note asking for a sentence.
"""
from __future__ import annotations

import ast
import re
import textwrap
import unicodedata

HELLO = "Hello! Ask me about backprop math, e.g. “why is there a 1/m in dW but not in dZ?”"
WELCOME = "You're welcome! Ask another backprop question whenever you like."
GOODBYE = "Goodbye, and good luck with the assignment!"
CODE_ONLY = ("Your question is only a formula or code; I matched it to the entry below. "
             "Add a sentence saying what you want to know for a better match.")

_GREET = r"(hi+|hello+|hey+|hiya|howdy|yo|greetings|good (morning|afternoon|evening|day)|hallo|hola)"
_WHO = r"(there|all|everyone|everybody|guys|folks|friend|bot|team|mentors?)"
_ASK = (r"(can|could|would) you (please )?help( me)?( please)?|i (have|got) a question|i need (some )?help|"
        r"(is )?any ?(one|body) (there|here)|are you there|how are you( doing| today)?|what can you do|who are you|"
        r"help( me)?( please)?|quick question")
_THANK = (r"(thanks?|thank you|thx|ty|cheers|many thanks|much appreciated)( (so|very) much| a lot| again| for "
          r"(the|your) (help|answer|explanation))?( (bot|mate|friend))?")
_PRAISE = r"(great|awesome|perfect|nice|cool|ok|okay|got it|that helped|that makes sense|understood|brilliant)"
_BYE = r"(bye|goodbye|see you|see ya|cya|good night)"
GREETING = re.compile(rf"^({_GREET}( {_WHO})?( {_ASK})?|{_ASK})$")
THANKS = re.compile(rf"^({_PRAISE} )*{_THANK}( {_PRAISE})*$|^{_PRAISE}$")
BYE = re.compile(rf"^({_THANK} )?{_BYE}( {_WHO})?$")
_COMMENT = re.compile(r"#\s*(.*)$", re.MULTILINE)
_WORD = re.compile(r"[A-Za-z]{2,}")
# a formula or an identifier: what is left when these are taken out of a question is its prose
_CODE = re.compile(r"\\[a-zA-Z]+|\w+\(|\.\w+|\b\w*[\d_]\w*\b|\b(?:np|True|False|None|keepdims|axis)\b")


def reply(question: str) -> str | None:
    """The reply to small talk (a greeting, thanks or a goodbye and nothing else), or None for anything else."""
    if len(question) > 200:  # small talk is short: a long post is not worth a pass over every character
        return None
    text = _plain(question)
    if not text or len(text) > 80:
        return None
    if BYE.match(text):
        return GOODBYE
    if THANKS.match(text):
        return WELCOME
    if GREETING.match(text):
        return HELLO
    return None


def code_only(question: str) -> bool:
    """True when the question has no sentence in it: a formula, or code that parses (comments aside)."""
    if not re.search(r"[A-Za-z]{3,}", _CODE.sub(" ", question)):
        return True
    try:
        tree = ast.parse(textwrap.dedent(question))
    except (SyntaxError, ValueError):  # prose, a traceback or code mixed with text
        return False
    if all(isinstance(node, ast.Expr) and isinstance(node.value, (ast.Name, ast.Constant)) for node in tree.body):
        return False  # "hello" and "dropout" parse as Python too
    return not any(len(_WORD.findall(comment)) >= 3 for comment in _COMMENT.findall(question))


def _plain(question: str) -> str:
    """Lower case words only: emoji, symbols and punctuation become spaces."""
    kept = "".join(" " if unicodedata.category(c)[0] in "SPZC" else c for c in question.casefold())
    return " ".join(kept.split())
