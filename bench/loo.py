"""Leave-one-out retrieval quality on the KB's own questions and posts, without touching any evaluation set.

Each question and post of each entry is held out in turn (removed from the index, its entry's centroid and its
entry's lexical document) and ranked against everything else with the current weights.

    python bench/loo.py [-v]     (-v: the most frequent confusions)

The ranking weights were fitted (bench/fit_ranking.py) on these same held-out features, so these figures are
in-sample for those six weights (not for any text: each text is always absent from the index it is ranked in).
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.answer import Bot
from bot.retrieval.retrieve import WEIGHTS


def main() -> None:
    bot = Bot()
    r = bot.retriever
    ids = [e.id for e in bot.kb.entries]
    topics = {e.id: set(e.topics) for e in bot.kb.entries}
    for kind in ("question", "post"):
        held = [i for i, d in enumerate(r.docs) if d.kind == kind]
        confused: Counter[tuple[str, str]] = Counter()
        top1 = same = recall3 = 0
        for i in held:
            ranked = [ids[j] for j in np.argsort(-(r.held_out(i).features @ WEIGHTS), kind="stable")]
            want = topics[r.docs[i].entry_id]
            top1 += bool(topics[ranked[0]] & want)
            same += ranked[0] == r.docs[i].entry_id
            recall3 += any(topics[e] & want for e in ranked[:3])
            if not topics[ranked[0]] & want:
                confused[(r.docs[i].entry_id, ranked[0])] += 1
        n = max(len(held), 1)
        print(f"{kind}s held out: top-1 {top1 / n:.3f}  same entry {same / n:.3f}  recall@3 {recall3 / n:.3f}  "
              f"(n={len(held)})")
        if "-v" in sys.argv:
            for (asked, got), count in confused.most_common(15):
                print(f"    {count:2d}  {asked} -> {got}")


if __name__ == "__main__":
    main()
