"""The chat students use in the browser: a thin Streamlit shell over Bot (streamlit run app.py).

?entry=<id> opens an entry as an answer, ?q=<question> asks on load; both work with ?embed=true.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field

import streamlit as st

from bot.answer import Answer, Bot, Suggestion
from bot.chitchat import CODE_ONLY
from bot.config import load_settings, sandbox_limits
from bot.context import Context
from bot.errors import BotError
from bot.forum import forum_post
from bot.render import ask_a_mentor_url, derivation_markdown, normalize_math
from bot.sandbox import RunResult, describe_isolation, run_code
from bot.store import MAX_COMMENT_CHARS, Feedback, Store, open_store, store_url

log = logging.getLogger("app")
EXAMPLES = [
    "Why is there a 1/m in dW but not in dZ?",
    "I put 1/m in dZ[L] instead of dW and db. Is that also right?",
    "How is dZ[L] = A[L] - Y derived?",
    "Why dA_prev = W.T dZ, with a transpose?",
    "L vs J: is the loss a vector or a number?",
    "Why np.sum(dZ, axis=1, keepdims=True) for db?",
]

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


def show_entry(entry_id: str) -> None:
    try:
        answer = bot.answer_for(entry_id)
    except BotError as exc:
        st.session_state.error = str(exc)
        return
    st.session_state.history.append(Turn(answer.question, answer))


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
    st.code(code, language="python")
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


def welcome() -> None:
    st.markdown(f"Ask in your own words. I answer from a curated knowledge base: {bot.kb.covers}. "
                "Every formula comes with a derivation and a NumPy check you can run.")
    columns = st.columns(2)
    for i, example in enumerate(EXAMPLES):
        columns[i % 2].button(example, key=f"example-{i}", on_click=ask, args=(example,), use_container_width=True)


st.title("∂ Backprop Q&A")
st.caption("Backpropagation math from the Deep Learning Specialization, derived step by step.")
try:
    bot = load_bot()
except BotError as exc:
    st.error(f"The knowledge base could not be loaded: {exc}")
    st.stop()
st.sidebar.caption(f"Sandbox: {describe_isolation(bot.settings.sandbox_isolation)}")

if "history" not in st.session_state:
    st.session_state.history = []
    # permalinks: handled once per browser session, so a reload shows them again and a later question does not
    if entry_param := st.query_params.get("entry"):
        show_entry(entry_param)
    if question_param := st.query_params.get("q"):
        ask(question_param)

try:
    if not st.session_state.history:
        welcome()
    for number, turn in enumerate(st.session_state.history):
        st.chat_message("user").markdown(turn.question)
        with st.chat_message("assistant"):
            show_answer(turn, str(number))
    if error := st.session_state.pop("error", None):
        st.error(error)
    if notice := st.session_state.pop("notice", None):
        st.info(notice)
except Exception:  # a student must never see a traceback
    log.exception("rendering failed")
    st.error("Something went wrong while showing this answer. Reload the page; if it happens again, tell a mentor.")

if prompt := st.chat_input("Ask a backprop question, e.g. why is there no 1/m in dZ[L]?"):
    with st.spinner("Looking it up ..."):
        ask(prompt)
    st.rerun()
