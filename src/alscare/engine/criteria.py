"""Gold Coast, revised El Escorial and Awaji-Shima criteria."""

from __future__ import annotations

from alscare.engine.timeline import Timeline
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Criteria, RegionStatus
from alscare.schemas.vocabulary import Region

__all__ = ["criteria"]


def criteria(
    timeline: Timeline, regions: dict[Region, RegionStatus], kb: KnowledgeBase
) -> Criteria:
    """Each criterion with its category, reasons and what is missing."""
    return Criteria()
