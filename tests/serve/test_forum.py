"""Forum posts: the explanation, the math and the permalink; no snippet, and code only within the honour-code rule."""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.answer import Bot
from bot.config import ROOT
from bot.datatypes import Answer, Entry, Suggestion
from bot.retrieval.kb import load_kb
from bot.serve.forum import FENCED, MAX_BLOCK_LINES, block_breaks, forum_post, rule_breaks

KB = load_kb(ROOT / "kb")
LINK = "https://bot.example/e/"


def as_answer(entry: Entry, ambiguous: bool = False) -> Answer:
    """The answer the chat or the API gives for that entry (with its candidates when it is not sure)."""
    me = Suggestion(entry.id, entry.title, list(entry.topics), 1.0, LINK + entry.id, entry.summary)
    return Answer(entry.title, "answer", True, 1.0, [me], "", entry, snippet=entry.snippet_code,
                  ambiguous=ambiguous, candidates=[me] if ambiguous else [])


def blocks(markdown: str) -> list[str]:
    return [m[0] for m in FENCED.finditer(markdown)]


@pytest.mark.parametrize("entry", KB.entries, ids=[e.id for e in KB.entries])
@pytest.mark.parametrize("ambiguous", [False, True], ids=["sure", "ambiguous"])
def test_every_entrys_forum_post_keeps_the_rule_and_shows_only_its_own_in_code_lines(entry: Entry,
                                                                                   ambiguous: bool) -> None:
    post = forum_post(as_answer(entry, ambiguous), LINK + entry.id)
    assert rule_breaks(post) == []
    # the In code lines, every one, and nothing from the snippet (else: what to change in the entry)
    assert blocks(post) == blocks(entry.body), rule_breaks(entry.body)
    assert post.rstrip().endswith(LINK + entry.id)


def test_the_forum_post_leaves_the_snippet_for_the_permalink(fake_bot: Bot) -> None:
    answer = dataclasses.replace(fake_bot.answer_for("one-over-m"), snippet="import numpy as np\nprint(1)\n")
    post = forum_post(answer, LINK + "one-over-m")
    assert post.startswith("### Why 1/m is in dW but not in dZ")
    assert r"$dW^{[l]} = \frac{1}{m} dZ^{[l]} A^{[l-1]T}$" in post
    assert "print(1)" not in post
    assert post.rstrip().endswith(f"the NumPy check to read and run in the sandbox: {LINK}one-over-m")


def test_a_block_that_breaks_the_rule_is_left_for_the_link(fake_bot: Bot) -> None:
    answer = fake_bot.answer_for("one-over-m")
    body = answer.entry.body + "\n\n```python\ndef L_model_backward(AL, Y, caches):\n    pass\n```\n"  # type: ignore
    post = forum_post(dataclasses.replace(answer, entry=dataclasses.replace(answer.entry, body=body)), LINK)
    assert "L_model_backward" not in post and "*(Code left out here: see the link below.)*" in post


def test_the_forum_post_of_an_out_of_scope_answer_lists_the_nearest(fake_bot: Bot) -> None:
    post = forum_post(fake_bot.ask("tell me a joke please"), None)
    assert post.startswith("This knowledge base does not cover that.") and "Nearest entries:\n- [" in post


def test_the_forum_post_of_small_talk_is_the_reply(fake_bot: Bot) -> None:
    answer = fake_bot.ask("thanks!")
    assert forum_post(answer, None) == answer.message + "\n"


