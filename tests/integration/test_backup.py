"""``alscare db backup`` and ``alscare db restore`` on SQLite and PostgreSQL: a backup taken
while writers write restores into a fresh database with the same exports, revisions, accounts
and audit trail; a restore is checked, refuses a database that holds data unless told, and is
whole or nothing."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text
from typer.testing import CliRunner, Result

from alscare import parse_record, services
from alscare.cli.app import app
from alscare.storage import backup
from alscare.storage.audit import AuditAction, audit_events
from alscare.storage.database import Database
from alscare.storage.security import Actor, Channel, Role, authenticate
from alscare.storage.tables import AuthSessionRow, Base, PatientRevisionRow, PatientRow
from tests.conftest_server import PASSWORD, Backend, postgres_schema
from tests.integration.strategies import FULL_RECORD, LONGITUDINAL, rating

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.json"))
CLINICIAN = Actor(username="backup-clinician", role=Role.CLINICIAN, channel=Channel.API)
SETUP = Actor(username="backup-setup", role=Role.ADMIN, channel=Channel.CLI)


def _cli(url: str, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"ALSCARE_DATABASE_URL": url})


def _fresh_url(backend_name: str, tmp_path: Path) -> Iterator[str]:
    if backend_name == "sqlite":
        yield f"sqlite:///{tmp_path / 'target.db'}"
    else:
        yield from postgres_schema()


@pytest.fixture(scope="module")
def source(backend: Backend, database: Database) -> Database:
    """A clinic database with the example patients, a record with every field, a patient
    written several times, accounts and their audit trail."""
    records = [json.loads(path.read_text(encoding="utf-8")) for path in EXAMPLES]
    services.import_records(database, SETUP, [parse_record(r) for r in records])
    services.import_records(database, SETUP, [parse_record(FULL_RECORD)])
    services.add_user(database, SETUP, "backup-clinician", PASSWORD, Role.CLINICIAN)
    services.create_patient(database, CLINICIAN, parse_record({**LONGITUDINAL, "id": "BK-1"}))
    for day in ("2025-01-10", "2025-02-10", "2025-03-10"):
        _add_rating(database, "BK-1", day)
    return database


@pytest.fixture
def target(backend: Backend, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty database of the same kind as the source."""
    yield from _fresh_url(backend.name, tmp_path)


def _add_rating(database: Database, patient_id: str, day: str) -> None:
    entry = services.parse_entry("alsfrs_r", rating(day, walking=3))
    services.add_entry(database, CLINICIAN, patient_id, "alsfrs_r", entry)


def _export(url: str) -> str:
    result = _cli(url, "db", "export")
    assert result.exit_code == 0, result.output
    return result.stdout


def _rows(url: str, table: str) -> set[tuple[Any, ...]]:
    database = Database(url)
    try:
        with database.transaction(write=False) as session:
            return {tuple(row) for row in session.execute(select(Base.metadata.tables[table]))}
    finally:
        database.dispose()


def _row_count(url: str) -> int:
    database = Database(url)
    try:
        with database.transaction(write=False) as session:
            tables = Base.metadata.tables.values()
            return sum(session.scalar(select(func.count()).select_from(t)) or 0 for t in tables)
    finally:
        database.dispose()


def _backup(url: str, path: Path) -> None:
    result = _cli(url, "db", "backup", str(path))
    assert result.exit_code == 0, result.output


def test_backup_restored_into_a_fresh_database_exports_the_same(
    source: Database, backend: Backend, target: str, tmp_path: Path
) -> None:
    path = tmp_path / "clinic.backup"
    audit_before = _rows(backend.url, "audit_events")
    _backup(backend.url, path)
    result = _cli(target, "db", "restore", str(path))
    assert result.exit_code == 0, result.output
    assert "verified: checksum, row counts and revisions equal" in result.stdout
    restored_audit = _rows(target, "audit_events")
    assert audit_before <= restored_audit
    assert {row[-1] for row in restored_audit - audit_before} == {"restored from a backup"}
    assert _export(target) == _export(backend.url)
    for table in ("patients", "patient_revisions", "users"):
        assert _rows(target, table) == _rows(backend.url, table), table


