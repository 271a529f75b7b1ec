"""Every refused or failed attempt on a patient is audited, in a transaction of its own, and its
audit row and answer hold no stored value (issue 11: a clinician learned a birth date exactly in
16 rejected PATCH requests, and nothing was audited because each write rolled back)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from alscare import services
from alscare.errors import NotFoundError, RecordError
from alscare.schemas.records import parse_record
from alscare.services import PermissionDeniedError
from alscare.storage.audit import AuditAction, AuditEvent
from alscare.storage.database import Database
from alscare.storage.repository import StoredRecordError
from alscare.storage.security import Actor, Channel, Role
from alscare.storage.tables import PatientRevisionRow
from tests.conftest_server import LiveServer
from tests.integration.test_pages import PageClient

BIRTH = dt.date(1961, 9, 14)
AUDITOR = Actor("refusal-auditor", Role.ADMIN, Channel.CLI)
VIEWER = Actor("refusal-viewer", Role.VIEWER, Channel.PAGES)


def _create(client: httpx.Client, patient_id: str, **fields: Any) -> None:
    response = client.post("/api/v1/patients", json={"id": patient_id, **fields})
    assert response.status_code == 201, response.text


def _trail(database: Database, patient_id: str) -> list[AuditEvent]:
    return services.audit_trail(database, AUDITOR, patient_id=patient_id, limit=500)


def _refusals(database: Database, patient_id: str) -> list[AuditEvent]:
    return [e for e in _trail(database, patient_id) if e.action == AuditAction.REFUSED]


def test_bisecting_the_birth_date_with_rejected_patches_is_audited_request_by_request(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    _create(clinician, "REF-1", birth_date=BIRTH.isoformat())
    low, high = dt.date(1900, 1, 1), dt.date(2020, 1, 1)
    rejected = 0
    while (high - low).days > 1:  # the attack of the issue: about 16 requests
        middle = low + (high - low) / 2
        response = clinician.patch("/api/v1/patients/REF-1", json={"diagnosis_date": str(middle)})
        if response.status_code == 422:
            rejected += 1
            low = middle
        else:
            assert response.status_code == 200, response.text
            high = middle
            undo = {"X-Change-Reason": "bisection probe undone"}
            assert clinician.patch(
                "/api/v1/patients/REF-1", json={"diagnosis_date": None}, headers=undo
            ).is_success
    refusals = _refusals(live_server.database, "REF-1")
    assert rejected > 5
    assert len(refusals) == rejected
    assert {(e.username, e.channel, e.detail) for e in refusals} == {
        ("clinician", "api", "update refused: invalid at /diagnosis_date")
    }


def test_a_refused_assessment_date_is_audited_without_the_dates(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    _create(clinician, "REF-2", birth_date=BIRTH.isoformat())
    before = (BIRTH - dt.timedelta(days=1)).isoformat()
    response = clinician.get("/api/v1/patients/REF-2/assessment", params={"as_of": before})
    assert response.status_code == 422
    assert "before the birth date" in response.text
    assert BIRTH.isoformat() not in response.text  # the stored birth date is not quoted
    (refusal,) = _refusals(live_server.database, "REF-2")
    assert refusal.detail == "assessment refused: invalid at /as_of"
    assert refusal.action == AuditAction.REFUSED


def test_a_stale_write_and_a_write_needing_a_reason_are_audited(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    _create(clinician, "REF-3", sex="female")
    stale = clinician.patch(
        "/api/v1/patients/REF-3", json={"death": None}, headers={"If-Match": '"7"'}
    )
    assert stale.status_code == 412
    unreasoned = clinician.patch("/api/v1/patients/REF-3", json={"sex": "male"})
    assert unreasoned.status_code == 422
    details = [e.detail for e in _refusals(live_server.database, "REF-3")]
    assert details == ["update refused: reason required", "update refused: stale revision"]


def test_a_look_at_an_unknown_patient_is_audited_under_the_id_asked_for(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    assert clinician.get("/api/v1/patients/REF-NOBODY").status_code == 404
    assert clinician.get("/api/v1/patients/REF-NOBODY/history").status_code == 404
    details = {e.detail for e in _refusals(live_server.database, "REF-NOBODY")}
    assert details == {"read refused: not found", "history refused: not found"}


def test_a_refusal_row_and_answer_hold_no_submitted_or_stored_value(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    _create(clinician, "REF-4", birth_date=BIRTH.isoformat())
    response = clinician.post(
        "/api/v1/patients/REF-4/weights", json={"date": "1950-02-03", "kg": 70.5}
    )
    assert response.status_code == 422
    (refusal,) = _refusals(live_server.database, "REF-4")
    for value in ("1950", "70.5", "1961"):
        assert value not in refusal.detail
    assert "1961" not in response.text  # the stored birth date is not quoted


def test_a_refused_role_is_audited(live_server: LiveServer) -> None:
    database = live_server.database
    services.create_patient(database, AUDITOR, parse_record({"id": "REF-5"}))
    entry = services.parse_entry("weights", {"date": "2024-01-01", "kg": 70})
    with pytest.raises(PermissionDeniedError):
        services.add_entry(database, VIEWER, "REF-5", "weights", entry)
    (refusal,) = _refusals(database, "REF-5")
    assert (refusal.username, refusal.channel, refusal.detail) == (
        "refusal-viewer",
        "pages",
        "update refused: not allowed for the role",
    )
    assert services.get_patient(database, AUDITOR, "REF-5").weights == ()


def test_a_failed_read_is_audited_as_failed(live_server: LiveServer) -> None:
    database = live_server.database
    services.create_patient(database, AUDITOR, parse_record({"id": "REF-6"}))
    with database.transaction() as session:
        session.execute(
            update(PatientRevisionRow)
            .where(PatientRevisionRow.patient_id == "REF-6")
            .values(record='{"schema": "alscare.patient/v2", "id": "REF-6", "sex": "robot"}')
        )
    fresh = Database(database.url.render_as_string(hide_password=False))  # no cached copy
    try:
        with pytest.raises(StoredRecordError):
            services.get_patient(fresh, AUDITOR, "REF-6")
    finally:
        fresh.dispose()
    (failed,) = [e for e in _trail(database, "REF-6") if e.action == AuditAction.FAILED]
    assert failed.detail == "read refused: failed (StoredRecordError)"


def test_an_accepted_write_leaves_no_refusal(live_server: LiveServer) -> None:
    database = live_server.database
    services.create_patient(database, AUDITOR, parse_record({"id": "REF-7"}))
    with pytest.raises(NotFoundError):
        services.get_patient(database, AUDITOR, "REF-7-other")
    with pytest.raises(RecordError):
        services.update_patient(database, AUDITOR, "REF-7", {"id": "REF-8"})
    entry = services.parse_entry("weights", {"date": "2024-01-01", "kg": 70})
    services.add_entry(database, AUDITOR, "REF-7", "weights", entry)
    actions = [e.action for e in reversed(_trail(database, "REF-7"))]
    assert actions == [AuditAction.CREATE, AuditAction.REFUSED, AuditAction.UPDATE]


def test_an_unlikely_weight_is_refused_without_quoting_the_stored_one(
    clinician: httpx.Client,
) -> None:
    _create(clinician, "REF-9", weights=[{"date": "2024-01-05", "kg": 63.4}])
    response = clinician.post(
        "/api/v1/patients/REF-9/weights", json={"date": "2024-02-05", "kg": 80}
    )
    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert problem["reason"] == (
        "80 kg is unlikely (more than 10 % above the previous weight) and needs confirmation: "
        "check it, then confirm it"
    )


def test_a_role_refused_by_the_api_before_any_service_is_audited(live_server: LiveServer) -> None:
    services.create_patient(live_server.database, AUDITOR, parse_record({"id": "REF-ROLE-API"}))
    with live_server.client("viewer") as viewer:
        weight = {"date": "2024-01-01", "kg": 70}
        response = viewer.post("/api/v1/patients/REF-ROLE-API/weights", json=weight)
    assert response.status_code == 403
    (refusal,) = _refusals(live_server.database, "REF-ROLE-API")
    assert (refusal.username, refusal.channel) == ("viewer", "api")
    assert refusal.detail == (
        "POST /api/v1/patients/{patient_id}/weights refused: not allowed for the role"
    )


def test_a_role_refused_by_a_page_is_audited(live_server: LiveServer) -> None:
    services.create_patient(live_server.database, AUDITOR, parse_record({"id": "REF-ROLE-PAGE"}))
    pages = PageClient(live_server)
    with pages.http:
        pages.log_in("viewer")
        response = pages.get("/patients/REF-ROLE-PAGE/visit")
    assert response.status_code == 403
    (refusal,) = _refusals(live_server.database, "REF-ROLE-PAGE")
    assert (refusal.username, refusal.channel) == ("viewer", "pages")
    assert refusal.detail.endswith("refused: not allowed for the role")
