"""The audit trail: one row per read or write of a patient (who, when, through what, what).

Rows are written in the same transaction as the work they record, so an accepted request always
has its row and a write that rolls back leaves none of its own. A refused or failed attempt on a
patient (an invalid change, a stale revision, an assessment date refused, an unknown patient)
gets a ``refused`` or ``failed`` row in a transaction of its own, written after the attempt has
rolled back: a refusal can say something about the stored record (that a date falls before
the birth date), so it is a look at the patient and is audited like one. ``detail`` says what
was done in words ("record", "alsfrs_r entry added", "assessment as of 2025-02-01", "update
refused: invalid at /diagnosis_date"), never clinical values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum
from typing import Final, cast

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from alscare.storage.tables import AuditEventRow

__all__ = ["AuditAction", "AuditEvent", "audit_events", "record_event", "record_events"]


class AuditAction(StrEnum):
    """What an audit row records."""

    CREATE = "create"  # a new patient
    READ = "read"  # a patient's record was shown or returned
    LIST = "list"  # the patient appeared in a patient list
    UPDATE = "update"  # an entry was added to a patient's record
    REPLACE = "replace"  # a patient's record was replaced by an import
    ASSESS = "assess"  # the engine's assessment of a patient was shown or returned
    EXPORT = "export"  # a patient's record left the system as a file
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    ACCOUNT_LOCKED = "account_locked"  # release 1's lockout; kept so that old rows read
    USER_ADDED = "user_added"
    PASSWORD_SET = "password_set"  # an admin set (reset) an account's password
    LOGOUT = "logout"
    LOGIN_THROTTLED = "login_throttled"  # failed logins from one client paused its logins
    PASSWORD_CHANGED = "password_changed"  # the account holder chose a new password
    PASSWORD_CHANGE_REQUIRED = "password_change_required"
    ACCOUNT_DISABLED = "account_disabled"
    ACCOUNT_ENABLED = "account_enabled"
    ROLE_CHANGED = "role_changed"
    REFUSED = "refused"  # an attempt on a patient refused (invalid, stale, not allowed, unknown)
    FAILED = "failed"  # an attempt on a patient that failed in the server (database unreachable)


class AuditEvent(BaseModel):
    """One row of the audit trail as the API returns it."""

    model_config = ConfigDict(frozen=True)

    id: int
    at: dt.datetime
    username: str
    role: str
    channel: str
    action: AuditAction
    patient_id: str | None
    detail: str


# A Core insert of a constant shape: compiled once, one statement for many rows (the ORM's
# bulk insert costs more per call than the row itself).
_NEW_ROW: Final = insert(cast(Table, AuditEventRow.__table__))


def record_event(
    session: Session,
    *,
    at: dt.datetime,
    username: str,
    role: str,
    channel: str,
    action: AuditAction,
    patient_id: str | None = None,
    detail: str = "",
) -> None:
    """Add one audit row to the session's transaction."""
    record_events(
        session,
        [patient_id],
        at=at,
        username=username,
        role=role,
        channel=channel,
        action=action,
        detail=detail,
    )


def record_events(
    session: Session,
    patient_ids: Iterable[str | None],
    *,
    at: dt.datetime,
    username: str,
    role: str,
    channel: str,
    action: AuditAction,
    detail: str = "",
) -> None:
    """One audit row per patient, inserted in one statement (for lists and bulk work)."""
    rows = [
        {
            "at": at,
            "username": username,
            "role": role,
            "channel": channel,
            "action": action.value,
            "patient_id": patient_id,
            "detail": detail[:200],
        }
        for patient_id in patient_ids
    ]
    if rows:
        session.execute(_NEW_ROW, rows)


def audit_events(
    session: Session,
    *,
    patient_id: str | None = None,
    username: str | None = None,
    action: AuditAction | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEvent]:
    """Audit rows, newest first, optionally for one patient, user or action."""
    query = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit).offset(offset)
    if patient_id is not None:
        query = query.where(AuditEventRow.patient_id == patient_id)
    if username is not None:
        query = query.where(AuditEventRow.username == username)
    if action is not None:
        query = query.where(AuditEventRow.action == action.value)
    return [
        AuditEvent(
            id=row.id,
            at=row.at,
            username=row.username,
            role=row.role,
            channel=row.channel,
            action=AuditAction(row.action),
            patient_id=row.patient_id,
            detail=row.detail,
        )
        for row in session.scalars(query)
    ]