def test_restored_database_takes_new_writes_logins_and_accounts(
    source: Database, backend: Backend, target: str, tmp_path: Path
) -> None:
    path = tmp_path / "clinic.backup"
    _backup(backend.url, path)
    assert _cli(target, "db", "restore", str(path)).exit_code == 0
    restored = Database(target)
    try:
        # PostgreSQL's key sequences go on after the restored keys: new rows do not collide.
        _add_rating(restored, "BK-1", "2025-04-10")
        services.add_user(restored, SETUP, "after-restore", PASSWORD, Role.VIEWER)
        user = authenticate(restored, "backup-clinician", PASSWORD, channel=Channel.API)
        assert user.role is Role.CLINICIAN
        history = services.patient_history(restored, CLINICIAN, "BK-1")
        stored = services.patient_history(source, CLINICIAN, "BK-1")
        assert [entry.revision for entry in history] == list(range(1, len(stored) + 2))
    finally:
        restored.dispose()


def test_backup_is_audited_as_an_export_of_every_patient(
    source: Database, backend: Backend, tmp_path: Path
) -> None:
    _backup(backend.url, tmp_path / "clinic.backup")
    with source.transaction(write=False) as session:
        exported = audit_events(session, action=AuditAction.EXPORT, limit=10_000)
        patients = set(session.scalars(select(PatientRow.id)))
    assert patients <= {e.patient_id for e in exported if e.detail == "database backup"}


def test_backup_taken_while_a_clinician_writes_is_one_consistent_state(
    source: Database, backend: Backend, target: str, tmp_path: Path
) -> None:
    services.create_patient(source, CLINICIAN, parse_record({"id": "BK-BUSY"}))
    stop = threading.Event()
    written: list[int] = []
    failures: list[BaseException] = []

    def write_until_stopped() -> None:
        try:
            while not stop.is_set() or len(written) < 3:
                _add_rating(source, "BK-BUSY", f"2024-{len(written) % 12 + 1:02d}-01")
                written.append(1)
        except BaseException as error:  # the test fails with it below
            failures.append(error)

    writer = threading.Thread(target=write_until_stopped)
    writer.start()
    try:
        _backup(backend.url, tmp_path / "busy.backup")
    finally:
        stop.set()
        writer.join(60)
    assert failures == []
    assert _cli(target, "db", "restore", str(tmp_path / "busy.backup")).exit_code == 0
    restored = Database(target)
    try:
        with restored.transaction(write=False) as session:
            current = session.scalar(select(PatientRow.revision).where(PatientRow.id == "BK-BUSY"))
            numbers = list(
                session.scalars(
                    select(PatientRevisionRow.revision)
                    .where(PatientRevisionRow.patient_id == "BK-BUSY")
                    .order_by(PatientRevisionRow.revision)
                )
            )
            updates = audit_events(
                session, patient_id="BK-BUSY", action=AuditAction.UPDATE, limit=10_000
            )
    finally:
        restored.dispose()
    assert current is not None and numbers == list(range(1, current + 1))
    assert len(updates) == current - 1  # each stored write with its audit row, none without


def test_backup_snapshot_does_not_see_a_write_committed_after_it_began(
    source: Database,
) -> None:
    services.create_patient(source, CLINICIAN, parse_record({"id": "BK-SNAP"}))
    revisions = select(func.count()).select_from(PatientRevisionRow)
    with backup._snapshot(source) as session:
        before = session.scalar(revisions)
        _add_rating(source, "BK-SNAP", "2025-01-01")
        assert session.scalar(revisions) == before
    with source.transaction(write=False) as session:
        assert session.scalar(revisions) == (before or 0) + 1


