"""The clinic's lists across patients: the patient list, with each patient's stage, latest
scores and what is due, and the worklist of everything due, longest due first.

Every clinical value here is the engine's, from its assessment of each patient on the list's
date (:func:`alscare.services.assess_patients` reads the records, caches the assessments by
revision and audits each listed patient); this module only picks and orders what the
assessments say. What is due, and since when, is ``assessment.due``, whose windows come from
the knowledge base.

The order of urgency is the order of the worklist: the item due the longest first (the oldest
``since``), items the record cannot date last, and on one day the knowledge base's order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel, ConfigDict

from alscare import services
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Assessment, DueItem
from alscare.services import AssessedPatient, PatientListing
from alscare.storage.database import Database
from alscare.storage.security import Actor

__all__ = [
    "PATIENT_PAGE",
    "PatientSummary",
    "WorkItem",
    "Worklist",
    "follow_up_kinds",
    "patient_summaries",
    "unknown_kind",
    "worklist",
]

#: Patients on one page of the clinic's patient list (each is assessed for the page).
PATIENT_PAGE: Final = 100


@dataclass(frozen=True)
class PatientSummary:
    """One line of the clinic's patient list: who, and what the assessment on the list's date
    says of their stage, latest ALSFRS-R and FVC, and what is due (most urgent first)."""

    patient: PatientListing
    assessment: Assessment
    due: tuple[DueItem, ...]

    @property
    def most_urgent(self) -> DueItem | None:
        return self.due[0] if self.due else None


class WorkItem(BaseModel):
    """One thing due for one patient: who (id, name, identifiers) and the engine's item."""

    model_config = ConfigDict(frozen=True)

    patient_id: str
    name: str | None
    identifiers: str | None
    due: DueItem


class Worklist(BaseModel):
    """Everything due on ``as_of`` across the clinic's patients, longest due first (items the
    record cannot date last); ``kind`` is the follow-up item the list was limited to."""

    model_config = ConfigDict(frozen=True)

    as_of: dt.date
    knowledge_version: str
    kind: str | None
    patients: int
    items: tuple[WorkItem, ...]


def follow_up_kinds(kb: KnowledgeBase) -> dict[str, str]:
    """The kinds of item a worklist can hold: the knowledge base's follow-up items, id to
    label, in its order."""
    return {item.id: item.label for item in kb.treatment.follow_up}


def unknown_kind(kb: KnowledgeBase, kind: str | None) -> str | None:
    """Why ``kind`` cannot limit a worklist, or None when it can (None is every kind)."""
    kinds = follow_up_kinds(kb)
    if kind is None or kind in kinds:
        return None
    return f"not a kind of due item; one of {', '.join(kinds)}"


def patient_summaries(
    database: Database,
    actor: Actor,
    *,
    as_of: dt.date,
    kb: KnowledgeBase,
    search: str | None = None,
    offset: int = 0,
) -> list[PatientSummary]:
    """A page of the patient list (:data:`PATIENT_PAGE` patients, sorted by id; ids, names
    or identifiers containing ``search``), each with the assessment on ``as_of``."""
    assessed = services.assess_patients(
        database,
        actor,
        as_of=as_of,
        kb=kb,
        purpose="patient list",
        search=search,
        limit=PATIENT_PAGE,
        offset=offset,
    )
    return [
        PatientSummary(one.patient, one.assessment, _by_urgency(one.assessment.due))
        for one in assessed
    ]


def worklist(
    database: Database,
    actor: Actor,
    *,
    as_of: dt.date,
    kb: KnowledgeBase,
    kind: str | None = None,
) -> Worklist:
    """Every item due on ``as_of`` for every patient (only items of ``kind``, a key of
    :func:`follow_up_kinds`, when given); the patients listed are audited as listed."""

    def wanted(item: DueItem) -> bool:
        return kind is None or item.id == kind

    assessed = services.assess_patients(
        database,
        actor,
        as_of=as_of,
        kb=kb,
        purpose="worklist",
        shown=lambda assessment: any(wanted(item) for item in assessment.due),
    )
    items = [
        _work_item(one, item) for one in assessed for item in one.assessment.due if wanted(item)
    ]
    return Worklist(
        as_of=as_of,
        knowledge_version=kb.version,
        kind=kind,
        patients=len(assessed),
        items=tuple(sorted(items, key=lambda work: _urgency(work.due))),
    )


def _work_item(assessed: AssessedPatient, item: DueItem) -> WorkItem:
    patient = assessed.patient
    return WorkItem(
        patient_id=patient.id, name=patient.name, identifiers=patient.identifiers, due=item
    )


def _by_urgency(items: Iterable[DueItem]) -> tuple[DueItem, ...]:
    return tuple(sorted(items, key=_urgency))


def _urgency(item: DueItem) -> tuple[bool, dt.date]:
    """Oldest first, undated last; ``sorted`` is stable, so ties keep the engine's order
    (the knowledge base's, and for the worklist the patients' order by id)."""
    return (item.since is None, item.since or dt.date.max)
