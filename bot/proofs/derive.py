"""Step-by-step derivations of the course's backprop formulas: SymPy does the algebra and checks every derived step.

Each step is one equation with a line of English. Before a step is kept, SymPy verifies that it equals the step
before it (or the derivative it claims to show); if not, DerivationError names the derivation and the step, so a
wrong line never reaches a student. The derivations themselves live in bot/proofs/derivations.py.

This module does not import SymPy at load time (about 0.5 s): the KB validator imports it only for NAMES.
"""
from __future__ import annotations

import re
from functools import lru_cache

from bot.datatypes import DERIVATION_NAMES
from bot.proofs.chain import Chain, Derivation, Step
from bot.retrieval.notation import normalize

NAMES = DERIVATION_NAMES
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softmax", "linear")
LOSSES = ("bce", "cce", "mse")
# The choices each derivation uses; it ignores the others (every derivation takes `layer`, for its superscripts).
OPTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "dz-output": {"activation": ("sigmoid", "tanh", "linear"), "loss": ("bce", "mse")},
    "activation": {"activation": ("sigmoid", "tanh", "relu", "leaky_relu")},
}
OUTPUT_PAIRS = (("sigmoid", "bce"), ("sigmoid", "mse"), ("tanh", "mse"), ("linear", "mse"))  # for dz-output


def derive(name: str, activation: str | None = None, loss: str | None = None, layer: int | None = None) -> Derivation:
    """The named derivation for these choices, every step checked; ValueError for a name or choice it lacks."""
    if name not in NAMES:
        raise ValueError(f"unknown derivation {name!r}; choose one of: {', '.join(NAMES)}")
    activation, loss = _canonical(activation, ACTIVATIONS, "activation"), _canonical(loss, LOSSES, "loss")
    if layer is not None and (isinstance(layer, bool) or not isinstance(layer, int) or layer < 1):
        raise ValueError(f"layer must be a positive integer (1 for the first hidden layer), got {layer!r}")
    if name == "dz-output":
        activation, loss = _output_pair(activation, loss)
    elif name == "activation":
        activation, loss = activation or "sigmoid", None
        supported = OPTIONS[name]["activation"]
        if activation not in supported:
            why = " (its derivative is a full Jacobian: see 'softmax-ce')" if activation == "softmax" else ""
            raise ValueError(f"derivation 'activation' has no activation {activation!r}{why}; "
                             f"choose one of: {', '.join(supported)}")
    else:
        activation = loss = None  # these derivations do not depend on them
    title, steps = _build(name, activation, loss, layer)
    choice = {"activation": activation, "loss": loss, "layer": None if layer is None else str(layer)}
    return Derivation(name, title, {k: v for k, v in choice.items() if v is not None}, steps)


def _canonical(value: str | None, allowed: tuple[str, ...], kind: str) -> str | None:
    if value is None:
        return None
    key = re.sub(r"[\s-]+", "_", value.strip().lower())
    if key not in allowed:
        raise ValueError(f"unknown {kind} {value!r}; choose one of: {', '.join(allowed)}")
    return key


def _output_pair(activation: str | None, loss: str | None) -> tuple[str, str]:
    """Fill in dz-output's defaults (sigmoid with cross-entropy; squared error for any other output) and check."""
    if activation == "softmax" or loss == "cce":
        raise ValueError("derivation 'dz-output' is for one output unit; a softmax output with categorical "
                         "cross-entropy is the 'softmax-ce' derivation")
    loss = loss or ("bce" if activation in (None, "sigmoid") else "mse")
    activation = activation or "sigmoid"
    if (activation, loss) not in OUTPUT_PAIRS:
        raise ValueError(f"derivation 'dz-output' has no {activation} output with loss {loss!r}; choose one of: "
                         + ", ".join(f"{a} with {lo}" for a, lo in OUTPUT_PAIRS))
    return activation, loss


