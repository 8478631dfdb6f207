"""Run a snippet (curated or edited by a student) in a separate, limited process and report what happened.

The limits are the operating system's: rlimits set by prlimit(1) (CPU time, address space, file size, process
count), a new session killed as a whole at the wall-clock limit, an unprivileged user when we run as root, and,
where Debian's bubblewrap is installed, new namespaces: no network, no other processes, and a file system that
holds only the Python runtime and a fresh temporary folder. Without bubblewrap the rlimits still hold.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

NOBODY = 65534
MAX_CODE_CHARS = 100_000
ENV = {  # the whole environment the snippet sees: no secrets, no proxies, no PYTHONPATH
    "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg",
}


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 10.0
    cpu_seconds: int = 10
    memory_mb: int = 1024  # address space; NumPy + Python need ~300 MB of it
    output_kb: int = 64  # shown to the student; the rest is cut with a note
    processes: int = 16  # new processes and threads the snippet may start
    file_mb: int = 8  # largest file it may write; also ends a print flood early


@dataclass(frozen=True)
class RunResult:
    stdout: str
    stderr: str
    exit_code: int | None  # None when it never started
    seconds: float
    limit: str | None  # "wall-time", "cpu-time", "memory", "output", "processes" or None
    message: str  # one line for the student
    isolation: str  # "bubblewrap" or "limits only"

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.limit is None


@cache
def bubblewrap() -> str | None:
    """Path of a working bwrap, or None (it may be installed but refused by the kernel); probed once per process."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-net", "true"], capture_output=True, timeout=10)
    return path if probe.returncode == 0 else None


def run_code(code: str, limits: Limits | None = None, isolation: str = "auto") -> RunResult:
    """Run `code` as a Python file in the sandbox; never raises for anything the code does.

    isolation: "auto" (bubblewrap when it works, else limits only), "bubblewrap" (refuse without it) or "limits".
    """
    limits = limits or Limits()
    if isolation not in ("auto", "bubblewrap", "limits"):
        raise ValueError(f"isolation must be auto, bubblewrap or limits, got {isolation!r}")
    if not isinstance(code, str) or "\x00" in code:
        return _refused("the code must be plain text (it contains a NUL byte or is not text)")
    if len(code) > MAX_CODE_CHARS:
        return _refused(f"the code is {len(code):,} characters; the sandbox runs at most {MAX_CODE_CHARS:,}")
    bwrap = bubblewrap() if isolation in ("auto", "bubblewrap") else None
    if isolation == "bubblewrap" and bwrap is None:
        return _refused("bubblewrap is required by the settings but is not installed: apt-get install bubblewrap")
    with tempfile.TemporaryDirectory(prefix="sandbox-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        (work / "snippet.py").write_text(code, encoding="utf-8")
        uid = NOBODY if os.geteuid() == 0 and (bwrap or _world_readable(sys.executable)) else None
        if uid is not None:
            os.chown(work, uid, uid)
        with open(Path(tmp) / "out", "w+b") as out, open(Path(tmp) / "err", "w+b") as err:
            argv = _prlimit(limits, uid) + (_bwrap(bwrap, work, uid) if bwrap else _setpriv(uid))
            start = time.monotonic()
            proc = subprocess.Popen([*argv, sys.executable, "-I", "snippet.py"], cwd=work, env=ENV,
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
            timed_out = _wait(proc, limits.wall_seconds)
            seconds = time.monotonic() - start
            stdout, cut_out = _read(out, limits.output_kb * 1024)
            stderr, cut_err = _read(err, limits.output_kb * 1024)
    status = proc.returncode
    if bwrap and status > 128:  # bwrap reports a child killed by signal N as 128 + N
        status = -(status - 128)
    limit, message = _verdict(status, timed_out, stderr, cut_out or cut_err, limits, seconds, bool(bwrap))
    if cut_out:
        stdout += f"\n[output cut at {limits.output_kb} KB]"
    return RunResult(stdout, stderr, status, seconds, limit, message,
                     "bubblewrap" if bwrap else "limits only")


def _refused(message: str) -> RunResult:
    return RunResult("", "", None, 0.0, None, message, "none")


def _world_readable(path: str) -> bool:
    """Whether an unprivileged user can reach the interpreter (pyenv under a private /root cannot)."""
    real = Path(os.path.realpath(path))
    return all(os.stat(p).st_mode & 0o005 == 0o005 for p in [*real.parents, real] if p != Path("/"))


def _processes_of(uid: int) -> int:
    """Tasks (processes and threads) `uid` runs now: RLIMIT_NPROC counts them all, not just the snippet's."""
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields["Threads"])
        except (OSError, KeyError, ValueError):
            continue  # the process ended while we looked
    return count


def _prlimit(limits: Limits, uid: int | None) -> list[str]:
    nproc = _processes_of(uid if uid is not None else os.getuid()) + limits.processes
    cpu = limits.cpu_seconds
    return ["prlimit", f"--cpu={cpu}:{cpu + 1}", f"--as={limits.memory_mb * 2**20}", f"--nproc={nproc}",
            f"--fsize={limits.file_mb * 2**20}", "--core=0", "--nofile=256", "--"]


def _setpriv(uid: int | None) -> list[str]:
    if uid is None:
        return []
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--"]


def _bwrap(bwrap: str, work: Path, uid: int | None) -> list[str]:
    """A file system of the OS's read-only runtime, the Python install and the snippet's folder; no network."""
    args = [bwrap, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev",
            "--tmpfs", "/tmp"]
    for system in ("/usr", "/bin", "/lib", "/lib64", "/etc/ld.so.cache", "/etc/alternatives"):
        if os.path.exists(system):
            args += ["--ro-bind", system, system]
    for runtime in {sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}:
        for parent in reversed(Path(runtime).parents):
            if parent != Path("/"):
                args += ["--perms", "0755", "--dir", str(parent)]  # bwrap would make them 0700: unreadable
        args += ["--ro-bind", runtime, runtime]
    args += ["--bind", str(work), "/sandbox", "--chdir", "/sandbox", "--setenv", "HOME", "/sandbox"]
    if uid is not None:  # root outside: drop to nobody inside, so the process-count limit applies
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", *_setpriv(uid)[:-1], "--bounding-set=-all",
                 "--"]
    return args


