"""The JSON API against a real server (uvicorn on loopback) on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from typer.testing import CliRunner

from alscare import KnowledgeBase, parse_record
from alscare.assessment_dates import clinic_latest
from alscare.cli.app import app as cli_app
from alscare.knowledge.document import topic_document
from alscare.schemas.records import parse_record_v1
from alscare.schemas.upgrade import upgrade
from alscare.services import EARLIEST_AS_OF, FUTURE_DATE, LATEST_AS_OF, today
from alscare.web.api import ENTRY_ENDPOINTS
from tests.conftest_server import LiveServer
from tests.integration.strategies import FULL_RECORD, FULL_RECORD_V1, rating

EXAMPLES = Path(__file__).parents[2] / "examples"
AS_OF = "2025-02-01"


def _example(name: str, new_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    data["id"] = new_id
    return data


def _problems(response: httpx.Response) -> list[dict[str, str]]:
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    problems: list[dict[str, str]] = body["problems"]
    assert all(set(problem) == {"pointer", "reason"} for problem in problems)
    return problems


def test_create_patient_returns_201_and_reads_back_identical(clinician: httpx.Client) -> None:
    record = {**FULL_RECORD, "id": "API-1"}
    created = clinician.post("/api/v1/patients", json=record)
    assert created.status_code == 201
    assert created.headers["location"] == "/api/v1/patients/API-1"
    read = clinician.get("/api/v1/patients/API-1")
    assert read.status_code == 200
    assert read.json() == created.json() == parse_record(record).to_json_dict()
    assert read.json()["examinations"] == record["examinations"]


def test_create_patient_from_a_v1_body_stores_and_answers_v2(clinician: httpx.Client) -> None:
    body = {**FULL_RECORD_V1, "id": "API-V1"}
    created = clinician.post("/api/v1/patients", json=body)
    assert created.status_code == 201
    expected = upgrade(parse_record_v1(body)).to_json_dict()
    assert created.json() == expected
    stored = clinician.get("/api/v1/patients/API-V1").json()
    assert stored == expected
    assert stored["schema"] == "alscare.patient/v2"
    assert "exam" not in stored and stored["examinations"][0]["regions"]["bulbar"]["weakness"]


def test_create_patient_duplicate_id_is_409(clinician: httpx.Client) -> None:
    assert clinician.post("/api/v1/patients", json={"id": "API-DUP"}).status_code == 201
    again = clinician.post("/api/v1/patients", json={"id": "API-DUP", "sex": "male"})
    assert again.status_code == 409
    assert "sex" not in clinician.get("/api/v1/patients/API-DUP").json()


def test_create_patient_invalid_record_is_422_with_pointers_and_stores_nothing(
    clinician: httpx.Client,
) -> None:
    record = {
        "id": "API-BAD",
        "sex": "robot",
        "alsfrs_r": [{"date": "2024-01-01", "items": {"speech": 9}}],
        "colour": "blue",
    }
    response = clinician.post("/api/v1/patients", json=record)
    assert response.status_code == 422
    pointers = {problem["pointer"] for problem in _problems(response)}
    assert {"/sex", "/colour", "/alsfrs_r/0/items/speech"} <= pointers
    assert clinician.get("/api/v1/patients/API-BAD").status_code == 404


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "malformed JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"\xff\xfe\x00", "not UTF-8 text"),
        (b"[" * 100_000 + b"]" * 100_000, "malformed JSON"),
        (b'{"id": "API-NAN", "height_cm": NaN}', ""),
    ],
    ids=["broken", "array", "not-utf8", "too-deep", "nan"],
)
def test_create_patient_unreadable_body_is_422(
    clinician: httpx.Client, body: bytes, reason: str
) -> None:
    response = clinician.post(
        "/api/v1/patients", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert reason in _problems(response)[0]["reason"]


def test_unknown_patient_is_404_everywhere(clinician: httpx.Client) -> None:
    assert clinician.get("/api/v1/patients/NOBODY").status_code == 404
    weight = {"date": "2024-01-01", "kg": 70}
    assert clinician.post("/api/v1/patients/NOBODY/weights", json=weight).status_code == 404
    response = clinician.get("/api/v1/patients/NOBODY/assessment", params={"as_of": AS_OF})
    assert response.status_code == 404
    assert response.json()["detail"] == "no patient with id 'NOBODY'"


def _dated(entry: dict[str, Any], date: str) -> dict[str, Any]:
    """The entry on ``date`` (a medication starts on it)."""
    if "name" in entry:
        return {"name": entry["name"], "since": date}
    return {**entry, "date": date}


@pytest.mark.parametrize("segment", sorted(ENTRY_ENDPOINTS))
def test_add_visit_entry_to_each_series_is_201_and_stored_last(
    clinician: httpx.Client, segment: str
) -> None:
    series = ENTRY_ENDPOINTS[segment]
    patient_id = f"API-VISIT-{segment}"
    clinician.post("/api/v1/patients", json=_example("P-0002-bulbar-onset", patient_id))
    before = clinician.get(f"/api/v1/patients/{patient_id}").json().get(series, [])
    entry = _dated(FULL_RECORD[series][0], "2025-01-15")
    # the example weighed 84 kg: 61.25 kg is an unlikely change (alscare.plausibility), confirmed
    url = f"/api/v1/patients/{patient_id}/{segment}"
    response = clinician.post(url, json=entry, params={"confirm": "/kg"})
    assert response.status_code == 201, response.text
    stored = clinician.get(f"/api/v1/patients/{patient_id}").json()[series]
    assert len(stored) == len(before) + 1
    assert stored[-1] == response.json()[series][-1] == entry


def test_add_visit_entry_dated_after_today_is_422_and_stores_nothing(
    clinician: httpx.Client,
) -> None:
    clinician.post("/api/v1/patients", json={"id": "API-FUTURE"})
    exam = {"date": "2999-01-01", "regions": {"cervical": {"weakness": True}}}
    response = clinician.post("/api/v1/patients/API-FUTURE/examinations", json=exam)
    assert response.status_code == 422
    assert _problems(response) == [{"pointer": "/date", "reason": FUTURE_DATE}]
    created = clinician.post(
        "/api/v1/patients", json={"id": "API-FUTURE-2", "diagnosis_date": "2999-01-01"}
    )
    assert _problems(created) == [{"pointer": "/diagnosis_date", "reason": FUTURE_DATE}]
    assert clinician.get("/api/v1/patients/API-FUTURE").json().get("examinations") is None
    assert clinician.get("/api/v1/patients/API-FUTURE-2").status_code == 404


def test_add_visit_entry_invalid_is_422_relative_to_the_entry(clinician: httpx.Client) -> None:
    clinician.post("/api/v1/patients", json={"id": "API-V422", "birth_date": "1970-01-01"})
    response = clinician.post("/api/v1/patients/API-V422/alsfrs-r", json=rating(speech=9))
    assert response.status_code == 422
    assert [p["pointer"] for p in _problems(response)] == ["/items/speech"]
    unrated = clinician.post(
        "/api/v1/patients/API-V422/alsfrs-r",
        json={"date": "2024-01-01", "items": {}, "gastrostomy": False},
    )
    assert _problems(unrated) == [
        {"pointer": "/items", "reason": "a rating rates at least one item"}
    ]
    before_birth = clinician.post(
        "/api/v1/patients/API-V422/weights", json={"date": "1969-01-01", "kg": 70}
    )
    assert [p["pointer"] for p in _problems(before_birth)] == ["/date"]
    assert "weights" not in clinician.get("/api/v1/patients/API-V422").json()


def test_assessment_is_the_cli_bytes(
    clinician: httpx.Client, kb: KnowledgeBase, tmp_path: Path
) -> None:
    record = _example("P-0001-limb-onset", "API-ASSESS")
    clinician.post("/api/v1/patients", json=record)
    response = clinician.get("/api/v1/patients/API-ASSESS/assessment", params={"as_of": AS_OF})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    cli = CliRunner().invoke(cli_app, ["assess", str(path), "--as-of", AS_OF])
    assert cli.exit_code == 0, cli.output
    assert response.content == cli.stdout_bytes


@pytest.mark.parametrize(
    "as_of",
    [
        None,
        "2025-13-01",
        "today",
        "9999-12-31",
        str(LATEST_AS_OF + dt.timedelta(days=1)),
        "0001-01-01",
    ],
)
def test_assessment_date_the_app_cannot_use_is_422_at_as_of(
    clinician: httpx.Client, as_of: str | None
) -> None:
    clinician.post("/api/v1/patients", json={**FULL_RECORD, "id": "API-ASOF"})
    params = {"as_of": as_of} if as_of is not None else {}
    response = clinician.get("/api/v1/patients/API-ASOF/assessment", params=params)
    assert response.status_code == 422
    (problem,) = _problems(response)
    assert problem["pointer"] == "/query/as_of"


@pytest.mark.parametrize(
    ("record", "as_of"),
    [
        (FULL_RECORD, dt.date(1950, 5, 6)),  # the birth date
        (FULL_RECORD, clinic_latest(today())),  # a year after today
        ({"id": "API-ASOF-UNDATED", "sex": "female"}, EARLIEST_AS_OF),  # no date: no lower limit
    ],
    ids=["birth", "year-ahead", "undated"],
)
def test_assessment_on_the_first_and_last_date_the_app_assesses_on(
    clinician: httpx.Client, record: dict[str, Any], as_of: dt.date
) -> None:
    patient_id = f"{record['id']}-EDGE"
    clinician.post("/api/v1/patients", json={**record, "id": patient_id})
    response = clinician.get(
        f"/api/v1/patients/{patient_id}/assessment", params={"as_of": as_of.isoformat()}
    )
    assert response.status_code == 200
    assert response.json()["as_of"] == as_of.isoformat()


def test_list_patients_search_filters_by_id_or_name(clinician: httpx.Client) -> None:
    for patient_id in ("API-LIST-a", "API-LIST-b", "API-OTHER"):
        clinician.post("/api/v1/patients", json={"id": patient_id, "sex": "female"})
    response = clinician.get("/api/v1/patients", params={"search": "api-list"})
    assert response.status_code == 200
    listed = response.json()
    assert [patient["id"] for patient in listed] == ["API-LIST-a", "API-LIST-b"]
    assert listed[0]["sex"] == "female"
    identity = {"name": "Åsa Lindqvist", "identifiers": [{"system": "MRN", "value": "55-1"}]}
    named = {"schema": "alscare.patient/v2", "id": "API-LIST-NAMED", "identity": identity}
    clinician.post("/api/v1/patients", json=named)
    (found,) = clinician.get("/api/v1/patients", params={"search": "ÅSA L"}).json()
    assert (found["id"], found["name"], found["identifiers"]) == (
        "API-LIST-NAMED",
        "Åsa Lindqvist",
        "MRN 55-1",
    )


def test_patch_patient_replaces_fields_of_the_record_v2(clinician: httpx.Client) -> None:
    clinician.post("/api/v1/patients", json=_example("P-0003-conduction-block", "API-PATCH"))
    exams = [{"date": "2025-01-20", "regions": {"bulbar": {"weakness": True}, "thoracic": None}}]
    response = clinician.patch(
        "/api/v1/patients/API-PATCH",
        json={"examinations": exams, "death": {"date": "2025-03-01"}},
        headers={"X-Change-Reason": "examination re-recorded"},
    )
    assert response.status_code == 200
    stored = clinician.get("/api/v1/patients/API-PATCH").json()
    assert (stored["examinations"], stored["death"]) == (exams, {"date": "2025-03-01"})
    bad = clinician.patch(
        "/api/v1/patients/API-PATCH",
        json={"examinations": [{"date": "2025-01-20", "regions": {"elbow": {}}}]},
    )
    assert bad.status_code == 422
    v1_field = clinician.patch("/api/v1/patients/API-PATCH", json={"exam": {"bulbar": {}}})
    (problem,) = _problems(v1_field)
    assert problem["pointer"] == "/exam" and "'examinations'" in problem["reason"]
    assert clinician.patch("/api/v1/patients/API-PATCH", json=[1]).status_code == 422


def test_topic_needs_no_login_and_is_the_topic_document(
    live_server: LiveServer, kb: KnowledgeBase
) -> None:
    with live_server.client() as anonymous:
        response = anonymous.get("/api/v1/topic", params={"as_of": AS_OF})
        assert response.status_code == 200
        expected = topic_document(kb, as_of=dt.date(2025, 2, 1), section=None)
        assert response.json() == json.loads(json.dumps(expected))
        assert anonymous.get("/api/v1/topic", params={"section": "horoscope"}).status_code == 404


def test_health_answers_without_login(live_server: LiveServer, kb: KnowledgeBase) -> None:
    with live_server.client() as anonymous:
        response = anonymous.get("/api/v1/health")
    assert response.json() == {"status": "ok", "knowledge_version": kb.version}


def test_openapi_documents_every_route_and_each_ref_resolves(live_server: LiveServer) -> None:
    with live_server.client() as anonymous:
        assert anonymous.get("/docs").status_code == 200
        spec = anonymous.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/v1/auth/token",
        "/api/v1/patients",
        "/api/v1/patients/{patient_id}",
        *(f"/api/v1/patients/{{patient_id}}/{segment}" for segment in ENTRY_ENDPOINTS),
        "/api/v1/patients/{patient_id}/assessment",
        "/api/v1/topic",
        "/api/v1/audit",
    ):
        assert path in paths
    for segment, model in (
        ("alsfrs-r", "AlsfrsRating"),
        ("examinations", "Examination"),
        ("emg-studies", "EmgStudy"),
        ("interventions", "InterventionRecord"),
    ):
        body = paths[f"/api/v1/patients/{{patient_id}}/{segment}"]["post"]["requestBody"]
        assert body["content"]["application/json"]["schema"]["$ref"].endswith(f"/{model}")
    schemas = spec["components"]["schemas"]
    refs = _refs(spec)
    assert refs
    assert {ref.removeprefix("#/components/schemas/") for ref in refs} <= set(schemas)


def test_openapi_record_body_is_v2_and_says_v1_is_accepted(live_server: LiveServer) -> None:
    with live_server.client() as anonymous:
        spec = anonymous.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    create = spec["paths"]["/api/v1/patients"]["post"]["requestBody"]
    one_of = create["content"]["application/json"]["schema"]["oneOf"]
    assert [ref["$ref"].rsplit("/", 1)[1] for ref in one_of] == ["PatientRecord", "PatientRecordV1"]
    assert "v1" in create["description"] and "v2" in create["description"]
    record = schemas["PatientRecord"]
    assert record["properties"]["schema"]["const"] == "alscare.patient/v2"
    assert {"examinations", "emg_studies", "identity", "death"} <= set(record["properties"])
    assert "exam" not in record["properties"]
    assert {"exam", "emg"} <= set(schemas["PatientRecordV1"]["properties"])
    imported = spec["paths"]["/api/v1/import"]["post"]["requestBody"]["content"]
    assert {"$ref": "#/components/schemas/PatientRecordV1"} in _one_ofs(imported)
    answer = spec["paths"]["/api/v1/patients/{patient_id}"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/PatientRecord")
    as_of = next(
        parameter
        for parameter in spec["paths"]["/api/v1/patients/{patient_id}/assessment"]["get"][
            "parameters"
        ]
        if parameter["name"] == "as_of"
    )
    assert f"from {EARLIEST_AS_OF} to {LATEST_AS_OF}" in as_of["description"]


def _one_ofs(node: Any) -> list[Any]:
    if isinstance(node, dict):
        found = list(node.get("oneOf", []))
        return found + [item for value in node.values() for item in _one_ofs(value)]
    if isinstance(node, list):
        return [item for value in node for item in _one_ofs(value)]
    return []


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def test_audit_trail_shows_who_did_what_to_which_patient(
    clinician: httpx.Client, admin: httpx.Client
) -> None:
    clinician.post("/api/v1/patients", json={"id": "API-AUDIT"})
    clinician.get("/api/v1/patients/API-AUDIT")
    clinician.get("/api/v1/patients/API-AUDIT/assessment", params={"as_of": AS_OF})
    response = admin.get("/api/v1/audit", params={"patient_id": "API-AUDIT"})
    assert response.status_code == 200
    events = [(e["action"], e["username"], e["channel"]) for e in response.json()]
    assert events == [
        ("assess", "clinician", "api"),
        ("read", "clinician", "api"),
        ("create", "clinician", "api"),
    ]
    assert response.json()[0]["detail"] == f"assessment as of {AS_OF}"


def test_import_and_export_all_or_nothing(admin: httpx.Client) -> None:
    batch = [{"id": "API-IMP-1"}, {"id": "API-IMP-2", "weights": [{"date": "x"}]}]
    rejected = admin.post("/api/v1/import", json=batch)
    assert rejected.status_code == 422
    assert [p["pointer"] for p in _problems(rejected)] == ["/1/weights/0/date", "/1/weights/0/kg"]
    assert admin.get("/api/v1/patients/API-IMP-1").status_code == 404
    accepted = admin.post("/api/v1/import", json=[{"id": "API-IMP-1"}, {"id": "API-IMP-2"}])
    assert accepted.status_code == 201
    assert accepted.json() == {"created": ["API-IMP-1", "API-IMP-2"], "replaced": []}
    assert admin.post("/api/v1/import", json={"id": "API-IMP-1"}).status_code == 409
    replaced = admin.post("/api/v1/import?replace=true", json={"id": "API-IMP-1", "sex": "male"})
    assert replaced.json() == {"created": [], "replaced": ["API-IMP-1"]}
    exported = {record["id"]: record for record in admin.get("/api/v1/export").json()}
    assert exported["API-IMP-1"]["sex"] == "male"


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    ["id", "date", "kg", "items", "sex", "alsfrs_r", "regions", "schema", "x"]
                ),
                children,
                max_size=5,
            )
        ),
        max_leaves=20,
    ),
    segment=st.sampled_from(
        ["", *(f"/API-FUZZ/{segment}" for segment in ("alsfrs-r", "weights", "examinations"))]
    ),
)
def test_arbitrary_json_bodies_never_get_a_server_error(
    clinician: httpx.Client, body: Any, segment: str
) -> None:
    clinician.post("/api/v1/patients", json={"id": "API-FUZZ"})
    content = json.dumps(body, allow_nan=True).encode()
    response = clinician.post(
        f"/api/v1/patients{segment}", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code < 500


def test_unexpected_failure_is_a_clean_500_without_patient_data(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    with live_server.client("clinician") as client:
        client.post("/api/v1/patients", json={"id": "API-SECRET-42"})
        with live_server.database.transaction() as session:
            session.execute(text("ALTER TABLE patients RENAME TO patients_away"))
        try:
            with caplog.at_level(logging.ERROR, logger="alscare.web"):
                response = client.get("/api/v1/patients/API-SECRET-42")
        finally:
            with live_server.database.transaction() as session:
                session.execute(text("ALTER TABLE patients_away RENAME TO patients"))
    assert response.status_code in (500, 503)
    assert response.headers["content-type"] == "application/problem+json"
    assert "API-SECRET-42" not in response.text
    assert "patients" not in response.text
    assert caplog.records, "the failure is logged"
    assert all("API-SECRET-42" not in record.getMessage() for record in caplog.records)
    assert "/api/v1/patients/{patient_id}" in caplog.records[0].getMessage()
