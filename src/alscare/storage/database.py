"""The database: an engine and a session factory for one URL, and the schema upgrade (Alembic).

``Database(url)`` accepts SQLite (``sqlite:///alscare.db``, a file relative to the working
directory) and PostgreSQL (``postgresql://user@host/db``; the psycopg 3 driver is used). Work
happens in :meth:`Database.transaction`: everything in the block commits together or not at all.

On SQLite every writing transaction starts with ``BEGIN IMMEDIATE``: almost every transaction
writes (the audit trail records reads too), and a transaction that upgrades a read lock to a
write lock would otherwise fail at once under concurrency instead of waiting its turn. Writers of
one process also queue on a lock of their own before they begin, so that they take turns at
once instead of in SQLite's sleeping retries (which make the slowest requests very slow). WAL
journaling lets readers (``transaction(write=False)``) go on while one writer works. On
PostgreSQL writers lock the patient row they change.

Long work (an import) runs as many short transactions: :meth:`Database.import_lock` makes
imports take turns, across processes, and :meth:`Database.pause_for_writers` between two of
their transactions lets the app's writers in.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from threading import Lock, RLock
from typing import Any, Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from alscare.errors import ConfigError

__all__ = ["MIGRATIONS", "Database", "database_url", "head_revision"]

MIGRATIONS: Final = "alscare.storage:migrations"
# Any constant: PostgreSQL serialises concurrent upgrades of one database on this lock.
_UPGRADE_LOCK: Final = 0x616C7363
_SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
# Any constant: PostgreSQL lets one import at a time hold this lock.
_IMPORT_LOCK: Final = 0x616C7364
# SQLite's busy handler sleeps up to 100 ms between tries: a pause longer than that between
# two transactions of long work lets a waiting writer of another process take its turn.
_SQLITE_WRITER_PAUSE_SECONDS: Final = 0.12


def database_url(url: str) -> URL:
    """Parse and check a database URL; PostgreSQL URLs get the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"ALSCARE_DATABASE_URL is not a database URL: {url!r}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"ALSCARE_DATABASE_URL: {parsed.get_backend_name()} is not supported "
            "(use sqlite:///FILE or postgresql://USER@HOST/DB)"
        )
    return parsed


class Database:
    """One database: the engine, transactions on it, and its schema version."""

    def __init__(self, url: str) -> None:
        self.url = database_url(url)
        self.engine = _engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._imports = Lock()
        if self.backend == "sqlite":
            self._read_engine = _engine(self.url, immediate=False)
            self._read_sessions = sessionmaker(self._read_engine, expire_on_commit=False)
            self._writer: AbstractContextManager[object] = RLock()
        else:
            self._read_engine = self.engine
            self._read_sessions = self._sessions
            self._writer = nullcontext()

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.url.get_backend_name()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back on error.

        ``write=False`` promises the block only reads: on SQLite it then runs beside a writer.
        """
        if not write:
            with self._read_sessions.begin() as session:
                yield session
            return
        with self._writer, self._sessions.begin() as session:
            yield session

    @contextmanager
    def import_lock(self) -> Iterator[None]:
        """Held by one import at a time, in any process: a second import waits for the first
        to end, so two imports of one patient give the same result on both backends.

        PostgreSQL: a session advisory lock on a connection of its own. SQLite: an exclusive
        ``flock`` on the file ``<database>.import-lock`` beside the database. Either ends with
        the process that holds it, so an import killed midway never leaves it held.
        """
        if self.backend == "postgresql":
            with self.engine.connect() as connection:
                locking = connection.execution_options(isolation_level="AUTOCOMMIT")
                locking.exec_driver_sql(f"SELECT pg_advisory_lock({_IMPORT_LOCK})")
                try:
                    yield
                finally:
                    locking.exec_driver_sql(f"SELECT pg_advisory_unlock({_IMPORT_LOCK})")
            return
        path = self.url.database
        if not path or path == ":memory:":  # a private database: this process is alone on it
            with self._imports:
                yield
            return
        with Path(f"{path}.import-lock").open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def pause_for_writers(self) -> None:
        """Between two transactions of long work: on SQLite, give writers that wait for the
        database (this process's and others') their turn; on PostgreSQL nothing waits."""
        if self.backend == "sqlite":
            time.sleep(_SQLITE_WRITER_PAUSE_SECONDS)

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to the newest migration (or to ``revision``), in one transaction:
        a migration that fails changes nothing. A no-op when the schema is already there."""
        config = _alembic_config()
        with self.engine.begin() as connection:
            if self.backend == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_UPGRADE_LOCK})")
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def revision(self) -> str | None:
        """The schema revision the database is at (None for an empty database)."""
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        self._read_engine.dispose()


def head_revision() -> str | None:
    """The newest migration shipped with this version of alscare."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return config


def _engine(url: URL, *, immediate: bool = True) -> Engine:
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_immediate if immediate else _begin_deferred)
        return engine
    # No ping before each use (a round trip per transaction): a connection the server dropped
    # fails one request (503), and the pool then replaces every connection.
    return create_engine(url, pool_size=10, max_overflow=20, pool_recycle=1800)


def _configure_sqlite(dbapi_connection: Any, _record: object) -> None:
    # Take transaction control from the sqlite3 module so that "begin" below decides the mode.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "foreign_keys = ON",
        "journal_mode = WAL",
        "synchronous = NORMAL",
        f"busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_deferred(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")
