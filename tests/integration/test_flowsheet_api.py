"""GET /api/v1/patients/{id}/flowsheet against a live server on SQLite and PostgreSQL: the
engine's flowsheet of the stored record, byte for byte, audited as a read; refusals name the
parameter and write no audit row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from alscare import KnowledgeBase, parse_record
from alscare.engine.flowsheet import flowsheet
from tests.conftest import example

AS_OF = "2025-02-01"
Clients = Callable[[str | None], httpx.Client]


@pytest.fixture(scope="module")
def clinician(api_client: Clients) -> httpx.Client:
    return api_client("clinician")


@pytest.fixture(scope="module")
def admin(api_client: Clients) -> httpx.Client:
    return api_client("admin")


@pytest.fixture(scope="module")
def stored(clinician: httpx.Client) -> dict[str, Any]:
    """P-0004 (visits from 2023 to 2024, stale on AS_OF) stored as FS-API-1."""
    record = {**example("P-0004-sod1-late", version=2).to_json_dict(), "id": "FS-API-1"}
    assert clinician.post("/api/v1/patients", json=record).status_code == 201
    return record


def _flowsheet(client: httpx.Client, patient_id: str, **params: str) -> httpx.Response:
    return client.get(f"/api/v1/patients/{patient_id}/flowsheet", params=params)


def _audit(admin: httpx.Client, patient_id: str) -> list[dict[str, Any]]:
    response = admin.get("/api/v1/audit", params={"patient_id": patient_id, "action": "read"})
    assert response.status_code == 200
    rows: list[dict[str, Any]] = response.json()
    return rows


def _problem(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    (problem,) = response.json()["problems"]
    assert set(problem) == {"pointer", "reason"}
    return dict(problem)


@pytest.mark.parametrize("as_of", [AS_OF, "2024-03-01"])
def test_flowsheet_api_is_the_engine_s_flowsheet_of_the_stored_record(
    clinician: httpx.Client, stored: dict[str, Any], kb: KnowledgeBase, as_of: str
) -> None:
    response = _flowsheet(clinician, "FS-API-1", as_of=as_of)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    expected = flowsheet(parse_record(stored), as_of=dt.date.fromisoformat(as_of), kb=kb)
    assert response.content == expected.to_json().encode("utf-8")
    body = response.json()
    assert body["schema"] == "alscare.flowsheet/v1"
    assert body["rows"] and all(row["date"] <= as_of for row in body["rows"])


def test_flowsheet_api_carries_thresholds_with_their_verification_and_the_stale_scores(
    clinician: httpx.Client, stored: dict[str, Any]
) -> None:
    body = _flowsheet(clinician, "FS-API-1", as_of=AS_OF).json()
    assert [row["date"] for row in body["rows"]] == [
        "2023-03-15",
        "2023-09-12",
        "2024-02-20",
        "2024-08-01",
    ]
    fvc = {t["id"]: t["verified"] for t in body["thresholds"]["fvc_percent_predicted"]}
    assert fvc["niv_fvc_alone"] is True and fvc["gastrostomy_fvc"] is False
    assert "fvc_percent_predicted" in body["stale"]
    assert "2024-08-01" in body["notes"]["fvc_percent_predicted"]


def test_flowsheet_api_is_audited_as_a_read_of_the_patient(
    api_client: Clients, admin: httpx.Client, stored: dict[str, Any]
) -> None:
    before = len(_audit(admin, "FS-API-1"))
    assert _flowsheet(api_client("viewer"), "FS-API-1", as_of=AS_OF).status_code == 200
    rows = _audit(admin, "FS-API-1")
    assert len(rows) == before + 1
    newest = rows[0]
    assert (newest["username"], newest["channel"], newest["detail"]) == (
        "viewer",
        "api",
        f"flowsheet as of {AS_OF}",
    )


def test_flowsheet_api_of_an_unknown_patient_is_404(clinician: httpx.Client) -> None:
    response = _flowsheet(clinician, "FS-NOBODY", as_of=AS_OF)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "FS-NOBODY" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "pointer", "reason"),
    [
        ({}, "/query/as_of", "required"),
        ({"as_of": "2025-13-01"}, "/query/as_of", "date"),
        ({"as_of": "today"}, "/query/as_of", "date"),
        ({"as_of": "9999-12-31"}, "/query/as_of", "2199-12-31"),
        ({"as_of": "1970-01-01"}, "/as_of", "is before the birth date"),
        ({"as_of": "2199-01-01"}, "/as_of", "after the latest allowed"),
    ],
)
def test_flowsheet_api_refuses_a_date_it_cannot_use_naming_the_field_and_audits_nothing(
    clinician: httpx.Client,
    admin: httpx.Client,
    stored: dict[str, Any],
    params: dict[str, str],
    pointer: str,
    reason: str,
) -> None:
    before = _audit(admin, "FS-API-1")
    problem = _problem(_flowsheet(clinician, "FS-API-1", **params))
    assert problem["pointer"] == pointer
    assert reason in problem["reason"]
    assert _audit(admin, "FS-API-1") == before


def test_flowsheet_api_needs_a_token(api_client: Clients, stored: dict[str, Any]) -> None:
    response = _flowsheet(api_client(None), "FS-API-1", as_of=AS_OF)
    assert response.status_code == 401
    assert "rows" not in response.text


def test_openapi_documents_the_flowsheet_with_a_required_date(api_client: Clients) -> None:
    document = api_client(None).get("/openapi.json").json()
    operation = document["paths"]["/api/v1/patients/{patient_id}/flowsheet"]["get"]
    (as_of,) = [p for p in operation["parameters"] if p["name"] == "as_of"]
    assert as_of["required"] is True and as_of["in"] == "query"
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Flowsheet"}
    assert {"401", "404", "422"} <= set(operation["responses"])
    assert "Flowsheet" in document["components"]["schemas"]
