"""The patient as known on the assessment date: one typed state, computed once per assessment.

:func:`patient_state` cuts the record at ``as_of`` (every entry dated after it is left out and
named in ``ignored``), puts every series in date order (entries of the same date by their
content, so the record's list order never matters) and works out what is current:

* the examination and the EMG of each region: the latest on or before ``as_of`` that examined
  (studied) that region, with its date; the study-wide nerve-conduction and RNS findings from the
  latest study that recorded each;
* each finding by region: for each finding id, the latest entry of each region decides, and an
  entry without a region speaks for every region (it replaces earlier entries of any region);
* the latest rating, measurement, weight, screen and result of each kind;
* current medications (``since`` on or before ``as_of``, ``until`` after it) and each
  intervention's latest event; genetics by gene; care events by kind.

Every later step reads this state, never the raw record, so "what was known on that date" is
decided once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby, islice
from operator import attrgetter, lt
from typing import Any, NamedTuple, TypeVar

from alscare.schemas.common import (
    EmgRegion,
    ExamRegion,
    GeneticResultEntry,
    LabValue,
    RespiratoryMeasurement,
    TestEntry,
    WeightEntry,
)
from alscare.schemas.patient import (
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
from alscare.schemas.vocabulary import (
    CareKind,
    InterventionEvent,
    InterventionKind,
    OnsetSite,
    Region,
)

__all__ = [
    "DAYS_PER_MONTH",
    "EMG_FINDINGS",
    "PatientState",
    "RegionEmg",
    "RegionExam",
    "first_day_past",
    "months_between",
    "patient_state",
    "years_of_age",
]

# Months are days / 30.4375 (365.25 / 12), the convention of the ENCALS/TRICALS code; the
# knowledge base records it with its source (scoring.month) and a content test pins it here.
DAYS_PER_MONTH = 30.4375

#: The study-wide EMG/NCS findings, as they read in a sentence.
EMG_FINDINGS: dict[str, str] = {
    "motor_conduction_block": "motor conduction block on nerve conduction studies",
    "sensory_conduction_abnormal": "abnormal sensory nerve conduction",
    "myopathic_units": "myopathic motor units on EMG",
    "rns_decrement": "decrement on repetitive nerve stimulation",
    "post_exercise_increment": "increment after brief exercise",
}

T = TypeVar("T")


def months_between(start: dt.date, end: dt.date) -> float:
    """Months from ``start`` to ``end`` as days / 30.4375."""
    return (end - start).days / DAYS_PER_MONTH


def first_day_past(start: dt.date, months: float) -> dt.date:
    """The first day more than ``months`` after ``start`` (months as days / 30.4375): the day
    a measurement of ``start`` with that repeat window becomes stale."""
    days = int(months * DAYS_PER_MONTH) + 1
    return dt.date.fromordinal(min(start.toordinal() + days, dt.date.max.toordinal()))


def years_of_age(birth: dt.date, day: dt.date) -> float:
    """Age on ``day`` as people count it: the birthdays passed, plus the fraction of the year
    since the last one (so an age threshold is crossed on the birthday itself)."""
    years = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    last, following = _birthday(birth, years), _birthday(birth, years + 1)
    return years + (day - last).days / (following - last).days


def _birthday(birth: dt.date, years: int) -> dt.date:
    """The date ``years`` after ``birth``; a 29 February birthday falls on 1 March."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return dt.date(birth.year + years, 3, 1)


class RegionExam(NamedTuple):
    """A region's current examination: the signs and the date of the examination."""

    date: dt.date
    signs: ExamRegion
    inferred: bool = False  # the date was supplied by the v1 upgrade


class RegionEmg(NamedTuple):
    """A region's current needle EMG: the changes and the date of the study."""

    date: dt.date
    changes: EmgRegion
    inferred: bool = False  # the date was supplied by the v1 upgrade


