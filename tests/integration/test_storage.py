"""Storage on real SQLite and PostgreSQL: migrations, the record round trip, transactions,
the audit rows written with the work, and demo seeding."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel
from sqlalchemy import func, select

from alscare import (
    ConfigError,
    KnowledgeBase,
    NotFoundError,
    PatientRecord,
    RecordError,
    assess,
    parse_record,
    parse_record_json,
)
from alscare.demo import DEMO_USERNAME, demo_records, seed_demo
from alscare.schemas.patient import AlsfrsRating, WeightEntry
from alscare.services import (
    ConflictError,
    PermissionDeniedError,
    add_entry,
    assess_patient,
    create_patient,
    export_records,
    get_patient,
    import_records,
    list_patients,
    parse_entry,
    update_patient,
)
from alscare.storage.audit import AuditAction
from alscare.storage.cache import LruCache
from alscare.storage.database import Database, database_url, head_revision
from alscare.storage.security import Actor, Channel, Role, authenticate
from alscare.storage.tables import AlsfrsRatingRow, AuditEventRow, Base, PatientRow
from tests.builders import rating
from tests.conftest_server import Backend, server_settings
from tests.integration.strategies import FULL_RECORD, records

EXAMPLES = Path(__file__).parents[2] / "examples"
_WEIGHT = {"date": "2025-01-01", "kg": 70}
ADMIN = Actor("storage-admin", Role.ADMIN, Channel.CLI)
CLINICIAN = Actor("storage-clinician", Role.CLINICIAN, Channel.API)
VIEWER = Actor("storage-viewer", Role.VIEWER, Channel.PAGES)


def _json_equal(stored: PatientRecord, original: PatientRecord) -> None:
    """Identical JSON: the same values, and the same canonical text (where a negative zero is
    written as zero: storage keeps no sign on a zero)."""
    assert stored.to_json_dict() == original.to_json_dict()
    stored_text = json.dumps(stored.to_json_dict(), sort_keys=True)
    assert stored_text == json.dumps(_unsigned_zeros(original.to_json_dict()), sort_keys=True)


def _unsigned_zeros(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _unsigned_zeros(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_unsigned_zeros(value) for value in data]
    return 0.0 if isinstance(data, float) and data == 0.0 else data


def _audit_count(database: Database, **where: Any) -> int:
    with database.transaction() as session:
        query = select(func.count()).select_from(AuditEventRow)
        for column, value in where.items():
            query = query.where(getattr(AuditEventRow, column) == value)
        return int(session.scalar(query) or 0)


def test_upgrade_fresh_database_matches_the_table_models(database: Database) -> None:
    assert database.revision() == head_revision()
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_at_head_changes_nothing(database: Database) -> None:
    database.upgrade()
    assert database.revision() == head_revision()


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda path: path.stem)
def test_round_trip_example_record_exports_identical_json(database: Database, path: Path) -> None:
    original = parse_record_json(path.read_text(encoding="utf-8"))
    record = original.model_copy(update={"id": f"RT-{original.id}"})
    import_records(database, ADMIN, [record])
    (stored,) = export_records(database, ADMIN, [record.id])
    _json_equal(stored, record)


def test_round_trip_full_record_sets_every_field_of_every_part(database: Database) -> None:
    record = parse_record(FULL_RECORD)
    unset = sorted(_unset_fields(record))
    assert unset == [], f"FULL_RECORD (tests/integration/strategies.py) misses {unset}"
    create_patient(database, CLINICIAN, record)
    _json_equal(get_patient(database, VIEWER, record.id), record)


def _unset_fields(record: BaseModel) -> set[str]:
    """Fields of any model in the record's tree never set anywhere in it, so that a field
    added to the schema cannot slip past the storage tests."""
    seen: set[str] = set()
    every: set[str] = set()
    todo: list[BaseModel] = [record]
    while todo:
        model = todo.pop()
        for name in type(model).model_fields:
            label = f"{type(model).__name__}.{name}"
            every.add(label)
            value = getattr(model, name)
            if value is not None and value != () and value != {}:
                seen.add(label)
            parts = value.values() if isinstance(value, dict) else value
            iterable = parts if isinstance(value, dict | tuple) else (value,)
            todo.extend(part for part in iterable if isinstance(part, BaseModel))
    return every - seen


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=records())
def test_round_trip_generated_record_exports_identical_json(
    database: Database, data: dict[str, Any]
) -> None:
    record = parse_record(data)
    import_records(database, ADMIN, [record], replace=True)
    (stored,) = export_records(database, ADMIN, [record.id])
    _json_equal(stored, record)
    assert stored == record


def test_create_patient_existing_id_conflicts_and_stores_nothing(database: Database) -> None:
    record = parse_record({"id": "DUP-1", "sex": "male"})
    create_patient(database, CLINICIAN, record)
    before = _audit_count(database, patient_id="DUP-1")
    with pytest.raises(ConflictError):
        create_patient(database, CLINICIAN, record.model_copy(update={"sex": None}))
    assert get_patient(database, ADMIN, "DUP-1").sex is not None
    assert _audit_count(database, patient_id="DUP-1") == before + 1  # only the read above


def test_import_with_one_conflict_stores_none_of_the_batch(database: Database) -> None:
    create_patient(database, CLINICIAN, parse_record({"id": "BATCH-2"}))
    batch = [parse_record({"id": f"BATCH-{n}"}) for n in (1, 2, 3)]
    with pytest.raises(ConflictError):
        import_records(database, ADMIN, batch)
    for patient_id in ("BATCH-1", "BATCH-3"):
        with pytest.raises(NotFoundError):
            get_patient(database, ADMIN, patient_id)
    assert _audit_count(database, patient_id="BATCH-1") == 0


def test_import_same_id_twice_is_a_record_error(database: Database) -> None:
    batch = [parse_record({"id": "TWICE-1"}), parse_record({"id": "TWICE-1"})]
    with pytest.raises(RecordError) as raised:
        import_records(database, ADMIN, batch)
    assert [problem.pointer for problem in raised.value.problems] == ["/1/id"]


def test_import_replace_replaces_the_whole_record(database: Database) -> None:
    first = parse_record({"id": "REPL-1", "weights": [{"date": "2024-01-01", "kg": 70}]})
    second = parse_record({"id": "REPL-1", "alsfrs_r": [rating("2024-02-01", speech=2)]})
    import_records(database, ADMIN, [first])
    result = import_records(database, ADMIN, [second], replace=True)
    assert result.replaced == ("REPL-1",)
    _json_equal(get_patient(database, ADMIN, "REPL-1"), second)


def test_add_entry_date_before_birth_is_rejected_relative_to_the_entry(
    database: Database,
) -> None:
    create_patient(database, CLINICIAN, parse_record({"id": "BIRTH-1", "birth_date": "1960-01-01"}))
    entry = parse_entry("weights", {"date": "1959-12-31", "kg": 70})
    with pytest.raises(RecordError) as raised:
        add_entry(database, CLINICIAN, "BIRTH-1", "weights", entry)
    assert [p.pointer for p in raised.value.problems] == ["/date"]
    assert get_patient(database, ADMIN, "BIRTH-1").weights == ()
    assert _audit_count(database, patient_id="BIRTH-1", action=AuditAction.UPDATE) == 0


def test_add_entry_appends_in_order_and_counts_a_revision(database: Database) -> None:
    create_patient(database, CLINICIAN, parse_record({"id": "ADD-1"}))
    for day in (3, 1, 2):
        entry = parse_entry("alsfrs_r", rating(f"2024-01-0{day}", walking=day))
        add_entry(database, CLINICIAN, "ADD-1", "alsfrs_r", entry)
    stored = get_patient(database, ADMIN, "ADD-1")
    assert [r.date.day for r in stored.alsfrs_r] == [3, 1, 2]
    with database.transaction() as session:
        assert session.get(PatientRow, "ADD-1").revision == 4  # type: ignore[union-attr]
        ordinals = session.scalars(
            select(AlsfrsRatingRow.ordinal).where(AlsfrsRatingRow.patient_id == "ADD-1")
        ).all()
    assert sorted(ordinals) == [0, 1, 2]


def test_add_entry_unknown_patient_is_not_found(database: Database) -> None:
    entry = parse_entry("weights", {"date": "2024-01-01", "kg": 70})
    with pytest.raises(NotFoundError):
        add_entry(database, CLINICIAN, "NOBODY", "weights", entry)


def test_parse_entry_problems_point_inside_the_entry() -> None:
    with pytest.raises(RecordError) as raised:
        parse_entry("alsfrs_r", {"date": "2024-01-01", "items": {"speech": 7}})
    pointers = {problem.pointer for problem in raised.value.problems}
    assert "/items/speech" in pointers
    assert all(not pointer.startswith("/alsfrs_r") for pointer in pointers)
    assert isinstance(parse_entry("alsfrs_r", rating()), AlsfrsRating)
    assert isinstance(parse_entry("weights", {"date": "2024-01-01", "kg": 1}), WeightEntry)


@pytest.mark.parametrize(
    ("series", "entry", "pointer"),
    [
        ("tests", {"id": "mri_brain_spine", "finding": "cord\x00"}, "/finding"),
        ("medications", {"name": "\ud800"}, "/name"),
        ("tests", {"id": "vitamin_b12", "value": float("nan"), "unit": "pg/mL"}, "/value"),
        ("labs", {"id": "alt", "value": float("inf"), "unit": "U/L"}, "/value"),
    ],
)
def test_parse_entry_unstorable_values_are_rejected(
    series: str, entry: dict[str, Any], pointer: str
) -> None:
    with pytest.raises(RecordError) as raised:
        parse_entry(series, entry)
    assert [problem.pointer for problem in raised.value.problems] == [pointer]


def test_parse_entry_unknown_series_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        parse_entry("horoscopes", {})


def test_create_patient_with_nul_in_text_is_rejected(database: Database) -> None:
    record = parse_record(
        {"id": "NUL-1", "genetics": [{"gene": "SOD1", "result": "vus", "variant": "a\x00b"}]}
    )
    with pytest.raises(RecordError) as raised:
        create_patient(database, CLINICIAN, record)
    assert [p.pointer for p in raised.value.problems] == ["/genetics/0/variant"]
    with pytest.raises(NotFoundError):
        get_patient(database, ADMIN, "NUL-1")


def test_update_patient_replaces_fields_and_keeps_the_rest(database: Database) -> None:
    original = parse_record(FULL_RECORD).model_copy(update={"id": "UPD-1"})
    create_patient(database, CLINICIAN, original)
    exam = {"cervical": {"weakness": True}}
    updated = update_patient(database, CLINICIAN, "UPD-1", {"exam": exam, "care": None})
    stored = get_patient(database, ADMIN, "UPD-1")
    assert stored == updated
    assert stored.to_json_dict()["exam"] == exam
    assert stored.care is None
    assert stored.alsfrs_r == original.alsfrs_r


def test_update_patient_invalid_change_stores_nothing(database: Database) -> None:
    create_patient(database, CLINICIAN, parse_record({"id": "UPD-2", "birth_date": "1960-01-01"}))
    with pytest.raises(RecordError) as raised:
        update_patient(database, CLINICIAN, "UPD-2", {"diagnosis_date": "1950-01-01"})
    assert raised.value.problems[0].pointer == "/diagnosis_date"
    with pytest.raises(RecordError):
        update_patient(database, CLINICIAN, "UPD-2", {"id": "OTHER"})
    assert get_patient(database, ADMIN, "UPD-2").diagnosis_date is None


def test_viewer_cannot_write_and_nothing_is_stored(database: Database) -> None:
    with pytest.raises(PermissionDeniedError):
        create_patient(database, VIEWER, parse_record({"id": "VIEW-1"}))
    with pytest.raises(PermissionDeniedError):
        import_records(database, CLINICIAN, [parse_record({"id": "VIEW-2"})])
    with pytest.raises(NotFoundError):
        get_patient(database, ADMIN, "VIEW-1")


def test_reads_and_writes_each_write_one_audit_row(database: Database) -> None:
    create_patient(database, CLINICIAN, parse_record({"id": "AUD-1"}))
    get_patient(database, VIEWER, "AUD-1")
    add_entry(database, CLINICIAN, "AUD-1", "weights", parse_entry("weights", _WEIGHT))
    list_patients(database, VIEWER, search="aud-1")
    with database.transaction() as session:
        rows = session.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.patient_id == "AUD-1")
            .order_by(AuditEventRow.id)
        ).all()
    assert [(row.action, row.username, row.channel) for row in rows] == [
        ("create", "storage-clinician", "api"),
        ("read", "storage-viewer", "pages"),
        ("update", "storage-clinician", "api"),
        ("list", "storage-viewer", "pages"),
    ]
    assert all(row.at.tzinfo is not None for row in rows)


def test_list_patients_search_matches_part_of_the_id_in_any_case(database: Database) -> None:
    ids = ("LS_a-1", "LSxb-2", "ls_C-3")
    import_records(database, ADMIN, [parse_record({"id": i}) for i in ids])
    assert [p.id for p in list_patients(database, VIEWER, search="ls_")] == ["LS_a-1", "ls_C-3"]
    assert [p.id for p in list_patients(database, VIEWER, search="SXB")] == ["LSxb-2"]
    assert list_patients(database, VIEWER, search="%") == []
    assert list_patients(database, VIEWER, search="ls", limit=1, offset=1)[0].id == "LSxb-2"


def test_demo_records_are_the_examples() -> None:
    shipped = {record.id: record for record in demo_records()}
    examples = {
        record.id: record
        for record in (
            parse_record_json(p.read_text(encoding="utf-8")) for p in EXAMPLES.glob("*.json")
        )
    }
    assert shipped == examples


def test_seed_demo_stores_examples_once_and_renews_the_password(
    backend: Backend, database: Database
) -> None:
    settings = server_settings(backend.url)
    first = seed_demo(database, "first-password")
    add_entry(database, CLINICIAN, "P-0001", "weights", parse_entry("weights", _WEIGHT))
    second = seed_demo(database, "second-password")
    assert first.username == second.username == DEMO_USERNAME
    ids = [record.id for record in demo_records()]
    stored = export_records(database, ADMIN, ids)
    assert stored[1:] == demo_records()[1:]
    assert len(stored[0].weights) == len(demo_records()[0].weights) + 1  # not seeded again
    user = authenticate(database, DEMO_USERNAME, "second-password", settings, channel=Channel.PAGES)
    assert user.role is Role.CLINICIAN


def test_audit_times_are_utc(database: Database) -> None:
    create_patient(database, CLINICIAN, parse_record({"id": "UTC-1"}))
    with database.transaction() as session:
        at = session.scalar(select(AuditEventRow.at).where(AuditEventRow.patient_id == "UTC-1"))
    assert at is not None and at.utcoffset() == dt.timedelta(0)


def test_assessment_follows_every_write(database: Database, kb: KnowledgeBase) -> None:
    create_patient(database, CLINICIAN, parse_record({"id": "CACHE-1"}))
    as_of = dt.date(2025, 2, 1)
    before = assess_patient(database, VIEWER, "CACHE-1", as_of=as_of, kb=kb)
    assert assess_patient(database, VIEWER, "CACHE-1", as_of=as_of, kb=kb) is before
    add_entry(database, CLINICIAN, "CACHE-1", "alsfrs_r", parse_entry("alsfrs_r", rating()))
    after = assess_patient(database, VIEWER, "CACHE-1", as_of=as_of, kb=kb)
    assert before.scores.alsfrs_r is None
    assert after.scores.alsfrs_r is not None
    assert (
        after.to_json()
        == assess(get_patient(database, ADMIN, "CACHE-1"), as_of=as_of, kb=kb).to_json()
    )


def test_records_follow_writes_made_through_another_connection(database: Database) -> None:
    create_patient(database, CLINICIAN, parse_record({"id": "CACHE-2"}))
    assert get_patient(database, VIEWER, "CACHE-2").weights == ()
    other = Database(database.url.render_as_string(hide_password=False))  # like another process
    add_entry(other, CLINICIAN, "CACHE-2", "weights", parse_entry("weights", _WEIGHT))
    update_patient(other, CLINICIAN, "CACHE-2", {"sex": "female"})
    other.dispose()
    stored = get_patient(database, VIEWER, "CACHE-2")
    assert len(stored.weights) == 1
    assert stored.sex == "female"


@pytest.mark.parametrize(
    "url", ["mysql://user@host/db", "not a url at all", ""], ids=["mysql", "garbage", "empty"]
)
def test_database_url_other_than_sqlite_or_postgresql_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError):
        Database(url)


def test_database_url_postgresql_gets_the_psycopg_driver() -> None:
    assert database_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


def test_lru_cache_drops_the_least_recently_used() -> None:
    cache: LruCache[str, int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now "b" is the least recently used
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == (1, None, 3, 2)
