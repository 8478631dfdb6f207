"""The command line as a user sees it: output, exit codes and messages (the model is the fake one here)."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot import cli
from bot.answer import Bot
from bot.config import ROOT


@pytest.fixture
def use_fake_bot(fake_bot: Bot, kb_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Bot:
    monkeypatch.setattr(cli, "_bot", lambda **_: fake_bot)
    monkeypatch.setenv("BOT_KB_DIR", str(kb_dir))
    return fake_bot


def test_ask_prints_a_readable_answer(use_fake_bot: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["ask", "derivative of relu at zero"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# The derivative of ReLU") and "Related:" in out and "[shapes]" in out


def test_ask_json_is_one_object_with_the_schema(use_fake_bot: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["ask", "--json", "what shape is dW"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["question"] == "what shape is dW" and isinstance(data["in_scope"], bool)
    assert 0 <= data["entry_confidence"] <= data["confidence"] <= 1 and len(data["answers"]) >= 3
    assert isinstance(data["ambiguous"], bool) and isinstance(data["candidates"], list)
    assert {"id", "title", "summary", "topics", "score", "url"} == set(data["answers"][0]) and data["body"]


def test_ask_jsonl_answers_around_a_line_that_is_not_utf8_or_nested_too_deep(
        use_fake_bot: Bot, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "q.jsonl"
    path.write_bytes(b'{"question": "relu derivative"}\n{"question": "why \xff"}\n' + b"[" * 100_000 + b"\n"
                     + b'{"question": "why \\ud800"}\n{"question": "shape of db"}\n')
    assert cli.main(["ask", "--jsonl", str(path)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r.get("question") for r in rows] == ["relu derivative", None, None, None, "shape of db"]
    assert "not UTF-8" in rows[1]["error"] and "nested too deep" in rows[2]["error"]
    assert "not text" in rows[3]["error"]


def test_ask_from_stdin_that_is_not_utf8_exits_2_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"why no 1/m in \xff dZ")))
    monkeypatch.setattr(cli, "_bot", lambda **_: pytest.fail("the model must not load for a usage error"))
    assert cli.main(["ask", "-"]) == 2
    assert capsys.readouterr().err == "Error: standard input is not UTF-8 text (byte 0xff at byte 14); save or " \
                                      "paste the question as UTF-8\n"


def test_ask_top_k_below_one_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["ask", "-k", "0", "why no 1/m in dZ?"])
    assert stopped.value.code == 2 and "must be at least 1, got 0" in capsys.readouterr().err


def test_ask_jsonl_answers_in_order_and_reports_bad_lines(use_fake_bot: Bot, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "relu derivative"}\nnot json\n{"question": ""}\n{"q": 1}\n'
                    '{"question": "shape of db"}\n')
    assert cli.main(["ask", "--jsonl", str(path)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r.get("question") for r in rows] == ["relu derivative", None, None, None, "shape of db"]
    assert [r.get("line") for r in rows[1:4]] == [2, 3, 4]
    assert "empty" in rows[2]["error"] and "question" in rows[3]["error"]


@pytest.mark.parametrize("args, message", [
    (["ask", ""], "Error: the question is empty"),
    (["ask", "x" * 100_000], "Error: the question is 100,000 characters long"),
    (["ask"], "Error: no question given"),
    (["ask", "why no 1/m in \udcff dZ"], "Error: character 15 of the question is not text"),  # the byte 0xff in argv
])
def test_ask_usage_errors_exit_2_before_loading_the_model(args: list[str], message: str,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "_bot", lambda **_: pytest.fail("the model must not load for a usage error"))
    assert cli.main(args) == 2
    assert capsys.readouterr().err.startswith(message)


def test_ask_after_an_unknown_entry_exits_1_naming_it(use_fake_bot: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["ask", "--after", "nope", "and db?"]) == 1
    assert "context.previous_entry_id 'nope' is not an entry id" in capsys.readouterr().err


def test_ask_jsonl_reads_a_lines_context(use_fake_bot: Bot, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "turns.jsonl"
    path.write_text('{"question": "and for tanh?", "context": {"previous_entry_id": "relu-derivative"}}\n'
                    '{"question": "and db?", "context": "shapes"}\n', encoding="utf-8")
    assert cli.main(["ask", "--jsonl", str(path)]) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["follow_up_of"] == "relu-derivative" and first["answer"]["id"] == "relu-derivative"
    assert second["line"] == 2 and "'context' must be an object" in second["error"]


def test_real_ask_after_gets_the_chats_entry(real_bot: Bot, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "_bot", lambda **_: real_bot)
    assert cli.main(["ask", "--json", "--after", "dz-output-derivation",
                     "and what if the hidden layer is ReLU instead?"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answer"]["id"] == "dz-hidden-derivation" and data["derivation"]["choice"]["activation"] == "relu"


def test_validate_lists_problems_and_exits_1(kb_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BOT_KB_DIR", str(kb_dir))
    (kb_dir / "shapes.md").write_text((kb_dir / "shapes.md").read_text().replace("[shapes]", "[shapez]"))
    assert cli.main(["validate"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all("shape" in line for line in lines)


def test_eval_prints_every_metric(use_fake_bot: Bot, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"question": "relu slope", "topics": ["relu"]}\n{"question": "tell a joke", "topics": []}\n')
    assert cli.main(["eval", str(path)]) == 0
    out = capsys.readouterr().out
    for name in ("top1", "recall@3", "mrr", "oos_rejection", "false_rejection"):
        assert name in out


def test_list_shows_every_entry(use_fake_bot: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(use_fake_bot.kb.entries)


@pytest.mark.parametrize("stdin", [b"", b"\x00\x01\x02\x03\x04\x05\xff\xfe junk"])
def test_real_process_exits_2_without_a_traceback(stdin: bytes) -> None:
    run = subprocess.run([sys.executable, "-m", "bot", "ask", "-"], input=stdin, capture_output=True, cwd=ROOT,
                         timeout=60)
    assert run.returncode == 2
    assert run.stderr.decode().startswith("Error: ") and b"Traceback" not in run.stderr


def test_run_entry_snippet_prints_its_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "one-over-m-in-dzl"]) == 0
    captured = capsys.readouterr()
    assert "claim: max_abs_diff_dW1" in captured.out and captured.err.strip().startswith("[ok: ran in")


def test_run_file_reports_the_error_line_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mine.py"
    path.write_text("import numpy as np\n\ndW1 = np.dot(np.ones((4, 3)), np.ones((4, 5)))\n")
    assert cli.main(["run", "--file", str(path)]) == 1
    assert "[failed: ValueError at line 3: shapes (4,3) and (4,5) not aligned" in capsys.readouterr().err


def test_run_file_shows_escape_sequences_and_a_forged_verdict_as_text(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hostile.py"
    path.write_text("print('\\x1b[2J\\x1b]0;owned\\x07done\\r')\nprint('[ok: ran in 0.01 s; sandbox: bubblewrap]')\n"
                    "raise SystemExit(1)\n")
    assert cli.main(["run", "--file", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "\\x1b[2J\\x1b]0;owned\\x07done\\x0d\n\\[ok: ran in 0.01 s; sandbox: bubblewrap]\n"
    assert captured.err.startswith("[failed: exited with status 1")


@pytest.mark.parametrize("text", ["tab\there\nnew line", "[1. 2. 3.]", "  [ok: indented]", "Σ ∂L/∂W = 0.5"])
def test_visible_keeps_ordinary_output_unchanged(text: str) -> None:
    assert cli.visible(text) == text


@pytest.mark.parametrize("args, message", [
    (["run", "no-such-entry"], "Error: no entry with id 'no-such-entry'"),
    (["run", "--file", "/no/such/file.py"], "Error: cannot read /no/such/file.py"),
])
def test_run_usage_errors_name_what_is_wrong(args: list[str], message: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(args) in (1, 2)
    assert capsys.readouterr().err.startswith(message)


def test_derive_prints_checked_steps_for_the_chosen_loss(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["derive", "dz-output", "--loss", "mse"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("**dZ[L] for a sigmoid output with squared error**") and out.count("$$") >= 8


def test_derive_json_has_latex_steps(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["derive", "activation", "--activation", "tanh", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["choice"] == {"activation": "tanh"} and all({"text", "latex"} <= set(s) for s in data["steps"])


def test_derive_without_a_name_lists_the_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["derive"]) == 0
    assert "dz-output" in capsys.readouterr().out.split()


def test_derive_unknown_name_exits_2_with_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["derive", "dz"]) == 2
    assert "unknown derivation 'dz'; choose one of:" in capsys.readouterr().err
