"""A patient record v2 to FHIR R4 resources (stub: the interface; implementation to come)."""

from __future__ import annotations

from typing import Any

from alscare.schemas.patient import PatientRecord

__all__ = ["patient_reference", "record_resources"]


def patient_reference(record: PatientRecord) -> str:
    """``Patient/<id>``: how every other resource refers to the record's Patient."""
    raise NotImplementedError


def record_resources(record: PatientRecord) -> list[dict[str, Any]]:
    """The record as resources, the Patient first, each with a stable id."""
    raise NotImplementedError
