"""The investigation plan: every investigation of the topic with its status for this patient.

In order: ``done`` when the record holds a result (a pending result is not done); else
``recommended`` for the minimum work-up (until done), for a test that settles a suspected
differential, or by a plan rule of the knowledge base; else ``consider`` for a test of a
differential to consider, or by a plan rule; else the investigation's default. The plan follows
the knowledge base's order, clinical_diagnosis first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from alscare.engine.conditions import evaluate, unique
from alscare.engine.rules import RecordFacts
from alscare.engine.timeline import Timeline
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.diagnosis import Investigation
from alscare.schemas.assessment import (
    Criteria,
    DifferentialResult,
    InvestigationPlanItem,
    RegionStatus,
)
from alscare.schemas.vocabulary import DifferentialLevel, InvestigationStatus, Region

__all__ = ["investigation_plan"]


@dataclass(frozen=True)
class _Choice:
    status: InvestigationStatus
    reason: str
    sources: tuple[str, ...]


def investigation_plan(
    timeline: Timeline,
    regions: Mapping[Region, RegionStatus],
    differentials: tuple[DifferentialResult, ...],
    criteria: Criteria,
    kb: KnowledgeBase,
) -> tuple[InvestigationPlanItem, ...]:
    """Status and reason of each investigation."""
    facts = RecordFacts(timeline, kb, regions=regions, gold_coast_met=criteria.gold_coast.met)
    return tuple(
        _item(investigation, facts, differentials, kb)
        for investigation in kb.diagnosis.investigations
    )


def _item(
    investigation: Investigation,
    facts: RecordFacts,
    differentials: tuple[DifferentialResult, ...],
    kb: KnowledgeBase,
) -> InvestigationPlanItem:
    status = facts.test_status(investigation.id)
    if status.value == "done":
        choice = _Choice(InvestigationStatus.DONE, status.because, investigation.source_ids)
    else:
        choice = _choose(investigation, facts, differentials, kb)
        if status.value == "pending":
            choice = _Choice(choice.status, f"{choice.reason} ({status.because})", choice.sources)
    return InvestigationPlanItem(
        id=investigation.id,
        status=choice.status,
        reason=choice.reason,
        sources=unique([*investigation.source_ids, *choice.sources]),
    )


def _choose(
    investigation: Investigation,
    facts: RecordFacts,
    differentials: tuple[DifferentialResult, ...],
    kb: KnowledgeBase,
) -> _Choice:
    workup = investigation.workup
    exempt = False
    if workup is not None:
        exempt = workup.unless is not None and evaluate(workup.unless, facts).holds is True
        if not exempt:
            return _Choice(InvestigationStatus.RECOMMENDED, workup.reason, workup.source_ids)
    for level, status in (
        (DifferentialLevel.SUSPECTED, InvestigationStatus.RECOMMENDED),
        (DifferentialLevel.CONSIDER, InvestigationStatus.CONSIDER),
    ):
        settling = _settling(investigation, differentials, level)
        if settling:
            return _for_differentials(status, level, settling, kb)
        for rule in investigation.plan:
            verdict = evaluate(rule.when, facts)
            if rule.status == status.value and verdict.holds is True:
                reason = f"{rule.reason} ({'; '.join(verdict.because)})"
                return _Choice(status, reason, rule.source_ids)
    default = investigation.otherwise
    # A work-up test waived for this patient says why (e.g. MRI with clear bulbar signs).
    waived = workup.unless_reason if exempt and workup is not None else None
    reason = waived or default.reason
    return _Choice(InvestigationStatus(default.status), reason, ())


def _settling(
    investigation: Investigation,
    differentials: tuple[DifferentialResult, ...],
    level: DifferentialLevel,
) -> list[DifferentialResult]:
    return [d for d in differentials if d.level == level and investigation.id in d.tests]


def _for_differentials(
    status: InvestigationStatus,
    level: DifferentialLevel,
    settling: list[DifferentialResult],
    kb: KnowledgeBase,
) -> _Choice:
    labels = ", ".join(kb.diagnosis.differential(d.id).label for d in settling)
    if level == DifferentialLevel.SUSPECTED:
        reason = f"Settles the suspected {labels}."
    else:
        reason = f"To consider for {labels}."
    return _Choice(status, reason, unique(s for d in settling for s in d.sources))
