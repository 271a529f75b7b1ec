"""The treatment algorithm applied to the patient, and the alerts: data-driven rules.

Every step of ``kb.treatment.groups`` is visited in the algorithm's order (group, then step);
its rules are tried in file order and the first that holds gives the step's recommendation, so
the output order is stable and the more specific rule (stop, hold, continue) wins over the
general one (start). A step none of whose rules holds is left out. Rules may test what an
earlier step recommended (riluzole liver monitoring follows riluzole). A recommendation whose
evidence comes from a restricted trial population says so, and how this patient compares.

For each alert its rules are tried in file order and the first that holds raises it with that
rule's severity; alerts come most severe first, then in the order of their first rule.

Nothing is recommended and nothing is raised from the date of death on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alscare.engine.facts import Facts
from alscare.engine.logic import Explanation, explain, holds
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.treatment import AlertRule, RecommendationRule, TrialPopulation
from alscare.schemas.vocabulary import Severity

__all__ = ["alerts", "recommendations"]

_SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(Severity)}


@dataclass(frozen=True, slots=True)
class _Step:
    """A step of the algorithm with its rules, read once per knowledge base."""

    id: str
    group: str
    rules: tuple[RecommendationRule, ...]


def _steps(kb: KnowledgeBase) -> tuple[_Step, ...]:
    by_step = kb.treatment.rules_by_step
    return tuple(
        _Step(step.id, group.id, by_step.get(step.id, ())) for group, step in kb.treatment.steps()
    )


def recommendations(facts: Facts) -> tuple[dict[str, Any], ...]:
    """Recommendations for this patient, given everything assessed so far (wire data)."""
    decided: dict[str, str] = {}
    facts.stages["recommended"] = decided
    if facts.state.deceased:
        return ()
    made = []
    functions, values = facts.program.functions, facts.values
    for step in facts.prepared("recommendation steps", _steps):
        for rule in step.rules:
            if functions[id(rule.when)](values) is True:
                made.append(_recommendation(step.group, rule, facts))
                decided[step.id] = rule.action.value
                break
    return tuple(made)


def _recommendation(group: str, rule: RecommendationRule, facts: Facts) -> dict[str, Any]:
    why = explain(rule.when, facts)
    because, sources, verified = why.because, (*rule.source_ids, *why.sources), why.verified
    if rule.population is not None:
        comparison = _population(rule.population, facts)
        because = (*because, *comparison.because)
        sources = (*sources, *comparison.sources)
        verified = verified and comparison.verified
    return {
        "id": rule.step,
        "group": group,
        "action": rule.action,
        "strength": rule.strength,
        "detail": rule.detail,
        "because": because,
        "sources": tuple(dict.fromkeys(sources)),
        "verified": rule.verified and verified,
    }


def _population(population: TrialPopulation, facts: Facts) -> Explanation:
    """How the patient compares with the trial population the evidence comes from."""
    fits = holds(population.fits, facts)
    verdict = {
        True: "this patient would have fitted it",
        False: "this patient is outside it",
        None: "whether this patient fits it is not known",
    }[fits]
    compared = "; ".join(facts(name).because for name in population.compare)
    return Explanation(
        (f"the evidence comes from {population.label}: {verdict} ({compared})",),
        population.source_ids,
        population.verified,
    )


def alerts(facts: Facts) -> tuple[dict[str, Any], ...]:
    """Alerts, most severe first (wire data)."""
    if facts.state.deceased:
        return ()
    raised = []
    for alert_id, rules in facts.kb.treatment.rules_by_alert.items():
        rule = next((rule for rule in rules if holds(rule.when, facts) is True), None)
        if rule is not None:
            raised.append(_alert(alert_id, rule, facts))
    return tuple(sorted(raised, key=lambda alert: _SEVERITY_ORDER[alert["severity"]]))


def _alert(alert_id: str, rule: AlertRule, facts: Facts) -> dict[str, Any]:
    why = explain(rule.when, facts)
    return {
        "id": alert_id,
        "severity": rule.severity,
        "because": why.because,
        "sources": tuple(dict.fromkeys((*rule.source_ids, *why.sources))),
        "verified": rule.verified and why.verified,
    }
