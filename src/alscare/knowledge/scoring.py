"""Knowledge section ``scoring``: parameters of the scores, stages and the ENCALS model.

Loaded from ``content/scoring/*.yaml``. The engine (``engine/scores.py``, ``staging.py``,
``prognosis.py``) holds the algorithms; every item list, threshold, coefficient and knot is here,
with its sources. A rule that compares an ALSFRS-R item with a value is an :class:`ItemAtMost`
("item score at most N"), so ``< 4`` is written ``at_most: 3``.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from alscare.knowledge.base import Cited, Frozen
from alscare.schemas.vocabulary import (
    AlsfrsItem,
    FindingId,
    KingsStage,
    LmnSign,
    OnsetSite,
    Region,
    UmnSign,
)

__all__ = [
    "AlsfrsRDefinition",
    "AlsfrsRDomains",
    "EncalsBaseline",
    "EncalsInput",
    "EncalsModel",
    "EncalsPredictor",
    "ItemAtMost",
    "KingsAlsfrsRRegion",
    "KingsAlsfrsRRules",
    "KingsClinicalInvolvement",
    "KingsClinicalRegion",
    "KingsClinicalRules",
    "MitosDomain",
    "MitosRules",
    "MonthConvention",
    "ProgressionBands",
    "ProgressionRateDefinition",
    "ScoringParameters",
]

ItemScore = Annotated[int, Field(ge=0, le=4)]
Item5Form = Literal["5a", "5b"]
InterventionName = Literal["niv", "gastrostomy", "tracheostomy"]
EncalsInput = Literal[
    "age_at_onset_years",
    "diagnostic_delay_months",
    "progression_rate",
    "fvc_percent_predicted",
    "bulbar_onset",
    "definite_el_escorial",
    "ftd",
    "c9orf72",
]


class MonthConvention(Cited):
    """How many days make a month in every duration the engine computes."""

    days_per_month: Annotated[float, Field(gt=27, lt=32)]


class AlsfrsRDefinition(Cited):
    """The twelve ALSFRS-R items in scale order and the score range of each."""

    items: tuple[AlsfrsItem, ...]
    item_max: Annotated[int, Field(ge=1, le=4)]

    @model_validator(mode="after")
    def _every_item_once_in_order(self) -> AlsfrsRDefinition:
        if self.items != tuple(AlsfrsItem):
            raise ValueError("items must list every ALSFRS-R item once, in scale order")
        return self

    @property
    def max_total(self) -> int:
        return self.item_max * len(self.items)


class AlsfrsRDomains(Cited):
    """The four domain subscores; together they hold every item exactly once."""

    bulbar: tuple[AlsfrsItem, ...]
    fine_motor: tuple[AlsfrsItem, ...]
    gross_motor: tuple[AlsfrsItem, ...]
    respiratory: tuple[AlsfrsItem, ...]

    @model_validator(mode="after")
    def _partition_of_items(self) -> AlsfrsRDomains:
        listed = [*self.bulbar, *self.fine_motor, *self.gross_motor, *self.respiratory]
        if sorted(listed) != sorted(AlsfrsItem):
            raise ValueError("the domains must hold every ALSFRS-R item exactly once")
        return self


class ProgressionRateDefinition(Cited):
    """Delta-FS: (maximum total - total) / months from symptom onset to the rating."""


class ProgressionBands(Cited):
    """Bands of delta-FS in points per month: slow below one value, fast above another."""

    slow_below: Annotated[float, Field(gt=0)]
    fast_above: Annotated[float, Field(gt=0)]

    @model_validator(mode="after")
    def _ordered(self) -> ProgressionBands:
        if self.slow_below > self.fast_above:
            raise ValueError("slow_below must not exceed fast_above")
        return self


class ItemAtMost(Frozen):
    """An ALSFRS-R item scored at most ``at_most``; with ``item_5_form`` it applies only when
    item 5 was rated in that form (5a without, 5b with a gastrostomy)."""

    item: AlsfrsItem
    at_most: ItemScore
    item_5_form: Item5Form | None = None


class KingsAlsfrsRRegion(Frozen):
    """A King's region and the items that show it is involved (any one suffices)."""

    id: Literal["bulbar", "upper_limb", "lower_limb"]
    involved_if_any: Annotated[tuple[ItemAtMost, ...], Field(min_length=1)]


