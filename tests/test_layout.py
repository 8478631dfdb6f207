"""The tree is the architecture: imports only go down the layers, nothing imports in a cycle, bot/ stays small.

Layers, top to bottom (docs/architecture.md): the shells (bot.cli, bot.serve, app.py, pages/), the Bot (bot.answer
and its helpers), the concerns (bot.retrieval, bot.proofs, bot.lab, bot.mentors), the shared base (bot.datatypes,
bot.config) and bot.errors. An import sideways within a layer is allowed only when SIDEWAYS lists it.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.config import ROOT

LAYERS: dict[str, int] = {
    "bot": 0, "bot.errors": 0,  # `bot` itself holds only __version__
    "bot.config": 1, "bot.datatypes": 1,
    "bot.retrieval": 2, "bot.proofs": 2, "bot.lab": 2, "bot.mentors": 2,
    "bot.answer": 3, "bot.context": 3, "bot.chitchat": 3, "bot.evaluate": 3,
    "bot.cli": 4, "bot.__main__": 4, "bot.serve": 4, "app": 4, "pages": 4,
}
SIDEWAYS: dict[tuple[str, str], str] = {  # (importer, imported) -> why
    ("bot.config", "bot.datatypes"): "Settings builds the sandbox's Limits from BOT_* variables",
    ("bot.proofs", "bot.retrieval"): "a derivation reads the question with the KB's notation (retrieval.notation)",
    ("bot.lab", "bot.proofs"): "the lab runs the student's code in the sandbox and grades it against the oracle",
    ("bot.mentors", "bot.retrieval"): "the report and the phrasings read the KB and normalise as retrieval does",
    ("bot.answer", "bot.context"): "context is the Bot's helper: a follow-up read against the previous entry",
    ("bot.answer", "bot.chitchat"): "small talk is answered by the Bot before retrieval",
    ("bot.cli", "bot.serve"): "`python -m bot serve` starts the API",
    ("bot.__main__", "bot.cli"): "`python -m bot` is the CLI",
    ("app", "bot.serve"): "the chat renders answers and forum posts as the API does",
    ("pages", "bot.serve"): "the pages render answers as the chat does",
}
MAX_TOP_MODULES = 12
SOURCES = sorted([*ROOT.glob("bot/**/*.py"), ROOT / "app.py", *ROOT.glob("pages/*.py")])


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts)


MODULES = {module_name(p) for p in SOURCES}


def unit(module: str) -> str:
    """The layer entry a module belongs to: its package under bot/, or the module itself."""
    parts = module.split(".")
    if parts[0] == "pages":
        return "pages"
    if parts[0] == "bot" and len(parts) > 1 and f"bot.{parts[1]}" in LAYERS:
        return f"bot.{parts[1]}"
    return module


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import of a bot module in the file, wherever it is (lazy ones included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "bot"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.split(".")[0] == "bot":
            # `from bot.serve import render` imports the module bot.serve.render
            subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES]
            found += [(node.lineno, s) for s in subs] or [(node.lineno, node.module)]
    return found


GRAPH = {module_name(p): {m for _, m in imports(p)} for p in SOURCES}


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(m for m in MODULES if unit(m) not in LAYERS)
    assert not unplaced, f"no layer for {unplaced}: put each in a package, or add it to LAYERS in {__file__}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_only_go_down(path: Path) -> None:
    here = unit(module_name(path))
    wrong = []
    for line, module in imports(path):
        there = unit(module)
        if there == here or LAYERS.get(there, 99) < LAYERS.get(here, 99) or (here, there) in SIDEWAYS:
            continue
        kind = "up" if LAYERS.get(there, 99) > LAYERS.get(here, 99) else "sideways"
        wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module} ({kind}: {there} is layer "
                     f"{LAYERS.get(there)}, {here} is layer {LAYERS.get(here)})")
    assert not wrong, ("\n".join(wrong) + "\nmove the shared type down (bot/datatypes.py), pass a callable or a "
                       "Protocol, or, if the dependency is right, add it to SIDEWAYS with the reason")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of two or more modules (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_in_a_cycle() -> None:
    found = cycles(GRAPH)
    assert found == [], f"import cycles {found}: move what they share into a module below them"


def test_a_cycle_is_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_bot_keeps_at_most_twelve_modules_at_its_top() -> None:
    top = sorted(p.name for p in (ROOT / "bot").glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, f"{len(top)} modules directly in bot/ ({top}): move some into a package"


@pytest.mark.parametrize("package", sorted(p.parent for p in ROOT.glob("bot/*/__init__.py")), ids=lambda p: p.name)
def test_each_package_says_what_it_owns_and_may_import(package: Path) -> None:
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8"))) or ""
    assert "import" in doc, f"bot/{package.name}/__init__.py: say in its docstring what it owns and may import"
    assert f"bot.{package.name}" in LAYERS, f"bot/{package.name}/ has no layer: add it to LAYERS in {__file__}"


def test_tests_mirror_the_packages() -> None:
    packages = {p.parent.name for p in ROOT.glob("bot/*/__init__.py")}
    mirrored = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and any(p.glob("test_*.py"))}
    assert packages <= mirrored, f"no tests/<package>/ for {sorted(packages - mirrored)}"
