"""Typed FastAPI dependencies: the app's database, settings and knowledge, the token's user,
and role checks. Route signatures read as plain typed parameters::

    def read(patient_id: str, user: Viewer, database: DatabaseDep) -> ...

``current_user_from_token`` and ``require_role`` are the API's; the pages mirror them with a
session cookie instead of a bearer token. Failures raise alscare errors (AuthenticationError,
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
    User,
    user_from_token,
)

__all__ = [
    "TOKEN_URL",
    "Admin",
    "Clinician",
    "DatabaseDep",
    "KnowledgeDep",
    "SettingsDep",
    "Viewer",
    "api_actor",
    "app_database",
    "app_knowledge",
    "app_settings",
    "current_user_from_token",
    "require_role",
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


DatabaseDep = Annotated[Database, Depends(app_database)]
SettingsDep = Annotated[Settings, Depends(app_settings)]
KnowledgeDep = Annotated[KnowledgeBase, Depends(app_knowledge)]


def current_user_from_token(
    database: DatabaseDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(_bearer)],
) -> User:
    """The active user of the request's bearer token; AuthenticationError (401) otherwise."""
    if not token:
        raise AuthenticationError("not authenticated: send a bearer token")
    return user_from_token(database, token, settings)


def require_role(role: Role) -> Callable[[User], Coroutine[Any, Any, User]]:
    """A dependency giving the token's user if their role allows ``role`` (403 if not)."""

    async def user_with_role(user: Annotated[User, Depends(current_user_from_token)]) -> User:
        if not user.role.allows(role):
            raise PermissionDeniedError(f"this needs a {role} account; yours is {user.role}")
        return user

    return user_with_role


Viewer = Annotated[User, Depends(require_role(Role.VIEWER))]
Clinician = Annotated[User, Depends(require_role(Role.CLINICIAN))]
Admin = Annotated[User, Depends(require_role(Role.ADMIN))]


def api_actor(user: User) -> Actor:
    """The user as the subject of a service call made through the API."""
    return Actor.of(user, Channel.API)
