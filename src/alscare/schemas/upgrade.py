"""Upgrading a record v1 to v2, on read: lossless and documented (docs/record-v2.md).

* ``exam`` becomes one examination dated on the record's latest date (the latest date found
  anywhere in it but the birth date): an undated v1 examination describes the record as it
  stands, so before that date it is not used.
* ``emg`` becomes one EMG study on its own date, or on the latest date when it has none.
* ``interventions`` ``{niv: {since, hours_per_day}}`` becomes a ``started`` event on ``since``
  (``declined: true``: a ``declined`` event); ``since: null`` means in place at an unknown date
  and is dated as the examination is. The v1 object, even with every intervention null, becomes
  an (empty) event list: it said which interventions were in place.
* ``cognition`` becomes one dated screen and ``care`` one event per flag that is true, dated as
  the examination; an undated finding is dated the same way.
* ``age_years`` without a date becomes the age on the record's latest date (``age_on``); beside a
  birth date it is dropped, since the birth date gives the age on every date (and v1 always
  preferred it).
* A rating without ``gastrostomy`` gets ``gastrostomy: false`` and ``gastrostomy_assumed``: the
  assessment notes that item 5 was taken as 5a.

Every date the upgrade supplies is marked ``date_inferred``. The latest date counts the birth
date too; in a record with no date at all, an undated part describes the patient at every date
and is dated 0001-01-01. An age is refused there instead (the date it was true cannot be known),
with its pointer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from alscare.errors import Problem, RecordError
from alscare.schemas.patient import (
    PATIENT_SCHEMA,
    AlsfrsRating,
    CareEvent,
    CognitionEntry,
    EmgStudy,
    Examination,
    Finding,
    InterventionRecord,
    Medication,
    PatientRecord,
)
from alscare.schemas.patient_v1 import InterventionsV1, PatientRecordV1
from alscare.schemas.vocabulary import CareKind, InterventionEvent, InterventionKind

__all__ = ["upgrade"]

_UNDATED_AGE = (
    "an age without a date, in a record that holds no other date: the date it was true cannot "
    "be known; give the birth date, or write the record as alscare.patient/v2 with age_on"
)


class _Dater:
    """Dates the undated parts of a v1 record on its latest date."""

    def __init__(self, record: PatientRecordV1) -> None:
        entries = [when for _, when in record.dated_entries()]
        self.latest_entry: dt.date | None = max(entries) if entries else None
        dates = [*entries, *([record.birth_date] if record.birth_date else [])]
        self.latest = max(dates) if dates else dt.date.min
        self.problems: list[Problem] = []

    def date(self, given: dt.date | None) -> tuple[dt.date, bool]:
        """The given date, or the latest date marked as inferred."""
        if given is not None:
            return given, False
        return self.latest, True

    def age_on(self) -> dt.date:
        """The date a v1 age was true: the record's latest dated entry."""
        if self.latest_entry is None:
            self.problems.append(Problem("/age_years", _UNDATED_AGE))
            return dt.date.min
        return self.latest_entry


def upgrade(record: PatientRecordV1) -> PatientRecord:
    """The v2 record of a v1 record (see the module docstring for the rules)."""
    dater = _Dater(record)
    data: dict[str, Any] = {
        "schema": PATIENT_SCHEMA,
        "id": record.id,
        "sex": record.sex,
        "birth_date": record.birth_date,
        "height_cm": record.height_cm,
        "jurisdiction": record.jurisdiction,
        "symptom_onset": record.symptom_onset,
        "diagnosis_date": record.diagnosis_date,
        "progressive": record.progressive,
        "tests": record.tests,
        "genetics": record.genetics,
        "family_history": record.family_history,
        "risk_factors": record.risk_factors,
        "respiratory": record.respiratory,
        "weights": record.weights,
        "premorbid_weight_kg": record.premorbid_weight_kg,
        "labs": record.labs,
        "findings": _findings(record, dater),
        "examinations": _examinations(record, dater),
        "emg_studies": _emg_studies(record, dater),
        "alsfrs_r": _ratings(record),
        "cognition": _cognition(record, dater),
        "medications": tuple(
            Medication(name=m.name, since=m.since, until=m.until) for m in record.medications
        ),
        "interventions": _interventions(record.interventions, dater),
        "care": _care(record, dater),
    }
    if record.age_years is not None and record.birth_date is None:
        data["age_years"] = record.age_years
        data["age_on"] = dater.age_on()
    if dater.problems:
        raise RecordError(dater.problems)
    return PatientRecord.model_validate(data)


def _findings(record: PatientRecordV1, dater: _Dater) -> tuple[Finding, ...]:
    findings = []
    for entry in record.findings:
        date, inferred = dater.date(entry.date)
        findings.append(
            Finding(
                id=entry.id,
                present=entry.present,
                region=entry.region,
                side=entry.side,
                date=date,
                date_inferred=inferred,
            )
        )
    return tuple(findings)


def _examinations(record: PatientRecordV1, dater: _Dater) -> tuple[Examination, ...]:
    if all(signs is None for signs in record.exam.values()):
        return ()  # no region examined: nothing to carry over
    date, inferred = dater.date(None)
    return (Examination(date=date, regions=record.exam, date_inferred=inferred),)


def _emg_studies(record: PatientRecordV1, dater: _Dater) -> tuple[EmgStudy, ...]:
    emg = record.emg
    if emg is None:
        return ()
    date, inferred = dater.date(emg.date)
    fields = emg.model_dump(exclude={"date"})
    return (EmgStudy.model_validate({**fields, "date": date, "date_inferred": inferred}),)


def _ratings(record: PatientRecordV1) -> tuple[AlsfrsRating, ...]:
    return tuple(
        AlsfrsRating(
            date=rating.date,
            items=dict(rating.items),
            gastrostomy=rating.gastrostomy is True,
            gastrostomy_assumed=rating.gastrostomy is None,
        )
        for rating in record.alsfrs_r
    )


def _cognition(record: PatientRecordV1, dater: _Dater) -> tuple[CognitionEntry, ...]:
    cognition = record.cognition
    if cognition is None or (
        cognition.ftd is None
        and cognition.ecas_total is None
        and cognition.behaviour_change is None
    ):
        return ()
    date, inferred = dater.date(cognition.date)
    return (
        CognitionEntry(
            date=date,
            ecas_total=cognition.ecas_total,
            ftd=cognition.ftd,
            behaviour_change=cognition.behaviour_change,
            date_inferred=inferred,
        ),
    )


def _interventions(
    interventions: InterventionsV1 | None, dater: _Dater
) -> tuple[InterventionRecord, ...] | None:
    if interventions is None:
        return None
    events = []
    for kind in (InterventionKind.NIV, InterventionKind.GASTROSTOMY, InterventionKind.TRACHEOSTOMY):
        intervention = getattr(interventions, kind.value)
        if intervention is None:
            continue
        date, inferred = dater.date(intervention.since)
        declined = intervention.declined is True
        events.append(
            InterventionRecord(
                kind=kind,
                event=InterventionEvent.DECLINED if declined else InterventionEvent.STARTED,
                date=date,
                hours_per_day=None if declined else intervention.hours_per_day,
                date_inferred=inferred,
            )
        )
    return tuple(events)


def _care(record: PatientRecordV1, dater: _Dater) -> tuple[CareEvent, ...]:
    care = record.care
    if care is None:
        return ()
    events = []
    for kind in CareKind:
        if getattr(care, kind.value) is True:
            date, inferred = dater.date(None)
            events.append(CareEvent(kind=kind, date=date, date_inferred=inferred))
    return tuple(events)
