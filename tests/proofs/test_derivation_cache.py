"""Derivations on disk: computed once, read back by the next process, computed again when the code changes."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bot.proofs.derive
from bot.proofs.derivation_cache import DerivationCache


def no_sympy(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the derivation should have come from disk")


def test_a_derivation_is_read_back_from_disk_by_the_next_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = DerivationCache(tmp_path / "derivations.json").get("cost-mean", {})
    monkeypatch.setattr(bot.proofs.derive, "derive", no_sympy)
    assert DerivationCache(tmp_path / "derivations.json").get("cost-mean", {}) == first
    assert first["name"] == "cost-mean" and first["steps"]


def test_each_choice_is_its_own_derivation(tmp_path: Path) -> None:
    cache = DerivationCache(tmp_path / "derivations.json")
    tanh, relu = cache.get("activation", {"activation": "tanh"}), cache.get("activation", {"activation": "relu"})
    assert tanh["choice"] == {"activation": "tanh"} and relu["choice"] == {"activation": "relu"}


def test_a_file_from_other_derivation_code_is_not_used(tmp_path: Path) -> None:
    path = tmp_path / "derivations.json"
    path.write_text(json.dumps({"version": "older", "results": {json.dumps(["cost-mean", {}]): {"name": "stale"}}}))
    assert DerivationCache(path).get("cost-mean", {})["name"] == "cost-mean"


def test_a_damaged_file_is_ignored_and_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "derivations.json"
    path.write_bytes(b"\x00not json")
    assert DerivationCache(path).get("cost-mean", {})["name"] == "cost-mean"
    assert json.loads(path.read_text())["version"] == DerivationCache(path).version


def test_a_choice_the_derivation_lacks_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="softmax"):
        DerivationCache(None).get("activation", {"activation": "softmax"})
