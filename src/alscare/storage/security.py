"""Accounts and login: roles, usernames, argon2 password hashes, and sessions held on the server.

:func:`authenticate` is the one password check of alscare: the API token endpoint and the pages'
login form both call it (through ``web/login_guard.py``, which throttles failed logins by client).
Unknown and disabled accounts get the same answer as a wrong password, after the same hashing
work, so an answer never tells whether a username exists.

A page session and an API token are the same thing on the server: a row of ``auth_sessions``
keyed by the SHA-256 of a random secret (``secrets.token_urlsafe(32)``) that only the client holds,
in its session cookie or as its bearer token. Every request looks its row up (no cache), so
logging out, a password change or a disabled account ends access on the very next request; an
expired or revoked secret is refused. The account is read in the same query, so a changed role
takes effect at once too.

A username is 1-64 characters, lower-case letters, digits, ``.``, ``_`` and ``-``, starting with
a letter (:data:`USERNAME_PATTERN`). Names with ``@`` (``alice@cli``, whoever ran a command)
and names starting ``alscare-`` (``alscare-migration``) are the system's own actors in the audit
trail, so no account can take them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from alscare.errors import AlscareError
from alscare.storage.audit import AuditAction, record_event, record_events
from alscare.storage.database import Database
from alscare.storage.tables import AuthSessionRow, UserRow

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "RESERVED_PREFIX",
    "USERNAME_PATTERN",
    "USERNAME_RULE",
    "Actor",
    "AuthenticationError",
    "Channel",
    "IssuedSession",
    "LoginThrottledError",
    "Role",
    "SessionKind",
    "User",
    "audit_login_event",
    "authenticate",
    "end_session",
    "find_account",
    "hash_password",
    "live_session_user",
    "password_matches",
    "password_problem",
    "revoke_sessions",
    "start_session",
    "user_of",
    "username_problem",
]

MIN_PASSWORD_LENGTH: Final = 8
MAX_PASSWORD_LENGTH: Final = 1024
USERNAME_PATTERN: Final = re.compile(r"^[a-z][a-z0-9._-]{0,63}$")
RESERVED_PREFIX: Final = "alscare-"
USERNAME_RULE: Final = (
    "a username is 1-64 characters: lower-case letters, digits, '.', '_' or '-', starting with "
    f"a letter; names starting {RESERVED_PREFIX!r} are reserved for the system"
)
# Every name an account was ever created with matches this (release 1 allowed upper case and
# '@'); any other name cannot exist, so it is not looked up (a NUL byte never reaches a query).
_STORABLE_NAME: Final = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_UNKNOWN: Final = "(unknown)"
_hasher: Final = PasswordHasher()


class Role(StrEnum):
    """Account roles, each allowed what the ones below it are."""

    VIEWER = "viewer"  # reads patients and assessments
    CLINICIAN = "clinician"  # also adds patients and visits
    ADMIN = "admin"  # also reads the audit trail, imports and exports, manages accounts

    def allows(self, needed: Role) -> bool:
        """True when this role may do what ``needed`` may."""
        order = list(Role)
        return order.index(self) >= order.index(needed)


class Channel(StrEnum):
    """Through what a person reached the data (recorded in the audit trail)."""

    API = "api"
    PAGES = "pages"
    CLI = "cli"


class SessionKind(StrEnum):
    """What a session secret opens: the pages (a cookie) or the API (a bearer token)."""

    PAGE = "page"
    API = "api"


class User(BaseModel):
    """An account as the rest of alscare sees it (never the password hash)."""

    model_config = ConfigDict(frozen=True)

    id: int
    username: str
    role: Role
    active: bool
    must_change_password: bool = False


@dataclass(frozen=True)
class Actor:
    """Who is acting and through what: the subject of every service call and audit row."""

    username: str
    role: Role
    channel: Channel

    @classmethod
    def of(cls, user: User, channel: Channel) -> Actor:
        return cls(username=user.username, role=user.role, channel=channel)

    def record(
        self,
        session: Session,
        action: AuditAction,
        *,
        at: dt.datetime,
        patient_id: str | None = None,
        detail: str = "",
    ) -> None:
        """Add the audit row of something this actor did to the session's transaction."""
        self.record_each(session, action, [patient_id], at=at, detail=detail)

    def record_each(
        self,
        session: Session,
        action: AuditAction,
        patient_ids: Iterable[str | None],
        *,
        at: dt.datetime,
        detail: str = "",
    ) -> None:
        """One audit row per patient of something this actor did, in one statement."""
        record_events(
            session,
            patient_ids,
            at=at,
            username=self.username,
            role=self.role,
            channel=self.channel,
            action=action,
            detail=detail,
        )


class AuthenticationError(AlscareError):
    """Raised when a username/password or a session secret is not accepted."""


class LoginThrottledError(AuthenticationError):
    """Raised when logins from a client (for a username, or for any) are paused after too many
    failures, or when too many password checks are running at once."""

    def __init__(self, until: dt.datetime, message: str) -> None:
        self.until = until
        super().__init__(message)

    def retry_after_seconds(self, now: dt.datetime) -> int:
        return max(1, math.ceil((self.until - now).total_seconds()))


@dataclass(frozen=True)
class IssuedSession:
    """A new session: the secret for the client (never stored) and how long it lasts."""

    secret: str
    lifetime_seconds: int


def username_problem(username: str) -> str | None:
    """Why a new account cannot have this name, or None when it can."""
    if not USERNAME_PATTERN.match(username) or username.startswith(RESERVED_PREFIX):
        return USERNAME_RULE
    return None


