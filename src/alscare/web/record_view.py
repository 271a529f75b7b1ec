"""How the pages show a record: the words for regions and signs, and the record's dated parts as
tables for the patient page.

The tables show the record as stored, every entry with its date, newest first; an entry dated
after the assessment date is marked (the assessment leaves it out and names it in ``ignored``),
and a date the upgrade from a record v1 supplied is marked as inferred.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from alscare.schemas.common import EmgRegion, ExamRegion
from alscare.schemas.patient import EmgStudy, PatientRecord
from alscare.schemas.vocabulary import Region

__all__ = [
    "EMG_FLAG_LABELS",
    "EMG_SIGN_LABELS",
    "EXAM_SIGN_LABELS",
    "REGION_LABELS",
    "DatedRow",
    "RecordTable",
    "record_tables",
]

EXAM_SIGN_LABELS: Final = {
    "weakness": "Weakness",
    "wasting": "Wasting",
    "fasciculations": "Fasciculations",
    "hyperreflexia": "Brisk reflexes (incl. kept in a wasted muscle)",
    "pathological_reflexes": "Pathological reflexes (Babinski, Hoffmann, jaw jerk…)",
    "spasticity": "Spasticity",
    "slowed_movements": "Slowed, poorly coordinated movement",
}
EMG_SIGN_LABELS: Final = {
    "chronic_neurogenic": "Chronic neurogenic change",
    "active_denervation": "Fibrillations or positive sharp waves",
    "fasciculation_potentials": "Fasciculation potentials",
}
EMG_FLAG_LABELS: Final = {
    "motor_conduction_block": "Motor conduction block",
    "sensory_conduction_abnormal": "Abnormal sensory conduction",
    "myopathic_units": "Myopathic motor units",
    "rns_decrement": "Decrement over 10 % on repetitive stimulation",
    "post_exercise_increment": "Increment over 100 % after brief exercise",
}
REGION_LABELS: Final = {
    Region.BULBAR: "Bulbar",
    Region.CERVICAL: "Cervical (arms, hands, neck)",
    Region.THORACIC: "Thoracic (trunk, abdomen)",
    Region.LUMBOSACRAL: "Lumbosacral (legs)",
}
_NOT_RECORDED: Final = "not recorded"

Label = Callable[[object], str]


@dataclass(frozen=True)
class DatedRow:
    """One line of a table: its date, whether that date was inferred, whether it is after the
    assessment date, and the other cells."""

    date: dt.date
    inferred: bool
    after: bool
    cells: tuple[str, ...]


@dataclass(frozen=True)
class RecordTable:
    """A dated part of the record: its anchor, heading, column headings (after "Date") and
    rows, newest first."""

    id: str
    title: str
    headings: tuple[str, ...]
    rows: tuple[DatedRow, ...]


def record_tables(record: PatientRecord, as_of: dt.date, label: Label) -> list[RecordTable]:
    """The dated parts of the record the assessment reads beside the measurements: the
    examinations, EMG studies, intervention events, cognitive screens, care events and
    death. Parts with no entry are left out."""

    def row(date: dt.date, inferred: bool, *cells: str) -> DatedRow:
        return DatedRow(date, inferred, date > as_of, cells)

    tables = (
        _table(
            "record-examinations",
            "Examinations",
            ("Region", "Signs found"),
            (
                row(exam.date, exam.date_inferred, REGION_LABELS[region], _signs(signs))
                for exam in record.examinations
                for region, signs in exam.examined().items()
            ),
        ),
        _table(
            "record-emg",
            "EMG and nerve conduction studies",
            ("Region", "Findings"),
            (
                row(study.date, study.date_inferred, *cells)
                for study in record.emg_studies
                for cells in _study_lines(study)
            ),
        ),
        _table(
            "record-interventions",
            "Interventions",
            ("Intervention", "Event", "Hours a day"),
            (
                row(
                    event.date,
                    event.date_inferred,
                    label(event.kind.value),
                    event.event.value,
                    f"{event.hours_per_day:g}" if event.hours_per_day is not None else "",
                )
                for event in record.interventions or ()
            ),
        ),
        _table(
            "record-cognition",
            "Cognitive and behavioural screens",
            ("ECAS total", "FTD", "Behaviour change"),
            (
                row(
                    screen.date,
                    screen.date_inferred,
                    f"{screen.ecas_total} of 136" if screen.ecas_total is not None else "",
                    _yes_no(screen.ftd),
                    _yes_no(screen.behaviour_change),
                )
                for screen in record.cognition
            ),
        ),
        _table(
            "record-care",
            "Care",
            ("Event",),
            (
                row(event.date, event.date_inferred, label(event.kind.value))
                for event in record.care
            ),
        ),
        _table(
            "record-death", "Death", (), [row(record.death.date, False)] if record.death else []
        ),
    )
    return [table for table in tables if table.rows]


def _table(
    ident: str, title: str, headings: tuple[str, ...], rows: Iterable[DatedRow]
) -> RecordTable:
    newest_first = sorted(rows, key=lambda line: line.date, reverse=True)
    return RecordTable(ident, title, headings, tuple(newest_first))


def _signs(signs: ExamRegion) -> str:
    found = _found(signs.model_dump(), EXAM_SIGN_LABELS)
    return found or "no sign found"


def _study_lines(study: EmgStudy) -> list[tuple[str, str]]:
    """One line per region studied, and one for the study-wide findings recorded."""
    lines = [
        (REGION_LABELS[region], _needle(findings))
        for region, findings in study.regions.items()
        if findings is not None
    ]
    flags = "; ".join(
        f"{text}: {_yes_no(value)}"
        for flag, text in EMG_FLAG_LABELS.items()
        if (value := getattr(study, flag)) is not None
    )
    if flags or not lines:
        lines.append(("Nerve conduction and other", flags or "nothing recorded"))
    return lines


def _needle(findings: EmgRegion) -> str:
    found = _found(findings.model_dump(exclude={"muscles"}), EMG_SIGN_LABELS)
    if findings.muscles is not None:
        found = ", ".join(filter(None, (found, f"in {findings.muscles} muscles")))
    return found or "no change found"


def _found(values: Mapping[str, object], labels: Mapping[str, str]) -> str:
    """The signs recorded present, in words; "no X" for those recorded absent."""
    present = [labels[name].lower() for name, value in values.items() if value is True]
    absent = [f"no {labels[name].lower()}" for name, value in values.items() if value is False]
    return ", ".join(present + absent)


def _yes_no(value: bool | None) -> str:
    return _NOT_RECORDED if value is None else ("yes" if value else "no")
