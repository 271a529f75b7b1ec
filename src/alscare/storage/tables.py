"""The database schema (SQLAlchemy 2, typed): patients, their dated measurements, users, audit.

A patient record v1 is stored as rows, one table per kind of entry, so each rating, measurement
and result is a row with its date. Column names are the record's field names, which keeps the
mapping in :mod:`alscare.storage.repository` mechanical. Lists keep their order in ``ordinal``;
maps (exam and EMG regions) keep theirs too, so a stored record rebuilds to the same JSON. Parts
of the record that are an object (symptom onset, EMG, cognition, ...) are a row of their own
whose presence says the object was recorded, even when every field in it is null.

Ids from the controlled vocabulary are plain strings here: the vocabulary may grow without a
migration, and the record model validates them when the record is rebuilt. The same schema
runs on SQLite and PostgreSQL; migrations live in ``storage/migrations``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

__all__ = [
    "NAMING_CONVENTION",
    "AlsfrsRatingRow",
    "AuditEventRow",
    "Base",
    "CareRow",
    "CognitionRow",
    "EmgRegionRow",
    "EmgStudyRow",
    "ExamRegionRow",
    "FamilyHistoryRow",
    "FindingRow",
    "GeneticResultRow",
    "InterventionRow",
    "LabValueRow",
    "MedicationRow",
    "PatientRow",
    "RespiratoryMeasurementRow",
    "RespiratorySymptomRow",
    "RiskFactorRow",
    "SymptomOnsetRow",
    "TestResultRow",
    "UserRow",
    "UtcDateTime",
    "WeightRow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PATIENT_ID = String(64)
VOCABULARY_ID = String(64)
# Audit rows outlive any count a 32-bit key holds; SQLite needs INTEGER for its rowid alias.
AUDIT_KEY = BigInteger().with_variant(Integer, "sqlite")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime on both backends (SQLite keeps no zone, so it is stored as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store aware UTC datetimes only")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _patient_key() -> Mapped[str]:
    return mapped_column(
        PATIENT_ID, ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )


def _series(cls: str) -> Any:
    """An ordered one-to-many relationship, loaded with its owner and deleted with it."""
    return relationship(
        cls,
        order_by=f"{cls}.ordinal",
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


def _part() -> Any:
    """A one-to-one part of a record, loaded with its owner and deleted with it."""
    return relationship(lazy="selectin", cascade="all, delete-orphan", passive_deletes=True)


def _item(name: str) -> Mapped[int]:
    """One ALSFRS-R item score, 0-4."""
    return mapped_column(SmallInteger, CheckConstraint(f"{name} BETWEEN 0 AND 4", name=name))


class PatientRow(Base):
    """One patient: the record's scalar fields, plus bookkeeping (revision, timestamps)."""

    __tablename__ = "patients"

    id: Mapped[str] = mapped_column(PATIENT_ID, primary_key=True)
    sex: Mapped[str | None] = mapped_column(String(16))
    birth_date: Mapped[dt.date | None]
    age_years: Mapped[float | None] = mapped_column(Float)
    height_cm: Mapped[float | None] = mapped_column(Float)
    jurisdiction: Mapped[str | None] = mapped_column(String(16))
    diagnosis_date: Mapped[dt.date | None]
    progressive: Mapped[bool | None]
    premorbid_weight_kg: Mapped[float | None] = mapped_column(Float)
    # ``interventions: {}`` (recorded, nothing in place) differs from no interventions object.
    interventions_recorded: Mapped[bool] = mapped_column(default=False)
    # Incremented by every write, so a cached rebuild of the record can be checked cheaply.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    symptom_onset: Mapped[SymptomOnsetRow | None] = _part()
    findings: Mapped[list[FindingRow]] = _series("FindingRow")
    exam: Mapped[list[ExamRegionRow]] = _series("ExamRegionRow")
    emg: Mapped[EmgStudyRow | None] = _part()
    tests: Mapped[list[TestResultRow]] = _series("TestResultRow")
    genetics: Mapped[list[GeneticResultRow]] = _series("GeneticResultRow")
    family_history: Mapped[FamilyHistoryRow | None] = _part()
    risk_factors: Mapped[list[RiskFactorRow]] = _series("RiskFactorRow")
    alsfrs_r: Mapped[list[AlsfrsRatingRow]] = _series("AlsfrsRatingRow")
    respiratory: Mapped[list[RespiratoryMeasurementRow]] = _series("RespiratoryMeasurementRow")
    weights: Mapped[list[WeightRow]] = _series("WeightRow")
    cognition: Mapped[CognitionRow | None] = _part()
    medications: Mapped[list[MedicationRow]] = _series("MedicationRow")
    interventions: Mapped[list[InterventionRow]] = _part()
    labs: Mapped[list[LabValueRow]] = _series("LabValueRow")
    care: Mapped[CareRow | None] = _part()


