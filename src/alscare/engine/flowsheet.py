"""The flowsheet: the engine's assessment on each visit date, laid out one row per visit.

Every number a row shows is the engine's own on that date (``assess(record, as_of=visit)``),
and shown only when it was measured that day, so the table never re-derives a score and never
repeats an older value. Raw breathing values the assessment does not carry (SNIP, MIP, SpO2)
come from that day's entry of the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from alscare.engine import assess
from alscare.engine.record_facts import stale
from alscare.engine.scores import stale_note
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.program import root_conditions_of
from alscare.knowledge.rules import facts_in
from alscare.schemas.common import RespiratoryMeasurement
from alscare.schemas.flowsheet import ChartThreshold, Flowsheet, FlowsheetRow
from alscare.schemas.patient import PatientRecord

__all__ = ["COLUMN_WINDOWS", "THRESHOLD_FACTS", "chart_thresholds", "flowsheet"]

#: Each charted measure of a row with the fact the rules compare with thresholds in its own
#: unit (weight has none: its rules read the weight loss, in %).
THRESHOLD_FACTS: dict[str, str] = {
    "progression_rate": "alsfrs_r.progression_rate",
    "fvc_percent_predicted": "respiratory.fvc_percent_predicted",
    "snip_cmh2o": "respiratory.snip_cmh2o",
    "mip_cmh2o": "respiratory.mip_cmh2o",
    "spo2_percent": "respiratory.spo2_percent",
    "bmi": "nutrition.bmi",
}
_RAW_BREATHING = ("snip_cmh2o", "mip_cmh2o", "spo2_percent")
#: The repeat window of each column (rules/definitions.yaml): the breathing columns share the
#: respiratory tests' window, keyed by FVC; ΔFS follows its rating, BMI its weight.
COLUMN_WINDOWS: dict[str, str] = {
    "alsfrs_r": "alsfrs_r",
    "progression_rate": "alsfrs_r",
    "fvc_percent_predicted": "fvc_percent_predicted",
    **dict.fromkeys(_RAW_BREATHING, "fvc_percent_predicted"),
    "weight_kg": "weight",
    "bmi": "weight",
}


def flowsheet(record: PatientRecord, *, as_of: dt.date, kb: KnowledgeBase) -> Flowsheet:
    """The patient's visits up to ``as_of``, one row each, with the chart thresholds."""
    rows = tuple(_row(record, day, kb) for day in _visit_dates(record, as_of))
    notes = dict(_stale_columns(rows, as_of, kb))
    return Flowsheet(
        patient_id=record.id,
        as_of=as_of,
        knowledge_version=kb.version,
        rows=rows,
        thresholds=chart_thresholds(kb),
        stale=tuple(notes),
        notes=notes,
    )


def _stale_columns(
    rows: tuple[FlowsheetRow, ...], as_of: dt.date, kb: KnowledgeBase
) -> Iterator[tuple[str, str]]:
    """Each column whose latest value is older than its repeat window on ``as_of``, and why:
    the assessment's own test and words (its ``scores.stale`` agrees for the scores)."""
    for column, measurement in COLUMN_WINDOWS.items():
        latest = next(
            (row.date for row in reversed(rows) if getattr(row, column) is not None), None
        )
        if latest is not None and stale(kb, measurement, latest, as_of):
            yield column, stale_note(kb, measurement, latest, as_of)


def _visit_dates(record: PatientRecord, as_of: dt.date) -> list[dt.date]:
    dated: Iterable[dt.date] = (
        entry.date for series in (record.alsfrs_r, record.respiratory, record.weights)
        for entry in series
    )  # fmt: skip
    return sorted({day for day in dated if day <= as_of})


def _row(record: PatientRecord, day: dt.date, kb: KnowledgeBase) -> FlowsheetRow:
    assessment = assess(record, as_of=day, kb=kb)
    scores = assessment.scores
    today = {name for name, when in scores.dates.items() if when == day}

    def measured(name: str) -> float | None:
        value = getattr(scores, name)
        return value if name in today else None

    rating = next((r for r in record.alsfrs_r if r.date == day), None)
    breathing = _breathing_of(record.respiratory, day)
    weight = next((w.kg for w in reversed(record.weights) if w.date == day), None)
    return FlowsheetRow(
        date=day,
        alsfrs_r=scores.alsfrs_r if "alsfrs_r" in today else None,
        items={str(item): score for item, score in rating.items.items()} if rating else {},
        progression_rate=measured("progression_rate"),
        fvc_percent_predicted=measured("fvc_percent_predicted"),
        weight_kg=weight,
        bmi=measured("bmi"),
        kings=assessment.staging.kings.stage,
        mitos=assessment.staging.mitos.stage if assessment.staging.mitos else None,
        **{name: _value_of(breathing, name) for name in _RAW_BREATHING},
    )


def _breathing_of(
    entries: Iterable[RespiratoryMeasurement], day: dt.date
) -> list[RespiratoryMeasurement]:
    return [entry for entry in entries if entry.date == day]


def _value_of(entries: list[RespiratoryMeasurement], name: str) -> float | None:
    values = [getattr(entry, name) for entry in entries if getattr(entry, name) is not None]
    return values[-1] if values else None


def chart_thresholds(kb: KnowledgeBase) -> dict[str, tuple[ChartThreshold, ...]]:
    """For each charted measure, the named thresholds some rule compares its fact with."""
    by_fact: dict[str, dict[str, ChartThreshold]] = {}
    for fact, threshold_id in _compared(kb):
        threshold = kb.rules.threshold_by_id[threshold_id]
        by_fact.setdefault(fact, {})[threshold_id] = ChartThreshold(
            id=threshold.id,
            value=threshold.value,
            unit=threshold.unit,
            label=threshold.label,
            purpose=threshold.purpose,
            verified=threshold.verified,
        )
    return {
        measure: tuple(by_fact[fact].values())
        for measure, fact in THRESHOLD_FACTS.items()
        if fact in by_fact
    }


def _compared(kb: KnowledgeBase) -> Iterator[tuple[str, str]]:
    for _, condition in root_conditions_of(kb):
        for leaf in facts_in(condition):
            if leaf.threshold_id is not None:
                yield leaf.fact, leaf.threshold_id
