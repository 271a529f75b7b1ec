"""The use cases of the clinic app, shared by the JSON API, the pages and the CLI.

Every read or write of a patient goes through a function here. Each call is one transaction
that does the work, checks the actor's role, and writes its audit row: either all of it is
stored or none of it (a rejected record, an unknown patient or a refused role stores nothing,
audit row included). Functions take the :class:`~alscare.storage.Database` and an
:class:`~alscare.storage.security.Actor` (who, with which role, through which channel) and
return validated models, never database rows.

Records come in as v1 or v2 (:func:`~alscare.schemas.records.parse_record` reads both) and go
out as v2. Every write stores a new revision of the whole record, with who wrote it and when.
A record is stored only when no date in it is after today: this is the one place that reads
the clock for that (:func:`today`); the engine never does.

Errors (all :class:`~alscare.errors.AlscareError`): ``RecordError`` (invalid input, with JSON
pointers), ``NotFoundError`` (unknown patient), ``ConflictError`` (the id exists),
``PermissionDeniedError`` (the role may not do this), ``AccountError`` (bad username/password
for a new account).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from threading import Lock
from typing import Any, Final
from weakref import WeakKeyDictionary

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alscare import plausibility
from alscare.assessment_dates import as_of_problem, clinic_latest
from alscare.deidentify import deidentified
from alscare.engine import assess
from alscare.engine.flowsheet import flowsheet
from alscare.errors import AlscareError, NotFoundError, Problem, RecordError
from alscare.knowledge import KnowledgeBase
from alscare.revisions import (
    HistoryEntry,
    StaleRevisionError,
    checked_reason,
    record_changes,
    revision_history,
)
from alscare.schemas.assessment import Assessment
from alscare.schemas.common import (
    GeneticResultEntry,
    LabValue,
    RespiratoryMeasurement,
    TestEntry,
    WeightEntry,
)
from alscare.schemas.flowsheet import Flowsheet
from alscare.schemas.patient import (
    PATIENT_SCHEMA,
    AlsfrsRating,
    CareEvent,
    CognitionEntry,
    EmgStudy,
    Examination,
    Finding,
    InterventionRecord,
    Medication,
    PatientRecord,
)
from alscare.schemas.records import parse_record
from alscare.storage import history, repository
from alscare.storage.audit import AuditAction, AuditEvent, audit_events, record_event, record_events
from alscare.storage.cache import LruCache
from alscare.storage.database import Database
from alscare.storage.history import RevisionEntry
from alscare.storage.repository import PatientListing, Revision
from alscare.storage.security import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    USERNAME_PATTERN,
    Actor,
    Role,
    User,
    hash_password,
)
from alscare.storage.tables import UserRow

__all__ = [
    "ASSESSMENT_CACHE_SIZE",
    "EARLIEST_AS_OF",
    "ENTRY_MODELS",
    "FUTURE_DATE",
    "LATEST_AS_OF",
    "MAX_PAGE",
    "RECORD_CACHE_SIZE",
    "AccountError",
    "AssessedPatient",
    "ConflictError",
    "ImportResult",
    "PatientListing",
    "PermissionDeniedError",
    "StoredRecord",
    "add_entry",
    "add_user",
    "assess_patient",
    "assess_patients",
    "assessment_json",
    "audit_trail",
    "create_patient",
    "export_records",
    "get_patient",
    "import_records",
    "list_patients",
    "parse_entry",
    "patient_flowsheet",
    "patient_history",
    "patient_revisions",
    "patient_letter",
    "read_patient",
    "replace_patient",
    "set_password",
    "today",
    "update_patient",
    "write_revision",
]

# The series of the record v2 a visit adds to, and the model of one entry of each.
ENTRY_MODELS: Final[Mapping[str, type[BaseModel]]] = {
    "alsfrs_r": AlsfrsRating,
    "respiratory": RespiratoryMeasurement,
    "weights": WeightEntry,
    "tests": TestEntry,
    "findings": Finding,
    "genetics": GeneticResultEntry,
    "medications": Medication,
    "labs": LabValue,
    "examinations": Examination,
    "emg_studies": EmgStudy,
    "cognition": CognitionEntry,
    "interventions": InterventionRecord,
    "care": CareEvent,
}
# The assessment dates the app accepts: wide enough for any patient, narrow enough that every
# date the engine and the charts compute from one stays a valid date.
EARLIEST_AS_OF: Final = dt.date(1900, 1, 1)
LATEST_AS_OF: Final = dt.date(2199, 12, 31)
FUTURE_DATE: Final = "date is after today"
MAX_PAGE: Final = 500
RECORD_CACHE_SIZE: Final = 2048
ASSESSMENT_CACHE_SIZE: Final = 512


class ConflictError(AlscareError):
    """Raised when a patient id (or a username) is already taken."""


class PermissionDeniedError(AlscareError):
    """Raised when the actor's role does not allow the use case."""


