"""Evaluation metrics on a toy set, checked against numbers worked out by hand."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.datatypes import Answer, Suggestion
from bot.evaluate import Bin, Case, calibration_table, evaluate, read_cases, render, render_calibration
from bot.retrieval.kb import load_kb
from tests.conftest import FIXTURE_KB


def canned(ranked: list[str], in_scope: bool = True, entry_confidence: float = 0.8, ambiguous: bool = False) -> Answer:
    answers = [Suggestion(i, i, [], 1.0, "") for i in ranked]
    return Answer("q", "answer" if in_scope else "out_of_scope", in_scope, 0.9 if in_scope else 0.1, answers, "",
                  entry_confidence=entry_confidence, ambiguous=ambiguous, candidates=answers[:3] if ambiguous else [])


def test_metrics_match_a_hand_computation() -> None:
    # fixture topics: loss-vs-cost={cost}, one-over-m={one-over-m, cost}, shapes={shapes}, relu-derivative={relu}
    replies = {
        "a": canned(["shapes", "relu-derivative", "loss-vs-cost"]),  # wants shapes: rank 1
        "b": canned(["relu-derivative", "shapes", "one-over-m"]),  # wants cost: rank 3 (one-over-m has 'cost')
        "c": canned(["loss-vs-cost", "one-over-m", "shapes"], in_scope=False),  # wants relu: absent, declined
        "d": canned(["relu-derivative", "shapes", "loss-vs-cost"], in_scope=False),  # out of scope, declined
        "e": canned(["shapes", "one-over-m", "relu-derivative"]),  # out of scope, answered
    }
    cases = [Case("a", frozenset({"shapes"})), Case("b", frozenset({"cost"})), Case("c", frozenset({"relu"})),
             Case("d", frozenset()), Case("e", frozenset())]
    report = evaluate(cases, replies.__getitem__, load_kb(FIXTURE_KB))
    assert report.metrics() == pytest.approx({
        "top1": 1 / 3, "recall@3": 2 / 3, "mrr": (1 + 1 / 3 + 0) / 3, "oos_rejection": 1 / 2, "false_rejection": 1 / 3,
        # a and b answered, neither ambiguous: a right, b wrong
        "top1_unambiguous": 1 / 2, "ambiguous_share": 0.0, "ambiguous_shown": 0.0,
    })
    assert len(report.misses) == 3  # b (rank 3), c (declined), e (answered out of scope)


def test_read_cases_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({"question": "q", "topics": []}) + "\n\n{oops\n")
    with pytest.raises(ValueError, match=r"set.jsonl:3: expected"):
        read_cases(path)


def test_per_topic_recall_and_confusions_match_a_hand_computation() -> None:
    replies = {
        "a": canned(["shapes", "relu-derivative", "loss-vs-cost"]),  # wants shapes: rank 1
        "b": canned(["relu-derivative", "shapes", "one-over-m"]),  # wants cost: rank 3
        "c": canned(["relu-derivative", "shapes", "one-over-m"]),  # wants cost: rank 3 again
        "d": canned(["loss-vs-cost", "shapes", "one-over-m"], in_scope=False),  # wants shapes: declined
    }
    cases = [Case("a", frozenset({"shapes"})), Case("b", frozenset({"cost"})), Case("c", frozenset({"cost"})),
             Case("d", frozenset({"shapes"}))]
    report = evaluate(cases, replies.__getitem__, load_kb(FIXTURE_KB))
    assert {t: (s.n, s.top1, s.recall3) for t, s in report.per_topic.items()} == {"shapes": (2, 1, 2),
                                                                                 "cost": (2, 0, 2)}
    assert report.confusions.most_common() == [(("cost", "relu-derivative"), 2), (("shapes", "(declined)"), 1)]


def test_out_of_scope_cases_are_counted_by_kind() -> None:
    replies = {"x": canned(["shapes"], in_scope=False), "y": canned(["shapes"]), "z": canned(["shapes"])}
    cases = [Case("x", frozenset(), "rnn-backward"), Case("y", frozenset(), "rnn-backward"), Case("z", frozenset())]
    report = evaluate(cases, replies.__getitem__, load_kb(FIXTURE_KB))
    assert report.out_kinds == {"rnn-backward": [1, 2], "unlabelled": [0, 1]}


def test_the_rendered_report_names_the_topics_and_the_confusions() -> None:
    replies = {"b": canned(["relu-derivative", "shapes", "one-over-m"])}
    text = render(evaluate([Case("b", frozenset({"cost"}))], replies.__getitem__, load_kb(FIXTURE_KB)), "set.jsonl")
    assert "  cost                              1   0.00      1.00" in text
    assert "1  cost -> relu-derivative" in text


def test_read_cases_keeps_the_out_of_scope_kind(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({"question": "q", "topics": [], "oos_kind": "batchnorm"}) + "\n")
    assert read_cases(path) == [Case("q", frozenset(), "batchnorm")]


def test_ambiguous_answers_are_scored_by_their_candidates() -> None:
    replies = {
        "a": canned(["shapes", "relu-derivative"]),  # wants shapes, sure: right
        "b": canned(["relu-derivative", "one-over-m", "shapes"], ambiguous=True),  # wants cost: a candidate has it
        "c": canned(["relu-derivative", "shapes", "relu-derivative"], ambiguous=True),  # wants cost: none has it
        "d": canned(["relu-derivative", "shapes"]),  # wants cost, sure: wrong
    }
    cases = [Case("a", frozenset({"shapes"})), Case("b", frozenset({"cost"})), Case("c", frozenset({"cost"})),
             Case("d", frozenset({"cost"}))]
    metrics = evaluate(cases, replies.__getitem__, load_kb(FIXTURE_KB)).metrics()
    assert (metrics["top1_unambiguous"], metrics["ambiguous_share"], metrics["ambiguous_shown"]) == (0.5, 0.5, 0.5)


def test_calibration_table_matches_a_hand_computation() -> None:
    pairs = [(0.05, False), (0.15, False), (0.12, True), (0.95, True), (0.91, False), (1.0, True)]
    assert calibration_table(pairs) == [
        Bin(0.0, 0.1, 1, 0.05, 0.0),
        Bin(0.1, 0.2, 2, pytest.approx(0.135), 0.5),
        Bin(0.9, 1.0, 3, pytest.approx((0.95 + 0.91 + 1.0) / 3), pytest.approx(2 / 3)),  # 1.0 goes in the last bin
    ]


def test_a_big_bin_predicting_too_much_is_flagged_overconfident() -> None:
    table = calibration_table([(0.9, i < 7) for i in range(10)])  # predicts 0.9, sees 0.7
    assert table[0].overconfident and "no, 1 bin(s)" in render_calibration(table, "entry_confidence")


def test_a_small_bin_is_too_small_to_judge() -> None:
    table = calibration_table([(0.9, False)] * 9)
    assert not table[0].overconfident and "calibrated" in render_calibration(table, "x") and ": yes" in (
        render_calibration(table, "x"))
