"""The hazard log (docs/safety.md) and the security page (docs/security.md) name the test that
proves each control: every test they name exists, so a renamed or deleted test cannot leave a
control unproven in the log."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[2]
DOCS: Final = ("docs/safety.md", "docs/security.md")
_CITED: Final = re.compile(r"(tests/[\w/]+\.py)::(\w+)")


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


@pytest.mark.parametrize("doc", DOCS)
def test_every_test_the_page_cites_exists(doc: str) -> None:
    cited = _CITED.findall((ROOT / doc).read_text(encoding="utf-8"))
    assert len(cited) >= 20, "the page cites the tests that prove its controls"
    missing = [
        f"{file}::{name}"
        for file, name in sorted(set(cited))
        if not (ROOT / file).is_file() or name not in _test_names(ROOT / file)
    ]
    assert missing == []
