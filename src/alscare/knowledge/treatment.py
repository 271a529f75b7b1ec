"""Knowledge section ``treatment``: the treatment algorithm: patient groups, steps, drugs and their
status, recommendation and alert rules.

Loaded from ``content/treatment/*.yaml``. The section is read twice: the topic page renders
``groups`` (the algorithm a clinician reads) and ``drugs``; the engine applies the rules to one
patient (``engine/recommendations.py``, ``engine/alerts.py``).

A rule is data: ``when`` is a :data:`Condition` in the condition language of
``knowledge/conditions.py``, and every number a condition compares a fact with is a cited
:class:`~alscare.knowledge.conditions.Threshold`, named by id. Beside the shared
``{all: [...]}``, ``{any: [...]}``, ``{not: ...}`` and fact tests, the section has:

* its facts: ``{fact: id, below|at_most|at_least|above: threshold_id}`` compares a numeric fact;
  ``{fact: id, is: true}`` tests a yes/no fact; ``{fact: id, in: [...]}`` a text fact;
  ``{fact: id, includes: [...]}`` a list fact; ``{fact: id, present: bool}`` whether a fact has a
  value at all (:class:`TreatmentFactTest`). The facts and their units are :class:`FactId` /
  :data:`FACTS`; a new fact is one function in ``engine/treatment_facts.py``.
* ``{ref: id}`` uses a named condition of ``conditions`` (e.g. ``person_with_als``).
* ``{alsfrs_r_item: item, at_most|at_least: score}`` reads the latest ALSFRS-R rating (scores
  are the scale's own anchors, Cedarbaum 1999);
  ``{finding: [ids]}`` any of these findings recorded present; ``{exam_sign: [signs]}`` any of these
  signs on examination in any region; ``{taking: drug}`` the drug is in the current medication
  list; ``{drug_status: {drug, in: [...]}}`` the drug's status in the record's jurisdiction;
  ``{variant: {genes, results}}`` a genetic result; ``{recommended: {step, actions}}`` an earlier
  step of this assessment's algorithm ended in one of these actions.

For a step, its rules are tried in file order and the first that holds gives the
recommendation; the same for the rules of one alert.

``strength`` normalises the source's grading (the grade itself is the rule's ``evidence``):
AAN Level A and GRADE strong -> ``strong``; AAN Level B -> ``moderate``; AAN Level C, GRADE weak or
conditional -> ``weak``; good-practice statements -> ``good_practice``; consensus statements ->
``consensus``; product-label instructions (SmPC) -> ``label``; sources that do not grade the
statement -> ``not_graded``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, Tag, model_validator
from pydantic_core import PydanticCustomError

from alscare.knowledge.base import Cited, Frozen, by_id, private
from alscare.knowledge.conditions import (
    BOUNDS,
    COMBINATORS,
    AllOf,
    AnyOf,
    FactTest,
    NotOf,
    RuleId,
    Threshold,
    conditions_in,
    leaf_kinds,
)
from alscare.schemas.vocabulary import (
    Action,
    AlertId,
    AlsfrsItem,
    DifferentialLevel,
    ElEscorialCategory,
    FindingId,
    GeneticResult,
    Jurisdiction,
    LmnSign,
    RecommendationId,
    RespiratorySymptom,
    Severity,
    UmnSign,
)

__all__ = [
    "FACTS",
    "AlertRule",
    "Condition",
    "Drug",
    "DrugAvailability",
    "DrugStatus",
    "DrugStatusSpec",
    "DrugStatusTest",
    "ExamSignTest",
    "FactId",
    "FactKind",
    "FactSpec",
    "FindingTest",
    "GenePanel",
    "ItemTest",
    "Leaf",
    "LiverMonitoring",
    "LiverMonitoringPhase",
    "MimicDefinition",
    "NamedCondition",
    "Paco2Conversion",
    "PatientGroup",
    "RecommendationRule",
    "RecommendedSpec",
    "RecommendedTest",
    "RefTest",
    "Step",
    "Strength",
    "TakingTest",
    "TreatmentFactTest",
    "TreatmentRules",
    "VariantSpec",
    "VariantTest",
]

Label = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
ItemScore = Annotated[int, Field(ge=0, le=4)]
DrugAvailability = Literal["authorised", "not_authorised", "withdrawn", "trials_only", "refused"]


class Strength(StrEnum):
    """How strongly a recommendation is made, normalised from the source's grading."""

    STRONG = "strong"
    MODERATE = "moderate"
    WEAK = "weak"
    GOOD_PRACTICE = "good_practice"
    CONSENSUS = "consensus"
    LABEL = "label"
    NOT_GRADED = "not_graded"


