"""The chat students use in the browser: a thin Streamlit shell over Bot (streamlit run app.py).

?entry=<id> opens an entry as an answer, ?q=<question> asks on load; both work with ?embed=true. The last question
asked (or entry opened) is kept in the URL, so a reload shows it again.
"""
from __future__ import annotations

import logging
import re
import sys
import threading
import time
from dataclasses import dataclass, field

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from bot.answer import Bot
from bot.chitchat import CODE_ONLY
from bot.config import load_settings, localhost_warning, sandbox_limits
from bot.context import Context
from bot.datatypes import Answer, RunResult, Suggestion
from bot.errors import BotError, EntryNotFound
from bot.mentors.store import MAX_COMMENT_CHARS, Feedback, Store, open_store, store_url
from bot.proofs.sandbox import describe_isolation, run_code
from bot.serve.forum import forum_post
from bot.serve.render import ask_a_mentor_url, derivation_markdown, escape_markdown, message_blocks, normalize_math

log = logging.getLogger("app")
EXAMPLES = [
    "Why is there a 1/m in dW but not in dZ?",
    "I put 1/m in dZ[L] instead of dW and db. Is that also right?",
    "How is dZ[L] = A[L] - Y derived?",
    "Why dA_prev = W.T dZ, with a transpose?",
    "L vs J: is the loss a vector or a number?",
    "Why np.sum(dZ, axis=1, keepdims=True) for db?",
]

SNIPPET_PREVIEW_PX = 230  # about nine lines of the snippet; the rest scrolls, or opens in full below
URL_QUESTION_CHARS = 1500  # a longer question is not put in the URL (some proxies refuse long ones)
# Display math and tables scroll sideways with a visible bar instead of being cut off at the column's edge; the code
# editor is monospace. Selectors are Streamlit's stable test ids and the st-key-<key> classes of keyed widgets.
PAGE_STYLE = """<style>
.katex-display { overflow-x: auto; overflow-y: hidden; padding: .1rem 0 .35rem; scrollbar-width: thin; }
[data-testid="stMarkdownContainer"] table { display: block; max-width: 100%; overflow-x: auto; scrollbar-width: thin; }
[class*="st-key-edit-"] textarea { font-family: "Source Code Pro", ui-monospace, monospace; font-size: .85rem;
                                   tab-size: 4; white-space: pre; overflow-x: auto; }
</style>"""
# Tab in the code editor indents (four spaces, undoable) instead of leaving it; inserted as typing, so Streamlit sees it.
TAB_SCRIPT = """<script>
if (!window.backpropTab) {
  window.backpropTab = true;
  document.addEventListener("keydown", (event) => {
    const box = event.target;
    if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey
        || !box.closest || !box.closest('[class*="st-key-edit-"]')) return;
    event.preventDefault();
    document.execCommand("insertText", false, "    ");
  }, true);
}
</script>"""
# Streamlit keeps a chat pinned to its bottom: bring the new answer's first line to the top instead, for the few
# seconds the page keeps growing (KaTeX and code draw late), unless the student scrolls, taps or types first.
SCROLL_SCRIPT = """<script>
(() => {
  const target = () => document.querySelector(".st-key-answer-%(key)s");
  const until = Date.now() + 8000;
  let stop = false;
  const quit = () => { stop = true; };
  ["wheel", "touchstart", "keydown", "mousedown"].forEach((e) => window.addEventListener(e, quit, {once: true}));
  const tick = () => {
    const answer = target();
    if (stop || Date.now() > until) return;
    if (answer) {
      const message = answer.closest('[data-testid="stChatMessage"]') || answer;
      const header = document.querySelector('[data-testid="stHeader"]');
      const offset = (header ? header.getBoundingClientRect().bottom : 0) + 8;  // under the fixed header
      message.style.scrollMarginTop = offset + "px";
      const top = message.getBoundingClientRect().top;
      if (Math.abs(top - offset) > 2) message.scrollIntoView({block: "start"});
    }
    setTimeout(tick, 120);
  };
  tick();
})(); // %(nonce)s
</script>"""

