"""Which hostile snippets each isolation mode contains: prints one row per attack and mode.

    .venv/bin/python bench/hostile.py

"contained" means the attack failed or was stopped and this process (the sandbox's parent) is unharmed; "refused"
means the sandbox would not run it (untrusted code as root, with limits only). Every attack runs as untrusted code.
"""
from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.datatypes import Limits
from bot.proofs.sandbox import bubblewrap, run_code

LISTENER = socket.create_server(("127.0.0.1", 0))  # a real service on the host's loopback, for the socket attack
PORT = LISTENER.getsockname()[1]
HOME_FILE = Path.home() / "sandbox-hostile-probe.txt"
SECRET = Path(__file__).resolve().parent.parent / "bot" / "config.py"
ATTACKS = {
    "infinite loop": ("while True:\n    pass", lambda r: r.limit in ("cpu-time", "wall-time")),  # wall first on a busy machine
    "8 GB allocation": ("import numpy as np\nnp.ones((1024, 1024, 1024)).sum()", lambda r: r.limit == "memory"),
    "fork bomb": ("import os\nwhile True:\n    os.fork()", lambda r: r.limit == "processes"),
    "socket to 127.0.0.1": (f"import socket\ns = socket.socket()\ns.settimeout(2)\nprint(s.connect_ex(('127.0.0.1', {PORT})))",
                            lambda r: r.stdout.strip() != "0"),
    "write into home": (f"open({str(HOME_FILE)!r}, 'w').write('x')", lambda r: not HOME_FILE.exists()),
    "read a project file": (f"print(open({str(SECRET)!r}).read()[:20])", lambda r: not r.ok),
    "100 MB print flood": ("import sys\nfor _ in range(102400):\n    sys.stdout.write('x' * 1023 + '\\n')",
                           lambda r: r.limit == "output"),
    "os.kill of the parent": (f"import os, signal\nos.kill({os.getpid()}, signal.SIGKILL)", lambda r: not r.ok),
    "disk filler (1 MB files)": ("for i in range(10000):\n    open(f'd{i}', 'wb').write(b'x' * 2**20)",
                                 lambda r: r.limit == "disk"),
    "file-count filler": ("for i in range(10**6):\n    open(f'f{i}', 'w').close()", lambda r: r.limit == "files"),
    "print, then loop forever": ("print('step 1 done')\nwhile True:\n    pass",
                                 lambda r: r.stdout == "step 1 done\n" and r.limit is not None),
    "nested user namespace": ("import subprocess\nprint(subprocess.run(['unshare', '-rn', 'true']).returncode)",
                              lambda r: r.stdout.strip() not in ("", "0")),
}


def main() -> None:
    modes = ["limits"] + (["bubblewrap"] if bubblewrap() else [])
    print(f"{'attack':24}" + "".join(f"{m:>26}" for m in modes))
    for name, (code, contained) in ATTACKS.items():
        row = f"{name:24}"
        for mode in modes:
            result = run_code(code, Limits(wall_seconds=5, cpu_seconds=3), mode)
            verdict = "refused" if result.exit_code is None else "contained" if contained(result) else "NOT contained"
            row += f"{verdict + f' ({result.seconds:.1f} s)':>26}"
            HOME_FILE.unlink(missing_ok=True)
        print(row)


if __name__ == "__main__":
    main()