def password_problem(password: str) -> str | None:
    """Why a password cannot be an account's new password, or None when it can."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        return f"a password needs {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
    return None


def _secret_bytes(text: str) -> bytes:
    # A JSON body may hold an unpaired surrogate: hashed as it came, never a UnicodeError.
    return text.encode("utf-8", "surrogatepass")


def hash_password(password: str) -> str:
    """The argon2id hash of a password (argon2-cffi's default parameters, RFC 9106)."""
    return _hasher.hash(_secret_bytes(password))


def password_matches(password_hash: str, password: str) -> bool:
    """Whether the password is the one hashed (slow on purpose; a too-long one never is)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, _secret_bytes(password))
    except (VerificationError, InvalidHashError):
        return False


@cache
def _decoy_hash() -> str:
    """A hash to check unknown usernames against, so they cost the same time as known ones."""
    return _hasher.hash("no account has this password")


def user_of(row: UserRow) -> User:
    """The account a users row holds, as the app passes it around."""
    return User(
        id=row.id,
        username=row.username,
        role=Role(row.role),
        active=row.active,
        must_change_password=row.must_change_password,
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(_secret_bytes(secret)).hexdigest()


def find_account(session: Session, username: str) -> UserRow | None:
    """The account row of this username, or None (a name no account can have is not looked
    up, so a NUL byte or an over-long name never reaches the database)."""
    if not _STORABLE_NAME.match(username):
        return None
    return session.scalar(select(UserRow).where(UserRow.username == username))


def authenticate(
    database: Database,
    username: str,
    password: str,
    *,
    channel: Channel,
    now: dt.datetime | None = None,
) -> User:
    """Check a login; return the active user, or raise AuthenticationError.

    Every outcome is audited in its own committed transaction, so a failure is on record even
    though the caller sees an error. The slow hash check runs outside any transaction.
    """
    now = now or _now()
    with database.transaction(write=False) as session:
        row = find_account(session, username)
        known = row is not None and row.active
        stored_hash = row.password_hash if row is not None and known else _decoy_hash()
    matches = password_matches(stored_hash, password)
    with database.transaction() as session:
        row = find_account(session, username) if known else None
        accepted = row is not None and row.active and matches  # also: disabled while hashing
        _audit(
            session, row, channel, AuditAction.LOGIN if accepted else AuditAction.LOGIN_FAILED, now
        )
        if row is not None and accepted:
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = hash_password(password)
            return user_of(row)
    raise AuthenticationError("invalid username or password")  # the failure is committed


def audit_login_event(
    database: Database,
    username: str,
    channel: Channel,
    action: AuditAction,
    *,
    detail: str = "",
    now: dt.datetime | None = None,
) -> None:
    """One audit row about a login of ``username``; an unknown name is recorded as unknown
    (what someone typed as a username may be a password)."""
    with database.transaction() as session:
        _audit(session, find_account(session, username), channel, action, now or _now(), detail)


def _audit(
    session: Session,
    row: UserRow | None,
    channel: Channel,
    action: AuditAction,
    now: dt.datetime,
    detail: str = "",
) -> None:
    record_event(
        session,
        at=now,
        username=row.username if row is not None else _UNKNOWN,
        role=row.role if row is not None else "",
        channel=channel,
        action=action,
        detail=detail,
    )


def start_session(
    database: Database,
    user: User,
    kind: SessionKind,
    lifetime: dt.timedelta,
    *,
    now: dt.datetime | None = None,
) -> IssuedSession:
    """A new session of ``user`` for ``lifetime``; its secret goes to the client only.

    The account's sessions that have expired are deleted here, so the table holds no more than
    the sessions started within one lifetime.
    """
    now = now or _now()
    secret = secrets.token_urlsafe(32)
    with database.transaction() as session:
        session.execute(
            delete(AuthSessionRow).where(
                AuthSessionRow.username == user.username, AuthSessionRow.expires_at <= now
            )
        )
        session.add(
            AuthSessionRow(
                id=_digest(secret),
                username=user.username,
                kind=kind.value,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
    return IssuedSession(secret=secret, lifetime_seconds=int(lifetime.total_seconds()))


def live_session_user(
    database: Database, secret: str, kind: SessionKind, *, now: dt.datetime | None = None
) -> User:
    """The active account of a live session; AuthenticationError saying why otherwise."""
    now = now or _now()
    with database.transaction(write=False) as session:
        found = session.execute(
            select(AuthSessionRow, UserRow)
            .join(UserRow, UserRow.username == AuthSessionRow.username)
            .where(AuthSessionRow.id == _digest(secret), AuthSessionRow.kind == kind.value)
        ).one_or_none()
    if found is None:
        raise AuthenticationError("invalid token")
    row, account = found
    if row.revoked_at is not None or not account.active:
        raise AuthenticationError(
            "the session has ended (logged out, password changed or account disabled)"
        )
    if now >= row.expires_at:
        raise AuthenticationError("token expired")
    return user_of(account)


def end_session(
    database: Database,
    secret: str,
    kind: SessionKind,
    channel: Channel,
    *,
    now: dt.datetime | None = None,
) -> bool:
    """Revoke one session (a logout) and audit it; False when it was not live."""
    now = now or _now()
    with database.transaction() as session:
        row = session.get(AuthSessionRow, _digest(secret))
        live = row is not None and row.revoked_at is None and row.expires_at > now
        if row is None or not live or row.kind != kind.value:
            return False
        row.revoked_at = now
        _audit(session, find_account(session, row.username), channel, AuditAction.LOGOUT, now)
        return True


def revoke_sessions(session: Session, username: str, now: dt.datetime) -> None:
    """End every live session and token of an account, in the caller's transaction (a password
    change, a disabled account)."""
    session.execute(
        update(AuthSessionRow)
        .where(
            AuthSessionRow.username == username,
            AuthSessionRow.revoked_at.is_(None),
            AuthSessionRow.expires_at > now,
        )
        .values(revoked_at=now)
    )
