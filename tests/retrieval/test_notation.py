"""The normaliser makes the many spellings of the course's notation read alike."""
from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.retrieval.notation import lexical_tokens, normalize


@pytest.mark.parametrize("variant", ["dZ2", "dz2", "dZ[2]", "dz^[2]", "dZ^{[2]}", "dz^{[2]}", "$dZ^{[2]}$", "dZ_2"])
def test_layer_superscripts_are_one_form(variant: str) -> None:
    assert normalize(variant) == "dZ[2]"


@pytest.mark.parametrize("variant", ["1/m", "(1/m)", "1./m", "1 / m", r"\frac{1}{m}", r"\dfrac{1}{m}", "one over m"])
def test_one_over_m_is_one_token(variant: str) -> None:
    assert lexical_tokens(f"why {variant} in dW") == ["one_over_m", "dw"]


@pytest.mark.parametrize("variant", ["W.T", "W^T", "W^{T}", r"W^\top", "np.transpose(W)", "W.transpose()"])
def test_transpose_variants_agree(variant: str) -> None:
    assert normalize(variant) == "W.T"


def test_latex_superscript_with_transpose() -> None:
    assert normalize(r"\frac{1}{m} dZ^{[l]} A^{[l-1]T}") == "1/m dZ[l] A[l-1].T"


def test_output_layer_and_prev_names() -> None:
    assert normalize("dAL = -(Y/AL - (1-Y)/(1-AL))") == "dA[L] = -(Y/A[L] - (1-Y)/(1-A[L]))"
    assert normalize("dA_prev") == "dA[l-1]"


def test_formula_tokens_survive_for_lexical_matching() -> None:
    tokens = lexical_tokens("db = 1/m * np.sum(dZ2, axis=1, keepdims=True) and dZ1 = W2.T dZ2 * g'(Z1)")
    assert {"db", "one_over_m", "axis1", "keepdims", "transpose", "gprime", "dz"} <= set(tokens)


def test_a_minus_y_is_recognised() -> None:
    assert "a_minus_y" in lexical_tokens("how do we get dZ[L] = A[L] - Y")


@given(st.text(alphabet="dZzAaWwbB[]{}^_lL12-+/m .T()$\\frac", max_size=40))
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(st.text(max_size=200))
def test_any_text_tokenises_to_lowercase_ascii_words(text: str) -> None:
    assert all(re.fullmatch(r"[a-z0-9_]+", t) for t in lexical_tokens(text))
