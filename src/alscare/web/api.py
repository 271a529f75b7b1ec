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
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from alscare import limits, services
from alscare.errors import Problem, RecordError
from alscare.knowledge.document import topic_document
from alscare.revisions import HistoryEntry
from alscare.schemas.assessment import Assessment
from alscare.schemas.common import ISO_DATE, Date
from alscare.schemas.patient import PatientRecord
from alscare.schemas.patient_v1 import PatientRecordV1
from alscare.schemas.records import load_json, parse_record
from alscare.services import AccountError, PatientListing
from alscare.settings import Settings
from alscare.storage.accounts import CurrentPasswordError, change_own_password
from alscare.storage.audit import AuditAction, AuditEvent
from alscare.storage.database import Database
from alscare.storage.security import (
    AuthenticationError,
    Channel,
    SessionKind,
    User,
    authenticate,
    end_session,
    password_problem,
    start_session,
)
from alscare.web.deps import (
    Admin,
    BearerToken,
    Clinician,
    DatabaseDep,
    KnowledgeDep,
    LoginGuardDep,
    SettingsDep,
    TokenUser,
    Viewer,
    api_actor,
)
from alscare.web.idempotency import Idempotent, IdempotentRoute
from alscare.web.login_guard import client_address
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
    "PasswordChange",
    "ProblemDocument",
    "ProblemItem",
    "TokenResponse",
    "body_schemas",
    "create_patient",
    "export_records",
    "health",
    "import_records",
    "change_password",
    "json_body",
    "list_patients",
    "login_for_token",
    "logout",
    "problem_responses",
    "read_assessment",
    "read_audit",
    "read_history",
    "read_patient",
    "replace_patient",
    "router",
    "topic",
    "update_patient",
]

