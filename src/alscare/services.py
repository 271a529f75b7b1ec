"""The use cases of the clinic app, shared by the JSON API, the pages and the CLI.

Every read or write of a patient goes through a function here. A write is one transaction
that stores the new revision and its audit row: either all of it is stored or none of it. A
read answers only once its audit row is committed. A refused or failed attempt on a patient (a
rejected record, a stale revision, a refused assessment date, an unknown patient, a refused
role) stores nothing of the attempt and gets a ``refused`` (or ``failed``) audit row in a
transaction of its own, since even a refusal can tell something about the stored record.
Functions take the :class:`~alscare.storage.Database` and an
:class:`~alscare.storage.security.Actor` (who, with which role, through which channel) and
return validated models, never database rows.

Transactions are kept short, because on SQLite every writer waits for the one before it: a
record is read and parsed, a change validated and serialised, before the write transaction
begins; the transaction then checks that the revision is still the current one and inserts.
When another write came first, the change is made again on the newer revision, inside the
transaction this time (so a busy patient costs at most two attempts). An import runs in batches
of its own short transactions (:func:`import_records`).

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
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from threading import Lock
from typing import Any, Final
from weakref import WeakKeyDictionary

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from alscare import plausibility
from alscare.assessment_dates import POINTER as AS_OF_POINTER
from alscare.assessment_dates import as_of_problem, clinic_latest, first_date
from alscare.deidentify import deidentified
from alscare.engine import assess
from alscare.engine.flowsheet import flowsheet
from alscare.errors import AlscareError, NotFoundError, Problem, RecordError
from alscare.knowledge import KnowledgeBase
from alscare.revisions import (
    HistoryEntry,
    ReasonRequiredError,
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
from alscare.storage.audit import AuditAction, AuditEvent, audit_events
from alscare.storage.cache import LruCache, model_bytes
from alscare.storage.database import Database
from alscare.storage.history import RevisionEntry
from alscare.storage.repository import (
    PatientListing,
    PreparedRecord,
    Revision,
    StoredRecordError,
)
from alscare.storage.security import (
    Actor,
    Role,
    User,
    find_account,
    hash_password,
    password_problem,
    revoke_sessions,
    username_problem,
)
from alscare.storage.tables import UserRow

__all__ = [
    "ASSESSMENT_CACHE_BYTES",
    "ASSESSMENT_CACHE_SIZE",
    "EARLIEST_AS_OF",
    "ENTRY_MODELS",
    "FUTURE_DATE",
    "LATEST_AS_OF",
    "IMPORT_BATCH_BYTES",
    "IMPORT_BATCH_RECORDS",
    "MAX_PAGE",
    "RECORD_CACHE_BYTES",
    "RECORD_CACHE_SIZE",
    "AccountError",
    "AssessedPatient",
    "ConflictError",
    "ImportResult",
    "PatientListing",
    "PermissionDeniedError",
    "StoredRecord",
    "WriteOutcome",
    "WriteReceipt",
    "add_entry",
    "add_user",
    "assess_patient",
    "assess_patients",
    "assessment_json",
    "audit_refusal",
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
    "read_patient",
    "record_and_assessment",
    "replace_patient",
    "set_password",
    "today",
    "update_patient",
    "updated_record",
    "write_receipt",
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
# The memory the caches may hold, estimated from the JSON of what they hold (storage/cache.py):
# a record of the largest size the limits allow (alscare.limits) still fits.
RECORD_CACHE_BYTES: Final = 256 * 1024 * 1024
ASSESSMENT_CACHE_BYTES: Final = 256 * 1024 * 1024
# An assessment's JSON is 33-37 kB whatever the size of the record (measured on records of
# 7-94 kB): the conclusions are the knowledge base's, the course is summarised.
_ASSESSMENT_JSON: Final = 40 * 1024
# An import's transactions: each short enough that the app's writers barely notice it.
IMPORT_BATCH_RECORDS: Final = 100
IMPORT_BATCH_BYTES: Final = 2 * 1024 * 1024


class ConflictError(AlscareError):
    """Raised when a patient id (or a username) is already taken."""


class PermissionDeniedError(AlscareError):
    """Raised when the actor's role does not allow the use case."""


class AccountError(AlscareError, ValueError):
    """Raised when a new account's username or password is not acceptable."""


