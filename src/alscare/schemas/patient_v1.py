"""The patient record, version 1 (``alscare.patient/v1``): read for ever, upgraded on read.

v1 is the record of release 1: one undated examination, one EMG study, flags for cognition,
interventions and care. alscare reads it and upgrades it to version 2
(:mod:`alscare.schemas.upgrade`); new records are written as v2. The shapes both versions share
are in :mod:`alscare.schemas.common`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from alscare.errors import Problem
from alscare.schemas.common import (
    Date,
    DateProblems,
    EmgRegion,
    ExamRegion,
    FamilyHistory,
    GeneticResultEntry,
    LabValue,
    ListLength,
    Model,
    Real,
    RespiratoryMeasurement,
    Score,
    SeriesLength,
    SymptomOnset,
    TestEntry,
    WeightEntry,
    Whole,
)
from alscare.schemas.vocabulary import (
    AlsfrsItem,
    FindingId,
    Jurisdiction,
    Region,
    RiskFactorId,
    Sex,
    Side,
)

__all__ = [
    "PATIENT_SCHEMA_V1",
    "AlsfrsRatingV1",
    "CareV1",
    "CognitionV1",
    "EmgV1",
    "FindingV1",
    "InterventionV1",
    "InterventionsV1",
    "MedicationV1",
    "PatientRecordV1",
]

PATIENT_SCHEMA_V1: Final = "alscare.patient/v1"


class FindingV1(Model):
    """A history or examination finding; ``present: false`` records that it was looked for."""

    id: FindingId
    present: bool
    region: Region | None = None
    side: Side | None = None
    date: Date | None = None


class EmgV1(Model):
    date: Date | None = None
    regions: dict[Region, EmgRegion | None] = Field(default_factory=dict)

    @field_validator("regions", mode="before")
    @classmethod
    def _null_regions_are_none_recorded(cls, value: Any) -> Any:
        return {} if value is None else value

    motor_conduction_block: bool | None = None
    sensory_conduction_abnormal: bool | None = None
    myopathic_units: bool | None = None
    rns_decrement: bool | None = None
    post_exercise_increment: bool | None = None


class AlsfrsRatingV1(Model):
    """One ALSFRS-R rating: all twelve items, 0-4 each. ``gastrostomy: true`` means item 5 was
    rated in its 5b form (handling closures and fasteners, for a patient with a gastrostomy)."""

    date: Date
    items: dict[AlsfrsItem, Score]
    gastrostomy: bool | None = None

    @model_validator(mode="after")
    def _all_items_rated(self) -> AlsfrsRatingV1:
        missing = [item.value for item in AlsfrsItem if item not in self.items]
        if missing:
            raise ValueError(f"every ALSFRS-R item must be rated; missing: {', '.join(missing)}")
        return self


class CognitionV1(Model):
    ftd: bool | None = None
    ecas_total: Annotated[Whole, Field(ge=0, le=136)] | None = None
    behaviour_change: bool | None = None
    date: Date | None = None


class MedicationV1(Model):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    since: Date | None = None
    until: Date | None = None


class InterventionV1(Model):
    """An intervention in place (``since`` may be unknown) or, with ``declined``, offered and
    refused."""

    since: Date | None = None
    hours_per_day: Annotated[Real, Field(ge=0, le=24)] | None = None
    declined: bool | None = None


class InterventionsV1(Model):
    niv: InterventionV1 | None = None
    gastrostomy: InterventionV1 | None = None
    tracheostomy: InterventionV1 | None = None


class CareV1(Model):
    advance_care_plan: bool | None = None
    palliative_care_referral: bool | None = None
    multidisciplinary_clinic: bool | None = None


class PatientRecordV1(Model):
    """One patient's record in the v1 format; every field but ``id`` is optional."""

    schema_: Literal["alscare.patient/v1"] = Field(default=PATIENT_SCHEMA_V1, alias="schema")
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
    sex: Sex | None = None
    birth_date: Date | None = None
    age_years: Annotated[Real, Field(ge=0, le=120)] | None = None
    height_cm: Annotated[Real, Field(ge=50, le=250)] | None = None
    jurisdiction: Jurisdiction | None = None
    symptom_onset: SymptomOnset | None = None
    diagnosis_date: Date | None = None
    progressive: bool | None = None
    findings: Annotated[tuple[FindingV1, ...], SeriesLength] = ()
    exam: dict[Region, ExamRegion | None] = Field(default_factory=dict)
    emg: EmgV1 | None = None
    tests: Annotated[tuple[TestEntry, ...], SeriesLength] = ()
    genetics: Annotated[tuple[GeneticResultEntry, ...], SeriesLength] = ()
    family_history: FamilyHistory | None = None
    risk_factors: Annotated[tuple[RiskFactorId, ...], ListLength] = ()
    alsfrs_r: Annotated[tuple[AlsfrsRatingV1, ...], SeriesLength] = ()
    respiratory: Annotated[tuple[RespiratoryMeasurement, ...], SeriesLength] = ()
    weights: Annotated[tuple[WeightEntry, ...], SeriesLength] = ()
    premorbid_weight_kg: Annotated[Real, Field(gt=0, le=400)] | None = None
    cognition: CognitionV1 | None = None
    medications: Annotated[tuple[MedicationV1, ...], SeriesLength] = ()
    interventions: InterventionsV1 | None = None
    labs: Annotated[tuple[LabValue, ...], SeriesLength] = ()
    care: CareV1 | None = None

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False
    )

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_empty(cls, data: Any) -> Any:
        """``null`` and an absent key mean the same; lists and maps given as null become empty."""
        if isinstance(data, dict):
            collections = (
                "findings",
                "tests",
                "genetics",
                "risk_factors",
                "alsfrs_r",
                "respiratory",
                "weights",
                "medications",
                "labs",
                "exam",
            )
            return {k: v for k, v in data.items() if not (k in collections and v is None)}
        return data

    @model_validator(mode="after")
    def _dates_are_possible(self) -> PatientRecordV1:
        problems = _impossible_dates(self)
        if problems:
            raise DateProblems(problems)
        return self

    def dated_entries(self) -> list[tuple[str, dt.date]]:
        """Every date of the record but the birth date, with its JSON pointer."""
        entries: list[tuple[str, dt.date | None]] = [
            ("/symptom_onset/date", self.symptom_onset.date if self.symptom_onset else None),
            ("/diagnosis_date", self.diagnosis_date),
            ("/emg/date", self.emg.date if self.emg else None),
            ("/cognition/date", self.cognition.date if self.cognition else None),
        ]
        series: dict[str, tuple[Any, ...]] = {
            "findings": self.findings,
            "tests": self.tests,
            "genetics": self.genetics,
            "alsfrs_r": self.alsfrs_r,
            "respiratory": self.respiratory,
            "weights": self.weights,
            "labs": self.labs,
        }
        for name, items in series.items():
            entries.extend((f"/{name}/{i}/date", item.date) for i, item in enumerate(items))
        for i, medication in enumerate(self.medications):
            entries.append((f"/medications/{i}/since", medication.since))
            entries.append((f"/medications/{i}/until", medication.until))
        if self.interventions:
            for name in ("niv", "gastrostomy", "tracheostomy"):
                intervention = getattr(self.interventions, name)
                since = intervention.since if intervention else None
                entries.append((f"/interventions/{name}/since", since))
        return [(pointer, when) for pointer, when in entries if when is not None]


def _impossible_dates(record: PatientRecordV1) -> list[Problem]:
    problems: list[Problem] = []
    onset = record.symptom_onset.date if record.symptom_onset else None
    if record.birth_date and onset and onset < record.birth_date:
        problems.append(Problem("/symptom_onset/date", "symptom onset is before the birth date"))
    if onset and record.diagnosis_date and record.diagnosis_date < onset:
        problems.append(Problem("/diagnosis_date", "diagnosis is before symptom onset"))
    if record.birth_date:
        problems.extend(
            Problem(pointer, "date is before the birth date")
            for pointer, when in record.dated_entries()
            if when < record.birth_date and pointer != "/symptom_onset/date"
        )
    for i, medication in enumerate(record.medications):
        if medication.since and medication.until and medication.until < medication.since:
            problems.append(Problem(f"/medications/{i}/until", "stopped before it was started"))
    return problems
