"""The clinic-visit page over HTTP against a live server, on SQLite and PostgreSQL: the whole
visit stored as one revision, or nothing; empty sections storing nothing; every refusal shown
at its field; the confirmation of unlikely values; a save on a record changed meanwhile; and
answering the NIV and gastrostomy alerts from the patient page."""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from alscare import KnowledgeBase, assess, parse_record, services
from alscare.schemas.patient import PatientRecord
from alscare.schemas.vocabulary import AlsfrsItem, Region
from alscare.storage.audit import AuditAction
from alscare.storage.security import Actor, Channel, Role
from tests.conftest_server import LiveServer
from tests.integration.test_pages import PageClient, field_error

SETUP = Actor(username="test-setup", role=Role.ADMIN, channel=Channel.CLI)
TODAY = services.today()
TOMORROW = TODAY + dt.timedelta(days=1)
LAST_VISIT = TODAY - dt.timedelta(days=90)
# What the page posts when nothing is touched: its own conveniences, which store nothing.
UNTOUCHED = {
    "date": TODAY.isoformat(),
    "alsfrs_r.item_5_form": "5a",
    "respiratory.paco2_unit": "kpa",
}
BASE = {
    "schema": "alscare.patient/v2",
    "birth_date": "1958-03-02",
    "symptom_onset": {"date": (TODAY - dt.timedelta(days=700)).isoformat(), "site": "cervical"},
    "diagnosis_date": (TODAY - dt.timedelta(days=400)).isoformat(),
    "height_cm": 172,
    "weights": [{"date": LAST_VISIT.isoformat(), "kg": 70}],
    "medications": [{"name": "riluzole", "since": (TODAY - dt.timedelta(days=380)).isoformat()}],
}


@pytest.fixture(scope="module")
def clinic(live_server: LiveServer) -> Iterator[PageClient]:
    client = PageClient(live_server)
    assert client.log_in("clinician").status_code == 303
    yield client
    client.http.close()


def patient(server: LiveServer, patient_id: str, **fields: Any) -> PatientRecord:
    record = parse_record({**BASE, "id": patient_id, **fields})
    services.import_records(server.database, SETUP, [record])
    return record


def stored(server: LiveServer, patient_id: str) -> services.StoredRecord:
    return services.read_patient(server.database, SETUP, patient_id)


def visit(client: PageClient, patient_id: str, **fields: str) -> Any:
    """Open the visit page (as a clinician does, for its revision) and post it."""
    page = client.get(f"/patients/{patient_id}/visit")
    assert page.status_code == 200, page.text
    revision = re.search(r'name="revision" value="(\d+)"', page.text)
    assert revision is not None
    return client.post(
        f"/patients/{patient_id}/visit", {**UNTOUCHED, "revision": revision.group(1), **fields}
    )


def ratings(**scores: int) -> dict[str, str]:
    return {f"alsfrs_r.items.{item}": str(score) for item, score in scores.items()}


FULL_RATING = ratings(**{item.value: 4 for item in AlsfrsItem}) | ratings(speech=3, walking=2)


# --- the page --------------------------------------------------------------------------------


def test_visit_page_shows_every_section_and_runs_only_its_own_script(
    live_server: LiveServer, clinic: PageClient
) -> None:
    patient(live_server, "VIS-PAGE")
    response = clinic.get("/patients/VIS-PAGE/visit")
    assert response.status_code == 200
    text = response.text
    for heading in (
        "ALSFRS-R",
        "Breathing tests",
        "Weight",
        "Examination by region",
        "Symptoms and findings",
        "Medication changes",
        "Interventions",
    ):
        assert f">{heading}</h2>" in text, heading
    assert "Speech used together with non-vocal communication" in text  # an anchor, tappable
    assert 'name="medications.0.until"' in text  # riluzole can be stopped
    assert f'max="{TODAY}"' in text
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert '<script src="/static/visit.js' in text
    assert clinic.get("/static/visit.js").status_code == 200