@dataclass(frozen=True)
class ImportResult:
    """What an import stored: ids of new patients and of patients whose record was replaced,
    and (with ``replace``) of patients whose current record already was the imported one."""

    created: tuple[str, ...]
    replaced: tuple[str, ...]
    unchanged: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredRecord:
    """A record as stored: the record v2 and the number of its revision (the API's ETag);
    ``json`` is its canonical JSON text when the call that stored it computed it."""

    record: PatientRecord
    revision: int
    json: str | None = field(default=None, compare=False, repr=False)


#: What a write stored, as a write receipt sees it.
WriteOutcome = StoredRecord | ImportResult
#: Called inside a write's transaction with what it stored; what it adds to the session
#: commits or rolls back with the write.
WriteReceipt = Callable[[Session, WriteOutcome], None]
#: The receipt of the writes of the current request (web/idempotency.py stores the answer to
#: a request sent with an Idempotency-Key in it), or None.
write_receipt: ContextVar[WriteReceipt | None] = ContextVar("write_receipt", default=None)


def _give_receipt(session: Session, outcome: WriteOutcome) -> None:
    receipt = write_receipt.get()
    if receipt is not None:
        receipt(session, outcome)


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
        self.records: LruCache[tuple[str, int], _Read] = LruCache(
            RECORD_CACHE_SIZE, RECORD_CACHE_BYTES
        )
        self.assessments: LruCache[tuple[str, int, dt.date, int], _Assessed] = LruCache(
            ASSESSMENT_CACHE_SIZE, ASSESSMENT_CACHE_BYTES
        )


_caches: WeakKeyDictionary[Database, _Caches] = WeakKeyDictionary()
_caches_lock = Lock()


def _cache(database: Database) -> _Caches:
    with _caches_lock:
        caches = _caches.get(database)
        if caches is None:
            caches = _caches[database] = _Caches()
        return caches


@dataclass(frozen=True)
class _Read:
    """A revision of a record as read: the record, its number, the length of its JSON."""

    record: PatientRecord
    revision: int
    size: int


def _read(database: Database, patient_id: str, *, revision: int | None = None) -> _Read:
    """The stored record, the current revision unless ``revision`` is given; NotFoundError for
    an unknown patient or revision. Read in a read-only transaction and parsed after it, so a
    large record never holds up writers."""
    with database.transaction(write=False) as session:
        current = repository.patient_revision(session, patient_id)
        if current is None:
            raise _no_patient(patient_id)
        if revision is not None and not 1 <= revision <= current:
            reason = f"patient {patient_id!r} has no revision {revision} (1 to {current})"
            raise NotFoundError(reason)
        number = current if revision is None else revision
        cached = _cache(database).records.get((patient_id, number))
        if cached is not None:
            return cached
        text = _revision_text(session, patient_id, number)
    return _parsed(database, patient_id, number, text)


def _record_at(session: Session, database: Database, patient_id: str, revision: int) -> _Read:
    """Revision ``revision`` (one that exists) of the patient's record, cached."""
    cached = _cache(database).records.get((patient_id, revision))
    if cached is not None:
        return cached
    return _parsed(database, patient_id, revision, _revision_text(session, patient_id, revision))


def _revision_text(session: Session, patient_id: str, revision: int) -> str:
    text = repository.stored_record_text(session, patient_id, revision)
    # A patient's row and its revisions are written together and never deleted.
    if text is None:  # pragma: no cover
        raise _no_patient(patient_id)
    return text


def _parsed(database: Database, patient_id: str, revision: int, text: str) -> _Read:
    read = _Read(repository.parsed_record(patient_id, revision, text), revision, len(text))
    _cached(database, read)
    return read


def _cached(database: Database, read: _Read) -> None:
    key = (read.record.id, read.revision)
    _cache(database).records.put(key, read, model_bytes(read.size))


def require_role(actor: Actor, role: Role, doing: str) -> None:
    if not actor.role.allows(role):
        raise PermissionDeniedError(f"a {actor.role} account cannot {doing}")


def _no_patient(patient_id: str) -> NotFoundError:
    return NotFoundError(f"no patient with id {patient_id!r}")


