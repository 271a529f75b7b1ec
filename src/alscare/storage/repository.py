"""Patient records in and out of the revision store, and the queries on it.

Every write adds a revision: the whole record v2 as its canonical JSON text (one serialiser,
:func:`record_json`), and the patient's row points to it and copies the listing columns from
it. A read takes the JSON of the current revision and validates it with
:func:`~alscare.schemas.records.parse_record_json`, so what the engine sees is validated like
any other input. Functions take an open session and never commit: the caller
(:mod:`alscare.services`) owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from alscare.errors import AlscareError, RecordError
from alscare.schemas.patient import PatientRecord
from alscare.schemas.records import parse_record_json
from alscare.storage.tables import PatientRevisionRow, PatientRow

__all__ = [
    "PatientListing",
    "Revision",
    "StoredRecordError",
    "add_patient",
    "add_revision",
    "listing_columns",
    "patient_exists",
    "patient_listing",
    "patient_revision",
    "record_json",
    "stored_ids",
    "stored_record",
    "stored_records",
]


class StoredRecordError(AlscareError):
    """Raised when a stored revision no longer reads as a valid record (a schema change that
    rejects what an earlier version stored): a fault of the server, never of a request."""


class Revision(BaseModel):
    """Who writes a new revision, when, and why (``reason`` is optional)."""

    model_config = ConfigDict(frozen=True)

    at: dt.datetime
    username: str
    reason: str | None = None


def record_json(record: PatientRecord) -> str:
    """The canonical JSON text of a record, as a revision stores it."""
    return json.dumps(
        record.to_json_dict(), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )


def listing_columns(record: PatientRecord) -> dict[str, Any]:
    """The columns of the patient's row that the patient list shows and searches."""
    identity = record.identity
    name = identity.name if identity else None
    numbers = identity.identifiers if identity else ()
    identifiers = "; ".join(f"{number.system} {number.value}" for number in numbers)
    onset = record.symptom_onset
    return {
        "name": name,
        "identifiers": identifiers or None,
        "sex": record.sex.value if record.sex else None,
        "birth_date": record.birth_date,
        "age_years": record.age_years,
        "age_on": record.age_on,
        "symptom_onset_date": onset.date if onset else None,
        "onset_site": onset.site.value if onset and onset.site else None,
        "diagnosis_date": record.diagnosis_date,
        "death_date": record.death.date if record.death else None,
        "search_text": " ".join(filter(None, (record.id, name, identifiers))).casefold(),
    }


def add_patient(session: Session, record: PatientRecord, revision: Revision) -> None:
    """Store a new patient with its record as revision 1 (IntegrityError if the id is taken)."""
    session.execute(
        insert(PatientRow).values(
            id=record.id,
            revision=1,
            created_at=revision.at,
            updated_at=revision.at,
            **listing_columns(record),
        )
    )
    _insert_revision(session, record, 1, revision)


def add_revision(
    session: Session, record: PatientRecord, revision: Revision, *, previous: int
) -> int:
    """Store a new version of a patient's record after revision ``previous``; its number.

    Call it for a patient locked by :func:`patient_revision`. The revision's key, (patient,
    number), is unique, so two writers that both read ``previous`` cannot both store.
    """
    number = previous + 1
    _insert_revision(session, record, number, revision)
    session.execute(
        update(PatientRow)
        .where(PatientRow.id == record.id)
        .values(revision=number, updated_at=revision.at, **listing_columns(record))
    )
    return number


def _insert_revision(
    session: Session, record: PatientRecord, number: int, revision: Revision
) -> None:
    session.execute(
        insert(PatientRevisionRow).values(
            patient_id=record.id,
            revision=number,
            record=record_json(record),
            created_at=revision.at,
            username=revision.username,
            reason=revision.reason,
        )
    )


def patient_revision(session: Session, patient_id: str, *, lock: bool = False) -> int | None:
    """The number of the patient's current revision (None when unknown); ``lock`` holds the
    patient's row for this transaction.

    Writers to one patient queue on the lock (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
    takes the database write lock at BEGIN IMMEDIATE), so each reads the revision the one
    before it wrote.
    """
    query = select(PatientRow.revision).where(PatientRow.id == patient_id)
    return session.scalar(query.with_for_update() if lock else query)


def stored_record(session: Session, patient_id: str, revision: int) -> PatientRecord | None:
    """One revision of a patient's record, or None when there is no such revision."""
    text = session.scalar(
        select(PatientRevisionRow.record).where(
            PatientRevisionRow.patient_id == patient_id, PatientRevisionRow.revision == revision
        )
    )
    return _parsed(patient_id, revision, text) if text is not None else None


def stored_records(
    session: Session, patient_ids: Sequence[str] | None = None
) -> list[PatientRecord]:
    """The current records of the given patients, in the order given (unknown ids are left
    out); of every patient, sorted by id, when ``patient_ids`` is None."""
    query = (
        select(PatientRow.id, PatientRow.revision, PatientRevisionRow.record)
        .join(
            PatientRevisionRow,
            (PatientRevisionRow.patient_id == PatientRow.id)
            & (PatientRevisionRow.revision == PatientRow.revision),
        )
        .order_by(PatientRow.id)
    )
    if patient_ids is not None:
        query = query.where(PatientRow.id.in_(patient_ids))
    by_id = {
        patient_id: _parsed(patient_id, revision, text)
        for patient_id, revision, text in session.execute(query)
    }
    wanted = by_id if patient_ids is None else patient_ids
    return [by_id[patient_id] for patient_id in wanted if patient_id in by_id]


def _parsed(patient_id: str, revision: int, text: str) -> PatientRecord:
    try:
        return parse_record_json(text)
    except RecordError as error:
        raise StoredRecordError(
            f"revision {revision} of patient {patient_id!r} is not a valid record: {error}"
        ) from None


def stored_ids(session: Session) -> list[str]:
    """Every stored patient id, sorted."""
    return list(session.scalars(select(PatientRow.id).order_by(PatientRow.id)))


def patient_exists(session: Session, patient_id: str) -> bool:
    return session.scalar(select(PatientRow.id).where(PatientRow.id == patient_id)) is not None


class PatientListing(BaseModel):
    """One line of the patient list: who the patient is and the dates that place them, no
    clinical values."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str | None
    identifiers: str | None
    sex: str | None
    birth_date: dt.date | None
    age_years: float | None
    age_on: dt.date | None
    symptom_onset_date: dt.date | None
    onset_site: str | None
    diagnosis_date: dt.date | None
    death_date: dt.date | None
    revision: int
    updated_at: dt.datetime


_LISTED = tuple(PatientListing.model_fields)


def patient_listing(
    session: Session, *, search: str | None, limit: int | None, offset: int
) -> list[PatientListing]:
    """Patients whose id, name or identifiers contain ``search`` (any case), sorted by id
    (``limit`` None: all of them)."""
    columns = [getattr(PatientRow, name) for name in _LISTED]
    query = select(*columns).order_by(PatientRow.id).limit(limit).offset(offset)
    if search:
        pattern = "%" + _escape_like(search.casefold()) + "%"
        query = query.where(PatientRow.search_text.like(pattern, escape="\\"))
    rows = session.execute(query)
    return [PatientListing(**dict(zip(_LISTED, row, strict=True))) for row in rows]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
