"""Trial eligibility as data: the model of a trial file and its validation against the
knowledge base.

A trial file (YAML; the shipped ones are ``content/trials/*.yaml``) names a trial, cites where
its criteria come from and lists them under ``criteria`` (docs/trials.md)::

    id: early_disease_fvc
    title: Early-disease trial (edaravone-style)
    sources: [{id: fda2017_edaravone, where: "..."}]
    verified: false                          # some criterion is not verified
    criteria:
      fvc_percent_predicted: {min: {threshold: edaravone_trial_fvc}}
      age_years: {min: 18, sources: [{id: ..., where: "..."}]}
      el_escorial: {allowed: [definite, probable]}
      gold_coast: {met: true}
      genes: {required: [SOD1]}
      exclude_interventions:
        - {kind: tracheostomy}
        - {kind: niv, hours_per_day_over: 22}

Ranges (``age_years``, ``months_since_onset``, ``fvc_percent_predicted``, ``progression_rate``,
``encals_linear_predictor``) have ``min`` and/or ``max``, both inclusive. A bound is a number or
``{threshold: id}``, a named threshold of ``rules/thresholds.yaml`` in the criterion's unit: a
number the knowledge base already holds is used from there, with its sources and its
``verified`` mark, never copied. Every criterion may cite its own sources and say
``verified: false`` (with a ``note``); a trial with any unverified criterion must say
``verified: false`` itself, so the mark shows wherever the trial does.

Pure: :func:`parse_trial` takes the file's text (the readers are in ``alscare.cohort.trials``);
any fault raises :class:`~alscare.errors.KnowledgeError` naming the file, the trial and the
field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, ClassVar, Self

import yaml
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from alscare.errors import KnowledgeError
from alscare.knowledge.base import Frozen, SourceRef, indexed
from alscare.knowledge.models import KnowledgeBase
from alscare.schemas.vocabulary import ElEscorialCategory, InterventionKind

__all__ = [
    "RANGE_CRITERIA",
    "AgeRange",
    "Bound",
    "Criterion",
    "ElEscorialCriterion",
    "FvcRange",
    "GeneCriterion",
    "GoldCoastCriterion",
    "InterventionExclusion",
    "LinearPredictorRange",
    "MonthsRange",
    "NumberRange",
    "ProgressionRateRange",
    "Trial",
    "TrialCriteria",
    "parse_trial",
]

TrialId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]
Label = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
# Spelled as a genetic result's gene in the record (schemas/common.py); matched in any case.
Gene = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]

#: The range criteria, in the order a screening reports them.
RANGE_CRITERIA = (
    "age_years",
    "months_since_onset",
    "fvc_percent_predicted",
    "progression_rate",
    "encals_linear_predictor",
)

_BOUND_SHAPE = "a bound is a number or {threshold: <id of rules/thresholds.yaml>}"


class Criterion(Frozen):
    """What every criterion may carry: its own sources, whether it is verified, and a note
    (why it is unverified, what it leaves out)."""

    sources: tuple[SourceRef, ...] = ()
    verified: bool = True
    note: Text | None = None

    @indexed
    def source_ids(self) -> tuple[str, ...]:
        """The criterion's own sources, then those of any threshold it uses, once each."""
        return tuple(dict.fromkeys(ref.id for ref in self.citations()))

    @indexed
    def checked(self) -> bool:
        """Verified, and so is every threshold it uses."""
        return self.verified

    def citations(self) -> tuple[SourceRef, ...]:
        return self.sources


class Bound(Frozen):
    """One bound of a range: the number, and the threshold of the knowledge base it is when it
    is one (with that threshold's sources and mark)."""

    value: float
    threshold: TrialId | None = None
    sources: tuple[SourceRef, ...] = ()
    verified: bool = True


