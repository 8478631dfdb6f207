"""For mentors: the questions the bot could not answer, grouped by meaning, and feedback per entry.

Behind BOT_MENTOR_PASSWORD (no password set = page off). `python -m bot report` prints the same summary.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import re
import time
from datetime import date

import streamlit as st

from bot.answer import Bot
from bot.config import load_settings
from bot.errors import BotError
from bot.mentors.insights import Group, doubtful_groups, drafted, entry_stats
from bot.mentors.phrasings import add_phrasings
from bot.mentors.store import Store, open_store, store_url
from bot.retrieval.kb import load_kb

PERIODS = {"Last 7 days": 7, "Last 30 days": 30, "Whole log": None}

st.set_page_config(page_title="Mentor · Backprop Q&A", page_icon="∂", layout="wide")


@st.cache_resource(show_spinner="Loading the model (about 10 s, once) ...")
def load_bot() -> Bot:
    return Bot()


@st.cache_resource
def load_store(url: str) -> Store:
    return open_store(url)


@st.cache_data(ttl=600, show_spinner="Grouping the questions by meaning ...")
def groups(url: str, since: float | None, rows: int) -> list[Group]:
    """Cached per period and log size (`rows`): a new ask or rating computes them again."""
    return doubtful_groups(load_store(url), load_bot, since)


def plain(text: str) -> str:
    """A student's text shown as itself in Markdown: no links, images, math or formatting from it."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", " ".join(text.split()))


def csv_text(store: Store, since: float | None) -> str:
    out = io.StringIO()
    store.export_csv(out, since)
    return out.getvalue()


def unlocked(password: str) -> bool:
    """Ask for the password once per browser session; the session stays open until the password changes."""
    token = hashlib.sha256(password.encode()).hexdigest()
    if st.session_state.get("mentor") == token:
        return True
    typed = st.text_input("Mentor password", type="password")
    if typed and hmac.compare_digest(typed.encode(), password.encode()):
        st.session_state.mentor = token
        st.rerun()  # draw the page without the password box
    if typed:
        time.sleep(1)  # makes guessing slow
        st.error("Wrong password.")
    return False


def add(entry_id: str) -> None:
    """The "Add as phrasing" button: runs before the page, so the page shows the KB with the new lines."""
    picked = st.session_state.get(f"pick-{entry_id}", [])
    if not picked:
        st.session_state.phrasing = ("error", "Pick at least one question first.")
        return
    try:
        result = add_phrasings(load_settings().kb_dir, entry_id, picked)
    except BotError as exc:
        st.session_state.phrasing = ("error", f"Nothing was changed: {exc}")
        return
    skipped = "".join(f"\n- skipped {plain(q)}: {why}" for q, why in result.skipped.items())
    done = (f"Added {len(result.added)} phrasing(s) to kb/{entry_id}.md in {load_settings().kb_dir}, on this host "
            "only. The index rebuilds the "
            "next time the app starts; with several hosts, commit the file and redeploy (see docs/deploy.md).")
    st.session_state.phrasing = ("success", done + skipped)


st.title("For mentors")
settings = load_settings()
if not settings.mentor_password:
    st.info("This page is off because no mentor password is set. To enable it, start the app with "
            "`BOT_MENTOR_PASSWORD=<a password>` in its environment.")
    st.stop()
if not unlocked(settings.mentor_password):
    st.stop()

period = st.sidebar.radio("Period", list(PERIODS), index=1)
days = PERIODS[period]
since = None if days is None else (time.time() - days * 86400) // 3600 * 3600  # to the hour: keeps the cache
try:
    kb = load_kb(settings.kb_dir)  # read now, not cached: "Add as phrasing" changes it
    store = load_store(store_url(settings))
    stats = entry_stats(store, kb, since)
    totals = store.totals(since)
except BotError as exc:
    st.error(f"Cannot read the knowledge base or the log: {exc}")
    st.stop()

