"""Link previews: an entry as one self-contained HTML page (MathML, highlighted snippet, OpenGraph and Twitter tags).

Math is converted to MathML on the server (latex2mathml), which every current browser renders natively, so the
page needs no CDN, no script and no web font. Every value that comes from the KB is HTML-escaped.
"""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from latex2mathml.converter import convert
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from bot.datatypes import Entry
from bot.serve import card
from bot.serve.render import FENCE, MATH, normalize_math  # the chat's rules for where code and math start and end

SITE_NAME = "Backprop Q&A"
# Raw HTML in an entry is shown as text, never passed through; markdown-it also refuses javascript: links.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")
_SLOT = re.compile("\ue000(\\d+)\ue001")  # private-use characters: a math placeholder no entry can contain
_FORMATTER = HtmlFormatter(cssclass="highlight")
_MATHML_TAGS = frozenset("math mrow mi mo mn ms mtext mspace mfrac msqrt mroot mstyle merror mpadded mphantom "
                         "mfenced menclose msub msup msubsup munder mover munderover mmultiscripts mprescripts none "
                         "mtable mtr mtd semantics annotation".split())
_OPENING = re.compile(r"<mo>([^<]{1,12})</mo><mtable")  # a bracket just before a matrix, just after it
_CLOSING = re.compile(r"</mtable><mo>([^<]{1,12})</mo>")
_SAFE_ATTRIBUTE = re.compile(r"(?!on|xlink|href|src)[a-z][\w-]*")  # no event handlers, no links
_STYLE = """
body { font: 17px/1.55 system-ui, sans-serif; color: #1f2328; margin: 0; }
main { max-width: 46rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: .4rem 0; }
.site a, .tags { color: #59636e; font-size: .9rem; text-decoration: none; }
.summary { font-size: 1.1rem; color: #31373d; }
table { border-collapse: collapse; } th, td { border: 1px solid #d1d9e0; padding: .25rem .5rem; }
code, pre { font-family: ui-monospace, monospace; font-size: .9em; }
pre { background: #f6f8fa; padding: .75rem; overflow-x: auto; border-radius: 6px; }
p, li { overflow-wrap: anywhere; }
/* wide formulas and tables scroll sideways inside the column (with a visible bar) instead of widening the page */
.math-block, .table { display: block; max-width: 100%; overflow-x: auto; overflow-y: hidden; scrollbar-width: thin; }
.math-block { margin: .8rem 0; padding-bottom: .2rem; }
.follow-up a { display: inline-block; margin-top: 1.5rem; padding: .5rem 1rem; border-radius: 6px;
               background: #0969da; color: #fff; text-decoration: none; }
"""


def entry_page(entry: Entry, permalink: str, chat_url: str, derivation: dict[str, Any] | None = None,
               related: list[tuple[str, str]] | None = None, image_url: str | None = None) -> str:
    """The whole page of one entry; `related` is (title, link) pairs, `chat_url` opens the entry in the chat and
    `image_url` is the absolute address of its card (og:image)."""
    e = _escape
    sections = [f'<article>{markdown_html(entry.body)}</article>']
    if derivation:
        steps = "".join(f"<li>{markdown_html(step['text'])}{math_html(step['latex'], display=True)}</li>"
                        for step in derivation["steps"])
        sections.append(f"<section><h2>Derivation: {e(derivation['title'])}</h2><ol>{steps}</ol>"
                        f"<p>Each derived step checked by SymPy.</p></section>")
    if entry.snippet_code:
        sections.append("<section><h2>Check it numerically</h2><p>NumPy, runs in a notebook.</p>"
                        f"{highlight(entry.snippet_code, PythonLexer(), _FORMATTER)}</section>")
    if related:
        links = "".join(f'<li><a href="{e(link)}">{e(title)}</a></li>' for title, link in related)
        sections.append(f"<section><h2>Related</h2><ul>{links}</ul></section>")
    meta = {"og:type": "article", "og:site_name": SITE_NAME, "og:title": entry.title,
            "og:description": entry.summary, "og:url": permalink}
    if image_url:
        meta |= {"og:image": image_url, "og:image:type": "image/png", "og:image:width": str(card.WIDTH),
                 "og:image:height": str(card.HEIGHT), "og:image:alt": entry.title}
    tags = "\n".join([*(f'<meta property="{k}" content="{e(v)}">' for k, v in meta.items()),
                      f'<meta name="twitter:card" content="{"summary_large_image" if image_url else "summary"}">',
                      f'<meta name="twitter:title" content="{e(entry.title)}">',
                      f'<meta name="twitter:description" content="{e(entry.summary)}">'])
    body = "\n".join(sections)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(entry.title)} · {e(SITE_NAME)}</title>
