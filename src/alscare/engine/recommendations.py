"""The treatment algorithm applied to the patient: data-driven recommendation rules."""

from __future__ import annotations

from alscare.engine.timeline import Timeline
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Assessment, Recommendation

__all__ = ["recommendations"]


def recommendations(
    timeline: Timeline, findings: Assessment, kb: KnowledgeBase
) -> tuple[Recommendation, ...]:
    """Recommendations for this patient, given everything assessed so far."""
    return ()
