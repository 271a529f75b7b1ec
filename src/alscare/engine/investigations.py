"""The investigation plan: every investigation of the topic with its status for this patient.

In order: ``done`` when the record holds a result (a pending result is not done); else
``recommended`` for the minimum work-up (until done, and only until the diagnosis is
established: ``workup_after_diagnosis``), for a test that settles a suspected differential, or
by a plan rule of the knowledge base; else ``consider`` for a test of a differential to
consider, or by a plan rule; else the investigation's default. The plan follows the knowledge
base's order, clinical_diagnosis first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from alscare.engine.facts import Facts
from alscare.engine.logic import explain, holds
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.diagnosis import Investigation
from alscare.schemas.vocabulary import DifferentialLevel, InvestigationStatus

__all__ = ["investigation_plan"]

Differentials = Sequence[Mapping[str, Any]]


class _Choice(NamedTuple):
    status: InvestigationStatus
    reason: str
    sources: tuple[str, ...]
    verified: bool = True


def investigation_plan(facts: Facts, differentials: Differentials) -> tuple[dict[str, Any], ...]:
    """Status and reason of each investigation (wire data)."""
    closed = _workup_closed(facts)
    return tuple(
        _item(investigation, facts, differentials, closed)
        for investigation in facts.kb.diagnosis.investigations
    )


def _workup_closed(facts: Facts) -> _Choice | None:
    """Why the diagnostic work-up is no longer recommended, or None while it is."""
    rule = facts.kb.diagnosis.workup_after_diagnosis
    if holds(rule.when, facts) is not True:
        return None
    why = explain(rule.when, facts)
    reason = f"{rule.reason} ({'; '.join(why.because)})"
    return _Choice(
        InvestigationStatus.NOT_NEEDED,
        reason,
        (*rule.source_ids, *why.sources),
        rule.verified and why.verified,
    )


def _item(
    investigation: Investigation,
    facts: Facts,
    differentials: Differentials,
    closed: _Choice | None,
) -> dict[str, Any]:
    status = facts(f"test.{investigation.id}.status")
    if status.value == "done":
        choice = _Choice(InvestigationStatus.DONE, status.because, investigation.source_ids)
    else:
        choice = _choose(investigation, facts, differentials, closed)
        if status.value == "pending":
            choice = _Choice(
                choice.status,
                f"{choice.reason} ({status.because})",
                choice.sources,
                choice.verified,
            )
    return {
        "id": investigation.id,
        "status": choice.status,
        "reason": choice.reason,
        "sources": tuple(dict.fromkeys((*investigation.source_ids, *choice.sources))),
        "verified": investigation.verified and choice.verified,
    }


def _choose(
    investigation: Investigation,
    facts: Facts,
    differentials: Differentials,
    closed: _Choice | None,
) -> _Choice:
    workup = investigation.workup
    exempt = False
    if workup is not None:
        exempt = workup.unless is not None and holds(workup.unless, facts) is True
        if not exempt and closed is None:
            return _Choice(
                InvestigationStatus.RECOMMENDED, workup.reason, workup.source_ids, workup.verified
            )
    for level, status in (
        (DifferentialLevel.SUSPECTED, InvestigationStatus.RECOMMENDED),
        (DifferentialLevel.CONSIDER, InvestigationStatus.CONSIDER),
    ):
        settling = [
            d for d in differentials if d["level"] == level and investigation.id in d["tests"]
        ]
        if settling:
            return _for_differentials(status, level, settling, facts.kb)
        for rule in investigation.plan:
            if rule.status == status.value and holds(rule.when, facts) is True:
                why = explain(rule.when, facts)
                reason = f"{rule.reason} ({'; '.join(why.because)})"
                sources = (*rule.source_ids, *why.sources)
                return _Choice(status, reason, sources, rule.verified and why.verified)
    if workup is not None and not exempt and closed is not None:
        return closed
    default = investigation.otherwise
    # A work-up test waived for this patient says why (e.g. MRI with clear bulbar signs).
    waived = workup.unless_reason if exempt and workup is not None else None
    return _Choice(InvestigationStatus(default.status), waived or default.reason, ())


def _for_differentials(
    status: InvestigationStatus,
    level: DifferentialLevel,
    settling: list[Mapping[str, Any]],
    kb: KnowledgeBase,
) -> _Choice:
    labels = ", ".join(kb.diagnosis.differential(d["id"]).label for d in settling)
    if level == DifferentialLevel.SUSPECTED:
        reason = f"Settles the suspected {labels}."
    else:
        reason = f"To consider for {labels}."
    sources = tuple(dict.fromkeys(s for d in settling for s in d["sources"]))
    return _Choice(status, reason, sources, all(d["verified"] for d in settling))
