"""The investigation plan: every investigation of the topic with its status for this patient."""

from __future__ import annotations

from alscare.engine.timeline import Timeline
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import DifferentialResult, InvestigationPlanItem, RegionStatus
from alscare.schemas.vocabulary import Region

__all__ = ["investigation_plan"]


def investigation_plan(
    timeline: Timeline,
    regions: dict[Region, RegionStatus],
    differentials: tuple[DifferentialResult, ...],
    kb: KnowledgeBase,
) -> tuple[InvestigationPlanItem, ...]:
    """Status and reason of each investigation."""
    return ()
