"""Patient records in and out of the tables: record v1 -> rows, rows -> record v1, and queries.

The mapping is mechanical because column names are the record's field names (three renames:
a finding's, test's and lab's ``id`` is ``finding_id``, ``test_id``, ``lab_id``). The rebuilt
record goes through :func:`~alscare.schemas.patient.parse_record`, so what the engine sees is
exactly what the tables hold, validated like any other input. Functions take an open session
and never commit: the caller (:mod:`alscare.services`) owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from alscare.errors import RecordError
from alscare.schemas.patient import (
    PATIENT_SCHEMA,
    AlsfrsRating,
    Care,
    Cognition,
    Emg,
    EmgRegion,
    ExamRegion,
    FamilyHistory,
    Finding,
    GeneticResultEntry,
    Intervention,
    LabValue,
    Medication,
    PatientRecord,
    RespiratoryMeasurement,
    SymptomOnset,
    TestEntry,
    WeightEntry,
    parse_record,
)
from alscare.schemas.vocabulary import AlsfrsItem
from alscare.storage.tables import (
    AlsfrsRatingRow,
    CareRow,
    CognitionRow,
    EmgRegionRow,
    EmgStudyRow,
    ExamRegionRow,
    FamilyHistoryRow,
    FindingRow,
    GeneticResultRow,
    InterventionRow,
    LabValueRow,
    MedicationRow,
    PatientRow,
    RespiratoryMeasurementRow,
    RespiratorySymptomRow,
    RiskFactorRow,
    SymptomOnsetRow,
    TestResultRow,
    WeightRow,
)

__all__ = [
    "SERIES_ROWS",
    "PatientListing",
    "append_entry",
    "count_revision",
    "delete_patient",
    "entry_row",
    "patient_exists",
    "patient_listing",
    "patient_revision",
    "patient_row",
    "record_from_row",
    "replace_patient",
    "stored_ids",
    "stored_record",
    "stored_records",
]

# Record fields that are lists of dated entries a visit may add to, and their tables.
SERIES_ROWS: Final[Mapping[str, type[Any]]] = {
    "alsfrs_r": AlsfrsRatingRow,
    "respiratory": RespiratoryMeasurementRow,
    "weights": WeightRow,
    "tests": TestResultRow,
    "findings": FindingRow,
    "genetics": GeneticResultRow,
    "medications": MedicationRow,
    "labs": LabValueRow,
}
_SCALARS: Final = (
    "sex",
    "birth_date",
    "age_years",
    "height_cm",
    "jurisdiction",
    "diagnosis_date",
    "progressive",
    "premorbid_weight_kg",
)
_INTERVENTIONS: Final = ("niv", "gastrostomy", "tracheostomy")
_RENAMED_IDS: Final[Mapping[type[BaseModel], str]] = {
    Finding: "finding_id",
    TestEntry: "test_id",
    LabValue: "lab_id",
}
_Row = TypeVar("_Row")


def _plain(value: Any) -> Any:
    """A value as a column holds it: enum members become their string value, and a negative
    zero becomes zero (SQLite cannot keep the sign of a zero; both backends store the same)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float) and value == 0.0:
        return 0.0
    return value


def _columns(model: BaseModel, *, skip: Iterable[str] = ()) -> dict[str, Any]:
    """Column values from a record part, by field name (with the id renames)."""
    renamed = _RENAMED_IDS.get(type(model))
    values = {
        (renamed if renamed and name == "id" else name): _plain(getattr(model, name))
        for name in type(model).model_fields
        if name not in skip
    }
    return values


def _fields(row: object, model: type[BaseModel], *, skip: Iterable[str] = ()) -> dict[str, Any]:
    """Record fields from a row: the inverse of :func:`_columns`, leaving out nulls."""
    renamed = _RENAMED_IDS.get(model)
    values: dict[str, Any] = {}
    for name in model.model_fields:
        if name in skip:
            continue
        value = getattr(row, renamed if renamed and name == "id" else name)
        if value is not None:
            values[name] = value
    return values


def entry_row(series: str, entry: BaseModel, ordinal: int, patient_id: str | None = None) -> Any:
    """The row of one entry of a series (``alsfrs_r``, ``weights``, ...) at its place."""
    keys: dict[str, Any] = {"ordinal": ordinal}
    if patient_id is not None:
        keys["patient_id"] = patient_id
    if isinstance(entry, AlsfrsRating):
        items = {item.value: score for item, score in entry.items.items()}
        return AlsfrsRatingRow(**keys, date=entry.date, gastrostomy=entry.gastrostomy, **items)
    if isinstance(entry, RespiratoryMeasurement):
        symptoms = [
            RespiratorySymptomRow(ordinal=i, symptom=symptom.value)
            for i, symptom in enumerate(entry.symptoms)
        ]
        return RespiratoryMeasurementRow(
            **keys, **_columns(entry, skip=("symptoms",)), symptoms=symptoms
        )
    return SERIES_ROWS[series](**keys, **_columns(entry))


