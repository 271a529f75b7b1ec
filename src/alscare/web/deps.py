"""Typed FastAPI dependencies: the app's database, settings, knowledge and login guard, the
token's user, and role checks. Route signatures read as plain typed parameters::

    def read(patient_id: str, user: Viewer, database: DatabaseDep) -> ...

``current_user_from_token`` and ``require_role`` are the API's; the pages mirror them with a
session cookie instead of a bearer token. A bearer token is a session secret of kind ``api``
(``storage/security.py``), looked up on every request, so a revoked token is refused at once.
An account that must change its password may only do that (``POST /api/v1/auth/password``) and
log out: everything else is 403. Failures raise alscare errors (AuthenticationError,
PermissionDeniedError), which ``web/app.py`` turns into 401 and 403 answers.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from alscare.knowledge import KnowledgeBase
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
    live_session_user,
)
from alscare.web.login_guard import LoginGuard
from alscare.web.role_refusals import audit_role_refusal

__all__ = [
    "TOKEN_URL",
    "Admin",
    "Clinician",
    "BearerToken",
    "DatabaseDep",
    "KnowledgeDep",
    "LoginGuardDep",
    "PasswordChangeRequiredError",
    "SettingsDep",
    "TokenUser",
    "Viewer",
    "api_actor",
    "app_database",
    "app_knowledge",
    "app_login_guard",
    "app_settings",
    "bearer_token",
    "current_user_from_token",
    "require_role",
    "token_user",
]

TOKEN_URL = "/api/v1/auth/token"
_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


# Dependencies that do no I/O are ``async``: FastAPI runs them on the event loop instead of
# handing each to a worker thread, which costs more than the work itself.


async def app_database(request: Request) -> Database:
    return cast(Database, request.app.state.database)


async def app_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def app_knowledge(request: Request) -> KnowledgeBase:
    return cast(KnowledgeBase, request.app.state.kb)


async def app_login_guard(request: Request) -> LoginGuard:
    return cast(LoginGuard, request.app.state.login_guard)


DatabaseDep = Annotated[Database, Depends(app_database)]
SettingsDep = Annotated[Settings, Depends(app_settings)]
KnowledgeDep = Annotated[KnowledgeBase, Depends(app_knowledge)]
LoginGuardDep = Annotated[LoginGuard, Depends(app_login_guard)]


class PasswordChangeRequiredError(PermissionDeniedError):
    """Raised for an account that must choose a new password before it does anything else."""


async def bearer_token(token: Annotated[str | None, Depends(_bearer)]) -> str:
    """The request's bearer token; AuthenticationError (401) when there is none."""
    if not token:
        raise AuthenticationError("not authenticated: send a bearer token")
    return token


BearerToken = Annotated[str, Depends(bearer_token)]


def token_user(database: DatabaseDep, token: BearerToken) -> User:
    """The active user of the bearer token, even one that must change its password."""
    return live_session_user(database, token, SessionKind.API)


TokenUser = Annotated[User, Depends(token_user)]


async def current_user_from_token(user: TokenUser) -> User:
    """The active user of the request's bearer token; 401 without a live token, 403 while the
    account must change its password."""
    if user.must_change_password:
        raise PasswordChangeRequiredError(
            "this account must change its password first: POST /api/v1/auth/password"
        )
    return user


def require_role(role: Role) -> Callable[[Request, Database, User], Coroutine[Any, Any, User]]:
    """A dependency giving the token's user if their role allows ``role`` (403 if not)."""

    async def user_with_role(
        request: Request,
        database: DatabaseDep,
        user: Annotated[User, Depends(current_user_from_token)],
    ) -> User:
        if not user.role.allows(role):
            error = PermissionDeniedError(f"this needs a {role} account; yours is {user.role}")
            await audit_role_refusal(request, database, api_actor(user), error)
            raise error
        return user

    return user_with_role


Viewer = Annotated[User, Depends(require_role(Role.VIEWER))]
Clinician = Annotated[User, Depends(require_role(Role.CLINICIAN))]
Admin = Annotated[User, Depends(require_role(Role.ADMIN))]


def api_actor(user: User) -> Actor:
    """The user as the subject of a service call made through the API."""
    return Actor.of(user, Channel.API)
