"""Run a snippet (curated or edited by a student) in a separate, limited process and report what happened.

The limits are the operating system's: rlimits set by prlimit(1) (CPU time, address space, file size, process
count), a new session killed as a whole at the wall-clock limit, an unprivileged user when we run as root, and,
where Debian's bubblewrap is installed, new namespaces: no network, no other processes, no new user namespaces, and a
file system that holds only the Python runtime and a size-bounded tmpfs for /sandbox and /tmp. Without bubblewrap the
rlimits still hold, but code that is not the KB's own never runs as root (see `isolation_mode`).
Over 300 lines: the isolation is one security boundary (bubblewrap, seccomp, rlimits, the verdict), read as a whole.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import platform
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

from bot.datatypes import Limits, RunResult

NOBODY = 65534
MAX_CODE_CHARS = 100_000
ENV = {  # the whole environment the snippet sees: no secrets, no proxies, no PYTHONPATH
    "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg",
}


@cache
def bubblewrap() -> str | None:
    """Path of a working bwrap, or None (it may be installed but refused by the kernel); probed once per process."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-net", "true"], capture_output=True, timeout=10)
    return path if probe.returncode == 0 else None


ISOLATIONS = ("auto", "bubblewrap", "limits")
ROOT_REFUSED = ("refused: code that is not the KB's own never runs as root, and this machine has neither a working "
                "bubblewrap (apt-get install bubblewrap) nor an interpreter the user nobody can run ({python}); "
                "install bubblewrap or run the bot as a non-root user")


def isolation_mode(setting: str = "auto") -> str:
    """What a snippet runs in under `setting`: "bubblewrap", "limits only", "limits only (as root)" or "none"."""
    if setting not in ISOLATIONS:
        raise ValueError(f"isolation must be auto, bubblewrap or limits, got {setting!r}")
    if setting != "limits" and bubblewrap():
        return "bubblewrap"
    if setting == "bubblewrap":
        return "none"
    return "limits only (as root)" if _runs_as_root() else "limits only"


def describe_isolation(setting: str = "auto") -> str:
    """One line for start-up logs, the chat's status line and /readyz: the isolation that is active."""
    return {
        "bubblewrap": "bubblewrap (no network, own file system, no new user namespaces) with rlimits",
        "limits only": "rlimits only, as an unprivileged user: no bubblewrap, so network and files are not isolated",
        "limits only (as root)": "rlimits only, as root: the KB's snippets run, edited code is refused "
                                 "(install bubblewrap)",
        "none": "none: BOT_SANDBOX_ISOLATION=bubblewrap but bubblewrap does not work here; nothing runs",
    }[isolation_mode(setting)]


