"""Normalise the many ways students write the course's notation, so that dZ2, dz^[2] and dZ^{[2]} read alike."""
from __future__ import annotations

import re

from ftfy import fix_text

# Ordered: LaTeX first (it contains the other forms), then layer superscripts, then operators.
_REWRITES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\\(?:d?frac|tfrac)\s*\{\s*1\s*\}\s*\{\s*m\s*\}"), " 1/m "),
    (re.compile(r"\$+|\\[()\[\]]"), " "),
    (re.compile(r"\\(?:partial|mathrm\{d\}|,|;|!|left|right|big|Big|bigg|Bigg)"), " "),
    (re.compile(r"\\(?:mathcal|mathbf|boldsymbol|text|mathrm|operatorname)\s*\{([^{}]*)\}"), r"\1"),
    (re.compile(r"\\(?:cdot|times|odot|circ|ast)"), " * "),
    (re.compile(r"\\sigma"), "sigmoid"),
    (re.compile(r"\^?\s*\{?\\(?:top|intercal)\}?|\^\s*\{?\s*T\s*\}?"), ".T"),
    (re.compile(r"np\.transpose\(\s*(\w+)\s*\)|(\w+)\.transpose\(\)"), lambda m: f"{m[1] or m[2]}.T"),  # type: ignore[list-item]
    # layer superscripts: ^{[2]}, ^[2], _{[2]}, [2] all become [2]
    (re.compile(r"[\^_]?(?:\{\s*\[\s*(\d+|[lL](?:\s*[-+]\s*1)?)\s*\](T?)\s*\}|\[\s*(\d+|[lL](?:\s*[-+]\s*1)?)\s*\](T?))"),
     lambda m: f"[{(m[1] or m[3]).replace(' ', '')}]" + (".T" if (m[2] or m[4]) else "")),  # type: ignore[list-item]
    (re.compile(r"\b(d?[zaw])(?=\[)"), lambda m: _var(m[1])),  # type: ignore[list-item]
    # dZ2, dW1, A1, Z2, b2 (a single digit glued to a course variable) become dZ[2], dW[1], A[1], ...
    (re.compile(r"\b(d?[ZzAaWwBb])_?(\d)\b"), lambda m: f"{_var(m[1])}[{m[2]}]"),  # type: ignore[list-item]
    (re.compile(r"\b(d?[ZAW])L\b"), lambda m: f"{m[1]}[L]"),  # type: ignore[list-item]
    (re.compile(r"\(\s*1\s*\.?\s*/\s*m\s*\)|\b1\s*\.?\s*/\s*m\b|\bone\s+over\s+m\b"), " 1/m "),
    (re.compile(r"\bd([AaZz])_prev\b"), r"dA[l-1]"),
    (re.compile(r"\ba\s+minus\s+y\b", re.IGNORECASE), "A - Y"),
]


def _var(name: str) -> str:
    """dz -> dZ, a -> A: the course writes matrices with capitals."""
    return name[:-1] + name[-1].upper() if name[-1] in "zawZAW" else name


# A pasted array or a printed list of values: four or more decimal numbers with only brackets, commas and spaces
# between them (shapes like (4, 3) and single constants like 1e-7 are kept).
_FLOAT = r"-?\d*\.\d+(?:[eE][-+]?\d+)?"
_NUMBERS = re.compile(rf"[\[(]*\s*{_FLOAT}(?:[\s,;\[\]()]+{_FLOAT}){{3,}}[\s\])]*")


def normalize(text: str) -> str:
    """Repair mis-decoded text (â€™ for ’), shorten pasted arrays to one word, rewrite notation variants to one
    canonical form, squeeze white space."""
    # the digits of a printed array say nothing about the question, yet fill the model's window and look alike
    # across every post that pastes one
    text = _NUMBERS.sub(" [numbers] ", fix_text(text))
    for pattern, repl in _REWRITES:
        text = pattern.sub(repl, text)  # type: ignore[arg-type]
    return " ".join(text.split())


# Lexical tokens for formula-heavy text: the words a bag-of-words model would otherwise split apart or drop.
_TOKENS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"1/m"), " one_over_m "),
    # "divide by m" is the 1/m in words; np.divide (dAL's formula) is another word, not a division by m
    (re.compile(r"\bdivid(?:e|ed|es|ing)\s+(?:\w+\s+){0,2}?by\s+m\b", re.IGNORECASE), " one_over_m "),
    (re.compile(r"np\.divide"), " npdivide "),
    (re.compile(r"\.T\b|\btranspose[ds]?\b"), " transpose "),
    (re.compile(r"\bkeepdims\b"), " keepdims "),
    (re.compile(r"\baxis\s*=\s*(\d)"), r" axis axis\1 "),
    (re.compile(r"np\.dot|np\.matmul|@|\bmatmul\b"), " dot "),
    (re.compile(r"np\.multiply|element[- ]?wise|hadamard"), " elementwise "),
    (re.compile(r"\bg\s*'|\bg\s+prime|sigmoid\s*'|tanh\s*'|relu\s*'|derivative of (?:the )?activation"), " gprime "),
    (re.compile(r"\b(?:a|A)(?:\[\w+\])?\s*-\s*(?:y|Y)\b"), " a_minus_y "),
    (re.compile(r"\bdA\[L\]"), " dal dA "),
    (re.compile(r"\bd([ZAWb])\[[^\]]*\]"), r" d\1 "),
    (re.compile(r"\bd([ZAWb])\b"), r" d\1 "),
]
_WORD = re.compile(r"[a-z0-9_]+")
# Function words and question words: they carry no topic, and BM25 would otherwise reward long bodies for them.
STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they "
    "this to was will with how why what does do doesnt dont did come have has i im my we our you your me can should "
    "would get so just also when where which who its isnt arent please someone explain mean means use used".split()
)


def lexical_tokens(text: str) -> list[str]:
    """Lower-case word tokens of the normalised text, formula tokens made explicit, stop words dropped."""
    text = normalize(text)
    for pattern, repl in _TOKENS:
        text = pattern.sub(repl, text)
    return [t for t in _WORD.findall(text.lower()) if t not in STOPWORDS]
