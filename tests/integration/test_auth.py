"""Logins, tokens, roles and the login throttle, against a real server and real databases.

The throttle pauses a (client address, username) pair, or a client address, never an account:
tests that fail logins on purpose send them from other loopback addresses (127.0.0.2, ...),
which the server sees as other computers, or through a LoginGuard of their own."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import anyio
import httpx
import pytest

from alscare import services
from alscare.services import AccountError, ConflictError
from alscare.storage.database import Database
from alscare.storage.security import (
    AuthenticationError,
    Channel,
    LoginThrottledError,
    Role,
    SessionKind,
    User,
    authenticate,
    start_session,
)
from alscare.web.deps import token_user
from alscare.web.login_guard import LoginGuard
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


T = TypeVar("T")


def _run_async(function: Callable[[], Awaitable[T]]) -> T:
    """Run ``function`` on an event loop of its own thread: the browser tests' Playwright keeps
    an event loop running in the main thread for the whole session."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, function).result()


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


def _login(
    server: LiveServer, name: str, password: str, client: httpx.Client | None = None
) -> httpx.Response:
    url, form = f"{server.url}/api/v1/auth/token", {"username": name, "password": password}
    if client is not None:
        return client.post(url, data=form)
    # A login hashes a password on purpose slowly; the machine may be busy.
    return httpx.post(url, data=form, timeout=30)


def _untimed(detail: str) -> str:
    return re.sub(r"\d\d:\d\d UTC", "HH:MM UTC", detail)


