"""The FHIR routes of the API against a real server, on SQLite and PostgreSQL: a patient out as
a Bundle, a Bundle in as the patient it belongs to."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx

from alscare import KnowledgeBase, assess, parse_record
from alscare.interop.fhir.bundle import export_bundle
from alscare.interop.fhir.record_out import record_resources
from alscare.schemas.patient import PatientRecord

EXAMPLES = Path(__file__).parents[2] / "examples"
AS_OF = "2025-02-01"


def _record(new_id: str, **changes: Any) -> PatientRecord:
    """The first example as a patient of its own: its id, and a hospital number of its own."""
    data = json.loads((EXAMPLES / "P-0001-limb-onset.json").read_text(encoding="utf-8"))
    identity = {"name": "Ada Example", "identifiers": [{"system": "MRN", "value": f"M-{new_id}"}]}
    return parse_record({**data, "id": new_id, "identity": identity, **changes})


def _bundle(record: PatientRecord) -> dict[str, Any]:
    entries = [{"resource": resource} for resource in record_resources(record)]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def _history_reasons(client: httpx.Client, patient_id: str) -> list[str | None]:
    history = client.get(f"/api/v1/patients/{patient_id}/history").json()
    return [entry["reason"] for entry in history]


def test_export_is_the_bundle_of_the_stored_record_and_its_assessment(
    clinician: httpx.Client, admin: httpx.Client, kb: KnowledgeBase
) -> None:
    record = _record("FHIR-OUT")
    assert clinician.post("/api/v1/patients", json=record.to_json_dict()).status_code == 201
    answer = clinician.get("/api/v1/patients/FHIR-OUT/fhir", params={"as_of": AS_OF})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/fhir+json"
    assessment = assess(record, as_of=dt.date.fromisoformat(AS_OF), kb=kb)
    assert answer.json() == export_bundle(record, assessment, kb=kb)
    audit = admin.get("/api/v1/audit", params={"patient_id": "FHIR-OUT"}).json()
    assert any(event["detail"] == f"FHIR export as of {AS_OF}" for event in audit)


def test_export_refuses_a_date_it_cannot_assess_on(clinician: httpx.Client) -> None:
    clinician.post("/api/v1/patients", json=_record("FHIR-DATE").to_json_dict())
    answer = clinician.get("/api/v1/patients/FHIR-DATE/fhir", params={"as_of": "1950-01-01"})
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["pointer"] == "/as_of"
    missing = clinician.get("/api/v1/patients/NO-SUCH/fhir", params={"as_of": AS_OF})
    assert missing.status_code == 404


def test_import_creates_then_revises_the_same_patient(clinician: httpx.Client) -> None:
    record = _record("FHIR-IN")
    created = clinician.post("/api/v1/fhir/import", json=_bundle(record))
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/v1/patients/FHIR-IN"
    assert created.json() == {
        "patient_id": "FHIR-IN",
        "revision": 1,
        "created": True,
        "unmapped": [],
    }
    assert clinician.get("/api/v1/patients/FHIR-IN").json() == record.to_json_dict()
    again = clinician.post("/api/v1/fhir/import", json=_bundle(record))
    assert again.status_code == 200 and again.json()["revision"] == 1  # nothing changed
    heavier = _record("FHIR-IN", weights=[{"date": "2025-01-10", "kg": 57.0}])
    revised = clinician.post(
        "/api/v1/fhir/import", json=_bundle(heavier), headers={"X-Change-Reason": "EHR sync"}
    )
    assert revised.status_code == 200 and revised.json()["revision"] == 2
    assert clinician.get("/api/v1/patients/FHIR-IN").json()["weights"] == [
        {"date": "2025-01-10", "kg": 57.0}
    ]
    assert _history_reasons(clinician, "FHIR-IN")[-1] == "EHR sync"


def test_import_finds_the_patient_by_hospital_number_and_keeps_what_the_ehr_did_not_send(
    clinician: httpx.Client,
) -> None:
    identity = {"name": "Ada Example", "identifiers": [{"system": "MRN", "value": "FHIR-MRN-7"}]}
    stored = _record("FHIR-MRN", identity=identity)
    assert clinician.post("/api/v1/patients", json=stored.to_json_dict()).status_code == 201
    from_ehr = parse_record(
        {
            "schema": "alscare.patient/v2",
            "id": "ehr-4471",
            "identity": identity,
            "weights": [{"date": "2025-01-10", "kg": 57.5}],
        }
    )
    answer = clinician.post("/api/v1/fhir/import", json=_bundle(from_ehr))
    assert answer.status_code == 200, answer.text
    assert answer.json()["patient_id"] == "FHIR-MRN" and answer.json()["revision"] == 2
    now = clinician.get("/api/v1/patients/FHIR-MRN").json()
    assert now["weights"] == [{"date": "2025-01-10", "kg": 57.5}]
    assert now["examinations"] == stored.to_json_dict()["examinations"]
    assert _history_reasons(clinician, "FHIR-MRN")[-1] == "FHIR import"
    assert clinician.get("/api/v1/patients/ehr-4471").status_code == 404


def test_import_of_invalid_fhir_is_422_naming_the_resource_and_stores_nothing(
    clinician: httpx.Client,
) -> None:
    bundle = _bundle(_record("FHIR-BAD"))
    bundle["entry"][0]["resource"]["birthDate"] = "the sixties"
    answer = clinician.post("/api/v1/fhir/import", json=bundle)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert any("birthDate" in p["pointer"] for p in answer.json()["problems"])
    assert clinician.get("/api/v1/patients/FHIR-BAD").status_code == 404


def test_import_that_makes_an_invalid_record_is_422_and_stores_nothing(
    clinician: httpx.Client,
) -> None:
    late = _record("FHIR-LATE", weights=[{"date": "2999-01-01", "kg": 60.0}])
    answer = clinician.post("/api/v1/fhir/import", json=_bundle(late))
    assert answer.status_code == 422
    assert clinician.get("/api/v1/patients/FHIR-LATE").status_code == 404


def test_viewers_cannot_import(api_client: Any) -> None:
    answer = api_client("viewer").post("/api/v1/fhir/import", json=_bundle(_record("FHIR-V")))
    assert answer.status_code == 403
