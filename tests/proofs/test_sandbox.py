"""The sandbox: code runs in a limited process, every limit ends with a clear message, the caller is unharmed."""
from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from bot.datatypes import Limits
from bot.proofs.sandbox import _world_readable, bubblewrap, run_code

BWRAP = bubblewrap() is not None
needs_bwrap = pytest.mark.skipif(not BWRAP, reason="bubblewrap is not installed (apt-get install bubblewrap)")
# Without bubblewrap, only an unprivileged user makes RLIMIT_NPROC and file permissions bite (root bypasses them).
UNPRIVILEGED = os.geteuid() != 0 or _world_readable(sys.executable)
FAST = Limits(wall_seconds=4, cpu_seconds=2)


@pytest.fixture(params=["bubblewrap", "limits"])
def isolation(request: pytest.FixtureRequest) -> str:
    """Both modes; the tests that take it check the limits, which bind the KB's own (curated) snippets too, so they
    pass curated=True: as root without a reachable interpreter, limits-only refuses anything else."""
    if request.param == "bubblewrap" and not BWRAP:
        pytest.skip("bubblewrap is not installed")
    return str(request.param)


def test_numpy_snippet_runs_and_prints(isolation: str) -> None:
    result = run_code("import numpy as np\nprint(np.arange(4).sum())", FAST, isolation, curated=True)
    assert result.ok and result.stdout == "6\n" and result.message.startswith("ran in")


def test_infinite_loop_is_stopped_by_the_cpu_limit(isolation: str) -> None:
    result = run_code("while True:\n    pass", FAST, isolation, curated=True)
    assert result.limit == "cpu-time" and "CPU time" in result.message and not result.ok


def test_sleeping_code_is_stopped_by_the_wall_clock(isolation: str) -> None:
    result = run_code("import time\ntime.sleep(60)", Limits(wall_seconds=1), isolation, curated=True)
    assert result.limit == "wall-time" and result.message == "stopped after 1 s (the time limit): does your loop end?"
    assert result.seconds < 5


def test_8_gb_allocation_is_refused(isolation: str) -> None:
    result = run_code("import numpy as np\na = np.ones((1024, 1024, 1024))\nprint(a.sum())", FAST, isolation, curated=True)
    assert result.limit == "memory" and "more than 1024 MB" in result.message


def test_100_mb_print_flood_is_cut(isolation: str) -> None:
    code = "import sys\nline = 'x' * 1023 + '\\n'\nfor _ in range(100 * 1024):\n    sys.stdout.write(line)"
    result = run_code(code, FAST, isolation, curated=True)
    assert result.limit == "output" and len(result.stdout) < 70 * 1024
    assert result.stdout.endswith("[output cut at 64 KB]")


@pytest.mark.skipif(not (BWRAP or UNPRIVILEGED), reason="as root without bubblewrap, RLIMIT_NPROC does not apply")
def test_fork_bomb_is_contained() -> None:
    result = run_code("import os\nwhile True:\n    os.fork()", FAST)
    assert result.limit == "processes" and "more than 16 processes" in result.message


@needs_bwrap
def test_a_service_on_the_hosts_loopback_is_unreachable() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:  # listening: without isolation the connect succeeds
        port = server.getsockname()[1]
        result = run_code(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)", FAST,
                          "bubblewrap")
    assert not result.ok and "no network" in result.message


@needs_bwrap
def test_writing_into_the_home_folder_is_denied() -> None:
    home = Path.home() / "sandbox-escape-test.txt"
    result = run_code(f"open({str(home)!r}, 'w').write('x')", FAST, "bubblewrap")
    assert not result.ok and not home.exists()


@needs_bwrap
def test_project_files_are_invisible() -> None:
    result = run_code(f"print(open({__file__!r}).read())", FAST, "bubblewrap")
    assert not result.ok and "FileNotFoundError" in result.message


@needs_bwrap
def test_killing_the_parent_fails_and_the_parent_lives() -> None:
    code = f"import os, signal\nos.kill({os.getpid()}, signal.SIGKILL)\nos.kill(os.getppid(), signal.SIGKILL)"
    result = run_code(code, FAST, "bubblewrap")
    assert not result.ok and os.getpid() > 0  # we are still here to assert


def test_writes_land_in_a_fresh_folder_that_is_removed(isolation: str) -> None:
    first = run_code("import os\nopen('note.txt', 'w').write('hi')\nprint(os.getcwd())", FAST, isolation, curated=True)
    second = run_code("import os\nprint(os.path.exists('note.txt'))", FAST, isolation, curated=True)
    assert first.ok and second.stdout == "False\n"


def test_environment_is_stripped(isolation: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_SECRET_TOKEN", "hunter2")
    result = run_code("import os\nprint(sorted(os.environ))", FAST, isolation, curated=True)
    assert result.ok and "BOT_SECRET_TOKEN" not in result.stdout and "hunter2" not in result.stdout


@pytest.mark.parametrize("code, message", [
    ("def f(:\n    pass", "SyntaxError at line 1: invalid syntax"),
    ("x = 1\ny = x / 0", "ZeroDivisionError at line 2: division by zero"),
    ("import numpy as np\nnp.dot(np.ones((1, 3)), np.ones((4, 3)))",
     "ValueError at line 2: shapes (1,3) and (4,3) not aligned: 3 (dim 1) != 4 (dim 0)"),
    ("import sys\nsys.exit(3)", "exited with status 3"),
])
def test_errors_become_one_line_with_the_line_number(code: str, message: str) -> None:
    result = run_code(code, FAST)
    assert not result.ok and result.message == message


@pytest.mark.parametrize("code, message", [
    ("x" * 100_001, "the code is 100,001 characters; the sandbox runs at most 100,000"),
    ("print(1)\x00", "the code must be plain text"),
])
def test_unrunnable_input_is_refused_without_starting(code: str, message: str) -> None:
    result = run_code(code)
    assert result.exit_code is None and result.message.startswith(message)
