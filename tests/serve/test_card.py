"""The link card (og:image): which formula it shows, and that it is drawn once."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.retrieval.kb import load_kb
from bot.serve.card import card_path, formulas


def test_the_card_formula_defaults_to_the_bodys_first_display_equation(kb_dir: Path) -> None:
    entry = replace(load_kb(kb_dir).get("one-over-m"),
                    body="Inline $x$ first.\n\n$$\ndW = \\frac{1}{m}\n  dZ A^T\n$$\n\nThen \\[ db = dZ \\].\n")
    assert formulas(entry) == [r"dW = \frac{1}{m} dZ A^T", "db = dZ"]


def test_the_front_matter_formula_wins(kb_dir: Path) -> None:
    entry = replace(load_kb(kb_dir).get("one-over-m"), body="$$\na = b\n$$\n", formula=r"dW = \frac{1}{m} dZ A^T")
    assert formulas(entry) == [r"dW = \frac{1}{m} dZ A^T"]


def test_latex_mathtext_cannot_read_is_rewritten_to_one_line_it_can(kb_dir: Path) -> None:
    body = ("$$\\begin{aligned} da &= -\\tfrac{y}{a} \\\\ dz &= a - y \\end{aligned}$$\n\n"
            "$$\\underbrace{W^T dZ}_{dA} \\big(x\\big)$$\n")
    entry = replace(load_kb(kb_dir).get("one-over-m"), body=body)
    assert formulas(entry) == [r"da = -\frac{y}{a}", "W^T dZ (x)"]


def test_a_card_is_drawn_once_and_kept(kb_dir: Path, tmp_path: Path) -> None:
    entry = load_kb(kb_dir).get("one-over-m")
    path = card_path(entry, tmp_path)
    drawn = path.stat().st_mtime_ns
    assert card_path(entry, tmp_path) == path and path.stat().st_mtime_ns == drawn
    assert path.read_bytes().startswith(b"\x89PNG") and list(path.parent.glob("*.tmp")) == []


def test_a_new_title_draws_a_new_card(kb_dir: Path, tmp_path: Path) -> None:
    entry = load_kb(kb_dir).get("one-over-m")
    assert card_path(entry, tmp_path) != card_path(replace(entry, title="Another title"), tmp_path)
