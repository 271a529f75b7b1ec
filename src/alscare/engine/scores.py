"""ALSFRS-R total and domains, progression rate (delta-FS), slope, FVC, weight loss and BMI."""

from __future__ import annotations

from alscare.engine.timeline import Timeline
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Scores

__all__ = ["scores"]


def scores(timeline: Timeline, kb: KnowledgeBase) -> Scores:
    """The scores of the latest entries on ``timeline.as_of``."""
    return Scores()
