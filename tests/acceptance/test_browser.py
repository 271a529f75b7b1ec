"""The clinic pages in a real browser: Debian's Chromium, driven by Playwright, against a live
server on SQLite. Each test uses its own patient ids; screenshots go to test-results/screenshots
for people to look at."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from alscare import assess, parse_record
from alscare.knowledge import KnowledgeBase
from alscare.presentation import Kind, wording
from alscare.schemas.vocabulary import AlsfrsItem, Region
from alscare.services import get_patient, import_records, today
from alscare.storage.security import Actor, Channel, Role
from tests.acceptance.conftest import SCREENSHOTS
from tests.conftest_server import PASSWORD, LiveServer
from tests.integration.strategies import LONGITUDINAL

pytestmark = pytest.mark.browser

READER = Actor(username="test-reader", role=Role.ADMIN, channel=Channel.CLI)
ITEMS = (
    "Speech",
    "Salivation",
    "Swallowing",
    "Handwriting",
    "Cutting food",
    "Dressing",
    "Turning in bed",
    "Walking",
    "Climbing stairs",
    "Shortness of breath",
    "Breathlessness lying flat",
    "Respiratory insufficiency",
)
SCORES = {"speech": 3, "handwriting": 2, "cutting_food": 3, "walking": 3}


def shoot(page: Page, name: str) -> None:
    """A screenshot of the whole page. Playwright's ``full_page`` leaves Chromium's hit-testing
    out of step with the layout (a later click lands beside its target), so the viewport is
    stretched to the page's height for the shot and put back afterwards."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    viewport = page.viewport_size
    assert viewport is not None
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": viewport["width"], "height": height})
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    page.set_viewport_size(viewport)


def log_in(page: Page, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Patients", level=1)).to_be_visible()


@pytest.fixture
def clinician(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1180, "height": 820})
    page = context.new_page()
    log_in(page, live_server, "clinician")
    yield page
    context.close()


def add_patient(page: Page, server: LiveServer, patient_id: str) -> None:
    page.goto(f"{server.url}/patients")
    page.get_by_role("link", name="New patient").first.click()
    page.get_by_label("Patient id").fill(patient_id)
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Birth date").fill("1960-05-01")
    page.get_by_label("Symptom onset date").fill("2024-06-01")
    page.get_by_label("Site of onset").select_option("cervical")
    page.get_by_label("Diagnosis date").fill("2025-01-15")
    page.get_by_role("button", name="Create patient").click()
    expect(page.get_by_role("heading", name=f"Patient {patient_id}", level=1)).to_be_visible()


def rate_alsfrs_r(page: Page, date: str, scores: dict[str, int]) -> None:
    page.get_by_role("link", name="ALSFRS-R rating").click()
    page.get_by_label("Date").fill(date)
    for item in AlsfrsItem:
        page.locator(f"#f-items-{item.value}").fill(str(scores.get(item.value, 4)))


def test_browser_clinician_adds_patient_and_rating_sees_stage_and_recommendation(
    clinician: Page, live_server: LiveServer, kb: KnowledgeBase
) -> None:
    page = clinician
    add_patient(page, live_server, "B-1001")
    expect(page.get_by_role("status").first).to_contain_text("Patient B-1001 created")
    rate_alsfrs_r(page, "2025-03-01", SCORES)
    shoot(page, "alsfrs_r_form")
    page.get_by_role("button", name="Save ALSFRS-R rating").click()
    expect(page.get_by_text("ALSFRS-R rating saved.")).to_be_visible()

    record = get_patient(live_server.database, READER, "B-1001")
    expected = assess(record, as_of=dt.date.today(), kb=kb)
    assert expected.staging.kings.stage is not None
    assert expected.recommendations, "the engine recommends something for this patient"

    stage_tile = page.locator(".tile", has_text="King's stage").first
    expect(stage_tile.locator("dd")).to_contain_text(expected.staging.kings.stage.value)
    expect(page.locator(".tile", has_text="ALSFRS-R total").locator("dd")).to_contain_text("43")
    recommendations = page.locator("#recs-h + ul.recs > li")
    expect(recommendations).to_have_count(len(expected.recommendations))
    first = expected.recommendations[0]
    item = page.locator(f"#rec-{first.id}")
    expect(item).to_contain_text(wording(kb).label(Kind.ACTION, first.action))
    # Each cited source resolves to its citation in the page's list of sources.
    source = first.sources[0]
    item.get_by_role("link", name=source).click()
    expect(page.locator(f"#src-{source}")).to_contain_text(kb.source(source).citation[:40])
    expect(page.locator("figure.chart svg[role=img]")).to_have_count(1)  # no FVC yet
    expect(page.get_by_text("No FVC measurement up to")).to_be_visible()
    shoot(page, "patient_page")