def test_visit_needs_a_login_and_a_clinician(live_server: LiveServer) -> None:
    patient(live_server, "VIS-ROLE")
    anonymous = PageClient(live_server)
    assert anonymous.get("/patients/VIS-ROLE/visit").headers["location"] == (
        "/login?next=/patients/VIS-ROLE/visit"
    )
    viewer = PageClient(live_server)
    viewer.log_in("viewer")
    assert viewer.get("/patients/VIS-ROLE/visit").status_code == 403
    refused = viewer.post("/patients/VIS-ROLE/visit", {**UNTOUCHED, "weights.kg": "70"})
    assert refused.status_code == 403
    refused = viewer.post("/patients/VIS-ROLE/alerts/niv_indicated", {"event": "offered"})
    assert refused.status_code == 403
    assert stored(live_server, "VIS-ROLE").revision == 1
    anonymous.http.close()
    viewer.http.close()


# --- one save, one revision ------------------------------------------------------------------


def test_visit_stores_every_section_in_one_revision(
    live_server: LiveServer, clinic: PageClient
) -> None:
    patient(live_server, "VIS-ALL")
    response = visit(
        clinic,
        "VIS-ALL",
        **FULL_RATING,
        **{
            "alsfrs_r.item_5_form": "5b",
            "respiratory.fvc_percent_predicted": "62",
            "respiratory.snip_cmh2o": "48",
            "respiratory.nocturnal_spo2_88_or_below_minutes": "7",
            "respiratory.paco2": "6.3",
            "respiratory.symptoms.orthopnea": "on",
            "weights.kg": "68.5",
            "examinations.regions.bulbar.examined": "on",
            "examinations.regions.cervical.weakness": "on",
            "examinations.regions.cervical.hyperreflexia": "on",
            "findings.falls.present": "yes",
            "findings.sensory_loss.present": "no",
            "medications.0.until": TODAY.isoformat(),
            "medications.0.stop_reason": "adverse_effect",
            "medications.new.0.name": "edaravone",
            "interventions.niv.offered": "on",
            "interventions.niv.declined": "on",
            "interventions.gastrostomy.started": "on",
        },
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/patients/VIS-ALL"
    saved = stored(live_server, "VIS-ALL")
    assert saved.revision == 2  # one visit, one revision
    record, day = saved.record, TODAY
    (rating,) = record.alsfrs_r
    assert (rating.date, rating.gastrostomy, rating.unrated()) == (day, True, ())
    assert rating.items[AlsfrsItem.SPEECH] == 3 and rating.items[AlsfrsItem.WALKING] == 2
    (breathing,) = record.respiratory
    assert breathing.model_dump(exclude_none=True, exclude_defaults=True) == {
        "date": day,
        "fvc_percent_predicted": 62,
        "snip_cmh2o": 48,
        "nocturnal_spo2_88_or_below_minutes": 7,
        "paco2_kpa": 6.3,
        "symptoms": ("orthopnea",),
    }
    assert [(w.date, w.kg) for w in record.weights] == [(LAST_VISIT, 70), (day, 68.5)]
    (exam,) = record.examinations
    assert set(exam.examined()) == {"bulbar", "cervical"}
    assert exam.examined()[Region.BULBAR].model_dump(exclude_none=True) == {}
    assert exam.examined()[Region.CERVICAL].model_dump(exclude_none=True) == {
        "weakness": True,
        "hyperreflexia": True,
    }
    assert {(f.id, f.present, f.date) for f in record.findings} == {
        ("falls", True, day),
        ("sensory_loss", False, day),
    }
    riluzole, edaravone = record.medications
    assert (riluzole.until, riluzole.stop_reason) == (day, "adverse_effect")
    assert (edaravone.name, edaravone.since, edaravone.until) == ("edaravone", day, None)
    assert [(i.kind, i.event, i.date) for i in record.interventions or ()] == [
        ("niv", "offered", day),
        ("niv", "declined", day),
        ("gastrostomy", "started", day),
    ]
    _created, history = services.patient_history(live_server.database, SETUP, "VIS-ALL")
    assert history.reason == f"clinic visit of {day}"
    (event,) = services.audit_trail(
        live_server.database, SETUP, patient_id="VIS-ALL", action=AuditAction.UPDATE
    )
    assert event.username == "clinician"


def test_visit_empty_sections_and_the_forms_conveniences_store_nothing(
    live_server: LiveServer, clinic: PageClient
) -> None:
    before = patient(live_server, "VIS-EMPTY")
    response = visit(clinic, "VIS-EMPTY", **{"weights.kg": "69"})
    assert response.status_code == 303, response.text
    record = stored(live_server, "VIS-EMPTY").record
    # only the weight: no rating, no breathing tests, no examination, no event, no change
    assert record.model_copy(update={"weights": before.weights}) == before
    assert [w.kg for w in record.weights] == [70, 69]
    assert record.interventions is None


def test_visit_with_nothing_filled_in_stores_nothing_and_says_so(
    live_server: LiveServer, clinic: PageClient
) -> None:
    patient(live_server, "VIS-NONE")
    response = visit(clinic, "VIS-NONE")
    assert response.status_code == 422
    assert "this visit records nothing yet" in response.text
    assert stored(live_server, "VIS-NONE").revision == 1


def test_visit_items_left_unrated_are_not_stored_and_the_rest_are(
    live_server: LiveServer, clinic: PageClient
) -> None:
    patient(live_server, "VIS-PART")
    response = visit(clinic, "VIS-PART", **ratings(speech=2, swallowing=3))
    assert response.status_code == 303, response.text
    (rating,) = stored(live_server, "VIS-PART").record.alsfrs_r
    assert dict(rating.items) == {"speech": 2, "swallowing": 3}
    assert rating.gastrostomy is False


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"weights.kg": "19"}, "weights.kg", "must be from 20 to 300 kg"),
        ({"weights.kg": "301"}, "weights.kg", "must be from 20 to 300 kg"),
        ({"weights.kg": "heavy"}, "weights.kg", "must be a number"),
        (
            {"respiratory.fvc_percent_predicted": "4"},
            "respiratory.fvc_percent_predicted",
            "must be from 5 to 200 % predicted",
        ),
        (
            {"respiratory.position": "supine"},
            "respiratory.position",
            "give the FVC measured in this position",
        ),
        (
            {"respiratory.paco2": "30"},
            "respiratory.paco2",
            "must be less than or equal to 20",
        ),
        ({"date": TOMORROW.isoformat()}, "date", services.FUTURE_DATE),
        ({"date": "1950-01-01"}, "date", "date is before the birth date"),
        ({"date": ""}, "date", "enter the date of the visit"),
        ({"alsfrs_r.items.speech": "7"}, "alsfrs_r.items.speech", "less than or equal to 4"),
        ({"alsfrs_r.item_5_form": ""}, "alsfrs_r.item_5_form", "choose 5a or 5b"),
        (
            {"interventions.niv.hours_per_day": "8"},
            "interventions.niv.hours_per_day",
            "hours of use go with 'started'",
        ),
        (
            {"interventions.niv.started": "on", "interventions.niv.hours_per_day": "30"},
            "interventions.niv.hours_per_day",
            "less than or equal to 24",
        ),
        (
            {"medications.0.stop_reason": "ineffective"},
            "medications.0.until",
            "give the date it was stopped",
        ),
        (
            {"medications.0.until": (TODAY - dt.timedelta(days=500)).isoformat()},
            "medications.0.until",
            "stopped before it was started",
        ),
        (
            {"medications.new.0.since": TODAY.isoformat()},
            "medications.new.0.name",
            "enter the drug",
        ),
        (
            {"medications.new.0.name": "edaravone", "medications.new.0.since": str(TOMORROW)},
            "medications.new.0.since",
            services.FUTURE_DATE,
        ),
        ({"findings.falls.present": "maybe"}, "findings.falls.present", "choose yes, no"),
    ],
)
def test_visit_any_invalid_part_stores_nothing_and_names_its_field(
    live_server: LiveServer,
    clinic: PageClient,
    fields: dict[str, str],
    field: str,
    reason: str,
) -> None:
    """Each fault beside valid sections (a rating, an examination): the whole visit is
    refused, the fault shown at its field, and nothing stored."""
    patient_id = f"VIS-BAD-{zlib.crc32(repr(sorted(fields.items())).encode())}"
    before = patient(live_server, patient_id)
    valid = {**FULL_RATING, "examinations.regions.bulbar.examined": "on"}
    response = visit(clinic, patient_id, **{**valid, **fields})
    assert response.status_code == 422, response.text
    assert "Nothing was saved" in response.text
    assert reason in field_error(response.text, field)
    after = stored(live_server, patient_id)
    assert (after.revision, after.record) == (1, before)
    # what was typed comes back, so nothing has to be entered again
    assert 'id="f-alsfrs_r-items-walking-2" name="alsfrs_r.items.walking" value="2" checked' in (
        response.text
    )


