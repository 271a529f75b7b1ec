"""The worklist and the flowsheet in a real browser (Debian's Chromium via Playwright) as a
clinician uses them: find the overdue patient on the worklist and open them; read their visits
on the flowsheet, with the charts and the stale values marked. The patients are dated back from
today, as the pages assess on today's date. Screenshots go to test-results/screenshots."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from alscare import KnowledgeBase, assess, parse_record
from alscare.services import import_records, today
from alscare.storage.security import Actor, Channel, Role
from tests.acceptance.test_browser import clinician, log_in, shoot
from tests.builders_v2 import rated
from tests.conftest_server import LiveServer

pytestmark = pytest.mark.browser
__all__ = ["clinician"]  # test_browser's fixture, shared: a clinician's logged-in page

SETUP = Actor(username="test-setup", role=Role.ADMIN, channel=Channel.CLI)
BREATHING_TESTS = "Respiratory function tests (FVC, SNIP or MIP, SpO2)"


def _followed(patient_id: str, name: str, last_visit_days_ago: int) -> dict[str, Any]:
    """A person with ALS seen three times, three months apart, the last visit that many days
    ago: ALSFRS-R, breathing tests and weight at each visit, a cognitive screen at the first."""
    visits = [today() - dt.timedelta(days=last_visit_days_ago + 91 * n) for n in (2, 1, 0)]
    first = visits[0]
    return {
        "schema": "alscare.patient/v2",
        "id": patient_id,
        "identity": {"name": name, "identifiers": [{"system": "MRN", "value": f"M{patient_id}"}]},
        "sex": "female",
        "birth_date": "1958-03-01",
        "height_cm": 165,
        "symptom_onset": {"date": str(first - dt.timedelta(days=300)), "site": "cervical"},
        "diagnosis_date": str(first - dt.timedelta(days=30)),
        "alsfrs_r": [
            rated(str(day), handwriting=4 - n, cutting_food=4 - n, walking=3)
            for n, day in enumerate(visits)
        ],
        "respiratory": [
            {"date": str(day), "fvc_percent_predicted": fvc, "snip_cmh2o": snip}
            for day, fvc, snip in zip(visits, (96, 91, 88), (95, 88, 84), strict=True)
        ],
        "weights": [
            {"date": str(day), "kg": kg} for day, kg in zip(visits, (64, 63.5, 63), strict=True)
        ],
        "cognition": [{"date": str(first), "ecas_total": 118, "ftd": False}],
        "interventions": [],
    }


OVERDUE = _followed("BW-OVERDUE", "Olive Overdue", last_visit_days_ago=150)
CURRENT = _followed("BW-CURRENT", "Carl Current", last_visit_days_ago=20)


@pytest.fixture(scope="module")
def patients(live_server: LiveServer) -> dict[str, Any]:
    import_records(live_server.database, SETUP, [parse_record(OVERDUE), parse_record(CURRENT)])
    return {"overdue": OVERDUE, "current": CURRENT}


def test_browser_worklist_finds_the_overdue_patient_and_opens_them(
    clinician: Page, live_server: LiveServer, patients: dict[str, Any], kb: KnowledgeBase
) -> None:
    expected = assess(parse_record(OVERDUE), as_of=today(), kb=kb)
    due = {item.id: item for item in expected.due}
    assert {"respiratory_tests", "alsfrs_r", "weight"} <= set(due)
    assert not assess(parse_record(CURRENT), as_of=today(), kb=kb).due

    page = clinician
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Worklist").click()
    expect(page.get_by_role("heading", name="Worklist", level=1)).to_be_visible()
    worklist = page.get_by_role("table", name=re.compile("Items due on"))
    expect(worklist.get_by_role("link", name="BW-CURRENT")).to_have_count(0)
    expect(worklist.get_by_role("link", name="BW-OVERDUE")).to_have_count(len(due))
    shoot(page, "worklist")

    page.get_by_label("Kind of item").select_option(label=BREATHING_TESTS)
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"kind=respiratory_tests"))
    rows = worklist.locator("tbody tr")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_contain_text("Olive Overdue")
    expect(row.locator("td.date")).to_have_text(str(due["respiratory_tests"].since))
    expect(row).to_contain_text(due["respiratory_tests"].because[0])
    shoot(page, "worklist_breathing_tests")

    row.get_by_role("link", name="BW-OVERDUE").click()
    expect(page.get_by_role("heading", name="Patient BW-OVERDUE", level=1)).to_be_visible()
    expect(page.locator("#score-fvc_percent_predicted .tag.stale")).to_be_visible()


def test_browser_flowsheet_shows_the_visits_the_charts_and_the_stale_values(
    clinician: Page, live_server: LiveServer, patients: dict[str, Any]
) -> None:
    page = clinician
    page.goto(f"{live_server.url}/patients/BW-OVERDUE")
    page.get_by_role("link", name="Flowsheet").click()
    expect(
        page.get_by_role("heading", name="Flowsheet: patient BW-OVERDUE", level=1)
    ).to_be_visible()
    visits = page.get_by_role("table", name=re.compile("Visits of patient BW-OVERDUE"))
    expect(visits.locator("tbody tr")).to_have_count(3)
    last = visits.locator("tbody tr").last
    expect(last.get_by_role("rowheader")).to_have_text(OVERDUE["respiratory"][-1]["date"])
    stale = last.locator("td.stale")
    expect(stale).to_have_count(6)  # ALSFRS-R, ΔFS, FVC, SNIP, weight and BMI of the last visit
    expect(stale.nth(2)).to_contain_text("88")
    expect(stale.nth(2).locator(".tag.stale")).to_be_visible()
    expect(visits.locator("tbody tr").first.locator("td.stale")).to_have_count(0)
    expect(page.locator("#flowsheet-notes")).to_contain_text("stale, past the 3-month")

    for measure in ("ALSFRS-R total", "FVC", "SNIP", "Weight"):
        chart = page.get_by_role("img", name=f"{measure} over time, patient BW-OVERDUE")
        expect(chart).to_be_visible()
        assert chart.bounding_box() is not None
    fvc = page.get_by_role("img", name="FVC over time, patient BW-OVERDUE")
    expect(fvc.locator("circle.stale")).to_have_count(1)
    expect(fvc).to_contain_text("NIV, on FVC alone: below 50 % predicted")
    expect(fvc).to_contain_text("(unverified)")
    snip = page.get_by_role("img", name="SNIP over time, patient BW-OVERDUE")
    expect(snip).to_contain_text("NIV, on SNIP or MIP: weaker than 40 cmH2O")
    shoot(page, "flowsheet")


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("portrait_patient_list", "/patients"),
        ("portrait_worklist", "/worklist"),
        ("portrait_flowsheet", "/patients/BW-OVERDUE/flowsheet"),
    ],
)
def test_browser_clinic_page_fits_a_portrait_tablet(
    browser: Browser, live_server: LiveServer, patients: dict[str, Any], name: str, path: str
) -> None:
    """Wide tables scroll in their own frame; the page itself never scrolls sideways."""
    context = browser.new_context(viewport={"width": 768, "height": 1024})
    page = context.new_page()
    log_in(page, live_server, "viewer")
    page.goto(f"{live_server.url}{path}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    sideways = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    shoot(page, name)
    context.close()
    assert sideways <= 0, f"{path} scrolls sideways by {sideways} px on a portrait tablet"
