"""The migration to the revision store (schema revision 0002) on real SQLite and PostgreSQL.

Each test starts from a database at revision 0001 holding patients in the record v1 tables,
exactly as alscare's storage wrote them before the record v2 (``rev0001_rows.json``: the rows
its services stored for the records listed there, the four examples, a record with every field,
edge cases and generated records). The oracle is the record v1 itself: after the migration each
patient is ``upgrade(parse_record_v1(record))``, stored as one revision.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from alscare import AlscareError
from alscare.schemas.records import parse_record_v1
from alscare.schemas.upgrade import upgrade
from alscare.services import add_entry, export_records, get_patient, list_patients, parse_entry
from alscare.storage.database import MIGRATIONS, Database, head_revision
from alscare.storage.repository import record_json
from alscare.storage.security import Actor, Channel, Role
from alscare.storage.tables import Base, PatientRevisionRow, PatientRow
from tests.conftest_server import postgres_schema

ROWS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "rev0001_rows.json").read_text(encoding="utf-8")
)
RECORDS = {record["id"]: record for record in ROWS["records"]}
PATIENT_ROWS = {row["id"]: row for row in ROWS["tables"]["patients"]}
UNDATED_AGE = "M-AGE"  # a record v1 with an age and no date at all
ADMIN = Actor("migration-test", Role.ADMIN, Channel.CLI)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def at_0001(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database at schema revision 0001 holding the v1 rows."""
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'v1.db'}"])
    else:
        urls = postgres_schema()
    for url in urls:
        database = Database(url)
        database.upgrade("0001")
        _insert_v1_rows(database, ROWS["tables"])
        yield database
        database.dispose()


def _insert_v1_rows(database: Database, tables: dict[str, list[dict[str, Any]]]) -> None:
    schema = sa.MetaData()
    schema.reflect(database.engine)
    with database.engine.begin() as connection:
        for table in schema.sorted_tables:
            rows = tables.get(table.name)
            if rows:
                connection.execute(table.insert(), [_typed(table, row) for row in rows])


def _typed(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    """JSON values as the column types take them (dates, UTC times)."""
    typed = dict(row)
    for name, value in row.items():
        column_type = table.c[name].type
        if value is None:
            continue
        if isinstance(column_type, sa.DateTime):
            typed[name] = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
        elif isinstance(column_type, sa.Date):
            typed[name] = dt.date.fromisoformat(value)
    return typed


def _revisions(database: Database) -> list[PatientRevisionRow]:
    with database.transaction() as session:
        query = sa.select(PatientRevisionRow).order_by(
            PatientRevisionRow.patient_id, PatientRevisionRow.revision
        )
        return list(session.scalars(query))


def test_migration_stores_every_v1_patient_as_its_upgraded_record(at_0001: Database) -> None:
    at_0001.upgrade()
    assert at_0001.revision() == head_revision()
    stored = {record.id: record for record in export_records(at_0001, ADMIN)}
    assert set(stored) == set(RECORDS)
    for patient_id, document in RECORDS.items():
        if patient_id != UNDATED_AGE:
            assert stored[patient_id] == upgrade(parse_record_v1(document)), patient_id
            assert stored[patient_id].to_json_dict()["schema"] == "alscare.patient/v2"


def test_migration_writes_one_revision_per_patient_when_it_last_changed(
    at_0001: Database,
) -> None:
    at_0001.upgrade()
    revisions = _revisions(at_0001)
    assert [row.patient_id for row in revisions] == sorted(RECORDS)
    for row in revisions:
        changed = dt.datetime.fromisoformat(PATIENT_ROWS[row.patient_id]["updated_at"])
        assert (row.revision, row.username) == (1, "alscare-migration")
        assert row.reason == "converted from the record v1 tables (schema migration 0002)"
        assert row.created_at == changed.replace(tzinfo=dt.UTC)
        assert row.record == record_json(get_patient(at_0001, ADMIN, row.patient_id))
    with at_0001.transaction() as session:
        assert set(session.scalars(sa.select(PatientRow.revision))) == {1}


def test_migration_dates_an_undated_age_on_the_day_the_patient_was_created(
    at_0001: Database,
) -> None:
    with pytest.raises(AlscareError, match="age_years"):
        upgrade(parse_record_v1(RECORDS[UNDATED_AGE]))  # what the upgrade alone refuses
    at_0001.upgrade()
    record = get_patient(at_0001, ADMIN, UNDATED_AGE)
    created = dt.datetime.fromisoformat(PATIENT_ROWS[UNDATED_AGE]["created_at"])
    assert (record.age_years, record.age_on) == (70, created.date())
    assert record.sex == "male"


def test_migration_fills_the_listing_and_drops_the_v1_tables(at_0001: Database) -> None:
    at_0001.upgrade()
    with at_0001.engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert tables == {
        "alembic_version",
        "audit_events",
        "auth_sessions",
        "cds_feedback",
        "idempotency_keys",
        "patient_revisions",
        "patients",
        "users",
    }
    (listed,) = list_patients(at_0001, ADMIN, search="p-0002")
    original = RECORDS["P-0002"]
    assert (listed.sex, listed.birth_date.isoformat() if listed.birth_date else None) == (
        original["sex"],
        original["birth_date"],
    )
    assert listed.symptom_onset_date == dt.date.fromisoformat(original["symptom_onset"]["date"])
    assert listed.revision == 1


def test_migrated_patient_takes_its_next_revision(at_0001: Database) -> None:
    at_0001.upgrade()
    entry = parse_entry("weights", {"date": "2025-03-01", "kg": 57.5})
    updated = add_entry(at_0001, ADMIN, "P-0001", "weights", entry)
    assert updated.weights[-1].kg == 57.5
    numbers = [row.revision for row in _revisions(at_0001) if row.patient_id == "P-0001"]
    assert numbers == [1, 2]


def test_migration_keeps_the_audit_trail(at_0001: Database) -> None:
    with at_0001.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO audit_events (at, username, role, channel, action, patient_id, "
                "detail) VALUES (:at, 'old-user', 'clinician', 'api', 'read', 'P-0001', 'record')"
            ),
            {"at": dt.datetime(2025, 1, 20, 8, 0)},
        )
    at_0001.upgrade()
    with at_0001.transaction() as session:
        rows = session.execute(sa.text("SELECT username, patient_id FROM audit_events")).all()
    assert [tuple(row) for row in rows] == [("old-user", "P-0001")]


def test_migration_of_an_invalid_v1_row_names_the_patient_and_changes_nothing(
    at_0001: Database,
) -> None:
    with at_0001.engine.begin() as connection:
        connection.execute(sa.text("UPDATE patients SET sex = 'robot' WHERE id = 'P-0003'"))
    with pytest.raises(AlscareError) as raised:
        at_0001.upgrade()
    assert "'P-0003'" in str(raised.value) and "/sex: unknown id 'robot'" in str(raised.value)
    assert at_0001.revision() == "0001"
    with at_0001.engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        weights = connection.execute(sa.text("SELECT count(*) FROM weights")).scalar()
    assert "patient_revisions" not in tables and "exam_regions" in tables
    assert weights == len(ROWS["tables"]["weights"])


def test_migration_cannot_be_undone(at_0001: Database) -> None:
    at_0001.upgrade()
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    with at_0001.engine.begin() as connection:
        config.attributes["connection"] = connection
        with pytest.raises(AlscareError, match="cannot be undone"):
            command.downgrade(config, "0001")
    assert at_0001.revision() == "0002"  # 0003 is undone, and there the downgrade stops