def test_restore_into_a_database_with_data_is_refused_without_replace(
    source: Database, backend: Backend, target: str, tmp_path: Path
) -> None:
    path = tmp_path / "clinic.backup"
    _backup(backend.url, path)
    other = Database(target)
    try:
        other.upgrade()
        services.add_user(other, SETUP, "only-account", PASSWORD, Role.ADMIN)
    finally:
        other.dispose()
    before = _rows(target, "users"), _rows(target, "audit_events")
    result = _cli(target, "db", "restore", str(path))
    assert result.exit_code == 2
    assert "the database is not empty" in result.stderr and "--replace" in result.stderr
    assert (_rows(target, "users"), _rows(target, "audit_events")) == before
    assert _rows(target, "patients") == set()


def test_restore_with_replace_puts_the_backup_in_place_of_everything(
    source: Database, backend: Backend, target: str, tmp_path: Path
) -> None:
    path = tmp_path / "clinic.backup"
    _backup(backend.url, path)
    other = Database(target)
    try:
        other.upgrade()
        services.import_records(other, SETUP, [parse_record({"id": "ONLY-IN-TARGET"})])
        services.add_user(other, SETUP, "target-user", PASSWORD, Role.VIEWER)
        _add_session(other, "target-user")
    finally:
        other.dispose()
    assert _cli(target, "db", "restore", str(path)).exit_code == 2
    result = _cli(target, "db", "restore", "--replace", str(path))
    assert result.exit_code == 0, result.output
    assert _export(target) == _export(backend.url)
    assert {row[1] for row in _rows(target, "users")} == {"backup-clinician"}
    assert _rows(target, "auth_sessions") == set()  # every session ends with a restore


def _add_session(database: Database, username: str) -> None:
    now = dt.datetime.now(dt.UTC)
    with database.transaction() as session:
        session.execute(
            insert(AuthSessionRow).values(
                id="0" * 64,
                username=username,
                kind="api",
                created_at=now,
                expires_at=now + dt.timedelta(hours=1),
            )
        )


def test_backup_leaves_sessions_out(
    source: Database, backend: Backend, target: str, tmp_path: Path
) -> None:
    _add_session(source, "backup-clinician")
    path = tmp_path / "clinic.backup"
    _backup(backend.url, path)
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        tables = [json.loads(line).get("table") for line in stream if line.startswith("{")]
    assert "auth_sessions" not in tables and "idempotency_keys" not in tables
    assert "patient_revisions" in tables
    assert _cli(target, "db", "restore", str(path)).exit_code == 0
    assert _rows(target, "auth_sessions") == set()


def _rewritten(path: Path, change: Any) -> Path:
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    altered = path.with_name("altered.backup")
    altered.write_bytes(gzip.compress(b"".join(change(lines))))
    return altered


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            lambda lines: [line.replace(b'"backup-setup"', b'"backup-setuq"') for line in lines],
            "the checksum does not match",
            id="a-value-altered",
        ),
        pytest.param(lambda lines: lines[:-3] + lines[-1:], "checksum", id="rows-left-out"),
        pytest.param(lambda lines: lines[: len(lines) // 2], "ends early", id="cut-short"),
        pytest.param(lambda lines: [b"[1,2]\n"], "not an alscare backup", id="not-a-backup"),
    ],
)
def test_restore_of_a_damaged_backup_is_refused_and_stores_nothing(
    source: Database,
    backend: Backend,
    target: str,
    tmp_path: Path,
    change: Any,
    message: str,
) -> None:
    path = tmp_path / "clinic.backup"
    _backup(backend.url, path)
    result = _cli(target, "db", "restore", str(_rewritten(path, change)))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.splitlines()) == 1
    assert _row_count(target) == 0