def test_visit_every_fault_is_shown_at_once(live_server: LiveServer, clinic: PageClient) -> None:
    patient(live_server, "VIS-MANY")
    response = visit(
        clinic,
        "VIS-MANY",
        **{
            "weights.kg": "7.5",
            "respiratory.fvc_percent_predicted": "250",
            "alsfrs_r.items.speech": "x",
            "interventions.niv.hours_per_day": "2",
        },
    )
    assert response.status_code == 422
    for field in (
        "weights.kg",
        "respiratory.fvc_percent_predicted",
        "alsfrs_r.items.speech",
        "interventions.niv.hours_per_day",
    ):
        assert field_error(response.text, field)
    assert stored(live_server, "VIS-MANY").revision == 1


# --- unlikely values: confirmed, then stored ---------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"weights.kg": "28"}, "weights.kg", "28 kg is unlikely (below 30 kg)"),
        ({"weights.kg": "205"}, "weights.kg", "205 kg is unlikely (above 200 kg)"),
        (
            {"weights.kg": "60"},
            "weights.kg",
            "60 kg is unlikely (more than 10 % below the previous weight)",
        ),
        (
            {"respiratory.fvc_percent_predicted": "160"},
            "respiratory.fvc_percent_predicted",
            "160 % predicted is unlikely (above 150 % predicted)",
        ),
    ],
)
def test_visit_unlikely_value_is_stored_once_confirmed(
    live_server: LiveServer, clinic: PageClient, fields: dict[str, str], field: str, reason: str
) -> None:
    patient_id = f"VIS-ODD-{zlib.crc32(reason.encode())}"
    patient(live_server, patient_id)
    asked = visit(clinic, patient_id, **fields)
    assert asked.status_code == 422
    assert (
        field_error(asked.text, field)
        == f"{reason} and needs confirmation: check it, then confirm it"
    )
    box = f'name="confirm.{field}"'
    assert box in asked.text and "I confirm this value" in asked.text
    assert stored(live_server, patient_id).revision == 1
    confirmed = visit(clinic, patient_id, **fields, **{f"confirm.{field}": "on"})
    assert confirmed.status_code == 303, confirmed.text
    assert stored(live_server, patient_id).revision == 2


