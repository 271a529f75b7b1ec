"""Access by role on every route: anonymous, viewer, clinician and admin against each API and
page route of the app, on SQLite and PostgreSQL.

The routes are read from the app's router, so a route added without a rule here fails
:func:`test_route_matrix_every_route_has_a_rule`. :data:`EXPECTED` gives, for each route, the
status each of the four callers gets for one representative request: GETs of a stored patient;
writes with a body that is not a record, or an empty form, which an allowed caller has refused
as invalid (nothing is stored) and a caller without the role never gets that far. The API
answers anonymous callers 401 and a role too low 403; the pages send anonymous visitors to the
login page (303) and show a role too low a 403 page. Every page POST carries the session's
CSRF token, so what is tested is the role, not the form's token (``test_pages.py`` tests it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from alscare import KnowledgeBase, services
from alscare.storage.security import Actor, Channel, Role
from alscare.web.app import create_app
from alscare.web.decisions import decision_alerts
from tests.conftest import example
from tests.conftest_server import PASSWORD, LiveServer

PATIENT: Final = "MATRIX-0001"
CALLERS: Final = (None, "viewer", "clinician", "admin")  # None: anonymous
_SEEDER: Final = Actor("matrix-setup", Role.ADMIN, Channel.CLI)

# The statuses of (anonymous, viewer, clinician, admin), by (method, route).
PUBLIC: Final = (200, 200, 200, 200)
ANY_ROLE_API: Final = (401, 200, 200, 200)
ANY_ROLE_PAGE: Final = (303, 200, 200, 200)
EXPECTED: Final[dict[tuple[str, str], tuple[int, int, int, int]]] = {
    # the API: public
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/docs/assets"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    ("GET", "/api/v1/health"): PUBLIC,
    ("GET", "/api/v1/topic"): PUBLIC,
    ("GET", "/api/v1/wording"): PUBLIC,
    ("POST", "/api/v1/auth/token"): (422, 422, 422, 422),
    # the API: one's own token and password
    ("POST", "/api/v1/auth/logout"): (401, 204, 204, 204),  # with a token of its own
    ("POST", "/api/v1/auth/password"): (401, 422, 422, 422),
    # the API: reading patients, any role
    ("GET", "/api/v1/patients"): ANY_ROLE_API,
    ("GET", "/api/v1/patients/{patient_id}"): ANY_ROLE_API,
    ("GET", "/api/v1/patients/{patient_id}/history"): ANY_ROLE_API,
    ("GET", "/api/v1/patients/{patient_id}/assessment"): ANY_ROLE_API,
    ("GET", "/api/v1/patients/{patient_id}/flowsheet"): ANY_ROLE_API,
    ("GET", "/api/v1/patients/{patient_id}/letter"): ANY_ROLE_API,
    ("GET", "/api/v1/worklist"): ANY_ROLE_API,
    ("GET", "/api/v1/patients/{patient_id}/fhir"): ANY_ROLE_API,
    # the API: writing patients, clinicians and admins
    ("POST", "/api/v1/patients"): (401, 403, 422, 422),
    ("PATCH", "/api/v1/patients/{patient_id}"): (401, 403, 422, 422),
    ("PUT", "/api/v1/patients/{patient_id}"): (401, 403, 428, 428),
    ("POST", "/api/v1/fhir/import"): (401, 403, 422, 422),  # the body is not a Bundle
    **{
        ("POST", f"/api/v1/patients/{{patient_id}}/{segment}"): (401, 403, 422, 422)
        for segment in (
            "alsfrs-r",
            "respiratory",
            "weights",
            "tests",
            "findings",
            "genetics",
            "medications",
            "labs",
            "examinations",
            "emg-studies",
            "cognition",
            "interventions",
            "care",
        )
    },
    # the API: admin only
    ("GET", "/api/v1/audit"): (401, 403, 403, 200),
    ("POST", "/api/v1/import"): (401, 403, 403, 422),
    ("GET", "/api/v1/export"): (401, 403, 403, 200),
    # pages: public
    ("GET", "/"): (303, 303, 303, 303),  # to the patient list
    ("GET", "/login"): (200, 303, 303, 303),  # logged in: on to the patient list
    ("POST", "/login"): (303, 303, 303, 303),  # a correct login, in a fresh session
    ("POST", "/logout"): (303, 303, 303, 303),  # in a fresh session
    ("GET", "/topic"): PUBLIC,  # the knowledge base, no patient data
    # SMART EHR launch: this server configures no EHR, so both answer "not configured"
    ("GET", "/smart/launch"): (404, 404, 404, 404),
    ("GET", "/smart/callback"): (404, 404, 404, 404),
    # pages: reading patients, any role
    ("GET", "/patients"): ANY_ROLE_PAGE,
    ("GET", "/patients/{patient_id}"): ANY_ROLE_PAGE,
    ("GET", "/patients/{patient_id}/letter"): ANY_ROLE_PAGE,
    ("GET", "/patients/{patient_id}/flowsheet"): ANY_ROLE_PAGE,
    ("GET", "/patients/{patient_id}/record"): ANY_ROLE_PAGE,
    ("GET", "/patients/{patient_id}/history"): ANY_ROLE_PAGE,
    ("GET", "/worklist"): ANY_ROLE_PAGE,
    # pages: writing patients, clinicians and admins
    ("GET", "/patients/new"): (303, 403, 200, 200),
    ("POST", "/patients/new"): (303, 403, 422, 422),
    ("GET", "/patients/{patient_id}/visit"): (303, 403, 200, 200),
    ("POST", "/patients/{patient_id}/visit"): (303, 403, 422, 422),
    ("GET", "/patients/{patient_id}/visit/{segment}"): (303, 403, 200, 200),
    ("POST", "/patients/{patient_id}/visit/{segment}"): (303, 403, 422, 422),
    ("POST", "/patients/{patient_id}/alerts/{alert_id}"): (303, 403, 422, 422),
    ("GET", "/patients/{patient_id}/record/details"): (303, 403, 200, 200),
    ("POST", "/patients/{patient_id}/record/details"): (303, 403, 422, 422),
    ("GET", "/patients/{patient_id}/record/{segment}/{index}"): (303, 403, 200, 200),
    ("POST", "/patients/{patient_id}/record/{segment}/{index}"): (303, 403, 422, 422),
    ("POST", "/patients/{patient_id}/record/{segment}/{index}/remove"): (303, 403, 422, 422),
    # pages: one's own password, any role
    ("GET", "/account/password"): ANY_ROLE_PAGE,
    ("POST", "/account/password"): (303, 422, 422, 422),  # two new passwords that differ
    # pages: admin only
    ("GET", "/audit"): (303, 403, 403, 200),
    ("GET", "/accounts"): (303, 403, 403, 200),
    ("POST", "/accounts/{username}/{action}"): (303, 403, 403, 422),  # a role change, no role
    ("GET", "/cds-feedback"): (303, 403, 403, 200),
    # CDS Hooks: discovery is public; calls need the EHR's signed JWT, never a session or token
    ("GET", "/cds-services"): PUBLIC,
    ("POST", "/cds-services/{service_id}"): (401, 401, 401, 401),
    ("POST", "/cds-services/{service_id}/feedback"): (401, 401, 401, 401),
}

# Routes whose request ends the caller's session: each is sent in a session of its own.
ENDS_SESSION: Final = {("POST", "/login"), ("POST", "/logout"), ("POST", "/api/v1/auth/logout")}
# The concrete path of routes with more than a patient id in their template.
PATHS: Final = {
    "/docs/assets": "/docs/assets/swagger-ui.css",
    "/static": "/static/alscare.css",
    "/patients/{patient_id}/visit/{segment}": f"/patients/{PATIENT}/visit/weight",
    "/patients/{patient_id}/record/{segment}/{index}": f"/patients/{PATIENT}/record/weights/0",
    "/patients/{patient_id}/record/{segment}/{index}/remove": (
        f"/patients/{PATIENT}/record/weights/0/remove"
    ),
    "/accounts/{username}/{action}": "/accounts/viewer/role",
    "/cds-services/{service_id}": "/cds-services/alscare-patient-view",
    "/cds-services/{service_id}/feedback": "/cds-services/alscare-patient-view/feedback",
}
# The form of page POSTs that need more than the CSRF token to be refused harmlessly.
FORMS: Final = {
    "/login": lambda username: {"username": username or "viewer", "password": PASSWORD},
    "/account/password": lambda _: {"new_password": "one new pass", "confirm_password": "another"},
}
AS_OF: Final = "2025-02-01"
# The body of every API write: JSON, but no record, entry or list of records.
_NOT_A_RECORD: Final = "not a record"


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, route) the app answers, from its router (HEAD goes with GET)."""
    routes: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, Mount):
            routes.add(("GET", str(context.path)))
            continue
        for method in context.methods or ():
            if method != "HEAD":
                routes.add((method, str(context.path)))
    return routes


