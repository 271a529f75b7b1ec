"""The clinic-visit page and alert answers in a real browser (Debian's Chromium through Playwright)
against a live server, as a clinician uses them: the first visit of a new patient scored by
tapping the ALSFRS-R anchors, through to the letter, a follow-up visit with an unlikely weight
to confirm, answering an NIV alert, and the page without JavaScript. Screenshots go to the
screenshot folder (tests/acceptance/conftest.py) for people to look at."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from alscare import assess, parse_record
from alscare.knowledge import KnowledgeBase
from alscare.schemas.vocabulary import AlsfrsItem, Region
from alscare.services import import_records, read_patient, today
from alscare.web.forms import alsfrs_r_anchors
from tests.acceptance.conftest import SCREENSHOTS
from tests.acceptance.test_browser import READER, add_patient, clinician, log_in, shoot
from tests.conftest_server import LiveServer

__all__ = ["clinician"]  # the logged-in page, shared with the other browser tests

pytestmark = pytest.mark.browser

TODAY = today()
LAST_VISIT = TODAY - dt.timedelta(days=91)
PORTRAIT = {"width": 820, "height": 1180}
SCORES = {"speech": 3, "handwriting": 2, "cutting_food": 3, "walking": 3}  # total 43


def item(page: Page, name: str) -> Locator:
    return page.locator(f"fieldset[data-item={name}]")


def tap(page: Page, scores: dict[str, int], *, default: int | None = 4) -> None:
    """Tap the anchor text of each item's score, as a clinician does (None: leave unrated)."""
    for anchored in alsfrs_r_anchors().items:
        score = scores.get(anchored.id.value, default)
        if score is not None:
            text = anchored.anchors[score]  # type: ignore[index]
            item(page, anchored.id.value).get_by_text(text, exact=True).first.click()


def running_total(page: Page) -> Locator:
    return page.locator("#alsfrs-r-total")


def follow_up_patient(server: LiveServer, patient_id: str) -> None:
    """A patient seen three months ago, with a gastrostomy in place since then."""
    last = LAST_VISIT.isoformat()
    record = {
        "schema": "alscare.patient/v2",
        "id": patient_id,
        "identity": {"name": "Grace Follow-Up"},
        "sex": "female",
        "birth_date": "1956-02-11",
        "height_cm": 164,
        "symptom_onset": {"date": (TODAY - dt.timedelta(days=800)).isoformat(), "site": "bulbar"},
        "diagnosis_date": (TODAY - dt.timedelta(days=600)).isoformat(),
        "alsfrs_r": [
            {"date": last, "items": {i.value: 3 for i in AlsfrsItem}, "gastrostomy": False}
        ],
        "respiratory": [{"date": last, "fvc_percent_predicted": 71}],
        "weights": [{"date": last, "kg": 66}],
        "interventions": [{"kind": "gastrostomy", "event": "started", "date": last}],
    }
    import_records(server.database, READER, [parse_record(record)])


