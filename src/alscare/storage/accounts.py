"""Account management: list the accounts, disable and enable one, change its role, make it
choose a new password at its next login, and the holder's own change of password.

These are use cases beside :mod:`alscare.services` (which adds accounts and sets passwords, and
whose role check and errors they share): admins, and the CLI acting as admin, manage accounts.
Each change is one transaction with its audit row, which names the account in ``detail``.
Disabling an account or giving it a new password ends every session and token it holds at once.
No one may disable or demote their own account, and the last active admin can be neither
disabled nor demoted, so the clinic always keeps someone who can manage accounts (the CLI can
always add one).
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alscare.errors import NotFoundError
from alscare.services import AccountError, require_role
from alscare.storage.audit import AuditAction
from alscare.storage.database import Database
from alscare.storage.security import (
    Actor,
    AuthenticationError,
    Channel,
    Role,
    User,
    find_account,
    hash_password,
    password_matches,
    password_problem,
    revoke_sessions,
)
from alscare.storage.tables import AuthSessionRow, UserRow

__all__ = [
    "Account",
    "CurrentPasswordError",
    "change_own_password",
    "list_accounts",
    "require_password_change",
    "set_active",
    "set_role",
]


class Account(BaseModel):
    """An account as the admin pages and ``alscare user list`` show it."""

    model_config = ConfigDict(frozen=True)

    username: str
    role: Role
    active: bool
    must_change_password: bool
    created_at: dt.datetime
    open_sessions: int  # page sessions and API tokens neither expired nor ended


class CurrentPasswordError(AuthenticationError):
    """Raised when a password change does not give the account's current password."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def list_accounts(database: Database, actor: Actor) -> list[Account]:
    """Every account, by username (admins)."""
    require_role(actor, Role.ADMIN, "see the accounts")
    now = _now()
    live = (
        select(AuthSessionRow.username, func.count().label("open"))
        .where(AuthSessionRow.revoked_at.is_(None), AuthSessionRow.expires_at > now)
        .group_by(AuthSessionRow.username)
        .subquery()
    )
    query = (
        select(UserRow, live.c.open)
        .outerjoin(live, live.c.username == UserRow.username)
        .order_by(UserRow.username)
    )
    with database.transaction(write=False) as session:
        return [_account(row, open_sessions or 0) for row, open_sessions in session.execute(query)]


def set_active(database: Database, actor: Actor, username: str, active: bool) -> Account:
    """Enable or disable an account (admins); disabling ends its sessions and tokens."""
    require_role(actor, Role.ADMIN, "change accounts")
    now = _now()
    with database.transaction() as session:
        row = _row(session, username)
        if not active:
            _keep_an_admin(session, actor, row, "disable")
            revoke_sessions(session, username, now)
        row.active = active
        action = AuditAction.ACCOUNT_ENABLED if active else AuditAction.ACCOUNT_DISABLED
        actor.record(session, action, at=now, detail=username)
        return _account(row, _open_sessions(session, username, now))


def set_role(database: Database, actor: Actor, username: str, role: Role) -> Account:
    """Give an account another role (admins); it applies from the account's next request."""
    require_role(actor, Role.ADMIN, "change accounts")
    now = _now()
    with database.transaction() as session:
        row = _row(session, username)
        if role is not Role.ADMIN:
            _keep_an_admin(session, actor, row, f"make a {role}")
        before, row.role = row.role, role.value
        actor.record(
            session, AuditAction.ROLE_CHANGED, at=now, detail=f"{username}: {before} to {role}"
        )
        return _account(row, _open_sessions(session, username, now))


def require_password_change(database: Database, actor: Actor, username: str) -> Account:
    """Make the account choose a new password before it does anything else (admins)."""
    require_role(actor, Role.ADMIN, "change accounts")
    now = _now()
    with database.transaction() as session:
        row = _row(session, username)
        row.must_change_password = True
        actor.record(session, AuditAction.PASSWORD_CHANGE_REQUIRED, at=now, detail=username)
        return _account(row, _open_sessions(session, username, now))


def change_own_password(
    database: Database, user: User, current: str, new: str, channel: Channel
) -> User:
    """The account holder's new password, given the current one: every session and token of
    the account ends (the caller starts a fresh one) and no change is required any more.

    Raises CurrentPasswordError for a wrong current password (throttled like a failed login by
    the caller) and AccountError for a new password that is too short, too long or the same.
    """
    problem = password_problem(new)
    if problem is not None:
        raise AccountError(problem)
    with database.transaction(write=False) as session:
        row = find_account(session, user.username)
        stored_hash = row.password_hash if row is not None else ""
    if not password_matches(stored_hash, current):
        raise CurrentPasswordError("the current password is not this account's password")
    if current == new:
        raise AccountError("the new password must differ from the current one")
    new_hash = hash_password(new)
    now = _now()
    with database.transaction() as session:
        row = find_account(session, user.username)
        if row is None or not row.active or row.password_hash != stored_hash:
            # disabled, or given another password, while this one was hashed
            raise CurrentPasswordError("the account changed meanwhile: log in again")
        row.password_hash = new_hash
        row.must_change_password = False
        revoke_sessions(session, user.username, now)
        actor = Actor.of(user, channel)
        actor.record(session, AuditAction.PASSWORD_CHANGED, at=now, detail=user.username)
        return user.model_copy(update={"must_change_password": False})


def _row(session: Session, username: str) -> UserRow:
    row = find_account(session, username)
    if row is None:
        raise NotFoundError(f"no account named {username!r}")
    return row


def _keep_an_admin(session: Session, actor: Actor, row: UserRow, doing: str) -> None:
    """Refuse to take an admin's rights from the actor themself or from the last admin."""
    if row.username == actor.username:
        raise AccountError(f"you cannot {doing} your own account: ask another admin")
    if row.role != Role.ADMIN.value or not row.active:
        return
    admins = session.scalar(
        select(func.count())
        .select_from(UserRow)
        .where(UserRow.role == Role.ADMIN.value, UserRow.active)
    )
    if (admins or 0) <= 1:
        raise AccountError(
            f"{row.username} is the last active admin: make another account an admin first"
        )


def _open_sessions(session: Session, username: str, now: dt.datetime) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(AuthSessionRow)
        .where(
            AuthSessionRow.username == username,
            AuthSessionRow.revoked_at.is_(None),
            AuthSessionRow.expires_at > now,
        )
    )
    return count or 0


def _account(row: UserRow, open_sessions: int) -> Account:
    return Account(
        username=row.username,
        role=Role(row.role),
        active=row.active,
        must_change_password=row.must_change_password,
        created_at=row.created_at,
        open_sessions=open_sessions,
    )
