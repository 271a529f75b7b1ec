"""The patient record, version 2 (``alscare.patient/v2``): the longitudinal record.

Every clinical observation is a dated entry of a series, so the record follows a patient through
years of clinic visits and an assessment on any past date sees only what was known on that date.
``identity`` says who the patient is, for the clinic only: it is never copied into an assessment.
Use :func:`alscare.schemas.records.parse_record` at the edges: it reads v1 and v2 alike, returns a
v2 record or raises :class:`~alscare.errors.RecordError` with one JSON pointer per problem.

alscare's extensions of the published v2 shape are optional fields that only say how a record
was upgraded from v1: ``date_inferred`` on an entry whose v1 original had no date (it is then
dated on the record's latest date) and ``gastrostomy_assumed`` on a rating whose v1 original did
not say whether item 5 was rated as 5a or 5b (taken as 5a).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from alscare.errors import Problem
from alscare.limits import MAX_RECORD_ENTRIES
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
    CareKind,
    FindingId,
    InterventionEvent,
    InterventionKind,
    Jurisdiction,
    Region,
    RiskFactorId,
    Sex,
    Side,
    StopReason,
)

__all__ = [
    "PATIENT_SCHEMA",
    "SERIES",
    "AlsfrsRating",
    "CareEvent",
    "CognitionEntry",
    "Death",
    "EmgStudy",
    "Examination",
    "Finding",
    "Identifier",
    "Identity",
    "InterventionRecord",
    "Medication",
    "PatientRecord",
]

PATIENT_SCHEMA: Final = "alscare.patient/v2"

Text = Annotated[str, Field(min_length=1, max_length=200)]


class Identifier(Model):
    """A hospital or national number: the issuing system (MRN, NHS, ...) and the value."""

    system: Annotated[str, Field(min_length=1, max_length=64)]
    value: Annotated[str, Field(min_length=1, max_length=128)]


class Identity(Model):
    """Who the patient is; for the clinic only, never in an assessment or a de-identified
    export."""

    name: Text | None = None
    identifiers: Annotated[tuple[Identifier, ...], ListLength] = ()

    @field_validator("identifiers", mode="before")
    @classmethod
    def _null_is_none_recorded(cls, value: Any) -> Any:
        return () if value is None else value


class Finding(Model):
    """A history or examination finding on a date; ``present: false`` records that it was
    looked for and not found."""

    id: FindingId
    present: bool
    region: Region | None = None
    side: Side | None = None
    date: Date
    date_inferred: bool = False


class Examination(Model):
    """One examination: the signs of each region examined. A region left out or ``null`` was
    not examined; ``{}`` was examined and showed nothing."""

    date: Date
    regions: dict[Region, ExamRegion | None]
    date_inferred: bool = False

    @field_validator("regions")
    @classmethod
    def _some_region_examined(
        cls, regions: dict[Region, ExamRegion | None]
    ) -> dict[Region, ExamRegion | None]:
        if all(signs is None for signs in regions.values()):
            raise ValueError("an examination examines at least one region")
        return regions

    def examined(self) -> dict[Region, ExamRegion]:
        return {region: signs for region, signs in self.regions.items() if signs is not None}


class EmgStudy(Model):
    """One needle EMG and nerve conduction study. The study-wide findings are ``null`` when not
    recorded; ``rns_decrement`` and ``post_exercise_increment`` are ``null`` when repetitive
    nerve stimulation was not done."""

    date: Date
    regions: dict[Region, EmgRegion | None] = Field(default_factory=dict)
    motor_conduction_block: bool | None = None
    sensory_conduction_abnormal: bool | None = None
    myopathic_units: bool | None = None
    rns_decrement: bool | None = None
    post_exercise_increment: bool | None = None
    date_inferred: bool = False

    @field_validator("regions", mode="before")
    @classmethod
    def _null_regions_are_none_recorded(cls, value: Any) -> Any:
        return {} if value is None else value


class AlsfrsRating(Model):
    """One ALSFRS-R rating. An item ``null`` or left out was not rated at that visit.
    ``gastrostomy: true`` means item 5 was rated in its 5b form (handling closures and
    fasteners, for a patient with a gastrostomy), which decides King's 4A."""

    date: Date
    items: dict[AlsfrsItem, Score | None]
    gastrostomy: bool
    gastrostomy_assumed: bool = False

    @field_validator("items")
    @classmethod
    def _some_item_rated(cls, items: dict[AlsfrsItem, int | None]) -> dict[AlsfrsItem, int | None]:
        if all(score is None for score in items.values()):
            raise ValueError("a rating rates at least one item")
        return items

    def score(self, item: AlsfrsItem) -> int | None:
        return self.items.get(item)

    def unrated(self) -> tuple[AlsfrsItem, ...]:
        """The items not rated at this visit, in scale order."""
        items = self.items
        if len(items) == len(_ITEMS) and None not in items.values():
            return ()
        return tuple(item for item in _ITEMS if items.get(item) is None)