def _audit_now(
    database: Database, actor: Actor, action: AuditAction, patient_id: str | None, detail: str
) -> None:
    """One audit row in a transaction of its own, committed when this returns."""
    with database.transaction() as session:
        actor.record(session, action, at=_now(), patient_id=patient_id, detail=detail)


@contextmanager
def _refusals_audited(
    database: Database, actor: Actor, patient_id: str | None, attempt: str
) -> Iterator[None]:
    """Audit a refused or failed ``attempt`` on a patient, once it has rolled back, in a
    transaction of its own; the error then goes on to the caller. The row names the kind of
    refusal and the pointers of invalid input, never a value. When the database cannot take
    the row either (it is unreachable), the original error is what the caller gets."""
    try:
        yield
    except Exception as error:
        audit_refusal(database, actor, patient_id, attempt, error)
        raise


def audit_refusal(
    database: Database, actor: Actor, patient_id: str | None, attempt: str, error: Exception
) -> None:
    """Audit ``error``, a refused or failed ``attempt`` on a patient, in a transaction of its
    own (also for refusals an adapter makes before calling a service, such as a role refused).
    When the database cannot take the row either, nothing is raised: the caller's error is
    what the user gets."""
    refused = isinstance(error, AlscareError) and not isinstance(error, StoredRecordError)
    action = AuditAction.REFUSED if refused else AuditAction.FAILED
    # The column holds 64 characters; the refusal of a longer id is audited under its start.
    who = patient_id[:64] if patient_id is not None else None
    with suppress(SQLAlchemyError):
        _audit_now(database, actor, action, who, f"{attempt}: {_refusal(error)}")


def _refusal(error: Exception) -> str:
    """What kind of refusal ``error`` is, in words that hold no stored or submitted value."""
    if isinstance(error, RecordError):
        pointers = sorted({problem.pointer or "/" for problem in error.problems})
        shown = ", ".join(pointers[:5]) + (", ..." if len(pointers) > 5 else "")
        return f"invalid at {shown}"
    kinds: tuple[tuple[type[Exception], str], ...] = (
        (StaleRevisionError, "stale revision"),
        (ReasonRequiredError, "reason required"),
        (NotFoundError, "not found"),
        (ConflictError, "conflict"),
        (PermissionDeniedError, "not allowed for the role"),
    )
    for kind, words in kinds:
        if isinstance(error, kind):
            return words
    return f"failed ({type(error).__name__})"


# Reading -------------------------------------------------------------------------------------


def get_patient(database: Database, actor: Actor, patient_id: str) -> PatientRecord:
    """One patient's record (v2; any role); audited as a read."""
    return read_patient(database, actor, patient_id).record


