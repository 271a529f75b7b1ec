"""The clinic pages over HTTP against a live server (SQLite and PostgreSQL): login and the
session cookie, CSRF protection of every form, what a viewer may do, form validation (the
field and the reason on the form, nothing stored, never a 500), and what the patient page shows
of the record v2 and its assessment (the dated parts, the course, stale and implausible scores,
the ENCALS event, applicability and conditional survival, and every unverified conclusion)."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from sqlalchemy import delete

from alscare import Assessment, assess, parse_record, services
from alscare.knowledge import KnowledgeBase
from alscare.presentation import ENCALS_CAVEAT, number
from alscare.schemas.vocabulary import AlsfrsItem, Region
from alscare.storage.security import Actor, Channel, Role
from alscare.storage.tables import UserRow
from tests.conftest_server import MAX_FAILURES, PASSWORD, LiveServer
from tests.integration.strategies import FULL_RECORD_V1, LONGITUDINAL, rating

SETUP = Actor(username="test-setup", role=Role.ADMIN, channel=Channel.CLI)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class PageClient:
    """A browser stand-in: keeps the session cookie and reads each form's CSRF token."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)
        self.token = ""

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.get(path, **kwargs)
        found = CSRF.search(response.text)
        if found:
            self.token = found.group(1)
        return response

    def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> httpx.Response:
        if csrf and not self.token:
            self.get("/login")
        body = {"csrf_token": self.token, **data} if csrf else dict(data)
        return self.http.post(path, data=body)

    def log_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password})
        self.get("/patients")
        return response


@pytest.fixture
def pages(live_server: LiveServer) -> Iterator[PageClient]:
    client = PageClient(live_server)
    yield client
    client.http.close()


_open_clients: list[PageClient] = []
# One session per account and server, shared by the tests of a module (a login costs an
# argon2 hash); tests that change a session make a fresh one with ``fresh=True``.
_sessions: dict[tuple[str, str], PageClient] = {}


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _open_clients:
        _open_clients.pop().http.close()


@pytest.fixture(autouse=True, scope="module")
def _close_sessions() -> Iterator[None]:
    yield
    while _sessions:
        _sessions.popitem()[1].http.close()


def logged_in(server: LiveServer, username: str, *, fresh: bool = False) -> PageClient:
    """A client with a session of ``username``."""
    key = (server.url, username)
    if not fresh and key in _sessions:
        return _sessions[key]
    client = PageClient(server)
    response = client.log_in(username)
    assert response.status_code == 303, response.text
    if fresh:
        _open_clients.append(client)
    else:
        _sessions[key] = client
    return client


def create(server: LiveServer, patient_id: str, **fields: str) -> None:
    client = logged_in(server, "clinician")
    data = {"id": patient_id, "birth_date": "1960-05-01", "symptom_onset.date": "2024-06-01"}
    data.update(fields)
    response = client.post("/patients/new", data)
    assert response.status_code == 303, response.text


def stored(server: LiveServer, patient_id: str) -> Any:
    return services.get_patient(server.database, SETUP, patient_id)


def rating_form(date: str = "2025-03-01", **scores: str) -> dict[str, str]:
    form = {"date": date, "item_5_form": "5a"}
    form.update({f"items.{item.value}": scores.get(item.value, "4") for item in AlsfrsItem})
    return form


def field_error(page: str, field: str) -> str:
    """The message shown beside a field (its element id is f-<field with dashes>-error)."""
    element_id = "f-" + field.replace(".", "-") + "-error"
    found = re.search(rf'id="{re.escape(element_id)}">(.*?)</p>', page, re.S)
    assert found, f"no error shown for {field}"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).removeprefix("Error: ")


# --- login and session -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/patients", "/patients/new", "/patients/P-1", "/patients/P-1/visit/alsfrs-r", "/audit"],
)
def test_pages_without_login_redirect_to_the_login_page(pages: PageClient, path: str) -> None:
    response = pages.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


