"""``/docs`` works without internet: Swagger UI renders the API in Debian's Chromium while every
request to a host other than the server is recorded and refused, and none is made."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route, expect

from tests.acceptance.test_browser import shoot
from tests.conftest_server import LiveServer

pytestmark = pytest.mark.browser


def test_docs_render_with_no_request_leaving_the_machine(
    browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context(viewport={"width": 1180, "height": 820})
    requested: list[str] = []

    def only_this_server(route: Route) -> None:
        url = route.request.url
        requested.append(url)
        if url.startswith(live_server.url):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_this_server)
    page = context.new_page()
    page.goto(f"{live_server.url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("alscare")
    letter = page.locator(".opblock-summary-path", has_text="/api/v1/patients/{patient_id}/letter")
    expect(letter.first).to_be_visible()
    letter.first.click()
    expect(page.get_by_text("The clinic letter (the patient named in its header)")).to_be_visible()
    shoot(page, "docs_offline")
    outside = [url for url in requested if not url.startswith(live_server.url)]
    assert outside == []
    assert f"{live_server.url}/openapi.json" in requested
    assert any("/docs/assets/swagger-ui-bundle.js" in url for url in requested)
    context.close()


def test_docs_page_names_no_other_host(live_server: LiveServer) -> None:
    with live_server.client() as client:
        page = client.get("/docs")
        asset = client.get("/docs/assets/swagger-ui.css")
    assert page.status_code == 200 and asset.status_code == 200
    assert "validatorUrl" in page.text and '"validatorUrl": null' in page.text
    assert "cdn." not in page.text and "https://" not in page.text
