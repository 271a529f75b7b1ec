"""King's stage (from ALSFRS-R and clinical milestones) and MiToS stage."""

from __future__ import annotations

from alscare.engine.timeline import Timeline
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Staging

__all__ = ["staging"]


def staging(timeline: Timeline, kb: KnowledgeBase) -> Staging:
    """King's and MiToS stages on ``timeline.as_of``."""
    return Staging()