def test_pages_login_sets_an_httponly_samesite_cookie_and_goes_where_asked(
    pages: PageClient,
) -> None:
    pages.get("/login?next=/topic")
    response = pages.post(
        "/login", {"username": "viewer", "password": PASSWORD, "next": "/topic?section=sources"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/topic?section=sources"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("alscare_session=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain HTTP here; HTTPS requests get Secure
    assert pages.get("/patients").status_code == 200


def test_pages_session_cookie_is_secure_over_https(pages: PageClient) -> None:
    """Behind a TLS proxy (X-Forwarded-Proto from the trusted loopback address, as uvicorn
    reads it) the cookie gets the Secure flag."""
    pages.get("/login")
    response = pages.http.post(
        "/login",
        data={"username": "viewer", "password": PASSWORD, "csrf_token": pages.token},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert response.status_code == 303
    assert "; secure" in response.headers["set-cookie"].lower()


def test_pages_are_never_cached_framed_or_scripted(live_server: LiveServer) -> None:
    client = logged_in(live_server, "viewer")
    for path in ("/patients", "/topic", "/patients/new", "/patients/PG-NOBODY"):
        headers = client.get(path).headers
        assert headers["cache-control"] == "no-store", path
        assert headers["x-frame-options"] == "DENY"
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "script-src" not in policy


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_pages_login_never_redirects_off_site(pages: PageClient, target: str) -> None:
    pages.get("/login")
    response = pages.post("/login", {"username": "viewer", "password": PASSWORD, "next": target})
    assert response.headers["location"] == "/patients"


def test_pages_wrong_password_shows_the_form_again_and_stores_no_session(
    pages: PageClient,
) -> None:
    pages.get("/login")
    response = pages.post("/login", {"username": "viewer", "password": "wrong password"})
    assert response.status_code == 401
    assert "Wrong username or password." in response.text
    assert 'value="viewer"' in response.text
    assert pages.get("/patients").status_code == 303


def test_pages_login_locks_the_account_after_repeated_failures(
    pages: PageClient, live_server: LiveServer
) -> None:
    services.add_user(live_server.database, SETUP, "locked-pages", PASSWORD, Role.VIEWER)
    pages.get("/login")
    for _ in range(MAX_FAILURES - 1):
        response = pages.post("/login", {"username": "locked-pages", "password": "wrong one"})
        assert response.status_code == 401
    response = pages.post("/login", {"username": "locked-pages", "password": "wrong one"})
    assert response.status_code == 429
    assert "locked after too many failed logins" in response.text
    response = pages.post("/login", {"username": "locked-pages", "password": PASSWORD})
    assert response.status_code == 429
    assert pages.get("/patients").status_code == 303


def test_pages_logout_ends_the_session(live_server: LiveServer) -> None:
    client = logged_in(live_server, "viewer", fresh=True)
    response = client.post("/logout", {})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/patients").status_code == 303


def test_pages_login_starts_a_new_csrf_token(pages: PageClient) -> None:
    pages.get("/login")
    before = pages.token
    pages.post("/login", {"username": "viewer", "password": PASSWORD})
    pages.get("/patients")
    assert pages.token and pages.token != before


def test_pages_forged_session_cookie_is_not_a_login(live_server: LiveServer) -> None:
    client = httpx.Client(base_url=live_server.url, follow_redirects=False)
    client.cookies.set("alscare_session", "eyJ1c2VybmFtZSI6ICJhZG1pbiJ9.forged.signature")
    assert client.get("/audit").status_code == 303
    client.close()


# --- CSRF ------------------------------------------------------------------------------------


def test_pages_post_without_csrf_token_is_refused_and_stores_nothing(
    live_server: LiveServer,
) -> None:
    create(live_server, "PG-CSRF-1")
    client = logged_in(live_server, "clinician")
    response = client.post("/patients/PG-CSRF-1/visit/alsfrs-r", rating_form(), csrf=False)
    assert response.status_code == 403
    assert "security token" in response.text
    assert stored(live_server, "PG-CSRF-1").alsfrs_r == ()


def test_pages_post_with_a_wrong_or_foreign_csrf_token_is_refused(
    live_server: LiveServer,
) -> None:
    create(live_server, "PG-CSRF-2")
    client = logged_in(live_server, "clinician")
    other = logged_in(live_server, "clinician", fresh=True)
    for token in ("not-the-token", other.token):
        response = client.post(
            "/patients/PG-CSRF-2/visit/weight",
            {"csrf_token": token, "date": "2025-01-01", "kg": "60"},
            csrf=False,
        )
        assert response.status_code == 403
    assert stored(live_server, "PG-CSRF-2").weights == ()


@pytest.mark.parametrize("path", ["/login", "/logout", "/patients/new"])
def test_pages_every_form_post_needs_the_csrf_token(pages: PageClient, path: str) -> None:
    response = pages.post(path, {"username": "viewer", "password": PASSWORD}, csrf=False)
    assert response.status_code == 403


# --- roles -----------------------------------------------------------------------------------


def test_pages_viewer_sees_no_write_form_or_link(live_server: LiveServer) -> None:
    create(live_server, "PG-VIEW-1")
    viewer = logged_in(live_server, "viewer")
    patient = viewer.get("/patients/PG-VIEW-1")
    assert patient.status_code == 200
    assert "/visit/" not in patient.text
    assert 'href="/patients/new"' not in viewer.get("/patients").text
    assert re.findall(r'<form method="post" action="([^"]+)"', patient.text) == ["/logout"]


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/patients/new", {"id": "PG-VIEW-NEW"}),
        ("/patients/PG-VIEW-2/visit/alsfrs-r", rating_form()),
        ("/patients/PG-VIEW-2/visit/weight", {"date": "2025-01-01", "kg": "60"}),
        (
            "/patients/PG-VIEW-2/visit/exam",
            {"date": "2025-01-01", "regions.cervical.weakness": "on"},
        ),
    ],
)
def test_pages_viewer_cannot_post_forms(
    live_server: LiveServer, path: str, form: dict[str, str]
) -> None:
    if not services.list_patients(live_server.database, SETUP, search="PG-VIEW-2"):
        create(live_server, "PG-VIEW-2")
    viewer = logged_in(live_server, "viewer")
    assert viewer.get(path).status_code == 403
    response = viewer.post(path, form)
    assert response.status_code == 403
    assert "Not allowed" in response.text
    record = stored(live_server, "PG-VIEW-2")
    assert (record.alsfrs_r, record.weights, record.examinations) == ((), (), ())
    assert not services.list_patients(live_server.database, SETUP, search="PG-VIEW-NEW")


def test_pages_audit_is_for_admins_and_shows_page_reads(live_server: LiveServer) -> None:
    create(live_server, "PG-AUDIT-1")
    clinician = logged_in(live_server, "clinician")
    clinician.get("/patients/PG-AUDIT-1")
    assert clinician.get("/audit").status_code == 403
    assert 'href="/audit"' not in clinician.get("/patients").text
    admin = logged_in(live_server, "admin")
    page = admin.get("/audit", params={"patient": "PG-AUDIT-1"})
    assert page.status_code == 200
    rows = re.findall(r"<tr>(.*?)</tr>", page.text, re.S)
    cells = [re.findall(r"<td>(.*?)</td>", row, re.S) for row in rows]
    actions = {(c[1], c[3], c[4]) for c in cells if len(c) == 7}
    assert ("clinician", "pages", "create") in actions
    assert ("clinician", "pages", "read") in actions
    assert ("clinician", "pages", "assess") in actions


# --- forms: validation -----------------------------------------------------------------------


def test_pages_alsfrs_r_out_of_range_shows_the_field_and_stores_nothing(
    live_server: LiveServer,
) -> None:
    create(live_server, "PG-FORM-1")
    client = logged_in(live_server, "clinician")
    response = client.post(
        "/patients/PG-FORM-1/visit/alsfrs-r", rating_form(speech="5", walking="-1")
    )
    assert response.status_code == 422
    assert field_error(response.text, "items.speech") == "must be a whole number from 0 to 4"
    assert field_error(response.text, "items.walking") == "must be a whole number from 0 to 4"
    assert "Nothing was saved" in response.text
    assert 'value="5"' in response.text  # what was typed is kept
    assert stored(live_server, "PG-FORM-1").alsfrs_r == ()


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"items.speech": "three"}, "items.speech", "must be a whole number from 0 to 4"),
        ({"items.speech": "2.5"}, "items.speech", "must be a whole number from 0 to 4"),
        ({"items.orthopnea": ""}, "items.orthopnea", "rate this item from 0 to 4"),
        ({"date": ""}, "date", "enter the date of the rating"),
        ({"date": "2025-02-30"}, "date", "must be a date (YYYY-MM-DD)"),
        ({"date": "1950-01-01"}, "date", "date is before the birth date"),
        ({"item_5_form": "5c"}, "item_5_form", "choose 5a or 5b for item 5"),
    ],
)
def test_pages_alsfrs_r_bad_input_names_the_field_and_the_reason(
    live_server: LiveServer, change: dict[str, str], field: str, reason: str
) -> None:
    if not services.list_patients(live_server.database, SETUP, search="PG-FORM-2"):
        create(live_server, "PG-FORM-2")
    client = logged_in(live_server, "clinician")
    response = client.post("/patients/PG-FORM-2/visit/alsfrs-r", {**rating_form(), **change})
    assert response.status_code == 422
    assert field_error(response.text, field) == reason
    assert stored(live_server, "PG-FORM-2").alsfrs_r == ()


