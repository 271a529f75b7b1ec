"""Account pages: the admins' account list and its actions, and everyone's own password page.

Routes::

    GET  /accounts                                     every account (admins)
    POST /accounts/{name}/disable | enable             ends its sessions when disabled
    POST /accounts/{name}/role                         another role, from its next request
    POST /accounts/{name}/password                     a new password set by the admin
    POST /accounts/{name}/require-password-change      a new password at its next login
    GET  /account/password, POST /account/password     the holder chooses a new password

The work and its audit rows are :mod:`alscare.storage.accounts` and
:func:`alscare.services.set_password`. A refused action (your own account, the last admin, a
password too short) is answered with the list again, status 422, saying why; nothing changes.
A new password ends every session of the account: on the password page the holder's browser
gets a fresh session at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from alscare import services
from alscare.services import AccountError
from alscare.settings import Settings
from alscare.storage import accounts
from alscare.storage.database import Database
from alscare.storage.security import Channel, LoginThrottledError, Role, User
from alscare.web.deps import DatabaseDep, LoginGuardDep, SettingsDep
from alscare.web.login_guard import client_address
from alscare.web.pages import NOTICE, MaybeUser, PageUser, Posted, page_errors, render, require_role
from alscare.web.session import PASSWORD_PAGE, LoginRequired, check_csrf, log_in, page_actor

__all__ = ["ACCOUNT_ACTIONS", "account_action", "accounts_page", "password_form", "router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

_Action = Callable[[Database, User, str, dict[str, str]], str]


def _disable(database: Database, admin: User, name: str, form: dict[str, str]) -> str:
    accounts.set_active(database, page_actor(admin), name, active=False)
    return f"{name} is disabled: its sessions have ended."


def _enable(database: Database, admin: User, name: str, form: dict[str, str]) -> str:
    accounts.set_active(database, page_actor(admin), name, active=True)
    return f"{name} is enabled."


def _role(database: Database, admin: User, name: str, form: dict[str, str]) -> str:
    wanted = form.get("role", "")
    if wanted not in {role.value for role in Role}:
        raise AccountError(f"role: one of {', '.join(role.value for role in Role)}")
    accounts.set_role(database, page_actor(admin), name, Role(wanted))
    return f"{name} is now {wanted}."


def _password(database: Database, admin: User, name: str, form: dict[str, str]) -> str:
    must_change = form.get("must_change") == "on"
    password = form.get("password", "")
    services.set_password(database, page_actor(admin), name, password, must_change=must_change)
    then = " and must choose another at the next login" if must_change else ""
    return f"{name} has a new password{then}: its sessions have ended."


def _require_change(database: Database, admin: User, name: str, form: dict[str, str]) -> str:
    accounts.require_password_change(database, page_actor(admin), name)
    return f"{name} must choose a new password at the next page or request."


#: URL segment of each account action -> what it does (each answers the notice to show).
ACCOUNT_ACTIONS: Final[dict[str, _Action]] = {
    "disable": _disable,
    "enable": _enable,
    "role": _role,
    "password": _password,
    "require-password-change": _require_change,
}


def _list_page(
    request: Request, admin: User, database: Database, error: str | None, status_code: int = 200
) -> Response:
    with page_errors():
        listed = accounts.list_accounts(database, page_actor(admin))
    context = {
        "accounts": listed,
        "roles": [role.value for role in Role],
        "error": error,
        "nav": "accounts",
    }
    return render(request, "accounts.html", context, user=admin, status_code=status_code)


@router.get("/accounts")
def accounts_page(request: Request, user: PageUser, database: DatabaseDep) -> Response:
    require_role(user, Role.ADMIN)
    return _list_page(request, user, database, None)


@router.post("/accounts/{username}/{action}")
def account_action(
    request: Request,
    username: str,
    action: str,
    user: PageUser,
    database: DatabaseDep,
    form: Posted,
) -> Response:
    require_role(user, Role.ADMIN)
    act = ACCOUNT_ACTIONS.get(action)
    if act is None:
        return _list_page(request, user, database, f"No account action {action!r}.", 404)
    try:
        with page_errors():
            notice = act(database, user, username, form)
    except AccountError as error:
        return _list_page(request, user, database, f"{username}: {error}.", 422)
    request.session[NOTICE] = notice
    return RedirectResponse("/accounts", status_code=303)


def _holder(user: User | None) -> User:
    """The logged-in account, even one that must change its password (this page is how)."""
    if user is None:
        raise LoginRequired(PASSWORD_PAGE)
    return user


def _password_page(
    request: Request, user: User, error: str | None, status_code: int = 200
) -> Response:
    context = {"forced": user.must_change_password, "error": error, "nav": None}
    return render(request, "accounts_password.html", context, user=user, status_code=status_code)


@router.get(PASSWORD_PAGE)
def password_form(request: Request, user: MaybeUser) -> Response:
    return _password_page(request, _holder(user), None)


@router.post(PASSWORD_PAGE)
async def change_password(
    request: Request,
    user: MaybeUser,
    form: Posted,
    database: DatabaseDep,
    settings: SettingsDep,
    guard: LoginGuardDep,
) -> Response:
    """A new password for the holder: checked against the current one (throttled as a login),
    then every session of the account ends and this browser gets a fresh one."""
    holder = _holder(user)
    current, new = form.get("current_password", ""), form.get("new_password", "")
    if new != form.get("confirm_password", ""):
        return _password_page(request, holder, "The two new passwords differ.", 422)
    try:
        changed = await guard.attempt(
            lambda: accounts.change_own_password(database, holder, current, new, Channel.PAGES),
            database,
            client=client_address(request),
            username=holder.username,
            channel=Channel.PAGES,
        )
    except LoginThrottledError as error:
        return _password_page(request, holder, f"{error}.", 429)
    except accounts.CurrentPasswordError as error:
        return _password_page(request, holder, f"Current password: {error}.", 422)
    except AccountError as error:
        return _password_page(request, holder, f"New password: {error}.", 422)
    await run_in_threadpool(_fresh_session, request, database, changed, settings)
    return RedirectResponse("/patients", status_code=303)


def _fresh_session(request: Request, database: Database, user: User, settings: Settings) -> None:
    log_in(request, database, user, settings)
    request.session[NOTICE] = "Your password is changed: every other session has ended."