@dataclass
class Caller:
    """One of the four callers: an API client (with the account's bearer token) and a page
    client (with the account's logged-in session) and that session's CSRF token."""

    username: str | None
    api: httpx.Client
    page: httpx.Client
    csrf: str

    def close(self) -> None:
        self.api.close()
        self.page.close()


def _csrf_of(page: httpx.Client, path: str) -> str:
    html = page.get(path).text
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def _token(server: LiveServer, username: str) -> str:
    """A bearer token of its own (the live server's are shared, and one may be revoked here)."""
    form = {"username": username, "password": PASSWORD}
    answer = httpx.post(f"{server.url}/api/v1/auth/token", data=form, timeout=30)
    return str(answer.raise_for_status().json()["access_token"])


def _caller(server: LiveServer, username: str | None) -> Caller:
    headers = {"Authorization": f"Bearer {_token(server, username)}"} if username else {}
    api = httpx.Client(base_url=server.url, headers=headers, timeout=30)
    page = httpx.Client(base_url=server.url, timeout=30)
    csrf = _csrf_of(page, "/login")
    if username is not None:
        form = {"username": username, "password": PASSWORD, "csrf_token": csrf}
        assert page.post("/login", data=form).status_code == 303
        csrf = _csrf_of(page, "/patients")
    return Caller(username, api, page, csrf)