@pytest.mark.parametrize(
    ("segment", "form", "field", "reason"),
    [
        ("weight", {"date": "2025-01-01", "kg": "0"}, "kg", "must be greater than 0"),
        ("weight", {"date": "2025-01-01", "kg": "sixty"}, "kg", "must be a number"),
        ("weight", {"date": "2025-01-01"}, "kg", "enter the weight in kg"),
        (
            "respiratory",
            {"date": "2025-01-01", "fvc_percent_predicted": "250"},
            "fvc_percent_predicted",
            "must be less than or equal to 200",
        ),
        (
            "respiratory",
            {"date": "2025-01-01", "position": "standing"},
            "position",
            "unknown id 'standing'",
        ),
        ("respiratory", {"date": "2025-01-01", "paco2": "6.1"}, "paco2_unit", "choose kPa or mmHg"),
        (
            "test",
            {"id": "vitamin_b12", "value": "300"},
            "unit",
            "choose one of pg/mL, pmol/L, ng/L",
        ),
        (
            "test",
            {"id": "mri_brain_spine", "value": "3"},
            "value",
            "this test is recorded as a result, not a number",
        ),
        ("test", {"id": "mri_brain_spine"}, "result", "give a result, a value, or both"),
        ("test", {"id": "brain_scan", "result": "normal"}, "id", "unknown id 'brain_scan'"),
        (
            "emg",
            {"date": "2025-01-01", "regions.cervical.muscles": "two"},
            "regions.cervical.muscles",
            "must be a whole number",
        ),
        (
            "emg",
            {"date": "2025-01-01", "rns_decrement": "maybe"},
            "rns_decrement",
            "choose yes, no or not recorded",
        ),
        ("exam", {"date": "2025-01-01"}, "regions", "tick each region you examined"),
        ("exam", {"regions.bulbar.examined": "on"}, "date", "enter the date of the examination"),
        ("weight", {"date": "2999-01-01", "kg": "60"}, "date", "date is after today"),
        (
            "exam",
            {"date": "2999-01-01", "regions.bulbar.examined": "on"},
            "date",
            "date is after today",
        ),
    ],
)
def test_pages_visit_form_bad_input_names_the_field_and_stores_nothing(
    live_server: LiveServer, segment: str, form: dict[str, str], field: str, reason: str
) -> None:
    if not services.list_patients(live_server.database, SETUP, search="PG-FORM-3"):
        create(live_server, "PG-FORM-3")
    client = logged_in(live_server, "clinician")
    response = client.post(f"/patients/PG-FORM-3/visit/{segment}", form)
    assert response.status_code == 422
    assert field_error(response.text, field) == reason
    record = stored(live_server, "PG-FORM-3")
    assert (record.weights, record.respiratory, record.tests) == ((), (), ())
    assert (record.examinations, record.emg_studies) == ((), ())