class FactId(StrEnum):
    """The patient facts rules may test (computed in ``engine/treatment_facts.py``)."""

    DIAGNOSIS_RECORDED = "diagnosis_recorded"
    GOLD_COAST_MET = "gold_coast_met"
    EL_ESCORIAL_CATEGORY = "el_escorial_category"
    FVC_PERCENT_PREDICTED = "fvc_percent_predicted"
    SNIP_CMH2O = "snip_cmh2o"
    MIP_CMH2O = "mip_cmh2o"
    PACO2_KPA = "paco2_kpa"
    PACO2_MMHG = "paco2_mmhg"
    PEAK_COUGH_FLOW = "peak_cough_flow_l_min"
    RESPIRATORY_SYMPTOMS = "respiratory_symptoms"
    MONTHS_SINCE_RESPIRATORY_TESTS = "months_since_respiratory_tests"
    WEIGHT_LOSS_PERCENT = "weight_loss_percent"
    BMI = "bmi"
    PROGRESSION_RATE = "progression_rate"
    ALT_ULN_MULTIPLE = "alt_uln_multiple"
    TRANSAMINASE_ULN_MULTIPLE = "transaminase_uln_multiple"
    NEUTROPHILS_BELOW_LOWER_LIMIT = "neutrophils_below_lower_limit"
    ALT_CHECK_OVERDUE = "alt_check_overdue"
    ON_NIV = "on_niv"
    NIV_DECLINED = "niv_declined"
    TRACHEOSTOMY_IN_PLACE = "tracheostomy_in_place"
    GASTROSTOMY_IN_PLACE = "gastrostomy_in_place"
    GASTROSTOMY_DECLINED = "gastrostomy_declined"
    MULTIDISCIPLINARY_CLINIC = "multidisciplinary_clinic"
    ADVANCE_CARE_PLAN = "advance_care_plan"
    PALLIATIVE_CARE_REFERRAL = "palliative_care_referral"
    ECAS_TOTAL = "ecas_total"
    FTD = "ftd"
    BEHAVIOUR_CHANGE = "behaviour_change"
    UNTESTED_PANEL_GENES = "untested_panel_genes"
    SUSPECTED_MIMICS = "suspected_mimics"


FactKind = Literal["number", "yes_no", "text", "list"]


@dataclass(frozen=True)
class FactSpec:
    """What kind of value a fact holds, its unit (numbers) and its allowed values (text, lists)."""

    kind: FactKind
    unit: str | None = None
    values: tuple[str, ...] | None = None


FACTS: dict[FactId, FactSpec] = {
    FactId.DIAGNOSIS_RECORDED: FactSpec("yes_no"),
    FactId.GOLD_COAST_MET: FactSpec("yes_no"),
    FactId.EL_ESCORIAL_CATEGORY: FactSpec("text", values=tuple(ElEscorialCategory)),
    FactId.FVC_PERCENT_PREDICTED: FactSpec("number", "% predicted"),
    FactId.SNIP_CMH2O: FactSpec("number", "cmH2O"),
    FactId.MIP_CMH2O: FactSpec("number", "cmH2O"),
    FactId.PACO2_KPA: FactSpec("number", "kPa"),
    FactId.PACO2_MMHG: FactSpec("number", "mmHg"),
    FactId.PEAK_COUGH_FLOW: FactSpec("number", "L/min"),
    FactId.RESPIRATORY_SYMPTOMS: FactSpec("list", values=tuple(RespiratorySymptom)),
    FactId.MONTHS_SINCE_RESPIRATORY_TESTS: FactSpec("number", "months"),
    FactId.WEIGHT_LOSS_PERCENT: FactSpec("number", "%"),
    FactId.BMI: FactSpec("number", "kg/m2"),
    FactId.PROGRESSION_RATE: FactSpec("number", "points/month"),
    FactId.ALT_ULN_MULTIPLE: FactSpec("number", "x ULN"),
    FactId.TRANSAMINASE_ULN_MULTIPLE: FactSpec("number", "x ULN"),
    FactId.NEUTROPHILS_BELOW_LOWER_LIMIT: FactSpec("yes_no"),
    FactId.ALT_CHECK_OVERDUE: FactSpec("yes_no"),
    FactId.ON_NIV: FactSpec("yes_no"),
    FactId.NIV_DECLINED: FactSpec("yes_no"),
    FactId.TRACHEOSTOMY_IN_PLACE: FactSpec("yes_no"),
    FactId.GASTROSTOMY_IN_PLACE: FactSpec("yes_no"),
    FactId.GASTROSTOMY_DECLINED: FactSpec("yes_no"),
    FactId.MULTIDISCIPLINARY_CLINIC: FactSpec("yes_no"),
    FactId.ADVANCE_CARE_PLAN: FactSpec("yes_no"),
    FactId.PALLIATIVE_CARE_REFERRAL: FactSpec("yes_no"),
    FactId.ECAS_TOTAL: FactSpec("number", "points"),
    FactId.FTD: FactSpec("yes_no"),
    FactId.BEHAVIOUR_CHANGE: FactSpec("yes_no"),
    FactId.UNTESTED_PANEL_GENES: FactSpec("list"),
    FactId.SUSPECTED_MIMICS: FactSpec("list"),
}