_ITEMS: Final = tuple(AlsfrsItem)


class Medication(Model):
    """A drug taken from ``since`` until ``until`` (the first day without it), and why it was
    stopped."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    since: Date | None = None
    until: Date | None = None
    stop_reason: StopReason | None = None

    @model_validator(mode="after")
    def _reason_with_stop(self) -> Medication:
        if self.stop_reason is not None and self.until is None:
            raise ValueError("stop_reason needs the date the drug was stopped (until)")
        return self


class InterventionRecord(Model):
    """An event in the course of an intervention: offered, declined, started or stopped."""

    kind: InterventionKind
    event: InterventionEvent
    date: Date
    hours_per_day: Annotated[Real, Field(ge=0, le=24)] | None = None
    date_inferred: bool = False

    @model_validator(mode="after")
    def _hours_when_started(self) -> InterventionRecord:
        if self.hours_per_day is not None and self.event != InterventionEvent.STARTED:
            raise ValueError("hours_per_day belongs to a started event")
        return self


class CognitionEntry(Model):
    """A cognitive and behavioural screen on a date."""

    date: Date
    ecas_total: Annotated[Whole, Field(ge=0, le=136)] | None = None
    ftd: bool | None = None
    behaviour_change: bool | None = None
    date_inferred: bool = False


class CareEvent(Model):
    """A care event: a multidisciplinary clinic visit, an advance care plan, a palliative care
    referral."""

    kind: CareKind
    date: Date
    date_inferred: bool = False


class Death(Model):
    date: Date


class PatientRecord(Model):
    """One patient's longitudinal record; every field but ``schema`` and ``id`` is optional.

    ``interventions`` ``null`` (or absent) means the record says nothing about interventions;
    ``[]`` means none was ever offered or started.
    """

    schema_: Literal["alscare.patient/v2"] = Field(alias="schema")
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
    identity: Identity | None = None
    sex: Sex | None = None
    birth_date: Date | None = None
    age_years: Annotated[Real, Field(ge=0, le=120)] | None = None
    age_on: Date | None = None
    height_cm: Annotated[Real, Field(ge=50, le=250)] | None = None
    jurisdiction: Jurisdiction | None = None
    symptom_onset: SymptomOnset | None = None
    diagnosis_date: Date | None = None
    progressive: bool | None = None
    findings: Annotated[tuple[Finding, ...], SeriesLength] = ()
    examinations: Annotated[tuple[Examination, ...], SeriesLength] = ()
    emg_studies: Annotated[tuple[EmgStudy, ...], SeriesLength] = ()
    tests: Annotated[tuple[TestEntry, ...], SeriesLength] = ()
    genetics: Annotated[tuple[GeneticResultEntry, ...], SeriesLength] = ()
    family_history: FamilyHistory | None = None
    risk_factors: Annotated[tuple[RiskFactorId, ...], ListLength] = ()
    alsfrs_r: Annotated[tuple[AlsfrsRating, ...], SeriesLength] = ()
    respiratory: Annotated[tuple[RespiratoryMeasurement, ...], SeriesLength] = ()
    weights: Annotated[tuple[WeightEntry, ...], SeriesLength] = ()
    premorbid_weight_kg: Annotated[Real, Field(gt=0, le=400)] | None = None
    cognition: Annotated[tuple[CognitionEntry, ...], SeriesLength] = ()
    medications: Annotated[tuple[Medication, ...], SeriesLength] = ()
    interventions: Annotated[tuple[InterventionRecord, ...], SeriesLength] | None = None
    labs: Annotated[tuple[LabValue, ...], SeriesLength] = ()
    care: Annotated[tuple[CareEvent, ...], SeriesLength] = ()
    death: Death | None = None

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False
    )

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_empty(cls, data: Any) -> Any:
        """``null`` and an absent key mean the same; series given as null become empty
        (``interventions`` keeps its null: see the class docstring)."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (k in _SERIES and v is None)}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> PatientRecord:
        problems = [*_size_problems(self), *_age_problems(self), *_impossible_dates(self)]
        if problems:
            raise DateProblems(problems)
        return self

    def dated_entries(self) -> list[tuple[str, dt.date]]:
        """Every date of the record but the birth date and ``age_on``, with its JSON pointer."""
        entries: list[tuple[str, dt.date | None]] = [
            ("/symptom_onset/date", self.symptom_onset.date if self.symptom_onset else None),
            ("/diagnosis_date", self.diagnosis_date),
            ("/death/date", self.death.date if self.death else None),
        ]
        for name in _DATED_SERIES:
            items: tuple[Any, ...] = getattr(self, name) or ()
            entries.extend((f"/{name}/{i}/date", item.date) for i, item in enumerate(items))
        for i, medication in enumerate(self.medications):
            entries.append((f"/medications/{i}/since", medication.since))
            entries.append((f"/medications/{i}/until", medication.until))
        return [(pointer, when) for pointer, when in entries if when is not None]

    def to_json_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data, with only the keys that hold something (an empty
        ``interventions`` list is kept: it says no intervention was ever offered)."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
        return {"schema": PATIENT_SCHEMA, **data}