class AccountError(AlscareError, ValueError):
    """Raised when a new account's username or password is not acceptable."""


@dataclass(frozen=True)
class ImportResult:
    """What an import stored: ids of new patients and of patients whose record was replaced."""

    created: tuple[str, ...]
    replaced: tuple[str, ...]


@dataclass(frozen=True)
class StoredRecord:
    """A record as stored: the record v2 and the number of its revision (the API's ETag)."""

    record: PatientRecord
    revision: int


def today() -> dt.date:
    """Today on the server's calendar: the latest date a stored entry may have (and the pages'
    assessment date when none is asked for)."""
    return dt.date.today()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _revision(actor: Actor, at: dt.datetime, reason: str | None = None) -> Revision:
    return Revision(at=at, username=actor.username, reason=reason)


class _Caches:
    """Records read from a database and the engine's assessments of them, by revision.

    A record is cached only as read from its revision, under that revision's number; every
    write adds a revision and revisions never change, so a cached entry is never stale.
    The engine is a pure function, so an assessment is cached under everything it depends on:
    the record's revision, ``as_of`` and the knowledge base it was computed with.
    """

    def __init__(self) -> None:
        self.records: LruCache[tuple[str, int], PatientRecord] = LruCache(RECORD_CACHE_SIZE)
        self.assessments: LruCache[tuple[str, int, dt.date, int], _Assessed] = LruCache(
            ASSESSMENT_CACHE_SIZE
        )


_caches: WeakKeyDictionary[Database, _Caches] = WeakKeyDictionary()
_caches_lock = Lock()


def _cache(database: Database) -> _Caches:
    with _caches_lock:
        caches = _caches.get(database)
        if caches is None:
            caches = _caches[database] = _Caches()
        return caches


def _stored(
    session: Session,
    database: Database,
    patient_id: str,
    *,
    lock: bool = False,
    revision: int | None = None,
) -> tuple[PatientRecord, int]:
    """The stored record and its revision, the current one unless ``revision`` is given;
    NotFoundError for an unknown patient or revision."""
    current = repository.patient_revision(session, patient_id, lock=lock)
    if current is None:
        raise _no_patient(patient_id)
    if revision is not None and not 1 <= revision <= current:
        raise NotFoundError(f"patient {patient_id!r} has no revision {revision} (1 to {current})")
    revision = current if revision is None else revision
    return _record_at(session, database, patient_id, revision), revision


def _record_at(
    session: Session, database: Database, patient_id: str, revision: int
) -> PatientRecord:
    """Revision ``revision`` (one that exists) of the patient's record, cached."""
    cache = _cache(database).records
    record = cache.get((patient_id, revision))
    if record is None:
        record = repository.stored_record(session, patient_id, revision)
        # A patient's row and its revisions are written together and never deleted.
        if record is None:  # pragma: no cover
            raise _no_patient(patient_id)
        cache.put((patient_id, revision), record)
    return record


def require_role(actor: Actor, role: Role, doing: str) -> None:
    if not actor.role.allows(role):
        raise PermissionDeniedError(f"a {actor.role} account cannot {doing}")