# The visit endpoints: URL segment -> the series of the record v2 they add an entry to.
ENTRY_ENDPOINTS: Final = {series.replace("_", "-"): series for series in services.ENTRY_MODELS}
_REF: Final = "#/components/schemas/{model}"
# What each error status of the API means; every error body is a ProblemDocument.
_ERROR_MEANINGS: Final = {
    400: "the body could not be read: not UTF-8 text",
    401: "no valid bearer token; at login, a wrong username or password",
    403: "the account's role does not allow this",
    404: "not found: no such patient, revision or topic section",
    409: "an id is stored already: a new patient's, or a record's of an import without `replace`",
    412: "the record has changed since the revision in If-Match: the current revision is in "
    "`current_revision` and the ETag",
    413: "the body is larger than the limit the problem names",
    422: "invalid body or parameters: a list of {pointer, reason} in `problems`",
    428: "If-Match is missing",
    429: "too many failed logins, or too many at once: try again after `Retry-After` seconds",
    502: "the FHIR server the request names could not be read: the problem names the query",
    503: "the database is busy or unreachable: try again after `Retry-After` seconds",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of these error statuses: an RFC 9457 problem document each."""
    schema = {"$ref": _REF.format(model=ProblemDocument.__name__)}
    content = {"application/problem+json": {"schema": schema}}
    return {
        status: {"description": _ERROR_MEANINGS[status], "content": content} for status in statuses
    }


class ProblemItem(BaseModel):
    """One reason a request was refused, and where: a JSON pointer into the request
    (``/body/...``, ``/query/as_of``) or into the record (``/weights/2/kg``)."""

    pointer: str
    reason: str


class ProblemDocument(BaseModel):
    """The body of every error answer of the API: an RFC 9457 problem document
    (``application/problem+json``), made by ``problem()`` in ``web/app.py``."""

    type: str
    title: str
    status: int
    detail: str
    problems: list[ProblemItem] = Field(
        default_factory=list, description="422: every problem of the request"
    )
    current_revision: int | None = Field(
        default=None, description="412: the revision the record is at now"
    )


# Any route may be refused as invalid or answered 503 while the database is busy.
# Every write route takes Idempotency-Key (web/idempotency.py), whose route class replays.
router = APIRouter(
    prefix="/api/v1", responses=problem_responses(422, 503), route_class=IdempotentRoute
)
_PROBLEM: Final = problem_responses(401, 403, 404, 422)
_WRITE_PROBLEM: Final = problem_responses(401, 403, 404, 412, 413, 422)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    password_change_required: bool = Field(
        default=False,
        description="the account must choose a new password (POST /auth/password) first",
    )


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
    """The schemas that only request bodies and error answers name: the record v1 and its
    parts, and the problem document (merged into the OpenAPI components by ``web/app.py``)."""
    models = [(PatientRecordV1, "validation"), (ProblemDocument, "serialization")]
    _, schemas = models_json_schema(models, ref_template=_REF)  # type: ignore[arg-type]
    defs: dict[str, Any] = schemas["$defs"]
    return defs


async def json_body(request: Request) -> Any:
    """The request body parsed as strict JSON by the one reader the command line uses too
    (``schemas.records.load_json``); RecordError (422) saying why when it cannot be used."""
    return load_json(await request.body())


JsonBody = Annotated[Any, Depends(json_body)]
#: Where a listing starts, bounded (``alscare.limits``: 2^63 and more gave a 500).
Offset = Annotated[int, Query(ge=0, le=limits.MAX_OFFSET, description="rows to skip")]
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


@router.post(
    "/auth/token",
    tags=["auth"],
    response_model=TokenResponse,
    responses=problem_responses(401, 429),
)
async def login_for_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    database: DatabaseDep,
    settings: SettingsDep,
    guard: LoginGuardDep,
) -> TokenResponse:
    """Exchange a username and password for a bearer token (OAuth2 password flow), valid for
    ``expires_in`` seconds or until ``POST /auth/logout``, a new password or a disabled account.

    401 for a wrong or unknown username or password (the same answer for both). 429 with
    ``Retry-After`` after too many failed logins from this client address, for this username or
    for any (other addresses are not affected), or while too many logins are being checked.
    """
    user = await guard.attempt(
        lambda: authenticate(database, form.username, form.password, channel=Channel.API),
        database,
        client=client_address(request),
        username=form.username,
        channel=Channel.API,
    )
    return await run_in_threadpool(_new_token, database, user, settings)


def _new_token(database: Database, user: User, settings: Settings) -> TokenResponse:
    lifetime = dt.timedelta(minutes=settings.token_minutes)
    issued = start_session(database, user, SessionKind.API, lifetime)
    return TokenResponse(
        access_token=issued.secret,
        expires_in=issued.lifetime_seconds,
        password_change_required=user.must_change_password,
    )


@router.post("/auth/logout", tags=["auth"], status_code=204, responses=problem_responses(401))
def logout(database: DatabaseDep, token: BearerToken) -> Response:
    """Revoke the bearer token at once: the next request with it is answered 401."""
    if not end_session(database, token, SessionKind.API, Channel.API):
        raise AuthenticationError("invalid token")
    return Response(status_code=204)


class PasswordChange(BaseModel):
    current_password: str
    new_password: str


@router.post(
    "/auth/password",
    tags=["auth"],
    response_model=TokenResponse,
    # FastAPI reads this body itself, and answers 400 to bytes that are not UTF-8 text.
    responses=problem_responses(400, 401, 429),
)
async def change_password(
    request: Request,
    change: PasswordChange,
    user: TokenUser,
    database: DatabaseDep,
    settings: SettingsDep,
    guard: LoginGuardDep,
) -> TokenResponse:
    """Choose a new password (also when the account must change it). Every session and token
    of the account ends, this one included; the answer is a new token.

    422 naming ``current_password`` when it is wrong (counted as a failed login) and
    ``new_password`` when it is too short, too long or unchanged.
    """
    problem = password_problem(change.new_password)
    if problem is not None:
        raise RecordError([Problem("/body/new_password", problem)])
    try:
        changed = await guard.attempt(
            lambda: change_own_password(
                database, user, change.current_password, change.new_password, Channel.API
            ),
            database,
            client=client_address(request),
            username=user.username,
            channel=Channel.API,
        )
    except CurrentPasswordError as error:
        raise RecordError([Problem("/body/current_password", str(error))]) from None
    except AccountError as error:
        raise RecordError([Problem("/body/new_password", str(error))]) from None
    return await run_in_threadpool(_new_token, database, changed, settings)


@router.get("/health", tags=["system"], response_model=Health)
def health(database: DatabaseDep, kb: KnowledgeDep) -> Health:
    """Liveness: the database answers and the knowledge base is loaded. No login needed."""
    with database.transaction(write=False) as session:
        session.execute(text("SELECT 1"))
    return Health(status="ok", knowledge_version=kb.version)


@router.get("/topic", tags=["topic"], responses=problem_responses(404))
def topic(
    kb: KnowledgeDep,
    as_of: Annotated[Date | None, Query(description="date for review_overdue")] = None,
    section: Annotated[str | None, Query(description="one section only")] = None,
) -> JSONResponse:
    """The ALS topic (no patient data, so no login needed); 404 for an unknown section."""
    return JSONResponse(topic_document(kb, as_of=as_of, section=section))


@router.get(
    "/patients",
    tags=["patients"],
    response_model=list[PatientListing],
    responses=problem_responses(401, 403),
)
def list_patients(
    user: Viewer,
    database: DatabaseDep,
    search: Annotated[str | None, Query(max_length=64, description="part of the id")] = None,
    limit: Annotated[int, Query(ge=1, le=services.MAX_PAGE)] = 100,
    offset: Offset = 0,
) -> list[PatientListing]:
    """Patients whose id contains ``search`` (any case), sorted by id."""
    return services.list_patients(
        database, api_actor(user), search=search, limit=limit, offset=offset
    )


@router.post(
    "/patients",
    tags=["patients"],
    dependencies=[Idempotent],
    status_code=201,
    response_model=PatientRecord,
    responses=problem_responses(401, 403, 409, 413),
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
        int | None,
        Query(
            ge=1, le=limits.MAX_REVISION, description="an earlier revision (404 when there is none)"
        ),
    ] = None,
) -> JSONResponse:
    """The patient's record v2: its current revision, or ``revision``; the ``ETag`` header
    is the number of the revision answered (``"3"``), for ``If-Match`` on a write."""
    stored = services.read_patient(database, api_actor(user), patient_id, revision=revision)
    return _record_response(stored.record, revision=stored.revision)


@router.patch(
    "/patients/{patient_id}",
    tags=["patients"],
    dependencies=[Idempotent],
    response_model=PatientRecord,
    responses=_WRITE_PROBLEM,
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
    dependencies=[Idempotent],
    response_model=PatientRecord,
    responses=problem_responses(401, 403, 404, 412, 413, 428),
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
        dependencies=[Idempotent],
        status_code=201,
        response_model=PatientRecord,
        responses=_WRITE_PROBLEM,
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
    ISO_DATE,  # YYYY-MM-DD text: never a number ("0" was read as 1970-01-01)
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


@router.get(
    "/audit",
    tags=["admin"],
    response_model=list[AuditEvent],
    responses=problem_responses(401, 403),
)
def read_audit(
    user: Admin,
    database: DatabaseDep,
    patient_id: str | None = None,
    username: str | None = None,
    action: AuditAction | None = None,
    limit: Annotated[int, Query(ge=1, le=services.MAX_PAGE)] = 100,
    offset: Offset = 0,
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
    dependencies=[Idempotent],
    status_code=201,
    response_model=ImportSummary,
    responses=problem_responses(401, 403, 409, 413),
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


@router.get(
    "/export",
    tags=["admin"],
    response_model=list[PatientRecord],
    responses=problem_responses(401, 403),
)
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