class NumberRange(Criterion):
    """``min <= value <= max``; either bound may be left out, not both."""

    #: The unit of the value, which a threshold bound must share (None: no unit).
    unit: ClassVar[str | None] = None

    min: Bound | None = None
    max: Bound | None = None

    @field_validator("min", "max", mode="before")
    @classmethod
    def _bound(cls, raw: object, info: ValidationInfo) -> object:
        if raw is None:
            return None
        if isinstance(raw, bool):
            raise ValueError(_BOUND_SHAPE)
        if isinstance(raw, int | float):
            return {"value": raw}
        if isinstance(raw, Mapping) and set(raw) == {"threshold"}:
            return _threshold_bound(raw["threshold"], cls.unit, info.context)
        raise ValueError(_BOUND_SHAPE)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min.value > self.max.value:
            raise ValueError(f"min {self.min.value:g} is above max {self.max.value:g}")
        return self

    @property
    def bounds(self) -> tuple[Bound, ...]:
        return tuple(bound for bound in (self.min, self.max) if bound is not None)

    def citations(self) -> tuple[SourceRef, ...]:
        return (*self.sources, *(ref for bound in self.bounds for ref in bound.sources))

    @indexed
    def checked(self) -> bool:
        return self.verified and all(bound.verified for bound in self.bounds)


def _threshold_bound(threshold_id: object, unit: str | None, context: Any) -> dict[str, Any]:
    """A bound that is a named threshold: its value, sources and mark, from the knowledge base
    given as the validation context (``{"kb": kb}``)."""
    kb = context.get("kb") if isinstance(context, Mapping) else None
    if not isinstance(kb, KnowledgeBase):
        raise ValueError("a threshold bound needs the knowledge base to be read against")
    threshold = kb.rules.threshold_by_id.get(str(threshold_id))
    if threshold is None:
        raise ValueError(f"unknown threshold {threshold_id!r} (rules/thresholds.yaml)")
    if threshold.unit != unit:
        raise ValueError(
            f"threshold {threshold.id!r} is in {threshold.unit}, not in the criterion's unit "
            f"({unit or 'none'})"
        )
    return {
        "value": threshold.value,
        "threshold": threshold.id,
        "sources": [ref.model_dump() for ref in threshold.sources],
        "verified": threshold.verified,
    }


class AgeRange(NumberRange):
    """Age on the screening date, in years."""

    unit: ClassVar[str | None] = "years"


class MonthsRange(NumberRange):
    """Months from symptom onset to the screening date (days / 30.4375)."""

    unit: ClassVar[str | None] = "months"


class FvcRange(NumberRange):
    """The latest FVC, % predicted."""

    unit: ClassVar[str | None] = "% predicted"


class ProgressionRateRange(NumberRange):
    """The progression rate delta-FS, ALSFRS-R points lost per month since onset."""

    unit: ClassVar[str | None] = "points/month"


class LinearPredictorRange(NumberRange):
    """The linear predictor of the ENCALS model, as the assessment gives it (no unit)."""

    unit: ClassVar[str | None] = None


class ElEscorialCriterion(Criterion):
    """The revised El Escorial category the assessment found is one of ``allowed``."""

    allowed: Annotated[tuple[ElEscorialCategory, ...], Field(min_length=1)]

    @field_validator("allowed")
    @classmethod
    def _once_each(cls, allowed: tuple[ElEscorialCategory, ...]) -> tuple[ElEscorialCategory, ...]:
        if len(set(allowed)) != len(allowed):
            raise ValueError("a category is listed twice")
        return allowed


class GoldCoastCriterion(Criterion):
    """Whether the Gold Coast criteria must be met (``met: true``) or not met."""

    met: bool


class GeneCriterion(Criterion):
    """A causal variant (the knowledge base's one definition) in every gene of ``required``."""

    required: Annotated[tuple[Gene, ...], Field(min_length=1)]

    @field_validator("required")
    @classmethod
    def _once_each(cls, genes: tuple[str, ...]) -> tuple[str, ...]:
        if len({gene.casefold() for gene in genes}) != len(genes):
            raise ValueError("a gene is listed twice")
        return genes


class InterventionExclusion(Criterion):
    """The patient must not have the intervention in place; with ``hours_per_day_over``, not in
    place for more than that many hours a day."""

    kind: InterventionKind
    hours_per_day_over: Annotated[float, Field(ge=0, lt=24)] | None = None