@dataclass(frozen=True, slots=True)
class PatientState:
    """The record as it stood on ``as_of`` (see the module docstring)."""

    record: PatientRecord
    as_of: dt.date
    ignored: tuple[str, ...]
    onset: dt.date | None
    onset_site: OnsetSite | None
    diagnosis_date: dt.date | None
    death_date: dt.date | None
    examinations: tuple[Examination, ...]
    emg_studies: tuple[EmgStudy, ...]
    exam: dict[Region, RegionExam]
    emg: dict[Region, RegionEmg]
    emg_findings: dict[str, tuple[bool, dt.date]]
    findings: dict[str, dict[str | None, Finding]]
    ratings: tuple[AlsfrsRating, ...]
    complete: tuple[AlsfrsRating, ...]
    respiratory: tuple[RespiratoryMeasurement, ...]
    weights: tuple[WeightEntry, ...]
    tests: dict[str, tuple[TestEntry, ...]]
    labs: dict[str, LabValue]
    genetics: dict[str, GeneticResultEntry]
    cognition: tuple[CognitionEntry, ...]
    medications: tuple[Medication, ...]
    interventions: dict[InterventionKind, tuple[InterventionRecord, ...]] | None
    care: dict[CareKind, CareEvent]
    #: The earliest and latest dates of the dated entries kept (None for a record without
    #: any): when the record first and last shows the patient, where a registry's follow-up
    #: starts and is censored.
    followed_from: dt.date | None
    followed_until: dt.date | None

    @property
    def rating(self) -> AlsfrsRating | None:
        """The latest ALSFRS-R rating."""
        return self.ratings[-1] if self.ratings else None

    @property
    def diagnosed(self) -> bool:
        return self.diagnosis_date is not None

    @property
    def deceased(self) -> bool:
        return self.death_date is not None

    @property
    def complete_ratings(self) -> tuple[AlsfrsRating, ...]:
        """The ratings with every item rated, oldest first."""
        return self.complete

    def latest_tests(self) -> RespiratoryMeasurement | None:
        """The latest breathing-test entry with a test result: when the tests were last done."""
        return next((entry for entry in reversed(self.respiratory) if entry.tested), None)

    def latest_with(self, field: str) -> RespiratoryMeasurement | None:
        """The latest respiratory entry that records ``field``."""
        for entry in reversed(self.respiratory):
            if getattr(entry, field) is not None:
                return entry
        return None

    def age_on(self, day: dt.date) -> float | None:
        """Age in years on ``day``: from the birth date (by birthdays), else from an age and
        the date it was recorded."""
        record = self.record
        if record.birth_date is not None:
            return years_of_age(record.birth_date, day)
        if record.age_years is not None and record.age_on is not None:
            return record.age_years + months_between(record.age_on, day) / 12
        return None


