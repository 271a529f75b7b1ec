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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from alscare.errors import AlscareError, RecordError
from alscare.schemas.patient import PatientRecord
from alscare.schemas.records import parse_record_json
from alscare.storage.tables import PatientRevisionRow, PatientRow

__all__ = [
    "PatientListing",
    "PreparedRecord",
    "Revision",
    "StoredRecordError",
    "add_patient",
    "add_patients",
    "add_revision",
    "add_revisions",
    "current_revisions",
    "current_texts",
    "listing_columns",
    "parsed_record",
    "patient_exists",
    "patient_listing",
    "patient_revision",
    "prepared",
    "record_json",
    "stored_ids",
    "stored_record",
    "stored_record_text",
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


@dataclass(frozen=True)
class PreparedRecord:
    """A record with what storing it writes, computed before the transaction so that the
    transaction only inserts (serialising a large record takes longer than storing it)."""

    record: PatientRecord
    text: str  # :func:`record_json`
    columns: dict[str, Any]  # :func:`listing_columns`

    @property
    def id(self) -> str:
        return self.record.id


def prepared(record: PatientRecord) -> PreparedRecord:
    return PreparedRecord(record, record_json(record), listing_columns(record))


# Core statements of a constant shape, executed with parameters: built and compiled once, and
# run as one statement for a whole batch of an import.
_PATIENTS: Final = cast(Table, PatientRow.__table__)
_REVISIONS: Final = cast(Table, PatientRevisionRow.__table__)
# The columns of listing_columns(): all but the key, the revision and the two times.
_LISTING_COLUMNS: Final = tuple(
    column.name
    for column in _PATIENTS.columns
    if column.name not in ("id", "revision", "created_at", "updated_at")
)
_NEW_PATIENT: Final = insert(_PATIENTS)
_NEW_REVISION: Final = insert(_REVISIONS)
_CURRENT: Final = (
    update(_PATIENTS)
    .where(_PATIENTS.c.id == bindparam("p_id"))
    .values(
        revision=bindparam("p_revision"),
        updated_at=bindparam("p_updated_at"),
        **{name: bindparam(f"p_{name}") for name in _LISTING_COLUMNS},
    )
)


_REVISION: Final = select(_PATIENTS.c.revision).where(_PATIENTS.c.id == bindparam("p_id"))
_LOCKED_REVISION: Final = _REVISION.with_for_update()


def add_patient(session: Session, record: PreparedRecord, revision: Revision) -> None:
    """Store a new patient with its record as revision 1 (IntegrityError if the id is taken)."""
    add_patients(session, [record], revision)


def add_patients(session: Session, records: Sequence[PreparedRecord], revision: Revision) -> None:
    """Store new patients, each with its record as revision 1, in two statements
    (IntegrityError if an id is taken)."""
    session.execute(
        _NEW_PATIENT,
        [
            {
                "id": record.id,
                "revision": 1,
                "created_at": revision.at,
                "updated_at": revision.at,
                **record.columns,
            }
            for record in records
        ],
    )
    _insert_revisions(session, [(record, 1) for record in records], revision)


def add_revision(
    session: Session, record: PreparedRecord, revision: Revision, *, previous: int
) -> int:
    """Store a new version of a patient's record after revision ``previous``; its number.

    Call it for a patient locked by :func:`patient_revision`. The revision's key, (patient,
    number), is unique, so two writers that both read ``previous`` cannot both store.
    """
    add_revisions(session, [(record, previous)], revision)
    return previous + 1


def add_revisions(
    session: Session, records: Sequence[tuple[PreparedRecord, int]], revision: Revision
) -> None:
    """:func:`add_revision` of each (record, previous revision), in two statements."""
    numbered = [(record, previous + 1) for record, previous in records]
    _insert_revisions(session, numbered, revision)
    session.execute(
        _CURRENT,
        [
            {
                "p_id": record.id,
                "p_revision": number,
                "p_updated_at": revision.at,
                **{f"p_{name}": value for name, value in record.columns.items()},
            }
            for record, number in numbered
        ],
    )


def _insert_revisions(
    session: Session, records: Sequence[tuple[PreparedRecord, int]], revision: Revision
) -> None:
    session.execute(
        _NEW_REVISION,
        [
            {
                "patient_id": record.id,
                "revision": number,
                "record": record.text,
                "created_at": revision.at,
                "username": revision.username,
                "reason": revision.reason,
            }
            for record, number in records
        ],
    )


def patient_revision(session: Session, patient_id: str, *, lock: bool = False) -> int | None:
    """The number of the patient's current revision (None when unknown); ``lock`` holds the
    patient's row for this transaction.

    Writers to one patient queue on the lock (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
    takes the database write lock at BEGIN IMMEDIATE), so each reads the revision the one
    before it wrote.
    """
    return session.scalar(_LOCKED_REVISION if lock else _REVISION, {"p_id": patient_id})


def current_revisions(
    session: Session, patient_ids: Sequence[str], *, lock: bool = False
) -> dict[str, int]:
    """The current revision of each of these patients that is stored, by id; ``lock`` holds
    their rows for this transaction (as :func:`patient_revision`)."""
    query = select(_PATIENTS.c.id, _PATIENTS.c.revision).where(_PATIENTS.c.id.in_(patient_ids))
    rows = session.execute(query.with_for_update() if lock else query)
    return {patient_id: revision for patient_id, revision in rows}  # noqa: C416 - Rows


def current_texts(session: Session, revisions: Mapping[str, int]) -> dict[str, str]:
    """The JSON text of the given revision of each patient, by id."""
    if not revisions:
        return {}
    query = select(_REVISIONS.c.patient_id, _REVISIONS.c.revision, _REVISIONS.c.record).where(
        _REVISIONS.c.patient_id.in_(list(revisions))
    )
    return {
        patient_id: text
        for patient_id, number, text in session.execute(query)
        if revisions[patient_id] == number
    }


def stored_record(session: Session, patient_id: str, revision: int) -> PatientRecord | None:
    """One revision of a patient's record, or None when there is no such revision."""
    text = stored_record_text(session, patient_id, revision)
    return parsed_record(patient_id, revision, text) if text is not None else None


def stored_record_text(session: Session, patient_id: str, revision: int) -> str | None:
    """The JSON text of one revision of a patient's record (to parse outside the transaction
    with :func:`parsed_record`), or None when there is no such revision."""
    return session.scalar(
        select(PatientRevisionRow.record).where(
            PatientRevisionRow.patient_id == patient_id, PatientRevisionRow.revision == revision
        )
    )


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
        patient_id: parsed_record(patient_id, revision, text)
        for patient_id, revision, text in session.execute(query)
    }
    wanted = by_id if patient_ids is None else patient_ids
    return [by_id[patient_id] for patient_id in wanted if patient_id in by_id]


def parsed_record(patient_id: str, revision: int, text: str) -> PatientRecord:
    """The stored JSON text of a revision as a validated record (StoredRecordError if it no
    longer validates)."""
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


def patients_holding(session: Session, identifiers: Sequence[tuple[str, str]]) -> set[str]:
    """The ids of the patients whose identity holds one of these (system, value) pairs."""
    found: set[str] = set()
    for system, value in identifiers:
        number = f"{system} {value}"
        pattern = "%" + _escape_like(number) + "%"
        query = select(PatientRow.id, PatientRow.identifiers).where(
            PatientRow.identifiers.like(pattern, escape="\\")
        )
        # LIKE narrows the rows; the exact pair is then matched in the "; "-joined text
        found.update(
            pid for pid, text in session.execute(query) if number in (text or "").split("; ")
        )
    return found
