"""``create_app(settings) -> FastAPI``: the clinic app, built from settings, never at import.

The app holds one Database, one knowledge base (loaded once) and the settings on
``app.state``; it brings the schema up to date when it starts. It serves the JSON API
(``web/api.py``), the pages (``web/pages.py``) and their static files (``/static``), and
documents the API at ``/docs`` (with the record v1 schemas the bodies also accept), with assets
served from the package so that it works offline (``web/docs.py``).

Errors are translated here, in one place: alscare errors become RFC 9457 problem documents
(``application/problem+json``) with the right status (RecordError 422 with a ``problems`` list
of ``{pointer, reason}``, NotFoundError 404, ConflictError 409, AuthenticationError 401,
LoginThrottledError 429, PermissionDeniedError 403, a busy database 503). Anything unexpected is
logged (its type and the route, never request data) and answered with a bare 500 that holds no
patient data; the server's access log is off for the same reason (the audit trail records
access).

Before any route, middleware here answers 413 for a body past its limit (``alscare.limits``) and
422 for a NUL character in the path, the query or a form, and puts ``Cache-Control: no-store``
on every answer but the static files.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any, Final
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alscare import __version__, limits
from alscare.errors import NotFoundError, RecordError
from alscare.knowledge import KnowledgeBase, load_knowledge
from alscare.revisions import ReasonRequiredError, StaleRevisionError
from alscare.services import AccountError, ConflictError, PermissionDeniedError
from alscare.settings import Settings, load_settings
from alscare.storage.database import Database
from alscare.storage.security import AuthenticationError, LoginThrottledError
from alscare.web.accounts import router as accounts_router
from alscare.web.api import body_schemas
from alscare.web.api import router as api_router
from alscare.web.cds_hooks import BODY_LIMITS as CDS_HOOKS_BODY_LIMITS
from alscare.web.cds_hooks import install_cds_hooks
from alscare.web.cds_hooks import router as cds_hooks_router
from alscare.web.clinic_api import router as clinic_api_router
from alscare.web.corrections import router as corrections_router
from alscare.web.docs import install_docs
from alscare.web.fhir_api import router as fhir_api_router
from alscare.web.history import router as history_router
from alscare.web.letters import router as letters_router
from alscare.web.login_guard import LoginGuard
from alscare.web.pages import router as pages_router
from alscare.web.preconditions import CHANGE_REASON_POINTER, PreconditionRequiredError, etag
from alscare.web.session import install_session  # pages engineer: session cookie + CSRF
from alscare.web.smart import router as smart_router
from alscare.web.visit import router as visit_router
from alscare.web.wording import router as wording_router

__all__ = ["app_from_environment", "create_app", "problem"]

_log = logging.getLogger("alscare.web")


def create_app(
    settings: Settings, *, database: Database | None = None, kb: KnowledgeBase | None = None
) -> FastAPI:
    """The app for these settings; ``database`` and ``kb`` may be given to share them.

    Raises ConfigError when the settings hold no secret key (see ``load_settings``).
    """
    settings.signing_key()
    owned = database is None
    db = database if database is not None else Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        db.upgrade()
        yield
        if owned:
            db.dispose()

    app = FastAPI(
        title="alscare",
        summary="Point-of-care decision support for ALS: patient records and assessments.",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # web/docs.py serves /docs from the package, not from a CDN
        redoc_url=None,
        separate_input_output_schemas=False,
    )
    app.state.settings = settings
    app.state.database = db
    app.state.kb = kb if kb is not None else load_knowledge()
    app.state.login_guard = LoginGuard(settings)
    app.include_router(api_router)
    app.include_router(letters_router)
    app.include_router(wording_router)
    app.include_router(clinic_api_router)
    app.include_router(pages_router)
    app.include_router(visit_router)
    app.include_router(corrections_router)
    app.include_router(history_router)
    app.include_router(accounts_router)
    app.include_router(fhir_api_router)
    app.include_router(cds_hooks_router)
    app.include_router(smart_router)
    static = resources.files("alscare.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static), check_dir=False), name="static")
    install_docs(app)
    _install_error_handlers(app)
    _document_body_schemas(app)
    install_session(app, settings)  # pages engineer: session cookie + CSRF (web/session.py)
    # Outermost last: _CatchAll, _NoStore, _LimitBody, _RefuseUnstorableText, the session.
    app.add_middleware(_RefuseUnstorableText)
    app.add_middleware(_LimitBody)  # outside the NUL check, which reads a form through it
    app.add_middleware(_NoStore)
    app.add_middleware(_CatchAll)
    install_cds_hooks(app, settings)  # its CORS outermost, before every other check
    return app


def _document_body_schemas(app: FastAPI) -> None:
    """Add the schemas that only request bodies name to the OpenAPI document, once."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = app.openapi_schema
        if document is None:
            document = build()  # FastAPI keeps it as app.openapi_schema
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in body_schemas().items():
                schemas.setdefault(name, schema)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_environment() -> FastAPI:
    """The app for the ``ALSCARE_*`` environment (the factory of ``serve --workers`` processes)."""
    return create_app(load_settings())


