"""The audit trail: one row per read or write of a patient (who, when, through what, what).

Rows are written in the same transaction as the work they record, so a rejected request leaves
no audit row and an accepted one always has its row. ``detail`` says what was done in words
("record", "alsfrs_r entry added", "assessment as of 2025-02-01"), never clinical values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert, select
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
    ACCOUNT_LOCKED = "account_locked"
    USER_ADDED = "user_added"
    PASSWORD_SET = "password_set"


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
        session.execute(insert(AuditEventRow), rows)


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
