"""GET /api/v1/worklist against a live server on SQLite and PostgreSQL: every item the engine
finds due on the date for every stored patient, with the patient, oldest first and undated
last, filtered by kind; each listed patient audited; refusals name the parameter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from alscare import KnowledgeBase, assess, parse_record, services
from alscare.storage.security import Actor, Channel, Role
from tests.conftest import example
from tests.conftest_server import LiveServer

AS_OF = "2025-02-01"
Clients = Callable[[str | None], httpx.Client]


def _example(name: str, new_id: str, **fields: Any) -> dict[str, Any]:
    return {**example(name, version=2).to_json_dict(), "id": new_id, **fields}


def _undiagnosed(name: str, new_id: str) -> dict[str, Any]:
    """An example without its diagnosis date or cognitive screen: ALS by the criteria alone, so
    the screen is due from a day the record cannot give (an undated item)."""
    data = _example(name, new_id)
    del data["diagnosis_date"]
    data.pop("cognition", None)
    return data


# The module's database holds these patients only (each test module has its own).
COHORT: tuple[dict[str, Any], ...] = (
    _example("P-0004-sod1-late", "WL-1", identity={"name": "Dora Worklist"}),
    _example("P-0001-limb-onset", "WL-2"),
    _example("P-0003-conduction-block", "WL-3"),  # not ALS: nothing is due
    _example("P-0002-bulbar-onset", "WL-4"),
    _undiagnosed("P-0001-limb-onset", "WL-5"),
)


@pytest.fixture(scope="module")
def admin(api_client: Clients) -> httpx.Client:
    return api_client("admin")


@pytest.fixture(scope="module")
def clinician(api_client: Clients, admin: httpx.Client) -> httpx.Client:
    """The clinician's client, once the module's cohort is stored."""
    assert admin.post("/api/v1/import", json=list(COHORT)).status_code == 201
    return api_client("clinician")


def _worklist(client: httpx.Client, **params: str) -> httpx.Response:
    return client.get("/api/v1/worklist", params=params)


def _expected(kb: KnowledgeBase, as_of: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The engine's due items of every patient (ids in order), each with the patient, sorted
    by the day each fell due, undated last (a stable sort: ties keep that order)."""
    found = [
        {"patient_id": data["id"], "due": item.model_dump(mode="json"), "since": item.since}
        for data in sorted(COHORT, key=lambda data: data["id"])
        for item in assess(parse_record(data), as_of=dt.date.fromisoformat(as_of), kb=kb).due
        if kind is None or item.id == kind
    ]
    found.sort(key=lambda one: (one["since"] is None, one["since"] or dt.date.max))
    return [{"patient_id": one["patient_id"], "due": one["due"]} for one in found]


def _listed(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"patient_id": item["patient_id"], "due": item["due"]} for item in body["items"]]


def test_worklist_api_lists_every_item_the_engine_finds_due_with_its_patient(
    clinician: httpx.Client, kb: KnowledgeBase
) -> None:
    response = _worklist(clinician, as_of=AS_OF)
    assert response.status_code == 200
    body = response.json()
    assert _listed(body) == _expected(kb, AS_OF)
    assert (body["as_of"], body["knowledge_version"], body["kind"]) == (AS_OF, kb.version, None)
    assert body["patients"] == 4  # WL-3 has nothing due
    first = body["items"][0]
    assert (first["patient_id"], first["name"], first["due"]["id"]) == (
        "WL-1",
        "Dora Worklist",
        "respiratory_tests",
    )
    assert first["due"]["because"] and first["due"]["sources"]


def test_worklist_api_is_oldest_first_and_undated_last(clinician: httpx.Client) -> None:
    items = _worklist(clinician, as_of=AS_OF).json()["items"]
    since = [item["due"]["since"] for item in items]
    dated = [day for day in since if day is not None]
    assert dated == sorted(dated) and len(set(dated)) > 1
    assert since[len(dated) :] == [None]
    assert (items[-1]["patient_id"], items[-1]["due"]["id"]) == ("WL-5", "cognitive_screen")


