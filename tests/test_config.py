"""Settings: defaults, BOT_* overrides, and errors that say which variable is wrong."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings, localhost_warning, sandbox_limits
from bot.errors import ConfigError


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOP_K", "5")
    monkeypatch.setenv("BOT_LOG_QUESTIONS", "off")
    monkeypatch.setenv("BOT_KB_DIR", "/tmp/somewhere")
    settings = load_settings()
    assert (settings.top_k, settings.log_questions, settings.kb_dir) == (5, False, Path("/tmp/somewhere"))


def test_keyword_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOP_K", "5")
    assert load_settings(top_k=7).top_k == 7


@pytest.mark.parametrize("name, value, message", [
    ("BOT_TOP_K", "three", "BOT_TOP_K='three' is not a valid whole number; unset it or give a whole number"),
    ("BOT_LOG_QUESTIONS", "maybe", "BOT_LOG_QUESTIONS='maybe' is not a valid true/false"),
    ("BOT_TOP_K", "0", "top_k must be >= 1, got 0"),
    ("BOT_INDEX_BACKEND", "annoy", "index_backend must be auto, faiss or numpy, got 'annoy'"),
    ("BOT_SANDBOX_ISOLATION", "docker", "sandbox_isolation must be auto, bubblewrap or limits, got 'docker'"),
    ("BOT_SANDBOX_DISK_MB", "0", "sandbox_disk_mb and sandbox_files must be >= 1, got 0 and 1000"),
])
def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings()


def test_unknown_keyword_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(top_kk=3)


def test_disk_settings_reach_the_sandbox_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_SANDBOX_DISK_MB", "20")
    monkeypatch.setenv("BOT_SANDBOX_FILES", "50")
    limits = sandbox_limits(load_settings())
    assert (limits.disk_mb, limits.files) == (20, 50)


def test_default_settings_warn_that_shared_links_point_to_localhost() -> None:
    warning = localhost_warning(load_settings(public_url="http://localhost:8501", api_base_url=""))
    assert warning is not None and "BOT_PUBLIC_URL is http://localhost:8501 and BOT_API_BASE_URL is unset" in warning


def test_a_local_api_base_url_is_named_too() -> None:
    warning = localhost_warning(load_settings(public_url="https://qa.example.org", api_base_url="http://127.0.0.1:8000"))
    assert warning is not None and "(BOT_API_BASE_URL is http://127.0.0.1:8000)" in warning


def test_public_addresses_give_no_warning() -> None:
    assert localhost_warning(load_settings(public_url="https://qa.example.org",
                                           api_base_url="https://api.example.org")) is None
