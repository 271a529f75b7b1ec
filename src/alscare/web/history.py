"""The history of a patient's record: every revision with who wrote it, when, why and what it
changed, and any past revision viewed with the assessment as it stood then.

Routes::

    GET /patients/{id}/history                   the revisions, newest first, changes in words
    GET /patients/{id}?revision=N[&as_of=DATE]   the patient page of revision N (web/pages.py,
                                                 with web/revision_view.py): the engine on that
                                                 revision's record, on the revision's date
                                                 unless another is chosen; read-only

What changed comes from :mod:`alscare.revisions`; the words for the record's fields from
:mod:`alscare.web.record_words`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from alscare import services
from alscare.revisions import Change, ChangeOp, revision_history
from alscare.storage.history import RevisionEntry
from alscare.web.deps import DatabaseDep, KnowledgeDep
from alscare.web.pages import PageUser, page_errors, render
from alscare.web.record_words import place, summary
from alscare.web.revision_view import revision_day
from alscare.web.session import check_csrf, page_actor

__all__ = ["ChangeLine", "RevisionLine", "history_page", "router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])


@dataclass(frozen=True)
class ChangeLine:
    """One change of a revision in words: what (added, removed, changed), where, and the
    value before and after."""

    op: ChangeOp
    where: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class RevisionLine:
    """One revision on the history page."""

    revision: int
    at: dt.datetime
    day: dt.date
    actor: str
    reason: str | None
    changes: tuple[ChangeLine, ...]


@router.get("/patients/{patient_id}/history")
def history_page(
    request: Request, patient_id: str, user: PageUser, database: DatabaseDep, kb: KnowledgeDep
) -> Response:
    with page_errors():
        entries = services.patient_revisions(database, page_actor(user), patient_id)
    lines = _lines(entries)
    context = {
        "patient_id": patient_id,
        "revisions": list(reversed(lines)),
        "latest": lines[-1].revision,
        "nav": "patients",
    }
    return render(request, "history.html", context, user=user, kb=kb)


def _lines(entries: Sequence[RevisionEntry]) -> list[RevisionLine]:
    lines: list[RevisionLine] = []
    previous: Mapping[str, Any] = {}
    for entry, item in zip(entries, revision_history(entries), strict=True):
        changes = tuple(
            _change_line(change, previous, entry.record)
            for whole in item.changes
            if whole.pointer not in _FIXED
            for change in _by_entry(whole)
        )
        lines.append(
            RevisionLine(
                item.revision, item.at, revision_day(item.at), item.actor, item.reason, changes
            )
        )
        previous = entry.record
    return lines


# What no revision changes after the first (the record's format and the patient's id).
_FIXED: Final = ("/schema", "/id")


def _by_entry(change: Change) -> list[Change]:
    """A whole series added or removed, as one change per entry (one line each)."""
    values = change.after if change.op is ChangeOp.ADD else change.before
    if change.op is ChangeOp.REPLACE or not isinstance(values, list) or not values:
        return [change]
    if not all(isinstance(value, dict) for value in values):
        return [change]
    side = "after" if change.op is ChangeOp.ADD else "before"
    return [
        Change(op=change.op, pointer=f"{change.pointer}/{index}", **{side: value})
        for index, value in enumerate(values)
    ]


def _change_line(change: Change, before: Mapping[str, Any], after: Mapping[str, Any]) -> ChangeLine:
    """A removed value is found in the revision before; an added or changed one in this one."""
    record = before if change.op is ChangeOp.REMOVE else after
    tokens = change.pointer.split("/")[1:]
    part, entry = tokens[0], len(tokens) == 2 and tokens[1].isdigit()  # a whole entry

    def words(value: Any) -> str:
        return summary(value, part, entry=entry)

    return ChangeLine(
        change.op,
        place(change.pointer, record),
        words(change.before) if change.op is not ChangeOp.ADD else None,
        words(change.after) if change.op is not ChangeOp.REMOVE else None,
    )
