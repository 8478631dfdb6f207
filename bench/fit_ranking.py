"""Fit the ranking weights (bot.retrieval.retrieve.WEIGHTS) on the KB's own questions and posts, each held out in turn.

Every question and post of every entry is asked with itself removed from the index, its entry's centroid and its
entry's lexical document; a softmax over the entries is fitted so that an entry sharing a topic with its own entry
comes first (what the evaluation counts as right). Questions and posts weigh the
same in total (there are three questions per post). No evaluation set is read unless --report names one, and
then only to print figures for the current and the fitted weights, never to fit.

    python bench/fit_ranking.py [--report ../shared/eval/forum.jsonl ...]

Paste the printed WEIGHTS into bot/retrieval/retrieve.py; the index and the calibration follow on the next start.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.answer import Bot
from bot.config import ROOT
from bot.evaluate import evaluate, read_cases
from bot.retrieval import fit, retrieve

SEEDS = ROOT.parent / "shared" / "seeds" / "opening-posts"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, nargs="*", default=[], help="evaluation files to print figures for")
    parser.add_argument("--l2", type=float, default=1e-3, help="L2 penalty of the fit (default: 1e-3)")
    args = parser.parse_args()

    bot = Bot()
    r = bot.retriever
    ids = [e.id for e in bot.kb.entries]
    rows = [i for i, d in enumerate(r.docs) if d.kind in ("question", "post")]
    print(f"held out: {sum(r.docs[i].kind == 'question' for i in rows)} questions, "
          f"{sum(r.docs[i].kind == 'post' for i in rows)} posts", flush=True)
    X = np.stack([r.held_out(i).features for i in rows])
    target = np.array([ids.index(r.docs[i].entry_id) for i in rows])
    topics = [set(e.topics) for e in bot.kb.entries]
    # an entry counts as right when it shares a topic with the held-out text's entry: what the evaluation scores
    answers = np.array([[bool(topics[j] & topics[t]) for j in range(len(ids))] for t in target])
    posts = np.array([r.docs[i].kind == "post" for i in rows])
    weight = np.where(posts, (~posts).sum() / max(posts.sum(), 1), 1.0)
    fitted = fit.softmax_ranking(X, answers, l2=args.l2, weight=weight)
    dense = [i for i, name in enumerate(retrieve.FEATURES) if not name.startswith("lexical")]
    fitted = fitted / fitted[dense].sum()  # same ranking; scores stay on the scale of a cosine

    current = retrieve.WEIGHTS.copy()
    for name, w in (("current", current), ("fitted", fitted)):
        order = np.argsort(-(X @ w), axis=1)
        same = order[:, 0] == target
        topic = np.array([bool(topics[o[0]] & topics[t]) for o, t in zip(order, target)])
        recall3 = np.array([any(topics[j] & topics[t] for j in o[:3]) for o, t in zip(order, target)])
        print(f"{name:8} leave-one-out: top-1 (topic) questions {topic[~posts].mean():.3f} posts "
              f"{topic[posts].mean():.3f}; same entry {same[~posts].mean():.3f} / {same[posts].mean():.3f}; "
              f"recall@3 {recall3[~posts].mean():.3f} / {recall3[posts].mean():.3f}")
        retrieve.WEIGHTS = w
        if args.report:
            r._calibration, r._entry_calibration = r._calibrate()  # both fitted for the weights in force
        for path in args.report:
            m = evaluate(read_cases(path), bot.ask, bot.kb).metrics()
            print(f"         {path.name}: " + ", ".join(f"{k} {v:.3f}" for k, v in m.items()))
        if args.report and SEEDS.is_dir():  # the opening posts of the threads the product started from
            firsts = [bot.ask(p.read_text(encoding="utf-8")).answers[0].id for p in sorted(SEEDS.glob("*.txt"))]
            print(f"         seed opening posts, first answers: {', '.join(firsts)}")
    print("WEIGHTS = np.array([" + ", ".join(f"{w:.3f}" for w in fitted) + "])  # " + ", ".join(retrieve.FEATURES))


if __name__ == "__main__":
    main()
