"""The assessment, version 1 (``alscare.assessment/v1``): what the engine returns.

Every conclusion carries ``because`` (the record's facts it used) and ``sources`` (citation ids
of the knowledge base). Missing data give ``null`` plus an entry in ``missing``. The required keys
of the public contract come first in each model; alscare's extensions follow them. ``to_json``
is the one canonical serialiser used by the CLI, the API and storage, so equal assessments are
equal bytes.
"""

from __future__ import annotations

import datetime as dt
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from alscare.schemas.vocabulary import (
    Action,
    AwajiCategory,
    DifferentialLevel,
    ElEscorialCategory,
    InvestigationStatus,
    KingsClinicalStage,
    KingsStage,
    Region,
    Severity,
)

__all__ = [
    "ASSESSMENT_SCHEMA",
    "Alert",
    "AlsfrsScore",
    "Assessment",
    "AwajiResult",
    "Course",
    "CourseRegion",
    "Criteria",
    "DiagnosticFactorStatus",
    "DifferentialResult",
    "DueItem",
    "ElEscorialResult",
    "EncalsConditional",
    "EncalsInputs",
    "EncalsPrognosis",
    "GoldCoastResult",
    "InvestigationPlanItem",
    "KingsClinicalResult",
    "KingsResult",
    "MitosResult",
    "Prognosis",
    "Recommendation",
    "RegionStatus",
    "RiskFactorStatus",
    "Scores",
    "Staging",
]

ASSESSMENT_SCHEMA: Final = "alscare.assessment/v1"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class AlsfrsScore(_Model):
    date: dt.date
    total: int = Field(ge=0, le=48)
    bulbar: int = Field(ge=0, le=12)
    fine_motor: int = Field(ge=0, le=12)
    gross_motor: int = Field(ge=0, le=12)
    respiratory: int = Field(ge=0, le=12)
    item_5: Literal["5a", "5b"]


class Scores(_Model):
    """The scores of the assessment date. ``dates`` gives the date of each score's measurement,
    ``stale`` the scores older than the knowledge base's repeat window, ``implausible`` those
    beyond its data-quality limits (shown, but not used for advice), ``notes`` why each of
    those is flagged, in words every view shows as they are."""

    alsfrs_r: AlsfrsScore | None = None
    progression_rate: float | None = None
    alsfrs_r_slope: float | None = None
    fvc_percent_predicted: float | None = None
    weight_loss_percent: float | None = None
    bmi: float | None = None
    progression_band: Literal["slow", "intermediate", "fast"] | None = None
    missing: tuple[str, ...] = ()
    because: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    dates: dict[str, dt.date] = Field(default_factory=dict)
    stale: tuple[str, ...] = ()
    implausible: tuple[str, ...] = ()
    notes: dict[str, str] = Field(default_factory=dict)
    verified: bool = True


class KingsResult(_Model):
    stage: KingsStage | None = None
    method: Literal["alsfrs_r", "clinical"] | None = None
    gastrostomy: bool | None = None
    niv: bool | None = None
    regions_involved: tuple[str, ...] = ()
    because: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    verified: bool = True


class KingsClinicalResult(_Model):
    stage: KingsClinicalStage
    regions_involved: tuple[str, ...] = ()
    because: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    verified: bool = True


class MitosResult(_Model):
    """MiToS stage 0-4 from the latest rating (null when an unrated item could change it); 5
    from the date of death."""

    stage: int | None = Field(default=None, ge=0, le=5)
    domains_lost: tuple[str, ...] = ()
    because: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


class Staging(_Model):
    kings: KingsResult = Field(default_factory=KingsResult)
    kings_clinical: KingsClinicalResult | None = None
    mitos: MitosResult | None = None
    missing: tuple[str, ...] = ()


class GoldCoastResult(_Model):
    met: bool | None = None
    missing: tuple[str, ...] = ()
    because: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    verified: bool = True


class ElEscorialResult(_Model):
    category: ElEscorialCategory | None = None
    familial_laboratory_supported: bool | None = None
    missing: tuple[str, ...] = ()
    because: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    verified: bool = True


class AwajiResult(_Model):
    category: AwajiCategory | None = None
    missing: tuple[str, ...] = ()
    because: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    verified: bool = True


class Criteria(_Model):
    gold_coast: GoldCoastResult = Field(default_factory=GoldCoastResult)
    el_escorial: ElEscorialResult = Field(default_factory=ElEscorialResult)
    awaji: AwajiResult = Field(default_factory=AwajiResult)


class EncalsInputs(_Model):
    age_at_onset_years: float | None = None
    diagnostic_delay_months: float | None = None
    progression_rate: float | None = None
    fvc_percent_predicted: float | None = None
    bulbar_onset: bool | None = None
    definite_el_escorial: bool | None = None
    ftd: bool | None = None
    c9orf72: bool | None = None


class EncalsConditional(_Model):
    """Survival from the assessment date for a patient event-free then: the median in months
    from ``as_of`` and the probability of still being event-free 12, 24 months after it."""

    months_since_onset: float
    median_survival_months: float | None = None
    survival: dict[str, float] = Field(default_factory=dict)