def _from_address(server: LiveServer, address: str) -> httpx.Client:
    """A client whose requests come from another loopback address (another computer, as the
    server sees it)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def _attempt(
    guard: LoginGuard,
    database: Database,
    client: str,
    name: str,
    password: str,
    now: dt.datetime | None = None,
) -> User:
    """One login through the guard, as the token endpoint makes it."""

    async def attempt() -> User:
        return await guard.attempt(
            lambda: authenticate(database, name, password, channel=Channel.API, now=now),
            database,
            client=client,
            username=name,
            channel=Channel.API,
            now=now,
        )

    return _run_async(attempt)


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
    ["garbage", secrets.token_urlsafe(32), "a" * 10_000],
    ids=["garbage", "never-issued", "huge"],
)
def test_forged_token_is_401(live_server: LiveServer, token: str) -> None:
    response = httpx.get(
        f"{live_server.url}/api/v1/patients/AUTH-1", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid token"


def test_expired_token_is_401(live_server: LiveServer) -> None:
    user = token_user(live_server.database, live_server.token("viewer"))
    lifetime = dt.timedelta(minutes=live_server.settings.token_minutes)
    started = dt.datetime.now(dt.UTC) - lifetime
    stale = start_session(live_server.database, user, SessionKind.API, lifetime, now=started)
    response = httpx.get(
        f"{live_server.url}/api/v1/patients/AUTH-1",
        headers={"Authorization": f"Bearer {stale.secret}"},
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
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == live_server.settings.token_minutes * 60
    assert body["password_change_required"] is False
    assert token_user(live_server.database, body["access_token"]).username == "viewer"


@pytest.mark.parametrize(
    ("name", "password"),
    [("viewer", "wrong password"), ("nobody", PASSWORD), ("x" * 100, "p")],
    ids=["wrong-password", "unknown", "long"],
)
def test_wrong_credentials_are_401(live_server: LiveServer, name: str, password: str) -> None:
    response = _login(live_server, name, password)
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid username or password"


@pytest.mark.parametrize("name", ["a\x00", "\ud800", "x" * 10_000])
def test_a_name_no_account_can_have_is_refused_without_a_query(
    database: Database, name: str
) -> None:
    """On PostgreSQL a NUL byte in a query is a server error: such names never reach one."""
    with pytest.raises(AuthenticationError, match="invalid username or password"):
        authenticate(database, name, PASSWORD, channel=Channel.API)


def _steps(server: LiveServer, name: str, client: httpx.Client) -> list[tuple[int, str, bool]]:
    """The answers to MAX_FAILURES wrong passwords, then the right one, from one client."""
    answers = []
    for password in ["wrong password"] * MAX_FAILURES + [PASSWORD]:
        response = _login(server, name, password, client)
        body = response.json()
        answers.append((response.status_code, body["detail"], "retry-after" in response.headers))
    return answers


def test_failed_logins_pause_that_username_from_that_address_only(
    live_server: LiveServer,
) -> None:
    _new_account(live_server.database, "lock-api")
    with _from_address(live_server, "127.0.0.2") as stranger:
        answers = _steps(live_server, "lock-api", stranger)
        assert [status for status, _, _ in answers] == [401] * (MAX_FAILURES - 1) + [429, 429]
        assert all(retry for status, _, retry in answers if status == 429)
        assert "for this username" in answers[-1][1]
        assert _login(live_server, "viewer", PASSWORD, stranger).status_code == 200
    with _from_address(live_server, "127.0.0.3") as owner:
        assert _login(live_server, "lock-api", PASSWORD, owner).status_code == 200


def test_unknown_and_known_usernames_are_answered_alike(live_server: LiveServer) -> None:
    _new_account(live_server.database, "exists-really")
    with _from_address(live_server, "127.0.0.4") as client:
        known = _steps(live_server, "exists-really", client)
        unknown = _steps(live_server, "exists-not", client)
    assert [(status, retry) for status, _, retry in known] == [
        (status, retry) for status, _, retry in unknown
    ]
    assert [_untimed(detail) for _, detail, _ in known] == [
        _untimed(detail) for _, detail, _ in unknown
    ]
    assert known[-1][0] == unknown[-1][0] == 429


def test_guard_failures_across_usernames_pause_the_whole_client(database: Database) -> None:
    guard = LoginGuard(server_settings(str(database.url), login_max_client_failures=4))
    start = dt.datetime(2030, 1, 1, 9, 0, tzinfo=dt.UTC)
    for name in ("spray-1", "spray-2", "spray-3"):
        with pytest.raises(AuthenticationError) as raised:
            _attempt(guard, database, "10.0.0.1", name, "nope", start)
        assert not isinstance(raised.value, LoginThrottledError)
    with pytest.raises(LoginThrottledError, match="^logins from your address"):
        _attempt(guard, database, "10.0.0.1", "spray-4", "nope", start)
    _new_account(database, "spray-owner")
    with pytest.raises(LoginThrottledError):
        _attempt(guard, database, "10.0.0.1", "spray-owner", PASSWORD, start)
    assert _attempt(guard, database, "10.0.0.2", "spray-owner", PASSWORD, start).username == (
        "spray-owner"
    )


def test_guard_pause_ends_after_the_lockout_time(database: Database) -> None:
    settings = server_settings(str(database.url))
    guard = LoginGuard(settings)
    _new_account(database, "lock-time")
    start = dt.datetime(2030, 1, 1, 9, 0, tzinfo=dt.UTC)
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(AuthenticationError):
            _attempt(guard, database, "10.0.1.1", "lock-time", "nope", start)
    with pytest.raises(LoginThrottledError):
        _attempt(guard, database, "10.0.1.1", "lock-time", "nope", start)
    almost = start + dt.timedelta(minutes=settings.login_lockout_minutes, seconds=-1)
    with pytest.raises(LoginThrottledError) as raised:
        _attempt(guard, database, "10.0.1.1", "lock-time", PASSWORD, almost)
    assert raised.value.retry_after_seconds(almost) == 1
    later = start + dt.timedelta(minutes=settings.login_lockout_minutes)
    assert (
        _attempt(guard, database, "10.0.1.1", "lock-time", PASSWORD, later).role is Role.CLINICIAN
    )


def test_guard_success_resets_the_failure_count(database: Database) -> None:
    guard = LoginGuard(server_settings(str(database.url)))
    _new_account(database, "reset-count")
    for _ in range(3):
        for _ in range(MAX_FAILURES - 1):
            with pytest.raises(AuthenticationError) as raised:
                _attempt(guard, database, "10.0.2.1", "reset-count", "nope")
            assert not isinstance(raised.value, LoginThrottledError)
        _attempt(guard, database, "10.0.2.1", "reset-count", PASSWORD)


def test_guard_runs_no_more_password_checks_at_once_than_allowed(database: Database) -> None:
    """A second login waits for the first one's check, and is refused when its wait ends."""
    guard = LoginGuard(
        server_settings(str(database.url), login_concurrency=1, login_wait_seconds=0.2)
    )
    release = threading.Event()
    running: list[str] = []

    def slow_check() -> str:
        running.append("check")
        release.wait(30)
        return "checked"

    async def both() -> tuple[object, object]:
        async def first() -> object:
            return await guard.attempt(
                slow_check, database, client="10.0.3.1", username="a", channel=Channel.API
            )

        async def second() -> object:
            while not running:  # the first holds its turn
                await anyio.sleep(0.01)
            try:
                return await guard.attempt(
                    slow_check, database, client="10.0.3.2", username="b", channel=Channel.API
                )
            except LoginThrottledError as error:
                return error
            finally:
                release.set()

        results: list[object] = [None, None]

        async def run(index: int, job: Callable[[], Awaitable[object]]) -> None:
            results[index] = await job()

        async with anyio.create_task_group() as group:
            group.start_soon(run, 0, first)
            group.start_soon(run, 1, second)
        return results[0], results[1]

    first, second = _run_async(both)
    assert first == "checked"
    assert isinstance(second, LoginThrottledError)
    assert str(second) == "too many logins at once: try again in a moment"
    assert running == ["check"]