@lru_cache(maxsize=64)
def _build(name: str, activation: str | None, loss: str | None, layer: int | None) -> tuple[str, tuple[Step, ...]]:
    from bot.proofs.derivations import BUILDERS  # imports SymPy: only when a derivation is asked for

    chain = Chain(name)
    title = BUILDERS[name](chain, layer=layer, activation=activation, loss=loss)
    return title, tuple(chain.steps)


# ---- reading the choices out of a student's question ----
# Ordered by how specific they are; a question naming several of one kind gets the one it mentions first.
_ACTIVATION_WORDS = (
    ("leaky_relu", r"leaky[\s_-]*re\s*lu|\blrelu\b"),
    ("relu", r"(?<![a-z])relu(?![a-z])|rectified linear"),
    ("tanh", r"(?<![a-z])tanh(?![a-z])|hyperbolic tangent"),
    ("sigmoid", r"sigmoid|(?-i:σ)|\\sigma(?![a-z])|logistic (?:function|activation)"),  # Σ (a sum) is not σ
    ("softmax", r"soft[\s-]?max"),
    ("linear", r"linear (?:output|activation)|identity (?:output|activation)"),
)
_LOSS_WORDS = (
    ("mse", r"(?<![a-z])mse(?![a-z])|squared[\s-]*error|mean[\s-]*squared|squared loss|quadratic (?:loss|cost)"),
    ("cce", r"categorical|(?<![a-z])cce(?![a-z])"),
    ("bce", r"binary[\s_-]*cross[\s_-]*entropy|(?<![a-z])bce(?![a-z])|log[\s-]?loss|logistic loss"),
    ("cross-entropy", r"cross[\s_-]*entropy"),  # bare: categorical next to softmax or classes, else binary
)
_MANY_CLASSES = re.compile(r"multi[\s-]?class|classes", re.IGNORECASE)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
_LAYER_WORD = re.compile(r"\blayer\s*\[?\s*(\d+)\b|\b(\d+)(?:st|nd|rd|th)\s+layer\b|\b(" + "|".join(_ORDINALS)
                         + r")\s+(?:hidden\s+)?layer\b", re.IGNORECASE)
_LAYER_OF = re.compile(r"\b(?:d?[ZW]|db|b)\[(\d+)\]")  # dZ[2], W[3], b[1]: the layer a formula is about
_LAYER_OF_A = re.compile(r"\bd?A\[(\d+)\]")  # A[1] is the input of layer 2 in dW[2], so only a fallback


def detect_choices(question: str) -> dict[str, str]:
    """The activation, loss and layer a question names (only those it names), e.g. {"activation": "tanh"}."""
    text = question
    found: dict[str, str] = {}
    activation = _first(text, _ACTIVATION_WORDS)
    if activation:
        found["activation"] = activation
    loss = _first(text, _LOSS_WORDS)
    if loss == "cross-entropy":
        loss = "cce" if activation == "softmax" or _MANY_CLASSES.search(text) else "bce"
    if loss:
        found["loss"] = loss
    layer = _layer(question)
    if layer:
        found["layer"] = str(layer)
    return found


def _first(text: str, words: tuple[tuple[str, str], ...]) -> str | None:
    hits = []
    for key, pattern in words:
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            hits.append((match.start(), key))
            text = re.sub(pattern, lambda m: " " * len(m[0]), text, flags=re.IGNORECASE)  # leaky relu is no relu
    return min(hits)[1] if hits else None


def _layer(question: str) -> int | None:
    match = _LAYER_WORD.search(question)
    if match:
        number = match[1] or match[2]
        return int(number) if number else _ORDINALS[match[3].lower()]
    notation = normalize(question)  # dZ2, dz^{[2]} and dZ^[2] all become dZ[2]
    for pattern in (_LAYER_OF, _LAYER_OF_A):
        layers = [int(m[1]) for m in pattern.finditer(notation) if int(m[1]) > 0]
        if layers:
            return layers[0]
    return None
