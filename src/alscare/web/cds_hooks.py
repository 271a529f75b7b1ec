"""The CDS Hooks 2.0 service, in the clinic app, and the admins' page of its feedback.

Routes::

    GET  /cds-services                     the discovery document (public: no patient data)
    POST /cds-services/{id}                a hook call: cards (interop/cds_hooks.py)
    POST /cds-services/{id}/feedback       what the clinician did with the cards: stored
    GET  /cds-feedback                     the stored feedback (admins)

A call is answered from the request alone: the prefetch, and for any key it lacks the same
query sent to the request's ``fhirServer`` with its ``fhirAuthorization`` token. The clinic
database's patients are never read. The calls and the feedback carry the EHR's signed JWT
(``interop/cds_auth.py``), checked before anything else unless ``ALSCARE_ENV=development``; a
call with no cookie meets no session or CSRF check (those belong to the pages router). Each
call is audited without patient identifiers (``storage/cds_hooks.py`` says why).

:func:`install_cds_hooks` adds CORS for the EHR origins (``ALSCARE_EHR_ORIGINS``) on
``/cds-services`` only, the JWT verifier, and the 502 answer when the FHIR server fails.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, Final, cast
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from alscare import limits, services
from alscare.errors import AlscareError, Problem, RecordError
from alscare.interop import cds_hooks
from alscare.interop.cds_auth import ClientVerifier
from alscare.interop.cds_hooks import FeedbackRequest, HookRequest, Plan
from alscare.settings import Settings
from alscare.storage.cds_hooks import (
    UNVERIFIED_CLIENT,
    Feedback,
    audit_call,
    feedback_rows,
    store_feedback,
)
from alscare.storage.security import AuthenticationError, Role
from alscare.web.api import problem_responses
from alscare.web.deps import DatabaseDep, KnowledgeDep, SettingsDep
from alscare.web.pages import PageUser, render, require_role

__all__ = ["BODY_LIMITS", "PREFIX", "FhirServerError", "install_cds_hooks", "router"]

PREFIX: Final = "/cds-services"
#: A prefetch is the patient's record as FHIR JSON, some five times the size of the record v2
#: it becomes: the app's 2 MiB limit would refuse a long course, so hook calls get 8 MiB.
BODY_LIMITS: Final = {f"{PREFIX}/{service}": 8 * 1024 * 1024 for service in cds_hooks.SERVICES}
_FHIR_TIMEOUT_SECONDS: Final = 10
# A search answered in pages: at most this many pages a query (the record holds at most
# limits.MAX_RECORD_ENTRIES entries, far fewer than 50 pages of a server's usual size).
_MAX_PAGES: Final = 50
_FEEDBACK_PAGE: Final = 100

# Every call but discovery carries the client's JWT (401); a body that cannot be read (400) or
# is refused (422) is answered a problem document.
router = APIRouter(responses=problem_responses(400, 401, 404, 413, 422, 503))


class FhirServerError(AlscareError):
    """The EHR's FHIR server could not give what the prefetch lacked (answered 502)."""


# --- who is calling ---------------------------------------------------------------------------


def _public_url(request: Request, settings: Settings) -> str:
    """The app's base URL as the EHR reaches it (the setting behind a proxy)."""
    if settings.cds_public_url:
        return settings.cds_public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


async def cds_client(request: Request, settings: SettingsDep, database: DatabaseDep) -> str:
    """The verified ``iss`` of the call's JWT (every endpoint of a service accepts a JWT for
    that endpoint or, for feedback, for the service itself); 401 saying why otherwise."""
    if settings.development:
        return UNVERIFIED_CLIENT
    endpoint = _public_url(request, settings) + request.url.path
    audiences = [endpoint, endpoint.removesuffix("/feedback")]
    verifier: ClientVerifier = request.app.state.cds_verifier
    authorization = request.headers.get("authorization")
    try:
        client = await run_in_threadpool(
            verifier.verify, authorization, audiences, dt.datetime.now(dt.UTC)
        )
    except AuthenticationError as error:
        detail = f"{request.method} {_route(request)} refused: {error}"
        await run_in_threadpool(audit_call, database, UNVERIFIED_CLIENT, detail, refused=True)
        raise
    return client.issuer


def _route(request: Request) -> str:
    return str(getattr(request.scope.get("route"), "path", request.url.path))


CdsClient = Annotated[str, Depends(cds_client)]


# --- the service ------------------------------------------------------------------------------


@router.get(PREFIX, tags=["CDS Hooks"])
async def discovery() -> dict[str, Any]:
    """The CDS services of alscare and the prefetch each needs."""
    return cds_hooks.discovery()


@router.post(
    PREFIX + "/{service_id}",
    tags=["CDS Hooks"],
    response_model=None,
    responses=problem_responses(502),
)
async def call_service(
    service_id: str,
    call: HookRequest,
    request: Request,
    client: CdsClient,
    settings: SettingsDep,
    database: DatabaseDep,
    kb: KnowledgeDep,
) -> JSONResponse:
    """A hook call: the cards of the patient the request describes, on today's date."""
    checked = cds_hooks.plan(cds_hooks.find_service(service_id), call)
    fetched = await _fetch_missing(checked)
    cards = await run_in_threadpool(
        cds_hooks.answer,
        checked,
        fetched,
        as_of=services.today(),
        base_url=_public_url(request, settings),
        kb=kb,
    )
    detail = f"{service_id}: {len(cards)} cards, hookInstance {call.hookInstance}"
    await run_in_threadpool(audit_call, database, client, detail)
    return JSONResponse({"cards": cards})


