"""Knowledge section ``diagnosis``: parameters of region involvement and the criteria, the
differential (descriptions and rules) and the investigations (descriptions and plan rules).

Loaded from ``content/diagnosis/*.yaml``. This section is the single source of truth for the
topic's investigations and differentials: the topic renderer reads ``investigations`` and
``differentials`` from here.

Rules are data: every ``when`` and ``unless`` is a condition of the rule language
(``knowledge/rules.py``) over the facts of ``knowledge/facts.py``. Differential rules may use
the facts of the record and of the regions; investigation rules those of the differential and
the criteria too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from alscare.knowledge.base import Cited, Frozen, indexed
from alscare.knowledge.rules import Condition
from alscare.schemas.common import TEST_UNITS
from alscare.schemas.vocabulary import (
    DifferentialId,
    DifferentialLevel,
    FindingId,
    InvestigationId,
    LmnSign,
    Region,
    UmnSign,
)

__all__ = [
    "AwajiRules",
    "ClinicalLmnRule",
    "CriteriaRules",
    "DefiniteRule",
    "DiagnosisRules",
    "Differential",
    "DifferentialRule",
    "DifferentialTest",
    "DiscountedSign",
    "ElEscorialRules",
    "EmgDenervationRule",
    "EmgMusclesRule",
    "FamilialRule",
    "GoldCoastRules",
    "Investigation",
    "LabSupportedRule",
    "PlanDefault",
    "PlanRule",
    "PossibleRule",
    "ProbableRule",
    "RegionOrder",
    "RegionRules",
    "SpinalRegions",
    "UmnRule",
    "UnitConversion",
    "Workup",
    "WorkupAfterDiagnosis",
]

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Label = Annotated[str, Field(min_length=1, max_length=200)]


# --- regions ---------------------------------------------------------------------------------


class RegionOrder(Cited):
    """The four regions from rostral to caudal ("rostral" in the criteria follows this order)."""

    rostral_to_caudal: tuple[Region, ...]

    @field_validator("rostral_to_caudal")
    @classmethod
    def _every_region_once(cls, regions: tuple[Region, ...]) -> tuple[Region, ...]:
        if sorted(regions) != sorted(Region):
            raise ValueError("list each of the four regions exactly once")
        return regions


class DiscountedSign(Frozen):
    """An examination sign that does not count while a finding explains it otherwise."""

    sign: UmnSign
    unless_finding: FindingId


class UmnRule(Cited):
    """Clinical UMN signs (Gold Coast footnote): any one of ``signs`` in a region."""

    signs: Annotated[tuple[UmnSign, ...], Field(min_length=1)]
    discounted: tuple[DiscountedSign, ...] = ()


class ClinicalLmnRule(Cited):
    """Clinical LMN signs: every one of ``required`` in a region; ``supportive`` signs are
    reported with the region but never make it count."""

    required: Annotated[tuple[LmnSign, ...], Field(min_length=1)]
    supportive: tuple[LmnSign, ...] = ()
    note: Text


class EmgMusclesRule(Cited):
    """How many muscles with EMG changes make a region EMG-positive."""

    muscles_required: dict[Region, Annotated[int, Field(ge=1, le=10)]]

    @field_validator("muscles_required")
    @classmethod
    def _every_region(cls, value: dict[Region, int]) -> dict[Region, int]:
        if set(value) != set(Region):
            raise ValueError("give the number of muscles for each of the four regions")
        return value


class EmgDenervationRule(Cited):
    """What counts as ongoing denervation beside chronic neurogenic change under a criterion."""

    fasciculation_potentials_count: bool


class RegionRules(Frozen):
    """How the examination and needle EMG decide UMN and LMN involvement per region."""

    order: RegionOrder
    umn: UmnRule
    lmn_clinical: ClinicalLmnRule
    emg_muscles: EmgMusclesRule
    emg_gold_coast_awaji: EmgDenervationRule
    emg_el_escorial: EmgDenervationRule


# --- criteria --------------------------------------------------------------------------------


class SpinalRegions(Cited):
    regions: Annotated[tuple[Region, ...], Field(min_length=1)]


class GoldCoastRules(Cited):
    """Gold Coast: progression, UMN+LMN in one region or LMN in ``lmn_regions_min`` regions,
    other diseases excluded (no suspected mimic, minimum work-up done)."""

    lmn_regions_min: Annotated[int, Field(ge=1, le=4)]
    progression: Cited
    exclusion: Cited


class DefiniteRule(Cited):
    """UMN+LMN in bulbar plus ``spinal_with_bulbar_min`` spinal regions, or in
    ``spinal_alone_min`` spinal regions."""

    spinal_with_bulbar_min: Annotated[int, Field(ge=1, le=3)]
    spinal_alone_min: Annotated[int, Field(ge=1, le=3)]


class ProbableRule(Cited):
    """UMN+LMN in ``regions_min`` regions (strict: each region shows both), with some UMN
    signs rostral to LMN signs."""

    regions_min: Annotated[int, Field(ge=1, le=4)]
    reading: Literal["strict"]


class LabSupportedRule(Cited):
    """Clinical UMN (with or without LMN) in one region plus EMG LMN in ``emg_regions_min``
    regions, other causes excluded by laboratory tests (the minimum work-up) and by
    ``imaging``."""

    emg_regions_min: Annotated[int, Field(ge=1, le=4)]
    imaging: InvestigationId


class PossibleRule(Cited):
    """UMN+LMN in one region, or UMN alone in ``umn_regions_min`` regions, or LMN rostral to
    UMN."""

    umn_regions_min: Annotated[int, Field(ge=1, le=4)]


class FamilialRule(Cited):
    """Clinically definite familial ALS, laboratory-supported: UMN+LMN in one region and a
    causal variant (the knowledge base's one definition) of one of ``genes``."""

    genes: Annotated[tuple[str, ...], Field(min_length=1)]


class ElEscorialRules(Cited):
    progression: Cited
    definite: DefiniteRule
    probable: ProbableRule
    probable_laboratory_supported: LabSupportedRule
    possible: PossibleRule
    familial_laboratory_supported: FamilialRule


class AwajiRules(Cited):
    progression: Cited
    definite: DefiniteRule
    probable: ProbableRule
    possible: PossibleRule


class CriteriaRules(Frozen):
    spinal: SpinalRegions
    gold_coast: GoldCoastRules
    el_escorial: ElEscorialRules
    awaji: AwajiRules


# --- units -----------------------------------------------------------------------------------


class UnitConversion(Cited):
    """Factors that turn a value in each unit into the canonical unit (value * factor)."""

    investigation: InvestigationId
    canonical: str
    factors: dict[str, Annotated[float, Field(gt=0)]]

    @model_validator(mode="after")
    def _covers_record_units(self) -> UnitConversion:
        if self.factors.get(self.canonical) != 1:
            raise ValueError(f"the canonical unit {self.canonical!r} needs the factor 1")
        allowed = set(TEST_UNITS.get(self.investigation, ()))
        if set(self.factors) != allowed:
            raise ValueError(
                f"give a factor for exactly the record's units of {self.investigation}: "
                f"{', '.join(sorted(allowed)) or 'none'}"
            )
        return self


# --- investigations --------------------------------------------------------------------------


class Workup(Cited):
    """The investigation belongs to the routine work-up: recommended until done, except while
    ``unless`` holds. With ``counts_for_exclusion`` it is part of the minimum work-up that Gold
    Coast condition 3 ("investigations exclude other diseases") asks to be done."""

    reason: Text
    unless: Condition | None = None
    unless_reason: Text | None = None
    counts_for_exclusion: bool = True

    @model_validator(mode="after")
    def _unless_explained(self) -> Workup:
        if (self.unless is None) != (self.unless_reason is None):
            raise ValueError("unless and unless_reason are given together")
        return self


class WorkupAfterDiagnosis(Cited):
    """Once ``when`` holds (the diagnosis is established and nothing new casts doubt on it),
    work-up investigations never recorded are no longer recommended; ``reason`` says why."""

    when: Condition
    reason: Text


class PlanRule(Cited):
    """A plan status for this investigation when ``when`` holds for the patient."""

    status: Literal["recommended", "consider"]
    when: Condition
    reason: Text


class PlanDefault(Frozen):
    """The status when nothing else applies."""

    status: Literal["consider", "not_needed"]
    reason: Text


class Investigation(Cited):
    """An investigation of the topic: what the topic says of it and how the plan treats it.

    ``recorded_as`` says where the record shows it done: a ``tests`` entry (always accepted), or
    ``emg`` (the EMG study), ``rns`` (emg.rns_decrement or emg.post_exercise_increment),
    ``genetics`` (record.genetics holds a result) or ``diagnosis`` (a diagnosis date).
    """

    id: InvestigationId
    label: Label
    tier: Literal["first", "consider", "additional"]
    when: Text
    als_result: Text
    addresses: tuple[DifferentialId, ...] = ()
    recorded_as: Literal["tests", "emg", "rns", "genetics", "diagnosis"] = "tests"
    workup: Workup | None = None
    plan: tuple[PlanRule, ...] = ()
    otherwise: PlanDefault


# --- differentials ---------------------------------------------------------------------------


class DifferentialTest(Frozen):
    """A test that settles the differential and its result when the differential is the cause."""

    investigation: InvestigationId
    expected: Text


class DifferentialRule(Cited):
    """The record makes the differential ``level`` when ``when`` holds."""

    level: DifferentialLevel
    when: Condition


class Differential(Cited):
    """A differential diagnosis: what points to it, what settles it, and the rules that raise it
    for a patient. ``spectrum`` marks ALS-spectrum phenotypes (PLS, PMA), never mimics."""

    id: DifferentialId
    label: Label
    seed: bool
    spectrum: bool
    features: Annotated[tuple[Text, ...], Field(min_length=1)]
    tests: Annotated[tuple[DifferentialTest, ...], Field(min_length=1)]
    rules: Annotated[tuple[DifferentialRule, ...], Field(min_length=1)]

    @property
    def test_ids(self) -> tuple[InvestigationId, ...]:
        return tuple(test.investigation for test in self.tests)


class DiagnosisRules(Frozen):
    """The knowledge section ``diagnosis``."""

    region_rules: RegionRules
    criteria: CriteriaRules
    units: tuple[UnitConversion, ...]
    workup_after_diagnosis: WorkupAfterDiagnosis
    investigations: tuple[Investigation, ...]
    differentials: tuple[Differential, ...]

    @model_validator(mode="after")
    def _complete_and_consistent(self) -> DiagnosisRules:
        _every_id_once("investigations", [i.id for i in self.investigations], InvestigationId)
        _every_id_once("differentials", [d.id for d in self.differentials], DifferentialId)
        if self.investigations[0].id != InvestigationId.CLINICAL_DIAGNOSIS:
            raise _fault(("investigations", 0, "id"), "clinical_diagnosis comes first")
        addressed = {(d, i.id) for i in self.investigations for d in i.addresses}
        settled = {(d.id, t) for d in self.differentials for t in d.test_ids}
        mismatched = sorted(settled ^ addressed)
        if mismatched:
            differential, test = mismatched[0]
            raise _fault(
                ("differentials",),
                f"{differential} lists {test} among its tests but {test} does not list it in "
                "addresses, or the reverse: keep the two in step",
                differential,
            )
        units = [conversion.investigation for conversion in self.units]
        if len(set(units)) != len(units):
            raise _fault(("units",), "one conversion per investigation")
        return self

    @indexed
    def investigation_by_id(self) -> dict[str, Investigation]:
        return {investigation.id.value: investigation for investigation in self.investigations}

    @indexed
    def differential_by_id(self) -> dict[str, Differential]:
        return {differential.id.value: differential for differential in self.differentials}

    @indexed
    def conversion_by_investigation(self) -> dict[str, UnitConversion]:
        return {conversion.investigation.value: conversion for conversion in self.units}

    def investigation(self, investigation_id: str) -> Investigation:
        """The investigation with this id (every vocabulary investigation is present)."""
        return self.investigation_by_id[investigation_id]

    def differential(self, differential_id: str) -> Differential:
        """The differential with this id (every vocabulary differential is present)."""
        return self.differential_by_id[differential_id]

    def conversion(self, investigation_id: str) -> UnitConversion | None:
        """The unit conversion of a numeric investigation, if it has one."""
        return self.conversion_by_investigation.get(investigation_id)


def _every_id_once(field: str, ids: Sequence[str], vocabulary: Iterable[StrEnum]) -> None:
    seen: set[str] = set()
    for index, item_id in enumerate(ids):
        if item_id in seen:
            raise _fault((field, index, "id"), f"duplicate id {item_id!r}", item_id)
        seen.add(item_id)
    for member in vocabulary:
        if member.value not in seen:
            raise _fault((field,), f"vocabulary id {member.value!r} has no entry", member.value)


def _fault(location: tuple[str | int, ...], message: str, item_id: str | None = None) -> Exception:
    """A validation error at ``location``; ``item_id`` travels in the context for the loader."""
    context: dict[str, str] = {"reason": message}
    if item_id is not None:
        context["item_id"] = item_id
    error = PydanticCustomError("knowledge", "{reason}", context)
    return ValidationError.from_exception_data(
        "DiagnosisRules", [InitErrorDetails(type=error, loc=location, input=None)]
    )
