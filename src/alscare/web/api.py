"""The JSON API, version 1 (``/api/v1``; OpenAPI at ``/docs``). Bearer tokens from
``POST /api/v1/auth/token`` (OAuth2 password flow).

Bodies are the public documents: record v1 for a patient, the record v1 entry models for a
visit (``AlsfrsRating``, ``RespiratoryMeasurement``, ``WeightEntry``, ``TestEntry``). They are
read as raw JSON and validated by ``schemas.patient``, so an invalid body is answered 422 with
one ``{pointer, reason}`` per problem, as the CLI reports them. The assessment is the bytes of
``Assessment.to_json()``, identical to ``alscare assess``. Errors are RFC 9457 problem
documents (``web/app.py``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy import text

from alscare import services
from alscare.errors import Problem, RecordError
from alscare.knowledge.document import topic_document
from alscare.schemas.assessment import Assessment
from alscare.schemas.patient import PatientRecord, parse_record
from alscare.storage.audit import AuditAction, AuditEvent
from alscare.storage.repository import PatientListing
from alscare.storage.security import Channel, authenticate, issue_token
from alscare.web.deps import (
    Admin,
    Clinician,
    DatabaseDep,
    KnowledgeDep,
    SettingsDep,
    Viewer,
    api_actor,
)

__all__ = [
    "ENTRY_ENDPOINTS",
    "Health",
    "ImportSummary",
    "TokenResponse",
    "create_patient",
    "export_records",
    "health",
    "import_records",
    "json_body",
    "list_patients",
    "login_for_token",
    "read_assessment",
    "read_audit",
    "read_patient",
    "router",
    "topic",
    "update_patient",
]

router = APIRouter(prefix="/api/v1")

# The visit endpoints: URL segment -> record series and the schema of its entries.
ENTRY_ENDPOINTS: Final = {
    "alsfrs-r": ("alsfrs_r", "AlsfrsRating"),
    "respiratory": ("respiratory", "RespiratoryMeasurement"),
    "weights": ("weights", "WeightEntry"),
    "tests": ("tests", "TestEntry"),
}
_PROBLEM: Final[dict[int | str, dict[str, Any]]] = {
    status: {"description": meaning, "content": {"application/problem+json": {}}}
    for status, meaning in (
        (401, "no valid bearer token"),
        (403, "the account's role does not allow this"),
        (404, "no such patient"),
        (422, "invalid body or parameters: a list of {pointer, reason} in `problems`"),
    )
}


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class ImportSummary(BaseModel):
    created: list[str]
    replaced: list[str]


class Health(BaseModel):
    status: str
    knowledge_version: str


def _body_schema(name: str, *, many: bool = False) -> dict[str, Any]:
    """OpenAPI for a body read as raw JSON: the schema it must follow (validated by us)."""
    ref: dict[str, Any] = {"$ref": f"#/components/schemas/{name}"}
    schema = {"oneOf": [ref, {"type": "array", "items": ref}]} if many else ref
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def json_body(request: Request) -> Any:
    """The request body parsed as JSON; RecordError (422) when it is not JSON."""
    raw = await request.body()
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        reason = f"malformed JSON: {error.msg} at line {error.lineno} column {error.colno}"
    except UnicodeDecodeError:
        reason = "malformed JSON: the body is not UTF-8 text"
    except RecursionError:
        reason = "malformed JSON: nested too deeply"
    raise RecordError([Problem("", reason)])


JsonBody = Annotated[Any, Depends(json_body)]


def _record_response(record: PatientRecord, status_code: int = 200) -> JSONResponse:
    headers = {"Location": f"{router.prefix}/patients/{record.id}"} if status_code == 201 else None
    return JSONResponse(record.to_json_dict(), status_code=status_code, headers=headers)


@router.post("/auth/token", tags=["auth"], response_model=TokenResponse)
def login_for_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    database: DatabaseDep,
    settings: SettingsDep,
) -> TokenResponse:
    """Exchange a username and password for a bearer token (OAuth2 password flow).

    401 for a wrong username or password, 429 (with Retry-After) while the account is locked
    after too many failures.
    """
    user = authenticate(database, form.username, form.password, settings, channel=Channel.API)
    issued = issue_token(user, settings)
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)


@router.get("/health", tags=["system"], response_model=Health)
def health(database: DatabaseDep, kb: KnowledgeDep) -> Health:
    """Liveness: the database answers and the knowledge base is loaded. No login needed."""
    with database.transaction(write=False) as session:
        session.execute(text("SELECT 1"))
    return Health(status="ok", knowledge_version=kb.version)


@router.get("/topic", tags=["topic"])
def topic(
    kb: KnowledgeDep,
    as_of: Annotated[dt.date | None, Query(description="date for review_overdue")] = None,
    section: Annotated[str | None, Query(description="one section only")] = None,
) -> JSONResponse:
    """The ALS topic (no patient data, so no login needed); 404 for an unknown section."""
    return JSONResponse(topic_document(kb, as_of=as_of, section=section))


@router.get("/patients", tags=["patients"], response_model=list[PatientListing], responses=_PROBLEM)
def list_patients(
    user: Viewer,
    database: DatabaseDep,
    search: Annotated[str | None, Query(max_length=64, description="part of the id")] = None,
    limit: Annotated[int, Query(ge=1, le=services.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[PatientListing]:
    """Patients whose id contains ``search`` (any case), sorted by id."""
    return services.list_patients(
        database, api_actor(user), search=search, limit=limit, offset=offset
    )


@router.post(
    "/patients",
    tags=["patients"],
    status_code=201,
    response_model=PatientRecord,
    responses={**_PROBLEM, 409: {"description": "a patient with this id exists"}},
    openapi_extra=_body_schema("PatientRecord"),
)
def create_patient(user: Clinician, database: DatabaseDep, body: JsonBody) -> JSONResponse:
    """Store a new patient from a record v1."""
    record = services.create_patient(database, api_actor(user), parse_record(body))
    return _record_response(record, 201)


@router.get(
    "/patients/{patient_id}", tags=["patients"], response_model=PatientRecord, responses=_PROBLEM
)
def read_patient(patient_id: str, user: Viewer, database: DatabaseDep) -> JSONResponse:
    """The patient's record v1, rebuilt from what is stored."""
    return _record_response(services.get_patient(database, api_actor(user), patient_id))