def _problem(item_id: str, message: str) -> PydanticCustomError:
    """A validation error that names the faulty item, for the loader's KnowledgeError."""
    return PydanticCustomError(
        "treatment", message.replace("{", "(").replace("}", ")"), {"item_id": item_id}
    )


# --- the condition language: treatment's fact tests and its own tests -------------------------


class TreatmentFactTest(FactTest):
    """A fact test of the treatment section: the fact is a :class:`FactId`, the comparison suits
    the fact's kind, and a bound is the id of a threshold (in the fact's unit)."""

    fact: FactId

    @model_validator(mode="after")
    def _fits_the_fact(self) -> TreatmentFactTest:
        (name, value), spec = self.test, FACTS[self.fact]
        allowed = {
            "number": {*BOUNDS, "present"},
            "yes_no": {"is"},
            "text": {"in", "present"},
            "list": {"includes", "present"},
        }[spec.kind]
        if name not in allowed:
            raise ValueError(f"fact {self.fact} ({spec.kind}) takes {', '.join(sorted(allowed))}")
        if name == "is" and not isinstance(value, bool):
            raise ValueError(f"fact {self.fact} ({spec.kind}) is true or false")
        if name in BOUNDS and not isinstance(value, str):
            raise ValueError(f"fact {self.fact}: compare with a threshold id, not a number")
        if isinstance(value, tuple) and spec.values is not None:
            unknown = sorted(set(value) - set(spec.values))
            if unknown:
                raise ValueError(f"fact {self.fact}: unknown values {', '.join(unknown)}")
        return self


class RefTest(Frozen):
    """Holds when the named condition ``ref`` of ``conditions`` holds."""

    ref: RuleId


class ItemTest(Frozen):
    """The latest ALSFRS-R rating scores this item at most / at least this much."""

    alsfrs_r_item: AlsfrsItem
    at_most: ItemScore | None = None
    at_least: ItemScore | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> ItemTest:
        if (self.at_most is None) == (self.at_least is None):
            raise ValueError(f"alsfrs_r_item {self.alsfrs_r_item}: give at_most or at_least")
        return self


class FindingTest(Frozen):
    finding: Annotated[tuple[FindingId, ...], Field(min_length=1)]


class ExamSignTest(Frozen):
    exam_sign: Annotated[tuple[UmnSign | LmnSign, ...], Field(min_length=1)]


class TakingTest(Frozen):
    taking: RuleId


class DrugStatusSpec(Frozen):
    drug: RuleId
    in_: Annotated[tuple[DrugAvailability, ...], Field(min_length=1, alias="in")]


class DrugStatusTest(Frozen):
    drug_status: DrugStatusSpec


class VariantSpec(Frozen):
    """Genetic results: ``genes`` null means any gene."""

    genes: tuple[Annotated[str, Field(min_length=1, max_length=32)], ...] | None = None
    results: Annotated[tuple[GeneticResult, ...], Field(min_length=1)]


class VariantTest(Frozen):
    variant: VariantSpec


class RecommendedSpec(Frozen):
    step: RuleId
    actions: Annotated[tuple[Action, ...], Field(min_length=1)]


class RecommendedTest(Frozen):
    recommended: RecommendedSpec


_LEAVES: dict[str, type[Frozen]] = {
    "ref": RefTest,
    "fact": TreatmentFactTest,
    "alsfrs_r_item": ItemTest,
    "finding": FindingTest,
    "exam_sign": ExamSignTest,
    "taking": TakingTest,
    "drug_status": DrugStatusTest,
    "variant": VariantTest,
    "recommended": RecommendedTest,
}

