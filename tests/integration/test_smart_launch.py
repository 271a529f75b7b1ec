"""SMART on FHIR EHR launch end to end over real HTTP: a real alscare server (uvicorn, SQLite
and PostgreSQL), the test EHR of ``tests/smart_servers.py`` (an authlib authorisation server
with PKCE and OpenID id_tokens, and a FHIR server that checks the bearer token), and the browser
played by httpx following redirects with its cookies, and once by Chromium.

The EHR serves an example Bundle (``examples/fhir``) and the resources that
``record_out.record_resources`` makes of an example record with its own id and identifiers per
test (so no two tests' patients match each other, and a test can change the record).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, expect

from alscare import KnowledgeBase, PatientRecord, parse_record_json, services
from alscare.errors import NotFoundError
from alscare.interop.fhir.record_in import read_source, record_from_resources
from alscare.interop.fhir.record_out import record_resources
from alscare.settings import SmartEhr
from alscare.storage.audit import AuditAction
from alscare.storage.database import Database
from alscare.storage.security import Actor, Channel, Role
from alscare.web.app import create_app
from alscare.web.smart import ACCOUNT_MAKER, smart_username
from tests.acceptance.conftest import SCREENSHOTS, browser_context_args, browser_type_launch_args
from tests.conftest import example
from tests.conftest_server import Backend, LiveServer, serve_in_thread, server_settings
from tests.smart_servers import Ehr, serve_ehr

__all__ = ["browser_context_args", "browser_type_launch_args"]

CLIENT_ID: Final = "alscare-test"
CLIENT_SECRET: Final = "test-client-secret-0123456789"
EHR_NAME: Final = "testehr"
READER: Final = Actor("smart-test-reader", Role.ADMIN, Channel.CLI)
EXAMPLE_BUNDLE: Final = Path(__file__).parents[2] / "examples" / "fhir" / "P-0001-limb-onset.json"


@pytest.fixture(scope="module")
def ehr() -> Iterator[Ehr]:
    yield from serve_ehr(CLIENT_ID, CLIENT_SECRET)


@pytest.fixture(scope="module")
def viewer_ehr() -> Iterator[Ehr]:
    """A second EHR, whose users get viewer accounts."""
    yield from serve_ehr(CLIENT_ID, CLIENT_SECRET)


@pytest.fixture(scope="module")
def smart_server(
    backend: Backend, database: Database, kb: KnowledgeBase, ehr: Ehr, viewer_ehr: Ehr
) -> Iterator[LiveServer]:
    """alscare with the test EHRs configured (its redirect URI registered there once known)."""
    registration = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    ehrs = {
        ehr.fhir_base: {"name": EHR_NAME, **registration},
        viewer_ehr.fhir_base: {"name": "viewerehr", "role": "viewer", **registration},
    }
    settings = server_settings(backend.url, smart_ehrs=ehrs)
    app = create_app(settings, database=database, kb=kb)
    for url in serve_in_thread(app):
        ehr.client.redirect_uri = viewer_ehr.client.redirect_uri = f"{url}/smart/callback"
        yield LiveServer(url=url, database=database, settings=settings)


@pytest.fixture
def browser_client() -> Iterator[httpx.Client]:
    """A browser without JavaScript: follows redirects, keeps cookies."""
    with httpx.Client(follow_redirects=True, timeout=30) as client:
        yield client


@pytest.fixture(autouse=True)
def honest_ehr(ehr: Ehr) -> Iterator[None]:
    yield
    ehr.forge_id_tokens = False


def ehr_record(patient_id: str, **changes: Any) -> PatientRecord:
    """The example record as the EHR holds it, with numbers of its own."""
    data = example("P-0001-limb-onset", version=2).to_json_dict()
    identity = {"identifiers": [{"system": "MRN", "value": patient_id}]}
    return parse_record_json(json.dumps(data | {"id": patient_id, "identity": identity} | changes))


def publish(ehr: Ehr, record: PatientRecord) -> str:
    return ehr.publish(record_resources(record))


def authorised(client: httpx.Client, launch_url: str) -> dict[str, str]:
    """Launch and authorise without following the EHR's answer: its callback's query."""
    to_ehr = client.get(launch_url, follow_redirects=False)
    assert to_ehr.status_code == 303, to_ehr.text
    back = client.get(to_ehr.headers["location"], follow_redirects=False)
    assert back.status_code == 302, back.text
    query = parse_qs(urlsplit(back.headers["location"]).query)
    return {key: values[0] for key, values in query.items()}


def callback(client: httpx.Client, server: LiveServer, **query: str) -> httpx.Response:
    return client.get(f"{server.url}/smart/callback?{urlencode(query)}")


def stored(database: Database, patient_id: str) -> PatientRecord | None:
    try:
        return services.get_patient(database, READER, patient_id)
    except NotFoundError:
        return None


def ehr_username(ehr: Ehr) -> str:
    registration = SmartEhr(name=EHR_NAME, client_id=CLIENT_ID)
    return smart_username(registration, ehr.fhir_base, ehr.user.sub)


def test_smart_launch_good_launch_lands_on_the_patient_page_logged_in(
    smart_server: LiveServer, ehr: Ehr, browser_client: httpx.Client
) -> None:
    patient = publish(ehr, ehr_record("SMART-0001"))
    page = browser_client.get(ehr.launch_url(smart_server.url, patient))
    assert page.status_code == 200, page.text
    assert urlsplit(str(page.url)).path == "/patients/SMART-0001"
    assert "Opened from the EHR testehr (SMART launch)" in page.text
    assert "stored as revision 1" in page.text
    record = stored(smart_server.database, "SMART-0001")
    assert record is not None and record.identity is not None
    assert record.identity.identifiers[0].value == "SMART-0001"
    history = services.patient_revisions(smart_server.database, READER, "SMART-0001")
    assert [entry.username for entry in history] == [ehr_username(ehr)]
    # logged in: another page of the app opens without a login
    listing = browser_client.get(f"{smart_server.url}/patients")
    assert urlsplit(str(listing.url)).path == "/patients"


def test_smart_launch_of_an_example_bundle_reads_every_page_of_every_search(
    smart_server: LiveServer, ehr: Ehr, browser_client: httpx.Client
) -> None:
    resources = read_source(EXAMPLE_BUNDLE)
    patient = ehr.publish(resources)
    assert browser_client.get(ehr.launch_url(smart_server.url, patient)).status_code == 200
    # 42 Observations, 3 a page: what was stored is what the whole Bundle holds
    expected = record_from_resources(resources).record
    assert stored(smart_server.database, expected.id) == expected


def test_smart_launch_account_is_made_once_and_audited_with_each_login(
    smart_server: LiveServer, ehr: Ehr, browser_client: httpx.Client
) -> None:
    patient = publish(ehr, ehr_record("SMART-0002"))
    for _ in range(2):
        assert browser_client.get(ehr.launch_url(smart_server.url, patient)).status_code == 200
    username = ehr_username(ehr)
    audit = services.audit_trail(smart_server.database, READER, limit=1000)
    made = [e for e in audit if e.action is AuditAction.USER_ADDED and username in e.detail]
    assert [(e.username, e.channel) for e in made] == [(ACCOUNT_MAKER, "pages")]
    logins = [e for e in audit if e.username == username and e.action is AuditAction.LOGIN]
    assert len(logins) >= 2
    assert {e.detail for e in logins} == {f"SMART launch from {ehr.fhir_base}"}
    # the account has no password anyone knows: a password login is refused
    form = {"username": username, "password": "a guess at the password"}
    assert httpx.post(f"{smart_server.url}/api/v1/auth/token", data=form).status_code == 401


def test_smart_launch_changed_data_adds_a_revision_not_a_patient(
    smart_server: LiveServer, ehr: Ehr, browser_client: httpx.Client
) -> None:
    first = ehr_record("SMART-0003")
    patient = publish(ehr, first)
    assert browser_client.get(ehr.launch_url(smart_server.url, patient)).status_code == 200
    weights = [*first.to_json_dict()["weights"], {"date": "2025-01-20", "kg": 57.5}]
    changed = ehr_record("SMART-0003", weights=weights)
    assert publish(ehr, changed) == patient
    page = browser_client.get(ehr.launch_url(smart_server.url, patient))
    assert urlsplit(str(page.url)).path == "/patients/SMART-0003"
    assert "stored as revision 2" in page.text
    history = services.patient_revisions(smart_server.database, READER, "SMART-0003")
    assert [entry.revision for entry in history] == [1, 2]
    assert history[1].reason == f"SMART launch from {ehr.fhir_base}"
    latest = stored(smart_server.database, "SMART-0003")
    assert latest is not None and latest.weights[-1].kg == 57.5
    matching = services.list_patients(smart_server.database, READER, search="SMART-0003")
    assert [listing.id for listing in matching] == ["SMART-0003"]


def test_smart_launch_state_mismatch_is_refused(
    smart_server: LiveServer, ehr: Ehr, browser_client: httpx.Client
) -> None:
    patient = publish(ehr, ehr_record("SMART-0004"))
    answer = authorised(browser_client, ehr.launch_url(smart_server.url, patient))
    asked = len(ehr.token_requests)
    refused = callback(browser_client, smart_server, code=answer["code"], state="not-this-one")
    assert refused.status_code == 400
    assert "SMART launch refused" in refused.text and "state" in refused.text
    assert len(ehr.token_requests) == asked, "no code is exchanged for a state not ours"
    assert stored(smart_server.database, "SMART-0004") is None
    # the browser's own state still works, once: it is used up by the launch it completes
    assert callback(browser_client, smart_server, **answer).status_code == 200
    assert callback(browser_client, smart_server, **answer).status_code == 400


def test_smart_launch_wrong_code_is_refused(
    smart_server: LiveServer, ehr: Ehr, browser_client: httpx.Client
) -> None:
    patient = publish(ehr, ehr_record("SMART-0005"))
    answer = authorised(browser_client, ehr.launch_url(smart_server.url, patient))
    refused = callback(browser_client, smart_server, code="not-a-code", state=answer["state"])
    assert refused.status_code == 502
    assert "the code was refused (400): invalid_grant" in refused.text
    assert stored(smart_server.database, "SMART-0005") is None
    assert browser_client.get(f"{smart_server.url}/patients").url.path == "/login"


def test_smart_launch_unknown_iss_is_refused(
    smart_server: LiveServer, browser_client: httpx.Client
) -> None:
    query = urlencode({"iss": "https://elsewhere.example/fhir", "launch": "x"})
    refused = browser_client.get(f"{smart_server.url}/smart/launch?{query}")
    assert refused.status_code == 400
    assert "https://elsewhere.example/fhir" in refused.text
    assert "is not configured for SMART launch" in refused.text
    missing = browser_client.get(f"{smart_server.url}/smart/launch")
    assert missing.status_code == 400


def test_smart_launch_pkce_verifier_is_checked_by_the_server(
    smart_server: LiveServer, ehr: Ehr
) -> None:
    patient = publish(ehr, ehr_record("SMART-0006"))
    with httpx.Client(timeout=30) as victim, httpx.Client(timeout=30) as attacker:
        stolen = authorised(victim, ehr.launch_url(smart_server.url, patient))
        # at the token endpoint: the code with a verifier that is not the launch's
        form = {
            "grant_type": "authorization_code",
            "code": stolen["code"],
            "redirect_uri": ehr.client.redirect_uri,
            "code_verifier": "x" * 43,
        }
        token = httpx.post(
            f"{ehr.auth_base}/token", data=form, auth=(CLIENT_ID, CLIENT_SECRET), timeout=30
        )
        assert token.status_code == 400
        assert token.json()["error"] == "invalid_grant"
        # through alscare: the code in another browser's launch, whose verifier differs
        own = authorised(attacker, ehr.launch_url(smart_server.url, patient))
        refused = callback(attacker, smart_server, code=stolen["code"], state=own["state"])
    assert refused.status_code == 502
    assert "the code was refused (400): invalid_grant" in refused.text
    assert stored(smart_server.database, "SMART-0006") is None


def test_smart_launch_id_token_with_a_bad_signature_is_refused(
    smart_server: LiveServer, ehr: Ehr, browser_client: httpx.Client
) -> None:
    patient = publish(ehr, ehr_record("SMART-0007"))
    ehr.forge_id_tokens = True
    refused = browser_client.get(ehr.launch_url(smart_server.url, patient))
    assert refused.status_code == 502
    assert "Id_token: not accepted: Signature verification failed" in refused.text
    assert stored(smart_server.database, "SMART-0007") is None
    audit = services.audit_trail(smart_server.database, READER, limit=50)
    assert any(e.detail == "SMART launch refused at id_token" for e in audit)


def test_smart_launch_viewer_stores_nothing_and_opens_only_a_stored_patient(
    smart_server: LiveServer, viewer_ehr: Ehr, browser_client: httpx.Client
) -> None:
    record = ehr_record("SMART-0009")
    patient = publish(viewer_ehr, record)
    refused = browser_client.get(viewer_ehr.launch_url(smart_server.url, patient))
    assert refused.status_code == 404
    assert "a viewer account cannot store the record the EHR sent" in refused.text
    assert stored(smart_server.database, "SMART-0009") is None
    services.create_patient(smart_server.database, READER, record)
    page = browser_client.get(viewer_ehr.launch_url(smart_server.url, patient))
    assert urlsplit(str(page.url)).path == "/patients/SMART-0009"
    assert "a viewer account stores nothing" in page.text
    history = services.patient_revisions(smart_server.database, READER, "SMART-0009")
    assert [entry.username for entry in history] == [READER.username]


def test_smart_launch_unconfigured_answers_not_configured(live_server: LiveServer) -> None:
    query = urlencode({"iss": "https://ehr.example/fhir", "launch": "x"})
    for path in (f"/smart/launch?{query}", "/smart/callback?code=x&state=y"):
        answer = httpx.get(f"{live_server.url}{path}", timeout=30)
        assert answer.status_code == 404
        assert "SMART launch is not configured" in answer.text


@pytest.mark.browser
def test_smart_launch_in_chromium_opens_the_patient_page(
    smart_server: LiveServer, ehr: Ehr, browser: Browser
) -> None:
    patient = publish(ehr, ehr_record("SMART-0008"))
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(ehr.launch_url(smart_server.url, patient))
        expect(page).to_have_url(f"{smart_server.url}/patients/SMART-0008")
        expect(page.get_by_role("status")).to_contain_text("Opened from the EHR testehr")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "smart-launch-patient.png"))  # the top
    finally:
        context.close()
