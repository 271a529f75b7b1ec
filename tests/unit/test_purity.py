"""The core stays pure: no I/O, clock, randomness or adapter imports in engine, schemas and the
knowledge models (only knowledge/loader.py reads files)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import alscare

PACKAGE = Path(alscare.__file__).parent
CORE = sorted(
    path
    for folder in ("engine", "schemas", "knowledge")
    for path in (PACKAGE / folder).rglob("*.py")
    if path.name != "loader.py"
)
FORBIDDEN = {
    "os",
    "pathlib",
    "socket",
    "subprocess",
    "logging",
    "random",
    "time",
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "httpx",
    "typer",
    "rich",
    "uvicorn",
    "io",
}
CLOCK_CALLS = {"today", "now", "utcnow"}


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _clock_calls(tree: ast.AST) -> set[str]:
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CLOCK_CALLS
    }


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_module_imports_nothing_impure(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert _imports(tree) & FORBIDDEN == set()
    assert _clock_calls(tree) == set()


def test_core_purity_check_catches_an_impure_module():
    tree = ast.parse("import os\nfrom datetime import date\nx = date.today()\n")
    assert _imports(tree) & FORBIDDEN == {"os"}
    assert _clock_calls(tree) == {"today"}


def test_public_api_all_is_sorted_and_exported():
    assert list(alscare.__all__) == sorted(alscare.__all__)
    assert all(hasattr(alscare, name) for name in alscare.__all__)