def run_code(code: str, limits: Limits | None = None, isolation: str = "auto", curated: bool = False) -> RunResult:
    """Run `code` as a Python file in the sandbox; never raises for anything the code does.

    isolation: "auto" (bubblewrap when it works, else limits only), "bubblewrap" (refuse without it) or "limits".
    curated: the code is the KB's own, so it may run as root with limits only; anything else is refused there.
    """
    limits = limits or Limits()
    mode = isolation_mode(isolation)
    if not isinstance(code, str) or "\x00" in code:
        return _refused("the code must be plain text (it contains a NUL byte or is not text)")
    if len(code) > MAX_CODE_CHARS:
        return _refused(f"the code is {len(code):,} characters; the sandbox runs at most {MAX_CODE_CHARS:,}")
    if mode == "none":
        return _refused("bubblewrap is required by the settings but is not installed: apt-get install bubblewrap")
    if mode == "limits only (as root)" and not curated:
        return _refused(ROOT_REFUSED.format(python=os.path.realpath(sys.executable)), mode)
    bwrap = bubblewrap() if mode == "bubblewrap" else None
    with tempfile.TemporaryDirectory(prefix="sandbox-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        (work / "snippet.py").write_text(code, encoding="utf-8")
        uid = NOBODY if os.geteuid() == 0 and (bwrap or not _runs_as_root()) else None
        if uid is not None:
            os.chown(work, uid, uid)
        with open(Path(tmp) / "out", "w+b") as out, open(Path(tmp) / "err", "w+b") as err, \
                open(_seccomp_file(Path(tmp)), "rb") as seccomp:
            info: int | None = None  # bwrap writes the sandboxed process's pid here
            fds: list[int] = []
            if bwrap:
                info, info_write = os.pipe()
                fds = [info_write, *([seccomp.fileno()] if seccomp_program() else [])]  # none: unknown machine
            argv = _prlimit(limits, uid) + (_bwrap(bwrap, work, uid, limits, *fds) if bwrap else _setpriv(uid))
            env = ENV if bwrap else {**ENV, "TMPDIR": str(work)}  # tempfile's files then count against the disk
            start = time.monotonic()
            # -u: unbuffered, so what was printed before a timeout or a crash is in the file (-I ignores
            # PYTHONUNBUFFERED)
            proc = subprocess.Popen([*argv, sys.executable, "-I", "-u", "snippet.py"], cwd=work, env=env,
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
                                    pass_fds=fds)
            if fds:
                os.close(fds[0])
            watch = _DiskWatch(proc, limits, info, None if bwrap else work)
            watch.start()
            timed_out = _wait(proc, limits.wall_seconds)
            watch.stop()
            seconds = time.monotonic() - start
            stdout, cut_out = _read(out, limits.output_kb * 1024)
            stderr, cut_err = _read(err, limits.output_kb * 1024)
    status = proc.returncode
    if bwrap and status > 128:  # bwrap reports a child killed by signal N as 128 + N
        status = -(status - 128)
    limit: str | None
    disk = watch.hit or ("disk" if "No space left on device" in stderr else None)
    if disk is not None:
        limit, message = disk, _disk_message(disk, limits)
    else:
        limit, message = _verdict(status, timed_out, stderr, cut_out or cut_err, limits, seconds, bool(bwrap))
    if cut_out:
        stdout += f"\n[output cut at {limits.output_kb} KB]"
    return RunResult(stdout, stderr, status, seconds, limit, message, mode)


def _disk_message(limit: str, limits: Limits) -> str:
    if limit == "files":
        return f"stopped: your code created more than {limits.files:,} files; write fewer, bigger ones"
    return f"stopped: your code wrote more than {limits.disk_mb} MB; save less (or print shapes) instead"


class _DiskWatch(threading.Thread):
    """Kills the run when /sandbox and /tmp hold more than the limits: tmpfs's --size stops the bytes on its own,
    but nothing in bubblewrap bounds the number of files, and without bubblewrap nothing bounds either."""

    def __init__(self, proc: subprocess.Popen[bytes], limits: Limits, info: int | None, folder: Path | None):
        super().__init__(daemon=True)
        self.proc, self.limits, self.info, self.folder = proc, limits, info, folder
        self.hit: str | None = None  # "disk" or "files" once a limit was passed
        self.done = threading.Event()

    def stop(self) -> None:
        self.done.set()
        self.join()

    def run(self) -> None:
        try:
            usage = self._tmpfs() if self.info is not None else self._folder
            if usage is None:
                return
            while not self.done.wait(0.02):
                used, files = usage()
                if used >= self.limits.disk_mb * 2**20 or files > self.limits.files:
                    self.hit = "disk" if used >= self.limits.disk_mb * 2**20 else "files"
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    return
        except OSError:
            return  # the run ended while we looked
        finally:
            if self.info is not None:
                os.close(self.info)

    def _tmpfs(self) -> Callable[[], tuple[int, int]] | None:
        """Usage of the sandbox's tmpfs, seen through the sandboxed process's root; None if it never started."""
        raw = b""
        while chunk := os.read(self.info, 4096):  # type: ignore[arg-type]  # set when called
            raw += chunk
        try:
            pid = json.loads(raw)["child-pid"]
        except (ValueError, KeyError):
            return None
        path = f"/proc/{pid}/root/sandbox/tmp"  # the pid comes before the mounts: wait for them
        while not os.path.exists(path):
            if self.done.wait(0.005):
                return None
        first = os.statvfs(path)
        base = first.f_files - first.f_ffree  # the folder itself, tmp/ and snippet.py

        def usage() -> tuple[int, int]:
            fs = os.statvfs(path)
            return (fs.f_blocks - fs.f_bfree) * fs.f_frsize, fs.f_files - fs.f_ffree - base
        return usage

    def _folder(self) -> tuple[int, int]:
        """Bytes and entries under the snippet's folder (a walk that stops once past the file limit)."""
        used, files, todo = 0, -1, [str(self.folder)]  # -1: snippet.py is ours
        while todo and files <= self.limits.files:
            with os.scandir(todo.pop()) as entries:
                for entry in entries:
                    files += 1
                    info = entry.stat(follow_symlinks=False)
                    used += info.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        todo.append(entry.path)
        return used, files


def _refused(message: str, isolation: str = "none") -> RunResult:
    return RunResult("", "", None, 0.0, None, message, isolation)


def _runs_as_root() -> bool:
    """Whether a limits-only run would stay root: we are root and the user nobody cannot reach the interpreter."""
    return os.geteuid() == 0 and not _world_readable(sys.executable)


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


def _bwrap(bwrap: str, work: Path, uid: int | None, limits: Limits, info_fd: int,
           seccomp_fd: int | None = None) -> list[str]:
    """A file system of the OS's read-only runtime, the Python install and a bounded tmpfs; no network."""
    args = [bwrap, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev",
            "--info-fd", str(info_fd)]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    for system in ("/usr", "/bin", "/lib", "/lib64", "/etc/ld.so.cache", "/etc/alternatives"):
        if os.path.exists(system):
            args += ["--ro-bind", system, system]
    runtimes = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}
    # An interpreter under /tmp (a fresh clone in a temp folder, as CI makes) is bound inside /tmp, so /tmp cannot be
    # the symlink below: it gets a tmpfs of its own, mounted first, and the bound is split between the two.
    split = any(Path(runtime).is_relative_to("/tmp") for runtime in runtimes)
    disk = limits.disk_mb * 2**20 // (2 if split else 1)
    if split:
        args += ["--perms", "1777", "--size", str(disk), "--tmpfs", "/tmp"]
    for runtime in runtimes:
        for parent in reversed(Path(runtime).parents):
            if parent != Path("/") and not (split and parent == Path("/tmp")):
                args += ["--perms", "0755", "--dir", str(parent)]  # bwrap would make them 0700: unreadable
        args += ["--ro-bind", runtime, runtime]
    # one tmpfs of disk_mb for the snippet's folder and /tmp together (/tmp is a folder in it), never the host's disk
    args += ["--perms", "0777", "--size", str(disk), "--tmpfs", "/sandbox", "--perms", "1777", "--dir", "/sandbox/tmp",
             *([] if split else ["--symlink", "/sandbox/tmp", "/tmp"]),
             "--ro-bind", str(work / "snippet.py"), "/sandbox/snippet.py",
             "--chdir", "/sandbox", "--setenv", "HOME", "/sandbox"]
    if uid is not None:  # root outside: drop to nobody inside, so the process-count limit applies
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", *_setpriv(uid)[:-1], "--bounding-set=-all",
                 "--"]
    return args