def test_restore_of_a_file_that_is_not_gzip_is_refused(target: str, tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    path.write_text(EXAMPLES[0].read_text(encoding="utf-8"), encoding="utf-8")
    result = _cli(target, "db", "restore", str(path))
    assert result.exit_code == 2 and "cannot read the backup" in result.stderr
    assert _cli(target, "db", "restore", str(tmp_path / "missing")).exit_code == 2


# Failures inside the restore's transaction, made by the database itself (a trigger).
_FAIL_AT_THE_END = {
    "sqlite": [
        "CREATE TRIGGER refuse_restore BEFORE INSERT ON audit_events "
        "WHEN NEW.detail = 'restored from a backup' BEGIN SELECT RAISE(ABORT, 'refused'); END"
    ],
    "postgres": [
        "CREATE FUNCTION refuse_restore() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN IF NEW.detail = 'restored from a backup' THEN RAISE 'refused'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER refuse_restore BEFORE INSERT ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION refuse_restore()",
    ],
}
_STORE_NAMES_WRONGLY = {
    "sqlite": [
        "CREATE TRIGGER alter_names AFTER INSERT ON patients "
        "BEGIN UPDATE patients SET name = 'someone else' WHERE id = NEW.id; END"
    ],
    "postgres": [
        "CREATE FUNCTION alter_names() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN NEW.name := 'someone else'; RETURN NEW; END $$",
        "CREATE TRIGGER alter_names BEFORE INSERT ON patients "
        "FOR EACH ROW EXECUTE FUNCTION alter_names()",
    ],
}


def _with_trigger(url: str, statements: list[str]) -> Database:
    database = Database(url)
    database.upgrade()
    with database.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    return database


def test_restore_that_fails_at_its_last_step_leaves_the_database_as_it_was(
    source: Database, backend: Backend, target: str, tmp_path: Path
) -> None:
    path = tmp_path / "clinic.backup"
    _backup(backend.url, path)
    database = _with_trigger(target, _FAIL_AT_THE_END[backend.name])
    try:
        services.import_records(database, SETUP, [parse_record({"id": "KEPT-1"})])
    finally:
        database.dispose()
    exported = _export(target)
    audit_rows = _rows(target, "audit_events")
    result = _cli(target, "db", "restore", "--replace", str(path))
    assert result.exit_code == 1 and "refused" in result.stderr
    assert _rows(target, "audit_events") == audit_rows
    assert _export(target) == exported


def test_restore_that_the_database_stores_differently_fails_verification(
    source: Database, backend: Backend, target: str, tmp_path: Path
) -> None:
    path = tmp_path / "clinic.backup"
    _backup(backend.url, path)
    _with_trigger(target, _STORE_NAMES_WRONGLY[backend.name]).dispose()
    result = _cli(target, "db", "restore", str(path))
    assert result.exit_code == 2
    assert "verification failed: patients" in result.stderr and "nothing was restored" in (
        result.stderr
    )
    assert _row_count(target) == 0


def test_backup_to_a_missing_directory_exits_1_in_one_line(
    source: Database, backend: Backend, tmp_path: Path
) -> None:
    result = _cli(backend.url, "db", "backup", str(tmp_path / "no" / "such" / "dir.backup"))
    assert result.exit_code == 1
    assert "dir.backup: cannot write (No such file or directory)" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_backup_replaces_an_older_backup_only_when_complete(
    source: Database, backend: Backend, tmp_path: Path
) -> None:
    path = tmp_path / "clinic.backup"
    _backup(backend.url, path)
    first = backup.verify_backup(path)
    _add_rating(source, "BK-1", "2025-05-10")
    _backup(backend.url, path)
    second = backup.verify_backup(path)
    assert second.revisions == first.revisions + 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clinic.backup"]


@pytest.mark.postgres
def test_backup_of_sqlite_restores_into_postgresql_and_back(tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'clinic.db'}"
    first = Database(sqlite_url)
    first.upgrade()
    services.import_records(first, SETUP, [parse_record(FULL_RECORD)])
    first.dispose()
    _backup(sqlite_url, tmp_path / "from-sqlite.backup")
    for postgres_url in postgres_schema():
        restored = _cli(postgres_url, "db", "restore", str(tmp_path / "from-sqlite.backup"))
        assert restored.exit_code == 0, restored.output
        assert _export(postgres_url) == _export(sqlite_url)
        _backup(postgres_url, tmp_path / "from-postgres.backup")
    back = f"sqlite:///{tmp_path / 'back.db'}"
    assert _cli(back, "db", "restore", str(tmp_path / "from-postgres.backup")).exit_code == 0
    assert _export(back) == _export(sqlite_url)