@pytest.mark.parametrize(
    ("form", "field", "reason"),
    [
        ({"id": ""}, "id", "enter the patient's id"),
        ({"id": "has space"}, "id", "use only letters, digits, '.', '_' and '-'"),
        ({"id": "PG-NEW-X", "sex": "robot"}, "sex", "unknown id 'robot'"),
        ({"id": "PG-NEW-X", "height_cm": "20"}, "height_cm", "must be greater than or equal to 50"),
        (
            {"id": "PG-NEW-X", "birth_date": "2000-01-01", "symptom_onset.date": "1999-01-01"},
            "symptom_onset.date",
            "date is before the birth date",
        ),
        (
            {"id": "PG-NEW-X", "progressive": "perhaps"},
            "progressive",
            "choose yes, no or not recorded",
        ),
        (
            {"id": "PG-NEW-X", "identity.identifiers.0.value": "0012345"},
            "identity.identifiers.0.system",
            "say which number it is (MRN, NHS, ...)",
        ),
        (
            {"id": "PG-NEW-X", "diagnosis_date": "2999-01-01"},
            "diagnosis_date",
            "date is after today",
        ),
    ],
)
def test_pages_new_patient_bad_input_names_the_field_and_stores_nothing(
    live_server: LiveServer, form: dict[str, str], field: str, reason: str
) -> None:
    client = logged_in(live_server, "clinician")
    response = client.post("/patients/new", form)
    assert response.status_code == 422
    assert field_error(response.text, field) == reason
    assert not services.list_patients(live_server.database, SETUP, search="PG-NEW-X")


def test_pages_new_patient_stores_a_record_v2_with_identity_and_dated_age(
    live_server: LiveServer,
) -> None:
    create(
        live_server,
        "PG-NEW-2",
        birth_date="",
        age_years="71",
        **{
            "identity.name": "Björk Example",
            "identity.identifiers.0.system": "MRN",
            "identity.identifiers.0.value": "0042",
        },
    )
    record = stored(live_server, "PG-NEW-2")
    assert record.identity is not None and record.identity.name == "Björk Example"
    assert [(i.system, i.value) for i in record.identity.identifiers] == [("MRN", "0042")]
    assert (record.age_years, record.age_on) == (71, services.today())
    client = logged_in(live_server, "viewer")
    assert "Björk Example" in client.get("/patients", params={"q": "björk"}).text
    page = client.get("/patients/PG-NEW-2").text
    assert "<strong>Björk Example</strong>" in page and "MRN 0042" in page


def test_pages_new_patient_with_a_taken_id_says_so(live_server: LiveServer) -> None:
    create(live_server, "PG-NEW-1", sex="male")
    client = logged_in(live_server, "clinician")
    response = client.post("/patients/new", {"id": "PG-NEW-1", "sex": "female"})
    assert response.status_code == 422
    assert field_error(response.text, "id") == "a patient with this id already exists"
    assert stored(live_server, "PG-NEW-1").sex == "male"


def test_pages_form_garbage_never_gives_a_server_error(live_server: LiveServer) -> None:
    create(live_server, "PG-FORM-4")
    client = logged_in(live_server, "clinician")
    junk = {"date": "\x00", "kg": "1e999", "items.speech": "९", "id": "x" * 5000, "extra": "?"}
    for segment in ("alsfrs-r", "respiratory", "weight", "exam", "emg", "test"):
        response = client.post(f"/patients/PG-FORM-4/visit/{segment}", junk)
        assert response.status_code in (303, 422), (segment, response.status_code)
    assert client.post("/patients/new", junk).status_code == 422


# --- forms: storing --------------------------------------------------------------------------


def test_pages_visit_forms_store_each_entry(live_server: LiveServer) -> None:
    create(live_server, "PG-STORE-1")
    client = logged_in(live_server, "clinician")
    posts = {
        "alsfrs-r": rating_form(cutting_food="2", item_5_form="5b"),
        "respiratory": {
            "date": "2025-03-01",
            "fvc_percent_predicted": "71",
            "paco2": "6.2",
            "paco2_unit": "kpa",
            "symptoms.morning_headache": "on",
        },
        "weight": {"date": "2025-03-01", "kg": "70,5"},
        "exam": {
            "date": "2025-03-01",
            "regions.bulbar.examined": "on",
            "regions.lumbosacral.hyperreflexia": "on",
        },
        "emg": {"date": "2025-02-01", "regions.thoracic.active_denervation": "no"},
        "test": {"id": "creatine_kinase", "value": "380", "unit": "U/L", "upper_limit": "200"},
    }
    posts["alsfrs-r"]["item_5_form"] = "5b"
    for segment, form in posts.items():
        response = client.post(f"/patients/PG-STORE-1/visit/{segment}", form)
        assert response.status_code == 303, (segment, response.text)
        assert response.headers["location"] == "/patients/PG-STORE-1"
    record = stored(live_server, "PG-STORE-1")
    assert record.alsfrs_r[0].gastrostomy is True
    assert record.alsfrs_r[0].items[AlsfrsItem.CUTTING_FOOD] == 2
    assert record.respiratory[0].paco2_kpa == 6.2
    assert record.respiratory[0].symptoms == ("morning_headache",)
    assert record.weights[0].kg == 70.5
    (examination,) = record.examinations
    assert examination.date == dt.date(2025, 3, 1)
    assert set(examination.regions) == {Region.BULBAR, Region.LUMBOSACRAL}
    lumbosacral = examination.regions[Region.LUMBOSACRAL]
    assert lumbosacral is not None and lumbosacral.hyperreflexia is True
    (study,) = record.emg_studies
    assert study.date == dt.date(2025, 2, 1)
    thoracic = study.regions[Region.THORACIC]
    assert thoracic is not None and thoracic.active_denervation is False
    assert record.tests[0].upper_limit == 200
    page = client.get("/patients/PG-STORE-1")
    assert "Test result saved." in page.text


