"""Storage on real SQLite and PostgreSQL: the schema, the record round trip, revisions appended
by every write, transactions, the audit rows written with the work, the refusal of dates after
today, and demo seeding. The migration from the record v1 tables is in ``test_migration.py``."""

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
from sqlalchemy import func, select, update

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
from alscare.demo import DEMO_ADMIN_USERNAME, DEMO_USERNAME, dated_for, demo_records, seed_demo
from alscare.schemas.common import WeightEntry
from alscare.schemas.patient import AlsfrsRating, Examination
from alscare.schemas.records import parse_record_v1
from alscare.schemas.upgrade import upgrade
from alscare.services import (
    ENTRY_MODELS,
    FUTURE_DATE,
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
    today,
    update_patient,
)
from alscare.storage.audit import AuditAction
from alscare.storage.cache import LruCache
from alscare.storage.database import Database, database_url, head_revision
from alscare.storage.repository import StoredRecordError, record_json
from alscare.storage.security import Actor, Channel, Role, authenticate
from alscare.storage.tables import AuditEventRow, Base, PatientRevisionRow, PatientRow
from tests.conftest_server import Backend
from tests.integration.strategies import FULL_RECORD, FULL_RECORD_V1, rating, records

EXAMPLES = Path(__file__).parents[2] / "examples"
_WEIGHT = {"date": "2025-01-01", "kg": 70}
ADMIN = Actor("storage-admin", Role.ADMIN, Channel.CLI)
CLINICIAN = Actor("storage-clinician", Role.CLINICIAN, Channel.API)
VIEWER = Actor("storage-viewer", Role.VIEWER, Channel.PAGES)


def _json_equal(stored: PatientRecord, original: PatientRecord) -> None:
    """The same record and the same canonical JSON text (a stored revision is that text)."""
    assert stored == original
    assert record_json(stored) == record_json(original)


def _revisions(database: Database, patient_id: str) -> list[PatientRevisionRow]:
    with database.transaction() as session:
        query = (
            select(PatientRevisionRow)
            .where(PatientRevisionRow.patient_id == patient_id)
            .order_by(PatientRevisionRow.revision)
        )
        return list(session.scalars(query))


def _current_revision(database: Database, patient_id: str) -> int:
    with database.transaction() as session:
        revision = session.scalar(select(PatientRow.revision).where(PatientRow.id == patient_id))
    assert revision is not None
    return revision


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


def test_record_v1_is_stored_as_its_upgraded_record_v2(database: Database) -> None:
    create_patient(database, CLINICIAN, parse_record(FULL_RECORD_V1))
    expected = upgrade(parse_record_v1(FULL_RECORD_V1))
    _json_equal(get_patient(database, VIEWER, "FULL-1"), expected)
    (revision,) = _revisions(database, "FULL-1")
    stored = json.loads(revision.record)
    assert stored["schema"] == "alscare.patient/v2"
    assert "exam" not in stored and "emg" not in stored and stored["examinations"]


def test_create_patient_existing_id_conflicts_and_stores_nothing(database: Database) -> None:
    record = parse_record({"id": "DUP-1", "sex": "male"})
    create_patient(database, CLINICIAN, record)
    before = _audit_count(database, patient_id="DUP-1")
    with pytest.raises(ConflictError):
        create_patient(database, CLINICIAN, record.model_copy(update={"sex": None}))
    assert get_patient(database, ADMIN, "DUP-1").sex is not None
    # the refused create and the read above
    assert _audit_count(database, patient_id="DUP-1") == before + 2
    assert _audit_count(database, patient_id="DUP-1", action=AuditAction.REFUSED) == 1


def test_import_with_one_conflict_stores_none_of_the_batch(database: Database) -> None:
    create_patient(database, CLINICIAN, parse_record({"id": "BATCH-2"}))
    batch = [parse_record({"id": f"BATCH-{n}"}) for n in (1, 2, 3)]
    with pytest.raises(ConflictError):
        import_records(database, ADMIN, batch)
    for patient_id in ("BATCH-1", "BATCH-3"):
        with pytest.raises(NotFoundError):
            get_patient(database, ADMIN, patient_id)
    assert _audit_count(database, patient_id="BATCH-1", action=AuditAction.CREATE) == 0


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