def patient_state(record: PatientRecord, as_of: dt.date) -> PatientState:
    """The state of ``record`` on ``as_of``."""
    cut = _Cut(as_of)
    onset = record.symptom_onset.date if record.symptom_onset else None
    examinations = cut.series(record.examinations, "examination", _date)
    emg_studies = cut.series(record.emg_studies, "EMG study", _date)
    findings = cut.series(record.findings, "finding", _date, _finding_kind)
    interventions = (
        None
        if record.interventions is None
        else _by_kind(cut.series(record.interventions, "intervention event", _date))
    )
    onset_date = cut.date(onset, "symptom onset")
    diagnosis_date = cut.date(record.diagnosis_date, "diagnosis date")
    death_date = cut.date(record.death.date if record.death else None, "death")
    ratings = cut.series(record.alsfrs_r, "ALSFRS-R rating", _date)
    respiratory = cut.series(record.respiratory, "respiratory measurement", _date)
    weights = cut.series(record.weights, "weight", _date)
    tests = _by_id(cut.series(record.tests, "test", _date, _id))
    labs = _latest_by(cut.series(record.labs, "lab value", _date, _id), _id)
    genetics = _latest_by(
        cut.series(record.genetics, "genetic result", _date), lambda g: g.gene.casefold()
    )
    cognition = cut.series(record.cognition, "cognitive screen", _date)
    medications = cut.series(record.medications, "medication", attrgetter("since"))
    care = _latest_by(cut.series(record.care, "care event", _date), lambda c: c.kind)
    return PatientState(
        record=record,
        as_of=as_of,
        ignored=tuple(sorted(cut.ignored)),
        onset=onset_date,
        # before the onset date there was no symptom, so no onset site either
        onset_site=_onset_site(record, onset, onset_date),
        diagnosis_date=diagnosis_date,
        death_date=death_date,
        examinations=examinations,
        emg_studies=emg_studies,
        exam=_current_exams(examinations),
        emg=_current_emg(emg_studies),
        emg_findings=_current_emg_findings(emg_studies),
        findings=_current_findings(findings),
        ratings=ratings,
        complete=tuple(rating for rating in ratings if not rating.unrated()),
        respiratory=respiratory,
        weights=weights,
        tests=tests,
        labs=labs,
        genetics=genetics,
        cognition=cognition,
        medications=medications,
        interventions=interventions,
        care=care,
        followed_from=None if cut.earliest == dt.date.max else cut.earliest,
        followed_until=None if cut.latest == dt.date.min else cut.latest,
    )


def _onset_site(
    record: PatientRecord, onset: dt.date | None, kept: dt.date | None
) -> OnsetSite | None:
    if record.symptom_onset is None or (onset is not None and kept is None):
        return None
    return record.symptom_onset.site


def _finding_kind(finding: Finding) -> str:
    # On one day the entry without a region comes first, so that it does not clear the
    # regional entries of the same day (see _current_findings).
    return f"{finding.id}.{finding.region or ''}"


_id: Callable[[Any], str] = attrgetter("id")
_date: Callable[[Any], dt.date | None] = attrgetter("date")


class _Cut:
    """Leaves out what is dated after ``as_of`` and says so."""

    def __init__(self, as_of: dt.date) -> None:
        self.as_of = as_of
        self.ignored: list[str] = []
        # The earliest and latest dates of the series kept: how long the record follows the
        # patient (the onset, diagnosis and death dates are not visits).
        self.earliest = dt.date.max
        self.latest = dt.date.min

    def date(self, when: dt.date | None, label: str) -> dt.date | None:
        if when is not None and when > self.as_of:
            self.ignored.append(f"{label} {when} is after as_of")
            return None
        return when

    def series(
        self,
        items: Sequence[T],
        label: str,
        when: Callable[[T], dt.date | None],
        kind: Callable[[T], str] | None = None,
    ) -> tuple[T, ...]:
        if not items:
            return ()
        as_of = self.as_of
        dates = [date or dt.date.min for date in map(when, items)]
        if max(dates) <= as_of:
            kept = list(items)
        else:
            kept, dates = self._before(items, dates, label)
        dated = [date for date in dates if date != dt.date.min]  # undated v1 entries
        if dated:
            self.earliest = min(self.earliest, min(dated))
            self.latest = max(self.latest, max(dated))
        if all(map(lt, dates, islice(dates, 1, None))):
            return tuple(kept)  # already in date order, no two on one day (the usual record)
        return _in_date_order(kept, dates, kind)

    def _before(
        self, items: Sequence[T], dates: list[dt.date], label: str
    ) -> tuple[list[T], list[dt.date]]:
        """The items dated on or before ``as_of`` and their dates; the others are ignored."""
        kept: list[T] = []
        kept_dates: list[dt.date] = []
        for item, date in zip(items, dates, strict=True):
            if date > self.as_of:
                self.ignored.append(_ignored_entry(label, item, date))
            else:
                kept.append(item)
                kept_dates.append(date)
        return kept, kept_dates


