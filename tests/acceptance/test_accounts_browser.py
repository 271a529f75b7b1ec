"""Account management in a real browser: an admin disables a clinician on the accounts page,
and the clinician's open page, at its next click, is the login page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from alscare import parse_record, services
from alscare.storage.security import Actor, Channel, Role
from tests.acceptance.test_browser import log_in, shoot
from tests.conftest_server import PASSWORD, LiveServer

pytestmark = pytest.mark.browser

SETUP = Actor(username="test-setup", role=Role.ADMIN, channel=Channel.CLI)


def test_admin_disables_a_clinician_whose_open_page_goes_to_login(
    browser: Browser, live_server: LiveServer
) -> None:
    services.add_user(live_server.database, SETUP, "dr-leaving", PASSWORD, Role.CLINICIAN)
    services.import_records(
        live_server.database, SETUP, [parse_record({"id": "ACC-B-1", "sex": "female"})]
    )
    clinician_context = browser.new_context()
    admin_context = browser.new_context()
    try:
        clinician = clinician_context.new_page()
        log_in(clinician, live_server, "dr-leaving")
        clinician.goto(f"{live_server.url}/patients/ACC-B-1")
        expect(clinician.get_by_role("heading", level=1)).to_contain_text("ACC-B-1")

        admin = admin_context.new_page()
        log_in(admin, live_server, "admin")
        admin.get_by_role("link", name="Accounts").click()
        expect(admin.get_by_role("heading", name="Accounts", level=1)).to_be_visible()
        admin.get_by_role("button", name="Disable dr-leaving").click()
        expect(admin.get_by_role("status")).to_contain_text("dr-leaving is disabled")
        expect(admin.locator("#account-dr-leaving")).to_contain_text("disabled")
        shoot(admin, "accounts-clinician-disabled")

        clinician.get_by_role("link", name="Worklist").click()
        expect(clinician.get_by_role("heading", name="Log in", level=1)).to_be_visible()
        clinician.get_by_label("Username").fill("dr-leaving")
        clinician.get_by_label("Password").fill(PASSWORD)
        clinician.get_by_role("button", name="Log in").click()
        expect(clinician.get_by_role("alert")).to_contain_text("Wrong username or password")
        shoot(clinician, "accounts-disabled-clinician-login")
    finally:
        clinician_context.close()
        admin_context.close()
