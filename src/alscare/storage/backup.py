"""Backups of the clinic database that restore whole and are checked: ``db backup``/``restore``.

A backup is a logical export of every table, read in one snapshot transaction (a read
transaction on SQLite's write-ahead log; ``REPEATABLE READ, READ ONLY`` on PostgreSQL), so it is
consistent while the app runs and writers never wait for it. One format serves both backends
(a SQLite backup restores into PostgreSQL and back), needs no client binaries such as
``pg_dump`` (whose version must match the server's), and is checked row by row on restore.

The file is gzip-compressed JSON Lines: a header (format, schema revision, when, from what),
then for each table a line naming its columns and one line per row, then a trailer with the
SHA-256 of every line before it and, per table, the row count and a digest of the rows (the sum
of each row's SHA-256, so that it does not depend on the order rows come back in, which differs
between backends' collations). A truncated or altered file fails the checksum.

A restore checks the file before it touches the database, then, in one transaction, loads every
row, compares the target's row counts and digests with the backup's (so the record count, every
patient's current revision and every stored revision are the source's), and commits only when
they are equal: a restore is whole or nothing. It refuses a database that holds any row unless
told to replace it. Sessions, API tokens and idempotency answers are not backed up: a restore
ends every session (none revoked since the backup comes back to life) and replays no answer
about a write the backup may not hold.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Date, Table, delete, func, insert, select, text
from sqlalchemy.orm import Session

from alscare import __version__
from alscare.errors import AlscareError
from alscare.storage.audit import AuditAction, record_events
from alscare.storage.database import Database, head_revision
from alscare.storage.security import Actor
from alscare.storage.tables import (
    AuditEventRow,
    Base,
    PatientRevisionRow,
    PatientRow,
    UserRow,
    UtcDateTime,
)

__all__ = [
    "FORMAT",
    "NOT_BACKED_UP",
    "BackupError",
    "BackupSummary",
    "TableSummary",
    "restore_backup",
    "verify_backup",
    "write_backup",
]

FORMAT: Final = "alscare-backup"
FORMAT_VERSION: Final = 1
# Held for a while only, and wrong to bring back from an older state (see the module docstring).
NOT_BACKED_UP: Final = frozenset({"auth_sessions", "idempotency_keys"})
_BATCH: Final = 1000
_DIGEST_MODULUS: Final = 2**256


class BackupError(AlscareError, ValueError):
    """A backup file that cannot be restored (unreadable, altered, of another schema), or a
    restore refused (a database that is not empty) or failed verification."""


@dataclass(frozen=True)
class TableSummary:
    """How many rows a table holds and the digest of their values."""

    rows: int
    digest: str


@dataclass(frozen=True)
class BackupSummary:
    """What a backup holds: its schema revision, when it was made, the SHA-256 of its content
    and every table's summary."""

    schema: str
    created_at: str
    sha256: str
    tables: Mapping[str, TableSummary]

    @property
    def patients(self) -> int:
        return self.tables[PatientRow.__tablename__].rows

    @property
    def revisions(self) -> int:
        return self.tables[PatientRevisionRow.__tablename__].rows

    def describe(self) -> str:
        """One line for the operator: ``12 patients (40 revisions), 3 accounts, 95 audit rows``."""
        accounts = self.tables[UserRow.__tablename__].rows
        audit_rows = self.tables[AuditEventRow.__tablename__].rows
        return (
            f"{self.patients} patients ({self.revisions} revisions), {accounts} accounts, "
            f"{audit_rows} audit rows"
        )


def _backed_up_tables() -> list[Table]:
    """The tables a backup holds, parents before children (the order to insert them)."""
    return [table for table in Base.metadata.sorted_tables if table.name not in NOT_BACKED_UP]


# Writing -------------------------------------------------------------------------------------