@router.post(PREFIX + "/{service_id}/feedback", tags=["CDS Hooks"], response_model=None)
async def feedback(
    service_id: str, body: FeedbackRequest, client: CdsClient, database: DatabaseDep
) -> Response:
    """What the clinician did with the cards: stored for the admins' feedback page."""
    service = cds_hooks.find_service(service_id)
    received = dt.datetime.now(dt.UTC)
    rows = [_feedback_row(service.id, item, client, received) for item in body.feedback]
    await run_in_threadpool(store_feedback, database, rows)
    return Response(status_code=200)


def _feedback_row(
    service_id: str, item: cds_hooks.CardFeedback, client: str, received: dt.datetime
) -> Feedback:
    override = item.overrideReason
    reason = override.reason if override is not None else None
    return Feedback(
        service_id=service_id,
        card_uuid=item.card,
        outcome=item.outcome,
        outcome_at=item.outcomeTimestamp,
        client=client,
        received_at=received,
        override_system=reason.system if reason else None,
        override_code=reason.code if reason else None,
        override_display=reason.display if reason else None,
        user_comment=override.userComment if override is not None else None,
    )


# --- the EHR's FHIR server --------------------------------------------------------------------


async def _fetch_missing(checked: Plan) -> dict[str, dict[str, Any]]:
    """What the prefetch lacks, from the request's FHIR server, all queries at once."""
    request = checked.request
    if not checked.queries or request.fhirServer is None:
        return {}
    headers = {"Accept": "application/fhir+json"}
    if request.fhirAuthorization is not None:
        headers["Authorization"] = f"Bearer {request.fhirAuthorization.access_token}"
    server = request.fhirServer.rstrip("/")
    async with httpx.AsyncClient(
        headers=headers, timeout=_FHIR_TIMEOUT_SECONDS, follow_redirects=False
    ) as client:
        answers = await asyncio.gather(
            *(_fetch(client, server, query) for query in checked.queries.values()),
            return_exceptions=True,
        )
    # Of several failed queries, the first in the prefetch's order is named: the same each time.
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return dict(zip(checked.queries, cast(list[dict[str, Any]], answers), strict=True))


async def _fetch(client: httpx.AsyncClient, server: str, query: str) -> dict[str, Any]:
    """One query's answer; a searchset answered in pages is gathered into one Bundle. Next
    pages are followed on the server's own origin only, where the token may go."""
    found = await _get_json(client, f"{server}/{query}", query)
    entries = list(found.get("entry") or [])
    link: str | None = _next_page(found, server)
    for _ in range(_MAX_PAGES - 1):
        if link is None:
            break
        page = await _get_json(client, link, query)
        entries.extend(page.get("entry") or [])
        link = _next_page(page, server)
    if found.get("resourceType") == "Bundle":
        return {**found, "entry": entries}
    return found


def _next_page(bundle: Mapping[str, Any], server: str) -> str | None:
    links = bundle.get("link")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            if isinstance(url, str) and _origin(url) == _origin(server):
                return url
    return None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


async def _get_json(client: httpx.AsyncClient, url: str, query: str) -> dict[str, Any]:
    try:
        response = await client.get(url)
    except httpx.HTTPError as error:
        raise FhirServerError(
            f"the FHIR server could not be reached for {query} ({type(error).__name__})"
        ) from None
    if response.status_code != 200:
        raise FhirServerError(f"the FHIR server answered {response.status_code} to {query}")
    try:
        found = response.json()
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise RecordError([Problem("/fhirServer", f"{query}: the answer is not a JSON object")])
    return found


# --- the admins' page -------------------------------------------------------------------------


@router.get("/cds-feedback", include_in_schema=False)
def feedback_page(
    request: Request, user: PageUser, database: DatabaseDep, kb: KnowledgeDep, page: int = 1
) -> Response:
    require_role(user, Role.ADMIN)
    page = limits.clamped_page(page)
    rows = feedback_rows(database, limit=_FEEDBACK_PAGE + 1, offset=(page - 1) * _FEEDBACK_PAGE)
    context = {
        "rows": rows[:_FEEDBACK_PAGE],
        "more": len(rows) > _FEEDBACK_PAGE,
        "page": page,
        "nav": "cds-feedback",
    }
    return render(request, "cds_feedback.html", context, user=user, kb=kb)


# --- installing -------------------------------------------------------------------------------


class _CdsCors:
    """CORS for the EHR origins on ``/cds-services`` only: the rest of the app answers no
    other origin (its pages and API hold patient data behind a session or a token)."""

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == PREFIX or path.startswith(PREFIX + "/"):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install_cds_hooks(app: FastAPI, settings: Settings) -> None:
    """Add the service's CORS (call last: it must be the outermost middleware, so that its
    preflight answers come before any other check), its JWT verifier and its 502 answer."""
    from alscare.web.app import problem  # app imports this module

    async def fhir_server_failed(_request: Request, error: Exception) -> Response:
        return problem(502, str(error))

    app.state.cds_verifier = ClientVerifier(settings.cds_clients)
    app.add_exception_handler(FhirServerError, fhir_server_failed)
    app.add_middleware(_CdsCors, origins=settings.ehr_origins)
