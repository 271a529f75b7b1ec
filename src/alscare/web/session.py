"""Page sessions: a signed cookie that carries the session's id, and CSRF protection of forms.

A page session is a row of ``auth_sessions`` (``storage/security.py``): the cookie holds its
random secret, never the username, a password or patient data, and every request looks the row
up, so logging out, a password change or a disabled account ends the session on the next
request, and a cookie saved before a logout opens nothing. A session lasts
``ALSCARE_SESSION_HOURS`` (12) from login. The cookie is Starlette's signed session
(itsdangerous, HMAC with ``ALSCARE_SECRET_KEY``), which also holds the CSRF token and one-off
notices; it is ``HttpOnly`` and ``SameSite=Lax`` always, and ``Secure`` whenever the request
came over HTTPS. Logging in starts a new session (a new CSRF token), so a token seen before
login is worthless after it. An account that must change its password is sent to
``/account/password`` from every page until it has.

Every POST of a page form must carry ``csrf_token`` equal to the session's token
(:func:`check_csrf`, a dependency of the pages router); a missing or wrong token is refused
with 403 before the form is read any further.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Annotated, Final
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from alscare.errors import AlscareError
from alscare.services import PermissionDeniedError
from alscare.settings import Settings
from alscare.storage.database import Database
from alscare.storage.security import (
    Actor,
    AuthenticationError,
    Channel,
    Role,
    SessionKind,
    User,
    end_session,
    live_session_user,
    start_session,
)
from alscare.web.deps import DatabaseDep
from alscare.web.role_refusals import audit_role_refusal

__all__ = [
    "CSRF_FIELD",
    "PASSWORD_PAGE",
    "SESSION_COOKIE",
    "CsrfError",
    "LoginRequired",
    "PageError",
    "PasswordChangeRequired",
    "SessionUser",
    "check_csrf",
    "csrf_token",
    "current_user_from_session",
    "install_session",
    "log_in",
    "log_out",
    "page_actor",
    "session_user",
]

SESSION_COOKIE: Final = "alscare_session"
CSRF_FIELD: Final = "csrf_token"
PASSWORD_PAGE: Final = "/account/password"
_SESSION_ID: Final = "sid"
_CSRF: Final = "csrf"


class LoginRequired(AlscareError):
    """Raised by :func:`current_user_from_session` when no one (or no active account) is
    logged in; answered with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path
        super().__init__("log in to see this page")


class PasswordChangeRequired(AlscareError):
    """Raised by :func:`current_user_from_session` for an account that must choose a new
    password first; answered with a redirect to the password page."""


class CsrfError(AlscareError):
    """Raised when a posted form lacks the session's CSRF token."""


class PageError(AlscareError):
    """Raised by a page that must answer with an error page (403, 404, ...) instead."""

    def __init__(self, status_code: int, title: str, message: str) -> None:
        self.status_code = status_code
        self.title = title
        self.message = message
        super().__init__(message)


class _SchemeAwareSessions:
    """Starlette's session middleware, marking the cookie ``Secure`` on HTTPS requests only,
    so one configuration serves a TLS proxy in production and plain HTTP on a laptop."""

    def __init__(self, app: ASGIApp, secret_key: str, hours: int) -> None:
        options = {
            "secret_key": secret_key,
            "session_cookie": SESSION_COOKIE,
            "max_age": hours * 60 * 60,
            "same_site": "lax",
        }
        self._plain = SessionMiddleware(app, https_only=False, **options)  # type: ignore[arg-type]
        self._secure = SessionMiddleware(app, https_only=True, **options)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        secure = scope.get("scheme") in ("https", "wss")
        await (self._secure if secure else self._plain)(scope, receive, send)


def install_session(app: FastAPI, settings: Settings) -> None:
    """Add the session middleware and the answers to LoginRequired, PasswordChangeRequired,
    CsrfError and PageError to ``app``."""
    app.add_middleware(
        _SchemeAwareSessions, secret_key=settings.signing_key(), hours=settings.session_hours
    )
    app.add_exception_handler(LoginRequired, _redirect_to_login)  # type: ignore[arg-type]
    app.add_exception_handler(PasswordChangeRequired, _redirect_to_password)  # type: ignore[arg-type]
    app.add_exception_handler(CsrfError, _csrf_refused)  # type: ignore[arg-type]
    app.add_exception_handler(PageError, _page_error)  # type: ignore[arg-type]


