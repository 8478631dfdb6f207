"""The picture of a shared link (og:image): an entry's title and its key formula as a 1200x630 PNG.

Drawn with matplotlib's mathtext, which needs no TeX installation; it reads a subset of LaTeX, so a formula it cannot
read gives way to the body's next display equation, and a card with no readable formula shows the title alone.
PNGs are cached on disk, keyed by what is drawn and the code that draws it.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import textwrap
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from bot.datatypes import Entry

if TYPE_CHECKING:
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.figure import Figure

WIDTH, HEIGHT, DPI = 1200, 630, 100  # the size OpenGraph and Twitter's large card expect (1.91:1)
VERSION = "1"  # bump when the drawing changes: cached cards are keyed by it
SITE = "∂ Backprop Q&A"
_DRAWING = threading.Lock()  # mathtext's parser and font caches are shared by every figure
_DISPLAY = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]", re.DOTALL)
# LaTeX that mathtext does not read, rewritten to what it does (the formula's meaning is unchanged)
_REWRITES = [(re.compile(r"\\[bB]ig[lr]?(?=[()\[\]|.])"), ""), (re.compile(r"\\(textstyle|displaystyle)\b"), ""),
             (re.compile(r"\\operatorname\{"), r"\\mathrm{"), (re.compile(r"\\[td]frac\b"), r"\\frac")]
_UNDERBRACE = re.compile(r"\\underbrace\{((?:[^{}]|\{[^{}]*\})*)\}_\{(?:[^{}]|\{[^{}]*\})*\}")
_ALIGNED = re.compile(r"\\begin\{aligned\}(.*?)(?:\\\\.*?)?\\end\{aligned\}", re.DOTALL)  # -> its first line


def formulas(entry: Entry) -> list[str]:
    """The candidates for the card, best first: the front matter's `formula`, else the body's display equations."""
    if entry.formula:
        return [entry.formula]
    return [_readable(m[1] or m[2]) for m in _DISPLAY.finditer(entry.body)]


def _readable(latex: str) -> str:
    """One line of LaTeX in mathtext's subset: an aligned block's first line, underbraces and \\big dropped."""
    latex = _ALIGNED.sub(lambda m: m[1].replace("&", ""), latex)
    latex = _UNDERBRACE.sub(lambda m: m[1], latex)
    for pattern, replacement in _REWRITES:
        latex = pattern.sub(replacement, latex)
    return " ".join(latex.split())


def card_path(entry: Entry, cache_dir: Path) -> Path:
    """The entry's card, drawn on first use and kept under cache_dir/cards."""
    key = hashlib.sha256("\0".join([VERSION, entry.title, *formulas(entry)]).encode()).hexdigest()[:16]
    path = cache_dir / "cards" / f"{entry.id}-{key}.png"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
        with _DRAWING:
            png = card_png(entry.title, formulas(entry))
        partial.write_bytes(png)
        partial.replace(path)  # a reader never sees half a file
    return path


def card_png(title: str, candidates: list[str]) -> bytes:
    """The card as PNG bytes: site name, title, and the first candidate formula mathtext can draw."""
    # imported here: ~0.4 s that only the first card pays; Figure without pyplot is safe in threads
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, facecolor="white")
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.text(0.06, 0.88, SITE, fontsize=24, color="#59636e", va="top")
    lines = textwrap.wrap(title, 36)[:3]  # 36 bold characters fit the width at 38 pt
    figure.text(0.06, 0.76, "\n".join(lines), fontsize=38, weight="bold", color="#1f2328", va="top",
                linespacing=1.2, parse_math=False)  # a title is text: its $ or _ draw as themselves
    low = 0.76 - 0.11 * len(lines)
    for formula in candidates:
        if _draw_formula(figure, renderer, formula, low):
            break
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _draw_formula(figure: Figure, renderer: RendererAgg, formula: str, top: float) -> bool:
    """Draw the formula centred below `top`, shrunk to fit the width; False if mathtext cannot read it."""
    text = figure.text(0.5, top / 2, f"${formula}$", fontsize=44, ha="center", va="center", color="#0b3d91")
    try:
        width = text.get_window_extent(renderer).width
    except ValueError:  # mathtext's parse error: not a formula it can draw
        text.remove()
        return False
    if width > 0.88 * WIDTH:
        text.set_fontsize(44 * 0.88 * WIDTH / width)
    return True