class KingsAlsfrsRRules(Cited):
    """King's stage estimated from one ALSFRS-R rating (Balendra): 4B, then 4A, then regions."""

    niv_if_any: Annotated[tuple[ItemAtMost, ...], Field(min_length=1)]
    gastrostomy_form: Item5Form
    regions: Annotated[tuple[KingsAlsfrsRRegion, ...], Field(min_length=1, max_length=3)]
    zero_regions_stage: KingsStage


class KingsClinicalRegion(Frozen):
    """A King's clinical region and the record facts that show its functional involvement."""

    id: Literal["bulbar", "upper_limb", "lower_limb", "diaphragmatic"]
    exam_regions: tuple[Region, ...] = ()
    onset_sites: tuple[OnsetSite, ...] = ()
    findings: tuple[FindingId, ...] = ()


class KingsClinicalInvolvement(Cited):
    """How the record's exam, findings and onset site map onto the King's regions."""

    exam_signs: Annotated[tuple[LmnSign | UmnSign, ...], Field(min_length=1)]
    regional_findings: tuple[FindingId, ...] = ()
    regions: Annotated[tuple[KingsClinicalRegion, ...], Field(min_length=1)]


class KingsClinicalRules(Cited):
    """King's clinical stage from milestones (Roche): regions, diagnosis, interventions."""

    gastrostomy_need: Annotated[tuple[InterventionName, ...], Field(min_length=1)]
    ventilation_need: Annotated[tuple[InterventionName, ...], Field(min_length=1)]
    involvement: KingsClinicalInvolvement


class MitosDomain(Frozen):
    """A MiToS functional domain, lost when any (or all) of its conditions hold."""

    id: Literal["movement", "swallowing", "communicating", "breathing"]
    combine: Literal["any", "all"]
    conditions: Annotated[tuple[ItemAtMost, ...], Field(min_length=1)]


class MitosRules(Cited):
    """MiToS stage: the number of functional domains lost."""

    domains: Annotated[tuple[MitosDomain, ...], Field(min_length=1, max_length=4)]


class EncalsPredictor(Frozen):
    """One term of the ENCALS linear predictor.

    The input x is transformed as a fractional polynomial of ``z = (x + shift) / scale``: the
    sum of ``z ** p`` over ``powers``, where a power of 0 means ``ln z`` (Royston's convention).
    A yes/no input is 1 for yes and 0 for no, with the default ``powers: [1]``.
    """

    input: EncalsInput
    coefficient: float
    shift: float = 0.0
    scale: Annotated[float, Field(gt=0)] = 1.0
    powers: Annotated[tuple[float, ...], Field(min_length=1)] = (1.0,)


class EncalsBaseline(Frozen):
    """Restricted cubic spline of ln(months from onset) on the proportional-odds scale.

    ``knots_ln_months`` are kmin, the interior knots, kmax; ``gammas`` are gamma0 (intercept),
    gamma1 (linear term) and one gamma per interior knot.
    """

    gammas: Annotated[tuple[float, ...], Field(min_length=2)]
    knots_ln_months: Annotated[tuple[float, ...], Field(min_length=2)]

    @model_validator(mode="after")
    def _shape(self) -> EncalsBaseline:
        if len(self.gammas) != len(self.knots_ln_months):
            raise ValueError("there must be one gamma per knot (gamma0, gamma1, one per interior)")
        if list(self.knots_ln_months) != sorted(set(self.knots_ln_months)):
            raise ValueError("knots must be strictly increasing")
        return self


class EncalsModel(Cited):
    """The ENCALS survival model (Westeneng 2018): predictors, baseline and report times."""

    predictors: tuple[EncalsPredictor, ...]
    baseline: EncalsBaseline
    survival_months: Annotated[tuple[Annotated[int, Field(gt=0)], ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _each_input_once(self) -> EncalsModel:
        inputs: tuple[str, ...] = get_args(EncalsInput)
        if sorted(p.input for p in self.predictors) != sorted(inputs):
            raise ValueError(f"predictors must name each input once: {', '.join(inputs)}")
        return self


class ScoringParameters(Frozen):
    """The knowledge section ``scoring``."""

    month: MonthConvention
    alsfrs_r: AlsfrsRDefinition
    alsfrs_r_domains: AlsfrsRDomains
    progression_rate: ProgressionRateDefinition
    progression_bands: ProgressionBands
    kings_alsfrs_r: KingsAlsfrsRRules
    kings_clinical: KingsClinicalRules
    mitos: MitosRules
    encals: EncalsModel
