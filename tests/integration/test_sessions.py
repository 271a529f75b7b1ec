"""Sessions and tokens that end: logout, a new password and a disabled account end them on the
server, at once, on SQLite and PostgreSQL, against a live server.

Issue 11 found that a saved session cookie opened a patient page after ``POST /logout`` (for up
to 12 hours) and that API tokens could not be revoked: these tests replay saved cookies and
tokens after each way a session ends.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from alscare import services
from alscare.storage import accounts
from alscare.storage.security import Role
from alscare.web.session import SESSION_COOKIE
from tests.conftest_server import ADMIN_ACTOR, PASSWORD, LiveServer
from tests.integration.test_pages import PageClient

PATIENT = {"id": "SESS-1", "weights": [{"date": "2024-01-01", "kg": 70}]}
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(scope="module", autouse=True)
def patient(live_server: LiveServer) -> None:
    with live_server.client("clinician") as client:
        assert client.post("/api/v1/patients", json=PATIENT).status_code == 201


def _account(server: LiveServer, name: str, role: Role = Role.CLINICIAN) -> None:
    services.add_user(server.database, ADMIN_ACTOR, name, PASSWORD, role)


def _token(server: LiveServer, name: str, password: str = PASSWORD) -> str:
    response = httpx.post(
        f"{server.url}/api/v1/auth/token",
        data={"username": name, "password": password},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _get(server: LiveServer, token: str, path: str = "/api/v1/patients/SESS-1") -> httpx.Response:
    return httpx.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"})


def _page_session(server: LiveServer, name: str, password: str = PASSWORD) -> PageClient:
    client = PageClient(server)
    assert client.log_in(name, password).status_code == 303
    return client


def _saved_cookie(server: LiveServer, name: str) -> str:
    """The session cookie of a fresh login, as a browser would keep it."""
    pages = _page_session(server, name)
    cookie = pages.http.cookies[SESSION_COOKIE]
    pages.http.close()
    return cookie


def _opens_patient_page(server: LiveServer, cookie: str) -> bool:
    """Whether a browser holding only this saved cookie sees the patient page."""
    with httpx.Client(base_url=server.url, cookies={SESSION_COOKIE: cookie}) as browser:
        response = browser.get("/patients/SESS-1")
    assert response.status_code in (200, 303)
    return response.status_code == 200


def test_pages_saved_cookie_opens_nothing_after_logout(live_server: LiveServer) -> None:
    pages = _page_session(live_server, "viewer")
    saved = pages.http.cookies[SESSION_COOKIE]
    assert _opens_patient_page(live_server, saved)
    assert pages.post("/logout", {}).status_code == 303
    assert not _opens_patient_page(live_server, saved)
    pages.http.close()


def test_pages_cookie_holds_the_session_id_and_csrf_token_only(live_server: LiveServer) -> None:
    pages = _page_session(live_server, "viewer")
    payload = pages.http.cookies[SESSION_COOKIE].split(".")[0]
    content = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(content) == {"sid", "csrf"}
    assert "viewer" not in json.dumps(content)
    pages.http.close()


def test_api_logout_revokes_the_token(live_server: LiveServer) -> None:
    token = _token(live_server, "viewer")
    other = _token(live_server, "viewer")
    assert _get(live_server, token).status_code == 200
    logout = httpx.post(
        f"{live_server.url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
    )
    assert logout.status_code == 204
    refused = _get(live_server, token)
    assert refused.status_code == 401
    assert "session has ended" in refused.json()["detail"]
    assert _get(live_server, other).status_code == 200  # the account's other token lives on
    again = httpx.post(
        f"{live_server.url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
    )
    assert again.status_code == 401


def test_page_session_is_not_a_bearer_token(live_server: LiveServer) -> None:
    pages = _page_session(live_server, "viewer")
    payload = pages.http.cookies[SESSION_COOKIE].split(".")[0]
    secret = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"]
    assert _get(live_server, secret).status_code == 401
    pages.http.close()


def test_own_password_change_ends_every_session_and_token(live_server: LiveServer) -> None:
    _account(live_server, "changes-own")
    old_token = _token(live_server, "changes-own")
    pages = _page_session(live_server, "changes-own")
    saved = pages.http.cookies[SESSION_COOKIE]
    response = httpx.post(
        f"{live_server.url}/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={"Authorization": f"Bearer {old_token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert _get(live_server, old_token).status_code == 401
    assert not _opens_patient_page(live_server, saved)
    assert _get(live_server, response.json()["access_token"]).status_code == 200
    assert _get(live_server, _token(live_server, "changes-own", NEW_PASSWORD)).status_code == 200
    pages.http.close()


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"current_password": "not it at all", "new_password": NEW_PASSWORD}, "current_password"),
        ({"current_password": PASSWORD, "new_password": "short"}, "new_password"),
        ({"current_password": PASSWORD, "new_password": PASSWORD}, "new_password"),
    ],
    ids=["wrong-current", "too-short", "unchanged"],
)
def test_api_password_change_refusal_names_the_field_and_keeps_the_token(
    live_server: LiveServer, change: dict[str, str], pointer: str
) -> None:
    token = _token(live_server, "clinician")
    response = httpx.post(
        f"{live_server.url}/api/v1/auth/password",
        json=change,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 422
    assert [p["pointer"] for p in response.json()["problems"]] == [f"/body/{pointer}"]
    assert _get(live_server, token).status_code == 200
    assert _token(live_server, "clinician")  # the password is unchanged


def test_admin_password_reset_ends_every_session_and_token(live_server: LiveServer) -> None:
    _account(live_server, "reset-by-admin")
    token = _token(live_server, "reset-by-admin")
    saved = _saved_cookie(live_server, "reset-by-admin")
    services.set_password(live_server.database, ADMIN_ACTOR, "reset-by-admin", NEW_PASSWORD)
    assert _get(live_server, token).status_code == 401
    assert not _opens_patient_page(live_server, saved)


def test_disabled_account_sessions_end_and_stay_ended_when_enabled(
    live_server: LiveServer,
) -> None:
    _account(live_server, "disabled-soon")
    token = _token(live_server, "disabled-soon")
    saved = _saved_cookie(live_server, "disabled-soon")
    accounts.set_active(live_server.database, ADMIN_ACTOR, "disabled-soon", active=False)
    assert _get(live_server, token).status_code == 401
    assert not _opens_patient_page(live_server, saved)
    login = httpx.post(
        f"{live_server.url}/api/v1/auth/token",
        data={"username": "disabled-soon", "password": PASSWORD},
        timeout=30,
    )
    assert login.status_code == 401
    accounts.set_active(live_server.database, ADMIN_ACTOR, "disabled-soon", active=True)
    assert _get(live_server, token).status_code == 401
    assert _get(live_server, _token(live_server, "disabled-soon")).status_code == 200


def test_role_change_applies_to_the_next_request(live_server: LiveServer) -> None:
    _account(live_server, "demoted-soon")
    token = _token(live_server, "demoted-soon")
    write = {"date": "2024-02-01", "kg": 69}
    path = f"{live_server.url}/api/v1/patients/SESS-1/weights"
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.post(path, json=write, headers=headers).status_code == 201
    accounts.set_role(live_server.database, ADMIN_ACTOR, "demoted-soon", Role.VIEWER)
    assert httpx.post(path, json=write, headers=headers).status_code == 403
    assert _get(live_server, token).status_code == 200


def test_required_password_change_allows_nothing_else_until_done(
    live_server: LiveServer,
) -> None:
    _account(live_server, "must-change")
    accounts.require_password_change(live_server.database, ADMIN_ACTOR, "must-change")
    login = httpx.post(
        f"{live_server.url}/api/v1/auth/token",
        data={"username": "must-change", "password": PASSWORD},
        timeout=30,
    )
    assert login.json()["password_change_required"] is True
    token = login.json()["access_token"]
    refused = _get(live_server, token)
    assert refused.status_code == 403
    assert "/api/v1/auth/password" in refused.json()["detail"]
    pages = _page_session(live_server, "must-change")
    moved = pages.get("/patients/SESS-1")
    assert moved.status_code == 303 and moved.headers["location"] == "/account/password"
    assert pages.get("/account/password").status_code == 200
    changed = pages.post(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 303, changed.text
    assert pages.get("/patients/SESS-1").status_code == 200  # a fresh session, at once
    assert _get(live_server, token).status_code == 401  # the old token ended with the change
    pages.http.close()
