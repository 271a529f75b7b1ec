"""An assessment to FHIR R4 resources: what the engine concluded, for an EHR to show.

The stages and criteria are Observations (``assessment_findings``), the ENCALS prognosis a
RiskAssessment (``assessment_encals``), the alerts DetectedIssues and the recommendations
ServiceRequests in one CarePlan (``assessment_care``), and a Provenance names alscare, the
knowledge version and every one of them. Each carries the assessment tag, so an import never
takes a conclusion for part of the record, and an id made from the patient, the date and the
conclusion, so the same assessment gives the same resources. Pure: no clock, no I/O.
"""

from __future__ import annotations

from typing import Any, Final

import alscare
from alscare.interop.fhir.assessment_care import care_resources, service_request
from alscare.interop.fhir.assessment_encals import encals_risk_assessment
from alscare.interop.fhir.assessment_findings import finding_observations
from alscare.interop.fhir.assessment_parts import Export, Json, reference
from alscare.interop.fhir.names import KNOWLEDGE_VERSION_SYSTEM
from alscare.knowledge import KnowledgeBase
from alscare.presentation import Wording
from alscare.schemas.assessment import Assessment, Recommendation

__all__ = ["assessment_resources", "recommendation_request"]

_TERMINOLOGY: Final = "http://terminology.hl7.org/CodeSystem"
# alscare composes new conclusions from the record with its algorithms.
_COMPOSER: Final = {
    "system": f"{_TERMINOLOGY}/provenance-participant-type",
    "code": "composer",
    "display": "Composer",
}
_CREATE: Final = {
    "system": f"{_TERMINOLOGY}/v3-DataOperation",
    "code": "CREATE",
    "display": "create",
}
_TREATMENT: Final = {
    "system": f"{_TERMINOLOGY}/v3-ActReason",
    "code": "TREAT",
    "display": "treatment",
}


def assessment_resources(
    assessment: Assessment, *, kb: KnowledgeBase, patient_reference: str
) -> list[dict[str, Any]]:
    """The assessment's conclusions as resources that refer to the Patient, the Provenance last.

    Raises ValueError when ``kb`` is not the knowledge version that made the assessment (its
    labels and citations would not be the ones the conclusions rest on), or when an alert or a
    recommendation cites no source.
    """
    if assessment.knowledge_version != kb.version:
        raise ValueError(
            f"the assessment was made with knowledge version {assessment.knowledge_version}, "
            f"not {kb.version}"
        )
    export = Export(assessment, kb, patient_reference, Wording(kb))
    resources = [
        *finding_observations(export),
        encals_risk_assessment(export),
        *care_resources(export),
    ]
    return [*resources, _provenance(resources, export)]


def recommendation_request(
    assessment: Assessment, item: Recommendation, *, kb: KnowledgeBase, patient_reference: str
) -> dict[str, Any]:
    """The ServiceRequest the export holds for one of the assessment's recommendations, for a
    CDS card to suggest as the action to take."""
    return service_request(item, Export(assessment, kb, patient_reference, Wording(kb)))


def _provenance(targets: list[Json], export: Export) -> Json:
    """Who made the resources and from what. ``recorded`` is the assessment date at midnight
    UTC: the core reads no clock, and the date is what the conclusions are true on."""
    assessment = export.assessment
    version = assessment.knowledge_version
    activity = f"alscare assessment ({assessment.schema_})"
    return {
        **export.resource("Provenance", "provenance"),
        "target": [reference(f"{target['resourceType']}/{target['id']}") for target in targets],
        "recorded": f"{export.date}T00:00:00Z",
        "activity": {"coding": [dict(_CREATE)], "text": activity},
        "reason": [{"coding": [dict(_TREATMENT)]}],
        "agent": [
            {
                "type": {"coding": [dict(_COMPOSER)]},
                "who": {"display": f"alscare {alscare.__version__}"},
            }
        ],
        "entity": [
            {"role": "source", "what": reference(export.patient_reference)},
            {
                "role": "source",
                "what": {
                    "identifier": {"system": KNOWLEDGE_VERSION_SYSTEM, "value": version},
                    "display": f"alscare knowledge base, version {version}",
                },
            },
        ],
    }