st.set_page_config(page_title="Backprop Q&A", page_icon="∂", layout="centered")


@dataclass
class Turn:
    question: str
    answer: Answer
    ask_id: int | None = None
    runs: dict[str, RunResult] = field(default_factory=dict)  # "curated" / "edited" -> the sandbox's result
    rated: bool | None = None  # the student's helpful / not helpful, once given
    feedback_id: int | None = None  # that rating's row, which a comment is added to
    commented: bool = False


@st.cache_resource(show_spinner="Loading the model and the knowledge base (about a second, once) ...")
def load_bot() -> Bot:
    bot = Bot()
    log.warning("sandbox: %s", describe_isolation(bot.settings.sandbox_isolation))
    if warning := localhost_warning(bot.settings):  # once per process: this is cached
        print(f"warning: {warning}", file=sys.stderr)
    threading.Thread(target=bot.warm, daemon=True).start()
    return bot


@st.cache_resource
def load_store() -> Store:
    return open_store(store_url(load_settings()))


def record(turn: Turn, started: float) -> None:
    """Keep the ask for the mentors (a locked or broken database must never reach the student)."""
    if not bot.settings.log_questions:
        return
    try:
        store = load_store()
        turn.ask_id = store.log_ask(turn.answer, "chat", (time.perf_counter() - started) * 1000)
    except Exception:  # logged; the student keeps the answer
        log.exception("could not log the ask")
        return
    if store.restarted is not None and not st.session_state.get("log_restart_said"):
        st.session_state.log_restart_said = True
        st.session_state.notice = ("The question log was found damaged and restarted (mentors keep the old file), "
                                   "so questions and ratings from before now are not in it.")


def previous_turn() -> Context | None:
    """The last answer that showed an entry, so that "and for ReLU?" is read against it."""
    history = st.session_state.get("history", [])
    last = history[-1] if history else None
    return Context(last.answer.entry.id, last.question) if last and last.answer.entry else None


def ask(question: str) -> None:
    started = time.perf_counter()
    try:
        turn = Turn(question, bot.ask(question, context=previous_turn()))
    except BotError as exc:
        st.session_state.error = str(exc)
        return
    record(turn, started)
    st.session_state.history.append(turn)
    opened(**({"q": question} if len(question) <= URL_QUESTION_CHARS else {}))


def opened(**link: str) -> None:
    """A new turn: scroll to its first line, and keep it in the URL (q= or entry=) so a reload shows it again."""
    st.session_state.scroll_to = len(st.session_state.history) - 1
    for name in ("q", "entry"):
        st.query_params.pop(name, None)
    st.query_params.update(link)


def show_entry(entry_id: str) -> None:
    try:
        answer = bot.answer_for(entry_id)
    except EntryNotFound:
        st.session_state.missing = entry_id
        return
    except BotError as exc:
        st.session_state.error = str(exc)
        return
    st.session_state.history.append(Turn(answer.question, answer))
    opened(entry=entry_id)


def show_missing(entry_id: str) -> None:
    """A link to no entry, for a person: say so, offer Browse and the entries nearest to the words of the id."""
    shown = entry_id if len(entry_id) <= 80 else entry_id[:77] + "..."
    st.warning(f"There is no entry “{escape_markdown(shown)}”. The link may be mistyped or cut short, or the entry was "
               "renamed. Browse every entry, open one of the nearest below, or ask your question.",
               icon=":material/link_off:")
    st.page_link("pages/1_Browse.py", label="Browse all entries", icon=":material/list:")
    try:
        nearest = bot.ask(" ".join(re.split(r"[-_\W]+", entry_id))[:300], derive=False).answers
    except BotError:  # e.g. an id of punctuation only: no words to look for
        nearest = []
    suggestion_buttons("Nearest entries", [s.id for s in nearest], "missing")


