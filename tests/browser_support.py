"""Start the chat with `streamlit run` (or the API, or a static page) on a free localhost port, and a headless
Debian Chromium to drive it."""
from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out, and this machine refuses every call.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def streamlit_server(db_path: Path, timeout: float = 90.0) -> Iterator[str]:
    """Yield the base URL of a running chat; stop it (and its children) afterwards."""
    port = free_port()
    env = {**os.environ, "BOT_TORCH_THREADS": "1", "BOT_DB_PATH": str(db_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start on {url}") from None
                time.sleep(0.25)
        yield url
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()


class ServedApp:
    """An ASGI app served by uvicorn in a thread on 127.0.0.1 (a free port), as `bot serve` runs it."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        """Start, and wait until the app's bot is loaded (/readyz 200)."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                if urllib.request.urlopen(f"{self.url}/readyz", timeout=2).status == 200:
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the API did not get ready on {self.url}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop listening: connections to the port are refused from now on."""
        self.server.should_exit = True
        self.thread.join(10)


@contextmanager
def api_server(app: Any) -> Iterator[ServedApp]:
    served = ServedApp(app)
    served.start()
    try:
        yield served
    finally:
        served.stop()


@contextmanager
def page_server(pages: dict[str, str]) -> Iterator[str]:
    """Serve `pages` (path -> HTML, read at each request) on a free 127.0.0.1 port; yield its base URL."""

    class Pages(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
