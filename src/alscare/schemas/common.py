"""Shapes both record versions share, and the translation of validation errors into Problems.

Every model is frozen and forbids unknown fields. ``null`` and an absent key both mean "not
recorded"; nothing is defaulted to a clinical value. Quantities carry their unit in the field
name (``height_cm``, ``snip_cmh2o``) or, for tests and labs, in an explicit ``unit`` checked
against the units that test is reported in.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Final

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from alscare.errors import Problem
from alscare.limits import MAX_LIST_ITEMS, MAX_SERIES_ENTRIES
from alscare.schemas.vocabulary import (
    GeneticResult,
    InvestigationId,
    LabId,
    OnsetSite,
    Position,
    RespiratorySymptom,
    TestResult,
)

__all__ = [
    "RESPIRATORY_TESTS",
    "TEST_UNITS",
    "ISO_DATE",
    "Date",
    "DateProblems",
    "EmgRegion",
    "ExamRegion",
    "FamilyHistory",
    "GeneticResultEntry",
    "LabValue",
    "ListLength",
    "Model",
    "NonNegative",
    "Percent",
    "Positive",
    "Real",
    "RespiratoryMeasurement",
    "Score",
    "SeriesLength",
    "SymptomOnset",
    "TestEntry",
    "WeightEntry",
    "Whole",
    "json_pointer",
    "problems_from",
]

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


def _iso_date(value: Any) -> Any:
    """A date is YYYY-MM-DD text (or a date): never a number, which pydantic would otherwise
    read as seconds since 1970 (``{"date": 0}`` was stored as 1970-01-01), nor a timestamp."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("a date is written YYYY-MM-DD")


_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Refuses a date not written YYYY-MM-DD; after any bounds in an ``Annotated`` (``Query(le=)``),
#: so that pydantic words them as dates.
ISO_DATE: Final = BeforeValidator(_iso_date)
#: A calendar date, written YYYY-MM-DD.
Date = Annotated[dt.date, ISO_DATE]
#: A measured number, a JSON number (an integer is read as one): never true or false (``false``
#: was read as 0.0), nor text. Strict in pydantic's core, so it costs no Python call.
Real = Annotated[float, Strict()]
#: A count or a score, a JSON integer: never true or false, nor text.
Whole = Annotated[int, Strict()]
#: Entries of one series of a record, and the short lists of a record (see alscare.limits).
SeriesLength = Field(max_length=MAX_SERIES_ENTRIES)
ListLength = Field(max_length=MAX_LIST_ITEMS)

Score = Annotated[Whole, Field(ge=0, le=4)]
Percent = Annotated[Real, Field(ge=0, le=100)]
Positive = Annotated[Real, Field(gt=0)]
NonNegative = Annotated[Real, Field(ge=0)]


class Model(BaseModel):
    # NaN and infinity are never a measurement: they are refused where the field is named
    model_config = ConfigDict(
        frozen=True, extra="forbid", use_enum_values=False, allow_inf_nan=False
    )


class SymptomOnset(Model):
    date: Date | None = None
    site: OnsetSite | None = None


class ExamRegion(Model):
    """Signs found in one region; a sign left out or ``null`` was not found or not recorded."""

    weakness: bool | None = None
    wasting: bool | None = None
    fasciculations: bool | None = None
    hyperreflexia: bool | None = None
    pathological_reflexes: bool | None = None
    spasticity: bool | None = None
    slowed_movements: bool | None = None


class EmgRegion(Model):
    """Needle EMG in one region: the changes seen and in how many muscles (different roots
    and nerves) they were seen."""

    chronic_neurogenic: bool | None = None
    active_denervation: bool | None = None
    fasciculation_potentials: bool | None = None
    muscles: Annotated[Whole, Field(ge=0, le=100)] | None = None


class TestEntry(Model):
    """One investigation result: qualitative (``result``) and/or numeric (``value`` + ``unit``).

    ``lower_limit`` and ``upper_limit`` are the reporting laboratory's reference range, in the
    same unit as ``value``; where a rule has no published threshold it compares with these.
    """

    id: InvestigationId
    date: Date | None = None
    result: TestResult | None = None
    value: Real | None = None
    unit: str | None = None
    lower_limit: Real | None = None
    upper_limit: Real | None = None
    finding: Annotated[str, Field(max_length=500)] | None = None

    @model_validator(mode="after")
    def _unit_matches_test(self) -> TestEntry:
        _check_unit(self.id, self.value, self.unit)
        _check_limits(self.lower_limit, self.upper_limit)
        return self


class GeneticResultEntry(Model):
    gene: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
    result: GeneticResult
    variant: Annotated[str, Field(max_length=200)] | None = None
    date: Date | None = None


class FamilyHistory(Model):
    als: bool | None = None
    ftd: bool | None = None


#: The fields of a breathing-test entry that are test results.
RESPIRATORY_TESTS: Final = (
    "fvc_percent_predicted",
    "fvc_litres",
    "supine_fvc_percent_predicted",
    "snip_cmh2o",
    "mip_cmh2o",
    "paco2_kpa",
    "paco2_mmhg",
    "spo2_percent",
    "nocturnal_spo2_below_90_percent_time",
    "nocturnal_spo2_88_or_below_minutes",
    "peak_cough_flow_l_min",
)


