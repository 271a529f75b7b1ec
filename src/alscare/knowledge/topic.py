"""Knowledge section ``topic``: the topic a clinician reads: diagnostic factors (findings), risk
factors, guidelines and what the topic is based on.

Loaded from ``content/topic/*.yaml``. Every finding id and every risk factor id of the controlled
vocabulary appears exactly once, in vocabulary order; a guideline's own document is one of its
sources, so the loader's source check also resolves ``Guideline.source``. Faults are raised as
pydantic errors located at the offending item, so the loader can name file, id and field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from alscare.knowledge.base import Cited, Frozen, SourceId, indexed
from alscare.schemas.vocabulary import DifferentialId, FindingId, Region, RiskFactorId

__all__ = [
    "EXAM_SIGNS",
    "FINDING_KINDS",
    "INDICATIONS",
    "Finding",
    "FindingKind",
    "Guideline",
    "Indication",
    "Overview",
    "RiskFactor",
    "Topic",
]

FindingKind = Literal["key", "other", "sign", "red_flag"]
Indication = Literal["umn", "lmn", "bulbar", "respiratory", "cognitive", "mimic"]
ExamSign = Literal[
    "weakness",
    "wasting",
    "fasciculations",
    "hyperreflexia",
    "pathological_reflexes",
    "spasticity",
    "slowed_movements",
]

FINDING_KINDS: tuple[FindingKind, ...] = ("key", "other", "sign", "red_flag")
INDICATIONS: tuple[Indication, ...] = ("umn", "lmn", "bulbar", "respiratory", "cognitive", "mimic")
EXAM_SIGNS: tuple[ExamSign, ...] = (
    "weakness",
    "wasting",
    "fasciculations",
    "hyperreflexia",
    "pathological_reflexes",
    "spasticity",
    "slowed_movements",
)

HpoId = Annotated[str, Field(pattern=r"^HP:\d{7}$")]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Label = Annotated[str, Field(min_length=1, max_length=200)]


class Finding(Cited):
    """A finding of history or examination: a diagnostic factor, a further sign or a red flag.

    ``region`` is the body region the finding belongs to (null: any region). ``exam_sign`` names
    the examination sign that is the same thing, looked for in ``region`` or, when that is null,
    in every region; ``screen_field`` names the field of the cognitive screens that is the same
    thing (ftd). ``suggests`` lists differentials a red flag points to.
    """

    id: FindingId
    label: Label
    kind: FindingKind
    hpo: HpoId | None = None
    hpo_label: Label | None = None
    region: Region | None = None
    indicates: tuple[Indication, ...] = ()
    note: Text
    exam_sign: ExamSign | None = None
    screen_field: Literal["ftd", "behaviour_change"] | None = None
    suggests: tuple[DifferentialId, ...] = ()

    @model_validator(mode="after")
    def _hpo_label_goes_with_code(self) -> Finding:
        if (self.hpo is None) != (self.hpo_label is None):
            raise _fault(("hpo_label",), "hpo and hpo_label are given together or not at all")
        return self


class RiskFactor(Cited):
    """A risk factor of the topic with its effect size where a source reports one.

    ``age_above_years`` is the age threshold of an age risk factor (the engine compares the age
    at onset with it); null for every other factor.
    """

    id: RiskFactorId
    label: Label
    effect_size: Text | None = None
    note: Text
    age_above_years: Annotated[int, Field(ge=0, le=120)] | None = None


class Guideline(Cited):
    """A guideline or consensus statement the topic follows; ``seed`` marks the seed topic's."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]
    title: Label
    issuer: Label
    year: Annotated[int, Field(ge=1900, le=2100)]
    source: SourceId
    summary: Text
    seed: bool = False

    @model_validator(mode="after")
    def _own_document_is_cited(self) -> Guideline:
        if self.source not in self.source_ids:
            raise _fault(
                ("source",),
                f"the guideline's own document {self.source!r} must also be one of its sources",
                self.id,
            )
        return self


