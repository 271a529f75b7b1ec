"""Accounts and login: roles, argon2 password hashes, signed API tokens, and the lockout.

:func:`authenticate` is the one login check of alscare: the API token endpoint and the pages'
login form both call it, so both count failures against the same account. After
``ALSCARE_LOGIN_MAX_FAILURES`` wrong passwords in a row the account is locked for
``ALSCARE_LOGIN_LOCKOUT_MINUTES``; while locked even the right password is refused. Unknown
and disabled accounts get the same answer as a wrong password, after the same hashing work.

API tokens are ``itsdangerous`` signatures (HMAC-SHA256 over the username and an expiry time)
made with ``ALSCARE_SECRET_KEY``; the user is looked up again on every request, so a disabled
account or a changed role takes effect at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from alscare.errors import AlscareError
from alscare.settings import Settings
from alscare.storage.audit import AuditAction, record_event
from alscare.storage.database import Database
from alscare.storage.tables import UserRow

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "USERNAME_PATTERN",
    "AccountLockedError",
    "Actor",
    "AuthenticationError",
    "Channel",
    "IssuedToken",
    "Role",
    "User",
    "active_user",
    "authenticate",
    "hash_password",
    "issue_token",
    "token_username",
    "user_from_token",
]

MIN_PASSWORD_LENGTH: Final = 8
MAX_PASSWORD_LENGTH: Final = 1024
USERNAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_TOKEN_SALT: Final = "alscare.api-token"
_hasher: Final = PasswordHasher()


class Role(StrEnum):
    """Account roles, each allowed what the ones below it are."""

    VIEWER = "viewer"  # reads patients and assessments
    CLINICIAN = "clinician"  # also adds patients and visits
    ADMIN = "admin"  # also reads the audit trail, imports and exports in bulk

    def allows(self, needed: Role) -> bool:
        """True when this role may do what ``needed`` may."""
        order = list(Role)
        return order.index(self) >= order.index(needed)


class Channel(StrEnum):
    """Through what a person reached the data (recorded in the audit trail)."""

    API = "api"
    PAGES = "pages"
    CLI = "cli"


class User(BaseModel):
    """An account as the rest of alscare sees it (never the password hash)."""

    model_config = ConfigDict(frozen=True)

    id: int
    username: str
    role: Role
    active: bool


@dataclass(frozen=True)
class Actor:
    """Who is acting and through what: the subject of every service call and audit row."""

    username: str
    role: Role
    channel: Channel

    @classmethod
    def of(cls, user: User, channel: Channel) -> Actor:
        return cls(username=user.username, role=user.role, channel=channel)


class AuthenticationError(AlscareError):
    """Raised when a username/password or a token is not accepted."""


class AccountLockedError(AuthenticationError):
    """Raised when an account is locked after too many failed logins."""

    def __init__(self, until: dt.datetime) -> None:
        self.until = until
        super().__init__(
            f"account locked after too many failed logins until {until:%Y-%m-%d %H:%M} UTC"
        )

    def retry_after_seconds(self, now: dt.datetime) -> int:
        return max(1, math.ceil((self.until - now).total_seconds()))


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int  # seconds


def hash_password(password: str) -> str:
    """The argon2id hash of a password (argon2-cffi's default parameters, RFC 9106)."""
    return _hasher.hash(password)


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _decoy_hash() -> str:
    """A hash to check unknown usernames against, so they cost the same time as known ones."""
    return _hasher.hash("no account has this password")


def _user(row: UserRow) -> User:
    return User(id=row.id, username=row.username, role=Role(row.role), active=row.active)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def authenticate(
    database: Database,
    username: str,
    password: str,
    settings: Settings,
    *,
    channel: Channel,
    now: dt.datetime | None = None,
) -> User:
    """Check a login; return the user, or raise AuthenticationError / AccountLockedError.

    Every outcome is counted and audited in its own committed transaction, so failures count
    even though the caller sees an error. The slow hash check runs outside any transaction.
    """
    now = now or _now()
    with database.transaction(write=False) as session:
        row = session.scalar(select(UserRow).where(UserRow.username == username))
        known = row is not None and row.active
        stored_hash = row.password_hash if row is not None and known else _decoy_hash()
        locked_until = row.locked_until if row is not None else None
    if known and locked_until is not None and locked_until > now:
        raise AccountLockedError(locked_until)
    matches = len(password) <= MAX_PASSWORD_LENGTH and _password_matches(stored_hash, password)
    if not known:
        _audit_login(database, "(unknown)", "", channel, AuditAction.LOGIN_FAILED, now)
        raise AuthenticationError("invalid username or password")
    return _record_login(database, username, password, matches, settings, channel, now)


def _record_login(
    database: Database,
    username: str,
    password: str,
    matches: bool,
    settings: Settings,
    channel: Channel,
    now: dt.datetime,
) -> User:
    failure: AuthenticationError | None = None
    with database.transaction() as session:
        row = session.scalar(select(UserRow).where(UserRow.username == username).with_for_update())
        if row is None or not row.active:  # deleted or disabled while the hash was checked
            failure = AuthenticationError("invalid username or password")
        elif row.locked_until is not None and row.locked_until > now:
            failure = AccountLockedError(row.locked_until)  # locked by a concurrent attempt
        elif matches:
            row.failed_logins = 0
            row.locked_until = None
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = hash_password(password)
            _audit(session, row, channel, AuditAction.LOGIN, now)
            return _user(row)
        else:
            failure = _count_failure(session, row, settings, channel, now)
    raise failure


def _count_failure(
    session: Session, row: UserRow, settings: Settings, channel: Channel, now: dt.datetime
) -> AuthenticationError:
    if row.locked_until is not None:  # an expired lock: start counting afresh
        row.locked_until = None
        row.failed_logins = 0
    row.failed_logins += 1
    if row.failed_logins < settings.login_max_failures:
        _audit(session, row, channel, AuditAction.LOGIN_FAILED, now)
        return AuthenticationError("invalid username or password")
    row.failed_logins = 0
    row.locked_until = now + dt.timedelta(minutes=settings.login_lockout_minutes)
    _audit(session, row, channel, AuditAction.ACCOUNT_LOCKED, now)
    return AccountLockedError(row.locked_until)


def _audit(
    session: Session, row: UserRow, channel: Channel, action: AuditAction, now: dt.datetime
) -> None:
    record_event(
        session, at=now, username=row.username, role=row.role, channel=channel, action=action
    )


def _audit_login(
    database: Database,
    username: str,
    role: str,
    channel: Channel,
    action: AuditAction,
    now: dt.datetime,
) -> None:
    with database.transaction() as session:
        record_event(session, at=now, username=username, role=role, channel=channel, action=action)


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(
        settings.signing_key(), salt=_TOKEN_SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )


def issue_token(user: User, settings: Settings, *, now: dt.datetime | None = None) -> IssuedToken:
    """A bearer token for the user, valid for ``ALSCARE_TOKEN_MINUTES``."""
    lifetime = settings.token_minutes * 60
    expires = int((now or _now()).timestamp()) + lifetime
    token = _serializer(settings).dumps({"sub": user.username, "exp": expires})
    return IssuedToken(access_token=token, expires_in=lifetime)


def token_username(token: str, settings: Settings, *, now: dt.datetime | None = None) -> str:
    """The username a token was issued to; AuthenticationError when forged or expired."""
    try:
        payload = _serializer(settings).loads(token)
    except BadSignature:
        raise AuthenticationError("invalid token") from None
    if not isinstance(payload, dict):
        raise AuthenticationError("invalid token")
    username, expires = payload.get("sub"), payload.get("exp")
    if not isinstance(username, str) or not isinstance(expires, int):
        raise AuthenticationError("invalid token")
    if (now or _now()).timestamp() >= expires:
        raise AuthenticationError("token expired")
    return username


def user_from_token(
    database: Database, token: str, settings: Settings, *, now: dt.datetime | None = None
) -> User:
    """The active user a token belongs to; AuthenticationError otherwise."""
    username = token_username(token, settings, now=now)
    user = active_user(database, username)
    if user is None:
        raise AuthenticationError("invalid token")
    return user


def active_user(database: Database, username: str) -> User | None:
    """The account with this username if it exists and is active (for session cookies too)."""
    with database.transaction(write=False) as session:
        row = session.scalar(select(UserRow).where(UserRow.username == username))
        return _user(row) if row is not None and row.active else None