def test_browser_first_visit_of_a_new_patient_scored_by_tapping_the_anchors(
    clinician: Page, live_server: LiveServer, kb: KnowledgeBase
) -> None:
    page = clinician
    add_patient(page, live_server, "BV-1001")
    page.get_by_role("link", name="Record a clinic visit").click()
    expect(page.get_by_role("heading", name="Clinic visit", level=1)).to_be_visible()
    expect(page.get_by_label("Visit date")).to_have_value(TODAY.isoformat())
    total = running_total(page)
    expect(total).to_be_visible()
    expect(total).to_contain_text("no item rated")

    tap(page, {"speech": 3})
    expect(total.locator("[data-total]")).to_have_text("47")
    tap(page, SCORES)
    expect(total.locator("[data-total]")).to_have_text("43")
    expect(total).to_contain_text("of 48, every item rated")
    domains = {"bulbar": "11 of 12", "fine_motor": "9 of 12", "gross_motor": "11 of 12"}
    for domain, text in {**domains, "respiratory": "12 of 12"}.items():
        expect(total.locator(f"[data-domain-total={domain}] [data-score]")).to_have_text(text)
    speech = item(page, "speech")
    expect(speech.get_by_label("Speech disturbance that can be noticed")).to_be_checked()

    page.get_by_label("FVC (% predicted)", exact=True).fill("78")
    page.get_by_label("SNIP (cmH₂O)").fill("62")
    page.get_by_label("Weight (kg)").fill("68")
    cervical = page.get_by_role("group", name="Cervical (arms, hands, neck)")
    cervical.get_by_label("Examined").check()
    cervical.get_by_label("Weakness").check()
    cervical.get_by_label("Wasting").check()
    page.get_by_role("group", name="Lumbosacral (legs)").get_by_label("Brisk reflexes").check()
    page.get_by_text("Key diagnostic factors").click()
    page.get_by_label("Upper extremity weakness").select_option("yes")
    page.get_by_label("Drug started", exact=True).first.fill("riluzole")
    shoot(page, "visit_first_filled")
    # a tablet held upright: one column, and the save button stays in view while scrolling
    page.set_viewport_size(PORTRAIT)
    page.get_by_role("group", name="Lumbosacral (legs)").scroll_into_view_if_needed()
    expect(page.get_by_role("button", name="Save visit")).to_be_in_viewport()
    page.screenshot(path=str(SCREENSHOTS / "visit_first_portrait.png"))
    page.get_by_role("button", name="Save visit").click()

    expect(page.get_by_text(f"Visit of {TODAY} saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Patient BV-1001", level=1)).to_be_visible()
    stored = read_patient(live_server.database, READER, "BV-1001")
    assert stored.revision == 2  # the patient, then the whole visit
    record = stored.record
    assessment = assess(record, as_of=TODAY, kb=kb)
    assert assessment.scores.alsfrs_r is not None and assessment.scores.alsfrs_r.total == 43
    expect(page.locator("#score-alsfrs_r dd")).to_contain_text("43")
    expect(page.locator("#score-fvc_percent_predicted dd")).to_contain_text("78")
    assert [w.kg for w in record.weights] == [68]
    (exam,) = record.examinations
    assert set(exam.examined()) == {Region.CERVICAL, Region.LUMBOSACRAL}
    assert [(m.name, m.since) for m in record.medications] == [("riluzole", TODAY)]
    shoot(page, "visit_first_saved_patient_page")

    # and through to the clinic letter: the summary and the actions come first
    page.get_by_role("link", name="Letter", exact=True).click()
    expect(page.get_by_role("heading", name="Clinic summary", level=1)).to_be_visible()
    expect(page.locator("#summary")).to_contain_text("43")
    actions = page.locator("#actions tbody tr")
    expect(actions).to_have_count(len(assessment.recommendations))
    shoot(page, "visit_first_letter")


def test_browser_follow_up_visit_keeps_5b_and_asks_to_confirm_a_large_weight_change(
    clinician: Page, live_server: LiveServer
) -> None:
    follow_up_patient(live_server, "BV-1002")
    page = clinician
    page.goto(f"{live_server.url}/patients/BV-1002")
    page.get_by_role("link", name="Record a clinic visit").click()
    # a gastrostomy is in place, so item 5 is its 5b form, and its anchors are shown
    expect(page.get_by_label("5b: handling closures and fasteners")).to_be_checked()
    item_5 = item(page, "cutting_food")
    expect(item_5.locator("legend")).to_contain_text("5b. Handling closures")
    expect(item_5.get_by_text("Can cut most foods; needs some help")).to_be_hidden()
    tap(page, {"speech": 2, "swallowing": 2, "walking": 2}, default=None)
    expect(running_total(page)).to_contain_text("so far: 3 of 12 items rated")
    expect(running_total(page).locator("[data-total]")).to_have_text("6")
    bulbar = running_total(page).locator("[data-domain-total=bulbar]")
    expect(bulbar).to_have_text("4 2 of 3 rated")
    page.get_by_label("FVC (% predicted)", exact=True).fill("58")
    page.get_by_label("Weight (kg)").fill("58")  # 12 % below the 66 kg of the last visit
    page.get_by_role("button", name="Save visit").click()

    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Nothing was saved")
    expect(summary).to_contain_text(
        "Weight: 58 kg is unlikely (more than 10 % below the previous weight)"
    )
    expect(page.locator("#f-weights-kg-error")).to_contain_text("needs confirmation")
    expect(page.get_by_label("Weight (kg)")).to_have_value("58")
    expect(item(page, "walking").get_by_label("Walks with help")).to_be_checked()
    shoot(page, "visit_follow_up_confirm")
    assert read_patient(live_server.database, READER, "BV-1002").revision == 1
    page.get_by_label("I confirm this value").check()
    page.get_by_role("button", name="Save visit").click()

    expect(page.get_by_text(f"Visit of {TODAY} saved.")).to_be_visible()
    stored = read_patient(live_server.database, READER, "BV-1002")
    assert stored.revision == 2
    rating = stored.record.alsfrs_r[-1]
    assert rating.gastrostomy is True and len(rating.unrated()) == 9
    assert [w.kg for w in stored.record.weights] == [66, 58]
    shoot(page, "visit_follow_up_saved")


