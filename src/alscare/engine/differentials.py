"""The differential: mimics the record points to, from the data rules of the knowledge base."""

from __future__ import annotations

from alscare.engine.timeline import Timeline
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import DifferentialResult, RegionStatus
from alscare.schemas.vocabulary import Region

__all__ = ["differentials"]


def differentials(
    timeline: Timeline, regions: dict[Region, RegionStatus], kb: KnowledgeBase
) -> tuple[DifferentialResult, ...]:
    """Differentials to suspect or consider, most urgent first."""
    return ()
