"""Page sessions: a signed cookie that remembers who logged in, and CSRF protection of forms.

The cookie is Starlette's signed session (itsdangerous, HMAC with ``ALSCARE_SECRET_KEY``); it
holds the username and the session's CSRF token, never a password or patient data. It is
``HttpOnly`` and ``SameSite=Lax`` always, and ``Secure`` whenever the request came over HTTPS.
The account is looked up again on every request (:func:`current_user_from_session`), so a
disabled account or a changed role takes effect at once. Logging in starts a new session (a new
CSRF token), so a token seen before login is worthless after it.

Every POST of a page form must carry ``csrf_token`` equal to the session's token
(:func:`check_csrf`, a dependency of the pages router); a missing or wrong token is refused
with 403 before the form is read any further.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Final
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from alscare.errors import AlscareError
from alscare.settings import Settings
from alscare.storage.security import Actor, Channel, Role, User, active_user
from alscare.web.deps import DatabaseDep

__all__ = [
    "CSRF_FIELD",
    "SESSION_COOKIE",
    "SESSION_HOURS",
    "CsrfError",
    "LoginRequired",
    "PageError",
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
SESSION_HOURS: Final = 12
CSRF_FIELD: Final = "csrf_token"
_USERNAME: Final = "username"
_CSRF: Final = "csrf"


class LoginRequired(AlscareError):
    """Raised by :func:`current_user_from_session` when no one (or no active account) is
    logged in; answered with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path
        super().__init__("log in to see this page")


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

    def __init__(self, app: ASGIApp, secret_key: str) -> None:
        options = {
            "secret_key": secret_key,
            "session_cookie": SESSION_COOKIE,
            "max_age": SESSION_HOURS * 60 * 60,
            "same_site": "lax",
        }
        self._plain = SessionMiddleware(app, https_only=False, **options)  # type: ignore[arg-type]
        self._secure = SessionMiddleware(app, https_only=True, **options)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        secure = scope.get("scheme") in ("https", "wss")
        await (self._secure if secure else self._plain)(scope, receive, send)


def install_session(app: FastAPI, settings: Settings) -> None:
    """Add the session middleware and the answers to LoginRequired and CsrfError to ``app``."""
    app.add_middleware(_SchemeAwareSessions, secret_key=settings.signing_key())
    app.add_exception_handler(LoginRequired, _redirect_to_login)  # type: ignore[arg-type]
    app.add_exception_handler(CsrfError, _csrf_refused)  # type: ignore[arg-type]
    app.add_exception_handler(PageError, _page_error)  # type: ignore[arg-type]


async def _redirect_to_login(request: Request, error: LoginRequired) -> Response:
    return RedirectResponse(f"/login?next={quote(error.next_path, safe='/')}", status_code=303)


async def _csrf_refused(request: Request, error: CsrfError) -> Response:
    # Imported here: pages imports this module, and the error page is one of its templates.
    from alscare.web.pages import error_page

    return error_page(request, 403, "The form could not be accepted", str(error))


async def _page_error(request: Request, error: PageError) -> Response:
    from alscare.web.pages import error_page

    return error_page(request, error.status_code, error.title, error.message)


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


def log_in(request: Request, user: User) -> None:
    """Start a fresh session for ``user`` (a new CSRF token; nothing of the old one kept)."""
    request.session.clear()
    request.session[_USERNAME] = user.username
    request.session[_CSRF] = secrets.token_urlsafe(32)


def log_out(request: Request) -> None:
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
    """The active account of the session, or None (no session, or account gone or disabled)."""
    username = request.session.get(_USERNAME)
    if not isinstance(username, str):
        return None
    user = active_user(database, username)
    if user is None:
        request.session.clear()
    return user


def current_user_from_session(
    request: Request, user: Annotated[User | None, Depends(session_user)]
) -> User:
    """The logged-in user; LoginRequired (a redirect to /login) when there is none."""
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else request.url.path)
    return user


def page_actor(user: User) -> Actor:
    """The user as the subject of a service call made through the pages."""
    return Actor.of(user, Channel.PAGES)
