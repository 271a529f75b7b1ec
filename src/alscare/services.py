"""The use cases of the clinic app, shared by the JSON API, the pages and the CLI.

Every read or write of a patient goes through a function here. Each call is one transaction
that does the work, checks the actor's role, and writes its audit row: either all of it is
stored or none of it (a rejected record, an unknown patient or a refused role stores nothing,
audit row included). Functions take the :class:`~alscare.storage.Database` and an
:class:`~alscare.storage.security.Actor` (who, with which role, through which channel) and
return validated models, never database rows.

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
from alscare.schemas.patient import (
    AlsfrsRating,
    Finding,
    GeneticResultEntry,
    LabValue,
    Medication,
    PatientRecord,
    RespiratoryMeasurement,
    TestEntry,
    WeightEntry,
    parse_record,
)
from alscare.storage import repository
from alscare.storage.audit import AuditAction, AuditEvent, audit_events, record_event, record_events
from alscare.storage.cache import LruCache
from alscare.storage.database import Database
from alscare.storage.repository import PatientListing
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
    "ENTRY_MODELS",
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
    "update_patient",
]

# The series a visit adds to, and the record v1 model of one entry of each.
ENTRY_MODELS: Final[Mapping[str, type[BaseModel]]] = {
    "alsfrs_r": AlsfrsRating,
    "respiratory": RespiratoryMeasurement,
    "weights": WeightEntry,
    "tests": TestEntry,
    "findings": Finding,
    "genetics": GeneticResultEntry,
    "medications": Medication,
    "labs": LabValue,
}
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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _Caches:
    """Records rebuilt from a database and the engine's assessments of them, by revision.

    A record is cached only as rebuilt from its rows, under the revision read before it in the
    same transaction; every write counts the revision up, so a cached entry is never stale.
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
        record = repository.stored_record(session, patient_id)
        # Patients are replaced in one transaction, never deleted: a read revision has a row.
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
    """One patient's record v1 (any role); audited as a read."""
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
    """A page of the patient list, ids containing ``search``; each listed patient is audited."""
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
        wanted = list(patient_ids) if patient_ids is not None else repository.stored_ids(session)
        records = repository.stored_records(session, wanted)
        found = {record.id for record in records}
        for patient_id in wanted:
            if patient_id not in found:
                raise _no_patient(patient_id)
        record_events(
            session,
            wanted,
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
    """Store a new patient; ConflictError when the id is taken. Clinicians and admins."""
    _require(actor, Role.CLINICIAN, "add patients")
    _check_storable(record.to_json_dict())
    now = _now()
    with database.transaction() as session:
        if repository.patient_exists(session, record.id):
            raise ConflictError(f"a patient with id {record.id!r} already exists")
        with _taken(f"a patient with id {record.id!r} already exists"):
            session.add(repository.patient_row(record, now=now))
            session.flush()
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
    """Validate JSON as one entry of a series (``alsfrs_r``, ``respiratory``, ``weights``,
    ``tests``, ...); RecordError pointers are relative to the entry (``/items/speech``)."""
    if series not in ENTRY_MODELS:
        raise NotFoundError(f"no series {series!r}; one of {', '.join(ENTRY_MODELS)}")
    if not isinstance(data, dict):
        raise RecordError([Problem("", "an entry must be a JSON object")])
    prefix = f"/{series}/0"
    try:
        record = parse_record({"id": "entry", series: [data]})
    except RecordError as error:
        raise RecordError(_relative(error.problems, prefix)) from None
    entry: BaseModel = getattr(record, series)[0]
    _check_storable(entry.model_dump(mode="json", exclude_none=True))
    return entry


def add_entry(
    database: Database, actor: Actor, patient_id: str, series: str, entry: BaseModel
) -> PatientRecord:
    """Append one entry (from :func:`parse_entry`) to a patient's series; return the record.

    The whole record is validated with the new entry (a date before the birth date is
    rejected), with pointers relative to the entry. Clinicians and admins.
    """
    _require(actor, Role.CLINICIAN, "change patients")
    if not isinstance(entry, ENTRY_MODELS.get(series, ())):
        raise RecordError([Problem("", f"not an entry of {series}")])
    now = _now()
    with database.transaction() as session:
        record, _revision = _stored(session, database, patient_id, lock=True)
        updated = _with_entry(record, series, entry)
        repository.append_entry(session, patient_id, series, entry)
        repository.count_revision(session, patient_id, now=now)
        _audit(session, actor, AuditAction.UPDATE, patient_id, f"{series} entry added", now)
    return updated


def update_patient(
    database: Database, actor: Actor, patient_id: str, changes: Mapping[str, Any]
) -> PatientRecord:
    """Replace top-level fields of a stored record (``exam``, ``emg``, ``medications``, ...).

    ``changes`` maps record v1 field names to their new JSON values (null clears a field). The
    whole record is validated with them (record pointers). Clinicians and admins.
    """
    _require(actor, Role.CLINICIAN, "change patients")
    if "id" in changes or "schema" in changes:
        field = "id" if "id" in changes else "schema"
        raise RecordError([Problem(f"/{field}", "cannot be changed")])
    now = _now()
    with database.transaction() as session:
        record, _revision = _stored(session, database, patient_id, lock=True)
        updated = parse_record({**record.to_json_dict(), **changes})
        _check_storable(updated.to_json_dict())
        repository.replace_patient(session, updated, now=now)
        detail = "changed " + ", ".join(sorted(changes))
        _audit(session, actor, AuditAction.UPDATE, patient_id, detail, now)
    return updated


def _with_entry(record: PatientRecord, series: str, entry: BaseModel) -> PatientRecord:
    data = record.to_json_dict()
    index = len(getattr(record, series))
    data[series] = [*data.get(series, []), entry.model_dump(mode="json", exclude_none=True)]
    try:
        return parse_record(data)
    except RecordError as error:
        raise RecordError(_relative(error.problems, f"/{series}/{index}")) from None


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

    An id that is already stored is a ConflictError unless ``replace``, which replaces that
    patient's whole record. An id given twice is a RecordError.
    """
    _require(actor, Role.ADMIN, "import patients")
    _check_unique_ids(records)
    for index, record in enumerate(records):
        _check_storable(record.to_json_dict(), f"/{index}")
    now = _now()
    created: list[str] = []
    replaced: list[str] = []
    with database.transaction() as session:
        for record in records:
            exists = repository.patient_revision(session, record.id, lock=True) is not None
            if exists and not replace:
                raise ConflictError(f"a patient with id {record.id!r} already exists")
            with _taken(f"a patient with id {record.id!r} was stored meanwhile"):
                if exists:
                    repository.replace_patient(session, record, now=now)
                else:
                    session.add(repository.patient_row(record, now=now))
                    session.flush()
            action = AuditAction.REPLACE if exists else AuditAction.CREATE
            _audit(session, actor, action, record.id, "record imported", now)
            (replaced if exists else created).append(record.id)
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


def _check_storable(data: Any, pointer: str = "") -> None:
    """Reject what JSON and pydantic allow but a database cannot hold faithfully: NUL and
    unpaired surrogates in text (PostgreSQL and UTF-8 refuse them) and NaN or infinite
    numbers (SQLite turns NaN into NULL; JSON has no such numbers)."""
    problems = list(_unstorable(data, pointer))
    if problems:
        raise RecordError(problems)


def _unstorable(data: Any, pointer: str) -> Iterator[Problem]:
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
