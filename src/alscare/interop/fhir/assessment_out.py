"""An assessment to FHIR R4 resources (stub: the interface; implementation to come)."""

from __future__ import annotations

from typing import Any

from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Assessment

__all__ = ["assessment_resources"]


def assessment_resources(
    assessment: Assessment, *, kb: KnowledgeBase, patient_reference: str
) -> list[dict[str, Any]]:
    """The assessment's conclusions as resources that refer to the Patient."""
    raise NotImplementedError
