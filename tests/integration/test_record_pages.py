"""Correcting the record in the pages, over HTTP against a live server on SQLite and
PostgreSQL: the whole record listed, the edit form of every entry of every series and of the
details (identity and demographics) round-tripping every field, corrections and removals with
their reasons, refusals that store nothing, a save on a revision someone else has changed, the
history page, and a past revision's patient page with the assessment as it stood then."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from alscare import assess, parse_record, services
from alscare.knowledge import KnowledgeBase
from alscare.storage.security import Actor, Channel, Role
from alscare.storage.tables import PatientRevisionRow
from alscare.web.record_words import SERIES_PARTS
from tests.conftest_server import LiveServer
from tests.integration.strategies import FULL_RECORD
from tests.integration.test_pages import PageClient

SETUP = Actor(username="test-setup", role=Role.ADMIN, channel=Channel.CLI)
BASE: dict[str, Any] = {
    "schema": "alscare.patient/v2",
    "sex": "female",
    "birth_date": "1960-05-01",
    "symptom_onset": {"date": "2024-06-01", "site": "cervical"},
    "diagnosis_date": "2025-01-15",
    "identity": {"name": "Ada Example", "identifiers": [{"system": "MRN", "value": "0012345"}]},
    "weights": [{"date": "2025-01-10", "kg": 64.0}, {"date": "2025-02-10", "kg": 61.3}],
}
INPUT = re.compile(r'<input[^>]*name="([^"]+)"[^>]*>')
SELECTED = re.compile(r'<select[^>]*name="([^"]+)".*?</select>', re.S)


def _store(server: LiveServer, patient_id: str, **fields: Any) -> None:
    """A patient stored as an import (as it arrives, no clinic acceptance policy)."""
    record = parse_record({**BASE, "id": patient_id, **fields})
    services.import_records(server.database, SETUP, [record])


def _revisions(server: LiveServer, patient_id: str) -> list[tuple[int, str, str | None]]:
    with server.database.transaction(write=False) as session:
        rows = session.execute(
            select(
                PatientRevisionRow.revision, PatientRevisionRow.username, PatientRevisionRow.reason
            )
            .where(PatientRevisionRow.patient_id == patient_id)
            .order_by(PatientRevisionRow.revision)
        )
        return [(row.revision, row.username, row.reason) for row in rows]


def _record(server: LiveServer, patient_id: str) -> dict[str, Any]:
    return services.get_patient(server.database, SETUP, patient_id).to_json_dict()


def _form_values(page: str) -> dict[str, str]:
    """What a browser would post for the correction form of a page, as shown (text, dates,
    numbers, hidden fields, ticked boxes and chosen options)."""
    start = page.index('id="correct-form"')
    form = page[start : page.index("</form>", start)]
    values: dict[str, str] = {}
    for tag in INPUT.finditer(form):
        element, name = tag.group(0), tag.group(1)
        kind = re.search(r'type="([^"]+)"', element)
        value = re.search(r'value="([^"]*)"', element)
        if kind and kind.group(1) == "checkbox":
            if " checked" in element:
                values[name] = "on"
        elif value is not None:
            values[name] = html.unescape(value.group(1))
    for select_ in SELECTED.finditer(form):
        chosen = re.search(r'<option value="([^"]*)" selected>', select_.group(0))
        values[select_.group(1)] = html.unescape(chosen.group(1)) if chosen else ""
    return values


@pytest.fixture
def clinician(live_server: LiveServer) -> Iterator[PageClient]:
    client = PageClient(live_server)
    client.log_in("clinician")
    yield client
    client.http.close()


# --- the record page -------------------------------------------------------------------------


def test_record_page_lists_every_part_with_a_correction_link(
    live_server: LiveServer, clinician: PageClient
) -> None:
    _store(live_server, "RP-1", **{k: v for k, v in FULL_RECORD.items() if k != "id"})
    page = clinician.get("/patients/RP-1/record")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Zoë Ångström-Example" in text and "MRN 0012345, NHS 94" in text
    assert 'href="/patients/RP-1/record/details"' in page.text
    for part in SERIES_PARTS:
        for index in range(len(FULL_RECORD[part.series])):
            assert f'href="/patients/RP-1/record/{part.segment}/{index}"' in page.text, part
    assert "FTD in the family: no" in text and "Military service" in text


def test_record_page_of_a_viewer_offers_no_correction(live_server: LiveServer) -> None:
    _store(live_server, "RP-2")
    viewer = PageClient(live_server)
    viewer.log_in("viewer")
    page = viewer.get("/patients/RP-2/record")
    assert page.status_code == 200 and "64" in page.text
    assert "/record/weights/0" not in page.text and "/record/details" not in page.text
    assert viewer.get("/patients/RP-2/record/weights/0").status_code == 403
    refused = viewer.post(
        "/patients/RP-2/record/weights/0", {"revision": "1", "date": "2025-01-10", "kg": "65"}
    )
    assert refused.status_code == 403
    assert _revisions(live_server, "RP-2") == [(1, "test-setup", None)]
    viewer.http.close()


def test_record_pages_need_a_login(live_server: LiveServer) -> None:
    _store(live_server, "RP-3")
    with httpx.Client(base_url=live_server.url, follow_redirects=False) as anonymous:
        for path in (
            "/patients/RP-3/record",
            "/patients/RP-3/history",
            "/patients/RP-3/record/weights/0",
        ):
            response = anonymous.get(path)
            assert response.status_code == 303 and response.headers["location"].startswith("/login")
            assert "Ada" not in response.text


# --- every form round-trips what it shows -----------------------------------------------------


@pytest.mark.parametrize("part", SERIES_PARTS, ids=lambda part: part.series)
def test_entry_form_of_every_series_shows_every_field_and_saves_nothing_unchanged(
    live_server: LiveServer, clinician: PageClient, part: Any
) -> None:
    patient_id = f"RP-RT-{part.segment}"
    _store(live_server, patient_id, **{k: v for k, v in FULL_RECORD.items() if k != "id"})
    stored = _record(live_server, patient_id)
    for index in range(len(stored[part.series])):
        form = clinician.get(f"/patients/{patient_id}/record/{part.segment}/{index}")
        assert form.status_code == 200
        values = _form_values(form.text)
        assert values["revision"] == "1"
        saved = clinician.post(f"/patients/{patient_id}/record/{part.segment}/{index}", values)
        assert saved.status_code == 303, saved.text
        notice = clinician.get("/patients/" + patient_id + "/record").text
        assert "nothing was changed or saved" in html.unescape(notice)
    assert _record(live_server, patient_id) == stored
    assert [number for number, *_ in _revisions(live_server, patient_id)] == [1]


def test_details_form_shows_every_detail_and_saves_nothing_unchanged(
    live_server: LiveServer, clinician: PageClient
) -> None:
    _store(live_server, "RP-RT-D", **{k: v for k, v in FULL_RECORD.items() if k != "id"})
    stored = _record(live_server, "RP-RT-D")
    values = _form_values(clinician.get("/patients/RP-RT-D/record/details").text)
    assert values["identity.identifiers.1.value"] == "94"
    assert values["identity.identifiers.2.value"] == ""  # one blank row for a new number
    assert values["family_history.ftd"] == "no" and values["risk_factors.military_service"] == "on"
    assert values["death.date"] == "2024-03-01" and values["age_years"] == "73.5"
    assert clinician.post("/patients/RP-RT-D/record/details", values).status_code == 303
    assert _record(live_server, "RP-RT-D") == stored
    assert len(_revisions(live_server, "RP-RT-D")) == 1


# --- corrections and removals ----------------------------------------------------------------


def test_correcting_an_entry_needs_a_reason_and_stores_a_revision_with_it(
    live_server: LiveServer, clinician: PageClient
) -> None:
    _store(live_server, "RP-C1")
    url = "/patients/RP-C1/record/weights/1"
    values = {**_form_values(clinician.get(url).text), "kg": "63.1"}
    assert values["kg"] == "63.1" and values["date"] == "2025-02-10"
    refused = clinician.post(url, values)
    assert refused.status_code == 422
    assert 'id="f-reason-error"' in refused.text and "say why the entry was wrong" in refused.text
    assert 'value="63.1"' in refused.text  # what was typed is kept
    assert len(_revisions(live_server, "RP-C1")) == 1
    saved = clinician.post(url, {**values, "reason": "digits swapped"})
    assert saved.status_code == 303 and saved.headers["location"] == "/patients/RP-C1/record"
    assert _record(live_server, "RP-C1")["weights"][1] == {"date": "2025-02-10", "kg": 63.1}
    assert _revisions(live_server, "RP-C1")[-1] == (2, "clinician", "digits swapped")
    notice = html.unescape(clinician.get("/patients/RP-C1/record").text)
    assert "Weight of 2025-02-10: correction saved." in notice


def test_removing_an_entry_needs_a_reason_and_keeps_it_in_the_history(
    live_server: LiveServer, clinician: PageClient
) -> None:
    _store(live_server, "RP-C2")
    url = "/patients/RP-C2/record/weights/0"
    clinician.get(url)
    refused = clinician.post(f"{url}/remove", {"revision": "1", "removal_reason": ""})
    assert refused.status_code == 422 and 'id="f-removal_reason-error"' in refused.text
    assert len(_record(live_server, "RP-C2")["weights"]) == 2
    removed = clinician.post(f"{url}/remove", {"revision": "1", "removal_reason": "other patient"})
    assert removed.status_code == 303
    assert _record(live_server, "RP-C2")["weights"] == [{"date": "2025-02-10", "kg": 61.3}]
    history = html.unescape(clinician.get("/patients/RP-C2/history").text)
    assert "Why: other patient" in re.sub(r"<[^>]+>", "", history)
    assert "Weight of 2025-01-10" in history and "removed" in history


def test_details_corrections_need_a_reason_and_additions_do_not(
    live_server: LiveServer, clinician: PageClient
) -> None:
    _store(live_server, "RP-D1")
    url = "/patients/RP-D1/record/details"
    shown = _form_values(clinician.get(url).text)
    added = {**shown, "height_cm": "165", "identity.identifiers.1.system": "NHS",
             "identity.identifiers.1.value": "9434765919"}  # fmt: skip
    assert clinician.post(url, added).status_code == 303
    record = _record(live_server, "RP-D1")
    assert (
        record["height_cm"] == 165 and record["identity"]["identifiers"][1]["value"] == "9434765919"
    )
    assert _revisions(live_server, "RP-D1")[-1] == (2, "clinician", None)
    shown = _form_values(clinician.get(url).text)
    renamed = {**shown, "identity.name": "Ada Exemple", "sex": "male"}
    refused = clinician.post(url, renamed)
    assert refused.status_code == 422 and 'id="f-reason-error"' in refused.text
    assert _record(live_server, "RP-D1")["identity"]["name"] == "Ada Example"
    saved = clinician.post(url, {**renamed, "reason": "name as in the passport"})
    assert saved.status_code == 303
    record = _record(live_server, "RP-D1")
    assert (record["identity"]["name"], record["sex"]) == ("Ada Exemple", "male")
    assert _revisions(live_server, "RP-D1")[-1] == (3, "clinician", "name as in the passport")


def test_refused_corrections_name_the_field_and_store_nothing(
    live_server: LiveServer, clinician: PageClient
) -> None:
    _store(live_server, "RP-R1")
    url = "/patients/RP-R1/record/weights/1"
    values = {**_form_values(clinician.get(url).text), "reason": "typo"}
    tomorrow = (services.today() + dt.timedelta(days=1)).isoformat()
    cases = {
        "kg": ({"kg": "sixty"}, "must be a number"),
        "date": ({"date": tomorrow}, "date is after today"),
    }
    for field, (change, message) in cases.items():
        refused = clinician.post(url, {**values, **change})
        assert refused.status_code == 422, field
        assert f'id="f-{field}-error"' in refused.text and message in refused.text
    before_birth = clinician.post(
        "/patients/RP-R1/record/details",
        {**_form_values(clinician.get("/patients/RP-R1/record/details").text),
         "birth_date": "2025-02-01", "reason": "typo"},
    )  # fmt: skip
    assert before_birth.status_code == 422
    assert "Weight of 2025-01-10: Date" in html.unescape(before_birth.text)
    assert len(_revisions(live_server, "RP-R1")) == 1


def test_an_unlikely_corrected_value_is_stored_once_confirmed(
    live_server: LiveServer, clinician: PageClient
) -> None:
    _store(live_server, "RP-R2")
    url = "/patients/RP-R2/record/weights/1"
    values = {**_form_values(clinician.get(url).text), "kg": "45", "reason": "re-weighed"}
    doubted = clinician.post(url, values)
    assert doubted.status_code == 422 and 'name="confirm.kg"' in doubted.text
    assert len(_revisions(live_server, "RP-R2")) == 1
    confirmed = clinician.post(url, {**values, "confirm.kg": "on"})
    assert confirmed.status_code == 303
    assert _record(live_server, "RP-R2")["weights"][1]["kg"] == 45


def test_a_correction_on_a_revision_someone_changed_stores_nothing(
    live_server: LiveServer, clinician: PageClient
) -> None:
    _store(live_server, "RP-S1")
    url = "/patients/RP-S1/record/weights/0"
    values = {**_form_values(clinician.get(url).text), "kg": "65", "reason": "typo"}
    other = parse_record({**BASE, "id": "RP-S1", "weights": BASE["weights"][1:]})
    services.replace_patient(
        live_server.database, SETUP, "RP-S1", other, expected_revision=1, reason="duplicate"
    )
    stale = clinician.post(url, values)
    assert stale.status_code == 409
    assert "Someone else changed this record" in html.unescape(stale.text)
    assert _record(live_server, "RP-S1")["weights"] == [{"date": "2025-02-10", "kg": 61.3}]
    assert [number for number, *_ in _revisions(live_server, "RP-S1")] == [1, 2]
    removal = clinician.post(f"{url}/remove", {"revision": "1", "removal_reason": "x"})
    assert removal.status_code == 409


def test_unknown_parts_and_entries_are_404_pages(
    live_server: LiveServer, clinician: PageClient
) -> None:
    _store(live_server, "RP-N1")
    assert clinician.get("/patients/RP-N1/record/weights/2").status_code == 404
    assert clinician.get("/patients/RP-N1/record/elbows/0").status_code == 404
    assert clinician.get("/patients/NOBODY/record").status_code == 404
    assert clinician.get("/patients/NOBODY/history").status_code == 404
    no_revision = clinician.post("/patients/RP-N1/record/weights/0", {"kg": "60"})
    assert no_revision.status_code == 422


# --- the history and past revisions ----------------------------------------------------------


def test_history_page_lists_who_when_why_and_what_changed(
    live_server: LiveServer, clinician: PageClient
) -> None:
    _store(live_server, "RP-H1")
    url = "/patients/RP-H1/record/weights/1"
    values = {**_form_values(clinician.get(url).text), "kg": "63.1", "reason": "digits swapped"}
    assert clinician.post(url, values).status_code == 303
    page = clinician.get("/patients/RP-H1/history")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(page.text)))
    assert "Revision 2 current" in text and "by clinician" in text
    assert "Why: digits swapped" in text
    assert "corrected Weight of 2025-02-10: Weight (kg): 61.3 → 63.1" in text
    assert "Revision 1" in text and "by test-setup" in text
    today = services.today().isoformat()
    assert f'href="/patients/RP-H1?revision=1&amp;as_of={today}"' in page.text


def test_a_past_revision_shows_its_record_and_assessment_read_only(
    live_server: LiveServer, clinician: PageClient, kb: KnowledgeBase
) -> None:
    _store(live_server, "RP-H2", alsfrs_r=[{"date": "2025-02-10", "items": dict.fromkeys(
        ("speech", "salivation", "swallowing", "handwriting", "cutting_food", "dressing_hygiene",
         "turning_in_bed", "walking", "climbing_stairs", "dyspnea", "orthopnea",
         "respiratory_insufficiency"), 3), "gastrostomy": False}])  # fmt: skip
    url = "/patients/RP-H2/record/alsfrs-r/0"
    values = {**_form_values(clinician.get(url).text), "items.speech": "1", "reason": "rescored"}
    assert clinician.post(url, values).status_code == 303
    as_of = "2025-03-01"
    first = services.read_patient(live_server.database, SETUP, "RP-H2", revision=1).record
    expected = assess(first, as_of=dt.date.fromisoformat(as_of), kb=kb)
    assert expected.scores.alsfrs_r is not None and expected.scores.alsfrs_r.total == 36
    past = clinician.get(f"/patients/RP-H2?revision=1&as_of={as_of}")
    assert past.status_code == 200
    assert 'id="revision-banner"' in past.text
    assert (
        "Revision 1 of the record" in past.text and "not the current one (revision 2)" in past.text
    )
    assert re.search(r'id="score-alsfrs_r"><dt>[^<]+</dt><dd>36<', past.text)
    assert 'name="revision" value="1"' in past.text  # the date picker stays on revision 1
    assert "Record a visit" not in past.text and "<form method=\"post\"" not in past.text.split(
        "</header>")[1]  # fmt: skip
    current = clinician.get(f"/patients/RP-H2?as_of={as_of}")
    assert re.search(r'id="score-alsfrs_r"><dt>[^<]+</dt><dd>34<', current.text)
    assert "revision-banner" not in current.text
    record_then = clinician.get("/patients/RP-H2/record?revision=1")
    assert (
        "Speech: 3" in html.unescape(record_then.text)
        and "Correct or remove" not in record_then.text
    )


def test_a_past_revision_that_does_not_exist_is_a_404_or_422_page(
    live_server: LiveServer, clinician: PageClient
) -> None:
    _store(live_server, "RP-H3")
    assert clinician.get("/patients/RP-H3?revision=2").status_code == 404
    assert clinician.get("/patients/RP-H3?revision=first").status_code == 422
    assert clinician.get("/patients/RP-H3/record?revision=0").status_code == 422
