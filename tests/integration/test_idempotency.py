"""Idempotency-Key on the API's writes: a retry is answered with the first answer and writes
nothing, on SQLite and PostgreSQL (web/idempotency.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.conftest_server import LiveServer

KEY = "Idempotency-Key"


def _create(client: httpx.Client, patient_id: str) -> None:
    assert client.post("/api/v1/patients", json={"id": patient_id}).status_code == 201


def _record(client: httpx.Client, patient_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/patients/{patient_id}")
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def _audited(admin: httpx.Client, patient_id: str, action: str) -> int:
    params = {"patient_id": patient_id, "action": action, "limit": 500}
    return len(admin.get("/api/v1/audit", params=params).json())


def test_retried_post_with_the_same_key_adds_the_entry_once(
    clinician: httpx.Client, admin: httpx.Client
) -> None:
    _create(clinician, "IDEM-1")
    weight = {"date": "2024-03-01", "kg": 70}
    url = "/api/v1/patients/IDEM-1/weights"
    first = clinician.post(url, json=weight, headers={KEY: "visit-2024-03-01"})
    retry = clinician.post(url, json=weight, headers={KEY: "visit-2024-03-01"})
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.content == first.content
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["Idempotency-Replayed"] == "true"
    assert retry.headers["ETag"] == '"2"'
    assert "Idempotency-Replayed" not in first.headers
    assert len(_record(clinician, "IDEM-1")["weights"]) == 1
    assert _audited(admin, "IDEM-1", "update") == 1


def test_same_key_with_another_body_is_422_naming_the_header_and_stores_nothing(
    clinician: httpx.Client,
) -> None:
    _create(clinician, "IDEM-2")
    url = "/api/v1/patients/IDEM-2/weights"
    headers = {KEY: "idem-2-key"}
    assert clinician.post(url, json={"date": "2024-03-01", "kg": 70}, headers=headers).is_success
    other = clinician.post(url, json={"date": "2024-03-02", "kg": 71}, headers=headers)
    assert other.status_code == 422
    assert [p["pointer"] for p in other.json()["problems"]] == [f"/header/{KEY}"]
    elsewhere = clinician.post(
        "/api/v1/patients/IDEM-2/alsfrs-r", json={"date": "2024-03-01"}, headers=headers
    )
    assert elsewhere.status_code == 422  # another path with the key is another request too
    assert [w["date"] for w in _record(clinician, "IDEM-2")["weights"]] == ["2024-03-01"]


def test_a_key_belongs_to_its_account(clinician: httpx.Client, admin: httpx.Client) -> None:
    _create(clinician, "IDEM-3")
    url = "/api/v1/patients/IDEM-3/weights"
    weight = {"date": "2024-03-01", "kg": 70}
    assert clinician.post(url, json=weight, headers={KEY: "shared"}).status_code == 201
    by_admin = admin.post(url, json=weight, headers={KEY: "shared"})
    assert by_admin.status_code == 201
    assert "Idempotency-Replayed" not in by_admin.headers
    assert len(_record(clinician, "IDEM-3")["weights"]) == 2


def test_retried_put_is_answered_not_refused_as_stale(clinician: httpx.Client) -> None:
    """Without the key the retry of a PUT that arrived is 412: its If-Match is now stale."""
    _create(clinician, "IDEM-4")
    headers = {"If-Match": '"1"', "X-Change-Reason": "sex recorded", KEY: "idem-4-put"}
    body = {"id": "IDEM-4", "sex": "female"}
    first = clinician.put("/api/v1/patients/IDEM-4", json=body, headers=headers)
    retry = clinician.put("/api/v1/patients/IDEM-4", json=body, headers=headers)
    assert (first.status_code, retry.status_code) == (200, 200)
    assert (retry.content, retry.headers["ETag"]) == (first.content, first.headers["ETag"])
    unkeyed = {name: value for name, value in headers.items() if name != KEY}
    stale = clinician.put("/api/v1/patients/IDEM-4", json=body, headers=unkeyed)
    assert stale.status_code == 412


def test_retried_patch_and_create_are_answered_once(clinician: httpx.Client) -> None:
    created = [
        clinician.post("/api/v1/patients", json={"id": "IDEM-5"}, headers={KEY: "idem-5-new"})
        for _ in range(2)
    ]
    assert [response.status_code for response in created] == [201, 201]
    patched = [
        clinician.patch(
            "/api/v1/patients/IDEM-5", json={"sex": "male"}, headers={KEY: "idem-5-patch"}
        )
        for _ in range(2)
    ]
    assert [response.status_code for response in patched] == [200, 200]
    assert patched[1].content == patched[0].content
    history = clinician.get("/api/v1/patients/IDEM-5/history").json()
    assert [entry["revision"] for entry in history] == [1, 2]


def test_retried_import_is_answered_with_its_first_summary(admin: httpx.Client) -> None:
    body = [{"id": "IDEM-IMP-1"}, {"id": "IDEM-IMP-2"}]
    first = admin.post("/api/v1/import", json=body, headers={KEY: "idem-import"})
    retry = admin.post("/api/v1/import", json=body, headers={KEY: "idem-import"})
    assert (first.status_code, retry.status_code) == (201, 201)
    assert first.json()["created"] == ["IDEM-IMP-1", "IDEM-IMP-2"]
    assert retry.json() == first.json()
    unkeyed = admin.post("/api/v1/import", json=body)
    assert unkeyed.status_code == 409  # without the key, a second import of the ids conflicts


def test_a_refused_write_stores_no_answer(clinician: httpx.Client) -> None:
    _create(clinician, "IDEM-6")
    url = "/api/v1/patients/IDEM-6/weights"
    headers = {KEY: "idem-6"}
    refused = clinician.post(url, json={"date": "2024-03-01", "kg": 2000}, headers=headers)
    assert refused.status_code == 422
    corrected = clinician.post(url, json={"date": "2024-03-01", "kg": 70}, headers=headers)
    assert corrected.status_code == 201
    assert [w["kg"] for w in _record(clinician, "IDEM-6")["weights"]] == [70]


def test_concurrent_requests_with_one_key_write_once(live_server: LiveServer) -> None:
    with live_server.client("clinician") as client:
        _create(client, "IDEM-7")
    token = live_server.token("clinician")
    weight = {"date": "2024-03-01", "kg": 70}

    def post(_: int) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}", KEY: "idem-7-race"}
        with httpx.Client(base_url=live_server.url, headers=headers, timeout=60) as client:
            response = client.post("/api/v1/patients/IDEM-7/weights", json=weight)
            return response.status_code, response.content

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(8)))
    assert {status for status, _ in answers} == {201}
    assert len({body for _, body in answers}) == 1
    with live_server.client("clinician") as client:
        assert len(_record(client, "IDEM-7")["weights"]) == 1


@pytest.mark.parametrize("key", ["", "a b", "é", "k" * 201])
def test_a_key_that_is_not_visible_ascii_of_1_to_200_characters_is_422(
    clinician: httpx.Client, key: str
) -> None:
    response = clinician.post(
        "/api/v1/patients",
        json={"id": "IDEM-BAD"},
        headers=[(KEY.encode(), key.encode("utf-8"))],
    )
    assert response.status_code == 422
    assert clinician.get("/api/v1/patients/IDEM-BAD").status_code == 404


def test_every_write_of_patient_data_documents_the_key(clinician: httpx.Client) -> None:
    paths = clinician.get("/openapi.json").json()["paths"]
    writes = {
        (method, path): operation
        for path, operations in paths.items()
        if path.startswith("/api/v1/") and not path.startswith("/api/v1/auth/")
        for method, operation in operations.items()
        if method in ("post", "put", "patch")
    }
    assert len(writes) >= 16  # create, PATCH, PUT, import and one POST per series
    unkeyed = [
        route
        for route, operation in writes.items()
        if KEY not in {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
    ]
    assert unkeyed == []