def test_browser_answering_an_niv_alert_records_the_decision_and_updates_the_page(
    clinician: Page, live_server: LiveServer, kb: KnowledgeBase
) -> None:
    weak = {
        "schema": "alscare.patient/v2",
        "id": "BV-1003",
        "birth_date": "1962-07-30",
        "symptom_onset": {"date": (TODAY - dt.timedelta(days=500)).isoformat()},
        "respiratory": [{"date": TODAY.isoformat(), "fvc_percent_predicted": 44}],
    }
    record = parse_record(weak)
    import_records(live_server.database, READER, [record])
    assert "niv_indicated" in {alert.id for alert in assess(record, as_of=TODAY, kb=kb).alerts}
    page = clinician
    page.goto(f"{live_server.url}/patients/BV-1003")
    alert = page.locator("#alert-niv_indicated")
    expect(alert).to_be_visible()
    shoot(page, "niv_alert_before")
    alert.get_by_role("button", name="NIV offered").click()
    expect(page.get_by_text(f"NIV offered: recorded on {TODAY}.")).to_be_visible()
    offered = read_patient(live_server.database, READER, "BV-1003").record
    still = "niv_indicated" in {a.id for a in assess(offered, as_of=TODAY, kb=kb).alerts}
    expect(page.locator("#alert-niv_indicated")).to_have_count(1 if still else 0)
    page.locator("#alert-niv_indicated").get_by_role("button", name="NIV declined").click()
    expect(page.get_by_text(f"NIV declined: recorded on {TODAY}.")).to_be_visible()

    stored = read_patient(live_server.database, READER, "BV-1003")
    events = [(i.kind, i.event, i.date) for i in stored.record.interventions or ()]
    assert events == [("niv", "offered", TODAY), ("niv", "declined", TODAY)]
    assert stored.revision == 3
    after = assess(stored.record, as_of=TODAY, kb=kb)
    assert "niv_indicated" not in {a.id for a in after.alerts}
    expect(page.locator("#alert-niv_indicated")).to_have_count(0)
    expect(page.get_by_role("table", name="Interventions")).to_contain_text("declined")
    shoot(page, "niv_alert_answered")


@pytest.fixture
def without_script(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1180, "height": 820}
    )
    page = context.new_page()
    log_in(page, live_server, "clinician")
    yield page
    context.close()


def test_browser_visit_page_works_without_javascript(
    without_script: Page, live_server: LiveServer
) -> None:
    follow_up_patient(live_server, "BV-1004")
    page = without_script
    page.goto(f"{live_server.url}/patients/BV-1004/visit")
    expect(running_total(page)).to_be_hidden()
    page.get_by_label("5a: cutting food and handling utensils").check()
    expect(item(page, "cutting_food").locator("legend")).to_contain_text("5a. Cutting food")
    tap(page, SCORES)
    shoot(page, "visit_without_javascript")
    page.get_by_role("button", name="Save visit").click()
    expect(page.get_by_text(f"Visit of {TODAY} saved.")).to_be_visible()
    rating = read_patient(live_server.database, READER, "BV-1004").record.alsfrs_r[-1]
    assert rating.gastrostomy is False and rating.unrated() == ()
    assert sum(score or 0 for score in rating.items.values()) == 43
