"""Which hostile snippets each isolation mode contains: prints one row per attack and mode.

    .venv/bin/python bench/hostile.py

"contained" means the attack failed or was stopped and this process (the sandbox's parent) is unharmed.
As root without bubblewrap the rlimits on processes and the file permissions do not bind, so the fork bomb and the
kill of the parent are not even tried in that mode.
"""
from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.sandbox import Limits, _world_readable, bubblewrap, run_code

LISTENER = socket.create_server(("127.0.0.1", 0))  # a real service on the host's loopback, for the socket attack
PORT = LISTENER.getsockname()[1]
HOME_FILE = Path.home() / "sandbox-hostile-probe.txt"
SECRET = Path(__file__).resolve().parent.parent / "bot" / "config.py"
ATTACKS = {
    "infinite loop": ("while True:\n    pass", lambda r: r.limit == "cpu-time"),
    "8 GB allocation": ("import numpy as np\nnp.ones((1024, 1024, 1024)).sum()", lambda r: r.limit == "memory"),
    "fork bomb": ("import os\nwhile True:\n    os.fork()", lambda r: r.limit == "processes"),
    "socket to 127.0.0.1": (f"import socket\ns = socket.socket()\ns.settimeout(2)\nprint(s.connect_ex(('127.0.0.1', {PORT})))",
                            lambda r: r.stdout.strip() != "0"),
    "write into home": (f"open({str(HOME_FILE)!r}, 'w').write('x')", lambda r: not HOME_FILE.exists()),
    "read a project file": (f"print(open({str(SECRET)!r}).read()[:20])", lambda r: not r.ok),
    "100 MB print flood": ("import sys\nfor _ in range(102400):\n    sys.stdout.write('x' * 1023 + '\\n')",
                           lambda r: r.limit == "output"),
    "os.kill of the parent": (f"import os, signal\nos.kill({os.getpid()}, signal.SIGKILL)", lambda r: not r.ok),
}


def main() -> None:
    unprivileged = os.geteuid() != 0 or _world_readable(sys.executable)
    modes = ["limits"] + (["bubblewrap"] if bubblewrap() else [])
    print(f"{'attack':24}" + "".join(f"{m:>26}" for m in modes))
    for name, (code, contained) in ATTACKS.items():
        row = f"{name:24}"
        for mode in modes:
            if mode == "limits" and not unprivileged and name in ("fork bomb", "os.kill of the parent"):
                row += f"{'not tried (needs bwrap)':>26}"
                continue
            result = run_code(code, Limits(wall_seconds=5, cpu_seconds=3), mode)
            row += f"{('contained' if contained(result) else 'NOT contained') + f' ({result.seconds:.1f} s)':>26}"
            HOME_FILE.unlink(missing_ok=True)
        print(row)


if __name__ == "__main__":
    main()
