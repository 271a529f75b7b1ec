"""Knowledge section ``treatment``: the treatment algorithm: patient groups, steps, drugs and their
status, recommendation and alert rules.

Loaded from ``content/treatment/*.yaml``. The section is read twice: the topic page renders
``groups`` (the algorithm a clinician reads) and ``drugs``; the engine applies the rules to one
patient (``engine/recommendations.py``, ``engine/alerts.py``).

A rule is data: ``when`` is a condition of the rule language (``knowledge/rules.py``) over the
facts of ``knowledge/facts.py``; the thresholds and named conditions it uses are in the shared
``rules`` section. For a step, its rules are tried in file order and the first that holds gives
the recommendation; the same for the rules of one alert. A rule may test what an earlier step
recommended (``recommended.<step>``), never a later one.

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
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from alscare.knowledge.base import Cited, Frozen, indexed
from alscare.knowledge.rules import Condition, Measurement, RuleId, facts_in
from alscare.schemas.vocabulary import (
    Action,
    AlertId,
    InterventionKind,
    Jurisdiction,
    RecommendationId,
    Severity,
)

__all__ = [
    "AlertRule",
    "Drug",
    "DrugAvailability",
    "DrugStatus",
    "FollowUpItem",
    "GenePanel",
    "LiverMonitoring",
    "LiverMonitoringPhase",
    "Paco2Conversion",
    "PatientGroup",
    "RecommendationRule",
    "Step",
    "Strength",
    "TreatmentRules",
    "TrialPopulation",
]

Label = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
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


def _problem(item_id: str, message: str) -> PydanticCustomError:
    """A validation error that names the faulty item, for the loader's KnowledgeError."""
    return PydanticCustomError(
        "treatment", message.replace("{", "(").replace("}", ")"), {"item_id": item_id}
    )


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

    @indexed
    def name_pattern(self) -> re.Pattern[str]:
        """Any of the drug's names as a whole word (any case)."""
        spellings = (self.id.replace("_", " "), *self.names)
        names = "|".join(re.escape(name.casefold()) for name in spellings)
        return re.compile(rf"(?<![\w-])(?:{names})(?![\w-])")

    def matches(self, medication_name: str) -> bool:
        """Whether a medication list entry names this drug (whole words, any case)."""
        return self.name_pattern.search(medication_name.casefold()) is not None


class TrialPopulation(Cited):
    """The restricted population the evidence for a recommendation comes from: ``label`` says
    who it was, ``fits`` whether this patient would have been in it, and the reasons name the
    facts of ``compare`` so that the clinician sees how the patient compares."""

    label: Label
    fits: Condition
    compare: Annotated[tuple[str, ...], Field(min_length=1)]


class RecommendationRule(Cited):
    """When ``when`` holds, the step ``step`` is recommended with this action and strength."""

    id: RuleId
    step: RuleId
    action: Action
    strength: Strength
    detail: Text | None = None
    when: Condition
    population: TrialPopulation | None = None


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


class FollowUpItem(Cited):
    """Something the clinic owes a person with ALS at intervals, and when it falls due: a
    measurement past its repeat window (``rules.repeat_windows``), the next ALT of the riluzole
    liver schedule, a decision an alert asks for and no event of that intervention answers yet
    (open since the latest of the measurements it is ``based_on``), or a screen never done
    since the diagnosis."""

    id: RuleId
    label: Label
    measurement: Measurement | None = None
    liver_monitoring: bool = False
    alert: AlertId | None = None
    intervention: InterventionKind | None = None
    based_on: tuple[Measurement, ...] = ()
    screen: Literal["cognition"] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> FollowUpItem:
        kinds = [
            kind
            for kind, given in (
                ("measurement", self.measurement is not None),
                ("liver_monitoring", self.liver_monitoring),
                ("alert", self.alert is not None),
                ("screen", self.screen is not None),
            )
            if given
        ]
        if len(kinds) != 1:
            given = ", ".join(kinds) or "none"
            raise ValueError(f"give one of measurement, liver_monitoring, alert, screen ({given})")
        if (self.alert is None) != (self.intervention is None) or (
            self.alert is None and self.based_on
        ):
            raise ValueError("an alert item names its intervention and based_on; others neither")
        return self


class TreatmentRules(Frozen):
    """The knowledge section ``treatment``."""

    groups: Annotated[tuple[PatientGroup, ...], Field(min_length=1)]
    drugs: tuple[Drug, ...]
    recommendation_rules: tuple[RecommendationRule, ...]
    alert_rules: tuple[AlertRule, ...]
    riluzole_liver_monitoring: LiverMonitoring
    paco2_conversion: Paco2Conversion
    genetic_testing_panel: GenePanel
    follow_up: tuple[FollowUpItem, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> TreatmentRules:
        self._unique_ids()
        self._every_output_id_known()
        steps = {step.id for _, step in self.steps()}
        for rule in self.recommendation_rules:
            if rule.step not in steps:
                raise _problem(rule.id, f"names no step of the algorithm: {rule.step}")
        if self.riluzole_liver_monitoring.drug not in {drug.id for drug in self.drugs}:
            raise _problem("riluzole_liver_monitoring", "names an unknown drug")
        self._recommended_tests_look_back()
        return self

    def steps(self) -> Iterator[tuple[PatientGroup, Step]]:
        """Every step with its group, in the algorithm's order."""
        for group in self.groups:
            for step in group.steps:
                yield group, step

    @indexed
    def rules_by_step(self) -> dict[str, tuple[RecommendationRule, ...]]:
        """The rules of each step, in file order."""
        return _grouped(self.recommendation_rules, "step")

    @indexed
    def rules_by_alert(self) -> dict[str, tuple[AlertRule, ...]]:
        """The rules of each alert, in file order; the alerts in the order of their first rule."""
        return _grouped(self.alert_rules, "alert")

    @indexed
    def drug_by_id(self) -> dict[str, Drug]:
        return {drug.id: drug for drug in self.drugs}

    def drug(self, drug_id: str) -> Drug:
        return self.drug_by_id[drug_id]

    def _unique_ids(self) -> None:
        kinds: dict[str, list[str]] = {
            "group": [group.id for group in self.groups],
            "step": [step.id for _, step in self.steps()],
            "drug": [drug.id for drug in self.drugs],
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
        alerts = {rule.alert for rule in self.alert_rules}
        for alert in AlertId:
            if alert not in alerts:
                raise _problem(alert, "alert id has no alert rule")

    def _recommended_tests_look_back(self) -> None:
        """A rule may test only steps decided before its own."""
        order = {step.id: index for index, (_, step) in enumerate(self.steps())}
        for rule in self.recommendation_rules:
            for leaf in facts_in(rule.when):
                for kind, step in leaf.name.kb_ids:
                    if kind == "steps" and order.get(step, -1) >= order[rule.step]:
                        raise _problem(rule.id, "can test only a step that comes before its own")


def _grouped(items: tuple[Any, ...], attribute: str) -> dict[str, tuple[Any, ...]]:
    """Items by the value of one attribute, each group in the items' order."""
    groups: dict[str, list[Any]] = {}
    for item in items:
        groups.setdefault(getattr(item, attribute), []).append(item)
    return {key: tuple(group) for key, group in groups.items()}
