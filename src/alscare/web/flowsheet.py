"""The flowsheet page's content: the engine's flowsheet (``alscare.flowsheet/v1``) as a table of
visits, a table of ALSFRS-R items, and charts.

Nothing here computes a clinical value. Each cell is a value of the flowsheet's row, formatted
by :mod:`alscare.presentation`, left blank when it was not measured that day; a value is marked
stale where the engine says so (``Flowsheet.stale``: a column's latest value past its repeat
window on the flowsheet's date, with the reason from ``Flowsheet.notes``). The charts come from
:func:`alscare.plots.flowsheet_chart`, with the thresholds of ``Flowsheet.thresholds``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup

from alscare import presentation
from alscare.knowledge import KnowledgeBase
from alscare.plots import FLOWSHEET_MEASURES, flowsheet_chart
from alscare.schemas.flowsheet import ChartThreshold, Flowsheet, FlowsheetRow
from alscare.schemas.patient import PatientRecord
from alscare.schemas.vocabulary import AlsfrsItem

__all__ = [
    "CHARTED_ALWAYS",
    "COLUMNS",
    "DOMAINS",
    "Cell",
    "Column",
    "FlowsheetView",
    "ItemRow",
    "ThresholdRow",
    "VisitRow",
    "flowsheet_view",
]

BLANK: Final = "—"  # not measured that day


@dataclass(frozen=True)
class Column:
    """A column of the visits table: a value of the row (``alsfrs_r.<domain>`` for a part of
    the ALSFRS-R score), its heading and unit, and its key in ``Flowsheet.stale`` (None: a
    stage, never stale)."""

    key: str
    heading: str
    unit: str
    digits: int = 0
    stale_key: str | None = None
    stage: bool = False


COLUMNS: Final = (
    Column("alsfrs_r.total", "ALSFRS-R", "of 48", stale_key="alsfrs_r"),
    Column("progression_rate", "ΔFS", "points/month", 2, "progression_rate"),
    Column("fvc_percent_predicted", "FVC", "% predicted", 1, "fvc_percent_predicted"),
    Column("snip_cmh2o", "SNIP", "cmH₂O", 1, "snip_cmh2o"),
    Column("mip_cmh2o", "MIP", "cmH₂O", 1, "mip_cmh2o"),
    Column("spo2_percent", "SpO₂", "%", 1, "spo2_percent"),
    Column("weight_kg", "Weight", "kg", 1, "weight_kg"),
    Column("bmi", "BMI", "kg/m²", 1, "bmi"),
    Column("kings", "King's", "stage", stage=True),
    Column("mitos", "MiToS", "stage", stage=True),
)
#: The ALSFRS-R domains, shown with the items.
DOMAINS: Final = (
    Column("alsfrs_r.bulbar", "Bulbar", "of 12"),
    Column("alsfrs_r.fine_motor", "Fine motor", "of 12"),
    Column("alsfrs_r.gross_motor", "Gross motor", "of 12"),
    Column("alsfrs_r.respiratory", "Respiratory", "of 12"),
)
#: Charts the page always shows (saying so when there is nothing to plot); the other measures
#: of :data:`alscare.plots.FLOWSHEET_MEASURES` are charted when some visit measured them.
CHARTED_ALWAYS: Final = ("alsfrs_r", "fvc_percent_predicted", "snip_cmh2o", "weight_kg")


@dataclass(frozen=True)
class Cell:
    text: str
    stale: str | None = None  # why the value is stale, when it is


@dataclass(frozen=True)
class VisitRow:
    date: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class ItemRow:
    date: str
    domains: tuple[str, ...]
    scores: tuple[str, ...]


@dataclass(frozen=True)
class ThresholdRow:
    measure: str
    name: str
    label: str
    value: str
    verified: bool


@dataclass(frozen=True)
class FlowsheetView:
    """What the flowsheet template shows."""

    sheet: Flowsheet
    rows: tuple[VisitRow, ...]
    item_headings: tuple[tuple[int, str], ...]  # (number on the scale, item)
    item_rows: tuple[ItemRow, ...]
    charts: tuple[Markup, ...]
    notes: tuple[tuple[str, str], ...]  # (what, why it is stale or implausible)
    thresholds: tuple[ThresholdRow, ...]


def flowsheet_view(sheet: Flowsheet, record: PatientRecord, kb: KnowledgeBase) -> FlowsheetView:
    """The page's tables and charts; ``record`` gives the milestones the charts mark."""
    return FlowsheetView(
        sheet=sheet,
        rows=_visit_rows(sheet),
        item_headings=tuple(
            (number, presentation.humanise(item.value))
            for number, item in enumerate(AlsfrsItem, start=1)
        ),
        item_rows=tuple(_item_row(row) for row in sheet.rows if row.items),
        charts=tuple(
            Markup(flowsheet_chart(sheet, measure, record=record))
            for measure in FLOWSHEET_MEASURES
            if measure in CHARTED_ALWAYS or _measured(sheet.rows, measure)
        ),
        notes=tuple((_HEADINGS.get(key, key), note) for key, note in sheet.notes.items()),
        thresholds=tuple(
            _threshold_row(measure, threshold)
            for measure, thresholds in sheet.thresholds.items()
            for threshold in thresholds
        ),
    )


