"""Error pages keep the navigation of a logged-in user and say plainly what is needed: a page
for admins tells a clinician "This page needs an admin account"."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.conftest_server import LiveServer
from tests.integration.test_pages import PageClient

MAIN_NAV = re.compile(r'<nav aria-label="Main">(.*?)</nav>', re.S)


@pytest.fixture
def clinician(live_server: LiveServer) -> Iterator[PageClient]:
    client = PageClient(live_server)
    client.log_in("clinician")
    yield client
    client.http.close()


def _nav_links(page: str) -> list[str]:
    nav = MAIN_NAV.search(page)
    assert nav is not None, "the page has no main navigation"
    return re.findall(r'<a href="([^"]+)"', nav.group(1))


def test_admin_page_refused_to_a_clinician_reads_properly_and_keeps_the_navigation(
    clinician: PageClient,
) -> None:
    response = clinician.get("/audit")
    assert response.status_code == 403
    page = response.text
    assert "<h1>Not allowed</h1>" in page
    assert (
        "This page needs an admin account. You are logged in as clinician, with a clinician "
        "account."
    ) in page
    assert _nav_links(page) == _nav_links(clinician.get("/patients").text)  # as on every page
    assert "/patients/new" in _nav_links(page) and "/audit" not in _nav_links(page)
    assert 'action="/logout"' in page and "clinician <span" in page
    assert "None" not in page


def test_write_page_refused_to_a_viewer_names_the_clinician_account(
    live_server: LiveServer,
) -> None:
    viewer = PageClient(live_server)
    with viewer.http:
        viewer.log_in("viewer")
        response = viewer.get("/patients/new")
        usual = _nav_links(viewer.get("/patients").text)
    assert response.status_code == 403
    assert "This page needs a clinician account." in response.text
    assert _nav_links(response.text) == usual and "/patients/new" not in usual


def test_not_found_page_keeps_the_navigation(clinician: PageClient) -> None:
    response = clinician.get("/patients/NO-SUCH-PATIENT")
    assert response.status_code == 404
    assert "/patients/new" in _nav_links(response.text)


def test_error_page_without_login_has_no_navigation(live_server: LiveServer) -> None:
    anonymous = PageClient(live_server)
    with anonymous.http:
        response = anonymous.post("/logout", {}, csrf=False)
    assert response.status_code == 403
    assert MAIN_NAV.search(response.text) is None
    assert '<a href="/login">Log in</a>' in response.text