def write_backup(database: Database, path: Path, actor: Actor) -> BackupSummary:
    """Write a backup of the whole database to ``path`` (replacing a file there only once the
    new one is complete), and audit it as an export of every patient."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with gzip.open(partial, "wb") as stream:
            summary, patient_ids = _write_snapshot(database, stream)
        with database.transaction() as session:
            _audit_each(session, actor, AuditAction.EXPORT, patient_ids, "database backup")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return summary


def _write_snapshot(database: Database, stream: gzip.GzipFile) -> tuple[BackupSummary, list[str]]:
    content = hashlib.sha256()

    def emit(line: Any) -> None:
        data = _line(line)
        content.update(data)
        stream.write(data)

    created_at = dt.datetime.now(dt.UTC).isoformat()
    tables: dict[str, TableSummary] = {}
    patient_ids: list[str] = []
    with _snapshot(database) as session:
        schema = _schema_revision(session)
        emit({"format": FORMAT, "version": FORMAT_VERSION, "schema": schema, "alscare": __version__,
              "created_at": created_at, "source": database.backend})  # fmt: skip
        for table in _backed_up_tables():
            emit({"table": table.name, "columns": [column.name for column in table.columns]})
            digest = _Digest()
            for row in _rows(session, table):
                values = [_encoded(value) for value in row]
                digest.add(values)
                emit(values)
                if table.name == PatientRow.__tablename__:
                    patient_ids.append(row.id)
            tables[table.name] = digest.summary()
    summary = BackupSummary(schema, created_at, content.hexdigest(), tables)
    stream.write(_line({"end": _trailer(summary)}))
    return summary, patient_ids


@contextmanager
def _snapshot(database: Database) -> Iterator[Session]:
    """A read-only transaction that sees one state of the database throughout."""
    with database.transaction(write=False) as session:
        if database.backend == "postgresql":
            # Read committed would let rows committed meanwhile into the tables read later.
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            session.execute(text("SET TRANSACTION READ ONLY"))
        # On SQLite the first read fixes the snapshot of the write-ahead log for the transaction.
        yield session


def _schema_revision(session: Session) -> str:
    revision = session.scalar(text("SELECT version_num FROM alembic_version"))
    if revision is None:  # pragma: no cover - every command upgrades the schema first
        raise BackupError("the database has no schema revision")
    return str(revision)


def _rows(session: Session, table: Table) -> Iterator[Any]:
    query = select(table).order_by(*table.primary_key.columns)
    yield from session.execute(query, execution_options={"yield_per": _BATCH})


def _trailer(summary: BackupSummary) -> dict[str, Any]:
    return {
        "sha256": summary.sha256,
        "tables": {
            name: {"rows": table.rows, "digest": table.digest}
            for name, table in summary.tables.items()
        },
    }


def _line(data: Any) -> bytes:
    return _canonical(data).encode("utf-8") + b"\n"


def _canonical(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _encoded(value: Any) -> Any:
    """A column value as JSON: dates and datetimes (aware, UTC) as ISO 8601 text."""
    if isinstance(value, dt.date):  # a datetime is a date too
        return value.isoformat()
    return value


class _Digest:
    """The row count and the order-independent digest of a table's rows."""

    def __init__(self) -> None:
        self.rows = 0
        self._sum = 0

    def add(self, values: Sequence[Any]) -> None:
        row_hash = hashlib.sha256(_canonical(values).encode("utf-8")).digest()
        self._sum = (self._sum + int.from_bytes(row_hash)) % _DIGEST_MODULUS
        self.rows += 1

    def summary(self) -> TableSummary:
        return TableSummary(self.rows, f"{self._sum:064x}")


# Reading and checking --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Section:
    """One table's rows as they come out of the file, decoded for inserting."""

    table: Table
    rows: Iterator[dict[str, Any]]


def verify_backup(path: Path) -> BackupSummary:
    """Read the whole file and check it: the format, the checksum and every table's count and
    digest against its trailer, and a schema this version of alscare restores. Its summary."""
    summary = _read(path, _drain)
    expected = head_revision()
    if summary.schema != expected:
        raise BackupError(
            f"{path}: the backup is of schema revision {summary.schema}, this alscare restores "
            f"revision {expected}: restore it with the alscare version that made it"
        )
    return summary


def _drain(sections: Iterator[_Section]) -> None:
    for section in sections:
        for _row in section.rows:
            pass