def show_question(question: str) -> None:
    """The student's message exactly as typed: Markdown would eat its * and _ and join a traceback's lines."""
    with st.chat_message("user"):
        for kind, text in message_blocks(question):
            if kind == "pre":
                st.code(text, language=None, wrap_lines=True)
            else:
                st.markdown(text)


def scroll_here(key: str) -> None:
    with st.container(key=f"answer-{key}"):
        st.html(SCROLL_SCRIPT % {"key": key, "nonce": time.time_ns()}, unsafe_allow_javascript=True)


def rate(turn: Turn, helpful: bool) -> None:
    if turn.answer.entry is None or turn.rated is not None:
        return
    try:
        turn.feedback_id = load_store().add_feedback(
            Feedback(turn.answer.entry.id, turn.question, helpful, ask_id=turn.ask_id))
    except Exception:  # logged; the buttons stay, so the student can rate again instead of being thanked for nothing
        log.exception("could not store feedback")
        st.session_state.error = "Your rating could not be saved just now (the question log is busy); try again in a minute."
        return
    turn.rated = helpful


def send_comment(turn: Turn, key: str) -> None:
    text = str(st.session_state.get(f"comment-text-{key}", "")).strip()
    if not text or turn.feedback_id is None:
        return
    turn.commented = True
    try:
        load_store().add_comment(turn.feedback_id, text)
    except Exception:  # logged; the student keeps the answer
        log.exception("could not store the comment")


def run_snippet(turn: Turn, which: str, code: str) -> None:
    turn.runs[which] = run_code(code, sandbox_limits(bot.settings), bot.settings.sandbox_isolation,
                                curated=which == "curated")  # only the KB's own code may run as root


def run_edited(turn: Turn, key: str) -> None:
    run_snippet(turn, "edited", st.session_state[f"edit-{key}"])  # the text as it is now, not at the last render


def show_run(result: RunResult) -> None:
    if result.ok:
        st.success(result.message)
    else:
        st.error(result.message)
    output = result.stdout + (f"\n{result.stderr}" if result.stderr and not result.ok else "")
    if output.strip():
        st.code(output.rstrip(), language=None)


def show_snippet(turn: Turn, key: str) -> None:
    code = turn.answer.snippet or ""
    st.markdown("**Check it numerically** (NumPy; runs in a sandbox)")
    whole = bool(st.session_state.get(f"whole-{key}", False))  # the toggle below, as the student last set it
    # its first lines (the copy button copies it all); one block, not a second copy: each costs render time
    st.code(code, language="python", height="content" if whole else SNIPPET_PREVIEW_PX)
    st.toggle(f"Show all {code.rstrip().count(chr(10)) + 1} lines", key=f"whole-{key}")
    st.button("Run", key=f"run-{key}", icon=":material/play_arrow:", on_click=run_snippet,
              args=(turn, "curated", code))
    if "curated" in turn.runs:
        show_run(turn.runs["curated"])
    with st.expander("Edit and run"):
        st.text_area("Your version", value=code, height=300, key=f"edit-{key}", label_visibility="collapsed")
        st.button("Run my version", key=f"run-edited-{key}", icon=":material/play_arrow:", on_click=run_edited,
                  args=(turn, key))
        if "edited" in turn.runs:
            show_run(turn.runs["edited"])


def suggestion_buttons(label: str, ids: list[str], key: str) -> None:
    if not ids:
        return
    st.markdown(f"**{label}**")
    for entry_id in ids:
        title = bot.kb.get(entry_id).title
        st.button(title, key=f"{key}-{entry_id}", on_click=show_entry, args=(entry_id,))