# Nested user namespaces (`unshare -r` inside the sandbox) would give the snippet every capability in a namespace of
# its own: mounts (an unbounded tmpfs), and the kernel's less-trodden paths. bubblewrap's --disable-userns needs
# --unshare-user, whose mapping would make the sandbox's nobody the host's root (RLIMIT_NPROC does not bind root), so
# a seccomp filter refuses them instead: clone/unshare with CLONE_NEWUSER get EPERM, clone3 (whose flags a filter
# cannot read) gets ENOSYS and libc falls back to clone, and calls from another ABI (32-bit, x32) get ENOSYS.
CLONE_NEWUSER = 0x10000000
_ARCH = {"x86_64": (0xC000003E, 56, 272, 435), "aarch64": (0xC00000B7, 220, 97, 435)}  # audit arch, clone, unshare, clone3


@cache
def seccomp_program(machine: str | None = None) -> bytes:
    """The classic-BPF filter bubblewrap loads (--seccomp); an empty program (no filter) on unknown machines."""
    arch = _ARCH.get(machine or platform.machine())
    if arch is None:
        return b""
    audit, clone, unshare, clone3 = arch
    load, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, eperm, enosys = 0x7FFF0000, 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
    program = [  # (code, jump if true, jump if false, k); jumps count the instructions skipped
        (load, 0, 0, 4),                # 0: seccomp_data.arch
        (jeq, 0, 9, audit),             # 1: another ABI -> 11
        (load, 0, 0, 0),                # 2: seccomp_data.nr
        (jge, 7, 0, 0x40000000),        # 3: x32 system calls -> 11
        (jeq, 6, 0, clone3),            # 4: -> 11
        (jeq, 1, 0, unshare),           # 5: -> 7
        (jeq, 0, 2, clone),             # 6: -> 7, else -> 9
        (load, 0, 0, 16),               # 7: the low 32 bits of args[0]: the flags of both
        (jset, 1, 0, CLONE_NEWUSER),    # 8: -> 10
        (ret, 0, 0, allow),             # 9
        (ret, 0, 0, eperm),             # 10
        (ret, 0, 0, enosys),            # 11
    ]
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in program)


def _seccomp_file(folder: Path) -> Path:
    path = folder / "seccomp.bpf"
    path.write_bytes(seccomp_program())
    return path


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