def test_visit_confirmation_is_kept_while_another_field_is_corrected(
    live_server: LiveServer, clinic: PageClient
) -> None:
    patient(live_server, "VIS-KEEP")
    fields = {
        "weights.kg": "28",
        "confirm.weights.kg": "on",
        "respiratory.fvc_percent_predicted": "3",
    }
    refused = visit(clinic, "VIS-KEEP", **fields)
    assert refused.status_code == 422
    assert "must be from 5 to 200" in field_error(refused.text, "respiratory.fvc_percent_predicted")
    assert 'name="confirm.weights.kg" value="on" checked' in refused.text
    fields["respiratory.fvc_percent_predicted"] = "30"
    assert visit(clinic, "VIS-KEEP", **fields).status_code == 303
    assert [w.kg for w in stored(live_server, "VIS-KEEP").record.weights] == [70, 28]


def test_new_patient_and_single_entry_forms_ask_for_confirmation_too(
    live_server: LiveServer, clinic: PageClient
) -> None:
    form = {"id": "VIS-NEW-1", "birth_date": "1960-05-01", "height_cm": "135"}
    asked = clinic.post("/patients/new", form)
    assert asked.status_code == 422
    assert "135 cm is unlikely (below 140 cm)" in field_error(asked.text, "height_cm")
    refused = clinic.post("/patients/new", {**form, "height_cm": "99"})
    assert "must be from 100 to 250 cm" in field_error(refused.text, "height_cm")
    created = clinic.post("/patients/new", {**form, "confirm.height_cm": "on"})
    assert created.status_code == 303, created.text
    weight = {"date": TODAY.isoformat(), "kg": "26"}
    asked = clinic.post("/patients/VIS-NEW-1/visit/weight", weight)
    assert asked.status_code == 422 and 'name="confirm.kg"' in asked.text
    saved = clinic.post("/patients/VIS-NEW-1/visit/weight", {**weight, "confirm.kg": "on"})
    assert saved.status_code == 303
    assert [w.kg for w in stored(live_server, "VIS-NEW-1").record.weights] == [26]


# --- a record changed while the visit was entered --------------------------------------------


