"""``GET /api/v1/wording``: the words every view of alscare shows an assessment in.

The assessment (``GET /api/v1/patients/{id}/assessment``) holds ids, numbers and flags; a client
that shows one to a clinician takes its words from here, as the terminal, the pages and the
letter take theirs from :mod:`alscare.presentation`: the label of every id by kind, what each
mark means (``verified: false`` is shown as *unverified*; a score in ``stale`` or
``implausible``), and the caveat of the ENCALS model. No patient data, so no login.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from alscare.presentation import ENCALS_CAVEAT, ENCALS_NOT_APPLICABLE, MARKS, wording
from alscare.web.deps import KnowledgeDep

__all__ = ["Wording", "read_wording", "router"]

router = APIRouter(prefix="/api/v1", tags=["topic"])


class Wording(BaseModel):
    labels: dict[str, dict[str, str]]
    marks: dict[str, str]
    caveats: dict[str, str]


@router.get("/wording", response_model=Wording)
def read_wording(kb: KnowledgeDep) -> Wording:
    """Labels of every id an assessment holds (by kind: alert, recommendation, el_escorial,
    ...), what the marks mean, and the caveats every view shows with the ENCALS model."""
    return Wording(
        labels=wording(kb).vocabulary(),
        marks=dict(MARKS),
        caveats={"encals": ENCALS_CAVEAT, "encals_not_applicable": ENCALS_NOT_APPLICABLE},
    )