def _audit(
    session: Session,
    actor: Actor,
    action: AuditAction,
    patient_id: str | None,
    detail: str,
    at: dt.datetime,
) -> None:
    record_event(
        session,
        at=at,
        username=actor.username,
        role=actor.role,
        channel=actor.channel,
        action=action,
        patient_id=patient_id,
        detail=detail,
    )


def _no_patient(patient_id: str) -> NotFoundError:
    return NotFoundError(f"no patient with id {patient_id!r}")


# Reading -------------------------------------------------------------------------------------


def get_patient(database: Database, actor: Actor, patient_id: str) -> PatientRecord:
    """One patient's record (v2; any role); audited as a read."""
    return read_patient(database, actor, patient_id).record


def read_patient(
    database: Database, actor: Actor, patient_id: str, *, revision: int | None = None
) -> StoredRecord:
    """One patient's record with its revision number: the current one, or ``revision``
    (NotFoundError when the patient has none such); any role, audited as a read."""
    require_role(actor, Role.VIEWER, "read patients")
    now = _now()
    with database.transaction() as session:
        record, number = _stored(session, database, patient_id, revision=revision)
        detail = "record" if revision is None else f"record revision {number}"
        _audit(session, actor, AuditAction.READ, patient_id, detail, now)
    return StoredRecord(record, number)