#: The series of dated entries, in the record's order (``death`` is one more dated part).
SERIES: Final = (
    "findings",
    "examinations",
    "emg_studies",
    "tests",
    "genetics",
    "alsfrs_r",
    "respiratory",
    "weights",
    "cognition",
    "medications",
    "interventions",
    "labs",
    "care",
)
# What null turns into an empty list ("interventions" keeps its null: not recorded).
_SERIES = (*(name for name in SERIES if name != "interventions"), "risk_factors")
# The series dated by a "date" field (a medication by "since" and "until").
_DATED_SERIES = tuple(name for name in SERIES if name != "medications")
# An age and a birth date that disagree by more than this are a typing error, not rounding.
_AGE_TOLERANCE_YEARS: Final = 1.0


def _size_problems(record: PatientRecord) -> list[Problem]:
    entries = sum(len(getattr(record, name) or ()) for name in SERIES)
    if entries <= MAX_RECORD_ENTRIES:
        return []
    reason = f"the record holds {entries:,} entries, more than the limit of {MAX_RECORD_ENTRIES:,}"
    return [Problem("", reason)]


def _age_problems(record: PatientRecord) -> list[Problem]:
    if record.age_years is None:
        if record.age_on is not None:
            return [Problem("/age_on", "age_on is the date of age_years, which is missing")]
        return []
    if record.age_on is None:
        return [Problem("/age_years", "an age needs the date it was true (age_on)")]
    if record.birth_date is not None:
        years = (record.age_on - record.birth_date).days / 365.25
        if abs(years - record.age_years) > _AGE_TOLERANCE_YEARS:
            return [Problem("/age_years", f"does not match the birth date ({years:.1f} years)")]
    return []


def _impossible_dates(record: PatientRecord) -> list[Problem]:
    problems: list[Problem] = []
    onset = record.symptom_onset.date if record.symptom_onset else None
    birth, death = record.birth_date, record.death.date if record.death else None
    if onset and record.diagnosis_date and record.diagnosis_date < onset:
        problems.append(Problem("/diagnosis_date", "diagnosis is before symptom onset"))
    for pointer, when in record.dated_entries():
        if birth and when < birth:
            problems.append(Problem(pointer, "date is before the birth date"))
        # A drug list may end on the day after death; nothing else may be dated after it.
        if death and when > death and not pointer.endswith(("/death/date", "/until")):
            problems.append(Problem(pointer, "date is after the date of death"))
    for i, medication in enumerate(record.medications):
        if medication.since and medication.until and medication.until < medication.since:
            problems.append(Problem(f"/medications/{i}/until", "stopped before it was started"))
    return problems