class EncalsPrognosis(_Model):
    """The ENCALS prediction. ``median_survival_months`` and ``survival`` run from symptom
    onset; ``event`` names the composite endpoint predicted; ``applicable: false`` (numbers
    null, ``because`` says why) outside the model's credible range; ``conditional`` is null
    after the event."""

    linear_predictor: float | None = None
    median_survival_months: float | None = None
    survival: dict[str, float] | None = None
    inputs: EncalsInputs = Field(default_factory=EncalsInputs)
    missing: tuple[str, ...] = ()
    because: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    event: str | None = None
    applicable: bool | None = None
    conditional: EncalsConditional | None = None
    verified: bool = True


class Prognosis(_Model):
    encals: EncalsPrognosis = Field(default_factory=EncalsPrognosis)


class RegionStatus(_Model):
    """UMN and LMN involvement of one region. ``lmn`` follows Gold Coast and Awaji-Shima
    (clinical signs, or EMG with fasciculation potentials counting as denervation);
    ``lmn_emg_el_escorial`` is the stricter EMG reading of the revised El Escorial criteria."""

    umn: bool | None = None
    lmn: bool | None = None
    lmn_source: Literal["clinical", "emg", "clinical+emg"] | None = None
    lmn_clinical: bool | None = None
    lmn_emg: bool | None = None
    lmn_emg_el_escorial: bool | None = None
    because: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    verified: bool = True


class CourseRegion(_Model):
    """When a region first showed UMN and LMN signs (examination; LMN also EMG)."""

    first_umn: dt.date | None = None
    first_lmn: dt.date | None = None


class Course(_Model):
    """How the disease spread, from the dated examinations and EMG studies."""

    regions: dict[Region, CourseRegion] = Field(default_factory=dict)
    sources: tuple[str, ...] = ()


class DiagnosticFactorStatus(_Model):
    id: str
    kind: str
    present: bool | None = None
    because: tuple[str, ...] = ()


class RiskFactorStatus(_Model):
    id: str
    present: bool | None = None
    because: tuple[str, ...] = ()


class DifferentialResult(_Model):
    """A differential the record points to; ``spectrum`` marks ALS-spectrum phenotypes (PLS,
    PMA), which are never mimics: only a non-spectrum ``suspected`` entry means a suspected
    mimic."""

    id: str
    level: DifferentialLevel
    spectrum: bool = False
    tests: tuple[str, ...] = ()
    because: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    verified: bool = True


class InvestigationPlanItem(_Model):
    id: str
    status: InvestigationStatus
    reason: str
    sources: tuple[str, ...] = ()
    verified: bool = True


class Recommendation(_Model):
    """One step of the treatment algorithm applied to the patient. ``verified`` is false when the
    rule, or a threshold it used, could not be checked against its source."""

    id: str
    group: str
    action: Action
    strength: str
    detail: str | None = None
    because: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    verified: bool = True


class Alert(_Model):
    """Something that needs attention now; ``verified`` as for Recommendation."""

    id: str
    severity: Severity
    because: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    verified: bool = True


class DueItem(_Model):
    """Something due for the patient on the assessment date (the worklist): a measurement past
    its repeat window, the next liver test on riluzole, a decision an alert asks for, a screen
    not done; ``since`` is the day it fell due (null when the record cannot date it)."""

    id: str
    label: str
    since: dt.date | None = None
    because: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    verified: bool = True


class Assessment(_Model):
    schema_: Literal["alscare.assessment/v1"] = Field(default=ASSESSMENT_SCHEMA, alias="schema")
    patient_id: str
    as_of: dt.date
    knowledge_version: str
    scores: Scores = Field(default_factory=Scores)
    staging: Staging = Field(default_factory=Staging)
    criteria: Criteria = Field(default_factory=Criteria)
    prognosis: Prognosis = Field(default_factory=Prognosis)
    regions: dict[Region, RegionStatus] = Field(default_factory=dict)
    course: Course = Field(default_factory=Course)
    diagnostic_factors: tuple[DiagnosticFactorStatus, ...] = ()
    risk_factors: tuple[RiskFactorStatus, ...] = ()
    differentials: tuple[DifferentialResult, ...] = ()
    investigations: tuple[InvestigationPlanItem, ...] = ()
    recommendations: tuple[Recommendation, ...] = ()
    alerts: tuple[Alert, ...] = ()
    due: tuple[DueItem, ...] = ()
    missing: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False
    )

    def cited_sources(self) -> tuple[str, ...]:
        """Every source id any conclusion cites, once each, in order of first citation."""
        found: dict[str, None] = {}
        _collect_sources(self, found)
        return tuple(found)

    def to_json(self) -> str:
        """The canonical JSON text: field order as declared, two-space indent, final newline
        (no NaN or infinity can be in it: the models refuse them)."""
        return self.model_dump_json(indent=2, by_alias=True) + "\n"

    def to_json_line(self) -> str:
        """The same content on one line, for JSON Lines output."""
        return self.model_dump_json(by_alias=True)


def _collect_sources(node: object, found: dict[str, None]) -> None:
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            value = getattr(node, name)
            if name == "sources" and isinstance(value, tuple):
                found.update(dict.fromkeys(str(source) for source in value))
            else:
                _collect_sources(value, found)
    elif isinstance(node, tuple | list):
        for item in node:
            _collect_sources(item, found)
    elif isinstance(node, dict):
        for item in node.values():
            _collect_sources(item, found)
