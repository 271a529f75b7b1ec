"""The JSON API, version 1 (``/api/v1``; OpenAPI at ``/docs``). Bearer tokens from
``POST /api/v1/auth/token`` (OAuth2 password flow).

Bodies are the public documents: a patient record (v2, or v1, which is upgraded on read: the
answer and what is stored are always v2), and for a visit one entry of a series of the record
v2 (``POST /patients/{id}/alsfrs-r``, ``.../examinations``, ``.../emg-studies``, ...). They are
read as raw JSON and validated by ``schemas.records``, so an invalid body is answered 422 with
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
from pydantic.json_schema import models_json_schema
from sqlalchemy import text

from alscare import services
from alscare.errors import Problem, RecordError
from alscare.knowledge.document import topic_document
from alscare.revisions import HistoryEntry
from alscare.schemas.assessment import Assessment
from alscare.schemas.patient import PatientRecord
from alscare.schemas.patient_v1 import PatientRecordV1
from alscare.schemas.records import parse_record
from alscare.services import PatientListing
from alscare.storage.audit import AuditAction, AuditEvent
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
from alscare.web.preconditions import (
    ChangeReasonHeader,
    IfMatchHeader,
    change_reason,
    etag,
    expected_revision,
    required_revision,
)

__all__ = [
    "ENTRY_ENDPOINTS",
    "AssessmentDate",
    "Health",
    "ImportSummary",
    "TokenResponse",
    "body_schemas",
    "create_patient",
    "export_records",
    "health",
    "import_records",
    "json_body",
    "list_patients",
    "login_for_token",
    "read_assessment",
    "read_audit",
    "read_history",
    "read_patient",
    "replace_patient",
    "router",
    "topic",
    "update_patient",
]

router = APIRouter(prefix="/api/v1")

# The visit endpoints: URL segment -> the series of the record v2 they add an entry to.
ENTRY_ENDPOINTS: Final = {series.replace("_", "-"): series for series in services.ENTRY_MODELS}
_REF: Final = "#/components/schemas/{model}"
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


def _body_schema(name: str) -> dict[str, Any]:
    """OpenAPI for a body read as raw JSON: the schema it must follow (validated by us)."""
    return _body({"$ref": _REF.format(model=name)})


def _body(schema: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"required": True, "content": {"application/json": {"schema": schema}}}
    if description:
        body["description"] = description
    return {"requestBody": body}


_RECORD: Final = {
    "oneOf": [
        {"$ref": _REF.format(model=PatientRecord.__name__)},
        {"$ref": _REF.format(model=PatientRecordV1.__name__)},
    ]
}
_RECORD_BODY: Final = _body(
    _RECORD,
    "A patient record v2 (`alscare.patient/v2`), or a record v1 (`alscare.patient/v1`, or no "
    "`schema`), which is upgraded to v2: what is stored and answered is always v2.",
)
_RECORDS_BODY: Final = _body(
    {"oneOf": [_RECORD, {"type": "array", "items": _RECORD}]},
    "One patient record or a list of them, each v2 or v1 (v1 is upgraded to v2).",
)


def body_schemas() -> dict[str, Any]:
    """The schemas the request bodies name that no response holds: the record v1 and its parts
    (merged into the OpenAPI components by ``web/app.py``)."""
    _, schemas = models_json_schema([(PatientRecordV1, "validation")], ref_template=_REF)
    defs: dict[str, Any] = schemas["$defs"]
    return defs


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
# An unlikely value (alscare.plausibility) is stored only when the request confirms it.
Confirm = Annotated[
    tuple[str, ...],
    Query(
        description=(
            "the JSON pointer of an unlikely value to store as it is, once per value: the "
            "pointer of the 422 problem that says it needs confirmation (e.g. `/kg`)"
        )
    ),
]


def _record_response(
    record: PatientRecord, status_code: int = 200, *, revision: int | None = None
) -> JSONResponse:
    headers = {"Location": f"{router.prefix}/patients/{record.id}"} if status_code == 201 else {}
    if revision is not None:
        headers["ETag"] = etag(revision)
    return JSONResponse(record.to_json_dict(), status_code=status_code, headers=headers)


def _written(expected: int | None) -> int | None:
    """The revision a write based on revision ``expected`` stored (unknown without it)."""
    return expected + 1 if expected is not None else None


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
    openapi_extra=_RECORD_BODY,
)
def create_patient(
    user: Clinician, database: DatabaseDep, body: JsonBody, confirm: Confirm = ()
) -> JSONResponse:
    """Store a new patient from a record (v2, or v1 stored as v2); answers the record v2.

    A value outside the clinic's physiological ranges is refused (422 naming it); an unlikely
    one (a weight below 30 kg, a weight 10 % from the one before, ...) is stored only when
    ``confirm`` names its pointer, and otherwise answered 422 saying it needs confirmation.
    """
    record = services.create_patient(
        database, api_actor(user), parse_record(body), confirmed=confirm
    )
    return _record_response(record, 201)


@router.get(
    "/patients/{patient_id}", tags=["patients"], response_model=PatientRecord, responses=_PROBLEM
)
def read_patient(
    patient_id: str,
    user: Viewer,
    database: DatabaseDep,
    revision: Annotated[
        int | None, Query(ge=1, description="an earlier revision (404 when there is none)")
    ] = None,
) -> JSONResponse:
    """The patient's record v2: its current revision, or ``revision``; the ``ETag`` header
    is the number of the revision answered (``"3"``), for ``If-Match`` on a write."""
    stored = services.read_patient(database, api_actor(user), patient_id, revision=revision)
    return _record_response(stored.record, revision=stored.revision)


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
    patient_id: str,
    user: Clinician,
    database: DatabaseDep,
    body: JsonBody,
    if_match: IfMatchHeader = None,
    reason: ChangeReasonHeader = None,
    confirm: Confirm = (),
) -> JSONResponse:
    """Replace top-level fields of the record (e.g. ``sex``, ``medications``, ``death``).

    The body is an object of record v2 fields (null clears one); the whole record is validated
    with them and stored as a new revision. A change that corrects or removes recorded data
    needs ``X-Change-Reason`` (422 naming the header without it); adding a new field or new
    entries does not. With ``If-Match`` the change is made only on that revision (412 when the
    record has changed since) and the answer carries the new ``ETag``.
    """
    if not isinstance(body, dict):
        raise RecordError([Problem("", "the body must be a JSON object of record fields")])
    expected = expected_revision(if_match)
    record = services.update_patient(
        database,
        api_actor(user),
        patient_id,
        body,
        reason=change_reason(reason),
        expected_revision=expected,
        confirmed=confirm,
    )
    return _record_response(record, revision=_written(expected))


@router.put(
    "/patients/{patient_id}",
    tags=["patients"],
    response_model=PatientRecord,
    responses={
        **_PROBLEM,
        412: {
            "description": "the record has changed since the revision in If-Match: the "
            "current revision is in `current_revision` and the ETag",
            "content": {"application/problem+json": {}},
        },
        428: {
            "description": "If-Match is missing",
            "content": {"application/problem+json": {}},
        },
    },
    openapi_extra=_RECORD_BODY,
)
def replace_patient(
    patient_id: str,
    user: Clinician,
    database: DatabaseDep,
    body: JsonBody,
    if_match: IfMatchHeader = None,
    reason: ChangeReasonHeader = None,
    confirm: Confirm = (),
) -> JSONResponse:
    """Replace the whole record, as a new revision: a correction that loses nothing, since
    every earlier revision is kept (``GET ...?revision=N``, ``GET .../history``).

    Needs ``If-Match`` with the ETag of the revision the new record was made from (428 without
    it, 412 when the record has changed since: redo the change on the current revision) and
    the reason for the change in ``X-Change-Reason`` (422 naming the header without it). The
    body is a whole record, v2 or v1 (stored as v2), with the patient's ``id``, validated as a
    new patient is (no date after today). Answers the record with its new ``ETag``.
    """
    expected = required_revision(if_match)
    why = change_reason(reason, required=True)
    stored = services.replace_patient(
        database,
        api_actor(user),
        patient_id,
        parse_record(body),
        expected_revision=expected,
        reason=why,
        confirmed=confirm,
    )
    return _record_response(stored.record, revision=stored.revision)


@router.get(
    "/patients/{patient_id}/history",
    tags=["patients"],
    response_model=list[HistoryEntry],
    responses=_PROBLEM,
)
def read_history(patient_id: str, user: Viewer, database: DatabaseDep) -> JSONResponse:
    """Every revision of the record, oldest first: ``revision``, ``at`` (UTC), ``actor`` (the
    account that wrote it), ``reason`` (null when none was given) and ``changes``, what it
    changed from the revision before (revision 1: what it recorded).

    Each change is ``{op, pointer, before, after}`` in the words of JSON Patch (RFC 6902):
    ``add`` (``after`` at ``pointer`` in this revision), ``remove`` (``before`` at ``pointer``
    in the previous revision) or ``replace`` (``before`` and ``after`` at ``pointer`` in this
    revision; ``from`` is where the value was before, when an entry moved). Pointers are JSON
    pointers (RFC 6901) into the record v2, e.g. ``/weights/2/kg``. Entries of a series are
    matched as entries, so a corrected weight is a ``replace`` of its ``kg`` and a removed entry
    one ``remove``, wherever they sit; null and absent are the same (not recorded).
    """
    history = services.patient_history(database, api_actor(user), patient_id)
    return JSONResponse([entry.to_json_dict() for entry in history])


def _add_entry_route(segment: str, series: str) -> None:
    schema = services.ENTRY_MODELS[series].__name__

    def add_entry(
        patient_id: str,
        user: Clinician,
        database: DatabaseDep,
        body: JsonBody,
        if_match: IfMatchHeader = None,
        reason: ChangeReasonHeader = None,
        confirm: Confirm = (),
    ) -> JSONResponse:
        entry = services.parse_entry(series, body)
        expected = expected_revision(if_match)
        record = services.add_entry(
            database,
            api_actor(user),
            patient_id,
            series,
            entry,
            reason=change_reason(reason),
            expected_revision=expected,
            confirmed=confirm,
        )
        return _record_response(record, 201, revision=_written(expected))

    router.add_api_route(
        f"/patients/{{patient_id}}/{segment}",
        add_entry,
        methods=["POST"],
        name=f"add_{series}",
        summary=f"Add a {schema} to the patient's {series}",
        description=(
            f"Appends one `{schema}` (record v2) to `{series}`, as a new revision of the record, "
            "and returns the updated record. The whole record is validated with it (no date "
            "may be after today); problem pointers are relative to the entry. "
            "`X-Change-Reason` is optional (an entry added corrects nothing); with `If-Match` "
            "the entry is added only to that revision (412 when the record has changed since) "
            "and the answer carries the new `ETag`. Values as for `POST /patients` (`confirm` "
            "names an unlikely value to store, relative to the entry: `?confirm=/kg`)."
        ),
        tags=["visits"],
        status_code=201,
        response_model=PatientRecord,
        responses=_PROBLEM,
        openapi_extra=_body_schema(schema),
    )


for _segment, _series in ENTRY_ENDPOINTS.items():
    _add_entry_route(_segment, _series)


#: The ``as_of`` of one patient's assessment (and letter): the services refuse, 422 at
#: ``/as_of``, a date before the patient's first date or more than a year after today.
AssessmentDate = Annotated[
    dt.date,
    Query(
        description=(
            "the assessment date (YYYY-MM-DD): from the patient's birth date (or onset, or "
            "earliest entry) to a year after today, and always "
            f"from {services.EARLIEST_AS_OF} to {services.LATEST_AS_OF}"
        ),
        ge=services.EARLIEST_AS_OF,
        le=services.LATEST_AS_OF,
    ),
]


@router.get(
    "/patients/{patient_id}/assessment",
    tags=["patients"],
    response_model=Assessment,
    responses=_PROBLEM,
)
def read_assessment(
    patient_id: str, user: Viewer, database: DatabaseDep, kb: KnowledgeDep, as_of: AssessmentDate
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
    openapi_extra=_RECORDS_BODY,
)
def import_records(
    user: Admin,
    database: DatabaseDep,
    body: JsonBody,
    replace: Annotated[bool, Query(description="replace stored patients with these ids")] = False,
) -> ImportSummary:
    """Store one record or a list of them (v2, or v1 stored as v2), all or nothing."""
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
def export_records(
    user: Admin,
    database: DatabaseDep,
    deidentify: Annotated[
        bool,
        Query(description="leave out `identity` and give an age in place of the birth date"),
    ] = False,
) -> JSONResponse:
    """Every stored record (v2, the current revision), sorted by id; with ``deidentify=true``
    without who the patient is (no ``identity``; the birth date becomes the age in whole years
    on the first entry, ``age_years`` and ``age_on``)."""
    records = services.export_records(database, api_actor(user), deidentify=deidentify)
    return JSONResponse([record.to_json_dict() for record in records])
