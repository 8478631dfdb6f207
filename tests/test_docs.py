"""docs/ documents what a user, mentor or admin can reach: every CLI command, API route and setting (as datasette does)."""
from __future__ import annotations

import argparse
import ast
import re
from dataclasses import fields

import pytest

from bot.cli import _parser
from bot.config import ROOT, Settings

DOCS = ROOT / "docs"
TEXT = "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md")))
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands(parser: argparse.ArgumentParser, prefix: str = "") -> list[str]:
    """Every command path of the CLI: 'ask', 'store recover', ..."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(f"{prefix}{name}")
                found += commands(sub, f"{prefix}{name} ")
    return found


def routes() -> list[str]:
    """'POST /v1/ask', ... read from the decorators in bot/serve/api.py (no app, no model)."""
    tree = ast.parse((ROOT / "bot" / "serve" / "api.py").read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for d in node.decorator_list:
                if (isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.args
                        and d.func.attr in ("get", "post", "put", "delete", "patch")
                        and isinstance(d.args[0], ast.Constant)):
                    found.append(f"{d.func.attr.upper()} {d.args[0].value}")
    return found


def test_commands_and_routes_are_found() -> None:
    assert {"ask", "serve", "store recover"} <= set(commands(_parser()))
    assert "POST /v1/ask" in routes()


@pytest.mark.parametrize("command", commands(_parser()))
def test_every_cli_command_is_documented(command: str) -> None:
    assert f"python -m bot {command}" in TEXT, f"`python -m bot {command}` is not in docs/: add it to docs/cli.md"


@pytest.mark.parametrize("route", routes())
def test_every_api_route_is_documented(route: str) -> None:
    method, path = route.split(" ", 1)
    shown = re.escape(method) + r" " + re.escape(path).replace(r"\{entry_id\}", r"\{(?:entry_)?id\}")
    assert re.search(shown, TEXT), f"`{route}` is not in docs/: add it to the routes table in docs/api.md"


@pytest.mark.parametrize("name", [f"BOT_{f.name.upper()}" for f in fields(Settings)])
def test_every_setting_is_documented(name: str) -> None:
    assert re.search(rf"`{name}`", TEXT), f"`{name}` is not in docs/: add a row to docs/configuration.md"


def test_the_readme_is_a_map_of_at_most_250_lines_with_pages_in_docs() -> None:
    assert len(README.splitlines()) <= 250
    pages = sorted(p.name for p in DOCS.glob("*.md"))
    assert len(pages) >= 4 and "architecture.md" in pages
    missing = [p for p in pages if f"docs/{p}" not in README]
    assert not missing, f"the README links no {missing}"


def test_relative_links_in_docs_resolve() -> None:
    broken = []
    for page in sorted(DOCS.glob("*.md")):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not re.match(r"[a-z]+:", target) and not (page.parent / target).exists():
                broken.append(f"{page.name}: {target}")
    assert not broken, broken
