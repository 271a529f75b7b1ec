"""Records as append-only revisions of their v2 JSON, in place of the record v1 tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:00:00

Every patient stored in the v1 tables is converted: the record v1 is rebuilt from its rows (the
columns are the record's field names; lists keep ``ordinal`` order), validated with
``parse_record_v1``, upgraded to v2 with ``upgrade`` and stored as revision 1, written by
``alscare-migration`` at the time the patient last changed. A record that does not validate
stops the migration with its id and problems, and nothing is changed. The one v1 record that
``upgrade`` refuses, an age in a record with no date at all, keeps its age as the age on the day
the patient was created: the only date the rows know for it.

The steps keep SQLite from recreating a table that another references (that would delete the
referencing rows): ``patient_revisions`` gets its foreign key last, after the v1 tables are gone
and ``patients`` has been rebuilt without the columns only v1 needed.

There is no way back: a v2 record does not fit the v1 tables. ``downgrade`` refuses; restore a
backup made before the upgrade instead.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Final

import sqlalchemy as sa
from alembic import op

from alscare.errors import AlscareError, RecordError
from alscare.schemas.patient import PatientRecord
from alscare.schemas.patient_v1 import PatientRecordV1
from alscare.schemas.records import parse_record, parse_record_v1
from alscare.schemas.upgrade import upgrade as upgraded
from alscare.storage.repository import listing_columns, record_json

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MIGRATION_USER: Final = "alscare-migration"
MIGRATION_REASON: Final = "converted from the record v1 tables (schema migration 0002)"
_LISTING: Final = (
    sa.Column("name", sa.String(length=200), nullable=True),
    sa.Column("identifiers", sa.Text(), nullable=True),
    sa.Column("age_on", sa.Date(), nullable=True),
    sa.Column("symptom_onset_date", sa.Date(), nullable=True),
    sa.Column("onset_site", sa.String(length=16), nullable=True),
    sa.Column("death_date", sa.Date(), nullable=True),
    sa.Column("search_text", sa.Text(), nullable=True),
)
# The listing columns of ``patients`` at this revision (later ones fill their own).
_LISTED: Final = frozenset(
    {column.name for column in _LISTING} | {"sex", "birth_date", "age_years", "diagnosis_date"}
)
_V1_ONLY_COLUMNS: Final = (
    "height_cm",
    "jurisdiction",
    "progressive",
    "premorbid_weight_kg",
    "interventions_recorded",
)
_V1_SCALARS: Final = (
    "sex",
    "birth_date",
    "age_years",
    "height_cm",
    "jurisdiction",
    "diagnosis_date",
    "progressive",
    "premorbid_weight_kg",
)
# v1 object parts, one row each: record field -> table.
_V1_PARTS: Final = {
    "symptom_onset": "symptom_onsets",
    "family_history": "family_histories",
    "cognition": "cognition_assessments",
    "care": "care_plans",
}
# v1 series, one row per entry: record field -> table.
_V1_SERIES: Final = {
    "findings": "findings",
    "tests": "test_results",
    "genetics": "genetic_results",
    "medications": "medications",
    "labs": "lab_values",
    "weights": "weights",
    "respiratory": "respiratory_measurements",
    "alsfrs_r": "alsfrs_r_ratings",
}
# Children first, so that every table is dropped before the one it references.
_V1_TABLES: Final = (
    "respiratory_symptoms",
    "emg_regions",
    *_V1_SERIES.values(),
    "risk_factors",
    "exam_regions",
    "emg_studies",
    "interventions",
    *_V1_PARTS.values(),
)
# Columns that place a row rather than hold a record value, and the renamed ids.
_BOOKKEEPING: Final = frozenset({"id", "patient_id", "ordinal", "measurement_id"})
_IDS: Final = ("finding_id", "test_id", "lab_id")
_ALSFRS_FIELDS: Final = frozenset({"date", "gastrostomy"})


class MigrationRefusedError(AlscareError):
    """Raised when stored data cannot be converted, or a conversion cannot be undone."""


def upgrade() -> None:
    op.create_table(
        "patient_revisions",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_patient_revisions_revision_positive")),
        sa.PrimaryKeyConstraint("patient_id", "revision", name=op.f("pk_patient_revisions")),
    )
    for column in _LISTING:
        op.add_column("patients", column)
    _convert_patients(op.get_bind())
    for table in _V1_TABLES:
        op.drop_table(table)
    with op.batch_alter_table("patients", recreate="always") as batch:
        for name in _V1_ONLY_COLUMNS:
            batch.drop_column(name)
        batch.alter_column("search_text", existing_type=sa.Text(), nullable=False)
    with op.batch_alter_table("patient_revisions") as batch:
        batch.create_foreign_key(
            op.f("fk_patient_revisions_patient_id_patients"), "patients", ["patient_id"], ["id"]
        )


def downgrade() -> None:
    raise MigrationRefusedError(
        "schema revision 0002 cannot be undone: a record v2 does not fit the record v1 tables; "
        "restore a backup of the database made before the upgrade"
    )


# --- converting the stored patients -----------------------------------------------------------


def _convert_patients(connection: sa.Connection) -> None:
    tables = sa.MetaData()
    tables.reflect(connection, only=("patients", *_V1_TABLES))
    rows = _V1Rows(connection, tables)
    patients = tables.tables["patients"]
    # When the patient last changed, as read (naive UTC on SQLite), into a column of its type.
    patient_revisions = sa.table(
        "patient_revisions",
        *(sa.column(name) for name in ("patient_id", "revision", "record", "username", "reason")),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    for patient in connection.execute(sa.select(patients).order_by(patients.c.id)).mappings():
        record = _converted(patient, rows)
        connection.execute(
            patient_revisions.insert().values(
                patient_id=patient["id"],
                revision=1,
                record=record_json(record),
                created_at=patient["updated_at"],
                username=MIGRATION_USER,
                reason=MIGRATION_REASON,
            )
        )
        listing = {k: v for k, v in listing_columns(record).items() if k in _LISTED}
        connection.execute(
            patients.update().where(patients.c.id == patient["id"]).values(revision=1, **listing)
        )


def _converted(patient: sa.RowMapping, rows: _V1Rows) -> PatientRecord:
    patient_id = patient["id"]
    try:
        record = parse_record_v1(rows.record(patient))
        return _upgraded(record, _utc(patient["created_at"]).date())
    except RecordError as error:
        raise MigrationRefusedError(
            f"patient {patient_id!r} in the record v1 tables is not a valid record ({error}); "
            "nothing was converted"
        ) from None


def _upgraded(record: PatientRecordV1, created_on: dt.date) -> PatientRecord:
    try:
        return upgraded(record)
    except RecordError as error:
        if [problem.pointer for problem in error.problems] != ["/age_years"]:
            raise
    # The age of a record with no date: the age on the day the patient was created.
    ageless = upgraded(record.model_copy(update={"age_years": None}))
    data = {**ageless.to_json_dict(), "age_years": record.age_years, "age_on": created_on}
    return parse_record(data)


def _utc(moment: dt.datetime) -> dt.datetime:
    """SQLite gives the stored UTC time without its zone."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