class Overview(Cited):
    """What the topic covers and what it is based on (the seed topic is credited here)."""

    summary: Text
    basis: Text


class Topic(Frozen):
    """The knowledge section ``topic``."""

    overview: Overview
    findings: tuple[Finding, ...]
    risk_factors: tuple[RiskFactor, ...]
    guidelines: Annotated[tuple[Guideline, ...], Field(min_length=1)]

    @indexed
    def finding_labels(self) -> Mapping[str, str]:
        """Each finding's label by finding id."""
        return {str(item.id): item.label for item in self.findings}

    @model_validator(mode="after")
    def _every_vocabulary_id_once(self) -> Topic:
        _check_ids("findings", [item.id for item in self.findings], list(FindingId))
        _check_ids("risk_factors", [item.id for item in self.risk_factors], list(RiskFactorId))
        _check_ids("guidelines", [item.id for item in self.guidelines], None)
        ages = [item for item in self.risk_factors if item.age_above_years is not None]
        if [item.id for item in ages] != [RiskFactorId.AGE_OVER_40]:
            raise _fault(
                ("risk_factors",),
                "exactly one risk factor, age_over_40, carries age_above_years",
                RiskFactorId.AGE_OVER_40,
            )
        return self

    @indexed
    def finding_by_id(self) -> dict[str, Finding]:
        return {item.id.value: item for item in self.findings}

    @indexed
    def finding_of_screen_field(self) -> dict[str, Finding]:
        """The finding that is the same thing as each field of the cognitive screens."""
        return {item.screen_field: item for item in self.findings if item.screen_field}

    def finding(self, finding_id: str) -> Finding:
        """The finding with this id (every vocabulary finding is present)."""
        return self.finding_by_id[finding_id]

    def findings_of_kind(self, *kinds: FindingKind) -> tuple[Finding, ...]:
        """The findings of the given kinds, in topic order."""
        return tuple(item for item in self.findings if item.kind in kinds)

    @property
    def diagnostic_factors(self) -> tuple[Finding, ...]:
        """The seed topic's key and other diagnostic factors, in topic order."""
        return self.findings_of_kind("key", "other")

    def risk_factor(self, factor_id: str) -> RiskFactor:
        """The risk factor with this id (every vocabulary risk factor is present)."""
        return next(item for item in self.risk_factors if item.id == factor_id)


def _check_ids(field: str, ids: Sequence[str], vocabulary: Iterable[StrEnum] | None) -> None:
    """Unique ids; with a vocabulary, every id once and in vocabulary order."""
    seen: set[str] = set()
    for index, item_id in enumerate(str(value) for value in ids):
        if item_id in seen:
            raise _fault((field, index, "id"), f"duplicate id {item_id!r}", item_id)
        seen.add(item_id)
    if vocabulary is None:
        return
    expected = [member.value for member in vocabulary]
    for member in expected:
        if member not in seen:
            raise _fault((field,), f"vocabulary id {member!r} has no entry", member)
    for index, (item_id, wanted) in enumerate(zip(map(str, ids), expected, strict=True)):
        if item_id != wanted:
            raise _fault(
                (field, index, "id"), f"out of vocabulary order: expected {wanted!r} here", item_id
            )


def _fault(location: tuple[str | int, ...], message: str, item_id: str | None = None) -> Exception:
    """A validation error located at ``location`` (relative to the model being validated).

    ``item_id`` travels in the error context so the loader can name an item that is missing
    from the file, where no node of the YAML carries the id.
    """
    context: dict[str, str] = {"reason": message}
    if item_id is not None:
        context["item_id"] = str(item_id)
    error = PydanticCustomError("knowledge", "{reason}", context)
    return ValidationError.from_exception_data(
        "Topic", [InitErrorDetails(type=error, loc=location, input=None)]
    )
