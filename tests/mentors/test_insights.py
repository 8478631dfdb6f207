"""What mentors learn: unanswered questions grouped by meaning, per-entry numbers, and the report command."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot import cli
from bot.answer import Bot
from bot.datatypes import Answer, Suggestion
from bot.mentors.insights import cluster, doubtful_groups, entry_stats, group_questions
from bot.mentors.store import Feedback, ForumTopic, LoggedAsk, SqliteStore, TopicOutcome
from bot.retrieval.kb import load_kb


def logged(question: str, kind: str = "out_of_scope", confidence: float = 0.1, not_helpful: bool = False,
           entry_id: str | None = None) -> LoggedAsk:
    return LoggedAsk(0, 0.0, question, kind, confidence, entry_id, not_helpful)


def test_cluster_merges_near_rows_and_keeps_far_ones_apart() -> None:
    vectors = np.array([
        [1.0, 0.0, 0.0],  # 0: topic x
        [0.9, 0.436, 0.0],  # 1: topic x, cosine 0.9 to row 0
        [0.0, 0.0, 1.0],  # 2: topic z, orthogonal to both
        [0.0, 0.6, 0.8],  # 3: cosine 0.8 to row 2, 0.26 to row 1
    ])
    assert cluster(vectors, threshold=0.7) == [[0, 1], [2, 3]]
    assert cluster(vectors, threshold=0.95) == [[0], [1], [2], [3]]
    assert cluster(vectors[:1]) == [[0]] and cluster(np.zeros((0, 3))) == []


def test_groups_count_repeats_pick_the_central_question_and_come_largest_first() -> None:
    vectors = {  # hand-made meanings: a 1-D "batch norm" axis, a 1-D "certificate" axis
        "bn backward": [1.0, 0.0], "batch norm gradient": [0.95, 0.312], "gradient of batchnorm": [0.95, -0.312],
        "certificate?": [0.0, 1.0],
    }
    asks = [logged("batch norm gradient"), logged("bn backward"), logged("Bn  backward"),
            logged("gradient of batchnorm", "answer", 0.6), logged("certificate?", not_helpful=True),
            logged("sure answer", "answer", 0.95)]  # confident and not rated down: not a mentor's problem

    def encode(texts: list[str]) -> np.ndarray:
        return np.array([vectors[t.lower().replace("  ", " ")] for t in texts], dtype=np.float32)

    near = Suggestion("bn", "Batch norm", [], 0.4, "u")
    groups = group_questions(asks, encode, lambda q: near if "bn" in q.lower() else None, sure=0.8)
    assert [(g.count, g.representative, g.reasons) for g in groups] == [
        (4, "Bn  backward", {"out_of_scope": 3, "unsure": 1}),  # the middle one, in its latest wording
        (1, "certificate?", {"not_helpful": 1})]
    assert groups[0].questions[0] == "Bn  backward" and len(groups[0].questions) == 3  # most asked first
    assert groups[0].nearest == near and groups[1].nearest is None


def test_paraphrases_of_one_unanswered_question_end_up_in_one_group(real_bot: Bot, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "log.sqlite3")
    batch_norm = ["how do I backprop through batch normalization?", "what is the gradient of a batch norm layer",
                  "derivative of batchnorm with respect to gamma and beta",
                  "backward pass for batch norm, how to compute dgamma dbeta"]
    rnn = ["how does backpropagation through time work in an RNN?", "BPTT for recurrent networks explained",
           "gradient of the hidden state in an rnn across time steps"]
    adam = ["why does Adam use bias correction?", "what is the bias correction in the adam optimizer for"]
    certificate = ["when do I get my certificate?", "how do I download the course certificate"]
    for question in [*batch_norm, *rnn, *adam, *certificate, "why is there no 1/m in dZ2?"]:
        store.log_ask(real_bot.ask(question), "chat", 10.0)

    groups = doubtful_groups(store, lambda: real_bot)
    by_question = {q: i for i, g in enumerate(groups) for q in g.questions}
    for paraphrases in (batch_norm, rnn, adam, certificate):
        assert {by_question[q] for q in paraphrases} == {by_question[paraphrases[0]]}, paraphrases
    assert len({by_question[p[0]] for p in (batch_norm, rnn, adam, certificate)}) == 4  # four different groups
    assert "why is there no 1/m in dZ2?" not in by_question  # answered with confidence: not in the list
    assert set(groups[0].questions) == set(batch_norm)  # the largest group first
    assert groups[0].count == 4 and groups[0].nearest is not None and groups[0].representative in batch_norm


def test_entry_stats_count_ratings_and_offer_new_wordings_as_phrasings(kb_dir: Path, tmp_path: Path) -> None:
    kb = load_kb(kb_dir)
    entry = kb.get("one-over-m")
    store = SqliteStore(tmp_path / "log.sqlite3")

    def shown(question: str, confidence: float = 0.9) -> int:
        return store.log_ask(Answer(question, "answer", True, confidence, [Suggestion(entry.id, "", [], 1.0, "u")],
                                    "", entry), "chat", 1.0)

    shown("Why is there no 1/m in dZ")  # already in the entry's questions (case and spaces aside)
    shown("1/m only in dW and db, why?", 0.7)
    shown("1/m only in dW and db, why?", 0.9)
    store.add_feedback(Feedback(entry.id, "the m in dW", False, "did not help", shown("the m in dW")))
    store.add_feedback(Feedback(entry.id, "averaging dW?", True, ask_id=shown("averaging dW?", 0.6)))

    stats = {s.entry_id: s for s in entry_stats(store, kb)}
    one = stats["one-over-m"]
    assert (one.shown, one.helpful, one.not_helpful, one.comments) == (5, 1, 1, ["did not help"])
    assert [(c.question, c.times, c.confidence) for c in one.candidates] == [
        ("1/m only in dW and db, why?", 2, 0.7), ("averaging dW?", 1, 0.6)]  # most asked, then least sure
    assert stats["shapes"].shown == 0 and next(iter(stats)) == "one-over-m"  # every entry, the most shown first


@pytest.fixture
def report_env(fake_bot: Bot, kb_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(cli, "_bot", lambda **_: fake_bot)
    monkeypatch.setenv("BOT_KB_DIR", str(kb_dir))
    monkeypatch.setenv("BOT_DB_PATH", str(tmp_path / "log.sqlite3"))
    return tmp_path / "log.sqlite3"


def test_report_prints_the_groups_and_the_entries(report_env: Path, fake_bot: Bot,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    store = SqliteStore(report_env)
    for question in ["how do I get a refund", "refund please, how", "derivative of relu at zero"]:
        answer = fake_bot.ask(question)
        if answer.entry is None:  # the fake embedder's calibration decides; make the refunds out of scope for sure
            answer = replace(answer, kind="out_of_scope", in_scope=False, confidence=0.1)
        store.log_ask(answer, "api", 1.0)
    assert cli.main(["report", "--days", "1", "--csv", str(report_env.parent / "log.csv")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Backprop Q&A, since ") and "3 asks" in out
    assert "Write these entries next" in out and "refund" in out
    assert (report_env.parent / "log.csv").read_text().startswith("ask_id,asked_at,channel,question")
    assert cli.main(["report", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["asks"] == 3 and data["groups"] and {e["entry_id"] for e in data["entries"]} == {
        "loss-vs-cost", "one-over-m", "relu-derivative", "shapes"}


def test_report_lists_the_forum_topics_the_bot_drafted_for(report_env: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    store = SqliteStore(report_env)
    topic = ForumTopic("https://forum.example", 42, "Why no 1/m in dZ?", "dZ2 = A2 - Y", "5")
    store.claim_topic(topic)
    store.finish_topic(topic, TopicOutcome("posted", "sure", "one-over-m", 0.91, "whisper", 1001))
    assert cli.main(["report"]) == 0
    out = capsys.readouterr().out
    assert "Forum topics the bot drafted for (1, newest first):\n  https://forum.example/t/42  posted whisper sure: " \
           "one-over-m (entry_confidence 0.91)  Why no 1/m in dZ?" in out


def test_report_without_a_log_says_so_and_loads_no_model(report_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "_bot", lambda **_: pytest.fail("the model was loaded"))
    assert cli.main(["report"]) == 0
    assert capsys.readouterr().out.startswith("no questions logged yet")
    assert not report_env.exists()
    assert cli.main(["report", "--days", "0"]) == 2