Leaf = Annotated[
    Annotated[RefTest, Tag("ref")]
    | Annotated[TreatmentFactTest, Tag("fact")]
    | Annotated[ItemTest, Tag("alsfrs_r_item")]
    | Annotated[FindingTest, Tag("finding")]
    | Annotated[ExamSignTest, Tag("exam_sign")]
    | Annotated[TakingTest, Tag("taking")]
    | Annotated[DrugStatusTest, Tag("drug_status")]
    | Annotated[VariantTest, Tag("variant")]
    | Annotated[RecommendedTest, Tag("recommended")],
    leaf_kinds(_LEAVES),
]
#: A condition of a treatment rule (see ``knowledge/conditions.py``).
Condition = Annotated[
    Annotated[AllOf[Leaf], Tag("all")]
    | Annotated[AnyOf[Leaf], Tag("any")]
    | Annotated[NotOf[Leaf], Tag("not")]
    | Annotated[Leaf, Tag("leaf")],
    COMBINATORS,
]


# --- content ----------------------------------------------------------------------------------


class Step(Cited):
    """One step of the treatment algorithm as a clinician reads it."""

    id: RuleId
    label: Label
    summary: Text


class PatientGroup(Frozen):
    """A patient group of the algorithm and its steps, in the order they are shown."""

    id: RuleId
    label: Label
    steps: Annotated[tuple[Step, ...], Field(min_length=1)]


class DrugStatus(Cited):
    """A drug's regulatory status in one jurisdiction."""

    jurisdiction: Jurisdiction
    status: DrugAvailability
    note: Text


class Drug(Frozen):
    """A drug, the names a medication list may use for it, and its status by jurisdiction."""

    id: RuleId
    label: Label
    names: Annotated[
        tuple[Annotated[str, Field(min_length=2, max_length=100)], ...], Field(min_length=1)
    ]
    status: tuple[DrugStatus, ...] = ()

    @model_validator(mode="after")
    def _one_status_per_jurisdiction(self) -> Drug:
        repeated = [j for j, n in Counter(s.jurisdiction for s in self.status).items() if n > 1]
        if repeated:
            raise _problem(self.id, f"more than one status for {repeated[0]}")
        return self

    def status_in(self, jurisdiction: Jurisdiction) -> DrugStatus | None:
        return next((s for s in self.status if s.jurisdiction == jurisdiction), None)

    def matches(self, medication_name: str) -> bool:
        """Whether a medication list entry names this drug (whole words, any case)."""
        text = medication_name.casefold()
        return any(
            re.search(rf"(?<![\w-]){re.escape(name.casefold())}(?![\w-])", text)
            for name in (self.id.replace("_", " "), *self.names)
        )


class NamedCondition(Cited):
    """A condition several rules share, e.g. ``person_with_als``."""

    id: RuleId
    label: Label
    when: Condition


class RecommendationRule(Cited):
    """When ``when`` holds, the step ``step`` is recommended with this action and strength."""

    id: RuleId
    step: RuleId
    action: Action
    strength: Strength
    detail: Text | None = None
    when: Condition


class AlertRule(Cited):
    """When ``when`` holds, the alert ``alert`` is raised with this severity."""

    id: RuleId
    alert: RuleId
    severity: Severity
    when: Condition


class LiverMonitoringPhase(Frozen):
    """Until ``until_month`` of treatment, check ALT every ``every_months`` months."""

    until_month: Annotated[float, Field(gt=0)]
    every_months: Annotated[float, Field(gt=0)]


