"""Hostile snippets the sandbox must contain: disk and file-count fillers, output lost at a stop, nested user
namespaces, and untrusted code on a machine where the only way to run it would be as root."""
from __future__ import annotations

import os

import pytest

from bot.datatypes import Limits
from bot.proofs import sandbox
from bot.proofs.sandbox import bubblewrap, describe_isolation, isolation_mode, run_code, seccomp_program

needs_bwrap = pytest.mark.skipif(bubblewrap() is None, reason="bubblewrap is not installed (apt-get install bubblewrap)")
SMALL_DISK = Limits(wall_seconds=8, cpu_seconds=6, disk_mb=20, files=200)
DISK_FILLER = "for i in range(10_000):\n    open(f'{FOLDER}/chunk{i}', 'wb').write(b'x' * 2**20)"
FILE_FILLER = "for i in range(1_000_000):\n    open(f'{FOLDER}/f{i}', 'w').close()"


@pytest.fixture(params=["bubblewrap", "limits"])
def isolation(request: pytest.FixtureRequest) -> str:
    if request.param == "bubblewrap" and bubblewrap() is None:
        pytest.skip("bubblewrap is not installed")
    return str(request.param)


@pytest.mark.parametrize("folder", ["/tmp", "."])
def test_a_disk_filler_is_stopped_at_the_disk_limit(isolation: str, folder: str) -> None:
    if isolation == "limits" and folder == "/tmp":
        pytest.skip("without bubblewrap /tmp is the host's; the check covers the snippet's folder and TMPDIR")
    result = run_code(DISK_FILLER.replace("{FOLDER}", folder), SMALL_DISK, isolation, curated=True)
    assert result.limit == "disk" and not result.ok
    assert result.message == "stopped: your code wrote more than 20 MB; save less (or print shapes) instead"


@needs_bwrap
def test_the_snippets_folder_and_tmp_share_one_bound() -> None:
    code = ("open('a', 'wb').write(b'x' * 6 * 2**20)\nprint('folder ok', flush=True)\n"
            "for i in range(3):\n    open(f'/tmp/b{i}', 'wb').write(b'x' * 6 * 2**20)")
    result = run_code(code, SMALL_DISK, "bubblewrap")
    assert result.stdout == "folder ok\n" and result.limit == "disk"


def test_a_file_count_filler_is_stopped(isolation: str) -> None:
    result = run_code(FILE_FILLER.replace("{FOLDER}", "."), SMALL_DISK, isolation, curated=True)
    assert result.limit == "files"
    assert result.message == "stopped: your code created more than 200 files; write fewer, bigger ones"


def test_a_few_files_within_the_limits_are_fine(isolation: str) -> None:
    code = "import numpy as np\nfor i in range(20):\n    np.save(f'w{i}.npy', np.ones((100, 100)))\nprint('saved')"
    result = run_code(code, SMALL_DISK, isolation, curated=True)
    assert result.ok and result.stdout == "saved\n"


def test_output_printed_before_a_timeout_is_kept(isolation: str) -> None:
    result = run_code("print('step 1 done')\nwhile True:\n    pass", Limits(wall_seconds=2, cpu_seconds=1),
                      isolation, curated=True)
    assert result.stdout == "step 1 done\n" and result.limit in ("cpu-time", "wall-time")


def test_output_printed_before_a_crash_is_kept(isolation: str) -> None:
    result = run_code("import os\nprint('before the crash')\nos.abort()", SMALL_DISK, isolation, curated=True)
    assert result.stdout == "before the crash\n" and result.message == "stopped by signal SIGABRT"


@needs_bwrap
def test_nested_user_namespaces_are_refused_inside_bubblewrap() -> None:
    code = ("import ctypes, subprocess\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "print(libc.unshare(0x10000000), ctypes.get_errno())\n"
            "print(subprocess.run(['unshare', '-rn', 'true']).returncode)")
    result = run_code(code, SMALL_DISK, "bubblewrap")
    assert result.ok and result.stdout == "-1 1\n1\n"  # EPERM, and unshare(1) fails


@needs_bwrap
def test_threads_and_subprocesses_still_work_under_the_filter() -> None:
    code = ("import subprocess, threading\nt = threading.Thread(target=print, args=('thread',))\nt.start()\nt.join()\n"
            "print(subprocess.run(['echo', 'child'], capture_output=True, text=True).stdout, end='')")
    result = run_code(code, SMALL_DISK, "bubblewrap")
    assert result.ok and result.stdout == "thread\nchild\n"


def test_the_filter_is_whole_instructions_and_none_for_an_unknown_machine() -> None:
    assert len(seccomp_program("x86_64")) == len(seccomp_program("aarch64")) == 12 * 8
    assert seccomp_program("riscv64") == b""


@pytest.mark.usefixtures("root_only")
def test_untrusted_code_is_refused_where_it_would_run_as_root() -> None:
    result = run_code("print('hi')")
    assert result.exit_code is None and result.stdout == "" and result.isolation == "limits only (as root)"
    assert result.message.startswith("refused: code that is not the KB's own never runs as root")
    assert "install bubblewrap or run the bot as a non-root user" in result.message


@pytest.mark.usefixtures("root_only")
def test_the_kbs_curated_snippets_still_run_there_with_limits_only() -> None:
    result = run_code("print(6 * 7)", curated=True)
    assert result.ok and result.stdout == "42\n" and result.isolation == "limits only (as root)"


@pytest.mark.usefixtures("root_only")
def test_the_root_only_mode_is_named_for_the_status_line() -> None:
    assert isolation_mode() == "limits only (as root)"
    assert describe_isolation().startswith("rlimits only, as root: the KB's snippets run, edited code is refused")


def test_an_unprivileged_interpreter_runs_untrusted_code_with_limits_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "bubblewrap", lambda: None)
    monkeypatch.setattr(sandbox, "_world_readable", lambda path: True)
    assert isolation_mode() == "limits only" and "unprivileged user" in describe_isolation()
    if os.geteuid() == 0:  # the interpreter is not really readable by nobody here: only the mode can be checked
        return
    result = run_code("print('hi')")
    assert result.ok and result.isolation == "limits only"
