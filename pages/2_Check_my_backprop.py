"""Check my backprop: paste a backward pass (or pick options) and see, per gradient, what is wrong and why."""
from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st

from bot.config import load_settings, sandbox_limits
from bot.datatypes import KnowledgeBase
from bot.errors import BotError
from bot.lab.check import Report, check_code, check_form
from bot.lab.templates import DB_SUMS, DW_FORMS, DZ_PRODUCTS, ONE_OVER_M, TEMPLATES, Choices
from bot.retrieval.kb import load_kb

st.set_page_config(page_title="Check my backprop · Backprop Q&A", page_icon="∂", layout="centered")
log = logging.getLogger("lab")
OK, WRONG = ":green[:material/check_circle:]", ":red[:material/cancel:]"  # icons, not emoji: no font needed


@st.cache_resource
def knowledge_base() -> KnowledgeBase | None:
    try:
        return load_kb(load_settings().kb_dir)  # only for the titles of the linked entries
    except BotError:
        log.exception("the KB could not be loaded; links show entry ids")
        return None


def title(entry_id: str) -> str:
    kb = knowledge_base()
    try:
        return kb.get(entry_id).title if kb is not None else entry_id
    except BotError:
        return entry_id


def escape(text: str) -> str:
    """Plain text inside a Markdown table cell: no emphasis, no column breaks, no math."""
    for char in "\\*_|[]$`<>":
        text = text.replace(char, "\\" + char)
    return text


def check(make_report: Callable[..., Report], *args: object) -> None:
    settings = load_settings()
    try:
        with st.spinner("Running your code in the sandbox ..."):
            report = make_report(*args, sandbox_limits(settings), settings.sandbox_isolation)
    except Exception:  # a student never sees a traceback
        log.exception("the lab failed")
        st.session_state.lab_report = None
        st.session_state.lab_error = "The check failed unexpectedly. Try again; if it happens again, tell a mentor."
        return
    st.session_state.lab_report, st.session_state.lab_error = report, None


def show(report: Report) -> None:
    if report.failure is None:  # "Checked" only for code that ran to the end
        st.caption(f"Checked {report.function or 'your code'} on {report.network}, in {report.seconds:.2f} s.")
    if report.failure is not None:
        f = report.failure
        st.error(f.message)
        if f.source:
            st.code(f"line {f.line}: {f.source}", language="python")
        if f.entry:
            st.markdown(f"Explained in [{escape(title(f.entry))}](/?entry={f.entry})")
    if report.verdicts:
        wrong = sum(not v.ok for v in report.verdicts)
        if wrong:
            st.warning(f"{wrong} of {len(report.verdicts)} gradients are wrong.")
        else:
            st.success(f"All {len(report.verdicts)} gradients match finite differences of J.")
        rows = ["| | gradient | verdict | explained in |", "|---|---|---|---|"]
        for v in report.verdicts:
            name = f"{v.name} (linear_backward)" if v.function == "linear_backward" else v.name
            link = f"[{escape(title(v.entry))}](/?entry={v.entry})" if v.entry else ""
            rows.append(f"| {OK if v.ok else WRONG} | {escape(name)} | {escape(v.message)} | {link} |")
        st.markdown("\n".join(rows))
    if report.output.strip():
        with st.expander("What your code printed"):
            st.code(report.output.rstrip(), language=None)


st.title("Check my backprop")
st.caption("Your backward pass runs in a sandbox on a small seeded network (m = 7 examples). Every dW and db it "
           "returns is compared with finite differences of the cost J; each mistake is named, with the entry that "
           "explains it.")

code_tab, form_tab = st.tabs(["Your code", "Pick options"])
with code_tab:
    code = st.text_area("Your backward pass (fill in the template)", value=TEMPLATES["backward"], height=520,
                        key="lab-code")
    if st.button("Check", key="lab-check", type="primary", icon=":material/play_arrow:"):
        check(check_code, code)
    with st.expander("Assignment style: L_model_backward and linear_backward"):
        st.markdown("Replace the code above with this template and paste your own functions into it.")
        st.code(TEMPLATES["assignment"], language="python")
with form_tab:
    st.markdown("Choose how a backward pass is written; the lab writes it, runs it and diagnoses it.")
    one_over_m = st.selectbox("Where does 1/m go?", list(ONE_OVER_M), format_func=ONE_OVER_M.__getitem__,
                              key="form-one-over-m")
    left, right = st.columns(2)
    layers = left.radio("Layers", [3, 2], format_func={3: "3 (5-4-3-1)", 2: "2 (5-4-1)"}.__getitem__,
                        horizontal=True, key="form-layers")
    hidden = right.radio("Hidden activation", ["relu", "tanh"], horizontal=True, key="form-hidden")
    db_sum = st.selectbox("db = np.sum(dZ, ...)", list(DB_SUMS), key="form-db")
    dz_product = st.selectbox("dZ[l] from dA[l] and g'(Z[l])", list(DZ_PRODUCTS),
                              format_func=lambda k: f"{k}: {DZ_PRODUCTS[k]}", key="form-dz")
    dw = st.selectbox("dW", list(DW_FORMS), key="form-dw")
    if st.button("Check these choices", key="form-check", type="primary", icon=":material/play_arrow:"):
        check(check_form, Choices(one_over_m, hidden, layers, db_sum, dz_product, dw))

try:
    if error := st.session_state.get("lab_error"):
        st.error(error)
    elif (report := st.session_state.get("lab_report")) is not None:
        show(report)
except Exception:  # a student never sees a traceback
    log.exception("showing the report failed")
    st.error("Something went wrong while showing the verdicts. Press Check again; if it happens again, tell a mentor.")
