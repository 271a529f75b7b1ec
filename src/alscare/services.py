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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from threading import Lock
from typing import Any, Final
from weakref import WeakKeyDictionary

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alscare.engine import assess
from alscare.errors import AlscareError, NotFoundError, Problem, RecordError
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Assessment
from alscare.schemas.common import (
    GeneticResultEntry,
    LabValue,
    RespiratoryMeasurement,
    TestEntry,
    WeightEntry,
)
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
from alscare.storage import repository
from alscare.storage.audit import AuditAction, AuditEvent, audit_events, record_event, record_events
from alscare.storage.cache import LruCache
from alscare.storage.database import Database
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
    "ConflictError",
    "ImportResult",
    "PatientListing",
    "PermissionDeniedError",
    "add_entry",
    "add_user",
    "assess_patient",
    "assessment_json",
    "audit_trail",
    "create_patient",
    "export_records",
    "get_patient",
    "import_records",
    "list_patients",
    "parse_entry",
    "set_password",
    "today",
    "update_patient",
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


def today() -> dt.date:
    """Today on the server's calendar: the latest date a stored entry may have (and the pages'
    assessment date when none is asked for)."""
    return dt.date.today()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _revision(actor: Actor, at: dt.datetime) -> Revision:
    return Revision(at=at, username=actor.username)


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
    session: Session, database: Database, patient_id: str, *, lock: bool = False
) -> tuple[PatientRecord, int]:
    """The stored record and its revision; NotFoundError for an unknown patient."""
    revision = repository.patient_revision(session, patient_id, lock=lock)
    if revision is None:
        raise _no_patient(patient_id)
    cache = _cache(database).records
    record = cache.get((patient_id, revision))
    if record is None:
        record = repository.stored_record(session, patient_id, revision)
        # A patient's row and its revisions are written together and never deleted.
        if record is None:  # pragma: no cover
            raise _no_patient(patient_id)
        cache.put((patient_id, revision), record)
    return record, revision


def _require(actor: Actor, role: Role, doing: str) -> None:
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
    _require(actor, Role.VIEWER, "read patients")
    now = _now()
    with database.transaction() as session:
        record, _revision = _stored(session, database, patient_id)
        _audit(session, actor, AuditAction.READ, patient_id, "record", now)
    return record


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
    _require(actor, Role.VIEWER, "list patients")
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
    database: Database, actor: Actor, patient_id: str, *, as_of: dt.date, kb: KnowledgeBase
) -> Assessment:
    """The engine's assessment of a stored patient on ``as_of``; audited as an assessment.

    The same function of the same record the CLI assesses: ``.to_json()`` gives the same bytes.
    An ``as_of`` outside :data:`EARLIEST_AS_OF` to :data:`LATEST_AS_OF` is a RecordError.
    """
    return _assessed(database, actor, patient_id, as_of=as_of, kb=kb).assessment


def assessment_json(
    database: Database, actor: Actor, patient_id: str, *, as_of: dt.date, kb: KnowledgeBase
) -> str:
    """:func:`assess_patient` as its canonical JSON text (``Assessment.to_json()``)."""
    return _assessed(database, actor, patient_id, as_of=as_of, kb=kb).json


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
    database: Database, actor: Actor, patient_id: str, *, as_of: dt.date, kb: KnowledgeBase
) -> _Assessed:
    _require(actor, Role.VIEWER, "read patients")
    if not EARLIEST_AS_OF <= as_of <= LATEST_AS_OF:
        reason = f"the assessment date must be from {EARLIEST_AS_OF} to {LATEST_AS_OF}"
        raise RecordError([Problem("/as_of", reason)])
    now = _now()
    with database.transaction() as session:
        record, revision = _stored(session, database, patient_id)
        _audit(session, actor, AuditAction.ASSESS, patient_id, f"assessment as of {as_of}", now)
    cache = _cache(database).assessments
    key = (patient_id, revision, as_of, id(kb))
    assessed = cache.get(key)
    if assessed is None or assessed.kb is not kb:
        assessed = _Assessed(kb, assess(record, as_of=as_of, kb=kb))
        cache.put(key, assessed)
    return assessed


def export_records(
    database: Database, actor: Actor, patient_ids: Sequence[str] | None = None
) -> list[PatientRecord]:
    """Records to write out (all patients when ``patient_ids`` is None); admins only.

    One audit row per exported patient; an unknown id exports nothing.
    """
    _require(actor, Role.ADMIN, "export patients")
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
            detail="record exported",
        )
    return records


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
    _require(actor, Role.ADMIN, "read the audit trail")
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


def create_patient(database: Database, actor: Actor, record: PatientRecord) -> PatientRecord:
    """Store a new patient (revision 1); ConflictError when the id is taken. Clinicians and
    admins."""
    _require(actor, Role.CLINICIAN, "add patients")
    _check_storable(record)
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
    database: Database, actor: Actor, patient_id: str, series: str, entry: BaseModel
) -> PatientRecord:
    """Add one entry (from :func:`parse_entry`) at the end of a patient's series, as a new
    revision of the record; return the record.

    The whole record is validated with the new entry (a date before the birth date or after
    today is refused), with pointers relative to the entry. Clinicians and admins.
    """
    _require(actor, Role.CLINICIAN, "change patients")
    if not isinstance(entry, ENTRY_MODELS.get(series, ())):
        raise RecordError([Problem("", f"not an entry of {series}")])
    now = _now()
    with database.transaction() as session:
        record, revision = _stored(session, database, patient_id, lock=True)
        updated = _with_entry(record, series, entry)
        repository.add_revision(session, updated, _revision(actor, now), previous=revision)
        _audit(session, actor, AuditAction.UPDATE, patient_id, f"{series} entry added", now)
    return updated


def update_patient(
    database: Database, actor: Actor, patient_id: str, changes: Mapping[str, Any]
) -> PatientRecord:
    """Replace top-level fields of a stored record (``sex``, ``medications``, ...), as a new
    revision.

    ``changes`` maps record v2 field names to their new JSON values (null clears a field). The
    whole record is validated with them (record pointers). Clinicians and admins.
    """
    _require(actor, Role.CLINICIAN, "change patients")
    if "id" in changes or "schema" in changes:
        field = "id" if "id" in changes else "schema"
        raise RecordError([Problem(f"/{field}", "cannot be changed")])
    now = _now()
    with database.transaction() as session:
        record, revision = _stored(session, database, patient_id, lock=True)
        updated = parse_record({**record.to_json_dict(), **changes})
        _check_storable(updated)
        repository.add_revision(session, updated, _revision(actor, now), previous=revision)
        detail = "changed " + ", ".join(sorted(changes))
        _audit(session, actor, AuditAction.UPDATE, patient_id, detail, now)
    return updated


def _with_entry(record: PatientRecord, series: str, entry: BaseModel) -> PatientRecord:
    data = record.to_json_dict()
    index = len(getattr(record, series) or ())
    data[series] = [*data.get(series, []), _entry_json(entry)]
    try:
        updated = parse_record(data)
        _check_storable(updated)
    except RecordError as error:
        raise RecordError(_relative(error.problems, f"/{series}/{index}")) from None
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
    """Store many records in one transaction: all or nothing; admins only.

    An id that is already stored is a ConflictError unless ``replace``, which stores the
    record as that patient's next revision. An id given twice is a RecordError.
    """
    _require(actor, Role.ADMIN, "import patients")
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
    _require(actor, Role.ADMIN, "add accounts")
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
    _require(actor, Role.ADMIN, "change accounts")
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
