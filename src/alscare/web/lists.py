"""The clinic's patient list and worklist as the pages show them: each line in words, from the
engine's assessment of the patient on the list's date (:mod:`alscare.clinic`); nothing here
computes a clinical value."""

from __future__ import annotations

from dataclasses import dataclass

from alscare import presentation
from alscare.clinic import PatientSummary, WorkItem
from alscare.knowledge import KnowledgeBase
from alscare.presentation import Kind
from alscare.schemas.assessment import DueItem, Scores

__all__ = ["DatedScore", "PatientRow", "WorkRow", "patient_row", "work_row"]

NOT_DATED = "not dated"


@dataclass(frozen=True)
class DatedScore:
    """A score as the list shows it: the value with its unit, its date, and its marks."""

    value: str
    date: str
    flags: tuple[str, ...]


@dataclass(frozen=True)
class PatientRow:
    id: str
    name: str | None
    identifiers: str | None
    died: str | None
    onset: str | None
    diagnosis: str | None
    kings: str | None
    kings_how: str
    kings_verified: bool
    alsfrs_r: DatedScore | None
    fvc: DatedScore | None
    due: tuple[DueItem, ...]
    most_urgent: DueItem | None
    urgent_since: str


@dataclass(frozen=True)
class WorkRow:
    since: str
    patient_id: str
    name: str | None
    identifiers: str | None
    due: DueItem


def patient_row(summary: PatientSummary, kb: KnowledgeBase) -> PatientRow:
    patient, assessment = summary.patient, summary.assessment
    scores, staging = assessment.scores, assessment.staging
    site = patient.onset_site
    onset = [
        presentation.date(patient.symptom_onset_date) if patient.symptom_onset_date else None,
        presentation.wording(kb).label(Kind.ONSET_SITE, site) if site else None,
    ]
    clinical = staging.kings.stage is None and staging.kings_clinical is not None
    kings = staging.kings_clinical if clinical and staging.kings_clinical else staging.kings
    urgent = summary.most_urgent
    return PatientRow(
        id=patient.id,
        name=patient.name,
        identifiers=patient.identifiers,
        died=presentation.date(patient.death_date) if patient.death_date else None,
        onset=", ".join(part for part in onset if part) or None,
        diagnosis=presentation.date(patient.diagnosis_date) if patient.diagnosis_date else None,
        kings=presentation.stage(kings.stage) if kings.stage is not None else None,
        kings_how="from milestones" if clinical else "from ALSFRS-R",
        kings_verified=kings.verified,
        alsfrs_r=_dated(scores, "alsfrs_r"),
        fvc=_dated(scores, "fvc_percent_predicted"),
        due=summary.due,
        most_urgent=urgent,
        urgent_since=_since(urgent) if urgent else "",
    )


def _dated(scores: Scores, key: str) -> DatedScore | None:
    value = presentation.score_value(scores, key)
    if value is None:
        return None
    day = scores.alsfrs_r.date if key == "alsfrs_r" and scores.alsfrs_r else scores.dates.get(key)
    return DatedScore(value, presentation.date(day), presentation.score_flags(scores, key))


def work_row(item: WorkItem) -> WorkRow:
    return WorkRow(
        since=_since(item.due),
        patient_id=item.patient_id,
        name=item.name,
        identifiers=item.identifiers,
        due=item.due,
    )


def _since(item: DueItem) -> str:
    return presentation.date(item.since) if item.since else NOT_DATED
