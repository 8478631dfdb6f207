"""Derivations kept on disk beside the index: SymPy (~1.5 s for the first one, ~0.3 s to import) runs once per
machine and version of the derivation code, not once per process."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
SOURCES = ("chain.py", "derive.py", "derivations.py")  # the code a derivation's steps come from


def code_version() -> str:
    """Changes whenever the code that builds or checks the steps does."""
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]


class DerivationCache:
    """derive(name, **choices).to_dict(), computed once and then read from `path` (None: memory only)."""

    def __init__(self, path: Path | None) -> None:
        self.path, self.version = path, code_version()
        self._lock = threading.Lock()
        self._results: dict[str, dict[str, Any]] = {}
        if path is not None:
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
                if saved.get("version") == self.version and isinstance(saved.get("results"), dict):
                    self._results = saved["results"]
            except (OSError, ValueError, AttributeError):
                pass  # missing, stale or damaged: derivations are computed again as they are asked for

    def get(self, name: str, choices: dict[str, str]) -> dict[str, Any]:
        """The derivation as a dict; ValueError (from derive) when it has no variant for these choices."""
        key = json.dumps([name, choices], sort_keys=True)
        if (hit := self._results.get(key)) is not None:
            return hit
        from bot.proofs.derive import derive  # SymPy: only when a derivation is not on disk yet

        result = derive(name, **choices).to_dict()  # type: ignore[arg-type]
        with self._lock:
            self._results[key] = result
            self._save()
        return result

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps({"version": self.version, "results": self._results}), encoding="utf-8")
            tmp.replace(self.path)
        except OSError as exc:  # a read-only checkout still derives; it just computes again next start
            log.warning("warning: could not save derivations to %s (%s)", self.path, exc)