def read_patient(
    database: Database, actor: Actor, patient_id: str, *, revision: int | None = None
) -> StoredRecord:
    """One patient's record with its revision number: the current one, or ``revision``
    (NotFoundError when the patient has none such); any role, audited as a read."""
    with _refusals_audited(database, actor, patient_id, "read refused"):
        require_role(actor, Role.VIEWER, "read patients")
        read = _read(database, patient_id, revision=revision)
        detail = "record" if revision is None else f"record revision {read.revision}"
        _audit_now(database, actor, AuditAction.READ, patient_id, detail)
    return StoredRecord(read.record, read.revision)


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
        actor.record_each(
            session,
            AuditAction.LIST,
            (patient.id for patient in listing),
            at=now,
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
    with _refusals_audited(database, actor, patient_id, "flowsheet refused"):
        require_role(actor, Role.VIEWER, "read patients")
        _check_as_of(as_of)
        record = _read(database, patient_id).record
        _check_assessment_date(record, as_of)
        _audit_now(database, actor, AuditAction.READ, patient_id, f"flowsheet as of {as_of}")
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
        reads = [_record_at(session, database, line.id, line.revision) for line in listing]
    assessed = [
        AssessedPatient(line, _assessment_of(database, read, as_of=as_of, kb=kb).assessment)
        for line, read in zip(listing, reads, strict=True)
        if as_of_problem(read.record, as_of, latest=latest) is None
    ]
    kept = [one for one in assessed if shown is None or shown(one.assessment)]
    now = _now()
    with database.transaction() as session:
        actor.record_each(
            session,
            AuditAction.LIST,
            (one.patient.id for one in kept),
            at=now,
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
    with _refusals_audited(database, actor, patient_id, "assessment refused"):
        require_role(actor, Role.VIEWER, "read patients")
        _check_as_of(as_of)
        read = _read(database, patient_id, revision=revision)
        _check_assessment_date(read.record, as_of)
        detail = f"assessment as of {as_of}" + (f" of revision {read.revision}" if revision else "")
        _audit_now(database, actor, AuditAction.ASSESS, patient_id, detail)
    return _assessment_of(database, read, as_of=as_of, kb=kb)


def record_and_assessment(
    database: Database,
    actor: Actor,
    patient_id: str,
    *,
    as_of: dt.date,
    kb: KnowledgeBase,
    purpose: str,
) -> tuple[PatientRecord, Assessment]:
    """The current record and its assessment on ``as_of``, from one revision, for a view that
    shows both (the clinic letter, which names the patient; the FHIR export); audited as an
    assessment, "<purpose> as of <as_of>"."""
    with _refusals_audited(database, actor, patient_id, f"{purpose} refused"):
        require_role(actor, Role.VIEWER, "read patients")
        _check_as_of(as_of)
        read = _read(database, patient_id)
        _check_assessment_date(read.record, as_of)
        _audit_now(database, actor, AuditAction.ASSESS, patient_id, f"{purpose} as of {as_of}")
    return read.record, _assessment_of(database, read, as_of=as_of, kb=kb).assessment


def _check_assessment_date(record: PatientRecord, as_of: dt.date) -> None:
    """One patient is assessed from their first date to a year after today
    (:mod:`alscare.assessment_dates`). The refusal names the limit but not the stored date
    (the birth date): an answer never quotes the record it refuses to assess."""
    first = first_date(record)
    if first is not None and as_of < first[1]:
        reason = f"the assessment date {as_of} is before {first[0]}"
        raise RecordError([Problem(AS_OF_POINTER, reason)])
    problem = as_of_problem(record, as_of, latest=clinic_latest(today()))
    if problem is not None:
        raise RecordError([problem])


def _check_as_of(as_of: dt.date) -> None:
    if not EARLIEST_AS_OF <= as_of <= LATEST_AS_OF:
        reason = f"the assessment date must be from {EARLIEST_AS_OF} to {LATEST_AS_OF}"
        raise RecordError([Problem("/as_of", reason)])


def _assessment_of(
    database: Database, read: _Read, *, as_of: dt.date, kb: KnowledgeBase
) -> _Assessed:
    """The engine's assessment of this revision of the record, cached."""
    cache = _cache(database).assessments
    key = (read.record.id, read.revision, as_of, id(kb))
    assessed = cache.get(key)
    if assessed is None or assessed.kb is not kb:
        assessed = _Assessed(kb, assess(read.record, as_of=as_of, kb=kb))
        cache.put(key, assessed, model_bytes(_ASSESSMENT_JSON))
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
    one = patient_ids[0] if patient_ids is not None and len(patient_ids) == 1 else None
    with _refusals_audited(database, actor, one, "export refused"):
        return _exported(database, actor, patient_ids, deidentify=deidentify)


def _exported(
    database: Database, actor: Actor, patient_ids: Sequence[str] | None, *, deidentify: bool
) -> list[PatientRecord]:
    require_role(actor, Role.ADMIN, "export patients")
    now = _now()
    with database.transaction() as session:
        records = repository.stored_records(session, patient_ids)
        found = {record.id for record in records}
        for patient_id in patient_ids or ():
            if patient_id not in found:
                raise _no_patient(patient_id)
        actor.record_each(
            session,
            AuditAction.EXPORT,
            [record.id for record in records],
            at=now,
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
    database: Database,
    actor: Actor,
    record: PatientRecord,
    *,
    confirmed: Collection[str] = (),
    reason: str | None = None,
) -> PatientRecord:
    """Store a new patient (revision 1, with ``reason`` when it says where the record came
    from); ConflictError when the id is taken. Values outside the clinic's ranges are refused,
    unlikely ones unless their pointers are ``confirmed`` (:mod:`alscare.plausibility`).
    Clinicians and admins."""
    with _refusals_audited(database, actor, record.id, "create refused"):
        require_role(actor, Role.CLINICIAN, "add patients")
        _check_storable(record)
        plausibility.check(None, record, confirmed=confirmed)
        draft = repository.prepared(record)
        with database.transaction() as session:
            now = _now()
            if repository.patient_exists(session, record.id):
                raise ConflictError(f"a patient with id {record.id!r} already exists")
            with _taken(f"a patient with id {record.id!r} already exists"):
                repository.add_patient(session, draft, _revision(actor, now, reason))
            actor.record(session, AuditAction.CREATE, at=now, patient_id=record.id, detail="record")
            _give_receipt(session, StoredRecord(record, 1, draft.text))
    _cached(database, _Read(record, 1, len(draft.text)))
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
        with _refusals_audited(database, actor, patient_id, f"{series} entry refused"):
            raise RecordError([Problem("", f"not an entry of {series}")])
    return write_revision(
        database,
        actor,
        patient_id,
        lambda record: _with_entry(record, series, entry, confirmed),
        detail=f"{series} entry added",
        reason=reason,
        expected_revision=expected_revision,
        adds_only=True,
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
        with _refusals_audited(database, actor, patient_id, "update refused"):
            raise RecordError([Problem(f"/{field}", "cannot be changed")])

    return write_revision(
        database,
        actor,
        patient_id,
        lambda record: updated_record(record, changes, confirmed=confirmed),
        detail="changed " + ", ".join(sorted(changes)),
        reason=reason,
        expected_revision=expected_revision,
    ).record


def updated_record(
    record: PatientRecord, changes: Mapping[str, Any], *, confirmed: Collection[str] = ()
) -> PatientRecord:
    """``record`` with top-level fields replaced by ``changes`` (record v2 names to JSON
    values), validated as a write is: record pointers, storable values, plausible ones."""
    updated = parse_record({**record.to_json_dict(), **changes})
    _check_storable(updated)
    plausibility.check(record, updated, confirmed=confirmed)
    return updated


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
    with _refusals_audited(database, actor, patient_id, "history refused"):
        require_role(actor, Role.VIEWER, "read patients")
        with database.transaction(write=False) as session:
            entries = history.revision_entries(session, patient_id)
        if not entries:
            raise _no_patient(patient_id)
        _audit_now(database, actor, AuditAction.READ, patient_id, "record history")
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
    adds_only: bool = False,
) -> StoredRecord:
    """The one way a stored record changes: ``change`` (which validates, raising RecordError)
    turns the current record into the next revision, stored with who, when and why, and
    audited with ``detail``. Clinicians and admins.

    ``expected_revision``, when given, must be the current revision (StaleRevisionError
    otherwise: someone changed the record since it was read). A change that corrects or
    removes recorded data (:mod:`alscare.revisions`), or any change when ``reason_required``,
    needs a reason (ReasonRequiredError). ``adds_only`` says that ``change`` only adds an
    entry, which corrects nothing: its changes are then not computed. Nothing is stored
    unless all of it holds, and a change that leaves the record as it was stores no revision.
    """
    with _refusals_audited(database, actor, patient_id, f"{action} refused"):
        require_role(actor, Role.CLINICIAN, "change patients")
        read = _read(database, patient_id)
        if expected_revision is not None and expected_revision != read.revision:
            raise StaleRevisionError(patient_id, expected_revision, read.revision)
        draft = _Draft.of(read, change, reason, reason_required, adds_only)
        with database.transaction() as session:
            current = repository.patient_revision(session, patient_id, lock=True)
            if current is None:  # pragma: no cover - patients are never deleted
                raise _no_patient(patient_id)
            if current != read.revision:
                if expected_revision is not None:
                    raise StaleRevisionError(patient_id, expected_revision, current)
                # Another write came first: make the change on its revision, holding the lock.
                read = _record_at(session, database, patient_id, current)
                draft = _Draft.of(read, change, reason, reason_required, adds_only)
            now = _now()
            if draft.prepared.record == read.record:
                # A write that changes nothing (PATCH {}, a PUT of the same record) is audited
                # and answered with the current revision, and stores none.
                actor.record(
                    session,
                    action,
                    at=now,
                    patient_id=patient_id,
                    detail=f"{detail}: nothing changed",
                )
                return StoredRecord(read.record, read.revision, draft.prepared.text)
            revision = _revision(actor, now, draft.why)
            number = repository.add_revision(session, draft.prepared, revision, previous=current)
            actor.record(session, action, at=now, patient_id=patient_id, detail=detail)
            stored = StoredRecord(draft.prepared.record, number, draft.prepared.text)
            _give_receipt(session, stored)
    _cached(database, _Read(stored.record, number, len(draft.prepared.text)))
    return stored


@dataclass(frozen=True)
class _Draft:
    """A change made on one revision, validated and serialised, ready to store after it."""

    prepared: PreparedRecord
    why: str | None

    @classmethod
    def of(
        cls,
        read: _Read,
        change: Callable[[PatientRecord], PatientRecord],
        reason: str | None,
        reason_required: bool,
        adds_only: bool,
    ) -> _Draft:
        updated = change(read.record)
        changes = (
            [] if adds_only else record_changes(read.record.to_json_dict(), updated.to_json_dict())
        )
        why = checked_reason(reason, changes, required=reason_required)
        return cls(repository.prepared(updated), why)


def _with_entry(
    record: PatientRecord, series: str, entry: BaseModel, confirmed: Collection[str]
) -> PatientRecord:
    data = record.to_json_dict()
    index = len(getattr(record, series) or ())
    data[series] = [*data.get(series, []), _entry_json(entry)]
    try:
        updated = parse_record(data)
        # What is stored already was checked when it was stored: only the entry is new.
        problems = [*_unstorable(data[series][-1], ""), *_after_today(updated, "")]
        if problems:
            raise RecordError(problems)
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
    """Store many records; admins only. Records move between stores as they are: the clinic's
    acceptance policy for entered values (:mod:`alscare.plausibility`) does not apply, so that
    every export imports again.

    Everything is checked before anything is stored: an invalid record or an id given twice is
    a RecordError, and (without ``replace``) an id already stored a ConflictError, and then
    nothing is stored. ``replace`` stores a record as that patient's next revision, unless the
    current revision already is that record (it is then left as it is, in ``unchanged``).

    The records are stored in batches (:data:`IMPORT_BATCH_RECORDS`), each in a short
    transaction of its own with its audit rows, so that the app goes on answering during a
    long import; imports take turns (:meth:`Database.import_lock`), so two imports of one
    patient give the same result on both backends: the second waits, then replaces (or, without
    ``replace``, is a ConflictError). An import interrupted midway (killed, the database lost)
    leaves the batches stored before it, each whole, and nothing of the rest; running the same
    import again with ``replace`` completes it without storing any record twice.
    """
    with _refusals_audited(database, actor, None, "import refused"):
        require_role(actor, Role.ADMIN, "import patients")
        _check_unique_ids(records)
        for index, record in enumerate(records):
            _check_storable(record, f"/{index}")
        with database.import_lock():
            if not replace:
                _check_new(database, records)
            return _import_batches(database, actor, records, replace=replace)


def _check_new(database: Database, records: Sequence[PatientRecord]) -> None:
    """ConflictError naming the first record whose id is stored already."""
    ids = [record.id for record in records]
    with database.transaction(write=False) as session:
        for start in range(0, len(ids), IMPORT_BATCH_RECORDS):
            chunk = ids[start : start + IMPORT_BATCH_RECORDS]
            stored = repository.current_revisions(session, chunk)
            if stored:
                first = min(stored, key=ids.index)
                raise ConflictError(f"a patient with id {first!r} already exists")


def _import_batches(
    database: Database, actor: Actor, records: Sequence[PatientRecord], *, replace: bool
) -> ImportResult:
    done: dict[AuditAction | None, list[str]] = {
        AuditAction.CREATE: [],
        AuditAction.REPLACE: [],
        None: [],  # left as it was
    }
    batches = _batches(records)
    pending = next(batches, None)
    while pending is not None:
        # The next batch is serialised while no transaction is open; the last batch's
        # transaction holds the receipt of the whole import.
        batch, pending = pending, next(batches, None)
        with database.transaction() as session:
            now = _now()
            stored = _import_batch(session, actor, batch, now, replace=replace)
            for action, ids in stored.items():
                if action is not None:
                    _audit_each(session, actor, action, ids, "record imported", now)
            if pending is None:
                _give_receipt(session, _import_result(done, stored))
        for action, ids in stored.items():
            done[action].extend(ids)
        if pending is not None:
            database.pause_for_writers()
    return _import_result(done)


def _import_result(*parts: Mapping[AuditAction | None, list[str]]) -> ImportResult:
    def ids(action: AuditAction | None) -> tuple[str, ...]:
        return tuple(patient_id for part in parts for patient_id in part[action])

    return ImportResult(
        created=ids(AuditAction.CREATE), replaced=ids(AuditAction.REPLACE), unchanged=ids(None)
    )


def _audit_each(
    session: Session,
    actor: Actor,
    action: AuditAction,
    patient_ids: Iterable[str],
    detail: str,
    at: dt.datetime,
) -> None:
    actor.record_each(session, action, patient_ids, at=at, detail=detail)


def _import_batch(
    session: Session,
    actor: Actor,
    batch: Sequence[PreparedRecord],
    now: dt.datetime,
    *,
    replace: bool,
) -> dict[AuditAction | None, list[str]]:
    """Store one batch of an import, a few statements for the whole batch; the ids stored by
    the audit action each needs (None: left as it was)."""
    current = repository.current_revisions(session, [draft.id for draft in batch], lock=True)
    if current and not replace:
        first = next(draft.id for draft in batch if draft.id in current)
        raise ConflictError(f"a patient with id {first!r} was stored meanwhile")
    texts = repository.current_texts(session, current)
    new = [draft for draft in batch if draft.id not in current]
    changed = [draft for draft in batch if draft.id in current and texts[draft.id] != draft.text]
    revision = _revision(actor, now)
    with _taken("a patient of the import was stored meanwhile"):
        if new:
            repository.add_patients(session, new, revision)
        if changed:
            repository.add_revisions(
                session, [(draft, current[draft.id]) for draft in changed], revision
            )
    kept = {draft.id for draft in new} | {draft.id for draft in changed}
    return {
        AuditAction.CREATE: [draft.id for draft in new],
        AuditAction.REPLACE: [draft.id for draft in changed],
        None: [draft.id for draft in batch if draft.id not in kept],
    }


def _batches(records: Sequence[PatientRecord]) -> Iterator[list[PreparedRecord]]:
    """The records in order, serialised, in batches of at most :data:`IMPORT_BATCH_RECORDS`
    records and about :data:`IMPORT_BATCH_BYTES` of JSON (a batch holds at least one)."""
    batch: list[PreparedRecord] = []
    size = 0
    for record in records:
        draft = repository.prepared(record)
        full = len(batch) == IMPORT_BATCH_RECORDS or size + len(draft.text) > IMPORT_BATCH_BYTES
        if batch and full:
            yield batch
            batch, size = [], 0
        batch.append(draft)
        size += len(draft.text)
    if batch:
        yield batch


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
    name_problem = username_problem(username)
    if name_problem is not None:
        raise AccountError(name_problem)
    _check_password(password)
    password_hash = hash_password(password)  # slow on purpose: outside the transaction
    now = _now()
    with database.transaction() as session:
        if session.scalar(select(UserRow.id).where(UserRow.username == username)) is not None:
            raise ConflictError(f"an account named {username!r} already exists")
        row = UserRow.new(username, password_hash, role.value, now)
        with _taken(f"an account named {username!r} already exists"):
            session.add(row)
            session.flush()
        actor.record(session, AuditAction.USER_ADDED, at=now, detail=f"{username} ({role})")
        return User(id=row.id, username=row.username, role=role, active=True)


def set_password(
    database: Database, actor: Actor, username: str, password: str, *, must_change: bool = False
) -> User:
    """Give an account a new password (admins, and the CLI): every session and token of the
    account ends; with ``must_change`` the holder must choose another at the next login."""
    require_role(actor, Role.ADMIN, "change accounts")
    _check_password(password)
    password_hash = hash_password(password)
    now = _now()
    with database.transaction() as session:
        row = find_account(session, username)
        if row is None:
            raise NotFoundError(f"no account named {username!r}")
        row.password_hash = password_hash
        row.must_change_password = must_change
        revoke_sessions(session, username, now)
        detail = f"{username} (must change it at the next login)" if must_change else username
        actor.record(session, AuditAction.PASSWORD_SET, at=now, detail=detail)
        return User(
            id=row.id,
            username=row.username,
            role=Role(row.role),
            active=row.active,
            must_change_password=must_change,
        )


def _check_password(password: str) -> None:
    problem = password_problem(password)
    if problem is not None:
        raise AccountError(problem)
