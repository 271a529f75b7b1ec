"""The JSON API of the flowsheet and the worklist (``/api/v1``, bearer tokens, any role)::

    GET /api/v1/patients/{id}/flowsheet?as_of=DATE    alscare.flowsheet/v1, the engine's bytes
    GET /api/v1/worklist?as_of=DATE[&kind=ITEM]       everything due across all patients

Both need ``as_of``: the API never takes the server's date for the caller. Both are audited
through :mod:`alscare.services` (the flowsheet as a read of the patient, the worklist as a
listing of each patient it lists); errors are the API's problem documents (``web/app.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final

from fastapi import APIRouter, Query, Response

from alscare import clinic, services
from alscare.clinic import Worklist
from alscare.errors import Problem, RecordError
from alscare.schemas.common import ISO_DATE
from alscare.schemas.flowsheet import Flowsheet
from alscare.web.api import problem_responses
from alscare.web.deps import DatabaseDep, KnowledgeDep, Viewer, api_actor

__all__ = ["read_flowsheet", "read_worklist", "router"]

router = APIRouter(prefix="/api/v1", responses=problem_responses(422, 503))

_AS_OF: Final = (
    "the date (YYYY-MM-DD); required. A patient's dates run from their birth date (or onset, or "
    "first entry) to a year after today; 422 naming `/query/as_of` or `/as_of` otherwise"
)
AsOf = Annotated[
    dt.date,
    Query(description=_AS_OF, ge=services.EARLIEST_AS_OF, le=services.LATEST_AS_OF),
    ISO_DATE,  # YYYY-MM-DD text: never a number ("0" was read as 1970-01-01)
]
_ERRORS: Final = problem_responses(401, 403, 404)


@router.get(
    "/patients/{patient_id}/flowsheet",
    tags=["patients"],
    response_model=Flowsheet,
    responses=_ERRORS,
    summary="The patient's visits up to a date (flowsheet)",
)
def read_flowsheet(
    patient_id: str, user: Viewer, database: DatabaseDep, kb: KnowledgeDep, as_of: AsOf
) -> Response:
    """The flowsheet (`alscare.flowsheet/v1`): one row per visit up to `as_of` (a day with an
    ALSFRS-R rating, a breathing test or a weight) with what was measured that day and the
    engine's scores and stages on that date; `thresholds`, the knowledge base's thresholds the
    rules compare each charted measure with (`verified: false` where unchecked); `stale` and
    `notes`, from the assessment on `as_of`. The bytes of `Flowsheet.to_json()`; audited as a
    read of the patient."""
    sheet = services.patient_flowsheet(database, api_actor(user), patient_id, as_of=as_of, kb=kb)
    return Response(sheet.to_json().encode("utf-8"), media_type="application/json")


@router.get(
    "/worklist",
    tags=["patients"],
    response_model=Worklist,
    responses=_ERRORS,
    summary="Everything due across all patients on a date",
)
def read_worklist(
    user: Viewer,
    database: DatabaseDep,
    kb: KnowledgeDep,
    as_of: AsOf,
    kind: Annotated[
        str | None,
        Query(
            max_length=64,
            description="only items of this kind: the `id` of a follow-up item of the "
            "knowledge base, e.g. `respiratory_tests` or `niv_decision` (422 for another)",
        ),
    ] = None,
) -> Worklist:
    """Every item due on `as_of` for every patient with ALS: measurements past their repeat
    window, riluzole's liver tests, NIV and gastrostomy decisions not yet answered, the
    cognitive screen. Each item has the patient (`patient_id`, `name`, `identifiers`) and the
    engine's due item (`due`: `id`, `label`, `since`, `because`, `sources`, `verified`), and
    the items are sorted by `due.since`, oldest first, undated last. `patients` counts the
    patients listed; each of them is audited as listed."""
    refused = clinic.unknown_kind(kb, kind)
    if refused is not None:
        raise RecordError([Problem("/query/kind", refused)])
    return clinic.worklist(database, api_actor(user), as_of=as_of, kb=kb, kind=kind)