def test_browser_bad_alsfrs_r_value_shows_the_field_and_reason_and_stores_nothing(
    clinician: Page, live_server: LiveServer
) -> None:
    page = clinician
    add_patient(page, live_server, "B-1002")
    rate_alsfrs_r(page, "2025-03-01", {"speech": 7})
    speech = page.locator("#f-items-speech")
    # The browser refuses 7 itself (max=4) ...
    assert speech.evaluate("element => element.validity.rangeOverflow") is True
    page.get_by_role("button", name="Save ALSFRS-R rating").click()
    expect(page.get_by_role("heading", name=re.compile("ALSFRS-R rating"), level=1)).to_be_visible()
    # ... and the server refuses it too when the browser's check is bypassed.
    page.locator("form.visit-form").evaluate("form => { form.noValidate = true }")
    page.get_by_role("button", name="Save ALSFRS-R rating").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Nothing was saved")
    expect(summary).to_contain_text("Speech")
    field_error = page.locator("#f-items-speech-error")
    expect(field_error).to_contain_text("must be a whole number from 0 to 4")
    expect(page.locator("#f-items-speech")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-items-speech")).to_have_value("7")
    expect(page.locator("#f-items-walking")).to_have_value("4")
    shoot(page, "alsfrs_r_error")
    assert get_patient(live_server.database, READER, "B-1002").alsfrs_r == ()


def test_browser_item_5_switch_shows_the_gastrostomy_anchors(
    clinician: Page, live_server: LiveServer
) -> None:
    page = clinician
    add_patient(page, live_server, "B-1003")
    page.get_by_role("link", name="ALSFRS-R rating").click()
    item_5 = page.locator("#item-cutting_food")
    expect(item_5.locator("legend")).to_contain_text("5a. Cutting food")
    expect(item_5.get_by_text("Needs some help with closures and fasteners")).to_be_hidden()
    page.get_by_label("5b: handling closures and fasteners").check()
    expect(item_5.locator("legend")).to_contain_text("5b. Handling closures")
    expect(item_5.get_by_text("Needs some help with closures and fasteners")).to_be_visible()
    expect(item_5.get_by_text("Can cut most foods; needs some help")).to_be_hidden()


def test_browser_visit_forms_store_breathing_weight_exam_emg_and_tests(
    clinician: Page, live_server: LiveServer
) -> None:
    page = clinician
    add_patient(page, live_server, "B-1004")
    page.get_by_role("link", name="Breathing tests").click()
    page.get_by_label("Date").fill("2025-03-01")
    page.get_by_label("FVC (% predicted)", exact=True).fill("62")
    page.get_by_label("SNIP (cmH₂O)").fill("45")
    page.get_by_label("orthopnea").check()
    shoot(page, "respiratory_form")
    page.get_by_role("button", name="Save breathing tests").click()
    expect(page.get_by_text("Breathing tests saved.")).to_be_visible()

    page.get_by_role("link", name="Weight", exact=True).click()
    page.get_by_label("Weight (kg)").fill("61.5")
    page.get_by_role("button", name="Save weight").click()

    page.get_by_role("link", name="Examination").click()
    expect(page.get_by_label("Date")).to_have_value(today().isoformat())
    page.get_by_label("Date").fill("2025-02-20")
    cervical = page.get_by_role("group", name="Cervical (arms, hands, neck)")
    cervical.get_by_label("Weakness").check()
    cervical.get_by_label("Wasting").check()
    cervical.get_by_label("Spasticity").check()
    page.get_by_role("group", name="Bulbar").get_by_label("Examined").check()
    page.get_by_role("button", name="Save examination").click()

    page.get_by_role("link", name="EMG and nerve conduction").click()
    page.get_by_label("Date").fill("2025-02-10")
    lumbar = page.get_by_role("group", name="Lumbosacral (legs)")
    lumbar.get_by_label("Chronic neurogenic change").select_option("yes")
    lumbar.get_by_label("Fibrillations or positive sharp waves").select_option("yes")
    lumbar.get_by_label("Muscles with these changes").fill("2")
    page.get_by_label("Motor conduction block").select_option("no")
    shoot(page, "emg_form")
    page.get_by_role("button", name="Save EMG and nerve conduction").click()

    page.get_by_role("link", name="Test result").click()
    page.get_by_label("Test (required)").select_option("vitamin_b12")
    page.get_by_label("Date").fill("2025-02-01")
    page.get_by_label("Value").fill("412")
    page.get_by_label("Unit").select_option("pg/mL")
    page.get_by_role("button", name="Save test result").click()
    expect(page.get_by_text("Test result saved.")).to_be_visible()

    record = get_patient(live_server.database, READER, "B-1004")
    assert [m.fvc_percent_predicted for m in record.respiratory] == [62]
    assert record.respiratory[0].symptoms == ("orthopnea",)
    assert [w.kg for w in record.weights] == [61.5]
    (examination,) = record.examinations
    assert examination.date == dt.date(2025, 2, 20)
    assert set(examination.regions) == {"cervical", "bulbar"}
    cervical_signs = examination.regions[Region.CERVICAL]
    assert cervical_signs is not None and cervical_signs.spasticity is True
    (study,) = record.emg_studies
    assert (study.date, study.motor_conduction_block) == (dt.date(2025, 2, 10), False)
    lumbar_emg = study.regions[Region.LUMBOSACRAL]
    assert lumbar_emg is not None and lumbar_emg.muscles == 2
    assert [(t.id, t.value, t.unit) for t in record.tests] == [("vitamin_b12", 412, "pg/mL")]
    expect(page.locator(".tile", has_text="FVC").locator("dd")).to_contain_text("62")
    expect(page.get_by_role("img", name=re.compile("FVC % predicted over time"))).to_be_visible()
    examinations = page.get_by_role("table", name="Examinations")
    expect(examinations).to_contain_text("2025-02-20")
    expect(examinations).to_contain_text("weakness, wasting, spasticity")
    expect(page.get_by_role("table", name="EMG and nerve conduction studies")).to_contain_text(
        "2025-02-10"
    )


def test_browser_patient_page_shows_the_course_the_record_and_unverified_marks(
    clinician: Page, live_server: LiveServer, kb: KnowledgeBase
) -> None:
    record = parse_record({**LONGITUDINAL, "id": "B-2001"})
    import_records(live_server.database, READER, [record])
    as_of = dt.date(2025, 1, 15)
    expected = assess(record, as_of=as_of, kb=kb)
    page = clinician
    page.goto(f"{live_server.url}/patients/B-2001?as_of={as_of}")
    expect(page.get_by_role("heading", name="Patient B-2001", level=1)).to_be_visible()
    expect(page.get_by_text("Ada Example")).to_be_visible()
    course = page.get_by_role("table", name="Course: when each region first showed signs")
    cervical = expected.course.regions[Region.CERVICAL]
    row = f"Cervical {cervical.first_umn} {cervical.first_lmn}"
    expect(course.get_by_role("row", name=row, exact=True)).to_be_visible()
    examinations = page.get_by_role("table", name="Examinations")
    expect(examinations.locator("tr.after-as-of")).to_contain_text("after 2025-01-15")
    expect(page.get_by_role("table", name="Interventions")).to_contain_text("declined")
    encals = expected.prognosis.encals
    assert encals.event is not None and encals.conditional is not None
    prognosis = page.locator("#prognosis")
    expect(prognosis).to_contain_text(encals.event)
    expect(prognosis.locator("#encals-conditional")).to_contain_text(
        f"Given no event up to {as_of}"
    )
    expect(page.locator("#prog-h .tag.unverified")).to_be_visible()
    unverified = page.locator(".tag.unverified")
    expect(unverified.first).to_have_css("text-transform", "uppercase")
    assert unverified.count() > 3
    shoot(page, "patient_page_v2")


def test_browser_date_picker_shows_an_earlier_assessment(
    clinician: Page, live_server: LiveServer
) -> None:
    page = clinician
    add_patient(page, live_server, "B-1005")
    rate_alsfrs_r(page, "2025-03-01", SCORES)
    page.get_by_role("button", name="Save ALSFRS-R rating").click()
    page.get_by_label("Assessment date").fill("2025-02-01")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"as_of=2025-02-01"))
    expect(page.get_by_text("Showing the assessment as of 2025-02-01")).to_be_visible()
    expect(page.locator(".tile", has_text="ALSFRS-R total").locator("dd")).to_contain_text(
        "not known"
    )
    page.get_by_role("link", name="Back to today").click()
    expect(page.locator(".tile", has_text="ALSFRS-R total").locator("dd")).to_contain_text("43")


