"""The seeded networks "Check my backprop" grades on, and the Setup each verdict is computed from."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.proofs import gradcheck

M = 7  # examples: a prime, so m^k factors are recognisable
PARAMS_SEED, DATA_SEED, SCALE = 3, 103, 0.8  # no dead ReLU unit and every |Z| > 0.009 on all four networks
NETWORKS = {  # key -> (sizes, hidden activation); the output is a sigmoid with binary cross-entropy
    "3-relu": ((5, 4, 3, 1), "relu"), "2-tanh": ((5, 4, 1), "tanh"),
    "2-relu": ((5, 4, 1), "relu"), "3-tanh": ((5, 4, 3, 1), "tanh"),
}


@dataclass(frozen=True)
class Setup:
    """One seeded network and batch with everything the verdicts need, computed here (never in the sandbox)."""

    key: str
    net: gradcheck.Net
    params: dict[str, np.ndarray]
    X: np.ndarray  # (5, m)
    Y: np.ndarray  # (1, m)
    cache: dict[str, np.ndarray]  # A0 = X, Z1, A1, ..., ZL, AL
    reference: dict[str, np.ndarray]  # gradcheck.backward, course convention: dW, db, dZ (per example), dA
    numeric: dict[str, np.ndarray]  # two-sided finite differences of J for every dW, db
    no_gprime: dict[str, dict[tuple[int, ...], np.ndarray]]  # "dW1" -> {hidden layers without g'(Z): its value}

    @property
    def description(self) -> str:
        sizes, hidden = NETWORKS[self.key]
        acts = ", ".join(["ReLU" if hidden == "relu" else "tanh"] * (len(sizes) - 2))
        return (f"a {'-'.join(map(str, sizes))} network ({acts}, sigmoid output), binary cross-entropy, "
                f"m = {M} examples")

    def spec(self) -> dict[str, Any]:
        """The JSON the harness gets: layer count, hidden activation and the arrays as nested lists."""
        lists = {k: v.tolist() for k, v in self.params.items()}
        return {"layers": self.net.L, "hidden": NETWORKS[self.key][1], "X": self.X.tolist(), "Y": self.Y.tolist(),
                "params": lists, "cache": {k: v.tolist() for k, v in self.cache.items()},
                "dZ": {str(l): self.reference[f"dZ{l}"].tolist() for l in range(1, self.net.L + 1)}}