@pytest.fixture(scope="module")
def callers(live_server: LiveServer) -> Iterator[dict[str | None, Caller]]:
    record = example("P-0004-sod1-late", version=2).model_copy(update={"id": PATIENT})
    services.create_patient(live_server.database, _SEEDER, record)
    made = {username: _caller(live_server, username) for username in CALLERS}
    yield made
    for caller in made.values():
        caller.close()


@pytest.fixture
def routed_app(live_server: LiveServer, kb: KnowledgeBase) -> FastAPI:
    """The app of the live server's settings and database, made afresh for its routes."""
    return create_app(live_server.settings, database=live_server.database, kb=kb)


def _path(route: str, kb: KnowledgeBase) -> str:
    if route in PATHS:
        return PATHS[route]
    alert = next(iter(decision_alerts(kb)))
    path = route.format(patient_id=PATIENT, alert_id=alert)
    return f"{path}?as_of={AS_OF}" if "{patient_id}" in route or "worklist" in route else path


def _status(server: LiveServer, caller: Caller, method: str, route: str, kb: KnowledgeBase) -> int:
    path = _path(route, kb)
    if (method, route) in ENDS_SESSION:
        caller = _caller(server, caller.username)
    try:
        if not route.startswith("/api/"):
            data = {"csrf_token": caller.csrf}
            if route in FORMS:
                data |= FORMS[route](caller.username)
            answer = caller.page.request(method, path, data=data if method == "POST" else None)
        elif method == "POST" and route == "/api/v1/auth/token":
            answer = caller.api.post(path, data={})
        else:
            answer = caller.api.request(
                method, path, json=_NOT_A_RECORD if method != "GET" else None
            )
    finally:
        if (method, route) in ENDS_SESSION:
            caller.close()
    return answer.status_code


def test_route_matrix_every_route_has_a_rule(routed_app: FastAPI) -> None:
    routes = app_routes(routed_app)
    assert sorted(routes - EXPECTED.keys()) == [], "routes without a rule in EXPECTED"
    assert sorted(EXPECTED.keys() - routes) == [], "rules in EXPECTED for no route"


def test_route_matrix_a_route_added_without_a_rule_is_found(routed_app: FastAPI) -> None:
    async def unruled() -> dict[str, str]:
        return {}

    routed_app.add_api_route("/api/v1/unruled", unruled, methods=["DELETE"])
    assert app_routes(routed_app) - EXPECTED.keys() == {("DELETE", "/api/v1/unruled")}


@pytest.mark.parametrize(
    ("method", "route"), sorted(EXPECTED), ids=[f"{m} {r}" for m, r in sorted(EXPECTED)]
)
def test_route_matrix_each_role_gets_its_status(
    live_server: LiveServer,
    callers: dict[str | None, Caller],
    kb: KnowledgeBase,
    method: str,
    route: str,
) -> None:
    statuses = tuple(
        _status(live_server, callers[username], method, route, kb) for username in CALLERS
    )
    assert statuses == EXPECTED[(method, route)]