class _V1Rows:
    """The rows of the v1 tables by patient, read once, in list order."""

    def __init__(self, connection: sa.Connection, tables: sa.MetaData) -> None:
        self._by_patient = {
            name: _grouped(connection, tables.tables[name])
            for name in _V1_TABLES
            if name not in ("respiratory_symptoms", "emg_regions")
        }
        self._emg_regions = _grouped(connection, tables.tables["emg_regions"])
        symptoms: defaultdict[int, list[str]] = defaultdict(list)
        table = tables.tables["respiratory_symptoms"]
        query = sa.select(table).order_by(table.c.measurement_id, table.c.ordinal)
        for row in connection.execute(query).mappings():
            symptoms[row["measurement_id"]].append(row["symptom"])
        self._symptoms = symptoms

    def _of(self, table: str, patient_id: str) -> list[sa.RowMapping]:
        return self._by_patient[table].get(patient_id, [])

    def record(self, patient: sa.RowMapping) -> dict[str, Any]:
        """The record v1 of one patient, as JSON-shaped data."""
        patient_id = patient["id"]
        data: dict[str, Any] = {"schema": "alscare.patient/v1", "id": patient_id}
        data.update(_values(patient, keep=_V1_SCALARS))
        for field, table in _V1_PARTS.items():
            for part in self._of(table, patient_id):
                data[field] = _values(part)
        exam = self._of("exam_regions", patient_id)
        if exam:
            data["exam"] = _regions(exam, "examined")
        for study in self._of("emg_studies", patient_id):
            regions = _regions(self._emg_regions.get(patient_id, []), "studied")
            data["emg"] = {**_values(study), "regions": regions}
        factors = self._of("risk_factors", patient_id)
        if factors:
            data["risk_factors"] = [row["risk_factor_id"] for row in factors]
        for field, table in _V1_SERIES.items():
            entries = self._of(table, patient_id)
            if entries:
                data[field] = [self._entry(field, row) for row in entries]
        if patient["interventions_recorded"]:
            data["interventions"] = {
                row["kind"]: _values(row, drop=("kind",))
                for row in self._of("interventions", patient_id)
            }
        return data

    def _entry(self, field: str, row: sa.RowMapping) -> dict[str, Any]:
        if field == "alsfrs_r":
            return {
                **_values(row, keep=_ALSFRS_FIELDS),
                "items": _values(row, drop=_ALSFRS_FIELDS),
            }
        values = _values(row)
        if field == "respiratory" and self._symptoms.get(row["id"]):
            values["symptoms"] = self._symptoms[row["id"]]
        return values


def _grouped(connection: sa.Connection, table: sa.Table) -> dict[str, list[sa.RowMapping]]:
    order = [table.c.patient_id, *([table.c.ordinal] if "ordinal" in table.c else [])]
    grouped: defaultdict[str, list[sa.RowMapping]] = defaultdict(list)
    for row in connection.execute(sa.select(table).order_by(*order)).mappings():
        grouped[row["patient_id"]].append(row)
    return grouped


def _regions(rows: Iterable[sa.RowMapping], done: str) -> dict[str, Any]:
    """Exam or EMG regions in order; a region stored as not examined (not studied) is null."""
    return {
        row["region"]: _values(row, drop=("region", done)) if row[done] else None for row in rows
    }


def _values(
    row: sa.RowMapping, *, keep: Iterable[str] | None = None, drop: Iterable[str] = ()
) -> dict[str, Any]:
    """A row's record fields that hold a value (the v1 ids renamed back to ``id``)."""
    kept = set(keep) if keep is not None else None
    skipped = _BOOKKEEPING | set(drop)
    values: dict[str, Any] = {}
    for name, value in row.items():
        if value is None or name in skipped or (kept is not None and name not in kept):
            continue
        values["id" if name in _IDS else name] = value
    return values
