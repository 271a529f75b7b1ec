"""Knowledge section ``scoring``: parameters of the scores, stages and the ENCALS model.

Loaded from ``content/scoring/*.yaml``. The engine (``engine/scores.py``, ``staging.py``,
``prognosis.py``) holds the algorithms; every item list, threshold, coefficient and knot is here,
with its sources. The item rules of King's and MiToS are conditions of the rule language
(``knowledge/rules.py``) over the latest rating's items (``alsfrs_r.<item>``), so ``< 4`` is
written ``at_most: 3``.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from alscare.knowledge.base import Cited, Frozen
from alscare.knowledge.rules import Condition
from alscare.schemas.vocabulary import AlsfrsItem, KingsStage

__all__ = [
    "AlsfrsRDefinition",
    "AlsfrsRDomains",
    "EncalsApplicability",
    "EncalsBaseline",
    "EncalsInput",
    "EncalsModel",
    "EncalsPredictor",
    "KingsAlsfrsRRegion",
    "KingsAlsfrsRRules",
    "KingsClinicalRegion",
    "KingsClinicalRules",
    "MitosDomain",
    "MitosRules",
    "MonthConvention",
    "ProgressionBands",
    "ProgressionRateDefinition",
    "ScoringParameters",
]

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


class KingsAlsfrsRRegion(Frozen):
    """A King's region and when the latest rating shows it involved."""

    id: Literal["bulbar", "upper_limb", "lower_limb"]
    when: Condition


class KingsAlsfrsRRules(Cited):
    """King's stage estimated from one ALSFRS-R rating (Balendra): 4B, then 4A, then regions."""

    niv: Condition
    gastrostomy: Condition
    regions: Annotated[tuple[KingsAlsfrsRRegion, ...], Field(min_length=1, max_length=3)]
    zero_regions_stage: KingsStage


class KingsClinicalRegion(Frozen):
    """A King's clinical region and when the record shows its functional involvement."""

    id: Literal["bulbar", "upper_limb", "lower_limb", "diaphragmatic"]
    when: Condition


class KingsClinicalRules(Cited):
    """King's clinical stage from milestones (Roche): regions, diagnosis, interventions. The
    need for an intervention counts from when it was provided, trialled or refused."""

    ventilation_need: Condition
    gastrostomy_need: Condition
    regions: Annotated[tuple[KingsClinicalRegion, ...], Field(min_length=1)]
    involvement: Cited


class MitosDomain(Frozen):
    """A MiToS functional domain and when the latest rating shows it lost."""

    id: Literal["movement", "swallowing", "communicating", "breathing"]
    when: Condition


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


class EncalsApplicability(Cited):
    """Where the model's numbers are credible enough to counsel with.

    Below ``min_diagnostic_delay_months`` the delay transform turns (shorter delays would
    predict longer survival); inputs measured more than ``input_window_months`` from the
    diagnosis date are not inputs at diagnosis.
    """

    min_diagnostic_delay_months: Annotated[float, Field(gt=0)]
    input_window_months: Annotated[float, Field(gt=0)]
    delay: Cited
    window: Cited


class EncalsModel(Cited):
    """The ENCALS survival model (Westeneng 2018): predictors, baseline, report times, the
    event it predicts and where it applies. ``conditional_months`` are the horizons of the
    survival conditional on being event-free on the assessment date."""

    event: Annotated[str, Field(min_length=1, max_length=200)]
    predictors: tuple[EncalsPredictor, ...]
    baseline: EncalsBaseline
    survival_months: Annotated[tuple[Annotated[int, Field(gt=0)], ...], Field(min_length=1)]
    conditional_months: Annotated[tuple[Annotated[int, Field(gt=0)], ...], Field(min_length=1)]
    applicability: EncalsApplicability

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