def list_patients(
    database: Database,
    actor: Actor,
    *,
    search: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[PatientListing]:
    """A page of the patient list: ids, names or identifiers containing ``search``; each
    listed patient is audited."""
    require_role(actor, Role.VIEWER, "list patients")
    now = _now()
    with database.transaction() as session:
        listing = repository.patient_listing(
            session, search=search, limit=max(1, min(limit, MAX_PAGE)), offset=max(0, offset)
        )
        record_events(
            session,
            (patient.id for patient in listing),
            at=now,
            username=actor.username,
            role=actor.role,
            channel=actor.channel,
            action=AuditAction.LIST,
            detail="patient list",
        )
    return listing


def assess_patient(
    database: Database,
    actor: Actor,
    patient_id: str,
    *,
    as_of: dt.date,
    kb: KnowledgeBase,
    revision: int | None = None,
) -> Assessment:
    """The engine's assessment of a stored patient on ``as_of``; audited as an assessment.

    The same function of the same record the CLI assesses: ``.to_json()`` gives the same bytes.
    An ``as_of`` outside :data:`EARLIEST_AS_OF` to :data:`LATEST_AS_OF`, before the patient's
    first date or more than a year after today (:mod:`alscare.assessment_dates`) is a
    RecordError at ``/as_of``.
    ``revision`` assesses that revision of the record (the assessment as it stood then).
    """
    return _assessed(database, actor, patient_id, as_of=as_of, kb=kb, revision=revision).assessment


def assessment_json(
    database: Database, actor: Actor, patient_id: str, *, as_of: dt.date, kb: KnowledgeBase
) -> str:
    """:func:`assess_patient` as its canonical JSON text (``Assessment.to_json()``)."""
    return _assessed(database, actor, patient_id, as_of=as_of, kb=kb).json


def patient_flowsheet(
    database: Database, actor: Actor, patient_id: str, *, as_of: dt.date, kb: KnowledgeBase
) -> Flowsheet:
    """The engine's flowsheet of a stored patient up to ``as_of``; audited as a read. An
    ``as_of`` the app does not assess on is a RecordError, as for :func:`assess_patient`."""
    require_role(actor, Role.VIEWER, "read patients")
    _check_as_of(as_of)
    now = _now()
    with database.transaction() as session:
        record, _revision = _stored(session, database, patient_id)
        _check_assessment_date(record, as_of)
        _audit(session, actor, AuditAction.READ, patient_id, f"flowsheet as of {as_of}", now)
    return flowsheet(record, as_of=as_of, kb=kb)


@dataclass(frozen=True)
class AssessedPatient:
    """A line of a patient list with the engine's assessment of that patient."""

    patient: PatientListing
    assessment: Assessment


def assess_patients(
    database: Database,
    actor: Actor,
    *,
    as_of: dt.date,
    kb: KnowledgeBase,
    purpose: str,
    search: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    shown: Callable[[Assessment], bool] | None = None,
) -> list[AssessedPatient]:
    """Patients of the list (as :func:`list_patients`; every one when ``limit`` is None),
    each with the engine's assessment on ``as_of``, cached by revision like
    :func:`assess_patient`. Those that ``shown`` keeps (all without it) are returned and
    audited as listed, ``"<purpose> as of <as_of>"``. A patient whose first date is after
    ``as_of`` is left out; a date after the clinic's latest (:mod:`alscare.assessment_dates`)
    is a RecordError at ``/as_of``.

    The records are read in a read-only transaction and assessed outside any, so a cold cache
    never holds up writers; the audit rows follow in their own transaction.
    """
    require_role(actor, Role.VIEWER, "list patients")
    _check_as_of(as_of)
    latest = clinic_latest(today())
    if as_of > latest:
        reason = f"the assessment date {as_of} is after the latest allowed, {latest}"
        raise RecordError([Problem("/as_of", reason)])
    page = None if limit is None else max(1, min(limit, MAX_PAGE))
    with database.transaction(write=False) as session:
        listing = repository.patient_listing(
            session, search=search, limit=page, offset=max(0, offset)
        )
        records = [_record_at(session, database, line.id, line.revision) for line in listing]
    assessed = [
        AssessedPatient(
            line, _assessment_of(database, record, line.revision, as_of=as_of, kb=kb).assessment
        )
        for line, record in zip(listing, records, strict=True)
        if as_of_problem(record, as_of, latest=latest) is None
    ]
    kept = [one for one in assessed if shown is None or shown(one.assessment)]
    now = _now()
    with database.transaction() as session:
        record_events(
            session,
            (one.patient.id for one in kept),
            at=now,
            username=actor.username,
            role=actor.role,
            channel=actor.channel,
            action=AuditAction.LIST,
            detail=f"{purpose} as of {as_of}",
        )
    return kept


@dataclass
class _Assessed:
    kb: KnowledgeBase  # held, so that the id in the cache key cannot be reused meanwhile
    assessment: Assessment
    _json: str | None = None

    @property
    def json(self) -> str:
        if self._json is None:
            self._json = self.assessment.to_json()
        return self._json


def _assessed(
    database: Database,
    actor: Actor,
    patient_id: str,
    *,
    as_of: dt.date,
    kb: KnowledgeBase,
    revision: int | None = None,
) -> _Assessed:
    require_role(actor, Role.VIEWER, "read patients")
    _check_as_of(as_of)
    now = _now()
    asked = revision
    with database.transaction() as session:
        record, revision = _stored(session, database, patient_id, revision=asked)
        _check_assessment_date(record, as_of)
        detail = f"assessment as of {as_of}" + (f" of revision {revision}" if asked else "")
        _audit(session, actor, AuditAction.ASSESS, patient_id, detail, now)
    return _assessment_of(database, record, revision, as_of=as_of, kb=kb)


def patient_letter(
    database: Database, actor: Actor, patient_id: str, *, as_of: dt.date, kb: KnowledgeBase
) -> tuple[PatientRecord, Assessment]:
    """The current record and its assessment on ``as_of``, from one revision, for the clinic
    letter (which names the patient); audited as an assessment, "letter as of <as_of>"."""
    require_role(actor, Role.VIEWER, "read patients")
    _check_as_of(as_of)
    now = _now()
    with database.transaction() as session:
        record, revision = _stored(session, database, patient_id)
        _check_assessment_date(record, as_of)
        _audit(session, actor, AuditAction.ASSESS, patient_id, f"letter as of {as_of}", now)
    return record, _assessment_of(database, record, revision, as_of=as_of, kb=kb).assessment


def _check_assessment_date(record: PatientRecord, as_of: dt.date) -> None:
    """One patient is assessed from their first date to a year after today
    (:mod:`alscare.assessment_dates`)."""
    problem = as_of_problem(record, as_of, latest=clinic_latest(today()))
    if problem is not None:
        raise RecordError([problem])


def _check_as_of(as_of: dt.date) -> None:
    if not EARLIEST_AS_OF <= as_of <= LATEST_AS_OF:
        reason = f"the assessment date must be from {EARLIEST_AS_OF} to {LATEST_AS_OF}"
        raise RecordError([Problem("/as_of", reason)])


def _assessment_of(
    database: Database, record: PatientRecord, revision: int, *, as_of: dt.date, kb: KnowledgeBase
) -> _Assessed:
    """The engine's assessment of this revision of the record, cached."""
    cache = _cache(database).assessments
    key = (record.id, revision, as_of, id(kb))
    assessed = cache.get(key)
    if assessed is None or assessed.kb is not kb:
        assessed = _Assessed(kb, assess(record, as_of=as_of, kb=kb))
        cache.put(key, assessed)
    return assessed


def export_records(
    database: Database,
    actor: Actor,
    patient_ids: Sequence[str] | None = None,
    *,
    deidentify: bool = False,
) -> list[PatientRecord]:
    """Records to write out (all patients when ``patient_ids`` is None); admins only.
    ``deidentify`` takes out who the patient is (:mod:`alscare.deidentify`).

    One audit row per exported patient; an unknown id exports nothing.
    """
    require_role(actor, Role.ADMIN, "export patients")
    now = _now()
    with database.transaction() as session:
        records = repository.stored_records(session, patient_ids)
        found = {record.id for record in records}
        for patient_id in patient_ids or ():
            if patient_id not in found:
                raise _no_patient(patient_id)
        record_events(
            session,
            [record.id for record in records],
            at=now,
            username=actor.username,
            role=actor.role,
            channel=actor.channel,
            action=AuditAction.EXPORT,
            detail="record exported, de-identified" if deidentify else "record exported",
        )
    return [deidentified(record) for record in records] if deidentify else records


def audit_trail(
    database: Database,
    actor: Actor,
    *,
    patient_id: str | None = None,
    username: str | None = None,
    action: AuditAction | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEvent]:
    """Audit rows, newest first, filtered by patient, user or action; admins only."""
    require_role(actor, Role.ADMIN, "read the audit trail")
    with database.transaction(write=False) as session:
        return audit_events(
            session,
            patient_id=patient_id,
            username=username,
            action=action,
            limit=max(1, min(limit, MAX_PAGE)),
            offset=max(0, offset),
        )


# Writing -------------------------------------------------------------------------------------


def create_patient(
    database: Database, actor: Actor, record: PatientRecord, *, confirmed: Collection[str] = ()
) -> PatientRecord:
    """Store a new patient (revision 1); ConflictError when the id is taken. Values outside the
    clinic's ranges are refused, unlikely ones unless their pointers are ``confirmed``
    (:mod:`alscare.plausibility`). Clinicians and admins."""
    require_role(actor, Role.CLINICIAN, "add patients")
    _check_storable(record)
    plausibility.check(None, record, confirmed=confirmed)
    now = _now()
    with database.transaction() as session:
        if repository.patient_exists(session, record.id):
            raise ConflictError(f"a patient with id {record.id!r} already exists")
        with _taken(f"a patient with id {record.id!r} already exists"):
            repository.add_patient(session, record, _revision(actor, now))
        _audit(session, actor, AuditAction.CREATE, record.id, "record", now)
    return record


@contextmanager
def _taken(message: str) -> Iterator[None]:
    """A unique key violated by a concurrent request (PostgreSQL) is a ConflictError."""
    try:
        yield
    except IntegrityError:
        raise ConflictError(message) from None


def parse_entry(series: str, data: object) -> BaseModel:
    """Validate JSON as one entry of a series of the record v2 (``alsfrs_r``,
    ``examinations``, ...); RecordError pointers are relative to the entry (``/items/speech``)."""
    if series not in ENTRY_MODELS:
        raise NotFoundError(f"no series {series!r}; one of {', '.join(ENTRY_MODELS)}")
    if not isinstance(data, dict):
        raise RecordError([Problem("", "an entry must be a JSON object")])
    prefix = f"/{series}/0"
    try:
        record = parse_record({"schema": PATIENT_SCHEMA, "id": "entry", series: [data]})
    except RecordError as error:
        raise RecordError(_relative(error.problems, prefix)) from None
    entry: BaseModel = getattr(record, series)[0]
    problems = list(_unstorable(_entry_json(entry), ""))
    if problems:
        raise RecordError(problems)
    return entry


def _entry_json(entry: BaseModel) -> dict[str, Any]:
    return entry.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


def add_entry(
    database: Database,
    actor: Actor,
    patient_id: str,
    series: str,
    entry: BaseModel,
    *,
    reason: str | None = None,
    expected_revision: int | None = None,
    confirmed: Collection[str] = (),
) -> PatientRecord:
    """Add one entry (from :func:`parse_entry`) at the end of a patient's series, as a new
    revision of the record; return the record.

    The whole record is validated with the new entry (a date before the birth date or after
    today is refused, and values as for :func:`create_patient`, ``confirmed`` relative to the
    entry), with pointers relative to the entry. ``reason`` is optional (an entry
    added corrects nothing); ``expected_revision`` as for :func:`write_revision`. Clinicians
    and admins.
    """
    if not isinstance(entry, ENTRY_MODELS.get(series, ())):
        raise RecordError([Problem("", f"not an entry of {series}")])
    return write_revision(
        database,
        actor,
        patient_id,
        lambda record: _with_entry(record, series, entry, confirmed),
        detail=f"{series} entry added",
        reason=reason,
        expected_revision=expected_revision,
    ).record


def update_patient(
    database: Database,
    actor: Actor,
    patient_id: str,
    changes: Mapping[str, Any],
    *,
    reason: str | None = None,
    expected_revision: int | None = None,
    confirmed: Collection[str] = (),
) -> PatientRecord:
    """Replace top-level fields of a stored record (``sex``, ``medications``, ...), as a new
    revision.

    ``changes`` maps record v2 field names to their new JSON values (null clears a field). The
    whole record is validated with them (record pointers; values as for :func:`create_patient`,
    of what they add or change). A change that corrects or removes
    recorded data needs a ``reason`` (ReasonRequiredError); ``expected_revision`` as for
    :func:`write_revision`. Clinicians and admins.
    """
    if "id" in changes or "schema" in changes:
        field = "id" if "id" in changes else "schema"
        raise RecordError([Problem(f"/{field}", "cannot be changed")])

    def changed(record: PatientRecord) -> PatientRecord:
        updated = parse_record({**record.to_json_dict(), **changes})
        _check_storable(updated)
        plausibility.check(record, updated, confirmed=confirmed)
        return updated

    return write_revision(
        database,
        actor,
        patient_id,
        changed,
        detail="changed " + ", ".join(sorted(changes)),
        reason=reason,
        expected_revision=expected_revision,
    ).record


def replace_patient(
    database: Database,
    actor: Actor,
    patient_id: str,
    record: PatientRecord,
    *,
    expected_revision: int,
    reason: str | None,
    confirmed: Collection[str] = (),
) -> StoredRecord:
    """Replace the whole record of a stored patient, as a new revision; clinicians and admins.

    ``expected_revision`` is the revision the record was read at: StaleRevisionError when it is
    no longer the current one. The ``reason`` is required (ReasonRequiredError). The record's
    ``id`` must be the patient's; it is validated as a new record is (no date after today; the
    values it adds or changes as for :func:`create_patient`).
    """

    def replaced(current: PatientRecord) -> PatientRecord:
        if record.id != patient_id:
            reason = f"must be the patient's id, {patient_id!r}: an id cannot be changed"
            raise RecordError([Problem("/id", reason)])
        _check_storable(record)
        plausibility.check(current, record, confirmed=confirmed)
        return record

    return write_revision(
        database,
        actor,
        patient_id,
        replaced,
        detail="record replaced",
        reason=reason,
        expected_revision=expected_revision,
        reason_required=True,
        action=AuditAction.REPLACE,
    )


def patient_history(database: Database, actor: Actor, patient_id: str) -> list[HistoryEntry]:
    """Every revision of the patient's record, oldest first, with who wrote it, when, why,
    and what it changed (:mod:`alscare.revisions`); any role, audited as a read."""
    return revision_history(patient_revisions(database, actor, patient_id))


def patient_revisions(database: Database, actor: Actor, patient_id: str) -> list[RevisionEntry]:
    """Every revision of the patient's record as stored (who, when, why, the record JSON),
    oldest first; any role, audited as a read of the history."""
    require_role(actor, Role.VIEWER, "read patients")
    now = _now()
    with database.transaction() as session:
        entries = history.revision_entries(session, patient_id)
        if not entries:
            raise _no_patient(patient_id)
        _audit(session, actor, AuditAction.READ, patient_id, "record history", now)
    return entries


def write_revision(
    database: Database,
    actor: Actor,
    patient_id: str,
    change: Callable[[PatientRecord], PatientRecord],
    *,
    detail: str,
    reason: str | None,
    expected_revision: int | None = None,
    reason_required: bool = False,
    action: AuditAction = AuditAction.UPDATE,
) -> StoredRecord:
    """The one way a stored record changes: ``change`` (which validates, raising RecordError)
    turns the current record into the next revision, stored with who, when and why, and
    audited with ``detail``. Clinicians and admins.

    ``expected_revision``, when given, must be the current revision (StaleRevisionError
    otherwise: someone changed the record since it was read). A change that corrects or
    removes recorded data (:mod:`alscare.revisions`), or any change when ``reason_required``,
    needs a reason (ReasonRequiredError). Nothing is stored unless all of it holds.
    """
    require_role(actor, Role.CLINICIAN, "change patients")
    now = _now()
    with database.transaction() as session:
        record, current = _stored(session, database, patient_id, lock=True)
        if expected_revision is not None and expected_revision != current:
            raise StaleRevisionError(patient_id, expected_revision, current)
        updated = change(record)
        changes = record_changes(record.to_json_dict(), updated.to_json_dict())
        why = checked_reason(reason, changes, required=reason_required)
        number = repository.add_revision(
            session, updated, _revision(actor, now, why), previous=current
        )
        _audit(session, actor, action, patient_id, detail, now)
    return StoredRecord(updated, number)


def _with_entry(
    record: PatientRecord, series: str, entry: BaseModel, confirmed: Collection[str]
) -> PatientRecord:
    data = record.to_json_dict()
    index = len(getattr(record, series) or ())
    data[series] = [*data.get(series, []), _entry_json(entry)]
    try:
        updated = parse_record(data)
        _check_storable(updated)
    except RecordError as error:
        raise RecordError(_relative(error.problems, f"/{series}/{index}")) from None
    plausibility.check(record, updated, confirmed=confirmed, base=f"/{series}/{index}")
    return updated


def _relative(problems: Iterable[Problem], prefix: str) -> list[Problem]:
    """Pointers into a wrapping record made relative to the entry at ``prefix``."""
    return [
        Problem(problem.pointer.removeprefix(prefix), problem.reason)
        if problem.pointer == prefix or problem.pointer.startswith(prefix + "/")
        else problem
        for problem in problems
    ]


def import_records(
    database: Database,
    actor: Actor,
    records: Sequence[PatientRecord],
    *,
    replace: bool = False,
) -> ImportResult:
    """Store many records in one transaction: all or nothing; admins only. Records move
    between stores as they are: the clinic's acceptance policy for entered values
    (:mod:`alscare.plausibility`) does not apply, so that every export imports again.

    An id that is already stored is a ConflictError unless ``replace``, which stores the
    record as that patient's next revision. An id given twice is a RecordError.
    """
    require_role(actor, Role.ADMIN, "import patients")
    _check_unique_ids(records)
    for index, record in enumerate(records):
        _check_storable(record, f"/{index}")
    now = _now()
    created: list[str] = []
    replaced: list[str] = []
    with database.transaction() as session:
        for record in records:
            current = repository.patient_revision(session, record.id, lock=True)
            if current is not None and not replace:
                raise ConflictError(f"a patient with id {record.id!r} already exists")
            with _taken(f"a patient with id {record.id!r} was stored meanwhile"):
                if current is not None:
                    repository.add_revision(
                        session, record, _revision(actor, now), previous=current
                    )
                else:
                    repository.add_patient(session, record, _revision(actor, now))
            action = AuditAction.CREATE if current is None else AuditAction.REPLACE
            _audit(session, actor, action, record.id, "record imported", now)
            (created if current is None else replaced).append(record.id)
    return ImportResult(created=tuple(created), replaced=tuple(replaced))


def _check_unique_ids(records: Sequence[PatientRecord]) -> None:
    seen: dict[str, int] = {}
    problems = []
    for index, record in enumerate(records):
        if record.id in seen:
            problems.append(Problem(f"/{index}/id", f"{record.id!r} also at /{seen[record.id]}"))
        seen.setdefault(record.id, index)
    if problems:
        raise RecordError(problems)


def _check_storable(record: PatientRecord, pointer: str = "") -> None:
    """Refuse a record with a date after today, or with what JSON and pydantic allow but a
    database cannot hold faithfully (see :func:`_unstorable`)."""
    problems = [*_unstorable(record.to_json_dict(), pointer), *_after_today(record, pointer)]
    if problems:
        raise RecordError(problems)


def _after_today(record: PatientRecord, pointer: str) -> Iterator[Problem]:
    """Entries may not be dated after the day they are stored (nor a birth, nor an age)."""
    latest = today()
    dates = [
        *record.dated_entries(),
        ("/birth_date", record.birth_date),
        ("/age_on", record.age_on),
    ]
    for where, when in dates:
        if when is not None and when > latest:
            yield Problem(pointer + where, FUTURE_DATE)


def _unstorable(data: Any, pointer: str) -> Iterator[Problem]:
    """NUL and unpaired surrogates in text (PostgreSQL and UTF-8 refuse them) and NaN or
    infinite numbers (JSON has no such numbers)."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _unstorable(value, f"{pointer}/{key}")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _unstorable(value, f"{pointer}/{index}")
    elif isinstance(data, str):
        if "\x00" in data or any("\ud800" <= char <= "\udfff" for char in data):
            yield Problem(pointer, "contains a NUL character or an unpaired surrogate")
    elif isinstance(data, float) and not math.isfinite(data):
        yield Problem(pointer, "must be a finite number")


# Accounts ------------------------------------------------------------------------------------


def add_user(database: Database, actor: Actor, username: str, password: str, role: Role) -> User:
    """Create an account (admins, and the CLI which acts as admin)."""
    require_role(actor, Role.ADMIN, "add accounts")
    if not USERNAME_PATTERN.match(username):
        raise AccountError("a username is 1-64 letters, digits, '.', '_', '@' or '-'")
    _check_password(password)
    password_hash = hash_password(password)  # slow on purpose: outside the transaction
    now = _now()
    with database.transaction() as session:
        if session.scalar(select(UserRow.id).where(UserRow.username == username)) is not None:
            raise ConflictError(f"an account named {username!r} already exists")
        row = UserRow(
            username=username,
            password_hash=password_hash,
            role=role.value,
            active=True,
            failed_logins=0,
            created_at=now,
        )
        with _taken(f"an account named {username!r} already exists"):
            session.add(row)
            session.flush()
        _audit(session, actor, AuditAction.USER_ADDED, None, f"{username} ({role})", now)
        return User(id=row.id, username=row.username, role=role, active=True)


def set_password(database: Database, actor: Actor, username: str, password: str) -> User:
    """Give an account a new password and lift any lockout (admins, and the CLI)."""
    require_role(actor, Role.ADMIN, "change accounts")
    _check_password(password)
    password_hash = hash_password(password)
    now = _now()
    with database.transaction() as session:
        row = session.scalar(select(UserRow).where(UserRow.username == username))
        if row is None:
            raise NotFoundError(f"no account named {username!r}")
        row.password_hash = password_hash
        row.failed_logins = 0
        row.locked_until = None
        _audit(session, actor, AuditAction.PASSWORD_SET, None, username, now)
        return User(id=row.id, username=row.username, role=Role(row.role), active=row.active)


def _check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise AccountError(
            f"a password needs {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )
