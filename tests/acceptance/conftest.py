"""Browser fixtures: Debian's Chromium driven by Playwright against a real alscare server.

The server is ``tests.conftest_server.live_server`` (uvicorn on a free loopback port, accounts
``admin``, ``clinician`` and ``viewer``) on SQLite only: the pages do not depend on the
database backend, and the HTTP-level page tests in ``tests/integration/test_pages.py`` run on
PostgreSQL too. Chromium is never downloaded: without ``/usr/bin/chromium`` every browser test
is skipped with the reason (CI, with ALSCARE_REQUIRE_ALL=1, turns the skip into a failure).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from tests.conftest_server import Backend, database, live_server

__all__ = [
    "CHROMIUM",
    "SCREENSHOTS",
    "backend",
    "browser_context_args",
    "browser_type_launch_args",
    "database",
    "live_server",
]

CHROMIUM: Final = Path(os.environ.get("ALSCARE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)
# Screenshots for people to look at: test-results/ (git-ignored), which pytest-playwright empties
# at the start of every session; ALSCARE_SCREENSHOTS puts them elsewhere.
SCREENSHOTS: Final = Path(
    os.environ.get(
        "ALSCARE_SCREENSHOTS",
        Path(__file__).resolve().parents[2] / "test-results" / "screenshots",
    )
)
# A tablet in landscape: the size the clinic uses most.
TABLET: Final = {"width": 1180, "height": 820}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM} (apt-get install chromium); "
            "the browser tests need it and never download a browser"
        )
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": list(CHROMIUM_ARGS),
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": TABLET, "locale": "en-GB"}


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    path = tmp_path_factory.mktemp("sqlite") / "alscare.db"
    yield Backend("sqlite", f"sqlite:///{path}")