def test_browser_viewer_sees_no_write_forms_and_cannot_open_them(
    browser: Browser, live_server: LiveServer, clinician: Page
) -> None:
    add_patient(clinician, live_server, "B-1006")
    context = browser.new_context()
    page = context.new_page()
    log_in(page, live_server, "viewer")
    expect(page.get_by_role("link", name="New patient")).to_have_count(0)
    page.get_by_role("link", name="B-1006").click()
    expect(page.get_by_role("heading", name="Patient B-1006", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Record a visit")).to_have_count(0)
    expect(page.locator("form[method=post]")).to_have_count(1)  # only the log-out button
    shoot(page, "patient_page_viewer")
    for path in ("/patients/new", "/patients/B-1006/visit/alsfrs-r", "/audit"):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 403
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
        expect(page.locator("form.visit-form")).to_have_count(0)
    context.close()


def test_browser_topic_browser_shows_sections_sources_and_review_status(
    clinician: Page, live_server: LiveServer, kb: KnowledgeBase
) -> None:
    page = clinician
    page.get_by_role("link", name="Topic").first.click()
    expect(page.get_by_role("heading", name=kb.about.title, level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(f"knowledge version {kb.version}")
    expect(page.get_by_role("status")).to_contain_text(f"last reviewed {kb.about.last_reviewed}")
    sections = page.get_by_role("navigation", name="Sections")
    sections.get_by_role("link", name="Differentials").click()
    expect(page.get_by_role("heading", name="Differentials", level=2)).to_be_visible()
    first = kb.diagnosis.differentials[0]
    expect(page.get_by_role("heading", name=re.compile(re.escape(first.label)))).to_be_visible()
    reference = page.locator("ol.references li").first
    expect(reference).to_contain_text(kb.source(first.sources[0].id).citation[:30])
    shoot(page, "topic_differentials")
    page.get_by_label("Review status on", exact=True).fill(
        (kb.about.review_due() + dt.timedelta(days=1)).isoformat()
    )
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("status")).to_contain_text("Review overdue")
    sections.get_by_role("link", name="Sources").click()
    expect(page.locator(f"#src-{kb.sources[0].id}")).to_contain_text(kb.sources[0].citation[:30])


def test_browser_audit_page_lists_who_did_what_for_admins_only(
    browser: Browser, live_server: LiveServer, clinician: Page
) -> None:
    add_patient(clinician, live_server, "B-1007")
    expect(clinician.get_by_role("link", name="Audit")).to_have_count(0)
    context = browser.new_context()
    page = context.new_page()
    log_in(page, live_server, "admin")
    page.get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit trail", level=1)).to_be_visible()
    page.get_by_label("Patient id").fill("B-1007")
    page.get_by_label("Action").select_option("create")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("clinician")
    expect(rows.first).to_contain_text("pages")
    shoot(page, "audit")
    context.close()


def test_browser_keyboard_user_can_skip_to_the_main_content(
    clinician: Page, live_server: LiveServer
) -> None:
    page = clinician
    page.goto(f"{live_server.url}/patients")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_browser_pages_fit_a_portrait_tablet(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 768, "height": 1024})
    page = context.new_page()
    log_in(page, live_server, "clinician")
    add_patient(page, live_server, "B-1008")
    rate_alsfrs_r(page, "2025-03-01", SCORES)
    page.get_by_role("button", name="Save ALSFRS-R rating").click()
    for name, path in (
        ("portrait_patient", "/patients/B-1008"),
        ("portrait_alsfrs_r_form", "/patients/B-1008/visit/alsfrs-r"),
        ("portrait_topic", "/topic?section=treatment"),
    ):
        page.goto(f"{live_server.url}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow} px on a portrait tablet"
        shoot(page, name)
    context.close()


def test_browser_new_patient_errors_show_beside_their_fields(
    browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    shoot(page, "login")
    log_in(page, live_server, "clinician")
    page.get_by_role("link", name="New patient").first.click()
    page.locator("form[action='/patients/new']").evaluate("form => { form.noValidate = true }")
    page.get_by_label("Patient id").fill("B 1009")
    page.get_by_label("Birth date").fill("1970-01-01")
    page.get_by_label("Symptom onset date").fill("1969-06-01")
    page.get_by_role("button", name="Create patient").click()
    expect(page.locator("#f-id-error")).to_contain_text("use only letters, digits")
    page.get_by_label("Patient id").fill("B-1009")
    page.get_by_role("button", name="Create patient").click()
    expect(page.locator("#f-symptom_onset-date-error")).to_contain_text(
        "date is before the birth date"
    )
    summary = page.locator("#error-summary")
    summary.get_by_role("link").first.click()
    expect(page.get_by_label("Symptom onset date")).to_be_focused()
    shoot(page, "new_patient_error")
    page.get_by_label("Symptom onset date").fill("2020-06-01")
    page.get_by_role("button", name="Create patient").click()
    expect(page.get_by_role("heading", name="Patient B-1009", level=1)).to_be_visible()
    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_label("Find a patient by id").fill("b-1009")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    shoot(page, "patient_list")
    context.close()
