"""In Debian's Chromium: the patient page's "Letter" button opens the clinic letter (summary and
actions first, in clinical words), and a clinician sent to an admin page keeps the navigation
and reads that it needs an admin account. Screenshots go to test-results/screenshots."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Browser, expect

from alscare import KnowledgeBase, assess, services
from alscare.presentation import Kind, wording
from tests.acceptance.test_browser import log_in, shoot
from tests.conftest import example
from tests.conftest_server import ADMIN_ACTOR, LiveServer

pytestmark = pytest.mark.browser

AS_OF = dt.date(2025, 2, 1)


def test_browser_letter_button_opens_the_letter_with_the_actions_first(
    browser: Browser, live_server: LiveServer, kb: KnowledgeBase
) -> None:
    record = example("P-0004-sod1-late", version=2).model_copy(update={"id": "BL-0004"})
    services.import_records(live_server.database, ADMIN_ACTOR, [record])
    context = browser.new_context(viewport={"width": 1180, "height": 820})
    page = context.new_page()
    log_in(page, live_server, "clinician")
    page.goto(f"{live_server.url}/patients/{record.id}?as_of={AS_OF}")
    expect(page.locator("#encals-caveat")).to_contain_text("describes a population")
    shoot(page, "patient_page_letter_button")
    page.get_by_role("link", name="Letter", exact=True).click()
    expect(page.get_by_role("heading", name="Clinic summary", level=1)).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/patients/{record.id}/letter\?as_of={AS_OF}$"))
    words = wording(kb)
    expected = assess(record, as_of=AS_OF, kb=kb)
    actions = page.locator("#actions tbody tr")
    expect(actions).to_have_count(len(expected.recommendations))
    first = expected.recommendations[0]
    expect(actions.first).to_contain_text(words.label(Kind.RECOMMENDATION, first.id))
    expect(page.locator("#alerts")).to_contain_text(words.label(Kind.ALERT, expected.alerts[0].id))
    text = page.locator("body").inner_text()
    assert re.findall(r"\b[a-z0-9]+_[a-z0-9_]+\b", re.sub(r"https?://\S+", "", text)) == []
    shoot(page, "letter_html")
    context.close()


def test_browser_admin_page_refused_keeps_the_navigation(
    browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context(viewport={"width": 1180, "height": 820})
    page = context.new_page()
    log_in(page, live_server, "clinician")
    page.goto(f"{live_server.url}/audit")
    expect(page.get_by_role("heading", name="Not allowed", level=1)).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("This page needs an admin account.")
    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation.get_by_role("link", name="Patients")).to_be_visible()
    shoot(page, "forbidden_page")
    navigation.get_by_role("link", name="Patients").click()
    expect(page.get_by_role("heading", name="Patients", level=1)).to_be_visible()
    context.close()
