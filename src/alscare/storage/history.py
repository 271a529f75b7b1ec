"""Reading a patient's revisions as written: who wrote each, when, why, and the record JSON.

``patient_revisions`` is append-only (see :mod:`alscare.storage.tables`), so what these return
for a revision never changes. Functions take an open session and never commit.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from alscare.storage.tables import PatientRevisionRow

__all__ = ["RevisionEntry", "revision_entries", "revision_entry"]


class RevisionEntry(BaseModel):
    """One stored revision: its number, when and by whom it was written, the reason given
    (None when none was), and the record as stored (its canonical JSON, parsed)."""

    model_config = ConfigDict(frozen=True)

    revision: int
    at: dt.datetime
    username: str
    reason: str | None
    record: dict[str, Any]


def revision_entries(session: Session, patient_id: str) -> list[RevisionEntry]:
    """Every revision of the patient's record, oldest first ([] for an unknown patient)."""
    query = _revisions(patient_id).order_by(PatientRevisionRow.revision)
    return [_entry(row) for row in session.scalars(query)]


def revision_entry(session: Session, patient_id: str, revision: int) -> RevisionEntry | None:
    """One revision of the patient's record, or None when there is no such revision."""
    row = session.scalar(_revisions(patient_id).where(PatientRevisionRow.revision == revision))
    return _entry(row) if row is not None else None


def _revisions(patient_id: str) -> Select[PatientRevisionRow]:
    return select(PatientRevisionRow).where(PatientRevisionRow.patient_id == patient_id)


def _entry(row: PatientRevisionRow) -> RevisionEntry:
    return RevisionEntry(
        revision=row.revision,
        at=row.created_at,
        username=row.username,
        reason=row.reason,
        record=json.loads(row.record),
    )
