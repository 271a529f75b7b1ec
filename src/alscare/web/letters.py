"""The clinic letter from the app, as HTML (to read and print) or PDF (to file and send).

Routes::

    GET /api/v1/patients/{id}/letter?as_of=DATE&format=pdf|html   bearer token (any role)
    GET /patients/{id}/letter?as_of=DATE&format=html|pdf          the patient page's "Letter"
                                                                  button (web/pages.py)

Both read the record and its assessment from one revision through
:func:`alscare.services.record_and_assessment`, audited as an assessment ("letter as of DATE"), and
answer the letter of :mod:`alscare.report` (the same as ``alscare report``). The letter names the
patient, so it is never cached. Its HTML carries its own styles inline and no script: its
Content-Security-Policy allows those styles and its inline charts, nothing else.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query
from starlette.responses import Response

from alscare import services
from alscare.knowledge import KnowledgeBase
from alscare.report import render_html, render_pdf
from alscare.storage.database import Database
from alscare.storage.security import Actor
from alscare.web.api import AssessmentDate
from alscare.web.deps import DatabaseDep, KnowledgeDep, Viewer, api_actor

__all__ = ["FORMAT", "LetterFormat", "letter_response", "read_letter", "router"]


class LetterFormat(StrEnum):
    HTML = "html"
    PDF = "pdf"


_MEDIA_TYPES: Final = {
    LetterFormat.HTML: "text/html; charset=utf-8",
    LetterFormat.PDF: "application/pdf",
}
_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: The ``format`` query parameter (named so in the URL; ``format`` is a builtin in Python).
FORMAT: Final = Query(alias="format", description="pdf (A4) or html (a printable page)")
_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "the clinic letter",
        "content": {"text/html": {}, "application/pdf": {}},
    },
    401: {"description": "no valid bearer token"},
    404: {"description": "no such patient"},
    422: {"description": "not an assessment date of this patient: `problems` names `/as_of`"},
}

router = APIRouter(prefix="/api/v1", tags=["patients"])


def letter_response(
    database: Database,
    actor: Actor,
    patient_id: str,
    as_of: dt.date,
    kb: KnowledgeBase,
    output: LetterFormat,
) -> Response:
    """The letter of a patient on ``as_of`` in the format asked for (audited)."""
    record, assessment = services.record_and_assessment(
        database, actor, patient_id, as_of=as_of, kb=kb, purpose="letter"
    )
    html = render_html(record, assessment, kb)
    body = render_pdf(html) if output is LetterFormat.PDF else html.encode("utf-8")
    disposition = f'inline; filename="letter-{record.id}-{as_of}.{output.value}"'
    headers = {**_HEADERS, "Content-Disposition": disposition}
    return Response(body, media_type=_MEDIA_TYPES[output], headers=headers)


@router.get(
    "/patients/{patient_id}/letter",
    response_class=Response,
    responses=_RESPONSES,
    summary="The clinic letter of a patient on a date",
)
def read_letter(
    patient_id: str,
    user: Viewer,
    database: DatabaseDep,
    kb: KnowledgeDep,
    as_of: AssessmentDate,
    output: Annotated[LetterFormat, FORMAT] = LetterFormat.PDF,
) -> Response:
    """The clinic letter (the patient named in its header): the summary and the actions on the
    first page, the details and the sources after them. Audited as an assessment."""
    return letter_response(database, api_actor(user), patient_id, as_of, kb, output)
