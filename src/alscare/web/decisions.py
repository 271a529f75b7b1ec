"""The alerts a clinician answers from the patient page, and the answers they can give.

An alert that asks for a decision on an intervention (NIV indicated, gastrostomy indicated) is
answered with an event of that intervention dated the day it is given: offered, declined or
started. Which alerts ask for which decision is the knowledge base's (the follow-up items that
name an alert and its intervention), so a page never keeps its own list; the route that stores
an answer is in :mod:`alscare.web.visit`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from alscare.knowledge import KnowledgeBase
from alscare.schemas.vocabulary import InterventionEvent, InterventionKind

__all__ = ["ANSWERS", "decision_alerts"]

#: The answers the patient page offers, in the order of its buttons.
ANSWERS: Final = (InterventionEvent.OFFERED, InterventionEvent.DECLINED, InterventionEvent.STARTED)


def decision_alerts(kb: KnowledgeBase) -> Mapping[str, InterventionKind]:
    """Alert id -> the intervention whose decision answers it."""
    return {
        item.alert.value: item.intervention
        for item in kb.treatment.follow_up
        if item.alert is not None and item.intervention is not None
    }