def show_candidates(candidates: list[Suggestion], key: str) -> None:
    """An ambiguous answer's candidates side by side (stacked on a phone), each with its summary and a button."""
    st.markdown("**This may be one of these:**")
    for column, candidate in zip(st.columns(len(candidates)), candidates):
        with column.container(border=True):
            st.markdown(f"**{candidate.title}**")
            st.caption(normalize_math(candidate.summary))
            st.button("Open", key=f"cand-{key}-{candidate.id}", on_click=show_entry, args=(candidate.id,),
                      icon=":material/open_in_new:", help=f"Show “{candidate.title}” in full")
    st.markdown("The first one, in full:")


def show_answer(turn: Turn, key: str) -> None:
    answer = turn.answer
    if answer.kind == "greeting":
        st.markdown(answer.message)
        return
    if answer.entry is None:
        st.markdown(answer.message)
        suggestion_buttons("Nearest entries", [s.id for s in answer.answers], f"near-{key}")
        st.link_button("Ask a mentor on the forum", ask_a_mentor_url(bot.settings.forum_url, turn.question, answer),
                       icon=":material/support_agent:")
        return
    entry = answer.entry
    if answer.message and (not answer.ambiguous or answer.message == CODE_ONLY):
        st.info(answer.message)
    if answer.ambiguous:
        show_candidates(answer.candidates, key)
    st.markdown(f"#### {entry.title}")
    # the chance that this entry is the one asked for, never shown on a near tie (the candidates say it instead)
    linked = answer.question == entry.title  # a permalink: nothing was guessed
    sure = "" if answer.ambiguous or linked else f"{answer.entry_confidence:.0%} likely the entry you need · "
    if answer.follow_up_of:
        sure = f"read as a follow-up to “{bot.kb.get(answer.follow_up_of).title}” · " + sure
    st.caption(sure + " · ".join(entry.weeks))
    # the body's "## Step" headings would dwarf the entry title inside a chat bubble: demote them two levels
    st.markdown(re.sub(r"^(##+) ", r"\1## ", normalize_math(entry.body), flags=re.MULTILINE))
    if answer.derivation:
        detected = ", ".join(answer.derivation["detected"].values())
        label = "Derivation, step by step (SymPy checks every derived step)"
        with st.expander(label + (f" for {detected}, as in your question" if detected else "")):
            st.markdown(derivation_markdown(answer.derivation))
    if answer.snippet:
        show_snippet(turn, key)
    suggestion_buttons("Follow-ups", [r.id for r in answer.related[:4]], f"rel-{key}")
    actions(turn, key)


def actions(turn: Turn, key: str) -> None:
    entry = turn.answer.entry
    assert entry is not None
    link = bot.permalink(entry.id)
    left, middle, right = st.columns(3)
    with left.popover("Copy link", icon=":material/link:"):
        st.code(link, language=None)
    with middle.popover("Copy as forum post", icon=":material/forum:"):
        st.code(forum_post(turn.answer, link), language="markdown")
    right.link_button("Ask a mentor", ask_a_mentor_url(bot.settings.forum_url, turn.question, turn.answer),
                      icon=":material/support_agent:")
    if turn.rated is None:
        yes, no, _ = st.columns([1, 1, 2])
        yes.button("Helpful", key=f"yes-{key}", icon=":material/thumb_up:", on_click=rate, args=(turn, True))
        no.button("Not helpful", key=f"no-{key}", icon=":material/thumb_down:", on_click=rate, args=(turn, False))
    elif turn.rated is False and turn.feedback_id is not None and not turn.commented:
        with st.form(key=f"comment-{key}", border=False):
            st.text_input("What was missing or wrong? (optional: a mentor reads it)", key=f"comment-text-{key}",
                          max_chars=MAX_COMMENT_CHARS, placeholder="e.g. I asked about dZ1, not dZ2")
            st.form_submit_button("Send", key=f"send-{key}", on_click=send_comment, args=(turn, key))
    else:
        st.caption("Thanks for the feedback!" if turn.rated else "Thanks: a mentor will see this.")


