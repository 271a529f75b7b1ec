"""Schema fuzzing: schemathesis sends requests generated from the app's own OpenAPI document to
a real server (``live_server``, loopback only) on SQLite and PostgreSQL, as an admin (the role
that may call every operation), and checks every answer.

Every operation of the document gets :data:`EXAMPLES_PER_OPERATION` requests that fit its
schema and as many that do not (wrong types, missing fields, odd strings), so well over
:data:`MIN_REQUESTS` in all, a bounded number: the run ends by count, never by a clock. Half of
the requests on a patient's routes name a stored patient, so they reach the record, the engine
and the audit rather than stopping at 404. The checks are those of the issue's audit: no 5xx,
every body valid against the documented response schema, and the documented status codes,
content types and headers. Every failure of every operation is collected and shown together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import CHECKS
from schemathesis.core.failures import FailureGroup

from alscare import services
from alscare.storage.security import Actor, Channel, Role
from tests.conftest import example
from tests.conftest_server import LiveServer

EXAMPLES_PER_OPERATION: Final = 25
MIN_REQUESTS: Final = 1_000
STORED_PATIENT: Final = "FUZZ-0001"
CHECK_NAMES: Final = (
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
)
_SEEDER: Final = Actor("fuzz-setup", Role.ADMIN, Channel.CLI)
# Logging out revokes the token it is sent with: it gets a token of its own, so the admin's
# stays valid for every other operation.
_OWN_TOKEN: Final = {"POST /api/v1/auth/logout": "clinician"}


@dataclass
class FuzzRun:
    """What the fuzzing sent and what failed, per operation."""

    requests: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    #: The status of a read of the stored patient with the admin's token after the run.
    read_after: int = 0


def _checks() -> list[Any]:
    return [CHECKS.get_one(name) for name in CHECK_NAMES]


def _on_stored_patient(case_strategy: st.SearchStrategy[Case]) -> st.SearchStrategy[Case]:
    """Cases whose ``patient_id``, when they have one, names the stored patient half the time."""

    def aim(case: Case, stored: bool) -> Case:
        if stored and case.path_parameters and "patient_id" in case.path_parameters:
            case.path_parameters["patient_id"] = STORED_PATIENT
        return case

    return st.builds(aim, case_strategy, st.booleans())


def _fuzz_operation(
    operation: Any, mode: GenerationMode, send: Callable[[Case], None]
) -> str | None:
    """Run the operation's generated cases; the failure (shrunk by Hypothesis) or None."""

    @given(case=_on_stored_patient(operation.as_strategy(generation_mode=mode)))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case) -> None:
        send(case)

    try:
        run()
    except Unsatisfiable:
        # Nothing of the operation can be made invalid (no parameters, or only free strings):
        # its negative run has no cases, and its positive run stands.
        assert mode is GenerationMode.NEGATIVE, "no valid request could be generated"
        return None
    except (Exception, FailureGroup) as error:  # every operation runs, failures reported together
        return f"{type(error).__name__}: {error}"
    return None


def fuzz(server: LiveServer) -> FuzzRun:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    checks = _checks()
    outcome = FuzzRun()
    session = requests.Session()

    def sender(label: str) -> Callable[[Case], None]:
        token = server.token(_OWN_TOKEN.get(label, "admin"))
        headers = {"Authorization": f"Bearer {token}"}

        def send(case: Case) -> None:
            outcome.requests += 1
            case.call_and_validate(
                base_url=server.url, session=session, headers=headers, checks=checks, timeout=60
            )

        return send

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failure = _fuzz_operation(operation, mode, sender(operation.label))
            if failure is not None:
                outcome.failures[f"{operation.label} ({mode.value})"] = failure
    with server.client("admin") as admin:
        outcome.read_after = admin.get(f"/api/v1/patients/{STORED_PATIENT}").status_code
    return outcome


@pytest.fixture(scope="module")
def fuzzed(live_server: LiveServer) -> FuzzRun:
    record = example("P-0004-sod1-late", version=2).model_copy(update={"id": STORED_PATIENT})
    services.create_patient(live_server.database, _SEEDER, record)
    return fuzz(live_server)


def test_fuzz_api_every_operation_no_server_error_or_schema_violation(fuzzed: FuzzRun) -> None:
    report = "\n\n".join(f"{label}:\n{failure}" for label, failure in fuzzed.failures.items())
    assert not fuzzed.failures, f"{len(fuzzed.failures)} operations failed:\n\n{report}"


def test_fuzz_api_sends_at_least_the_minimum(fuzzed: FuzzRun) -> None:
    assert fuzzed.requests >= MIN_REQUESTS


def test_fuzz_api_runs_authenticated_to_the_end(fuzzed: FuzzRun) -> None:
    # Had a generated request ended the admin's token, every later operation would have been
    # fuzzed as anonymous (401) only.
    assert fuzzed.read_after == 200
