"""The FHIR R4 routes of the API: a Bundle into the clinic's database, a patient out as one.

Routes::

    POST /api/v1/fhir/import                      a Bundle of one patient (clinicians, admins)
    GET  /api/v1/patients/{id}/fhir?as_of=DATE    the record and its assessment (any role)

An import maps the Bundle as ``alscare fhir import`` does (:mod:`alscare.interop.fhir`) and
stores it as the patient it belongs to (:mod:`alscare.arrivals`): a new revision of the stored
patient of the same id or hospital number, or a new patient. It answers which patient, which
revision, and every resource it could not map. A Bundle that is not valid FHIR, or whose record
is refused, is answered 422 naming the resource and the path, and nothing is stored.
"""

from __future__ import annotations

import json
from typing import Annotated, Final

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from alscare import arrivals, services
from alscare.interop.fhir.bundle import export_bundle
from alscare.interop.fhir.record_in import record_from_resources, resources_from_bundle
from alscare.web.api import AssessmentDate, Confirm, JsonBody, problem_responses
from alscare.web.deps import Clinician, DatabaseDep, KnowledgeDep, Viewer, api_actor
from alscare.web.idempotency import Idempotent, IdempotentRoute
from alscare.web.preconditions import CHANGE_REASON

__all__ = ["ImportedPatient", "UnmappedResource", "export_patient", "import_bundle", "router"]

router = APIRouter(
    prefix="/api/v1",
    tags=["fhir"],
    responses=problem_responses(422, 503),
    route_class=IdempotentRoute,
)

#: The media type of FHIR's JSON format.
FHIR_JSON: Final = "application/fhir+json"
#: Why an import changed the record when the request does not say.
_DEFAULT_REASON: Final = "FHIR import"


class UnmappedResource(BaseModel):
    """A resource of the Bundle that did not become part of the record, and why."""

    resource_type: str
    resource_id: str | None
    reason: str


class ImportedPatient(BaseModel):
    """What an import stored: the patient, the revision written, whether the patient is new,
    and what could not be mapped."""

    patient_id: str
    revision: int
    created: bool
    unmapped: list[UnmappedResource]


@router.post(
    "/fhir/import",
    dependencies=[Idempotent],
    response_model=ImportedPatient,
    responses={
        201: {"description": "a new patient", "model": ImportedPatient},
        **problem_responses(401, 403, 409, 413),
    },
)
def import_bundle(
    user: Clinician,
    database: DatabaseDep,
    body: JsonBody,
    reason: Annotated[
        str | None,
        Header(alias=CHANGE_REASON, description=f"why (default {_DEFAULT_REASON!r})"),
    ] = None,
    confirm: Confirm = (),
) -> JSONResponse:
    """Store the patient of a FHIR R4/R4B Bundle (collection, searchset or transaction) as a
    new revision of the matching patient (same id or identifier), or as a new patient (201)."""
    imported = record_from_resources(resources_from_bundle(body))
    arrival = arrivals.store_arrival(
        database,
        api_actor(user),
        imported.record,
        reason=reason or _DEFAULT_REASON,
        confirmed=confirm,
    )
    stored = arrival.stored
    answer = ImportedPatient(
        patient_id=stored.record.id,
        revision=stored.revision,
        created=arrival.created,
        unmapped=[
            UnmappedResource(
                resource_type=u.resource_type, resource_id=u.resource_id, reason=u.reason
            )
            for u in imported.unmapped
        ],
    )
    location = {"Location": f"{router.prefix}/patients/{stored.record.id}"}
    return JSONResponse(
        answer.model_dump(mode="json"),
        status_code=201 if arrival.created else 200,
        headers=location,
    )


@router.get(
    "/patients/{patient_id}/fhir",
    response_class=Response,
    responses={
        200: {"content": {FHIR_JSON: {}}, "description": "a FHIR R4 collection Bundle"},
        **problem_responses(401, 403, 404),
    },
)
def export_patient(
    patient_id: str, user: Viewer, database: DatabaseDep, kb: KnowledgeDep, as_of: AssessmentDate
) -> Response:
    """The patient's record and its assessment on ``as_of`` as a FHIR R4 Bundle."""
    record, assessment = services.record_and_assessment(
        database, api_actor(user), patient_id, as_of=as_of, kb=kb, purpose="FHIR export"
    )
    bundle = export_bundle(record, assessment, kb=kb)
    return Response(json.dumps(bundle, ensure_ascii=False).encode("utf-8"), media_type=FHIR_JSON)
