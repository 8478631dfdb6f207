"""Render the whisper the bot drafts for a new topic as a Discourse post would look, and screenshot it.

    .venv/bin/python examples/discourse_draft_screenshot.py [docs/discourse-draft.png]

The Markdown is exactly what the worker posts (bot.serve.discourse.draft); it becomes HTML with $-math as MathML (as
Discourse's math plugin shows it) inside a post styled as Discourse styles a whisper (italic, faded, an eye-slash
badge), and headless Chromium on a file:// page takes the picture: no server, no network.
"""
from __future__ import annotations

import html
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TITLE = "ReLU derivative at exactly z = 0: is it 0 or 1?"
RAW = ("ReLU has a kink at zero, so its derivative is undefined there. What does relu_backward use at z = 0, "
       "and does the choice matter for the assignment?")
EYE = ('<svg width="12" height="12" viewBox="0 0 16 16" fill="#919191"><path d="M8 3C4 3 1 8 1 8s3 5 7 5 7-5 7-5-3-5-7-5z'
       'm0 8a3 3 0 110-6 3 3 0 010 6z"/><path d="M2 14L14 2" stroke="#919191" stroke-width="1.6"/></svg>')
STYLE = """
body { font-family: Arial, Helvetica, sans-serif; background: #fff; color: #222; margin: 0; padding: 24px; }
.topic { max-width: 760px; } h1 { font-size: 1.6em; font-weight: normal; margin: 0 0 18px; }
.post { display: flex; gap: 12px; border-top: 1px solid #e9e9e9; padding: 14px 0; }
.avatar { width: 45px; height: 45px; border-radius: 50%; background: #3ab54a; color: #fff; font-weight: bold;
          display: flex; align-items: center; justify-content: center; flex: none; }
.names { font-size: .93em; margin-bottom: 8px; } .names b { margin-right: 6px; } .names span { color: #919191; }
.whisper .cooked { font-style: italic; color: #646464; }
.badge { font-size: .8em; color: #919191; margin-left: 8px; font-style: normal; }
.cooked { line-height: 1.5; font-size: 15px; max-width: 680px; overflow-x: auto; } .cooked h3 { font-size: 1.15em; }
.cooked pre { background: #f8f8f8; padding: 10px; overflow: auto; font-style: normal; }
.cooked code { font-family: Consolas, Menlo, monospace; font-size: .9em; } math[display="block"] { margin: 10px 0; }
"""


def page(markdown: str, bot_user: str) -> str:
    from bot.serve.preview import markdown_html

    student = html.escape(RAW)
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>{STYLE}</style></head><body>
<div class="topic"><h1>{html.escape(TITLE)}</h1>
<div class="post"><div class="avatar">S</div><div><div class="names"><b>student_42</b><span>1h</span></div>
<div class="cooked"><p>{student}</p></div></div></div>
<div class="post whisper"><div class="avatar" style="background:#0e76bd">B</div><div>
<div class="names"><b>{html.escape(bot_user)}</b><span>1m</span>
<span class="badge">{EYE} whisper: only visible to staff</span></div>
<div class="cooked">{markdown_html(markdown)}</div></div></div></div></body></html>"""


def main() -> int:
    from playwright.sync_api import sync_playwright

    from bot.answer import Bot
    from bot.mentors.store import ForumTopic
    from bot.serve.discourse import draft

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "discourse-draft.png"
    bot = Bot()
    made = draft(bot, ForumTopic("https://forum.example", 1, TITLE, RAW, "5"), "whisper")
    if made.markdown is None or made.kind != "sure":
        print(f"the bot would not draft a sure answer for this topic ({made.kind}); pick another", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "draft.html"
        file.write_text(page(made.markdown, "backprop-bot"), encoding="utf-8")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            try:
                view = browser.new_page(viewport={"width": 820, "height": 900}, device_scale_factor=1)
                view.goto(file.as_uri())
                view.screenshot(path=str(out), full_page=True)
            finally:
                browser.close()
    print(f"wrote {out} ({made.kind} draft, entry {made.answer.entry.id if made.answer and made.answer.entry else '?'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
