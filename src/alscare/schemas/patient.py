"""The patient record, version 1 (``alscare.patient/v1``): the one input format of alscare.

Every model is frozen and forbids unknown fields. ``null`` and an absent key both mean "not
recorded"; nothing is defaulted to a clinical value. Quantities carry their unit in the field
name (``height_cm``, ``snip_cmh2o``) or, for tests and labs, in an explicit ``unit`` checked
against the units that test is reported in. Use :func:`parse_record` at the edges: it returns a
record or raises :class:`~alscare.errors.RecordError` with one JSON pointer per problem.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from alscare.errors import Problem, RecordError
from alscare.schemas.vocabulary import (
    AlsfrsItem,
    FindingId,
    GeneticResult,
    InvestigationId,
    Jurisdiction,
    LabId,
    OnsetSite,
    Position,
    Region,
    RespiratorySymptom,
    RiskFactorId,
    Sex,
    Side,
    TestResult,
)

__all__ = [
    "PATIENT_SCHEMA",
    "TEST_UNITS",
    "AlsfrsRating",
    "Care",
    "Cognition",
    "Emg",
    "EmgRegion",
    "ExamRegion",
    "FamilyHistory",
    "Finding",
    "GeneticResultEntry",
    "Intervention",
    "Interventions",
    "LabValue",
    "Medication",
    "PatientRecord",
    "RespiratoryMeasurement",
    "SymptomOnset",
    "TestEntry",
    "WeightEntry",
    "parse_record",
    "parse_record_json",
]

PATIENT_SCHEMA: Final = "alscare.patient/v1"

# The units each numeric test or lab may be reported in. A value in any other unit is rejected,
# so the engine never compares numbers in different units.
TEST_UNITS: dict[str, tuple[str, ...]] = {
    InvestigationId.VITAMIN_B12: ("pg/mL", "pmol/L", "ng/L"),
    InvestigationId.CREATINE_KINASE: ("U/L", "IU/L"),
    InvestigationId.COPPER: ("umol/L", "ug/dL"),
    InvestigationId.CALCIUM_PTH: ("mmol/L", "mg/dL"),
    InvestigationId.HEXOSAMINIDASE_A: ("nmol/h/mg", "%"),
    InvestigationId.AR_CAG_REPEAT: ("repeats",),
    LabId.ALT: ("U/L", "IU/L"),
    LabId.AST: ("U/L", "IU/L"),
    LabId.NEUTROPHILS: ("10^9/L",),
}

Score = Annotated[int, Field(ge=0, le=4)]
Percent = Annotated[float, Field(ge=0, le=100)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class SymptomOnset(_Model):
    date: dt.date | None = None
    site: OnsetSite | None = None


class Finding(_Model):
    """A history or examination finding; ``present: false`` records that it was looked for."""

    id: FindingId
    present: bool
    region: Region | None = None
    side: Side | None = None
    date: dt.date | None = None


class ExamRegion(_Model):
    """Signs found in one region; a sign left out or ``null`` was not found or not recorded."""

    weakness: bool | None = None
    wasting: bool | None = None
    fasciculations: bool | None = None
    hyperreflexia: bool | None = None
    pathological_reflexes: bool | None = None
    spasticity: bool | None = None
    slowed_movements: bool | None = None


class EmgRegion(_Model):
    """Needle EMG in one region: the changes seen and in how many muscles (different roots
    and nerves) they were seen."""

    chronic_neurogenic: bool | None = None
    active_denervation: bool | None = None
    fasciculation_potentials: bool | None = None
    muscles: Annotated[int, Field(ge=0, le=100)] | None = None


class Emg(_Model):
    date: dt.date | None = None
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


class TestEntry(_Model):
    """One investigation result: qualitative (``result``) and/or numeric (``value`` + ``unit``).

    ``lower_limit`` and ``upper_limit`` are the reporting laboratory's reference range, in the
    same unit as ``value``; where a rule has no published threshold it compares with these.
    """

    id: InvestigationId
    date: dt.date | None = None
    result: TestResult | None = None
    value: float | None = None
    unit: str | None = None
    lower_limit: float | None = None
    upper_limit: float | None = None
    finding: Annotated[str, Field(max_length=500)] | None = None

    @model_validator(mode="after")
    def _unit_matches_test(self) -> TestEntry:
        _check_unit(self.id, self.value, self.unit)
        return self


class GeneticResultEntry(_Model):
    gene: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
    result: GeneticResult
    variant: Annotated[str, Field(max_length=200)] | None = None
    date: dt.date | None = None


class FamilyHistory(_Model):
    als: bool | None = None
    ftd: bool | None = None


class AlsfrsRating(_Model):
    """One ALSFRS-R rating: all twelve items, 0-4 each. ``gastrostomy: true`` means item 5 was
    rated in its 5b form (handling closures and fasteners, for a patient with a gastrostomy)."""

    date: dt.date
    items: dict[AlsfrsItem, Score]
    gastrostomy: bool | None = None

    @model_validator(mode="after")
    def _all_items_rated(self) -> AlsfrsRating:
        missing = [item.value for item in AlsfrsItem if item not in self.items]
        if missing:
            raise ValueError(f"every ALSFRS-R item must be rated; missing: {', '.join(missing)}")
        return self

    @property
    def uses_item_5b(self) -> bool:
        return self.gastrostomy is True


class RespiratoryMeasurement(_Model):
    """Breathing tests on one date. Pressures are magnitudes in cmH2O (a MIP of -60 is 60)."""

    date: dt.date
    fvc_percent_predicted: Annotated[float, Field(ge=0, le=200)] | None = None
    fvc_litres: Annotated[float, Field(ge=0, le=10)] | None = None
    position: Position | None = None
    supine_fvc_percent_predicted: Annotated[float, Field(ge=0, le=200)] | None = None
    snip_cmh2o: Annotated[float, Field(ge=0, le=250)] | None = None
    mip_cmh2o: Annotated[float, Field(ge=0, le=250)] | None = None
    paco2_kpa: Annotated[float, Field(gt=0, le=20)] | None = None
    paco2_mmhg: Annotated[float, Field(gt=0, le=150)] | None = None
    spo2_percent: Percent | None = None
    nocturnal_spo2_below_90_percent_time: Percent | None = None
    peak_cough_flow_l_min: Annotated[float, Field(ge=0, le=1000)] | None = None
    symptoms: tuple[RespiratorySymptom, ...] = ()


class WeightEntry(_Model):
    date: dt.date
    kg: Annotated[float, Field(gt=0, le=400)]


class Cognition(_Model):
    ftd: bool | None = None
    ecas_total: Annotated[int, Field(ge=0, le=136)] | None = None
    behaviour_change: bool | None = None
    date: dt.date | None = None


class Medication(_Model):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    since: dt.date | None = None
    until: dt.date | None = None


class Intervention(_Model):
    """An intervention in place (``since`` may be unknown) or, with ``declined``, offered and
    refused; for King's staging both count as the need for it."""

    since: dt.date | None = None
    hours_per_day: Annotated[float, Field(ge=0, le=24)] | None = None
    declined: bool | None = None


