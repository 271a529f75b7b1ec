"""Record revisions through the JSON API, on SQLite and PostgreSQL against a live server: the
ETag of each revision, reading an earlier one, replacing the whole record (If-Match: 428 and
412; X-Change-Reason: 422), corrections that need a reason on PATCH, the history with what
each revision changed, two clinicians racing on one revision, and that no refusal stores
anything (no revision, no audit row)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from alscare import parse_record
from alscare.revisions import MAX_REASON_LENGTH
from alscare.schemas.records import parse_record_v1
from alscare.schemas.upgrade import upgrade
from alscare.services import today
from alscare.storage.tables import AuditEventRow, PatientRevisionRow, PatientRow
from tests.conftest_server import LiveServer
from tests.integration.strategies import FULL_RECORD_V1

REASON_POINTER = "/header/X-Change-Reason"
BASE: dict[str, Any] = {
    "schema": "alscare.patient/v2",
    "sex": "female",
    "birth_date": "1960-05-01",
    "symptom_onset": {"date": "2024-06-01", "site": "cervical"},
    "weights": [{"date": "2025-01-10", "kg": 64.0}, {"date": "2025-02-10", "kg": 63.0}],
}
RACERS = 8
ROUNDS = 4


@pytest.fixture(scope="module")
def viewer(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client("viewer") as client:
        yield client


def _create(client: httpx.Client, patient_id: str, **fields: Any) -> dict[str, Any]:
    record = {**BASE, "id": patient_id, **fields}
    response = client.post("/api/v1/patients", json=record)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _put(
    client: httpx.Client,
    record: dict[str, Any],
    *,
    if_match: str | None = '"1"',
    reason: str | bytes | None = "weight typed in the wrong unit",
    patient_id: str | None = None,
) -> httpx.Response:
    """PUT the record to its patient's URL (or ``patient_id``'s)."""
    headers: dict[bytes, bytes] = {}
    if if_match is not None:
        headers[b"If-Match"] = if_match.encode()
    if reason is not None:
        headers[b"X-Change-Reason"] = reason if isinstance(reason, bytes) else reason.encode()
    url = f"/api/v1/patients/{patient_id or record['id']}"
    return client.put(url, json=record, headers=headers)


@dataclass(frozen=True)
class Stored:
    """What the database holds for a patient: its revisions (number, writer, reason, record
    text), the current revision, and how many write audit rows it has."""

    revisions: tuple[tuple[int, str, str | None, str], ...]
    current: int
    writes_audited: int


def _stored(server: LiveServer, patient_id: str) -> Stored:
    with server.database.transaction(write=False) as session:
        rows = session.execute(
            select(
                PatientRevisionRow.revision,
                PatientRevisionRow.username,
                PatientRevisionRow.reason,
                PatientRevisionRow.record,
            )
            .where(PatientRevisionRow.patient_id == patient_id)
            .order_by(PatientRevisionRow.revision)
        )
        revisions = tuple((r.revision, r.username, r.reason, r.record) for r in rows)
        current = session.scalar(select(PatientRow.revision).where(PatientRow.id == patient_id))
        writes = session.scalar(
            select(func.count())
            .select_from(AuditEventRow)
            .where(
                AuditEventRow.patient_id == patient_id,
                AuditEventRow.action.in_(("create", "update", "replace")),
            )
        )
    assert current is not None and writes is not None
    return Stored(revisions, current, writes)


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def _pointers(response: httpx.Response) -> list[str]:
    return [problem["pointer"] for problem in _problem(response, 422)["problems"]]


# --- ETag and reading a revision -------------------------------------------------------------


def test_get_answers_the_record_with_the_etag_of_its_revision(clinician: httpx.Client) -> None:
    created = _create(clinician, "REV-A1")
    first = clinician.get("/api/v1/patients/REV-A1")
    assert first.status_code == 200 and first.headers["etag"] == '"1"'
    weight = {"date": "2025-03-10", "kg": 62.5}
    assert clinician.post("/api/v1/patients/REV-A1/weights", json=weight).status_code == 201
    second = clinician.get("/api/v1/patients/REV-A1")
    assert second.headers["etag"] == '"2"'
    assert second.json()["weights"][-1] == weight
    older = clinician.get("/api/v1/patients/REV-A1", params={"revision": 1})
    assert older.status_code == 200 and older.headers["etag"] == '"1"'
    assert older.json() == created == first.json()


def test_get_a_revision_that_does_not_exist_is_404_or_422(clinician: httpx.Client) -> None:
    _create(clinician, "REV-A2")
    missing = clinician.get("/api/v1/patients/REV-A2", params={"revision": 2})
    assert "no revision 2" in _problem(missing, 404)["detail"]
    assert _problem(clinician.get("/api/v1/patients/NOBODY", params={"revision": 1}), 404)
    zero = clinician.get("/api/v1/patients/REV-A2", params={"revision": 0})
    assert _pointers(zero) == ["/query/revision"]


def test_reads_of_revisions_and_history_are_audited(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    _create(clinician, "REV-A3")
    clinician.get("/api/v1/patients/REV-A3", params={"revision": 1})
    clinician.get("/api/v1/patients/REV-A3/history")
    with live_server.client("admin") as admin:
        audit = admin.get("/api/v1/audit", params={"patient_id": "REV-A3"}).json()
    assert [(event["action"], event["detail"]) for event in audit] == [
        ("read", "record history"),
        ("read", "record revision 1"),
        ("create", "record"),
    ]


# --- PUT: the whole record -------------------------------------------------------------------


def test_put_replaces_the_record_as_a_new_revision_with_who_and_why(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    created = _create(clinician, "REV-B1")
    corrected = {**created, "weights": [{"date": "2025-01-10", "kg": 64.0}], "height_cm": 168}
    response = _put(clinician, corrected, reason="second weight belonged to another patient")
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    assert response.json() == parse_record(corrected).to_json_dict()
    assert clinician.get("/api/v1/patients/REV-B1").json() == response.json()
    assert clinician.get("/api/v1/patients/REV-B1", params={"revision": 1}).json() == created
    stored = _stored(live_server, "REV-B1")
    assert [(number, user, reason) for number, user, reason, _ in stored.revisions] == [
        (1, "clinician", None),
        (2, "clinician", "second weight belonged to another patient"),
    ]
    assert stored.current == 2
    with live_server.client("admin") as admin:
        params = {"patient_id": "REV-B1", "action": "replace"}
        (event,) = admin.get("/api/v1/audit", params=params).json()
    assert (event["detail"], event["username"]) == ("record replaced", "clinician")


def test_a_write_that_changes_nothing_stores_no_revision(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    created = _create(clinician, "REV-B0", height_cm=168)
    assert clinician.patch("/api/v1/patients/REV-B0", json={}).status_code == 200
    assert clinician.patch("/api/v1/patients/REV-B0", json={"height_cm": 168}).status_code == 200
    put = _put(clinician, created, reason="checked, no change")
    assert put.status_code == 200 and put.headers["etag"] == '"1"'
    assert clinician.get("/api/v1/patients/REV-B0").headers["etag"] == '"1"'
    assert [number for number, *_ in _stored(live_server, "REV-B0").revisions] == [1]


def test_put_of_a_v1_body_is_stored_as_v2(clinician: httpx.Client) -> None:
    created = _create(clinician, "REV-B2")
    body = {**FULL_RECORD_V1, "id": "REV-B2"}
    response = _put(clinician, body)
    assert response.status_code == 200, response.text
    expected = upgrade(parse_record_v1(body)).to_json_dict()
    assert response.json() == expected != created
    assert clinician.get("/api/v1/patients/REV-B2").json()["schema"] == "alscare.patient/v2"


def test_put_reason_is_utf8_text(live_server: LiveServer, clinician: httpx.Client) -> None:
    created = _create(clinician, "REV-B3")
    reason = "Gewicht in Pfund erfasst – korrigiert"
    response = _put(clinician, {**created, "sex": "male"}, reason=reason.encode("utf-8"))
    assert response.status_code == 200, response.text
    assert _stored(live_server, "REV-B3").revisions[-1][2] == reason
    history = clinician.get("/api/v1/patients/REV-B3/history").json()
    assert history[-1]["reason"] == reason


def test_put_without_if_match_is_428_and_stores_nothing(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    created = _create(clinician, "REV-C1")
    before = _stored(live_server, "REV-C1")
    for if_match in (None, "", "*"):
        response = _put(clinician, {**created, "sex": "male"}, if_match=if_match)
        assert "If-Match" in _problem(response, 428)["detail"]
    assert _stored(live_server, "REV-C1") == before


def test_put_with_a_stale_if_match_is_412_with_the_current_revision(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    created = _create(clinician, "REV-C2")
    assert _put(clinician, {**created, "sex": "male"}, if_match='"1"').status_code == 200
    before = _stored(live_server, "REV-C2")
    stale = _put(clinician, {**created, "height_cm": 170}, if_match='"1"')
    body = _problem(stale, 412)
    assert body["current_revision"] == 2 and stale.headers["etag"] == '"2"'
    assert "revision 1" in body["detail"] and "current revision is 2" in body["detail"]
    assert _problem(_put(clinician, created, if_match='"7"'), 412)["current_revision"] == 2
    assert _stored(live_server, "REV-C2") == before
    assert "height_cm" not in clinician.get("/api/v1/patients/REV-C2").json()


def test_put_without_a_reason_is_422_naming_the_header_and_stores_nothing(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    created = _create(clinician, "REV-C3")
    before = _stored(live_server, "REV-C3")
    for reason in (None, ""):
        response = _put(clinician, {**created, "sex": "male"}, reason=reason)
        assert _pointers(response) == [REASON_POINTER]
        assert "X-Change-Reason" in response.json()["problems"][0]["reason"]
    too_long = _put(clinician, {**created, "sex": "male"}, reason="x" * (MAX_REASON_LENGTH + 1))
    assert _pointers(too_long) == [REASON_POINTER]
    assert _stored(live_server, "REV-C3") == before


def test_put_refusals_name_the_field_and_store_nothing(
    live_server: LiveServer, clinician: httpx.Client, viewer: httpx.Client
) -> None:
    created = _create(clinician, "REV-C4")
    before = _stored(live_server, "REV-C4")
    tomorrow = today().toordinal() + 1
    future = {**created, "diagnosis_date": type(today()).fromordinal(tomorrow).isoformat()}
    assert _pointers(_put(clinician, future)) == ["/diagnosis_date"]
    other_id = {**created, "id": "REV-OTHER"}
    assert _pointers(_put(clinician, other_id, patient_id="REV-C4")) == ["/id"]
    assert _pointers(_put(clinician, {**created, "sex": "unknown-sex"})) == ["/sex"]
    assert _pointers(_put(clinician, {**created, "weights": [{"date": "2025-01-10"}]})) == [
        "/weights/0/kg"
    ]
    assert _pointers(_put(clinician, {**created, "sex": "male"}, if_match="one")) == [
        "/header/If-Match"
    ]
    no_json = clinician.put(
        "/api/v1/patients/REV-C4",
        content=b"{not json",
        headers={"If-Match": '"1"', "X-Change-Reason": "r", "Content-Type": "application/json"},
    )
    assert _pointers(no_json) == [""]
    assert _problem(_put(viewer, {**created, "sex": "male"}), 403)
    with httpx.Client(base_url=live_server.url) as anonymous:
        assert _problem(_put(anonymous, {**created, "sex": "male"}), 401)
    assert _stored(live_server, "REV-C4") == before
    unknown = _put(clinician, {**created, "id": "REV-NOBODY"})
    assert "REV-NOBODY" in _problem(unknown, 404)["detail"]


# --- PATCH and POST: reasons and If-Match ----------------------------------------------------


def test_patch_correcting_recorded_data_needs_a_reason(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    _create(clinician, "REV-D1")
    before = _stored(live_server, "REV-D1")
    url = "/api/v1/patients/REV-D1"
    corrections = (
        {"sex": "male"},  # changed
        {"symptom_onset": None},  # removed
        {"weights": [{"date": "2025-01-10", "kg": 64.0}]},  # one entry removed
        {"symptom_onset": {"date": "2024-06-01", "site": "bulbar"}},  # changed inside
    )
    for change in corrections:
        assert _pointers(clinician.patch(url, json=change)) == [REASON_POINTER], change
    assert _stored(live_server, "REV-D1") == before
    fixed = clinician.patch(url, json={"sex": "male"}, headers={"X-Change-Reason": "typo"})
    assert fixed.status_code == 200 and fixed.json()["sex"] == "male"
    assert _stored(live_server, "REV-D1").revisions[-1][1:3] == ("clinician", "typo")


def test_patch_adding_new_data_needs_no_reason(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    created = _create(clinician, "REV-D2")
    weights = [*created["weights"], {"date": "2025-03-01", "kg": 62.0}]
    added = clinician.patch("/api/v1/patients/REV-D2", json={"height_cm": 165, "weights": weights})
    assert added.status_code == 200, added.text
    assert "etag" not in added.headers  # without If-Match the new revision is not known
    assert _stored(live_server, "REV-D2").revisions[-1][1:3] == ("clinician", None)


def test_patch_and_post_with_if_match_are_made_on_that_revision_only(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    _create(clinician, "REV-D3")
    url = "/api/v1/patients/REV-D3"
    patched = clinician.patch(url, json={"height_cm": 165}, headers={"If-Match": '"1"'})
    assert patched.status_code == 200 and patched.headers["etag"] == '"2"'
    weight = {"date": "2025-03-01", "kg": 62.0}
    posted = clinician.post(
        f"{url}/weights",
        json=weight,
        headers={"If-Match": '"2"', "X-Change-Reason": "weighed at the clinic"},
    )
    assert posted.status_code == 201 and posted.headers["etag"] == '"3"'
    assert clinician.get(url).headers["etag"] == '"3"'
    before = _stored(live_server, "REV-D3")
    assert before.revisions[-1][2] == "weighed at the clinic"
    stale_patch = clinician.patch(url, json={"height_cm": 166}, headers={"If-Match": '"2"'})
    assert _problem(stale_patch, 412)["current_revision"] == 3
    stale_post = clinician.post(f"{url}/weights", json=weight, headers={"If-Match": '"1"'})
    assert _problem(stale_post, 412)["current_revision"] == 3
    assert _stored(live_server, "REV-D3") == before


# --- history ---------------------------------------------------------------------------------


def test_history_lists_every_revision_with_what_it_changed(clinician: httpx.Client) -> None:
    created = _create(clinician, "REV-E1")
    url = "/api/v1/patients/REV-E1"
    added = clinician.post(f"{url}/weights", json={"date": "2025-03-10", "kg": 61.3})
    assert added.status_code == 201, added.text
    weights = [*created["weights"], {"date": "2025-03-10", "kg": 63.1}]
    reason = {"X-Change-Reason": "digits swapped"}
    assert clinician.patch(url, json={"weights": weights}, headers=reason).status_code == 200
    current = clinician.get(url)
    removed = {**current.json(), "weights": weights[1:], "sex": "male"}
    assert _put(clinician, removed, if_match=current.headers["etag"], reason="fix").is_success

    history = clinician.get(f"{url}/history")
    assert history.status_code == 200
    entries = history.json()
    assert [(e["revision"], e["actor"], e["reason"]) for e in entries] == [
        (1, "clinician", None),
        (2, "clinician", None),
        (3, "clinician", "digits swapped"),
        (4, "clinician", "fix"),
    ]
    assert all(entry["at"].endswith("+00:00") for entry in entries)
    first = entries[0]["changes"]
    assert {"op": "add", "pointer": "/sex", "after": "female"} in first
    assert {change["op"] for change in first} == {"add"}
    assert entries[1]["changes"] == [
        {"op": "add", "pointer": "/weights/2", "after": {"date": "2025-03-10", "kg": 61.3}}
    ]
    assert entries[2]["changes"] == [
        {"op": "replace", "pointer": "/weights/2/kg", "before": 61.3, "after": 63.1}
    ]
    assert entries[3]["changes"] == [
        {"op": "replace", "pointer": "/sex", "before": "female", "after": "male"},
        {"op": "remove", "pointer": "/weights/0", "before": {"date": "2025-01-10", "kg": 64.0}},
    ]


def test_history_of_an_unknown_patient_is_404_and_needs_a_login(
    live_server: LiveServer, viewer: httpx.Client
) -> None:
    assert _problem(viewer.get("/api/v1/patients/NOBODY/history"), 404)
    with httpx.Client(base_url=live_server.url) as anonymous:
        assert _problem(anonymous.get("/api/v1/patients/NOBODY/history"), 401)


# --- two clinicians, one revision ------------------------------------------------------------


def _race(server: LiveServer, requests: list[dict[str, Any]]) -> list[httpx.Response]:
    """Send the requests at once, each from its own client and thread, lined up on a barrier."""
    barrier = threading.Barrier(len(requests))
    token = server.token("clinician")

    def send(request: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", **request.pop("headers")}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            client.get("/api/v1/health")  # connected before the start
            barrier.wait()
            return client.request(**request)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def test_two_clinicians_replacing_one_revision_exactly_one_wins(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    created = _create(clinician, "REV-F1")
    for round_number in range(ROUNDS):
        current = round_number + 1
        # every racer changes the record (a body equal to it would change nothing, and win)
        heights = [150 + 10 * round_number + n for n in range(RACERS)]
        bodies = [{**created, "height_cm": height} for height in heights]
        responses = _race(
            live_server,
            [
                {
                    "method": "PUT",
                    "url": "/api/v1/patients/REV-F1",
                    "json": body,
                    "headers": {"If-Match": f'"{current}"', "X-Change-Reason": f"racer {n}"},
                }
                for n, body in enumerate(bodies)
            ],
        )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200] + [412] * (RACERS - 1), statuses
        (winner,) = (n for n, response in enumerate(responses) if response.status_code == 200)
        assert responses[winner].headers["etag"] == f'"{current + 1}"'
        for response in responses:
            if response.status_code == 412:
                assert response.json()["current_revision"] == current + 1
                assert response.headers["etag"] == f'"{current + 1}"'
        stored = clinician.get("/api/v1/patients/REV-F1")
        assert stored.json()["height_cm"] == heights[winner]
        assert stored.headers["etag"] == f'"{current + 1}"'
    stored_revisions = _stored(live_server, "REV-F1")
    assert stored_revisions.current == ROUNDS + 1
    assert [number for number, *_ in stored_revisions.revisions] == list(range(1, ROUNDS + 2))
    assert stored_revisions.writes_audited == ROUNDS + 1


def test_a_correction_racing_a_new_entry_on_one_revision_exactly_one_wins(
    live_server: LiveServer, clinician: httpx.Client
) -> None:
    created = _create(clinician, "REV-F2")
    headers = {"If-Match": '"1"', "X-Change-Reason": "race"}
    url = "/api/v1/patients/REV-F2"
    responses = _race(
        live_server,
        [
            {"method": "PUT", "url": url, "json": {**created, "sex": "male"}, "headers": headers},
            {
                "method": "POST",
                "url": f"{url}/weights",
                "json": {"date": "2025-03-01", "kg": 62.0},
                "headers": dict(headers),
            },
            {
                "method": "PATCH",
                "url": url,
                "json": {"height_cm": 160},
                "headers": dict(headers),
            },
        ],
    )
    assert sorted(r.status_code for r in responses).count(412) == 2
    assert {r.status_code for r in responses} - {412} <= {200, 201}
    assert _stored(live_server, "REV-F2").current == 2


def test_openapi_documents_put_history_and_their_preconditions(clinician: httpx.Client) -> None:
    document = clinician.get("/openapi.json").json()
    patient = document["paths"]["/api/v1/patients/{patient_id}"]
    put = patient["put"]
    assert {"412", "428", "422"} <= set(put["responses"])
    headers = {p["name"] for p in put["parameters"] if p["in"] == "header"}
    assert headers == {"If-Match", "X-Change-Reason", "Idempotency-Key"}
    assert "revision" in {p["name"] for p in patient["get"]["parameters"]}
    history = document["paths"]["/api/v1/patients/{patient_id}/history"]["get"]
    assert "JSON Patch" in history["description"] and "/weights/2/kg" in history["description"]
    change = document["components"]["schemas"]["Change"]["properties"]
    assert {"op", "pointer", "before", "after"} <= set(change)