def _ignored_entry(label: str, item: Any, date: dt.date) -> str:
    if getattr(item, "date_inferred", False):
        return (
            f"{label} of {date} (undated in record v1, dated on the record's latest date) "
            "is after as_of"
        )
    return f"{label} of {date} is after as_of"


def _canonical(item: Any) -> str:
    content: str = item.model_dump_json()
    return content


def _in_date_order(
    items: list[T], dates: list[dt.date], kind: Callable[[T], str] | None
) -> tuple[T, ...]:
    """Sorted by date (undated first), then by ``kind`` (entries of different kinds never
    replace each other, e.g. two tests), then by content, so the record's list order never
    matters. The content key is built only where date and kind tie."""
    kinds = [kind(item) for item in items] if kind is not None else [""] * len(items)
    keyed = sorted(zip(dates, kinds, items, strict=True), key=_first_two)
    ordered: list[T] = []
    for _, run in groupby(keyed, key=_first_two):
        same = [item for _, _, item in run]
        ordered.extend(same if len(same) == 1 else sorted(same, key=_canonical))
    return tuple(ordered)


def _first_two(triple: tuple[dt.date, str, Any]) -> tuple[dt.date, str]:
    return triple[0], triple[1]


def _current_exams(examinations: Iterable[Examination]) -> dict[Region, RegionExam]:
    current: dict[Region, RegionExam] = {}
    for examination in examinations:  # date order: a later examination replaces an earlier one
        for region, signs in examination.regions.items():
            if signs is not None:
                current[region] = RegionExam(examination.date, signs, examination.date_inferred)
    return {region: current[region] for region in Region if region in current}


def _current_emg(studies: Iterable[EmgStudy]) -> dict[Region, RegionEmg]:
    current: dict[Region, RegionEmg] = {}
    for study in studies:
        for region, changes in study.regions.items():
            if changes is not None:
                current[region] = RegionEmg(study.date, changes, study.date_inferred)
    return {region: current[region] for region in Region if region in current}


def _current_emg_findings(studies: Iterable[EmgStudy]) -> dict[str, tuple[bool, dt.date]]:
    current: dict[str, tuple[bool, dt.date]] = {}
    for study in studies:
        for name in EMG_FINDINGS:
            value = getattr(study, name)
            if value is not None:
                current[name] = (value, study.date)
    return current


def _current_findings(findings: Iterable[Finding]) -> dict[str, dict[str | None, Finding]]:
    """For each finding id, the current entry of each region (an entry without a region
    replaces every earlier entry of that finding). Keys are the vocabulary's ids (strings)."""
    current: dict[str, dict[str | None, Finding]] = {}
    for entry in findings:
        by_region = current.setdefault(entry.id, {})
        if entry.region is None:
            by_region.clear()
        by_region[entry.region] = entry
    return current


def _by_id(tests: Iterable[TestEntry]) -> dict[str, tuple[TestEntry, ...]]:
    grouped: dict[str, list[TestEntry]] = {}
    for entry in tests:
        grouped.setdefault(entry.id, []).append(entry)
    return {key: tuple(group) for key, group in grouped.items()}


K = TypeVar("K")


def _latest_by(items: Iterable[T], key: Callable[[T], K]) -> dict[K, T]:
    latest: dict[K, T] = {}
    for item in items:  # date order: the last of each key is the latest
        latest[key(item)] = item
    return latest


# Events of one intervention on the same day happen in this order (offered, then decided).
_EVENT_ORDER = {event: rank for rank, event in enumerate(InterventionEvent)}


def _by_kind(
    events: Iterable[InterventionRecord],
) -> dict[InterventionKind, tuple[InterventionRecord, ...]]:
    """Each intervention's events in the order they happened."""
    grouped: dict[InterventionKind, list[InterventionRecord]] = {
        kind: [] for kind in InterventionKind
    }
    for event in events:
        grouped[event.kind].append(event)
    return {
        kind: tuple(sorted(group, key=lambda e: (e.date, _EVENT_ORDER[e.event])))
        for kind, group in grouped.items()
    }