class Interventions(_Model):
    niv: Intervention | None = None
    gastrostomy: Intervention | None = None
    tracheostomy: Intervention | None = None


class LabValue(_Model):
    """A laboratory value; ``lower_limit`` and ``upper_limit`` are the reporting laboratory's
    reference range in the same unit (riluzole monitoring compares ALT with the upper limit and
    neutrophils with the lower limit)."""

    id: LabId
    date: dt.date | None = None
    value: float
    unit: str
    lower_limit: NonNegative | None = None
    upper_limit: Positive | None = None

    @model_validator(mode="after")
    def _unit_matches_lab(self) -> LabValue:
        _check_unit(self.id, self.value, self.unit)
        return self


class Care(_Model):
    advance_care_plan: bool | None = None
    palliative_care_referral: bool | None = None
    multidisciplinary_clinic: bool | None = None


class PatientRecord(_Model):
    """One patient's record; every field but ``id`` is optional."""

    schema_: Literal["alscare.patient/v1"] = Field(default=PATIENT_SCHEMA, alias="schema")
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
    sex: Sex | None = None
    birth_date: dt.date | None = None
    age_years: Annotated[float, Field(ge=0, le=120)] | None = None
    height_cm: Annotated[float, Field(ge=50, le=250)] | None = None
    jurisdiction: Jurisdiction | None = None
    symptom_onset: SymptomOnset | None = None
    diagnosis_date: dt.date | None = None
    progressive: bool | None = None
    findings: tuple[Finding, ...] = ()
    exam: dict[Region, ExamRegion | None] = Field(default_factory=dict)
    emg: Emg | None = None
    tests: tuple[TestEntry, ...] = ()
    genetics: tuple[GeneticResultEntry, ...] = ()
    family_history: FamilyHistory | None = None
    risk_factors: tuple[RiskFactorId, ...] = ()
    alsfrs_r: tuple[AlsfrsRating, ...] = ()
    respiratory: tuple[RespiratoryMeasurement, ...] = ()
    weights: tuple[WeightEntry, ...] = ()
    premorbid_weight_kg: Annotated[float, Field(gt=0, le=400)] | None = None
    cognition: Cognition | None = None
    medications: tuple[Medication, ...] = ()
    interventions: Interventions | None = None
    labs: tuple[LabValue, ...] = ()
    care: Care | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

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
    def _dates_are_possible(self) -> PatientRecord:
        problems = list(_impossible_dates(self))
        if problems:
            raise _DateProblems(problems)
        return self

    def to_json_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data, with only the keys that hold something."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class _DateProblems(ValueError):
    """Carries pointer-level date problems out of a model validator."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def _check_unit(test_id: str, value: float | None, unit: str | None) -> None:
    allowed = TEST_UNITS.get(test_id)
    if value is None:
        if unit is not None:
            raise ValueError("a unit was given without a value")
        return
    if unit is None:
        raise ValueError(f"a value needs its unit ({', '.join(allowed or ('unit',))})")
    if allowed is None:
        raise ValueError(f"{test_id} is recorded as a result, not a number")
    if unit not in allowed:
        raise ValueError(
            f"unit {unit!r} is not a unit for {test_id}; use one of {', '.join(allowed)}"
        )


def _dated_entries(record: PatientRecord) -> list[tuple[str, dt.date]]:
    entries: list[tuple[str, dt.date | None]] = [
        ("/diagnosis_date", record.diagnosis_date),
        ("/emg/date", record.emg.date if record.emg else None),
        ("/cognition/date", record.cognition.date if record.cognition else None),
    ]
    series: dict[str, tuple[Any, ...]] = {
        "findings": record.findings,
        "tests": record.tests,
        "genetics": record.genetics,
        "alsfrs_r": record.alsfrs_r,
        "respiratory": record.respiratory,
        "weights": record.weights,
        "labs": record.labs,
    }
    for name, items in series.items():
        entries.extend((f"/{name}/{i}/date", item.date) for i, item in enumerate(items))
    for i, medication in enumerate(record.medications):
        entries.append((f"/medications/{i}/since", medication.since))
        entries.append((f"/medications/{i}/until", medication.until))
    if record.interventions:
        for name in ("niv", "gastrostomy", "tracheostomy"):
            intervention = getattr(record.interventions, name)
            entries.append((f"/interventions/{name}/since", intervention and intervention.since))
    return [(pointer, when) for pointer, when in entries if when is not None]


def _impossible_dates(record: PatientRecord) -> list[Problem]:
    problems: list[Problem] = []
    onset = record.symptom_onset.date if record.symptom_onset else None
    if record.birth_date and onset and onset < record.birth_date:
        problems.append(Problem("/symptom_onset/date", "symptom onset is before the birth date"))
    if onset and record.diagnosis_date and record.diagnosis_date < onset:
        problems.append(Problem("/diagnosis_date", "diagnosis is before symptom onset"))
    if record.birth_date:
        problems.extend(
            Problem(pointer, "date is before the birth date")
            for pointer, when in _dated_entries(record)
            if when < record.birth_date
        )
    for i, medication in enumerate(record.medications):
        if medication.since and medication.until and medication.until < medication.since:
            problems.append(Problem(f"/medications/{i}/until", "stopped before it was started"))
    return problems


def _pointer(location: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in location if part not in ("function-after", "function-before")]
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def _problems_from(error: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for detail in error.errors(include_url=False):
        context = detail.get("ctx") or {}
        cause = context.get("error")
        if isinstance(cause, _DateProblems):
            problems.extend(cause.problems)
            continue
        location = tuple(part for part in detail["loc"] if not _is_validator_tag(part))
        pointer = _pointer(location)
        if location and location[-1] == "schema_":
            pointer = "/schema"
        reason = str(detail["msg"]).removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            reason = "unknown field"
        elif detail["type"] == "enum":
            reason = f"unknown id {detail['input']!r}"
        problems.append(Problem(pointer, reason))
    return problems


def _is_validator_tag(part: int | str) -> bool:
    return isinstance(part, str) and part.startswith(("function-", "[", "tagged-union"))


def parse_record(data: object) -> PatientRecord:
    """Validate parsed JSON as a record v1; raise RecordError naming every problem."""
    if not isinstance(data, dict):
        raise RecordError([Problem("", "a patient record must be a JSON object")])
    try:
        return PatientRecord.model_validate(data)
    except ValidationError as error:
        raise RecordError(_problems_from(error)) from None


def parse_record_json(text: str | bytes) -> PatientRecord:
    """Parse JSON text and validate it as a record v1."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordError(
            [
                Problem(
                    "", f"malformed JSON: {error.msg} at line {error.lineno} column {error.colno}"
                )
            ]
        ) from None
    return parse_record(data)