class SymptomOnsetRow(Base):
    __tablename__ = "symptom_onsets"

    patient_id: Mapped[str] = _patient_key()
    date: Mapped[dt.date | None]
    site: Mapped[str | None] = mapped_column(String(16))


class _Entry(Base):
    """An entry of an ordered series: its patient and its place (``ordinal``) in the list."""

    __abstract__ = True

    @declared_attr.directive
    def __table_args__(cls) -> tuple[UniqueConstraint]:
        return (UniqueConstraint("patient_id", "ordinal"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(
        PATIENT_ID, ForeignKey("patients.id", ondelete="CASCADE")
    )
    ordinal: Mapped[int]


class FindingRow(_Entry):
    __tablename__ = "findings"

    finding_id: Mapped[str] = mapped_column(VOCABULARY_ID)
    present: Mapped[bool]
    region: Mapped[str | None] = mapped_column(String(16))
    side: Mapped[str | None] = mapped_column(String(16))
    date: Mapped[dt.date | None]


class ExamRegionRow(_Entry):
    """Signs in one examined region; ``examined`` false stores a region given as null."""

    __tablename__ = "exam_regions"

    region: Mapped[str] = mapped_column(String(16))
    examined: Mapped[bool]
    weakness: Mapped[bool | None]
    wasting: Mapped[bool | None]
    fasciculations: Mapped[bool | None]
    hyperreflexia: Mapped[bool | None]
    pathological_reflexes: Mapped[bool | None]
    spasticity: Mapped[bool | None]
    slowed_movements: Mapped[bool | None]


class EmgStudyRow(Base):
    """The latest EMG and nerve conduction study."""

    __tablename__ = "emg_studies"

    patient_id: Mapped[str] = _patient_key()
    date: Mapped[dt.date | None]
    motor_conduction_block: Mapped[bool | None]
    sensory_conduction_abnormal: Mapped[bool | None]
    myopathic_units: Mapped[bool | None]
    rns_decrement: Mapped[bool | None]
    post_exercise_increment: Mapped[bool | None]

    regions: Mapped[list[EmgRegionRow]] = relationship(
        order_by="EmgRegionRow.ordinal",
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class EmgRegionRow(Base):
    """Needle EMG in one region; ``studied`` false stores a region given as null."""

    __tablename__ = "emg_regions"

    patient_id: Mapped[str] = mapped_column(
        PATIENT_ID, ForeignKey("emg_studies.patient_id", ondelete="CASCADE"), primary_key=True
    )
    ordinal: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(16))
    studied: Mapped[bool]
    chronic_neurogenic: Mapped[bool | None]
    active_denervation: Mapped[bool | None]
    fasciculation_potentials: Mapped[bool | None]
    muscles: Mapped[int | None] = mapped_column(SmallInteger)


class TestResultRow(_Entry):
    __tablename__ = "test_results"

    test_id: Mapped[str] = mapped_column(VOCABULARY_ID)
    date: Mapped[dt.date | None]
    result: Mapped[str | None] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(32))
    lower_limit: Mapped[float | None] = mapped_column(Float)
    upper_limit: Mapped[float | None] = mapped_column(Float)
    finding: Mapped[str | None] = mapped_column(String(500))


class GeneticResultRow(_Entry):
    __tablename__ = "genetic_results"

    gene: Mapped[str] = mapped_column(String(32))
    result: Mapped[str] = mapped_column(String(32))
    variant: Mapped[str | None] = mapped_column(String(200))
    date: Mapped[dt.date | None]


class FamilyHistoryRow(Base):
    __tablename__ = "family_histories"

    patient_id: Mapped[str] = _patient_key()
    als: Mapped[bool | None]
    ftd: Mapped[bool | None]


class RiskFactorRow(_Entry):
    __tablename__ = "risk_factors"

    risk_factor_id: Mapped[str] = mapped_column(VOCABULARY_ID)


class AlsfrsRatingRow(_Entry):
    """One ALSFRS-R rating: the date and the twelve item scores, 0-4 each."""

    __tablename__ = "alsfrs_r_ratings"

    date: Mapped[dt.date]
    gastrostomy: Mapped[bool | None]
    speech: Mapped[int] = _item("speech")
    salivation: Mapped[int] = _item("salivation")
    swallowing: Mapped[int] = _item("swallowing")
    handwriting: Mapped[int] = _item("handwriting")
    cutting_food: Mapped[int] = _item("cutting_food")
    dressing_hygiene: Mapped[int] = _item("dressing_hygiene")
    turning_in_bed: Mapped[int] = _item("turning_in_bed")
    walking: Mapped[int] = _item("walking")
    climbing_stairs: Mapped[int] = _item("climbing_stairs")
    dyspnea: Mapped[int] = _item("dyspnea")
    orthopnea: Mapped[int] = _item("orthopnea")
    respiratory_insufficiency: Mapped[int] = _item("respiratory_insufficiency")


class RespiratoryMeasurementRow(_Entry):
    __tablename__ = "respiratory_measurements"

    date: Mapped[dt.date]
    fvc_percent_predicted: Mapped[float | None] = mapped_column(Float)
    fvc_litres: Mapped[float | None] = mapped_column(Float)
    position: Mapped[str | None] = mapped_column(String(16))
    supine_fvc_percent_predicted: Mapped[float | None] = mapped_column(Float)
    snip_cmh2o: Mapped[float | None] = mapped_column(Float)
    mip_cmh2o: Mapped[float | None] = mapped_column(Float)
    paco2_kpa: Mapped[float | None] = mapped_column(Float)
    paco2_mmhg: Mapped[float | None] = mapped_column(Float)
    spo2_percent: Mapped[float | None] = mapped_column(Float)
    nocturnal_spo2_below_90_percent_time: Mapped[float | None] = mapped_column(Float)
    peak_cough_flow_l_min: Mapped[float | None] = mapped_column(Float)

    symptoms: Mapped[list[RespiratorySymptomRow]] = relationship(
        order_by="RespiratorySymptomRow.ordinal",
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class RespiratorySymptomRow(Base):
    __tablename__ = "respiratory_symptoms"

    measurement_id: Mapped[int] = mapped_column(
        ForeignKey("respiratory_measurements.id", ondelete="CASCADE"), primary_key=True
    )
    ordinal: Mapped[int] = mapped_column(primary_key=True)
    symptom: Mapped[str] = mapped_column(VOCABULARY_ID)


class WeightRow(_Entry):
    __tablename__ = "weights"

    date: Mapped[dt.date]
    kg: Mapped[float] = mapped_column(Float)


class CognitionRow(Base):
    __tablename__ = "cognition_assessments"

    patient_id: Mapped[str] = _patient_key()
    ftd: Mapped[bool | None]
    ecas_total: Mapped[int | None] = mapped_column(SmallInteger)
    behaviour_change: Mapped[bool | None]
    date: Mapped[dt.date | None]


class MedicationRow(_Entry):
    __tablename__ = "medications"

    name: Mapped[str] = mapped_column(String(100))
    since: Mapped[dt.date | None]
    until: Mapped[dt.date | None]


class InterventionRow(Base):
    """NIV, gastrostomy or tracheostomy: in place since a date, or offered and declined."""

    __tablename__ = "interventions"

    patient_id: Mapped[str] = _patient_key()
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    since: Mapped[dt.date | None]
    hours_per_day: Mapped[float | None] = mapped_column(Float)
    declined: Mapped[bool | None]


class LabValueRow(_Entry):
    __tablename__ = "lab_values"

    lab_id: Mapped[str] = mapped_column(VOCABULARY_ID)
    date: Mapped[dt.date | None]
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    lower_limit: Mapped[float | None] = mapped_column(Float)
    upper_limit: Mapped[float | None] = mapped_column(Float)


class CareRow(Base):
    __tablename__ = "care_plans"

    patient_id: Mapped[str] = _patient_key()
    advance_care_plan: Mapped[bool | None]
    palliative_care_referral: Mapped[bool | None]
    multidisciplinary_clinic: Mapped[bool | None]


class UserRow(Base):
    """An account; ``failed_logins`` and ``locked_until`` drive the login lockout."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'clinician', 'viewer')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class AuditEventRow(Base):
    """Who did what to which patient, when. Never holds clinical values, only what was done."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_patient_id_at", "patient_id", "at"),
        Index("ix_audit_events_username_at", "username", "at"),
    )

    id: Mapped[int] = mapped_column(AUDIT_KEY, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    patient_id: Mapped[str | None] = mapped_column(PATIENT_ID)
    detail: Mapped[str] = mapped_column(String(200), default="")
