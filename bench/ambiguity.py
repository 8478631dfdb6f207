"""How the ambiguity threshold trades flagged answers for right ones, on the KB's own questions and posts.

Each question and post is held out in turn (as in bench/loo.py) and answered's probabilities computed as the bot
does; for each threshold it prints the share flagged ambiguous, how often the first entry of an unflagged answer is
right (shares a topic with the held-out text's entry), and how often a flagged one has the right entry among its
candidates; then the calibration table of entry_confidence. bot/answer.py's AMBIGUOUS is chosen from this table.

    python bench/ambiguity.py

The calibration is fitted on these same texts (read whole, without windows), so its table here is in-sample.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.answer import CANDIDATES, Bot
from bot.evaluate import calibration_table, render_calibration


def main() -> None:
    bot = Bot()
    r = bot.retriever
    ids = [e.id for e in bot.kb.entries]
    p, first_right, shown_right = [], [], []
    for row, doc in enumerate(r.docs):
        if doc.kind not in ("question", "post"):
            continue
        combined, _, entry_confidence = r.judge(r.held_out(row))
        order = np.argsort(-combined, kind="stable")
        p.append(entry_confidence)
        first_right.append(r.shares_topic(ids[order[0]], doc.entry_id))
        shown_right.append(any(r.shares_topic(ids[j], doc.entry_id) for j in order[:CANDIDATES]))
    P, right, shown = np.array(p), np.array(first_right), np.array(shown_right)
    print(f"{len(P)} held-out questions and posts; first entry right {right.mean():.3f}")
    print(f"{'threshold':>9} {'flagged':>8} {'top-1 unflagged':>16} {'right among candidates':>23}")
    for threshold in np.arange(0.3, 0.95, 0.05):
        flagged = P < threshold
        kept = right[~flagged].mean() if (~flagged).any() else float("nan")
        among = shown[flagged].mean() if flagged.any() else float("nan")
        print(f"{threshold:9.2f} {flagged.mean():8.3f} {kept:16.3f} {among:23.3f}")
    print()
    print(render_calibration(calibration_table(list(zip(P.tolist(), right.tolist()))), "entry_confidence"))


if __name__ == "__main__":
    main()