def test_pages_exam_form_adds_a_dated_examination_and_keeps_the_earlier_ones(
    live_server: LiveServer,
) -> None:
    create(live_server, "PG-STORE-2")
    client = logged_in(live_server, "clinician")
    first = {"date": "2025-01-10", "regions.cervical.wasting": "on"}
    assert client.post("/patients/PG-STORE-2/visit/exam", first).status_code == 303
    form = client.get("/patients/PG-STORE-2/visit/exam").text
    assert f'name="date" type="date" value="{services.today()}"' in form
    assert " checked" not in form  # a new examination starts empty: nothing carried over
    second = {"date": "2025-02-10", "regions.thoracic.examined": "on"}
    assert client.post("/patients/PG-STORE-2/visit/exam", second).status_code == 303
    record = stored(live_server, "PG-STORE-2")
    assert [(e.date, set(e.regions)) for e in record.examinations] == [
        (dt.date(2025, 1, 10), {Region.CERVICAL}),
        (dt.date(2025, 2, 10), {Region.THORACIC}),
    ]


# --- the patient page ------------------------------------------------------------------------


def test_pages_patient_page_shows_the_engines_assessment_on_the_chosen_date(
    live_server: LiveServer, kb: KnowledgeBase
) -> None:
    create(live_server, "PG-SHOW-1", **{"symptom_onset.site": "cervical"})
    client = logged_in(live_server, "clinician")
    client.post("/patients/PG-SHOW-1/visit/alsfrs-r", rating_form(speech="3", walking="2"))
    page = client.get("/patients/PG-SHOW-1", params={"as_of": "2025-04-01"})
    assert page.status_code == 200
    expected = assess(stored(live_server, "PG-SHOW-1"), as_of=dt.date(2025, 4, 1), kb=kb)
    assert expected.staging.kings.stage is not None
    tile = re.search(r"King's stage</dt><dd>([^<]*)<", page.text)
    assert tile and tile.group(1).strip() == expected.staging.kings.stage.value
    for recommendation in expected.recommendations:
        assert f'id="rec-{recommendation.id}"' in page.text
        for source in recommendation.sources:
            assert f'href="#src-{source}"' in page.text
            assert f'id="src-{source}"' in page.text  # the citation is on the page
    before = client.get("/patients/PG-SHOW-1", params={"as_of": "2025-02-01"})
    assert "Showing the assessment as of 2025-02-01" in before.text
    assert "No ALSFRS-R rating up to 2025-02-01." in before.text


def test_pages_patient_page_defaults_to_today(live_server: LiveServer) -> None:
    create(live_server, "PG-SHOW-2")
    client = logged_in(live_server, "viewer")
    page = client.get("/patients/PG-SHOW-2")
    assert f'name="as_of" type="date" value="{services.today()}"' in page.text


def test_pages_unknown_patient_bad_date_and_unknown_form_are_error_pages(
    live_server: LiveServer,
) -> None:
    client = logged_in(live_server, "clinician")
    missing = client.get("/patients/PG-NOBODY")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    create(live_server, "PG-ERR-1")
    for as_of in ("2025-13-01", "9999-12-31", "1899-12-31"):
        page = client.get("/patients/PG-ERR-1", params={"as_of": as_of})
        assert page.status_code == 422, as_of
        assert "text/html" in page.headers["content-type"]
    too_late = client.get("/patients/PG-ERR-1", params={"as_of": "9999-12-31"}).text
    assert "from 1900-01-01 to 2199-12-31" in too_late
    assert client.get("/patients/PG-ERR-1/visit/blood-pressure").status_code == 404
    assert client.get("/topic", params={"section": "gossip"}).status_code == 404


def test_pages_patient_list_searches_by_id(live_server: LiveServer) -> None:
    create(live_server, "PG-LIST-ALPHA")
    create(live_server, "PG-LIST-BETA")
    client = logged_in(live_server, "viewer")
    page = client.get("/patients", params={"q": "list-alp"}).text
    assert ">PG-LIST-ALPHA</a>" in page and "PG-LIST-BETA" not in page
    none = client.get("/patients", params={"q": "zzz-none"}).text
    assert "No patient’s id, name or number contains" in none


