"""Diagnostic and risk factors of the topic, marked present, absent or not recorded."""

from __future__ import annotations

from alscare.engine.timeline import Timeline
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import DiagnosticFactorStatus, RiskFactorStatus

__all__ = ["diagnostic_factors", "risk_factors"]


def diagnostic_factors(timeline: Timeline, kb: KnowledgeBase) -> tuple[DiagnosticFactorStatus, ...]:
    """Each diagnostic factor of the topic for this patient."""
    return ()


def risk_factors(timeline: Timeline, kb: KnowledgeBase) -> tuple[RiskFactorStatus, ...]:
    """Each risk factor of the topic for this patient."""
    return ()