for aside in store.set_aside():
    st.warning(f"The question log was found damaged and restarted; the old one is {aside}. Bring back the rows it "
               f"still holds with `python -m bot store recover {aside}`.")

columns = st.columns(5)
for column, (label, value) in zip(columns, [
        ("Questions", totals.get("asks", 0)), ("Answered", totals.get("kind:answer", 0)),
        ("Out of scope", totals.get("kind:out_of_scope", 0)), ("Helpful", totals.get("helpful", 0)),
        ("Not helpful", totals.get("not_helpful", 0))], strict=True):
    column.metric(label, value)

st.header("Write these entries next")
st.caption("Questions the bot declined, answered with under 80% confidence, or was told were not helpful, "
           "grouped by meaning, largest group first.")
found = groups(store_url(settings), since, store.count("asks") + store.count("feedback"))
if not found:
    st.info("Nothing unanswered in this period.")
for group in found[:30]:
    with st.container(border=True):
        st.markdown(f"**{group.count}×** {plain(group.representative)}")
        why = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in group.reasons.items())
        nearest = group.nearest
        near = (f"nearest entry: [{nearest.title}](/?entry={nearest.id}) (score {nearest.score:.2f})"
                if nearest and nearest.score is not None else "no nearest entry")
        st.caption(f"{len(group.questions)} distinct · {why} · {near}")
        if len(group.questions) > 1:
            with st.expander(f"All {len(group.questions)} questions"):
                st.markdown("\n".join(f"- {plain(q)}" for q in group.questions))

st.header("Per entry")
st.dataframe([{"entry": s.entry_id, "shown": s.shown, "helpful": s.helpful, "not helpful": s.not_helpful,
               "new phrasings": len(s.candidates), "latest comment": s.comments[0] if s.comments else "",
               "title": s.title} for s in stats], hide_index=True)

st.header("Drafted on the forum")
st.caption("Topics the bot drafted a reply for on Discourse (BOT_DISCOURSE_*), newest first; a whisper waits for a "
           "mentor to check, edit and post it.")
drafts = store.forum_topics(since)
if not drafts:
    st.info("No forum topics in this period.")
else:
    st.dataframe([{"topic": d.link, "title": d.title, "state": d.state, "mode": d.mode or "", "entry": d.entry_id or "",
                   "entry_confidence": d.entry_confidence, "what": drafted(d)} for d in drafts], hide_index=True,
                 column_config={"topic": st.column_config.LinkColumn("topic")})

st.header("Add as phrasing")
st.caption("Questions that reached an entry and are not yet among its `questions`; adding them teaches the bot "
           f"that wording. Questions rated not helpful are left out. Adding writes the entry's file in "
           f"`{settings.kb_dir}` on this host (the log is shared, the KB is not).")
if message := st.session_state.pop("phrasing", None):
    (st.success if message[0] == "success" else st.error)(message[1])
by_id = {s.entry_id: s for s in stats if s.candidates}
if not by_id:
    st.info("No new phrasings in this period.")
else:
    entry_id = st.selectbox("Entry", list(by_id), key="phrasing-entry",
                            format_func=lambda e: f"{by_id[e].title} ({len(by_id[e].candidates)} new)")
    seen = {c.question: c for c in by_id[entry_id].candidates}  # low confidence: check it really is this entry
    st.multiselect("Questions to add", list(seen), key=f"pick-{entry_id}",
                   format_func=lambda q: f"{q} (asked {seen[q].times}×, confidence {seen[q].confidence:.0%})")
    st.button("Add as phrasing", key="add-phrasing", on_click=add, args=(entry_id,), type="primary")

st.header("Export")
st.download_button("Export CSV", lambda: csv_text(store, since), file_name=f"backprop-qa-log-{date.today()}.csv",
                   mime="text/csv", key="export-csv", on_click="ignore", icon=":material/download:")
st.caption("The log of this period: one row per question and rating (asks joined with feedback), times in UTC. "
           "Cells that start like a spreadsheet formula get a leading ' so they stay text.")