def test_visit_on_a_record_changed_meanwhile_stores_nothing_and_offers_the_current_one(
    live_server: LiveServer, clinic: PageClient
) -> None:
    patient(live_server, "VIS-STALE")
    page = clinic.get("/patients/VIS-STALE/visit")
    assert 'name="revision" value="1"' in page.text
    entry = services.parse_entry("weights", {"date": TODAY.isoformat(), "kg": 69})
    services.add_entry(live_server.database, SETUP, "VIS-STALE", "weights", entry)
    form = {**UNTOUCHED, "revision": "1", **ratings(speech=3)}
    stale = clinic.post("/patients/VIS-STALE/visit", form)
    assert stale.status_code == 409
    assert "nothing of this visit was saved" in stale.text
    assert 'name="revision" value="2"' in stale.text
    assert 'name="alsfrs_r.items.speech" value="3" checked' in stale.text
    assert stored(live_server, "VIS-STALE").record.alsfrs_r == ()
    assert clinic.post("/patients/VIS-STALE/visit", {**form, "revision": "2"}).status_code == 303
    assert stored(live_server, "VIS-STALE").revision == 3


# --- answering an alert ----------------------------------------------------------------------

NIV_DUE = {"respiratory": [{"date": TODAY.isoformat(), "fvc_percent_predicted": 42}]}


def test_niv_alert_answered_from_the_patient_page_is_an_event_dated_today(
    live_server: LiveServer, clinic: PageClient, kb: KnowledgeBase
) -> None:
    record = patient(live_server, "VIS-NIV", **NIV_DUE)
    alerts = {alert.id for alert in assess(record, as_of=TODAY, kb=kb).alerts}
    assert "niv_indicated" in alerts
    page = clinic.get("/patients/VIS-NIV")
    for answer in ("NIV offered", "NIV declined", "NIV started"):
        assert f">{answer}</button>" in page.text
    response = clinic.post("/patients/VIS-NIV/alerts/niv_indicated", {"event": "declined"})
    assert response.status_code == 303
    assert response.headers["location"] == "/patients/VIS-NIV#alerts-h"
    saved = stored(live_server, "VIS-NIV")
    assert saved.revision == 2
    assert [(i.kind, i.event, i.date) for i in saved.record.interventions or ()] == [
        ("niv", "declined", TODAY)
    ]
    shown = clinic.get(response.headers["location"]).text
    assert "NIV declined: recorded on" in shown
    now = assess(saved.record, as_of=TODAY, kb=kb)
    assert ("alert-niv_indicated" in shown) == any(a.id == "niv_indicated" for a in now.alerts)
    assert "niv_indicated" not in {alert.id for alert in now.alerts}


def test_gastrostomy_alert_is_answered_the_same_way(
    live_server: LiveServer, clinic: PageClient, kb: KnowledgeBase
) -> None:
    thin = {"weights": [{"date": TODAY.isoformat(), "kg": 60}], "premorbid_weight_kg": 75}
    record = patient(live_server, "VIS-PEG", **thin)
    assert "gastrostomy_indicated" in {a.id for a in assess(record, as_of=TODAY, kb=kb).alerts}
    response = clinic.post("/patients/VIS-PEG/alerts/gastrostomy_indicated", {"event": "offered"})
    assert response.status_code == 303
    (event,) = stored(live_server, "VIS-PEG").record.interventions or ()
    assert (event.kind, event.event, event.date) == ("gastrostomy", "offered", TODAY)


def test_alert_answers_are_refused_for_other_alerts_answers_and_dates(
    live_server: LiveServer, clinic: PageClient
) -> None:
    patient(live_server, "VIS-ANS", **NIV_DUE)
    unknown = clinic.post("/patients/VIS-ANS/alerts/rapid_progression", {"event": "offered"})
    assert unknown.status_code == 404
    wrong = clinic.post("/patients/VIS-ANS/alerts/niv_indicated", {"event": "stopped"})
    assert wrong.status_code == 422
    assert (
        clinic.post("/patients/NOBODY/alerts/niv_indicated", {"event": "offered"}).status_code
        == 404
    )
    assert stored(live_server, "VIS-ANS").revision == 1
    # answers are dated today, so a past assessment date offers none
    past = clinic.get(f"/patients/VIS-ANS?as_of={TODAY - dt.timedelta(days=1)}")
    assert "NIV offered</button>" not in past.text