class RespiratoryMeasurement(Model):
    """Breathing tests on one date. Pressures are magnitudes in cmH2O (a MIP of -60 is 60).

    Nocturnal oximetry comes as the percentage of sleep time with SpO2 below 90 % and, where the
    report gives it, the cumulative minutes with SpO2 at or below 88 %.
    """

    date: Date
    fvc_percent_predicted: Annotated[Real, Field(ge=0, le=200)] | None = None
    fvc_litres: Annotated[Real, Field(ge=0, le=10)] | None = None
    position: Position | None = None
    supine_fvc_percent_predicted: Annotated[Real, Field(ge=0, le=200)] | None = None
    snip_cmh2o: Annotated[Real, Field(ge=0, le=250)] | None = None
    mip_cmh2o: Annotated[Real, Field(ge=0, le=250)] | None = None
    paco2_kpa: Annotated[Real, Field(gt=0, le=20)] | None = None
    paco2_mmhg: Annotated[Real, Field(gt=0, le=150)] | None = None
    spo2_percent: Percent | None = None
    nocturnal_spo2_below_90_percent_time: Percent | None = None
    nocturnal_spo2_88_or_below_minutes: Annotated[Real, Field(ge=0, le=1440)] | None = None
    peak_cough_flow_l_min: Annotated[Real, Field(ge=0, le=1000)] | None = None
    symptoms: Annotated[tuple[RespiratorySymptom, ...], ListLength] = ()

    @property
    def tested(self) -> bool:
        """Whether the entry holds a test result (symptoms or a position alone are none)."""
        return any(getattr(self, name) is not None for name in RESPIRATORY_TESTS)

    @field_validator("symptoms", mode="before")
    @classmethod
    def _null_symptoms_are_none(cls, value: Any) -> Any:
        return () if value is None else value

    @field_validator("symptoms")
    @classmethod
    def _a_set_in_vocabulary_order(
        cls, value: tuple[RespiratorySymptom, ...]
    ) -> tuple[RespiratorySymptom, ...]:
        # the symptoms of one measurement are a set: their list order must change nothing
        given = set(value)
        return tuple(symptom for symptom in RespiratorySymptom if symptom in given)


class WeightEntry(Model):
    date: Date
    kg: Annotated[Real, Field(gt=0, le=400)]


class LabValue(Model):
    """A laboratory value; ``lower_limit`` and ``upper_limit`` are the reporting laboratory's
    reference range in the same unit (riluzole monitoring compares ALT with the upper limit and
    neutrophils with the lower limit)."""

    id: LabId
    date: Date | None = None
    value: Real
    unit: str
    lower_limit: NonNegative | None = None
    upper_limit: Positive | None = None

    @model_validator(mode="after")
    def _unit_matches_lab(self) -> LabValue:
        _check_unit(self.id, self.value, self.unit)
        _check_limits(self.lower_limit, self.upper_limit)
        return self


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


def _check_limits(lower: float | None, upper: float | None) -> None:
    if lower is not None and upper is not None and lower > upper:
        raise FieldProblem("lower_limit", "the lower reference limit is above the upper one")


class FieldProblem(ValueError):
    """A model validator's fault that belongs to one field of the model: its pointer names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


class DateProblems(ValueError):
    """Carries pointer-level date problems out of a model validator."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def json_pointer(location: tuple[int | str, ...]) -> str:
    """A JSON pointer (RFC 6901) to a location given as path parts."""
    parts = [str(part) for part in location]
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def problems_from(error: ValidationError, schema: str) -> list[Problem]:
    """One Problem per validation fault; unknown fields and ids name the schema expected."""
    problems: list[Problem] = []
    for detail in error.errors(include_url=False):
        context = detail.get("ctx") or {}
        cause = context.get("error")
        if isinstance(cause, DateProblems):
            problems.extend(cause.problems)
            continue
        location = tuple(part for part in detail["loc"] if not _is_validator_tag(part))
        if isinstance(cause, FieldProblem):
            location = (*location, cause.field)
        pointer = json_pointer(location)
        if location and location[-1] == "schema_":
            pointer = "/schema"
        reason = str(detail["msg"]).removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            reason = f"unknown field (not in {schema})"
        elif detail["type"] == "too_long":
            limit, given = context.get("max_length"), context.get("actual_length")
            reason = f"{given:,} entries, more than the limit of {limit:,}"
        elif detail["type"] == "enum":
            reason = f"unknown id {_shown(detail['input'])}"
        problems.append(Problem(pointer, reason))
    return problems


def _shown(value: Any) -> str:
    """A refused input as a reason quotes it: short, so a huge input makes no huge answer."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


_SHOWN: Final = 60


def _is_validator_tag(part: int | str) -> bool:
    return isinstance(part, str) and part.startswith(("function-", "[", "tagged-union"))