def test_pages_topic_browser_shows_review_status_on_the_date(
    pages: PageClient, kb: KnowledgeBase
) -> None:
    client = pages
    due = kb.about.review_due()
    overdue = client.get("/topic", params={"as_of": str(due + dt.timedelta(days=1))})
    assert overdue.status_code == 200 and "Review overdue" in overdue.text
    current = client.get("/topic", params={"as_of": str(due), "section": "sources"})
    assert "Review up to date" in current.text
    assert all(f'id="src-{source.id}"' in current.text for source in kb.sources)


# --- accessibility basics --------------------------------------------------------------------


class _Controls(HTMLParser):
    """Collects form controls, the ids labels point at, and landmarks."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.labelled: set[str] = set()
        self.tags: set[str] = set()
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.add(tag)
        if tag == "html":
            self.lang = attributes.get("lang")
        if tag == "label" and attributes.get("for"):
            self.labelled.add(str(attributes["for"]))
        if tag in ("input", "select", "textarea") and attributes.get("type") != "hidden":
            self.controls.append(attributes)


@pytest.mark.parametrize(
    "path",
    [
        "/patients",
        "/patients/new",
        "/patients/PG-A11Y-1",
        *(
            f"/patients/PG-A11Y-1/visit/{s}"
            for s in ("alsfrs-r", "respiratory", "weight", "exam", "emg", "test")
        ),
        "/topic",
        "/audit",
    ],
)
def test_pages_every_control_has_a_label_and_pages_have_landmarks(
    live_server: LiveServer, path: str
) -> None:
    if not services.list_patients(live_server.database, SETUP, search="PG-A11Y-1"):
        create(live_server, "PG-A11Y-1")
    client = logged_in(live_server, "admin")
    response = client.get(path)
    assert response.status_code == 200
    parsed = _Controls()
    parsed.feed(response.text)
    assert parsed.lang == "en"
    assert {"header", "nav", "main", "footer"} <= parsed.tags
    unlabelled = [
        control
        for control in parsed.controls
        if control.get("id") not in parsed.labelled and not control.get("aria-label")
    ]
    assert unlabelled == []


# --- smaller paths ---------------------------------------------------------------------------


def test_pages_home_and_login_page_send_a_logged_in_user_on(live_server: LiveServer) -> None:
    client = logged_in(live_server, "viewer")
    assert client.get("/").headers["location"] == "/patients"
    assert client.get("/login", params={"next": "/topic"}).headers["location"] == "/topic"


def test_pages_emg_form_adds_a_study_and_starts_the_next_one_empty(
    live_server: LiveServer,
) -> None:
    create(live_server, "PG-EMG-1")
    client = logged_in(live_server, "clinician")
    study = {
        "date": "2025-02-01",
        "regions.cervical.chronic_neurogenic": "yes",
        "regions.cervical.muscles": "3",
        "sensory_conduction_abnormal": "no",
    }
    assert client.post("/patients/PG-EMG-1/visit/emg", study).status_code == 303
    (stored_study,) = stored(live_server, "PG-EMG-1").emg_studies
    cervical = stored_study.regions[Region.CERVICAL]
    assert cervical is not None and (cervical.chronic_neurogenic, cervical.muscles) == (True, 3)
    assert stored_study.sensory_conduction_abnormal is False
    assert stored_study.motor_conduction_block is None
    form = client.get("/patients/PG-EMG-1/visit/emg").text
    assert f'name="date" type="date" value="{services.today()}"' in form
    assert 'name="regions.cervical.muscles" type="number" value=""' in form
    assert " selected>" not in form


def test_pages_emg_before_the_birth_date_is_refused_on_its_date_field(
    live_server: LiveServer,
) -> None:
    create(live_server, "PG-EMG-2")
    client = logged_in(live_server, "clinician")
    response = client.post("/patients/PG-EMG-2/visit/emg", {"date": "1959-01-01"})
    assert response.status_code == 422
    assert field_error(response.text, "date") == "date is before the birth date"
    assert stored(live_server, "PG-EMG-2").emg_studies == ()


def test_pages_rating_form_offers_5b_once_a_gastrostomy_is_rated(live_server: LiveServer) -> None:
    create(live_server, "PG-5B-1", age_years="70", birth_date="")
    client = logged_in(live_server, "clinician")
    form = client.get("/patients/PG-5B-1/visit/alsfrs-r").text
    assert re.search(r'value="5a" required\s+checked', form)
    client.post("/patients/PG-5B-1/visit/alsfrs-r", {**rating_form(), "item_5_form": "5b"})
    form = client.get("/patients/PG-5B-1/visit/alsfrs-r").text
    assert re.search(r'value="5b"\s+checked', form)
    age = f"70 years (70 recorded on {services.today()})"
    assert age in client.get("/patients/PG-5B-1").text


def test_pages_session_of_a_removed_account_is_a_logged_out_session(
    live_server: LiveServer,
) -> None:
    services.add_user(live_server.database, SETUP, "gone-soon", PASSWORD, Role.CLINICIAN)
    client = logged_in(live_server, "gone-soon", fresh=True)
    assert client.get("/patients").status_code == 200
    with live_server.database.transaction() as session:
        session.execute(delete(UserRow).where(UserRow.username == "gone-soon"))
    response = client.get("/patients")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


# --- the patient page: the record v2 and the assessment's new parts ---------------------------

AS_OF = dt.date(2025, 1, 15)
LATER = dt.date(2025, 9, 1)


def _store(server: LiveServer, data: dict[str, Any]) -> None:
    services.import_records(server.database, SETUP, [parse_record(data)], replace=True)


def _page(server: LiveServer, patient_id: str, as_of: dt.date) -> str:
    response = logged_in(server, "viewer").get(f"/patients/{patient_id}", params={"as_of": as_of})
    assert response.status_code == 200, response.text
    return response.text


def _assessed(server: LiveServer, patient_id: str, as_of: dt.date, kb: KnowledgeBase) -> Assessment:
    return assess(stored(server, patient_id), as_of=as_of, kb=kb)


class _Element(HTMLParser):
    """The markup of the element with one id, its start tag to its end tag."""

    def __init__(self, element_id: str) -> None:
        super().__init__(convert_charrefs=False)
        self.element_id = element_id
        self.tag: str | None = None
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.tag is None and dict(attrs).get("id") == self.element_id:
            self.tag = tag
        if self.tag is not None and self.depth >= 0:
            self.parts.append(self.get_starttag_text() or "")
            if tag == self.tag:
                self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self.tag is not None and self.depth > 0:
            self.parts.append(f"</{tag}>")
            if tag == self.tag:
                self.depth -= 1
                if self.depth == 0:
                    self.depth = -1  # done

    def handle_data(self, data: str) -> None:
        if self.tag is not None and self.depth > 0:
            self.parts.append(data)

    def handle_entityref(self, name: str) -> None:
        self.handle_data(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.handle_data(f"&#{name};")


def element(page: str, element_id: str) -> str:
    parser = _Element(element_id)
    parser.feed(page)
    assert parser.tag is not None, f"no element with id {element_id!r}"
    return "".join(parser.parts)


def text_of(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


UNVERIFIED = 'class="tag unverified"'


def test_pages_patient_page_shows_the_dated_parts_of_the_record(live_server: LiveServer) -> None:
    _store(live_server, LONGITUDINAL)
    page = _page(live_server, "PG-V2-1", AS_OF)
    assert "<strong>Ada Example</strong>" in page and "NHS 9434765919" in page
    rows = re.findall(r"<tr[^>]*>.*?</tr>", element(page, "record-examinations"), re.S)
    lines = [text_of(row) for row in rows[1:]]  # the header row first
    assert lines == [
        "2025-03-01 after 2025-01-15 Bulbar wasting",
        "2024-12-01 Cervical (arms, hands, neck) weakness, brisk reflexes (incl. kept in a wasted "
        "muscle)",
        "2024-12-01 Lumbosacral (legs) weakness, wasting, brisk reflexes (incl. kept in a wasted "
        "muscle)",
        "2024-12-01 Bulbar no fasciculations",
        "2024-09-01 Cervical (arms, hands, neck) weakness, wasting",
    ]
    assert 'class="after-as-of"' in rows[1] and "after-as-of" not in "".join(rows[2:])
    emg = text_of(element(page, "record-emg"))
    assert (
        "2024-08-20 Cervical (arms, hands, neck) chronic neurogenic change, fibrillations or "
        "positive sharp waves, in 3 muscles"
    ) in emg
    assert "Nerve conduction and other Motor conduction block: no" in emg
    interventions = text_of(element(page, "record-interventions"))
    assert interventions.count("2024-12-01") == 2
    assert "offered" in interventions and "declined" in interventions
    assert "2024-09-01 110 of 136 no not recorded" in text_of(element(page, "record-cognition"))
    assert "2024-09-01 Multidisciplinary" in text_of(element(page, "record-care"))
    assert 'id="record-death"' not in page


def test_pages_patient_page_marks_dates_the_v1_upgrade_inferred(live_server: LiveServer) -> None:
    _store(live_server, {**FULL_RECORD_V1, "id": "PG-V1-1"})
    page = _page(live_server, "PG-V1-1", AS_OF)
    examinations = element(page, "record-examinations")
    assert "date inferred" in examinations and "2024-02-01" in examinations  # the latest date
    assert "date inferred" not in element(page, "record-emg")  # the v1 EMG had its own date


def test_pages_patient_page_shows_the_course_and_the_encals_event_and_conditional(
    live_server: LiveServer, kb: KnowledgeBase
) -> None:
    _store(live_server, LONGITUDINAL)
    page = _page(live_server, "PG-V2-1", AS_OF)
    expected = _assessed(live_server, "PG-V2-1", AS_OF, kb)
    for region, first in expected.course.regions.items():
        cells = text_of(element(page, f"course-{region.value}"))
        label = region.value.capitalize()
        assert cells == f"{label} {first.first_umn or '—'} {first.first_lmn or '—'}"
    assert expected.course.regions[Region.CERVICAL].first_lmn == dt.date(2024, 8, 20)
    encals = expected.prognosis.encals
    assert encals.applicable is True and encals.event and encals.conditional is not None
    assert encals.event in text_of(element(page, "encals-event"))
    conditional = text_of(element(page, "encals-conditional"))
    median = encals.conditional.median_survival_months
    assert median is not None and f"{number(median)} months from {AS_OF}" in conditional
    for months, probability in encals.conditional.survival.items():
        assert f"{months} months later: {probability * 100:.0f} %" in conditional
    assert text_of(element(page, "encals-caveat")) == f"Caveat. {ENCALS_CAVEAT}"


def test_pages_patient_page_shows_stale_and_implausible_scores_with_their_dates(
    live_server: LiveServer, kb: KnowledgeBase
) -> None:
    heavy = {**LONGITUDINAL, "id": "PG-V2-2", "weights": [{"date": "2024-12-01", "kg": 400}]}
    _store(live_server, heavy)
    scores = _assessed(live_server, "PG-V2-2", AS_OF, kb).scores
    assert (scores.stale, scores.implausible) == (("fvc_percent_predicted",), ("bmi",))
    page = _page(live_server, "PG-V2-2", AS_OF)
    assert (
        text_of(element(page, "score-bmi"))
        == f"BMI {scores.bmi:.1f} kg/m², on 2024-12-01 implausible"
    )
    fvc = text_of(element(page, "score-fvc_percent_predicted"))
    assert fvc == "FVC 78 % predicted, on 2024-09-01 stale"
    # the assessment's own words for each flag, as every view shows them
    assert text_of(element(page, "score-note-fvc_percent_predicted")) == (
        f"FVC: {scores.notes['fvc_percent_predicted']}"
    )
    assert text_of(element(page, "score-note-bmi")) == f"BMI: {scores.notes['bmi']}"
    assert scores.notes["bmi"].startswith("implausible, not used for advice")
    later = _assessed(live_server, "PG-V2-2", LATER, kb).scores
    assert {"bmi", "alsfrs_r"} <= set(later.stale)
    page = _page(live_server, "PG-V2-2", LATER)
    assert text_of(element(page, "score-bmi")).endswith("stale implausible")
    assert "stale" in text_of(element(page, "score-alsfrs_r"))
    notes = text_of(element(page, "scores-notes"))
    assert all(f"of {later.dates[key]}" in notes for key in later.stale)


def test_pages_patient_page_says_when_encals_does_not_apply_and_why(
    live_server: LiveServer, kb: KnowledgeBase
) -> None:
    quick = {**LONGITUDINAL, "id": "PG-V2-3", "diagnosis_date": "2024-01-20"}
    quick["alsfrs_r"] = [rating("2024-01-20", walking=3)]
    quick["respiratory"] = [{"date": "2024-01-20", "fvc_percent_predicted": 80}]
    _store(live_server, quick)
    encals = _assessed(live_server, "PG-V2-3", AS_OF, kb).prognosis.encals
    assert encals.applicable is False and encals.median_survival_months is None
    page = _page(live_server, "PG-V2-3", AS_OF)
    section = text_of(element(page, "prognosis"))
    assert "Not applicable to this patient" in section
    reasons = [reason for reason in encals.because if reason.startswith("not applicable")]
    assert reasons and all(reason in section for reason in reasons)
    assert 'id="encals-conditional"' not in page and "Estimated median" not in section


def test_pages_patient_page_shows_death_and_stage_5(
    live_server: LiveServer, kb: KnowledgeBase
) -> None:
    _store(live_server, {**LONGITUDINAL, "id": "PG-V2-4", "death": {"date": "2025-06-01"}})
    expected = _assessed(live_server, "PG-V2-4", LATER, kb)
    assert expected.staging.kings.stage == "5"
    page = _page(live_server, "PG-V2-4", LATER)
    assert "<dt>Died</dt><dd>2025-06-01</dd>" in page
    assert text_of(element(page, "record-death")) == "Date 2025-06-01"
    assert text_of(element(page, "stage-kings")).startswith("King's stage 5")
    before = _page(live_server, "PG-V2-4", AS_OF)
    assert "after 2025-01-15" in text_of(element(before, "record-death"))


def test_pages_patient_page_marks_every_unverified_conclusion(
    live_server: LiveServer, kb: KnowledgeBase
) -> None:
    _store(live_server, LONGITUDINAL)
    assessment = _assessed(live_server, "PG-V2-1", LATER, kb)
    page = _page(live_server, "PG-V2-1", LATER)
    shown: list[tuple[str, bool]] = [
        *((f"alert-{a.id}", a.verified) for a in assessment.alerts),
        *((f"rec-{r.id}", r.verified) for r in assessment.recommendations),
        *((f"diff-{d.id}", d.verified) for d in assessment.differentials),
        *((f"inv-{i.id}", i.verified) for i in assessment.investigations),
        *((f"region-{region.value}", s.verified) for region, s in assessment.regions.items()),
        ("crit-gold_coast", assessment.criteria.gold_coast.verified),
        ("crit-el_escorial", assessment.criteria.el_escorial.verified),
        ("crit-awaji", assessment.criteria.awaji.verified),
        ("summary-h", assessment.scores.verified),
        ("stage-kings", assessment.staging.kings.verified),
        ("prog-h", assessment.prognosis.encals.verified),
        *((f"due-{item.id}", item.verified) for item in assessment.due),
    ]
    if assessment.staging.kings_clinical is not None:
        shown.append(("stage-kings_clinical", assessment.staging.kings_clinical.verified))
    unverified = [name for name, verified in shown if not verified]
    assert {"crit-gold_coast", "summary-h", "prog-h"} <= set(unverified)  # the case tests them
    assert any(name.startswith("rec-") for name in unverified)
    assert any(name.startswith("inv-") for name in unverified)
    for name, verified in shown:
        assert (UNVERIFIED in element(page, name)) is (not verified), name
    outside_trials = page.replace(element(page, "trials"), "")  # trials: test_patient_trials.py
    assert outside_trials.count(UNVERIFIED) == len(unverified)  # nothing else is marked
