"""The record as it stood on ``as_of``: later entries removed (and named), series in date order.

Every engine module works on the Timeline, never on the raw record, so the "entries after
as_of are ignored" rule and the "list order changes nothing" property hold in one place.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from alscare.schemas.patient import Intervention, Interventions, PatientRecord

__all__ = ["DAYS_PER_MONTH", "Timeline", "cut_off", "months_between"]

# Months are days / 30.4375 (365.25 / 12), the convention of the ENCALS/TRICALS code; the
# knowledge base records it with its source (scoring.month_days) and a content test pins it here.
DAYS_PER_MONTH = 30.4375

T = TypeVar("T")


@dataclass(frozen=True)
class Timeline:
    """A record cut at ``as_of``; ``ignored`` says what was left out and why."""

    record: PatientRecord
    as_of: dt.date
    ignored: tuple[str, ...]

    @property
    def onset(self) -> dt.date | None:
        return self.record.symptom_onset.date if self.record.symptom_onset else None


def months_between(start: dt.date, end: dt.date) -> float:
    """Months from ``start`` to ``end`` as days / 30.4375."""
    return (end - start).days / DAYS_PER_MONTH


def _canonical(item: Any) -> str:
    return json.dumps(item.model_dump(mode="json"), sort_keys=True)


def _keep(
    items: Sequence[T],
    as_of: dt.date,
    label: str,
    when: Callable[[T], dt.date | None],
    ignored: list[str],
) -> tuple[T, ...]:
    kept: list[T] = []
    for item in items:
        date = when(item)
        if date is not None and date > as_of:
            ignored.append(f"{label} of {date} is after as_of")
        else:
            kept.append(item)
    return _in_date_order(kept, when)


def _in_date_order(items: list[T], when: Callable[[T], dt.date | None]) -> tuple[T, ...]:
    """Sorted by date (undated first); entries on the same date by their content, so the
    record's list order never matters. The content key is built only where dates tie."""
    dates = [when(item) or dt.date.min for item in items]
    if len(set(dates)) == len(dates):
        return tuple(item for _, item in sorted(zip(dates, items, strict=True), key=_first))
    keyed = sorted(zip(dates, map(_canonical, items), items, strict=True), key=_first_two)
    return tuple(item for _, _, item in keyed)


def _first(pair: tuple[dt.date, Any]) -> dt.date:
    return pair[0]


def _first_two(triple: tuple[dt.date, str, Any]) -> tuple[dt.date, str]:
    return triple[0], triple[1]


def _intervention(
    name: str, intervention: Intervention | None, as_of: dt.date, ignored: list[str]
) -> Intervention | None:
    if intervention and intervention.since and intervention.since > as_of:
        ignored.append(f"{name} started {intervention.since}, after as_of")
        return None
    return intervention


def cut_off(record: PatientRecord, as_of: dt.date) -> Timeline:
    """The record as known on ``as_of``, with every series sorted by date."""
    ignored: list[str] = []
    changes: dict[str, Any] = {
        "findings": _keep(record.findings, as_of, "finding", lambda f: f.date, ignored),
        "tests": _keep(record.tests, as_of, "test", lambda t: t.date, ignored),
        "genetics": _keep(record.genetics, as_of, "genetic result", lambda g: g.date, ignored),
        "alsfrs_r": _keep(record.alsfrs_r, as_of, "alsfrs_r rating", lambda r: r.date, ignored),
        "respiratory": _keep(
            record.respiratory, as_of, "respiratory measurement", lambda r: r.date, ignored
        ),
        "weights": _keep(record.weights, as_of, "weight", lambda w: w.date, ignored),
        "labs": _keep(record.labs, as_of, "lab value", lambda lab: lab.date, ignored),
        "medications": _keep(record.medications, as_of, "medication", lambda m: m.since, ignored),
    }
    if record.diagnosis_date and record.diagnosis_date > as_of:
        ignored.append(f"diagnosis date {record.diagnosis_date} is after as_of")
        changes["diagnosis_date"] = None
    if record.symptom_onset and record.symptom_onset.date and record.symptom_onset.date > as_of:
        ignored.append(f"symptom onset {record.symptom_onset.date} is after as_of")
        changes["symptom_onset"] = None
    if record.emg and record.emg.date and record.emg.date > as_of:
        ignored.append(f"EMG of {record.emg.date} is after as_of")
        changes["emg"] = None
    if record.cognition and record.cognition.date and record.cognition.date > as_of:
        ignored.append(f"cognitive assessment of {record.cognition.date} is after as_of")
        changes["cognition"] = None
    if record.interventions:
        changes["interventions"] = Interventions(
            niv=_intervention("NIV", record.interventions.niv, as_of, ignored),
            gastrostomy=_intervention(
                "gastrostomy", record.interventions.gastrostomy, as_of, ignored
            ),
            tracheostomy=_intervention(
                "tracheostomy", record.interventions.tracheostomy, as_of, ignored
            ),
        )
    return Timeline(record.model_copy(update=changes), as_of, tuple(sorted(ignored)))