class TrialCriteria(Frozen):
    """Every criterion a trial file may give; those left out are not screened."""

    age_years: AgeRange | None = None
    months_since_onset: MonthsRange | None = None
    fvc_percent_predicted: FvcRange | None = None
    progression_rate: ProgressionRateRange | None = None
    encals_linear_predictor: LinearPredictorRange | None = None
    el_escorial: ElEscorialCriterion | None = None
    gold_coast: GoldCoastCriterion | None = None
    genes: GeneCriterion | None = None
    exclude_interventions: tuple[InterventionExclusion, ...] = ()

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not any(criterion for _, criterion in self.named()):
            raise ValueError("a trial needs at least one criterion")
        kinds = [exclusion.kind for exclusion in self.exclude_interventions]
        if len(set(kinds)) != len(kinds):
            raise ValueError("exclude_interventions: an intervention is listed twice")
        return self

    def named(self) -> Iterator[tuple[str, Criterion]]:
        """Each criterion given, with its field path, in the order a screening reports them."""
        for name in (*RANGE_CRITERIA, "el_escorial", "gold_coast", "genes"):
            criterion = getattr(self, name)
            if criterion is not None:
                yield name, criterion
        for index, exclusion in enumerate(self.exclude_interventions):
            yield f"exclude_interventions.{index}", exclusion


class Trial(Frozen):
    """One trial's eligibility criteria, with where they come from. ``example: true`` marks a
    file that illustrates a kind of trial rather than giving a running trial's protocol."""

    id: TrialId
    title: Label
    note: Text | None = None
    example: bool = False
    sources: Annotated[tuple[SourceRef, ...], Field(min_length=1)]
    verified: bool = True
    criteria: TrialCriteria

    @indexed
    def source_ids(self) -> tuple[str, ...]:
        """The trial's sources, then every criterion's, once each."""
        ids = (ref.id for ref in self.sources)
        criteria = (source for _, c in self.criteria.named() for source in c.source_ids)
        return tuple(dict.fromkeys((*ids, *criteria)))


def parse_trial(text: str, *, name: str, kb: KnowledgeBase) -> Trial:
    """A trial from the text of its YAML file (``name``: the file, for messages), validated
    against ``kb``: its fields, its thresholds, its sources and its ``verified`` mark."""
    data = _yaml(text, name)
    trial_id = data.get("id") if isinstance(data.get("id"), str) else None
    try:
        trial = Trial.model_validate(data, context={"kb": kb})
    except ValidationError as error:
        detail = error.errors(include_url=False)[0]
        field = ".".join(str(part) for part in detail["loc"]) or "(top level)"
        reason = str(detail["msg"]).removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            reason = "unknown field"
        raise KnowledgeError(name, trial_id, field, reason) from None
    _check_sources(trial, kb, name)
    _check_marked(trial, name)
    return trial


def _yaml(text: str, name: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise KnowledgeError(name, None, where, f"not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise KnowledgeError(name, None, "(top level)", "a trial file must be a mapping")
    return data


def _check_sources(trial: Trial, kb: KnowledgeBase, name: str) -> None:
    known = {source.id for source in kb.sources}
    cited = [("sources", trial.sources)] + [
        (f"criteria.{path}.sources", criterion.sources)
        for path, criterion in trial.criteria.named()
    ]
    for field, refs in cited:
        for index, ref in enumerate(refs):
            if ref.id not in known:
                reason = f"cites unknown source {ref.id!r} (sources.yaml)"
                raise KnowledgeError(name, trial.id, f"{field}.{index}.id", reason)


def _check_marked(trial: Trial, name: str) -> None:
    """An unverified criterion (or threshold) makes the whole trial unverified, in the file."""
    if not trial.verified:
        return
    for path, criterion in trial.criteria.named():
        if not criterion.checked:
            reason = f"criteria.{path} is unverified: mark the trial verified: false"
            raise KnowledgeError(name, trial.id, "verified", reason)
