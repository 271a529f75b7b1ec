"""What the CDS Hooks service stores: the clients' feedback on cards, and the audit rows of calls.

The service is stateless: it reads no patient of the clinic database and stores nothing of the
patient an EHR sent. What it keeps is about the service itself:

* **feedback** (``cds_feedback``): which card (by its uuid) was accepted or overridden, why,
  when, and which client (the verified ``iss``) said so. Admins read it at ``/cds-feedback``.
* **one audit row per call** (``audit_events``): the client as the actor (``cds@<iss host>``),
  the channel ``cds-hooks``, the service, the hook call's ``hookInstance`` and how many cards
  were answered, with no patient id. The EHR's patient is not a patient of the clinic, its id
  means nothing here and would only make the trail hold identifiers of people alscare never
  stored; the ``hookInstance`` lets an EHR's own audit trail (which knows the patient) be
  matched to the row. A refused call (a JWT not accepted) is a ``refused`` row with the reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Final
from urllib.parse import urlsplit

from sqlalchemy import select

from alscare.storage.audit import AuditAction, record_event
from alscare.storage.database import Database
from alscare.storage.tables import CdsFeedbackRow

__all__ = [
    "CHANNEL",
    "UNVERIFIED_CLIENT",
    "Feedback",
    "audit_call",
    "client_actor",
    "feedback_rows",
    "store_feedback",
]

#: The audit trail's channel of every CDS Hooks call.
CHANNEL: Final = "cds-hooks"
#: The client of a call whose JWT was not checked (development) or not accepted.
UNVERIFIED_CLIENT: Final = "(unverified)"
_ACTOR_PREFIX: Final = "cds@"
_USERNAME_LENGTH: Final = 64  # audit_events.username


@dataclass(frozen=True, slots=True)
class Feedback:
    """One card outcome reported by a client."""

    service_id: str
    card_uuid: str
    outcome: str  # accepted | overridden
    outcome_at: dt.datetime
    client: str
    received_at: dt.datetime
    override_system: str | None = None
    override_code: str | None = None
    override_display: str | None = None
    user_comment: str | None = None


def client_actor(client: str) -> str:
    """The audit trail's username of a client: ``cds@`` and the host of its ``iss`` (an ``@``
    marks the system's own actors, so no account can have it)."""
    host = urlsplit(client).hostname if "://" in client else None
    return f"{_ACTOR_PREFIX}{host or client}"[:_USERNAME_LENGTH]


def audit_call(
    database: Database,
    client: str,
    detail: str,
    *,
    refused: bool = False,
    now: dt.datetime | None = None,
) -> None:
    """One audit row for a call of the service, in a transaction of its own."""
    with database.transaction() as session:
        record_event(
            session,
            at=now or dt.datetime.now(dt.UTC),
            username=client_actor(client),
            role="",
            channel=CHANNEL,
            action=AuditAction.REFUSED if refused else AuditAction.ASSESS,
            detail=detail,
        )


def store_feedback(database: Database, feedback: Sequence[Feedback]) -> None:
    """Store a request's feedback, all of it or none."""
    with database.transaction() as session:
        session.add_all(CdsFeedbackRow(**asdict(item)) for item in feedback)


def feedback_rows(database: Database, *, limit: int, offset: int = 0) -> list[Feedback]:
    """Stored feedback, the latest received first."""
    query = select(CdsFeedbackRow).order_by(CdsFeedbackRow.id.desc()).limit(limit).offset(offset)
    with database.transaction(write=False) as session:
        return [
            Feedback(**{name: getattr(row, name) for name in _FEEDBACK_FIELDS})
            for row in session.scalars(query)
        ]


# A Feedback's fields are the columns of its row (the row's id aside).
_FEEDBACK_FIELDS: Final = tuple(field.name for field in fields(Feedback))