def patient_row(record: PatientRecord, *, now: dt.datetime) -> PatientRow:
    """The rows that store one record, ready to add to a session."""
    row = PatientRow(
        id=record.id,
        **{name: _plain(getattr(record, name)) for name in _SCALARS},
        interventions_recorded=record.interventions is not None,
        revision=1,
        created_at=now,
        updated_at=now,
    )
    if record.symptom_onset is not None:
        row.symptom_onset = SymptomOnsetRow(**_columns(record.symptom_onset))
    if record.family_history is not None:
        row.family_history = FamilyHistoryRow(**_columns(record.family_history))
    if record.cognition is not None:
        row.cognition = CognitionRow(**_columns(record.cognition))
    if record.care is not None:
        row.care = CareRow(**_columns(record.care))
    row.exam = [
        ExamRegionRow(
            ordinal=i,
            region=region.value,
            examined=signs is not None,
            **(_columns(signs) if signs is not None else {}),
        )
        for i, (region, signs) in enumerate(record.exam.items())
    ]
    if record.emg is not None:
        row.emg = EmgStudyRow(
            **_columns(record.emg, skip=("regions",)),
            regions=[
                EmgRegionRow(
                    ordinal=i,
                    region=region.value,
                    studied=study is not None,
                    **(_columns(study) if study is not None else {}),
                )
                for i, (region, study) in enumerate(record.emg.regions.items())
            ],
        )
    row.risk_factors = [
        RiskFactorRow(ordinal=i, risk_factor_id=factor.value)
        for i, factor in enumerate(record.risk_factors)
    ]
    for series in SERIES_ROWS:
        entries: Sequence[BaseModel] = getattr(record, series)
        setattr(row, series, [entry_row(series, entry, i) for i, entry in enumerate(entries)])
    if record.interventions is not None:
        row.interventions = [
            InterventionRow(kind=kind, **_columns(intervention))
            for kind in _INTERVENTIONS
            if (intervention := getattr(record.interventions, kind)) is not None
        ]
    return row


def record_from_row(row: PatientRow) -> PatientRecord:
    """Rebuild the record v1 from its rows (validated like any input)."""
    data: dict[str, Any] = {"schema": PATIENT_SCHEMA, "id": row.id}
    data.update((name, value) for name in _SCALARS if (value := getattr(row, name)) is not None)
    parts: dict[str, tuple[object | None, type[BaseModel]]] = {
        "symptom_onset": (row.symptom_onset, SymptomOnset),
        "family_history": (row.family_history, FamilyHistory),
        "cognition": (row.cognition, Cognition),
        "care": (row.care, Care),
    }
    for name, (part, model) in parts.items():
        if part is not None:
            data[name] = _fields(part, model)
    if row.exam:
        data["exam"] = {
            exam.region: _fields(exam, ExamRegion) if exam.examined else None for exam in row.exam
        }
    if row.emg is not None:
        data["emg"] = _emg_fields(row.emg)
    if row.risk_factors:
        data["risk_factors"] = [factor.risk_factor_id for factor in row.risk_factors]
    for series in SERIES_ROWS:
        entries = getattr(row, series)
        if entries:
            data[series] = [_entry_fields(entry) for entry in entries]
    if row.interventions_recorded:
        data["interventions"] = {
            intervention.kind: _fields(intervention, Intervention)
            for intervention in row.interventions
        }
    try:
        return parse_record(data)
    except RecordError as error:  # pragma: no cover - only a schema/model mismatch gets here
        raise AssertionError(f"stored patient does not rebuild: {error}") from None


def _emg_fields(study: EmgStudyRow) -> dict[str, Any]:
    fields = _fields(study, Emg, skip=("regions",))
    fields["regions"] = {
        region.region: _fields(region, EmgRegion) if region.studied else None
        for region in study.regions
    }
    return fields


def _entry_fields(row: object) -> dict[str, Any]:
    if isinstance(row, AlsfrsRatingRow):
        fields = _fields(row, AlsfrsRating, skip=("items",))
        fields["items"] = {item.value: getattr(row, item.value) for item in AlsfrsItem}
        return fields
    if isinstance(row, RespiratoryMeasurementRow):
        fields = _fields(row, RespiratoryMeasurement, skip=("symptoms",))
        if row.symptoms:
            fields["symptoms"] = [symptom.symptom for symptom in row.symptoms]
        return fields
    return _fields(row, _ENTRY_MODELS[type(row)])