def test_add_entry_appends_in_order_as_a_new_revision(database: Database) -> None:
    create_patient(database, CLINICIAN, parse_record({"id": "ADD-1"}))
    for day in (3, 1, 2):
        entry = parse_entry("alsfrs_r", rating(f"2024-01-0{day}", walking=day))
        add_entry(database, CLINICIAN, "ADD-1", "alsfrs_r", entry)
    stored = get_patient(database, ADMIN, "ADD-1")
    assert [r.date.day for r in stored.alsfrs_r] == [3, 1, 2]
    assert _current_revision(database, "ADD-1") == 4
    assert [
        len(json.loads(r.record).get("alsfrs_r", [])) for r in _revisions(database, "ADD-1")
    ] == [
        0,
        1,
        2,
        3,
    ]


def test_every_write_appends_a_revision_and_never_changes_one(database: Database) -> None:
    """create, add an entry, update, import (replace): four revisions, each the record as that
    write left it, written by its actor; the earlier ones untouched."""
    create_patient(database, CLINICIAN, parse_record({"id": "REV-1", "sex": "female"}))
    first = _revisions(database, "REV-1")
    add_entry(database, CLINICIAN, "REV-1", "weights", parse_entry("weights", _WEIGHT))
    update_patient(database, CLINICIAN, "REV-1", {"identity": {"name": "Ada Example"}})
    replacement = parse_record({"schema": "alscare.patient/v2", "id": "REV-1", "sex": "male"})
    import_records(database, ADMIN, [replacement], replace=True)
    revisions = _revisions(database, "REV-1")
    assert [(r.revision, r.username, r.reason) for r in revisions] == [
        (1, "storage-clinician", None),
        (2, "storage-clinician", None),
        (3, "storage-clinician", None),
        (4, "storage-admin", None),
    ]
    assert [(r.revision, r.record, r.created_at) for r in revisions[:1]] == [
        (r.revision, r.record, r.created_at) for r in first
    ]
    records = [parse_record_json(revision.record) for revision in revisions]
    assert [len(record.weights) for record in records] == [0, 1, 1, 0]
    assert [record.identity.name if record.identity else None for record in records] == [
        None,
        None,
        "Ada Example",
        None,
    ]
    assert all(r.created_at.utcoffset() == dt.timedelta(0) for r in revisions)
    assert revisions == sorted(revisions, key=lambda r: r.created_at)
    assert get_patient(database, VIEWER, "REV-1") == records[-1] == replacement
    assert _current_revision(database, "REV-1") == 4


def test_rejected_write_adds_no_revision(database: Database) -> None:
    create_patient(database, CLINICIAN, parse_record({"id": "REV-2", "birth_date": "1960-01-01"}))
    with pytest.raises(RecordError):
        update_patient(database, CLINICIAN, "REV-2", {"diagnosis_date": "1950-01-01"})
    with pytest.raises(RecordError):
        add_entry(database, CLINICIAN, "REV-2", "weights", parse_entry("weights", {
            "date": "1959-01-01", "kg": 70
        }))  # fmt: skip
    assert [r.revision for r in _revisions(database, "REV-2")] == [1]
    assert _current_revision(database, "REV-2") == 1


@pytest.mark.parametrize("series", sorted(ENTRY_MODELS))
def test_add_entry_to_every_series_of_the_record_v2(database: Database, series: str) -> None:
    patient_id = f"SERIES-{series}"
    create_patient(database, CLINICIAN, parse_record({"id": patient_id}))
    (entry_json,) = FULL_RECORD[series][-1:]
    entry = parse_entry(series, entry_json)
    assert isinstance(entry, ENTRY_MODELS[series])
    updated = add_entry(database, CLINICIAN, patient_id, series, entry)
    assert getattr(get_patient(database, VIEWER, patient_id), series) == (entry,)
    assert getattr(updated, series) == (entry,)


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
    exam = parse_entry("examinations", {"date": "2024-01-01", "regions": {"bulbar": {}}})
    assert isinstance(exam, Examination)


def test_parse_entry_takes_v2_entries_only() -> None:
    """A visit adds a record v2 entry: a v1 rating without ``gastrostomy`` says what is
    missing, rather than a 5a being assumed for a new rating."""
    v1_rating = {key: value for key, value in rating().items() if key != "gastrostomy"}
    with pytest.raises(RecordError) as raised:
        parse_entry("alsfrs_r", v1_rating)
    assert [p.pointer for p in raised.value.problems] == ["/gastrostomy"]
    with pytest.raises(NotFoundError):
        parse_entry("exam", {"cervical": {}})


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
    exams = [{"date": "2024-02-01", "regions": {"cervical": {"weakness": True}}}]
    changes = {"examinations": exams, "care": None}
    updated = update_patient(database, CLINICIAN, "UPD-1", changes, reason="re-examined")
    stored = get_patient(database, ADMIN, "UPD-1")
    assert stored == updated
    assert stored.to_json_dict()["examinations"] == exams
    assert stored.care == ()
    assert stored.alsfrs_r == original.alsfrs_r