@pytest.mark.parametrize("code, problem", [
    ("def grads(dZ):\n    return dZ\n", "def/class"),
    ("class Layer:\n    pass\n", "def/class"),
    ("for l in reversed(range(L)):\n    dA = W.T @ dZ\n", "loop that may be over layers"),
    ("grads = {f'dW{l}': 0 for l in range(1, L + 1)}\n", "loop that may be over layers"),
    ("while l > 0:\n    l -= 1\n", "loop that may be over layers"),
    ("grads = L_model_backward(AL, Y, caches)\n", "graded function of the course (L_model_backward)"),
    ("dA_prev, dW, db = Linear_Backward(dZ, cache)\n", "graded function of the course (Linear_Backward)"),
    ("dZ = relu_backward(dA, cache)\n", "graded function of the course (relu_backward)"),
])
def test_a_block_breaks_the_rule(code: str, problem: str) -> None:
    assert any(problem in p for p in block_breaks(code)), block_breaks(code)


@pytest.mark.parametrize("code", [
    "dW = np.zeros_like(W)\nfor i in range(m):\n    dW += np.outer(dZ[:, i], A_prev[:, i])\ndW /= m\n",
    "dW = (1/m) * np.dot(dZ, A_prev.T)   # what linear_backward returns as dW\n",
    "db = (1/m) * np.sum(dZ, axis=1, keepdims=True)\n",
])
def test_a_block_keeps_the_rule(code: str) -> None:
    assert block_breaks(code) == []


@given(st.integers(min_value=1, max_value=3 * MAX_BLOCK_LINES))
def test_only_blocks_longer_than_the_limit_are_too_long(lines: int) -> None:
    code = "".join(f"x{i} = {i}\n" for i in range(lines))
    assert bool(block_breaks(code)) == (lines > MAX_BLOCK_LINES)


# --- the "In code" lines that replaced the course helpers, checked against finite differences ------------------

def in_code(entry_id: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run that entry's In code block on seeded arrays: (the arrays it was given, the arrays it computed)."""
    section = re.search(r"^## In code\n(.*?)(?=^## )", KB.get(entry_id).body, re.DOTALL | re.MULTILINE)
    code = FENCED.search(section[1]) if section else None
    assert code, f"{entry_id}: no fenced block under '## In code'"
    rng = np.random.default_rng(0)
    given = {n: rng.standard_normal((3, 4)) for n in ("Z", "Z1", "Z2", "dA", "dA1", "dA2")}
    given |= {"W": rng.standard_normal((3, 5)), "Y": (rng.random((1, 4)) > 0.5) * 1.0, "AL": rng.random((1, 4))}
    names = dict(given)
    exec(code[2], {"np": np}, names)  # noqa: S102 - three lines of our own KB, no input from outside
    return given, {k: v for k, v in names.items() if k not in given}


def slope(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Element-wise central difference of an element-wise function."""
    return (f(x + h) - f(x - h)) / (2 * h)


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(0, z)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def test_derivative_from_a_or_z_in_code_is_dA_times_g_prime_of_z() -> None:
    g, out = in_code("derivative-from-a-or-z")
    assert np.allclose(out["dZ1"], g["dA1"] * slope(relu, g["Z1"]), atol=1e-8)
    assert np.allclose(out["dZ2"], g["dA2"] * slope(sigmoid, g["Z2"]), atol=1e-8)


def test_backprop_structure_in_code_is_dAL_the_relu_step_and_dA_prev() -> None:
    g, out = in_code("backprop-structure")
    Y = g["Y"]
    assert np.allclose(out["dAL"], slope(lambda a: -(Y * np.log(a) + (1 - Y) * np.log(1 - a)), g["AL"]), rtol=1e-6)
    assert np.allclose(out["dZ"], g["dA"] * slope(relu, g["Z"]), atol=1e-8)
    # dA_prev: the gradient of sum(dZ * (W @ A_prev)) with respect to A_prev (linear, so any A_prev will do)
    A_prev, h = np.zeros((5, 4)), 1e-6
    numeric = np.zeros_like(A_prev)
    for idx in np.ndindex(A_prev.shape):
        step = np.zeros_like(A_prev)
        step[idx] = h
        numeric[idx] = np.sum(out["dZ"] * (g["W"] @ step)) / h
    assert np.allclose(out["dA_prev"], numeric, atol=1e-8)
