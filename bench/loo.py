"""Leave-one-out retrieval quality on the KB's own questions: tune ranking settings without touching eval sets.

Each question of each entry is held out in turn (its own vector is masked) and ranked against everything else.
Prints top-1 and recall@3 by topic overlap for a few lexical weights.

    python bench/loo.py [-v]     (-v: the most frequent confusions at the default weight)
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import retrieve
from bot.answer import Bot


def main() -> None:
    bot = Bot()
    r = bot.retriever
    topics = {e.id: set(e.topics) for e in bot.kb.entries}
    held = [(i, d) for i, d in enumerate(r.docs) if d.kind == "question"]
    vectors = r.index.vectors
    lexical = {i: r._lexical(d.text) for i, d in held}
    default = retrieve.LEXICAL_WEIGHT
    for weight in sorted({0.0, 0.15, default, 0.5}):
        retrieve.LEXICAL_WEIGHT = weight
        confused: Counter[tuple[str, str]] = Counter()
        top1 = same = recall3 = 0
        for i, doc in held:
            sims = vectors @ vectors[i]
            sims[i] = -1.0
            ranked = [h.entry_id for h in r._score(vectors[i], sims, lexical[i], held_out=i)[0]]
            want = topics[doc.entry_id]
            top1 += bool(topics[ranked[0]] & want)
            if not topics[ranked[0]] & want:
                confused[(doc.entry_id, ranked[0])] += 1
            same += ranked[0] == doc.entry_id
            recall3 += any(topics[e] & want for e in ranked[:3])
        n = len(held)
        print(f"lexical weight {weight:4.2f}: top-1 {top1 / n:.3f}  same entry {same / n:.3f}  "
              f"recall@3 {recall3 / n:.3f}  (n={n})")
        if weight == default and "-v" in sys.argv:
            for (asked, got), count in confused.most_common(25):
                print(f"    {count:2d}  {asked} -> {got}")


if __name__ == "__main__":
    main()