def _threshold_row(measure: str, threshold: ChartThreshold) -> ThresholdRow:
    return ThresholdRow(
        measure=_what(measure),
        name=threshold.purpose,
        label=threshold.label,
        value=presentation.number(threshold.value, threshold.unit),
        verified=threshold.verified,
    )


# The heading of the column each stale note is about.
_HEADINGS: Final = {column.stale_key: column.heading for column in COLUMNS if column.stale_key}


def _visit_rows(sheet: Flowsheet) -> tuple[VisitRow, ...]:
    # column -> (the day of its stale value, why it is stale)
    stale = {
        column.key: (_latest_date(sheet.rows, column), sheet.notes.get(column.stale_key))
        for column in COLUMNS
        if column.stale_key is not None and column.stale_key in sheet.stale
    }

    def cell(row: FlowsheetRow, column: Column) -> Cell:
        day, why = stale.get(column.key, (None, None))
        return Cell(_text(row, column), (why or presentation.STALE) if day == row.date else None)

    return tuple(
        VisitRow(presentation.date(row.date), tuple(cell(row, column) for column in COLUMNS))
        for row in sheet.rows
    )


def _text(row: FlowsheetRow, column: Column) -> str:
    value = _value(row, column.key)
    if value is None:
        return BLANK
    if column.stage:
        return presentation.stage(value)
    assert isinstance(value, float | int)  # every other column holds a number
    return presentation.number(value, digits=column.digits)


def _value(row: FlowsheetRow, key: str) -> object:
    if key.startswith("alsfrs_r."):
        return getattr(row.alsfrs_r, key.removeprefix("alsfrs_r.")) if row.alsfrs_r else None
    return getattr(row, key)


def _latest_date(rows: Sequence[FlowsheetRow], column: Column) -> dt.date | None:
    """The date of the latest row with a value in the column: the value the assessment read."""
    dated = [row.date for row in rows if _value(row, column.key) is not None]
    return dated[-1] if dated else None


def _item_row(row: FlowsheetRow) -> ItemRow:
    gastrostomy_form = row.alsfrs_r is not None and row.alsfrs_r.item_5 == "5b"

    def score(item: AlsfrsItem) -> str:
        value = row.items.get(item.value)
        text = BLANK if value is None else str(value)
        return f"{text} (5b)" if item is AlsfrsItem.CUTTING_FOOD and gastrostomy_form else text

    return ItemRow(
        date=presentation.date(row.date),
        domains=tuple(_text(row, domain) for domain in DOMAINS),
        scores=tuple(score(item) for item in AlsfrsItem),
    )


def _measured(rows: Sequence[FlowsheetRow], measure: str) -> bool:
    key = "alsfrs_r.total" if measure == "alsfrs_r" else measure
    return any(_value(row, key) is not None for row in rows)


def _what(key: str) -> str:
    """The heading of the column that shows a score or measure (its words when none does)."""
    wanted = "alsfrs_r.total" if key == "alsfrs_r" else key
    heading = next((column.heading for column in COLUMNS if column.key == wanted), None)
    return heading or presentation.humanise(key)