def test_update_patient_with_a_v1_field_says_what_v2_calls_it(database: Database) -> None:
    create_patient(database, CLINICIAN, parse_record({"id": "UPD-3"}))
    with pytest.raises(RecordError) as raised:
        update_patient(database, CLINICIAN, "UPD-3", {"exam": {"cervical": {}}})
    (problem,) = raised.value.problems
    assert problem.pointer == "/exam" and "'examinations'" in problem.reason


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
    # "lsq" is in no other test's patient: the database is shared by the whole session
    ids = ("LSQ_a-1", "LSQxb-2", "lsq_C-3")
    import_records(database, ADMIN, [parse_record({"id": i}) for i in ids])
    assert [p.id for p in list_patients(database, VIEWER, search="lsq_")] == ["LSQ_a-1", "lsq_C-3"]
    assert [p.id for p in list_patients(database, VIEWER, search="SQXB")] == ["LSQxb-2"]
    # a literal %, not a wildcard: none of these ids has one (other tests' patients may)
    assert not {p.id for p in list_patients(database, VIEWER, search="%")} & set(ids)
    assert list_patients(database, VIEWER, search="lsq", limit=1, offset=1)[0].id == "LSQxb-2"


def test_list_patients_searches_names_and_numbers_of_the_current_revision(
    database: Database,
) -> None:
    identity = {"name": "Ölga Ñúñez", "identifiers": [{"system": "MRN", "value": "XQ-77123"}]}
    record = parse_record(
        {
            "schema": "alscare.patient/v2",
            "id": "LS-NAME-1",
            "identity": identity,
            "sex": "female",
            "age_years": 66,
            "age_on": "2024-11-20",
            "symptom_onset": {"date": "2024-01-05", "site": "bulbar"},
            "death": {"date": "2025-02-01"},
        }
    )
    create_patient(database, CLINICIAN, record)
    (listed,) = list_patients(database, VIEWER, search="ÖLGA ñ")  # any case, beyond ASCII
    assert (listed.id, listed.name, listed.identifiers) == (
        "LS-NAME-1",
        "Ölga Ñúñez",
        "MRN XQ-77123",
    )
    assert (listed.age_years, listed.age_on) == (66, dt.date(2024, 11, 20))
    assert (listed.symptom_onset_date, listed.onset_site) == (dt.date(2024, 1, 5), "bulbar")
    assert (listed.death_date, listed.revision) == (dt.date(2025, 2, 1), 1)
    assert [p.id for p in list_patients(database, VIEWER, search="xq-771")] == ["LS-NAME-1"]
    rename = {"identity": {"name": "Olga Nunez"}}
    update_patient(database, CLINICIAN, "LS-NAME-1", rename, reason="name as in the passport")
    assert list_patients(database, VIEWER, search="ölga") == []
    (renamed,) = list_patients(database, VIEWER, search="olga nu")
    assert (renamed.identifiers, renamed.revision) == (None, 2)


# --- entries may not be dated after the day they are stored ---------------------------------


def test_create_patient_with_a_date_after_today_is_refused_at_its_pointer(
    database: Database,
) -> None:
    record = parse_record(
        {
            "schema": "alscare.patient/v2",
            "id": "FUT-1",
            "age_years": 60,
            "age_on": "2999-01-01",
            "weights": [{"date": "2024-01-01", "kg": 70}, {"date": "2999-02-01", "kg": 71}],
            "death": {"date": "2999-03-01"},
        }
    )
    with pytest.raises(RecordError) as raised:
        create_patient(database, CLINICIAN, record)
    assert [(p.pointer, p.reason) for p in raised.value.problems] == [
        ("/age_on", FUTURE_DATE),
        ("/death/date", FUTURE_DATE),
        ("/weights/1/date", FUTURE_DATE),
    ]
    unborn = parse_record({"id": "FUT-1", "birth_date": "2999-01-01"})
    with pytest.raises(RecordError) as raised:
        create_patient(database, CLINICIAN, unborn)
    assert [p.pointer for p in raised.value.problems] == ["/birth_date"]
    with pytest.raises(NotFoundError):
        get_patient(database, ADMIN, "FUT-1")


