"""What leaves for the course forum: the post, and the honour-code rule its code keeps.

The forum forbids working code for a graded exercise, so a post carries the explanation, the math and the
permalink (where the snippet is read and run in the sandbox), never the snippet; only short lines of an entry's
own "In code" section stay, and only when they keep the rule of `rule_breaks`.
"""
from __future__ import annotations

import re

from bot.datatypes import Answer
from bot.serve.render import normalize_math

# The specialization's graded exercise functions (compared case-insensitively, so "l_model_backward" counts), plus
# the C1W4 helpers relu_backward / sigmoid_backward. The one list: snippets must not define them either.
GRADED_FUNCTIONS = frozenset(name.lower() for name in (
    "initialize_parameters", "initialize_parameters_deep", "linear_forward", "linear_activation_forward",
    "L_model_forward", "compute_cost", "linear_backward", "linear_activation_backward", "L_model_backward",
    "update_parameters", "forward_propagation", "backward_propagation", "propagate", "optimize", "nn_model", "model",
    "relu_backward", "sigmoid_backward", "two_layer_model", "L_layer_model", "gradient_check", "gradient_check_n",
    "initialize_with_zeros", "layer_sizes", "initialize_parameters_zeros", "initialize_parameters_random",
    "initialize_parameters_he", "compute_cost_with_regularization", "backward_propagation_with_regularization",
    "forward_propagation_with_dropout", "backward_propagation_with_dropout", "update_parameters_with_gd",
    "random_mini_batches", "initialize_velocity", "update_parameters_with_momentum", "initialize_adam",
    "update_parameters_with_adam",
))
MAX_BLOCK_LINES = 8  # longer than this, a block stops being a line to discuss and becomes code to paste
FENCED = re.compile(r"^(```|~~~)[^\n]*\n(.*?)^\1[ \t]*$", re.DOTALL | re.MULTILINE)
_COMMENT = re.compile(r"#.*$", re.MULTILINE)
_DEF = re.compile(r"^\s*(?:async\s+)?(?:def|class)\b", re.MULTILINE)
_LOOP = re.compile(r"\b(?:for\s+[^\n]*?\bin\b|while\b)[^\n]*")
# The one loop a post may show: over the m examples (the C1W2 sum that 1/m averages); any other may be over layers.
_EXAMPLES_LOOP = re.compile(r"^for\s+\w+\s+in\s+range\(\s*m\s*\)\s*:?\s*$")
_NAME = re.compile(r"[A-Za-z_]\w*")


def forum_post(answer: Answer, permalink: str | None) -> str:
    """The Discourse Markdown reply for any answer: explanation and $-math, the permalink last, no snippet code."""
    if answer.kind == "greeting":
        return answer.message + "\n"
    if answer.entry is None:
        nearest = "\n".join(f"- [{s.title}]({s.url})" for s in answer.answers)
        return f"{answer.message}\n\nNearest entries:\n{nearest}\n"
    parts = []
    if answer.candidates:  # ambiguous: say so first, so a mentor (or the student) checks which one it is
        parts += ["This may be one of these:", ""]
        parts += [f"- [{c.title}]({c.url}): {normalize_math(c.summary)}" for c in answer.candidates]
        parts += ["", "The first one, in full:", ""]
    parts += [f"### {answer.entry.title}", "", keep_rule(normalize_math(answer.entry.body)).strip(), ""]
    extras = [text for text, present in (("the NumPy check to read and run in the sandbox", answer.snippet),
                                         ("the derivation step by step", answer.entry.derivation)) if present]
    parts.append("Full answer" + (", with " + " and ".join(extras) if extras else "") + f": {permalink}")
    return "\n".join(parts) + "\n"


def rule_breaks(markdown: str) -> list[str]:
    """One line per way the fenced code in `markdown` breaks the forum rule; empty when every block keeps it."""
    problems = []
    for number, match in enumerate(FENCED.finditer(markdown), 1):
        problems += [f"code block {number}: {p}" for p in block_breaks(match[2])]
    return problems


def block_breaks(code: str) -> list[str]:
    """What is wrong with one code block for the forum: too long, a def or class, a loop over layers, a graded name."""
    problems = []
    lines = code.rstrip("\n").split("\n")
    if len(lines) > MAX_BLOCK_LINES:
        problems.append(f"{len(lines)} lines, more than {MAX_BLOCK_LINES}")
    code = _COMMENT.sub("", code)  # a comment is prose: it may name a function without being one
    if _DEF.search(code):
        problems.append("defines a function or class (def/class)")
    loops = [m[0].strip() for m in _LOOP.finditer(code) if not _EXAMPLES_LOOP.match(m[0].strip())]
    if loops:
        problems.append(f"a loop that may be over layers ({loops[0]!r}); only `for i in range(m):` may stay")
    graded = sorted({n for n in _NAME.findall(code) if n.lower() in GRADED_FUNCTIONS})
    if graded:
        problems.append(f"names a graded function of the course ({', '.join(graded)})")
    return problems


def keep_rule(markdown: str) -> str:
    """The markdown with every fenced block that breaks the rule replaced by a pointer to the permalink."""
    return FENCED.sub(lambda m: m[0] if not block_breaks(m[2]) else "*(Code left out here: see the link below.)*",
                      markdown)
