"""The chat: a thin Streamlit shell over Bot.ask (streamlit run app.py)."""
from __future__ import annotations

import re

import streamlit as st

from bot.answer import Answer, Bot
from bot.errors import BotError

st.set_page_config(page_title="Backprop Q&A", page_icon="∂", layout="centered")


@st.cache_resource(show_spinner="Loading the model and the knowledge base (about 10 s, once) ...")
def load_bot() -> Bot:
    return Bot()


def show(answer: Answer) -> None:
    if answer.message and answer.in_scope:
        st.info(answer.message)
    elif answer.message:
        st.markdown(answer.message)
    if answer.entry is not None:
        st.subheader(answer.entry.title)
        st.caption(f"confidence {answer.confidence:.0%} · [permalink]({answer.answers[0].url})")
        # the body's "## Step" headings would dwarf the entry title inside a chat bubble: demote them two levels
        st.markdown(re.sub(r"^(##+) ", r"\1## ", answer.entry.body, flags=re.MULTILINE))
        if answer.related:
            st.markdown("**Related:** " + " · ".join(f"[{r.title}]({r.url})" for r in answer.related))
    elif answer.answers and answer.kind == "out_of_scope":
        st.markdown("**Nearest entries:** " + " · ".join(f"[{s.title}]({s.url})" for s in answer.answers))


st.title("∂ Backprop Q&A")
st.caption("Curated answers to the backprop-math questions of the Deep Learning Specialization: "
           "L vs J, where the 1/m goes, deriving dZ, dA, dW and db, shapes, and more.")

try:
    bot = load_bot()
except BotError as exc:
    st.error(f"The knowledge base could not be loaded: {exc}")
    st.stop()

if "history" not in st.session_state:
    st.session_state.history = []  # (question, Answer) pairs of this browser session

entry_id = st.query_params.get("entry")
if entry_id and not st.session_state.history:
    try:
        shown = bot.answer_for(entry_id)
        st.session_state.history.append((shown.question, shown))
    except BotError as exc:
        st.warning(str(exc))

for question, answer in st.session_state.history:
    st.chat_message("user").markdown(question)
    with st.chat_message("assistant"):
        show(answer)

if prompt := st.chat_input("Ask a backprop question, e.g. why is there no 1/m in dZ[L]?"):
    st.chat_message("user").markdown(prompt)
    with st.chat_message("assistant"):
        try:
            with st.spinner("Looking it up ..."):
                answer = bot.ask(prompt)
            show(answer)
            st.session_state.history.append((prompt, answer))
        except BotError as exc:
            st.error(f"{exc}")