class LiverMonitoring(Cited):
    """The liver-test schedule of a drug; after the last phase tests are periodic (no interval)."""

    drug: RuleId
    phases: Annotated[tuple[LiverMonitoringPhase, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _phases_in_order(self) -> LiverMonitoring:
        ends = [phase.until_month for phase in self.phases]
        if ends != sorted(set(ends)):
            raise ValueError("phases must end in increasing months")
        return self


class Paco2Conversion(Cited):
    """Millimetres of mercury per kilopascal, to compare PaCO2 in either unit."""

    mmhg_per_kpa: Annotated[float, Field(gt=7, lt=8)]


class GenePanel(Cited):
    """The genes every person with ALS should be offered testing for, at minimum."""

    genes: Annotated[
        tuple[Annotated[str, Field(min_length=1, max_length=32)], ...], Field(min_length=1)
    ]


class MimicDefinition(Cited):
    """Which differential results count as a suspected mimic (not ALS-spectrum)."""

    levels: Annotated[tuple[DifferentialLevel, ...], Field(min_length=1)]


class TreatmentRules(Frozen):
    """The knowledge section ``treatment``."""

    groups: Annotated[tuple[PatientGroup, ...], Field(min_length=1)]
    drugs: tuple[Drug, ...]
    thresholds: tuple[Threshold, ...]
    conditions: tuple[NamedCondition, ...]
    recommendation_rules: tuple[RecommendationRule, ...]
    alert_rules: tuple[AlertRule, ...]
    riluzole_liver_monitoring: LiverMonitoring
    paco2_conversion: Paco2Conversion
    genetic_testing_panel: GenePanel
    mimic: MimicDefinition

    # Rules by step and by alert, built once with the tuples they index (a ``model_copy`` that
    # replaces a tuple keeps the old index, which is then ignored).
    _by_step: tuple[tuple[RecommendationRule, ...], dict[str, tuple[RecommendationRule, ...]]] | (
        None
    ) = PrivateAttr(default=None)
    _by_alert: tuple[tuple[AlertRule, ...], dict[str, tuple[AlertRule, ...]]] | None = PrivateAttr(
        default=None
    )

    _thresholds: tuple[tuple[Threshold, ...], dict[str, Threshold]] | None = PrivateAttr(
        default=None
    )
    _conditions: tuple[tuple[NamedCondition, ...], dict[str, NamedCondition]] | None = PrivateAttr(
        default=None
    )
    _drugs: tuple[tuple[Drug, ...], dict[str, Drug]] | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        self._by_step = (self.recommendation_rules, _grouped(self.recommendation_rules, "step"))
        self._by_alert = (self.alert_rules, _grouped(self.alert_rules, "alert"))
        self._thresholds = (self.thresholds, _first_by_id(self.thresholds))
        self._conditions = (self.conditions, _first_by_id(self.conditions))
        self._drugs = (self.drugs, _first_by_id(self.drugs))

    @model_validator(mode="after")
    def _consistent(self) -> TreatmentRules:
        self._unique_ids()
        self._every_output_id_known()
        steps = {step.id for _, step in self.steps()}
        drugs = {drug.id for drug in self.drugs}
        for rule in self.recommendation_rules:
            if rule.step not in steps:
                raise _problem(rule.id, f"names no step of the algorithm: {rule.step}")
        if self.riluzole_liver_monitoring.drug not in drugs:
            raise _problem("riluzole_liver_monitoring", "names an unknown drug")
        for item_id, condition in self._rule_conditions():
            self._check_condition(item_id, condition, steps, drugs)
        self._no_cyclic_references()
        self._recommended_tests_look_back()
        return self

    def steps(self) -> Iterator[tuple[PatientGroup, Step]]:
        """Every step with its group, in the algorithm's order."""
        for group in self.groups:
            for step in group.steps:
                yield group, step

    def rules_for(self, step_id: str) -> tuple[RecommendationRule, ...]:
        memo: (
            tuple[tuple[RecommendationRule, ...], dict[str, tuple[RecommendationRule, ...]]] | None
        ) = private(self, "_by_step")
        if memo is not None and memo[0] is self.recommendation_rules:
            return memo[1].get(step_id, ())
        return tuple(rule for rule in self.recommendation_rules if rule.step == step_id)

    def alert_ids(self) -> tuple[str, ...]:
        """The alerts the rules can raise, in the order of their first rule."""
        return tuple(dict.fromkeys(rule.alert for rule in self.alert_rules))

    def rules_for_alert(self, alert_id: str) -> tuple[AlertRule, ...]:
        memo: tuple[tuple[AlertRule, ...], dict[str, tuple[AlertRule, ...]]] | None = private(
            self, "_by_alert"
        )
        if memo is not None and memo[0] is self.alert_rules:
            return memo[1].get(alert_id, ())
        return tuple(rule for rule in self.alert_rules if rule.alert == alert_id)

    def threshold(self, threshold_id: str) -> Threshold:
        return by_id(self, "_thresholds", self.thresholds, threshold_id)

    def condition(self, condition_id: str) -> NamedCondition:
        return by_id(self, "_conditions", self.conditions, condition_id)

    def drug(self, drug_id: str) -> Drug:
        return by_id(self, "_drugs", self.drugs, drug_id)

    def _unique_ids(self) -> None:
        kinds: dict[str, list[str]] = {
            "group": [group.id for group in self.groups],
            "step": [step.id for _, step in self.steps()],
            "drug": [drug.id for drug in self.drugs],
            "threshold": [t.id for t in self.thresholds],
            "condition": [c.id for c in self.conditions],
            "recommendation rule": [r.id for r in self.recommendation_rules],
            "alert rule": [r.id for r in self.alert_rules],
        }
        for kind, ids in kinds.items():
            repeated = [item for item, n in Counter(ids).items() if n > 1]
            if repeated:
                raise _problem(repeated[0], f"{kind} id is used more than once")

    def _every_output_id_known(self) -> None:
        steps = {step.id for _, step in self.steps()}
        for recommendation in RecommendationId:
            if recommendation not in steps:
                raise _problem(recommendation, "recommendation id is no step of the algorithm")
        alerts = set(self.alert_ids())
        for alert in AlertId:
            if alert not in alerts:
                raise _problem(alert, "alert id has no alert rule")

    def _rule_conditions(self) -> Iterator[tuple[str, Condition]]:
        for named in self.conditions:
            yield named.id, named.when
        for rule in self.recommendation_rules:
            yield rule.id, rule.when
        for alert in self.alert_rules:
            yield alert.id, alert.when

    def _check_condition(
        self, item_id: str, condition: Condition, steps: set[str], drugs: set[str]
    ) -> None:
        thresholds = {t.id: t for t in self.thresholds}
        named = {c.id for c in self.conditions}
        for part in conditions_in(condition):
            if isinstance(part, RefTest) and part.ref not in named:
                raise _problem(item_id, f"refers to an unknown condition: {part.ref}")
            if isinstance(part, TreatmentFactTest) and part.comparison is not None:
                threshold = thresholds.get(str(part.comparison[1]))
                if threshold is None:
                    raise _problem(item_id, f"unknown threshold: {part.comparison[1]}")
                if threshold.unit != FACTS[part.fact].unit:
                    raise _problem(
                        item_id,
                        f"threshold {threshold.id} is in {threshold.unit}, "
                        f"fact {part.fact} in {FACTS[part.fact].unit}",
                    )
            drug = (
                part.taking
                if isinstance(part, TakingTest)
                else part.drug_status.drug
                if isinstance(part, DrugStatusTest)
                else None
            )
            if drug is not None and drug not in drugs:
                raise _problem(item_id, f"names an unknown drug: {drug}")
            if isinstance(part, RecommendedTest) and part.recommended.step not in steps:
                raise _problem(item_id, f"names an unknown step: {part.recommended.step}")

    def _recommended_tests_look_back(self) -> None:
        """A rule may test only steps evaluated before its own (named conditions never)."""
        order = {step.id: index for index, (_, step) in enumerate(self.steps())}
        for named in self.conditions:
            if any(isinstance(part, RecommendedTest) for part in conditions_in(named.when)):
                raise _problem(named.id, "a named condition cannot test a recommendation")
        for rule in self.recommendation_rules:
            for part in conditions_in(rule.when):
                if (
                    isinstance(part, RecommendedTest)
                    and order[part.recommended.step] >= order[rule.step]
                ):
                    raise _problem(rule.id, "can test only a step that comes before its own")

    def _no_cyclic_references(self) -> None:
        references = {
            named.id: {p.ref for p in conditions_in(named.when) if isinstance(p, RefTest)}
            for named in self.conditions
        }

        def visit(condition_id: str, trail: tuple[str, ...]) -> None:
            if condition_id in trail:
                raise _problem(condition_id, "refers to itself through " + " -> ".join(trail))
            for referenced in sorted(references[condition_id]):
                visit(referenced, (*trail, condition_id))

        for condition_id in sorted(references):
            visit(condition_id, ())


def _grouped(items: tuple[Any, ...], attribute: str) -> dict[str, tuple[Any, ...]]:
    """Items by the value of one attribute, each group in the items' order."""
    groups: dict[str, list[Any]] = {}
    for item in items:
        groups.setdefault(getattr(item, attribute), []).append(item)
    return {key: tuple(group) for key, group in groups.items()}


def _first_by_id(items: tuple[Any, ...]) -> dict[str, Any]:
    """Items by id, the first item of each id."""
    index: dict[str, Any] = {}
    for item in items:
        index.setdefault(item.id, item)
    return index
