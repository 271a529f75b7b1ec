"""The JSON API refuses what the forms refuse (alscare.plausibility), on SQLite and PostgreSQL:
values outside the physiological ranges with a 422 naming the field, unlikely values unless the
request confirms them (``?confirm=<pointer>``), and nothing stored in either case."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from alscare import services
from tests.conftest_server import LiveServer

TODAY = services.today().isoformat()
NEEDS_CONFIRMATION = "needs confirmation"


def problems(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [(problem["pointer"], problem["reason"]) for problem in response.json()["problems"]]


def new_patient(client: httpx.Client, patient_id: str, **fields: Any) -> None:
    body = {"id": patient_id, "weights": [{"date": "2026-01-05", "kg": 70}], **fields}
    assert client.post("/api/v1/patients", json=body).status_code == 201


def revision(client: httpx.Client, patient_id: str) -> str:
    return client.get(f"/api/v1/patients/{patient_id}").headers["etag"]


@pytest.mark.parametrize(
    ("segment", "entry", "pointer", "reason"),
    [
        ("weights", {"kg": 19}, "/kg", "must be from 20 to 300 kg"),
        ("weights", {"kg": 300.5}, "/kg", "must be from 20 to 300 kg"),
        ("respiratory", {"fvc_percent_predicted": 4}, "/fvc_percent_predicted", "from 5 to 200"),
        (
            "respiratory",
            {"supine_fvc_percent_predicted": 2},
            "/supine_fvc_percent_predicted",
            "from 5 to 200",
        ),
        ("respiratory", {"position": "sitting"}, "", "records no measurement"),
        (
            "labs",
            {"id": "alt", "value": 30, "unit": "U/L", "lower_limit": 40, "upper_limit": 40},
            "/lower_limit",
            "the lower limit of normal (40) must be below the upper limit (40)",
        ),
        (
            "tests",
            {
                "id": "creatine_kinase",
                "value": 300,
                "unit": "U/L",
                "lower_limit": 200,
                "upper_limit": 200,
            },
            "/lower_limit",
            "must be below the upper limit",
        ),
    ],
)
def test_api_refuses_values_outside_the_ranges_naming_the_field_and_stores_nothing(
    clinician: httpx.Client, segment: str, entry: dict[str, Any], pointer: str, reason: str
) -> None:
    patient_id = f"PL-{segment}-{len(str(entry))}-{pointer.strip('/') or 'entry'}"
    new_patient(clinician, patient_id)
    before = revision(clinician, patient_id)
    refused = clinician.post(
        f"/api/v1/patients/{patient_id}/{segment}", json={"date": TODAY, **entry}
    )
    ((where, why),) = problems(refused)
    assert where == pointer and reason in why
    # a confirmation does not let a refused value in
    confirmed = clinician.post(
        f"/api/v1/patients/{patient_id}/{segment}",
        params={"confirm": pointer},
        json={"date": TODAY, **entry},
    )
    assert confirmed.status_code == 422
    assert revision(clinician, patient_id) == before


@pytest.mark.parametrize(
    ("segment", "entry", "pointer", "reason"),
    [
        ("weights", {"kg": 25}, "/kg", "25 kg is unlikely (below 30 kg)"),
        ("weights", {"kg": 210}, "/kg", "210 kg is unlikely (above 200 kg)"),
        (
            "weights",
            {"kg": 78},
            "/kg",
            "78 kg is unlikely (more than 10 % above the previous weight)",
        ),
        (
            "respiratory",
            {"fvc_percent_predicted": 8},
            "/fvc_percent_predicted",
            "8 % predicted is unlikely (below 10 % predicted)",
        ),
    ],
)
def test_api_stores_an_unlikely_value_only_when_confirmed(
    clinician: httpx.Client, segment: str, entry: dict[str, Any], pointer: str, reason: str
) -> None:
    patient_id = f"PL-ODD-{segment}-{len(reason)}"
    new_patient(clinician, patient_id)
    url = f"/api/v1/patients/{patient_id}/{segment}"
    body = {"date": TODAY, **entry}
    ((where, why),) = problems(clinician.post(url, json=body))
    assert where == pointer
    assert why.startswith(reason) and NEEDS_CONFIRMATION in why
    assert revision(clinician, patient_id) == '"1"'
    # confirming another value does not confirm this one
    assert clinician.post(url, params={"confirm": "/date"}, json=body).status_code == 422
    stored = clinician.post(url, params={"confirm": pointer}, json=body)
    assert stored.status_code == 201, stored.text
    assert stored.json()[segment][-1] == body


def test_api_new_patient_refuses_and_confirms_with_record_pointers(
    clinician: httpx.Client,
) -> None:
    refused = clinician.post("/api/v1/patients", json={"id": "PL-NEW-1", "height_cm": 99})
    assert problems(refused) == [
        ("/height_cm", "must be from 100 to 250 cm: 99 cm is outside the physiological range")
    ]
    body = {
        "id": "PL-NEW-1",
        "height_cm": 212,
        "premorbid_weight_kg": 80,
        "weights": [{"date": "2026-01-05", "kg": 80}, {"date": "2026-04-05", "kg": 70}],
    }
    asked = problems(clinician.post("/api/v1/patients", json=body))
    assert [pointer for pointer, _ in asked] == ["/height_cm", "/weights/1/kg"]
    assert all(NEEDS_CONFIRMATION in reason for _, reason in asked)
    assert clinician.get("/api/v1/patients/PL-NEW-1").status_code == 404
    confirm = {"confirm": ["/height_cm", "/weights/1/kg"]}
    created = clinician.post("/api/v1/patients", params=confirm, json=body)
    assert created.status_code == 201, created.text


def test_api_patch_and_put_refuse_what_they_add_and_not_what_was_there(
    clinician: httpx.Client,
) -> None:
    new_patient(clinician, "PL-CHG-1")
    url = "/api/v1/patients/PL-CHG-1"
    refused = clinician.patch(url, json={"premorbid_weight_kg": 310})
    assert problems(refused)[0][0] == "/premorbid_weight_kg"
    asked = clinician.patch(url, json={"height_cm": 135})
    assert NEEDS_CONFIRMATION in problems(asked)[0][1]
    assert clinician.patch(
        url, params={"confirm": "/height_cm"}, json={"height_cm": 135}
    ).is_success
    # the confirmed height is on record: a later write that keeps it needs no confirmation
    current = clinician.get(url)
    record = current.json()
    record["sex"] = "female"
    replaced = clinician.put(
        url,
        json=record,
        headers={"If-Match": current.headers["etag"], "X-Change-Reason": "sex recorded"},
    )
    assert replaced.status_code == 200, replaced.text
    record["weights"].append({"date": TODAY, "kg": 7.5})
    refused = clinician.put(
        url,
        json=record,
        headers={"If-Match": replaced.headers["etag"], "X-Change-Reason": "weight typed"},
    )
    assert problems(refused)[0] == (
        "/weights/1/kg",
        "must be from 20 to 300 kg: 7.5 kg is outside the physiological range",
    )
    assert clinician.get(url).headers["etag"] == replaced.headers["etag"]


def test_api_import_keeps_records_as_they_are(live_server: LiveServer) -> None:
    """Records moved between stores keep what they hold (an export must import again)."""
    with live_server.client("admin") as admin:
        odd = {"id": "PL-IMP-1", "weights": [{"date": "2026-01-05", "kg": 7.5}]}
        assert admin.post("/api/v1/import", json=odd).status_code == 201
        exported = {r["id"]: r for r in admin.get("/api/v1/export").json()}
        assert exported["PL-IMP-1"]["weights"] == odd["weights"]