def _wait(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    """Wait up to `seconds`; then kill the whole session. True if the time ran out."""
    try:
        proc.wait(timeout=seconds)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # also whatever the snippet left running in its session
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
    return timed_out


def _read(handle: object, cap: int) -> tuple[str, bool]:
    handle.seek(0)  # type: ignore[attr-defined]
    data = handle.read(cap + 1)  # type: ignore[attr-defined]
    return data[:cap].decode("utf-8", errors="replace"), len(data) > cap


_ERROR = re.compile(r"^(\w+(?:Error|Exception|Interrupt|Exit)\w*)(?::\s*(.*))?$", re.MULTILINE)
_LINE = re.compile(r'File ".*snippet\.py", line (\d+)')


def _verdict(code: int | None, timed_out: bool, stderr: str, cut: bool, limits: Limits,
             seconds: float, isolated: bool) -> tuple[str | None, str]:
    """Which limit (if any) stopped the run, and one line for the student."""
    if timed_out:
        return "wall-time", f"stopped after {limits.wall_seconds:g} s (the time limit): does your loop end?"
    if code in (-signal.SIGXCPU, -signal.SIGKILL) and seconds >= limits.cpu_seconds * 0.9:
        return "cpu-time", f"stopped after {limits.cpu_seconds} s of CPU time: the computation is too heavy here"
    if code == -signal.SIGXFSZ or cut:
        return "output", (f"stopped: the output passed {limits.output_kb} KB (or a file passed {limits.file_mb} MB); "
                          "print shapes or a few values instead")
    if "MemoryError" in stderr or "Unable to allocate" in stderr:
        return "memory", (f"stopped: the code needs more than {limits.memory_mb} MB of memory; "
                          "use smaller arrays")
    if re.search(r"BlockingIOError|Resource temporarily unavailable|can't start new thread", stderr):
        return "processes", f"stopped: the code tried to start more than {limits.processes} processes or threads"
    if code == 0:
        return None, f"ran in {seconds:.2f} s"
    if code is not None and code < 0:
        return None, f"stopped by signal {signal.Signals(-code).name}"
    errors = _ERROR.findall(stderr)
    if not errors:
        return None, f"exited with status {code}"
    name, detail = errors[-1]
    lines = _LINE.findall(stderr)
    where = f" at line {lines[-1]}" if lines else ""
    if name == "SyntaxError":
        where = f" at line {m[1]}" if (m := re.search(r"line (\d+)", stderr)) else where
    hint = ""
    if not isolated:
        pass
    elif re.search(r"Connection|socket|Network|gaierror", name + detail):
        hint = " (the sandbox has no network)"
    elif name in ("PermissionError", "FileNotFoundError", "OSError") and "Errno" in detail:
        hint = " (the sandbox sees only its own folder and the Python runtime)"
    return None, f"{name}{where}: {detail}{hint}".rstrip(": ")