@router.patch(
    "/patients/{patient_id}",
    tags=["patients"],
    response_model=PatientRecord,
    responses=_PROBLEM,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def update_patient(
    patient_id: str, user: Clinician, database: DatabaseDep, body: JsonBody
) -> JSONResponse:
    """Replace top-level fields of the record (e.g. ``exam``, ``emg``, ``medications``).

    The body is an object of record v1 fields; the whole record is validated with them.
    """
    if not isinstance(body, dict):
        raise RecordError([Problem("", "the body must be a JSON object of record fields")])
    record = services.update_patient(database, api_actor(user), patient_id, body)
    return _record_response(record)


def _add_entry_route(segment: str, series: str, schema: str) -> None:
    def add_entry(
        patient_id: str, user: Clinician, database: DatabaseDep, body: JsonBody
    ) -> JSONResponse:
        entry = services.parse_entry(series, body)
        record = services.add_entry(database, api_actor(user), patient_id, series, entry)
        return _record_response(record, 201)

    router.add_api_route(
        f"/patients/{{patient_id}}/{segment}",
        add_entry,
        methods=["POST"],
        name=f"add_{series}",
        summary=f"Add a {schema} to the patient's {series}",
        description=(
            f"Appends one `{schema}` (record v1) to `{series}` and returns the updated record. "
            "The whole record is validated with it; problem pointers are relative to the entry."
        ),
        tags=["visits"],
        status_code=201,
        response_model=PatientRecord,
        responses=_PROBLEM,
        openapi_extra=_body_schema(schema),
    )


for _segment, (_series, _schema) in ENTRY_ENDPOINTS.items():
    _add_entry_route(_segment, _series, _schema)


@router.get(
    "/patients/{patient_id}/assessment",
    tags=["patients"],
    response_model=Assessment,
    responses=_PROBLEM,
)
def read_assessment(
    patient_id: str,
    user: Viewer,
    database: DatabaseDep,
    kb: KnowledgeDep,
    as_of: Annotated[dt.date, Query(description="the assessment date (YYYY-MM-DD)")],
) -> Response:
    """The engine's assessment of the stored record on ``as_of`` (assessment v1)."""
    document = services.assessment_json(database, api_actor(user), patient_id, as_of=as_of, kb=kb)
    return Response(document.encode("utf-8"), media_type="application/json")


@router.get("/audit", tags=["admin"], response_model=list[AuditEvent], responses=_PROBLEM)
def read_audit(
    user: Admin,
    database: DatabaseDep,
    patient_id: str | None = None,
    username: str | None = None,
    action: AuditAction | None = None,
    limit: Annotated[int, Query(ge=1, le=services.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AuditEvent]:
    """The audit trail, newest first: who read or changed which patient, when, and how."""
    return services.audit_trail(
        database,
        api_actor(user),
        patient_id=patient_id,
        username=username,
        action=action,
        limit=limit,
        offset=offset,
    )


@router.post(
    "/import",
    tags=["admin"],
    status_code=201,
    response_model=ImportSummary,
    responses={**_PROBLEM, 409: {"description": "an id is stored already (see `replace`)"}},
    openapi_extra=_body_schema("PatientRecord", many=True),
)
def import_records(
    user: Admin,
    database: DatabaseDep,
    body: JsonBody,
    replace: Annotated[bool, Query(description="replace stored patients with these ids")] = False,
) -> ImportSummary:
    """Store one record v1 or a list of them, all or nothing."""
    documents = body if isinstance(body, list) else [body]
    records = _parse_records(documents)
    result = services.import_records(database, api_actor(user), records, replace=replace)
    return ImportSummary(created=list(result.created), replaced=list(result.replaced))


def _parse_records(documents: list[Any]) -> list[PatientRecord]:
    records: list[PatientRecord] = []
    problems: list[Problem] = []
    for index, document in enumerate(documents):
        try:
            records.append(parse_record(document))
        except RecordError as error:
            problems.extend(Problem(f"/{index}{p.pointer}", p.reason) for p in error.problems)
    if problems:
        raise RecordError(problems)
    return records


@router.get("/export", tags=["admin"], response_model=list[PatientRecord], responses=_PROBLEM)
def export_records(user: Admin, database: DatabaseDep) -> JSONResponse:
    """Every stored record v1, sorted by id."""
    records = services.export_records(database, api_actor(user))
    return JSONResponse([record.to_json_dict() for record in records])