async def _redirect_to_login(request: Request, error: LoginRequired) -> Response:
    return RedirectResponse(f"/login?next={quote(error.next_path, safe='/')}", status_code=303)


async def _redirect_to_password(request: Request, error: PasswordChangeRequired) -> Response:
    return RedirectResponse(PASSWORD_PAGE, status_code=303)


async def _csrf_refused(request: Request, error: CsrfError) -> Response:
    # Imported here: pages imports this module, and the error page is one of its templates.
    from alscare.web.pages import error_page

    return error_page(request, 403, "The form could not be accepted", str(error))


async def _page_error(request: Request, error: PageError) -> Response:
    from alscare.web.pages import error_page

    if error.status_code == 403:
        await _audit_refused_page(request, error)
    return error_page(request, error.status_code, error.title, error.message)


async def _audit_refused_page(request: Request, error: PageError) -> None:
    """A page refused to the session's role is a refused attempt on the patient it is for."""
    database = request.app.state.database
    user = await run_in_threadpool(session_user, request, database)
    if user is not None:
        refused = PermissionDeniedError(error.message)
        await audit_role_refusal(request, database, page_actor(user), refused)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (also for the login form)."""
    token = request.session.get(_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[_CSRF] = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuse a POST whose ``csrf_token`` field is not the session's token."""
    if request.method != "POST":
        return
    expected = request.session.get(_CSRF)
    form = await request.form()
    posted = form.get(CSRF_FIELD)
    if not (
        isinstance(expected, str)
        and isinstance(posted, str)
        and hmac.compare_digest(expected.encode(), posted.encode())
    ):
        raise CsrfError(
            "the form's security token is missing or out of date (the session may have "
            "expired): go back, reload the page and submit it again"
        )


def log_in(request: Request, database: Database, user: User, settings: Settings) -> None:
    """Start a fresh session for ``user`` (a new CSRF token; nothing of the old one kept)."""
    lifetime = dt.timedelta(hours=settings.session_hours)
    issued = start_session(database, user, SessionKind.PAGE, lifetime)
    request.session.clear()
    request.session[_SESSION_ID] = issued.secret
    request.session[_CSRF] = secrets.token_urlsafe(32)


def log_out(request: Request, database: Database) -> None:
    """End the session on the server (a copy of the cookie opens nothing) and forget it."""
    secret = request.session.get(_SESSION_ID)
    if isinstance(secret, str):
        end_session(database, secret, SessionKind.PAGE, Channel.PAGES)
    request.session.clear()


class SessionUser:
    """The logged-in account as templates see it: name, role and what the role may do."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.username = user.username
        self.role = user.role.value
        self.can_write = user.role.allows(Role.CLINICIAN)
        self.is_admin = user.role.allows(Role.ADMIN)


def session_user(request: Request, database: DatabaseDep) -> User | None:
    """The active account of a live session, or None (no session, or one ended, expired, or
    of an account gone or disabled: then the cookie is emptied)."""
    secret = request.session.get(_SESSION_ID)
    if not isinstance(secret, str):
        return None
    try:
        return live_session_user(database, secret, SessionKind.PAGE)
    except AuthenticationError:
        request.session.clear()
        return None


def current_user_from_session(
    request: Request, user: Annotated[User | None, Depends(session_user)]
) -> User:
    """The logged-in user; LoginRequired (a redirect to /login) when there is none, and
    PasswordChangeRequired (a redirect to the password page) while the account must choose a
    new password."""
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else request.url.path)
    if user.must_change_password:
        raise PasswordChangeRequired("choose a new password first")
    return user


def page_actor(user: User) -> Actor:
    """The user as the subject of a service call made through the pages."""
    return Actor.of(user, Channel.PAGES)
