"""Logins, tokens, roles and the lockout, against a real server and real databases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from alscare import services
from alscare.services import AccountError, ConflictError
from alscare.settings import Settings
from alscare.storage.database import Database
from alscare.storage.security import (
    AccountLockedError,
    AuthenticationError,
    Channel,
    Role,
    User,
    authenticate,
    issue_token,
    token_username,
    user_from_token,
)
from tests.conftest_server import ADMIN_ACTOR, MAX_FAILURES, PASSWORD, LiveServer, server_settings

PATIENT = {"id": "AUTH-1", "weights": [{"date": "2024-01-01", "kg": 70}]}
WEIGHT = {"date": "2024-02-01", "kg": 69}
READS: list[tuple[str, str, Any]] = [
    ("GET", "/api/v1/patients", None),
    ("GET", "/api/v1/patients/AUTH-1", None),
    ("GET", "/api/v1/patients/AUTH-1/assessment?as_of=2025-01-01", None),
]
WRITES: list[tuple[str, str, Any]] = [
    ("POST", "/api/v1/patients", {"id": "AUTH-NEW"}),
    ("PATCH", "/api/v1/patients/AUTH-1", {"sex": "male"}),
    ("POST", "/api/v1/patients/AUTH-1/alsfrs-r", {"date": "2024-02-01", "items": {}}),
    ("POST", "/api/v1/patients/AUTH-1/examinations", {"date": "2024-02-01", "regions": {}}),
    ("POST", "/api/v1/patients/AUTH-1/respiratory", {"date": "2024-02-01"}),
    ("POST", "/api/v1/patients/AUTH-1/weights", WEIGHT),
    ("POST", "/api/v1/patients/AUTH-1/tests", {"id": "mri_brain_spine"}),
]
ADMIN_ONLY: list[tuple[str, str, Any]] = [
    ("GET", "/api/v1/audit", None),
    ("GET", "/api/v1/export", None),
    ("POST", "/api/v1/import", {"id": "AUTH-IMPORTED"}),
]


@pytest.fixture(scope="module", autouse=True)
def patient(live_server: LiveServer) -> None:
    with live_server.client("clinician") as client:
        assert client.post("/api/v1/patients", json=PATIENT).status_code == 201


def _call(client: httpx.Client, method: str, path: str, body: Any) -> httpx.Response:
    return (
        client.request(method, path, json=body)
        if body is not None
        else client.request(method, path)
    )


def _new_account(database: Database, name: str, role: Role = Role.CLINICIAN) -> None:
    services.add_user(database, ADMIN_ACTOR, name, PASSWORD, role)


def _login(server: LiveServer, name: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/auth/token",
        data={"username": name, "password": password},
        timeout=30,  # a login hashes a password on purpose slowly; the machine may be busy
    )


@pytest.mark.parametrize(("method", "path", "body"), READS + WRITES + ADMIN_ONLY)
def test_no_token_is_401_and_reveals_nothing(
    live_server: LiveServer, method: str, path: str, body: Any
) -> None:
    with live_server.client() as anonymous:
        response = _call(anonymous, method, path, body)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "AUTH-1" not in response.text


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        issue_token(
            User(id=1, username="admin", role=Role.ADMIN, active=True),
            server_settings("sqlite://", secret_key="another-secret-key-of-sufficient-length!"),
        ).access_token,
    ],
    ids=["garbage", "wrong-key"],
)
def test_forged_token_is_401(live_server: LiveServer, token: str) -> None:
    response = httpx.get(
        f"{live_server.url}/api/v1/patients/AUTH-1", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


def test_expired_token_is_401(live_server: LiveServer) -> None:
    user = user_from_token(live_server.database, live_server.token("viewer"), live_server.settings)
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=live_server.settings.token_minutes)
    stale = issue_token(user, live_server.settings, now=an_hour_ago).access_token
    response = httpx.get(
        f"{live_server.url}/api/v1/patients/AUTH-1", headers={"Authorization": f"Bearer {stale}"}
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "token expired"


@pytest.mark.parametrize(("method", "path", "body"), READS)
def test_viewer_reads_patients(live_server: LiveServer, method: str, path: str, body: Any) -> None:
    with live_server.client("viewer") as viewer:
        assert _call(viewer, method, path, body).status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_viewer_write_is_403_and_changes_nothing(
    live_server: LiveServer, method: str, path: str, body: Any
) -> None:
    with live_server.client("viewer") as viewer:
        response = _call(viewer, method, path, body)
        assert response.status_code == 403
        record = viewer.get("/api/v1/patients/AUTH-1").json()
    assert record["weights"] == PATIENT["weights"]
    assert "sex" not in record


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY)
def test_admin_only_routes_are_403_for_clinicians(
    live_server: LiveServer, method: str, path: str, body: Any
) -> None:
    with live_server.client("clinician") as clinician:
        assert _call(clinician, method, path, body).status_code == 403
    with live_server.client("admin") as admin:
        assert _call(admin, method, path, body).status_code in (200, 201)


def test_token_endpoint_gives_a_bearer_token_with_its_lifetime(live_server: LiveServer) -> None:
    response = _login(live_server, "viewer", PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == live_server.settings.token_minutes * 60
    assert token_username(body["access_token"], live_server.settings) == "viewer"


@pytest.mark.parametrize(("name", "password"), [("viewer", "wrong password"), ("nobody", PASSWORD)])
def test_wrong_credentials_are_401(live_server: LiveServer, name: str, password: str) -> None:
    response = _login(live_server, name, password)
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid username or password"


def test_lockout_after_failures_refuses_even_the_right_password(live_server: LiveServer) -> None:
    _new_account(live_server.database, "lock-api")
    for _ in range(MAX_FAILURES - 1):
        assert _login(live_server, "lock-api", "wrong password").status_code == 401
    locking = _login(live_server, "lock-api", "wrong password")
    assert locking.status_code == 429
    right = _login(live_server, "lock-api", PASSWORD)
    assert right.status_code == 429
    assert 0 < int(right.headers["retry-after"]) <= 15 * 60
    assert _login(live_server, "viewer", PASSWORD).status_code == 200  # others unaffected


def test_lockout_counts_page_and_api_failures_together(live_server: LiveServer) -> None:
    _new_account(live_server.database, "lock-both")
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(AuthenticationError):
            authenticate(
                live_server.database,
                "lock-both",
                "nope",
                live_server.settings,
                channel=Channel.PAGES,
            )
    assert _login(live_server, "lock-both", "wrong password").status_code == 429
    with pytest.raises(AccountLockedError):
        authenticate(
            live_server.database,
            "lock-both",
            PASSWORD,
            live_server.settings,
            channel=Channel.PAGES,
        )


def test_lockout_ends_after_the_lockout_time(database: Database) -> None:
    settings: Settings = server_settings(str(database.url))
    _new_account(database, "lock-time")
    start = dt.datetime(2030, 1, 1, 9, 0, tzinfo=dt.UTC)
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthenticationError):
            authenticate(database, "lock-time", "nope", settings, channel=Channel.API, now=start)
    almost = start + dt.timedelta(minutes=settings.login_lockout_minutes, seconds=-1)
    with pytest.raises(AccountLockedError) as raised:
        authenticate(database, "lock-time", PASSWORD, settings, channel=Channel.API, now=almost)
    assert raised.value.retry_after_seconds(almost) == 1
    later = start + dt.timedelta(minutes=settings.login_lockout_minutes)
    user = authenticate(database, "lock-time", PASSWORD, settings, channel=Channel.API, now=later)
    assert user.username == "lock-time"


def test_success_resets_the_failure_count(database: Database) -> None:
    settings = server_settings(str(database.url))
    _new_account(database, "reset-count")
    for _ in range(3):
        for _ in range(MAX_FAILURES - 1):
            with pytest.raises(AuthenticationError) as raised:
                authenticate(database, "reset-count", "nope", settings, channel=Channel.API)
            assert not isinstance(raised.value, AccountLockedError)
        authenticate(database, "reset-count", PASSWORD, settings, channel=Channel.API)


def test_audit_records_logins_and_failures(live_server: LiveServer) -> None:
    _new_account(live_server.database, "audited")
    _login(live_server, "audited", "wrong password")
    _login(live_server, "audited", PASSWORD)
    with live_server.client("admin") as admin:
        events = admin.get("/api/v1/audit", params={"username": "audited"}).json()
    assert [event["action"] for event in events] == ["login", "login_failed"]
    assert all(event["patient_id"] is None for event in events)


def test_add_user_rejects_bad_names_short_passwords_and_duplicates(database: Database) -> None:
    with pytest.raises(AccountError):
        services.add_user(database, ADMIN_ACTOR, "no spaces", PASSWORD, Role.VIEWER)
    with pytest.raises(AccountError):
        services.add_user(database, ADMIN_ACTOR, "shorty", "short", Role.VIEWER)
    _new_account(database, "twin")
    with pytest.raises(ConflictError):
        _new_account(database, "twin")


def test_role_order_admin_over_clinician_over_viewer() -> None:
    assert Role.ADMIN.allows(Role.CLINICIAN) and Role.CLINICIAN.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.CLINICIAN) and not Role.CLINICIAN.allows(Role.ADMIN)