_ENTRY_MODELS: Final[Mapping[type[Any], type[BaseModel]]] = {
    WeightRow: WeightEntry,
    TestResultRow: TestEntry,
    FindingRow: Finding,
    GeneticResultRow: GeneticResultEntry,
    MedicationRow: Medication,
    LabValueRow: LabValue,
}


def stored_record(session: Session, patient_id: str) -> PatientRecord | None:
    """The record of one patient, or None when there is no such patient."""
    row = session.get(PatientRow, patient_id)
    return record_from_row(row) if row is not None else None


def stored_records(session: Session, patient_ids: Sequence[str]) -> list[PatientRecord]:
    """Records of the given patients, in the order given (unknown ids are left out)."""
    rows = session.scalars(select(PatientRow).where(PatientRow.id.in_(patient_ids))).all()
    by_id = {row.id: row for row in rows}
    return [record_from_row(by_id[pid]) for pid in patient_ids if pid in by_id]


def stored_ids(session: Session) -> list[str]:
    """Every stored patient id, sorted."""
    return list(session.scalars(select(PatientRow.id).order_by(PatientRow.id)))


def patient_exists(session: Session, patient_id: str) -> bool:
    return session.scalar(select(PatientRow.id).where(PatientRow.id == patient_id)) is not None


def patient_revision(session: Session, patient_id: str, *, lock: bool = False) -> int | None:
    """The patient's revision (None when unknown); ``lock`` holds the row for this transaction.

    Writers to one patient queue on the lock (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
    takes the database write lock at BEGIN IMMEDIATE), so list positions never collide.
    """
    query = select(PatientRow.revision).where(PatientRow.id == patient_id)
    return session.scalar(query.with_for_update() if lock else query)


def count_revision(session: Session, patient_id: str, *, now: dt.datetime) -> None:
    """Record that a locked patient changed: the next revision, and when."""
    session.execute(
        update(PatientRow)
        .where(PatientRow.id == patient_id)
        .values(revision=PatientRow.revision + 1, updated_at=now)
    )


def append_entry(session: Session, patient_id: str, series: str, entry: BaseModel) -> None:
    """Add one entry at the end of a series of a patient locked by :func:`patient_revision`."""
    table = SERIES_ROWS[series]
    last = session.scalar(select(func.max(table.ordinal)).where(table.patient_id == patient_id))
    session.add(entry_row(series, entry, 0 if last is None else last + 1, patient_id))


def replace_patient(session: Session, record: PatientRecord, *, now: dt.datetime) -> None:
    """Store a new version of a patient's whole record (same id) at the next revision,
    keeping when it was created. Call it on a patient locked by :func:`patient_revision`.
    """
    created, revision = session.execute(
        select(PatientRow.created_at, PatientRow.revision).where(PatientRow.id == record.id)
    ).one()
    session.flush()
    session.expunge_all()  # the old rows must not shadow the new ones with the same keys
    delete_patient(session, record.id)
    row = patient_row(record, now=now)
    row.created_at = created
    row.revision = revision + 1
    session.add(row)
    session.flush()


def delete_patient(session: Session, patient_id: str) -> None:
    """Delete a patient and every row of its record (foreign keys cascade)."""
    session.execute(delete(PatientRow).where(PatientRow.id == patient_id))


class PatientListing(BaseModel):
    """One line of the patient list: identification and dates, no clinical values."""

    model_config = ConfigDict(frozen=True)

    id: str
    sex: str | None
    birth_date: dt.date | None
    age_years: float | None
    symptom_onset_date: dt.date | None
    onset_site: str | None
    diagnosis_date: dt.date | None
    updated_at: dt.datetime


def patient_listing(
    session: Session, *, search: str | None, limit: int, offset: int
) -> list[PatientListing]:
    """Patients whose id contains ``search`` (any case), sorted by id, one page."""
    query = (
        select(
            PatientRow.id,
            PatientRow.sex,
            PatientRow.birth_date,
            PatientRow.age_years,
            SymptomOnsetRow.date,
            SymptomOnsetRow.site,
            PatientRow.diagnosis_date,
            PatientRow.updated_at,
        )
        .outerjoin(SymptomOnsetRow, SymptomOnsetRow.patient_id == PatientRow.id)
        .order_by(PatientRow.id)
        .limit(limit)
        .offset(offset)
    )
    if search:
        pattern = "%" + _escape_like(search.lower()) + "%"
        query = query.where(func.lower(PatientRow.id).like(pattern, escape="\\"))
    return [
        PatientListing(
            id=pid,
            sex=sex,
            birth_date=birth,
            age_years=age,
            symptom_onset_date=onset,
            onset_site=site,
            diagnosis_date=diagnosis,
            updated_at=updated,
        )
        for pid, sex, birth, age, onset, site, diagnosis, updated in session.execute(query)
    ]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
