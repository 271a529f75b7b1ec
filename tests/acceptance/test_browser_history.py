"""A correction with its reason, then the old revision viewed, as a clinician does it in Debian's
Chromium (Playwright) against a live server on SQLite: a weight typed as 7.5 kg for 75 kg is
corrected from the record page, the history says who corrected it, when, why and what, and
revision 1 still shows the record and the assessment as they stood (the 7.5 kg and its
implausible BMI). Screenshots go to the screenshot folder for people to look at."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from alscare import assess, parse_record, services
from alscare.knowledge import KnowledgeBase
from alscare.presentation import number
from alscare.storage.security import Actor, Channel, Role
from tests.acceptance.test_browser import log_in, shoot
from tests.conftest_server import LiveServer

pytestmark = pytest.mark.browser

SETUP = Actor(username="test-setup", role=Role.ADMIN, channel=Channel.CLI)
PATIENT = "BH-1001"
RECORD = {
    "schema": "alscare.patient/v2",
    "id": PATIENT,
    "identity": {"name": "Ada Example", "identifiers": [{"system": "MRN", "value": "0012345"}]},
    "sex": "female",
    "birth_date": "1960-05-01",
    "height_cm": 170,
    "premorbid_weight_kg": 78,
    "symptom_onset": {"date": "2024-06-01", "site": "cervical"},
    "diagnosis_date": "2025-01-15",
    "weights": [{"date": "2025-01-15", "kg": 76}, {"date": "2025-03-01", "kg": 7.5}],
}
AS_OF = dt.date(2025, 3, 10)


@pytest.fixture
def clinician(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1180, "height": 820}, locale="en-GB")
    page = context.new_page()
    log_in(page, live_server, "clinician")
    yield page
    context.close()


def test_browser_correction_with_its_reason_then_the_old_revision_viewed(
    clinician: Page, live_server: LiveServer, kb: KnowledgeBase
) -> None:
    page = clinician
    # Stored as an import would store it: the slipped digit made it into the record.
    services.import_records(live_server.database, SETUP, [parse_record(RECORD)])
    typed = assess(parse_record(RECORD), as_of=AS_OF, kb=kb)
    assert "bmi" in typed.scores.implausible

    page.goto(f"{live_server.url}/patients/{PATIENT}?as_of={AS_OF}")
    page.get_by_role("link", name="The whole record: correct or remove").click()
    expect(page.get_by_role("heading", name=re.compile("The record"), level=1)).to_be_visible()
    page.get_by_role("link", name="Correct or remove: Weight of 2025-03-01").click()
    weight = page.get_by_label("Weight (kg)")
    expect(weight).to_have_value("7.5")
    weight.fill("75")
    reason = page.get_by_label("Reason for the correction")
    page.get_by_role("button", name="Save correction").click()
    # The browser asks for the reason before anything is sent ...
    assert reason.evaluate("element => element.validity.valueMissing") is True
    # ... and the server refuses a correction without one when the browser's check is bypassed.
    page.locator("#correct-form").evaluate("form => { form.noValidate = true }")
    page.get_by_role("button", name="Save correction").click()
    expect(page.locator("#f-reason-error")).to_contain_text("say why the entry was wrong")
    expect(page.get_by_label("Weight (kg)")).to_have_value("75")
    assert services.get_patient(live_server.database, SETUP, PATIENT).weights[1].kg == 7.5
    page.get_by_label("Reason for the correction").fill("typed 7.5 for 75 kg")
    shoot(page, "history_correction_form")
    page.get_by_role("button", name="Save correction").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Weight of 2025-03-01: correction saved"
    )
    expect(page.locator("#entry-weights-1")).to_contain_text("Weight (kg): 75")
    assert services.get_patient(live_server.database, SETUP, PATIENT).weights[1].kg == 75

    page.get_by_role("link", name="History of the record").click()
    latest = page.locator("#revision-2")
    expect(latest).to_contain_text("by clinician")
    expect(latest).to_contain_text("Why: typed 7.5 for 75 kg")
    expect(latest.locator(".change-replace")).to_contain_text(
        "Weight of 2025-03-01: Weight (kg): 7.5 → 75"
    )
    expect(page.locator("#revision-1")).to_contain_text("by test-setup")
    shoot(page, "history_page")

    # Revision 1 as it stood: its record and its assessment, read-only, on a chosen date.
    page.locator("#revision-1").get_by_role(
        "link", name="View revision 1 with its assessment"
    ).click()
    banner = page.locator("#revision-banner")
    expect(banner).to_contain_text("Revision 1 of the record, not the current one (revision 2)")
    page.get_by_label("Assessment date").fill(AS_OF.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(banner).to_be_visible()
    assert typed.scores.bmi is not None
    bmi = page.locator("#score-bmi")
    expect(bmi).to_contain_text(number(typed.scores.bmi))
    expect(bmi).to_contain_text("implausible")
    expect(page.get_by_role("heading", name="Record a visit")).to_have_count(0)
    shoot(page, "history_revision_1")

    page.get_by_role("link", name="The current record").click()
    corrected = assess(
        services.get_patient(live_server.database, SETUP, PATIENT), as_of=AS_OF, kb=kb
    )
    page.get_by_label("Assessment date").fill(AS_OF.isoformat())
    page.get_by_role("button", name="Show").click()
    assert corrected.scores.bmi is not None and "bmi" not in corrected.scores.implausible
    expect(page.locator("#score-bmi")).to_contain_text(number(corrected.scores.bmi))
    expect(page.locator("#revision-banner")).to_have_count(0)


def test_browser_identity_and_an_examination_corrected_in_their_forms(
    clinician: Page, live_server: LiveServer
) -> None:
    page = clinician
    record = {
        **RECORD,
        "id": "BH-1002",
        "examinations": [
            {"date": "2025-01-15", "regions": {"cervical": {"weakness": True}, "bulbar": {}}}
        ],
    }
    services.import_records(live_server.database, SETUP, [parse_record(record)])
    page.goto(f"{live_server.url}/patients/BH-1002/record")
    shoot(page, "history_record_page")
    page.get_by_role("link", name="Correct or complete the details").click()
    page.get_by_label("Name").fill("Ada Exemple")
    page.locator("#f-identity-identifiers-1-system").fill("NHS")
    page.locator("#f-identity-identifiers-1-value").fill("9434765919")
    page.get_by_label("Reason for the change").fill("name as in the passport; NHS number added")
    shoot(page, "history_details_form")
    page.get_by_role("button", name="Save correction").click()
    expect(page.get_by_role("status").first).to_contain_text("correction saved")
    identity = page.locator("#record-details")
    expect(identity).to_contain_text("Ada Exemple")
    expect(identity).to_contain_text("MRN 0012345, NHS 9434765919")

    page.get_by_role("link", name="Correct or remove: Examination of 2025-01-15").click()
    page.locator("#f-regions-lumbosacral-recorded").check()
    page.locator("#f-regions-lumbosacral-hyperreflexia").select_option("yes")
    page.locator("#f-regions-cervical-wasting").select_option("yes")
    page.get_by_label("Reason for the correction").fill("legs examined too; wasting missed")
    shoot(page, "history_examination_form")
    page.get_by_role("button", name="Save correction").click()
    expect(page.get_by_role("status").first).to_contain_text("correction saved")
    stored = services.get_patient(live_server.database, SETUP, "BH-1002")
    exam = stored.to_json_dict()["examinations"][0]["regions"]
    assert exam == {
        "bulbar": {},
        "cervical": {"weakness": True, "wasting": True},
        "lumbosacral": {"hyperreflexia": True},
    }
    page.get_by_role("link", name="History of the record").click()
    expect(page.locator("#revision-3")).to_contain_text("legs examined too; wasting missed")
    expect(page.locator("#revision-2")).to_contain_text("Identity: Name: Ada Example → Ada Exemple")