def problem(
    status: int, detail: str, *, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """An RFC 9457 problem document."""
    body = {"type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status}
    body["detail"] = detail
    body.update(extra)
    return JSONResponse(
        body, status_code=status, headers=headers, media_type="application/problem+json"
    )


_TITLES: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def _install_error_handlers(app: FastAPI) -> None:
    async def record_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, RecordError)
        problems = [{"pointer": p.pointer, "reason": p.reason} for p in error.problems]
        return problem(422, "the input is not valid", problems=problems)

    async def request_invalid(_request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        problems = [
            {
                "pointer": "/" + "/".join(str(part) for part in detail.get("loc", ())),
                "reason": str(detail.get("msg", "invalid")),
            }
            for detail in error.errors()
        ]
        return problem(422, "the request is not valid", problems=problems)

    async def not_found(_request: Request, error: Exception) -> Response:
        return problem(404, str(error))

    async def conflict(_request: Request, error: Exception) -> Response:
        return problem(409, str(error))

    async def denied(_request: Request, error: Exception) -> Response:
        return problem(403, str(error))

    async def unauthenticated(_request: Request, error: Exception) -> Response:
        return problem(401, str(error), headers={"WWW-Authenticate": "Bearer"})

    async def locked(_request: Request, error: Exception) -> Response:
        assert isinstance(error, LoginThrottledError)
        retry = error.retry_after_seconds(dt.datetime.now(dt.UTC))
        return problem(429, str(error), headers={"Retry-After": str(retry)})

    async def bad_account(_request: Request, error: Exception) -> Response:
        return problem(422, str(error))

    async def stale(_request: Request, error: Exception) -> Response:
        assert isinstance(error, StaleRevisionError)
        headers = {"ETag": etag(error.current)}
        return problem(412, str(error), headers=headers, current_revision=error.current)

    async def precondition_required(_request: Request, error: Exception) -> Response:
        return problem(428, str(error))

    async def reason_required(_request: Request, error: Exception) -> Response:
        problems = [{"pointer": CHANGE_REASON_POINTER, "reason": str(error)}]
        return problem(422, "the change needs a reason", problems=problems)

    async def database_busy(request: Request, error: Exception) -> Response:
        _log_unhandled(request.scope, error)
        return problem(
            503, "the database is busy or unreachable; try again", headers={"Retry-After": "1"}
        )

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if isinstance(error, _TooLarge):
            return _too_large(error.limit)
        if not request.url.path.startswith(_JSON_PATHS):
            return await http_exception_handler(request, error)
        return problem(error.status_code, str(error.detail), headers=error.headers)

    handlers = {
        RecordError: record_error,
        RequestValidationError: request_invalid,
        NotFoundError: not_found,
        ConflictError: conflict,
        PermissionDeniedError: denied,
        AuthenticationError: unauthenticated,
        LoginThrottledError: locked,
        AccountError: bad_account,
        StaleRevisionError: stale,
        PreconditionRequiredError: precondition_required,
        ReasonRequiredError: reason_required,
        OperationalError: database_busy,
        StarletteHTTPException: http_error,
    }
    for error_class, handler in handlers.items():
        app.add_exception_handler(error_class, handler)


def _too_large(limit: int) -> Response:
    """413 naming the limit of the route (``alscare.limits``), for the API and pages alike."""
    detail = f"the request body is larger than the limit of {limit:,} bytes"
    return problem(413, detail, max_body_bytes=limit)


def _route(scope: Scope) -> str:
    """The route template (``/api/v1/patients/{patient_id}``), never the path with its ids."""
    route = scope.get("route")
    return str(getattr(route, "path", "(no route)"))


def _log_unhandled(scope: Scope, error: BaseException) -> None:
    # The message of an exception may quote request data; the type and the frames do not.
    frames = "".join(traceback.format_tb(error.__traceback__))
    _log.error(
        "%s on %s %s (message withheld)\n%s",
        type(error).__name__,
        scope.get("method", "?"),
        _route(scope),
        frames,
    )


class _CatchAll:
    """The last line: an unexpected exception becomes a bare 500, logged without its message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as error:
            _log_unhandled(scope, error)
            if not started:
                response = problem(500, "the server could not complete the request")
                await response(scope, receive, send)


# The paths of the JSON APIs (alscare's own, CDS Hooks): their errors are problem documents.
_JSON_PATHS: Final = ("/api/", "/cds-services")
# The bulk import takes a list of whole records, a FHIR import or a CDS hook call a record as
# FHIR (some ten times its JSON); every other body is one record or less.
_BODY_LIMITS: Final = {
    "/api/v1/import": limits.MAX_IMPORT_BODY_BYTES,
    "/api/v1/fhir/import": limits.MAX_IMPORT_BODY_BYTES,
    **CDS_HOOKS_BODY_LIMITS,
}


class _TooLarge(StarletteHTTPException):
    """A body past its limit, found while it is read (the handlers answer 413 naming it)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, "Content Too Large")
        self.limit = limit


class _LimitBody:
    """413 for a request body past its limit (``alscare.limits``): at once when Content-Length
    says so, and otherwise as soon as the bytes read pass it, so a huge body is never held."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = _BODY_LIMITS.get(scope["path"], limits.MAX_BODY_BYTES)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _TooLarge(limit)
            return message

        await self.app(scope, receive_within_limit, send)


class _RefuseUnstorableText:
    """One place that refuses a NUL character in any text of a request that may reach a query:
    the path, the query string and a form body (JSON bodies: the JSON reader,
    ``schemas.records.load_json``; headers: the HTTP parser). PostgreSQL cannot hold a NUL in
    text and answered such a query with an error, a 500; no one means one. 422 names where."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        pointers = _nul_pointers(scope)
        form = _form_kind(scope)
        if not pointers and form is not None:
            try:
                receive, body = await _buffered(receive)
            except _TooLarge as error:
                await _too_large(error.limit)(scope, receive, send)
                return
            pointers = _form_nul_pointers(form, body)
        if pointers:
            reason = "may not hold a NUL character"
            problems = [{"pointer": pointer, "reason": reason} for pointer in pointers]
            response = problem(422, "the request is not valid", problems=problems)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _nul_pointers(scope: Scope) -> list[str]:
    """The path and the query string; a header cannot hold a NUL (the HTTP parser answers 400)."""
    pointers = ["/path"] if "\x00" in scope["path"] else []
    return pointers + _pairs_nul_pointers("query", scope["query_string"].decode("latin-1"))


def _pairs_nul_pointers(part: str, encoded: str) -> list[str]:
    """The pointers of the names and values of URL-encoded pairs that decode to a NUL."""
    if "%00" not in encoded and "\x00" not in encoded:
        return []
    pairs = parse_qsl(encoded, keep_blank_values=True, errors="replace")
    return [
        f"/{part}/{name.replace(chr(0), '%00')}"
        for name, value in pairs
        if "\x00" in name or "\x00" in value
    ]


_FORMS: Final = ("application/x-www-form-urlencoded", "multipart/form-data")


def _form_kind(scope: Scope) -> str | None:
    """The kind of form the body is, or None for any other body (JSON is the reader's)."""
    content_type = Headers(scope=scope).get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    return kind if kind in _FORMS else None


async def _buffered(receive: Receive) -> tuple[Receive, bytes]:
    """The whole body (within its limit: the receive it reads from is :class:`_LimitBody`'s)
    and a receive that hands it on as one message."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay, body


def _form_nul_pointers(kind: str, body: bytes) -> list[str]:
    if kind == _FORMS[0]:
        return _pairs_nul_pointers("form", body.decode("latin-1"))
    # A multipart form of the app holds text fields only (it takes no files): a NUL byte in it
    # is a NUL in a field's text.
    return ["/form"] if b"\x00" in body else []


class _NoStore:
    """``Cache-Control: no-store`` on every answer but the static files: pages and API answers
    hold patient data or tokens, which no browser or proxy may keep (a route that sets its own
    Cache-Control keeps it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_no_store)
