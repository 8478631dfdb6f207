"""Every entry, grouped by topic, each linking to its permalink: the mentor's way to find the link to paste."""
from __future__ import annotations

import streamlit as st

from bot.config import load_settings
from bot.datatypes import KnowledgeBase
from bot.errors import BotError
from bot.retrieval.kb import load_kb

st.set_page_config(page_title="Browse · Backprop Q&A", page_icon="∂", layout="centered")


@st.cache_resource
def knowledge_base() -> KnowledgeBase:
    return load_kb(load_settings().kb_dir)  # the KB only: no model needed to browse


st.title("Browse the knowledge base")
try:
    kb = knowledge_base()
except BotError as exc:
    st.error(f"The knowledge base could not be loaded: {exc}")
    st.stop()
public_url = load_settings().public_url.rstrip("/")
query = st.text_input("Filter", placeholder="e.g. 1/m, softmax, keepdims, C1W4").strip().lower()
st.caption(f"{len(kb.entries)} entries. Click a title to open it; its link is the permalink to paste in a forum reply.")

shown = 0
for topic, description in kb.topics.items():
    entries = [e for e in kb.covering(topic)
               if not query or query in " ".join([e.id, e.title, e.summary, *e.weeks, *e.questions]).lower()]
    if not entries:
        continue
    st.subheader(topic)
    st.caption(description)
    for entry in entries:
        shown += 1
        st.markdown(f"- [{entry.title}](/?entry={entry.id}) · {' '.join(entry.weeks)}  \n"
                    f"  {entry.summary}  \n  `{public_url}/?entry={entry.id}`")
if not shown:
    st.info(f"No entry matches “{query}”. Try a shorter word, or ask the question in the chat.")
