"""A throwaway PostgreSQL cluster for the tests: initdb in a folder under /tmp, the server on a free loopback port,
run as the unprivileged `postgres` user when we are root (PostgreSQL refuses to run as root); stopped by its PID."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

START_TIMEOUT_S = 30.0


def find_bindir() -> Path | None:
    """Where initdb and postgres are: PATH, else Debian's versioned folder (/usr/lib/postgresql/<n>/bin)."""
    if (initdb := shutil.which("initdb")) and shutil.which("postgres"):
        return Path(initdb).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def unavailable() -> str | None:
    """Why a cluster cannot start here (a one-line skip reason), or None."""
    if find_bindir() is None:
        return "PostgreSQL server binaries not found (apt-get install postgresql, or put initdb on PATH)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run the server as (PostgreSQL refuses root)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
    """Send `sig` to one process we started, wait for it, and kill it if it outlives `timeout`."""
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class PgCluster:
    """initdb once; start(), stop() and restart() the server; url(db) for a database in it."""

    def __init__(self) -> None:
        bindir = find_bindir()
        assert bindir is not None, unavailable()
        self.bindir, self.port = bindir, free_port()
        self.root = Path(tempfile.mkdtemp(prefix="bot-pg-", dir="/tmp"))
        self.data, self.sockets = self.root / "data", self.root / "sockets"
        self.sockets.mkdir()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            for path in (self.root, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.process: subprocess.Popen[bytes] | None = None
        self._run([str(bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
                   "-E", "UTF8", "--locale=C"])
        self._databases = 0

    def _as_owner(self) -> dict[str, object]:
        return {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}

    def _run(self, argv: list[str]) -> None:
        subprocess.run(argv, cwd=self.root, check=True, capture_output=True, timeout=120,
                       **self._as_owner())  # type: ignore[call-overload]

    def start(self, fsync: bool = False) -> None:
        """Start the server and wait until it takes connections (fsync off unless asked: a test cluster, never
        kept; a benchmark asks for it, to compare with SQLite's synchronous=FULL)."""
        log = (self.root / "server.log").open("ab")
        self.process = subprocess.Popen(  # type: ignore[call-overload]
            [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.sockets),
             "-c", "listen_addresses=127.0.0.1", "-c", f"fsync={'on' if fsync else 'off'}", "-c", "max_connections=200"],
            cwd=self.root, stdout=log, stderr=subprocess.STDOUT, **self._as_owner())
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.accepting():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {(self.root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.05)

    def accepting(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.url("postgres"), connect_timeout=1).close()
            return True
        except psycopg.OperationalError:
            return False

    def stop(self, mode: str = "fast") -> None:
        """Stop the server by its PID: SIGINT is PostgreSQL's fast shutdown (rolls back, closes connections)."""
        if self.process is None:
            return
        stop_process(self.process, signal.SIGINT if mode == "fast" else signal.SIGKILL)
        self.process = None

    def restart(self, down_s: float = 0.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        self._databases += 1
        name = f"t{self._databases}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
