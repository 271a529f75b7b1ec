"""Many clients writing at once lose nothing, on SQLite and on PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest_server import LiveServer
from tests.integration.strategies import rating

CLIENTS = 16
VISITS_PER_CLIENT = 6


@pytest.fixture(scope="module")
def token(live_server: LiveServer) -> str:
    return live_server.token("clinician")


def _post_visits(server: LiveServer, token: str, patient_id: str, client_number: int) -> list[int]:
    statuses: list[int] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        for visit in range(VISITS_PER_CLIENT):
            day = f"2024-{client_number % 12 + 1:02d}-{visit + 1:02d}"
            entry = rating(day, walking=visit % 5, speech=client_number % 5)
            statuses.append(
                client.post(f"/api/v1/patients/{patient_id}/alsfrs-r", json=entry).status_code
            )
            weight = {"date": day, "kg": 50 + client_number + visit / 10}
            # weights of many clients interleave: a change over 10 % needs confirming
            url = f"/api/v1/patients/{patient_id}/weights"
            statuses.append(client.post(url, json=weight, params={"confirm": "/kg"}).status_code)
    return statuses


def test_concurrent_visits_to_one_patient_are_all_stored(
    live_server: LiveServer, token: str
) -> None:
    with live_server.client("clinician") as client:
        assert client.post("/api/v1/patients", json={"id": "CONC-1"}).status_code == 201
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(
            pool.map(lambda n: _post_visits(live_server, token, "CONC-1", n), range(CLIENTS))
        )
    assert {status for statuses in results for status in statuses} == {201}
    with live_server.client("clinician") as client:
        record = client.get("/api/v1/patients/CONC-1").json()
    ratings = {(r["date"], r["items"]["walking"], r["items"]["speech"]) for r in record["alsfrs_r"]}
    assert len(record["alsfrs_r"]) == CLIENTS * VISITS_PER_CLIENT
    assert len(ratings) == CLIENTS * VISITS_PER_CLIENT  # each one distinct, none overwritten
    assert len(record["weights"]) == CLIENTS * VISITS_PER_CLIENT
    with live_server.client("admin") as admin:
        audit = admin.get(
            "/api/v1/audit", params={"patient_id": "CONC-1", "action": "update", "limit": 500}
        )
    assert len(audit.json()) == 2 * CLIENTS * VISITS_PER_CLIENT


def test_concurrent_visits_to_many_patients_are_all_stored(
    live_server: LiveServer, token: str
) -> None:
    patients = [f"CONC-M-{n}" for n in range(4)]
    with live_server.client("clinician") as client:
        for patient_id in patients:
            assert client.post("/api/v1/patients", json={"id": patient_id}).status_code == 201
    with ThreadPoolExecutor(CLIENTS) as pool:
        jobs = [(patients[n % len(patients)], n) for n in range(CLIENTS)]
        results = list(pool.map(lambda job: _post_visits(live_server, token, *job), jobs))
    assert {status for statuses in results for status in statuses} == {201}
    with live_server.client("clinician") as client:
        counts = [len(client.get(f"/api/v1/patients/{p}").json()["alsfrs_r"]) for p in patients]
    assert counts == [CLIENTS // len(patients) * VISITS_PER_CLIENT] * len(patients)


def test_concurrent_creates_of_one_id_store_it_once(live_server: LiveServer, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}

    def create(sex: str) -> int:
        with httpx.Client(base_url=live_server.url, headers=headers, timeout=60) as client:
            return client.post("/api/v1/patients", json={"id": "CONC-ONCE", "sex": sex}).status_code

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = list(pool.map(create, ["female", "male"] * (CLIENTS // 2)))
    assert sorted(statuses) == [201] + [409] * (CLIENTS - 1)