def test_add_entry_dated_after_today_is_refused_relative_to_the_entry(
    database: Database,
) -> None:
    create_patient(database, CLINICIAN, parse_record({"id": "FUT-2"}))
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    for series, entry, pointer in (
        ("weights", {"date": tomorrow, "kg": 70}, "/date"),
        ("medications", {"name": "riluzole", "since": "2024-01-01", "until": tomorrow}, "/until"),
        ("examinations", {"date": tomorrow, "regions": {"bulbar": {}}}, "/date"),
    ):
        with pytest.raises(RecordError) as raised:
            add_entry(database, CLINICIAN, "FUT-2", series, parse_entry(series, entry))
        assert [(p.pointer, p.reason) for p in raised.value.problems] == [(pointer, FUTURE_DATE)]
    assert [r.revision for r in _revisions(database, "FUT-2")] == [1]
    dated_today = parse_entry("weights", {"date": today().isoformat(), "kg": 70})
    stored = add_entry(database, CLINICIAN, "FUT-2", "weights", dated_today)
    assert stored.weights == (dated_today,)


def test_update_and_import_with_a_date_after_today_store_nothing(database: Database) -> None:
    create_patient(database, CLINICIAN, parse_record({"id": "FUT-3"}))
    with pytest.raises(RecordError) as raised:
        update_patient(database, CLINICIAN, "FUT-3", {"diagnosis_date": "2999-01-01"})
    assert [p.pointer for p in raised.value.problems] == ["/diagnosis_date"]
    batch = [
        parse_record({"id": "FUT-4"}),
        parse_record({"id": "FUT-3", "symptom_onset": {"date": "2999-01-01"}}),
    ]
    with pytest.raises(RecordError) as raised:
        import_records(database, ADMIN, batch, replace=True)
    assert [p.pointer for p in raised.value.problems] == ["/1/symptom_onset/date"]
    assert [r.revision for r in _revisions(database, "FUT-3")] == [1]
    with pytest.raises(NotFoundError):
        get_patient(database, ADMIN, "FUT-4")


def test_stored_revision_that_no_longer_validates_is_a_server_fault(database: Database) -> None:
    """Not a RecordError: the API must not blame the request (it answers 500, not 422)."""
    create_patient(database, CLINICIAN, parse_record({"id": "BAD-REV-1"}))
    with database.transaction() as session:
        session.execute(
            update(PatientRevisionRow)
            .where(PatientRevisionRow.patient_id == "BAD-REV-1")
            .values(record='{"schema": "alscare.patient/v2", "id": "BAD-REV-1", "sex": "robot"}')
        )
    fresh = Database(str(database.url.render_as_string(hide_password=False)))  # no cached copy
    with pytest.raises(StoredRecordError) as raised:
        get_patient(fresh, VIEWER, "BAD-REV-1")
    fresh.dispose()
    assert not isinstance(raised.value, RecordError)
    assert "revision 1 of patient 'BAD-REV-1'" in str(raised.value)


_ADMIN_PW = {"admin_password": "admin-demo-password"}


def test_demo_records_are_the_examples() -> None:
    shipped = {record.id: record for record in demo_records()}
    examples = {
        record.id: record
        for record in (
            parse_record_json(p.read_text(encoding="utf-8")) for p in EXAMPLES.glob("*.json")
        )
    }
    assert shipped == examples


def test_seed_demo_stores_examples_once_and_renews_the_passwords(
    backend: Backend, database: Database
) -> None:
    today = dt.date(2026, 12, 3)
    first, _ = seed_demo(database, today=today, clinician_password="first-password", **_ADMIN_PW)
    add_entry(database, CLINICIAN, "P-0001", "weights", parse_entry("weights", _WEIGHT))
    second, admin = seed_demo(
        database, today=today, clinician_password="second-password", **_ADMIN_PW
    )
    assert first.username == second.username == DEMO_USERNAME
    assert (admin.username, admin.role) == (DEMO_ADMIN_USERNAME, Role.ADMIN)
    dated = [dated_for(record, today) for record in demo_records()]
    stored = export_records(database, ADMIN, [record.id for record in dated])
    assert stored[1:] == dated[1:]
    assert len(stored[0].weights) == len(dated[0].weights) + 1  # not seeded again
    assert [r.revision for r in _revisions(database, stored[0].id)] == [1, 2]
    user = authenticate(database, DEMO_USERNAME, "second-password", channel=Channel.PAGES)
    assert user.role is Role.CLINICIAN
    admin_user = authenticate(
        database, DEMO_ADMIN_USERNAME, _ADMIN_PW["admin_password"], channel=Channel.API
    )
    assert admin_user.role is Role.ADMIN


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
