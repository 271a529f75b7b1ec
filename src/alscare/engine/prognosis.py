"""ENCALS survival prediction (Westeneng 2018)."""

from __future__ import annotations

from alscare.engine.timeline import Timeline
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Criteria, Prognosis

__all__ = ["prognosis"]


def prognosis(timeline: Timeline, criteria: Criteria, kb: KnowledgeBase) -> Prognosis:
    """The ENCALS prediction from the inputs at diagnosis."""
    return Prognosis()
