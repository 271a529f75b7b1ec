"""UMN and LMN involvement per body region, from the examination and needle EMG."""

from __future__ import annotations

from alscare.engine.timeline import Timeline
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import RegionStatus
from alscare.schemas.vocabulary import Region

__all__ = ["regions"]


def regions(timeline: Timeline, kb: KnowledgeBase) -> dict[Region, RegionStatus]:
    """Involvement of each of the four regions."""
    return {}
