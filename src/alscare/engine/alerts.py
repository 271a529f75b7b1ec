"""Alerts: what is urgent for this patient now."""

from __future__ import annotations

from alscare.engine.timeline import Timeline
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Alert, Assessment

__all__ = ["alerts"]


def alerts(timeline: Timeline, findings: Assessment, kb: KnowledgeBase) -> tuple[Alert, ...]:
    """Alerts, most severe first."""
    return ()
