"""Shared fixtures: the packaged knowledge base and the example records (copied into tests).

``fixtures/records/`` keeps the examples as release 1 wrote them (record v1, upgraded on read);
``fixtures/records_v2/`` holds copies of the longitudinal v2 examples in ``examples/``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from alscare import KnowledgeBase, PatientRecord, load_knowledge, parse_record_json

FIXTURES = Path(__file__).parent / "fixtures"
RECORDS = FIXTURES / "records"
RECORDS_V2 = FIXTURES / "records_v2"
_RECORDS_BY_VERSION = {1: RECORDS, 2: RECORDS_V2}

settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


def example(name: str, version: int = 1) -> PatientRecord:
    """One of the example records by its file stem, e.g. ``P-0001-limb-onset``: the v1 copy
    (upgraded on read) or, with ``version=2``, the v2 example."""
    folder = _RECORDS_BY_VERSION[version]
    return parse_record_json((folder / f"{name}.json").read_text(encoding="utf-8"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """With ALSCARE_REQUIRE_ALL=1 (CI) a skip is a failure: PostgreSQL and Chromium must run."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and _require_all():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, but CI requires every test to run: {reason}"


def _require_all() -> bool:
    return os.environ.get("ALSCARE_REQUIRE_ALL") == "1"