def show_draft(draft: str) -> None:
    """A refused question, kept: shorten it here and ask again."""
    st.session_state["draft-text"] = draft
    st.text_area(f"Your question ({len(draft):,} characters): shorten it and ask again", height=200, key="draft-text")
    st.button("Ask this", key="draft-ask", icon=":material/send:", on_click=ask_draft)


def ask_draft() -> None:
    draft = str(st.session_state.get("draft-text", ""))
    ask(draft)
    if "error" in st.session_state:
        st.session_state.draft = draft


def welcome() -> None:
    st.markdown(f"Ask in your own words. I answer from a curated knowledge base: {bot.kb.covers}. "
                "Every formula comes with a derivation and a NumPy check you can run.")
    columns = st.columns(2)
    for i, example in enumerate(EXAMPLES):
        columns[i % 2].button(example, key=f"example-{i}", on_click=ask, args=(example,), use_container_width=True)


def chat() -> None:
    """The Ask page, drawn by the rest of this file; st.navigation needs a page object for it."""


def navigation() -> StreamlitPage:
    """The pages in the sidebar (the mentors' one only once its password is set); no sidebar when embedded."""
    pages = [st.Page(chat, title="Ask", icon=":material/chat:", default=True),
             st.Page("pages/1_Browse.py", title="Browse", icon=":material/list:"),
             st.Page("pages/2_Check_my_backprop.py", title="Check my backprop", icon=":material/task_alt:")]
    try:
        if load_settings().mentor_password:
            pages.append(st.Page("pages/3_Mentor.py", title="Mentor", icon=":material/school:"))
    except BotError:  # a bad setting: the chat below says so
        pass
    embedded = bool(st.context.is_embedded)
    return st.navigation(pages, position="hidden" if embedded else "sidebar")


page = navigation()
if page.title != "Ask":  # another page draws itself
    page.run()
    st.stop()
st.html(PAGE_STYLE)
st.html(TAB_SCRIPT, unsafe_allow_javascript=True)
st.title("∂ Backprop Q&A")
st.caption("Backpropagation math from the Deep Learning Specialization, derived step by step.")
try:
    bot = load_bot()
except BotError as exc:
    st.error(f"The knowledge base could not be loaded: {exc}")
    st.stop()
if not st.context.is_embedded:  # a sidebar element would bring the sidebar back into a forum's iframe
    st.sidebar.caption(f"Sandbox: {describe_isolation(bot.settings.sandbox_isolation)}")

if "history" not in st.session_state:
    st.session_state.history = []
    # permalinks: handled once per browser session, so a reload shows them again and a later question does not
    if entry_param := st.query_params.get("entry"):
        show_entry(entry_param)
    if question_param := st.query_params.get("q"):
        ask(question_param)

try:
    scroll_to = st.session_state.pop("scroll_to", None)
    if missing := st.session_state.pop("missing", None):
        show_missing(missing)
    elif not st.session_state.history:
        welcome()
    for number, turn in enumerate(st.session_state.history):
        show_question(turn.question)
        with st.chat_message("assistant"):
            if number == scroll_to:
                scroll_here(str(number))
            show_answer(turn, str(number))
    if error := st.session_state.pop("error", None):
        st.error(error)
        if draft := st.session_state.pop("draft", None):
            show_draft(draft)
    if notice := st.session_state.pop("notice", None):
        st.info(notice)
except Exception:  # a student must never see a traceback
    log.exception("rendering failed")
    st.error("Something went wrong while showing this answer. Reload the page; if it happens again, tell a mentor.")

if prompt := st.chat_input("Ask a backprop question, e.g. why is there no 1/m in dZ[L]?"):
    with st.spinner("Looking it up ..."):
        ask(prompt)
    if "error" in st.session_state:
        st.session_state.draft = prompt  # refused (e.g. too long): kept to be shortened, not lost
    st.rerun()