def test_audit_records_logins_failures_and_logouts(live_server: LiveServer) -> None:
    _new_account(live_server.database, "audited")
    _login(live_server, "audited", "wrong password")
    token = _login(live_server, "audited", PASSWORD).json()["access_token"]
    logout = httpx.post(
        f"{live_server.url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
    )
    assert logout.status_code == 204
    with live_server.client("admin") as admin:
        events = admin.get("/api/v1/audit", params={"username": "audited"}).json()
    assert [event["action"] for event in events] == ["logout", "login", "login_failed"]
    assert all(event["patient_id"] is None for event in events)


@pytest.mark.parametrize(
    "name",
    ["Admin1", "root@cli", "alice@cli", "alscare-migration", "no spaces", "1st", "", "a" * 65],
)
def test_add_user_refuses_names_outside_the_pattern_and_system_names(
    database: Database, name: str
) -> None:
    with pytest.raises(AccountError, match="lower-case letters"):
        services.add_user(database, ADMIN_ACTOR, name, PASSWORD, Role.VIEWER)


@pytest.mark.parametrize("name", ["dr.smith", "nurse_jo", "m-k2", "a" * 64])
def test_add_user_accepts_lower_case_names(database: Database, name: str) -> None:
    assert services.add_user(database, ADMIN_ACTOR, name, PASSWORD, Role.VIEWER).username == name


def test_add_user_rejects_short_passwords_and_duplicates(database: Database) -> None:
    with pytest.raises(AccountError):
        services.add_user(database, ADMIN_ACTOR, "shorty", "short", Role.VIEWER)
    _new_account(database, "twin")
    with pytest.raises(ConflictError):
        _new_account(database, "twin")


def test_role_order_admin_over_clinician_over_viewer() -> None:
    assert Role.ADMIN.allows(Role.CLINICIAN) and Role.CLINICIAN.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.CLINICIAN) and not Role.CLINICIAN.allows(Role.ADMIN)
