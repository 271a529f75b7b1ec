"""The treatment algorithm applied to the patient: data-driven recommendation rules.

Every step of ``kb.treatment.groups`` is visited in the algorithm's order (group, then step);
its rules are tried in file order and the first whose condition holds gives the step's
recommendation, so the output order is stable and the more specific rule (stop, hold,
continue) wins over the general one (start). A step none of whose rules holds is left out. Rules
may test what an earlier step recommended (riluzole liver monitoring follows riluzole).
"""

from __future__ import annotations

from alscare.engine.timeline import Timeline
from alscare.engine.treatment_facts import PatientFacts, evaluate
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.treatment import PatientGroup, Step
from alscare.schemas.assessment import Assessment, Recommendation

__all__ = ["recommendations"]


def recommendations(
    timeline: Timeline, findings: Assessment, kb: KnowledgeBase
) -> tuple[Recommendation, ...]:
    """Recommendations for this patient, given everything assessed so far."""
    facts = PatientFacts(timeline, findings, kb)
    made: list[Recommendation] = []
    for group, step in kb.treatment.steps():
        recommendation = _recommendation(group, step, facts.with_recommendations(made))
        if recommendation is not None:
            made.append(recommendation)
    return tuple(made)


def _recommendation(group: PatientGroup, step: Step, facts: PatientFacts) -> Recommendation | None:
    for rule in facts.kb.treatment.rules_for(step.id):
        verdict = evaluate(rule.when, facts)
        if verdict.holds:
            return Recommendation(
                id=step.id,
                group=group.id,
                action=rule.action,
                strength=rule.strength.value,
                detail=rule.detail,
                because=verdict.because,
                sources=tuple(dict.fromkeys((*rule.source_ids, *verdict.sources))),
                verified=rule.verified and verdict.verified,
            )
    return None