def _read(path: Path, consume: Callable[[Iterator[_Section]], None]) -> BackupSummary:
    """Stream the file's sections to ``consume`` and check the content against the trailer;
    a fault names the file and the line."""
    reader = _Reader(path)
    try:
        with gzip.open(path, "rb") as stream:
            consume(reader.sections(stream))
            reader.finish(stream)
    except (OSError, EOFError, zlib.error) as error:
        raise BackupError(f"{path}: cannot read the backup: {error}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise BackupError(f"{path}, line {reader.number}: not a valid backup: {error}") from None
    return reader.summary()


class _Reader:
    """Decodes a backup line by line, hashing the content and summarising each table."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._content = hashlib.sha256()
        self._tables: dict[str, TableSummary] = {}
        self._header: dict[str, Any] = {}
        self._trailer: dict[str, Any] | None = None
        self._pending: bytes | None = None
        self.number = 0

    def sections(self, stream: gzip.GzipFile) -> Iterator[_Section]:
        self._header = json.loads(self._next(stream) or b"null")
        if not isinstance(self._header, dict) or self._header.get("format") != FORMAT:
            raise BackupError(f"{self._path}: not an alscare backup")
        if self._header.get("version") != FORMAT_VERSION:
            raise BackupError(f"{self._path}: backup format {self._header.get('version')} unknown")
        for table in _backed_up_tables():
            start = json.loads(self._next(stream) or b"null")
            columns = [column.name for column in table.columns]
            if start != {"table": table.name, "columns": columns}:
                raise ValueError(f"expected the table {table.name} with columns {columns}")
            yield _Section(table, self._table_rows(stream, table))

    def _table_rows(self, stream: gzip.GzipFile, table: Table) -> Iterator[dict[str, Any]]:
        digest = _Digest()
        columns = list(table.columns)
        while (line := self._peek(stream)) is not None and line.startswith(b"["):
            values = json.loads(self._next(stream) or b"")
            if not isinstance(values, list) or len(values) != len(columns):
                raise ValueError(f"a row of {table.name} must have {len(columns)} values")
            row = {
                column.name: _decoded(column.type, value)
                for column, value in zip(columns, values, strict=True)
            }
            digest.add([_encoded(value) for value in row.values()])
            yield row
        self._tables[table.name] = digest.summary()

    def finish(self, stream: gzip.GzipFile) -> None:
        """Read the trailer; the file must end there."""
        self._trailer = json.loads(self._next(stream, hashed=False) or b"null")["end"]
        if stream.read(1):
            raise ValueError("more after the trailer")

    def _peek(self, stream: gzip.GzipFile) -> bytes | None:
        if self._pending is None:
            self._pending = stream.readline() or None
        return self._pending

    def _next(self, stream: gzip.GzipFile, *, hashed: bool = True) -> bytes | None:
        line = self._peek(stream)
        self._pending = None
        if line is None:
            raise ValueError("the file ends early (a backup cut short?)")
        self.number += 1
        if hashed:
            self._content.update(line)
        return line

    def summary(self) -> BackupSummary:
        """The content as read, once it has been checked against the trailer."""
        trailer = self._trailer or {}
        found = BackupSummary(
            str(self._header["schema"]),
            str(self._header["created_at"]),
            self._content.hexdigest(),
            self._tables,
        )
        if trailer.get("sha256") != found.sha256:
            raise BackupError(f"{self._path}: the checksum does not match: the file was altered")
        if trailer.get("tables") != _trailer(found)["tables"]:
            raise BackupError(f"{self._path}: the row counts or digests do not match the trailer")
        return found


def _decoded(column_type: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, UtcDateTime):
        return dt.datetime.fromisoformat(value)
    if isinstance(column_type, Date):
        return dt.date.fromisoformat(value)
    return value


# Restoring -------------------------------------------------------------------------------------


def restore_backup(
    database: Database, path: Path, actor: Actor, *, replace: bool = False
) -> BackupSummary:
    """Restore the backup at ``path`` into ``database`` (upgraded to this alscare's schema):
    checked first, then loaded and verified in one transaction, whole or not at all.

    A database holding any row is refused unless ``replace``: then everything in it, sessions
    included, is deleted in the same transaction. A restore waits for an import to end. A
    server using the database must be stopped first: it keeps the records it has read by
    revision number, and a restore gives the numbers to other records.
    """
    expected = verify_backup(path)
    if database.revision() != expected.schema:
        raise BackupError(
            f"the database is at schema revision {database.revision()}, the backup at "
            f"{expected.schema}: run alscare db upgrade"
        )
    # Imports take turns on this lock: none is left to write on after the restore commits.
    with database.import_lock(), database.transaction() as session:
        had_rows = _holds_rows(session)
        if had_rows and not replace:
            raise BackupError(
                "the database is not empty: restore into an empty database, or replace "
                "everything in it with --replace"
            )
        _delete_everything(session)
        patient_ids: list[str] = []
        _read(path, lambda sections: _load(session, sections, patient_ids))
        _continue_sequences(session)
        _check_restored(session, expected)
        action = AuditAction.REPLACE if had_rows else AuditAction.CREATE
        _audit_each(session, actor, action, patient_ids, "restored from a backup")
    return expected


def _holds_rows(session: Session) -> bool:
    return any(
        session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.tables.values()
    )


def _delete_everything(session: Session) -> None:
    for table in reversed(Base.metadata.sorted_tables):
        session.execute(delete(table))


def _load(session: Session, sections: Iterator[_Section], patient_ids: list[str]) -> None:
    for section in sections:
        while rows := list(islice(section.rows, _BATCH)):
            session.execute(insert(section.table), rows)
            if section.table.name == PatientRow.__tablename__:
                patient_ids.extend(row["id"] for row in rows)


def _continue_sequences(session: Session) -> None:
    """On PostgreSQL, make each generated key go on after the largest restored one (the rows
    came in with their keys, which a sequence does not see)."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite's next rowid is one more than the largest in the table
    for table in _backed_up_tables():
        for column in table.primary_key.columns:
            if column.autoincrement is True:
                session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                        f"coalesce(max({column.name}), 0) + 1, false) FROM {table.name}"
                    )
                )


def _check_restored(session: Session, expected: BackupSummary) -> None:
    """The restored tables hold exactly the backup's rows, read back from the database."""
    for table in _backed_up_tables():
        digest = _Digest()
        for row in _rows(session, table):
            digest.add([_encoded(value) for value in row])
        found, wanted = digest.summary(), expected.tables[table.name]
        if found.rows != wanted.rows:
            raise BackupError(
                f"verification failed: {table.name} holds {found.rows} rows after the restore, "
                f"the backup {wanted.rows}; nothing was restored"
            )
        if found.digest != wanted.digest:
            raise BackupError(
                f"verification failed: {table.name} holds other values than the backup after "
                "the restore; nothing was restored"
            )


def _audit_each(
    session: Session, actor: Actor, action: AuditAction, patient_ids: Iterable[str], detail: str
) -> None:
    record_events(
        session,
        patient_ids,
        at=dt.datetime.now(dt.UTC),
        username=actor.username,
        role=actor.role,
        channel=actor.channel,
        action=action,
        detail=detail,
    )
