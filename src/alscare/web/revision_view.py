"""A past revision of a patient's record on a page: which one a page asks for, who wrote it,
when and why, and the page made read-only.

A past revision's page is shown as to an account that may not write (every form and write link
of the pages is offered only to accounts that may), so nothing on it can change the record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from alscare import limits, services
from alscare.errors import NotFoundError
from alscare.storage.database import Database
from alscare.storage.security import Actor, User
from alscare.web.session import PageError, SessionUser

__all__ = [
    "PastRevision",
    "past_revision",
    "past_revision_context",
    "requested_revision",
    "revision_day",
]


@dataclass(frozen=True)
class PastRevision:
    """The revision a page shows instead of the current one, and who wrote it, when and why;
    ``latest`` is the current revision's number."""

    revision: int
    at: dt.datetime
    day: dt.date
    actor: str
    reason: str | None
    latest: int


class _ReadOnly(SessionUser):
    """The account as a past revision's page sees it: nothing on the page can change it."""

    def __init__(self, user: User) -> None:
        super().__init__(user)
        self.can_write = False


def revision_day(at: dt.datetime) -> dt.date:
    """The day a revision was written, on the server's calendar (as services.today())."""
    return at.astimezone().date()


def requested_revision(raw: str | None) -> int | None:
    """The revision a page's ``revision`` parameter asks for (None: the current one)."""
    if not raw:
        return None
    # ASCII digits only ("²" is a digit to str.isdigit but no number to int), and no more than
    # a revision can be (a huge number overflowed the database's integers)
    digits = raw.isascii() and raw.isdigit() and len(raw) <= 10
    if not digits or not 1 <= int(raw) <= limits.MAX_REVISION:
        reason = f"the revision must be a whole number from 1 to {limits.MAX_REVISION:,}"
        raise PageError(422, "Not a revision", reason)
    return int(raw)


def past_revision(
    database: Database, actor: Actor, patient_id: str, revision: int | None
) -> PastRevision | None:
    """Who wrote ``revision`` of the patient's record, when and why (None when none is asked
    for); a 404 page for an unknown patient or revision."""
    if revision is None:
        return None
    try:
        entries = services.patient_revisions(database, actor, patient_id)
    except NotFoundError as error:
        raise PageError(404, "Not found", str(error)) from None
    entry = next((entry for entry in entries if entry.revision == revision), None)
    latest = entries[-1].revision
    if entry is None:
        message = f"patient {patient_id} has no revision {revision} (1 to {latest})"
        raise PageError(404, "Not found", message)
    day = revision_day(entry.at)
    return PastRevision(entry.revision, entry.at, day, entry.username, entry.reason, latest)


def past_revision_context(user: User, past: PastRevision | None) -> dict[str, Any]:
    """What a page adds for a past revision: its banner (``past``), and the page read-only."""
    if past is None:
        return {"past": None}
    return {"past": past, "user": _ReadOnly(user)}