@pytest.mark.parametrize("kind", ["cognitive_screen", "niv_decision", "riluzole_liver_tests"])
def test_worklist_api_kind_keeps_only_items_of_that_kind(
    clinician: httpx.Client, kb: KnowledgeBase, kind: str
) -> None:
    body = _worklist(clinician, as_of=AS_OF, kind=kind).json()
    assert body["kind"] == kind
    assert _listed(body) == _expected(kb, AS_OF, kind)
    assert body["patients"] == len({item["patient_id"] for item in body["items"]})


def test_worklist_api_on_another_date_is_the_engine_s_on_that_date(
    clinician: httpx.Client, kb: KnowledgeBase
) -> None:
    body = _worklist(clinician, as_of="2024-06-01").json()
    assert _listed(body) == _expected(kb, "2024-06-01")
    assert _listed(body) != _expected(kb, AS_OF)


def test_worklist_api_audits_each_listed_patient_and_no_other(
    clinician: httpx.Client, admin: httpx.Client
) -> None:
    as_of = "2025-01-20"
    body = _worklist(clinician, as_of=as_of, kind="gastrostomy_decision").json()
    listed = {item["patient_id"] for item in body["items"]}
    assert listed == {"WL-4"}
    rows = admin.get("/api/v1/audit", params={"action": "list", "username": "clinician"}).json()
    audited = [row for row in rows if row["detail"] == f"worklist as of {as_of}"]
    assert sorted(row["patient_id"] for row in audited) == sorted(listed)
    assert {row["channel"] for row in audited} == {"api"}


@pytest.mark.parametrize(
    ("params", "pointer", "reason"),
    [
        ({}, "/query/as_of", "required"),
        ({"as_of": "2025-02-30"}, "/query/as_of", "date"),
        ({"as_of": "2300-01-01"}, "/query/as_of", "2199-12-31"),
        ({"as_of": "2199-01-01"}, "/as_of", "after the latest allowed"),
        ({"as_of": AS_OF, "kind": "blood_pressure"}, "/query/kind", "one of respiratory_tests"),
    ],
)
def test_worklist_api_refuses_what_it_cannot_use_naming_the_field_and_audits_nothing(
    clinician: httpx.Client,
    admin: httpx.Client,
    params: dict[str, str],
    pointer: str,
    reason: str,
) -> None:
    before = admin.get("/api/v1/audit", params={"action": "list"}).json()
    response = _worklist(clinician, **params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    (problem,) = response.json()["problems"]
    assert problem["pointer"] == pointer and reason in problem["reason"]
    assert admin.get("/api/v1/audit", params={"action": "list"}).json() == before


def test_worklist_api_needs_a_token(api_client: Clients, clinician: httpx.Client) -> None:
    response = _worklist(api_client(None), as_of=AS_OF)
    assert response.status_code == 401
    assert "WL-1" not in response.text


def test_openapi_documents_the_worklist_shape_and_its_parameters(api_client: Clients) -> None:
    document = api_client(None).get("/openapi.json").json()
    operation = document["paths"]["/api/v1/worklist"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["as_of"]["required"] is True
    assert parameters["kind"]["required"] is False
    assert "respiratory_tests" in parameters["kind"]["description"]
    schemas = document["components"]["schemas"]
    assert set(schemas["Worklist"]["properties"]) == {
        "as_of",
        "knowledge_version",
        "kind",
        "patients",
        "items",
    }
    assert set(schemas["WorkItem"]["properties"]) == {"patient_id", "name", "identifiers", "due"}
    assert schemas["WorkItem"]["properties"]["due"] == {"$ref": "#/components/schemas/DueItem"}
    assert "oldest first" in operation["description"]


def test_patients_are_assessed_only_from_their_first_date(
    live_server: LiveServer, clinician: httpx.Client, kb: KnowledgeBase
) -> None:
    """On 1955-01-01 only WL-4 (born 1952) was born: the others are not listed, not refused."""
    actor = Actor(username="test-setup", role=Role.ADMIN, channel=Channel.CLI)
    listed = services.assess_patients(
        live_server.database, actor, as_of=dt.date(1955, 1, 1), kb=kb, purpose="test"
    )
    assert [one.patient.id for one in listed] == ["WL-4"]
    assert _worklist(clinician, as_of="1955-01-01").json()["items"] == []
