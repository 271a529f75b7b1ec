"""The exported Bundle: the record's resources, then the assessment's on one date.

A ``collection`` Bundle, the same bytes for the same record, date and knowledge: its id names
the patient and the date, and it has no timestamp (the core reads no clock; the Provenance
inside says when the assessment is for). Its entries carry no ``fullUrl`` because every
reference in it is relative (``Patient/<id>``) and no server holds these resources.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final

from alscare.interop.fhir.assessment_out import assessment_resources
from alscare.interop.fhir.record_out import patient_reference, record_resources
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Assessment
from alscare.schemas.patient import PatientRecord

__all__ = ["export_bundle"]


def export_bundle(
    record: PatientRecord, assessment: Assessment, *, kb: KnowledgeBase
) -> dict[str, Any]:
    """The record and its assessment (the engine's, on its date) as one FHIR R4 Bundle."""
    reference = patient_reference(record)
    resources = [
        *record_resources(record),
        *assessment_resources(assessment, kb=kb, patient_reference=reference),
    ]
    return {
        "resourceType": "Bundle",
        "id": _bundle_id(reference.removeprefix("Patient/"), assessment.as_of),
        "type": "collection",
        "entry": [{"resource": resource} for resource in resources],
    }


# FHIR ids are at most 64 characters; a longer patient id and date make a name-based UUID.
_MAX_ID: Final = 64
_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://alscare.org/fhir/Bundle")


def _bundle_id(patient_id: str, as_of: dt.date) -> str:
    readable = f"{patient_id}-{as_of.isoformat()}"
    return readable if len(readable) <= _MAX_ID else str(uuid.uuid5(_NAMESPACE, readable))