<meta name="description" content="{e(entry.summary)}">
<link rel="canonical" href="{e(permalink)}">
{tags}
<style>{_STYLE}{_FORMATTER.get_style_defs(".highlight")}</style>
</head>
<body>
<main>
<p class="site"><a href="{e(chat_url)}">∂ {e(SITE_NAME)}</a></p>
<h1>{e(entry.title)}</h1>
<p class="summary">{e(entry.summary)}</p>
<p class="tags">{e(" · ".join(entry.topics))} · {e(", ".join(entry.weeks))}</p>
{body}
<p class="follow-up"><a href="{e(chat_url)}">Ask a follow-up in the chat</a></p>
</main>
</body>
</html>
"""


def missing_page(entry_id: str, chat_url: str) -> str:
    """The 404 page of a link to no entry, in the previews' style, pointing to the chat."""
    e = _escape
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>No such entry · {e(SITE_NAME)}</title>
<meta name="robots" content="noindex">
<style>{_STYLE}</style>
</head>
<body>
<main>
<p class="site"><a href="{e(chat_url)}">∂ {e(SITE_NAME)}</a></p>
<h1>This link points to no entry</h1>
<p class="summary">There is no entry called “{e(entry_id)}”: the link may be mistyped or cut short, or the entry was
renamed. Ask your question in the chat instead; it finds the entry in your own words.</p>
<p class="follow-up"><a href="{e(chat_url)}">Open the chat</a></p>
</main>
</body>
</html>
"""


def markdown_html(markdown: str) -> str:
    """Markdown with $...$ and $$...$$ math as HTML with MathML; code is left exactly as written."""
    maths: list[str] = []

    def stash(match: re.Match[str]) -> str:
        source = match[0]
        display = source.startswith("$$")
        maths.append(math_html(source[2:-2] if display else source[1:-1], display))
        return f"\ue000{len(maths) - 1}\ue001"

    parts = FENCE.split(normalize_math(markdown))
    for i in range(0, len(parts), 2):  # even parts are prose, odd parts code
        parts[i] = MATH.sub(stash, parts[i].replace("\ue000", "").replace("\ue001", ""))
    rendered = _MARKDOWN.render("".join(parts)).replace("<table>", '<div class="table"><table>')
    return _SLOT.sub(lambda m: maths[int(m[1])], rendered.replace("</table>", "</table></div>"))


def math_html(latex: str, display: bool = False) -> str:
    """LaTeX as MathML (sanitised: only MathML elements, all text escaped); the escaped source if it cannot."""
    try:
        mathml = _stretch_matrix_brackets(_sanitize(convert(latex.strip(), display="block" if display else "inline")))
        # a span (not a div) because it sits inside Markdown's <p>; display: block comes from the style sheet
        return f'<span class="math-block">{mathml}</span>' if display else mathml
    except Exception:  # noqa: BLE001  latex2mathml's errors share no base class; the source is still readable
        return f'<code class="tex">{_escape(latex.strip())}</code>'


def _stretch_matrix_brackets(mathml: str) -> str:
    """latex2mathml leaves a matrix's brackets (bmatrix, pmatrix, ...) plain <mo>: make them grow with the rows."""
    mathml = _OPENING.sub(r'<mo stretchy="true" fence="true" form="prefix">\1</mo><mtable', mathml)
    return _CLOSING.sub(r'</mtable><mo stretchy="true" fence="true" form="postfix">\1</mo>', mathml)


def _escape(value: str) -> str:
    return html.escape(value, quote=True)


class _MathML(HTMLParser):
    """Rebuilds MathML from parse events: MathML elements stay, anything else becomes escaped text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _MATHML_TAGS:
            pairs = "".join(f' {k}="{_escape(v or "")}"' for k, v in attrs if _SAFE_ATTRIBUTE.fullmatch(k))
            self.out.append(f"<{tag}{pairs}>")
        else:  # e.g. \text{<b>} passed through by latex2mathml: show it as the text it was
            self.out.append(html.escape(self.get_starttag_text() or "", quote=False))

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>" if tag in _MATHML_TAGS else html.escape(f"</{tag}>", quote=False))

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False))


def _sanitize(mathml: str) -> str:
    parser = _MathML()
    parser.feed(mathml)
    parser.close()
    return "".join(parser.out)
