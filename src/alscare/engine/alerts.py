"""Alerts: what is urgent for this patient now.

For each alert of ``kb.treatment.alert_rules`` its rules are tried in file order and the first
whose condition holds raises it with that rule's severity. Alerts come most severe first, then
in the order of the rules.
"""

from __future__ import annotations

from alscare.engine.timeline import Timeline
from alscare.engine.treatment_facts import PatientFacts, evaluate
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Alert, Assessment
from alscare.schemas.vocabulary import Severity

__all__ = ["alerts"]

_SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(Severity)}


def alerts(timeline: Timeline, findings: Assessment, kb: KnowledgeBase) -> tuple[Alert, ...]:
    """Alerts, most severe first."""
    facts = PatientFacts(timeline, findings, kb).with_recommendations(findings.recommendations)
    raised = [
        alert
        for alert_id in kb.treatment.alert_ids()
        if (alert := _alert(alert_id, facts)) is not None
    ]
    return tuple(sorted(raised, key=lambda alert: _SEVERITY_ORDER[alert.severity]))


def _alert(alert_id: str, facts: PatientFacts) -> Alert | None:
    for rule in facts.kb.treatment.rules_for_alert(alert_id):
        verdict = evaluate(rule.when, facts)
        if verdict.holds:
            return Alert(
                id=alert_id,
                severity=rule.severity,
                because=verdict.because,
                sources=tuple(dict.fromkeys((*rule.source_ids, *verdict.sources))),
                verified=rule.verified and verdict.verified,
            )
    return None
