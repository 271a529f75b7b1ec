"""Identity never leaves the clinic: not in an assessment, not in the logs of a server that
handles a named patient, not in an export made with ``--deidentify`` (CLI) or
``deidentify=true`` (API), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from typing import Final

import pytest
from typer.testing import CliRunner

from alscare import services
from alscare.cli.app import app
from alscare.deidentify import deidentified
from alscare.engine.state import years_of_age
from alscare.schemas.patient import PatientRecord
from alscare.storage.audit import AuditAction
from alscare.web.app import _log_unhandled
from tests.conftest import example
from tests.conftest_server import ADMIN_ACTOR, Backend, LiveServer

NAME: Final = "Dora Example"
NUMBER: Final = "EX-100004"


@pytest.fixture(scope="module")
def named(live_server: LiveServer) -> PatientRecord:
    record = example("P-0004-sod1-late", version=2).model_copy(update={"id": "ID-0004"})
    assert record.identity is not None and record.identity.name == NAME
    services.import_records(live_server.database, ADMIN_ACTOR, [record])
    return record


def test_deidentified_record_keeps_the_course_and_the_age(named: PatientRecord) -> None:
    plain = deidentified(named)
    assert plain.identity is None and plain.birth_date is None
    first = min(when for _, when in named.dated_entries())
    assert named.birth_date is not None
    assert (plain.age_years, plain.age_on) == (int(years_of_age(named.birth_date, first)), first)
    assert plain.dated_entries() == named.dated_entries()
    assert plain.model_copy(update={"age_years": None, "age_on": None}) == named.model_copy(
        update={"identity": None, "birth_date": None}
    )
    text = json.dumps(plain.to_json_dict())
    assert NAME not in text and NUMBER not in text and str(named.birth_date) not in text


def test_api_export_deidentified_holds_no_identity_and_is_audited(
    live_server: LiveServer, named: PatientRecord
) -> None:
    with live_server.client("admin") as client:
        plain = client.get("/api/v1/export", params={"deidentify": "true"})
        full = client.get("/api/v1/export")
    assert plain.status_code == 200 and full.status_code == 200
    assert NAME in full.text and NUMBER in full.text  # the clinic's own export keeps it
    assert NAME not in plain.text and NUMBER not in plain.text
    assert str(named.birth_date) not in plain.text
    (exported,) = (record for record in plain.json() if record["id"] == named.id)
    assert "identity" not in exported and "birth_date" not in exported
    assert exported["age_years"] == 43
    events = services.audit_trail(
        live_server.database, ADMIN_ACTOR, patient_id=named.id, action=AuditAction.EXPORT
    )
    assert {event.detail for event in events} == {
        "record exported",
        "record exported, de-identified",
    }


def test_api_export_deidentify_is_for_admins(live_server: LiveServer, named: PatientRecord) -> None:
    with live_server.client("clinician") as client:
        response = client.get("/api/v1/export", params={"deidentify": "true"})
    assert response.status_code == 403


def test_cli_export_deidentified_holds_no_identity(
    backend: Backend, live_server: LiveServer, named: PatientRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALSCARE_DATABASE_URL", backend.url)
    runner = CliRunner()
    one = runner.invoke(app, ["db", "export", named.id, "--deidentify"])
    assert one.exit_code == 0, one.output
    exported = json.loads(one.stdout)
    assert exported["id"] == named.id and "identity" not in exported
    assert NAME not in one.stdout and NUMBER not in one.stdout
    every = runner.invoke(app, ["db", "export", "--deidentify"])
    assert every.exit_code == 0 and NAME not in every.stdout
    assert all("identity" not in record for record in json.loads(every.stdout))
    named_again = runner.invoke(app, ["db", "export", named.id])
    assert NAME in named_again.stdout


def test_identity_is_never_in_an_assessment_nor_in_the_logs(
    live_server: LiveServer, named: PatientRecord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with live_server.client("clinician") as client:
        assessment = client.get(
            f"/api/v1/patients/{named.id}/assessment", params={"as_of": "2025-02-01"}
        )
        client.get(f"/api/v1/patients/{named.id}/letter", params={"as_of": "2025-02-01"})
        client.get("/api/v1/patients", params={"search": "Dora"})
        client.get(f"/api/v1/patients/{named.id}/letter", params={"as_of": "1900-01-02"})
        client.post("/api/v1/patients", json={"id": "ID-BAD", "identity": {"name": NAME * 20}})
    with live_server.client() as anonymous:
        anonymous.post("/api/v1/auth/token", data={"username": NAME, "password": NUMBER})
    assert assessment.status_code == 200
    assert NAME not in assessment.text and NUMBER not in assessment.text
    assert NAME not in caplog.text and NUMBER not in caplog.text


def test_the_one_log_call_withholds_what_an_error_says(caplog: pytest.LogCaptureFixture) -> None:
    """The server logs only unexpected errors (web/app.py), by type and route, never their
    message, which may quote a record."""
    caplog.set_level(logging.ERROR, logger="alscare.web")
    try:
        raise ValueError(f"cannot store the record of {NAME} ({NUMBER})")
    except ValueError as error:
        _log_unhandled({"type": "http", "method": "POST"}, error)
    (logged,) = caplog.records
    assert "ValueError on POST" in logged.getMessage() and "message withheld" in caplog.text
    assert NAME not in caplog.text and NUMBER not in caplog.text
