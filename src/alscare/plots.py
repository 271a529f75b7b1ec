"""Inline SVG charts of a patient's course: the ALSFRS-R total and FVC % predicted over time
from the record, and each measure of the flowsheet (:func:`flowsheet_chart`) with the
thresholds the rules compare it with.

Pure functions: a record (or a flowsheet) and the assessment date in, a self-contained SVG
string out (no JavaScript, no external files, no clock), so the web pages and the printed
letter show the same picture and the same input always gives the same string. Each chart is
an accessible image: ``role="img"`` with a ``<title>`` and a ``<desc>`` that lists every
plotted value, so a screen reader user gets the data, not just "a chart". Entries dated after
``as_of`` are not plotted, and every piece of text from the record or the caller is escaped.

The time axis runs from the first plotted entry to ``as_of`` (marked), so a long gap since the
last measurement shows as empty space rather than being hidden. The record's milestones up to
``as_of`` (an intervention started or stopped, death) are drawn as labelled vertical lines and
listed in the description, so a fall in FVC can be read against the start of NIV.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Final

from alscare.knowledge import KnowledgeBase
from alscare.presentation import STALE, UNVERIFIED, number
from alscare.schemas.flowsheet import Flowsheet, FlowsheetRow
from alscare.schemas.patient import AlsfrsRating, PatientRecord
from alscare.schemas.vocabulary import InterventionEvent, InterventionKind

__all__ = [
    "FLOWSHEET_MEASURES",
    "FVC_REFERENCE_THRESHOLDS",
    "ReferenceLine",
    "alsfrs_r_chart",
    "flowsheet_chart",
    "fvc_chart",
    "fvc_reference_lines",
    "threshold_lines",
]

# The treatment thresholds drawn on the FVC chart (ids of kb.rules.thresholds): the FVC
# levels at which NIV is indicated with and without symptoms.
FVC_REFERENCE_THRESHOLDS = ("niv_fvc_with_symptoms", "niv_fvc_alone")
_FVC_UNIT = "% predicted"

_WIDTH = 640
_HEIGHT = 300
_LEFT = 56
_RIGHT = 40  # room for the value tag at the end of a reference line
_TOP = 20
_BOTTOM = 50
_PLOT_WIDTH = _WIDTH - _LEFT - _RIGHT
_PLOT_HEIGHT = _HEIGHT - _TOP - _BOTTOM
_KEY_ROW = 18  # height of one reference-line row in the key under the chart

_ALSFRS_R_MAX = 48
_ALSFRS_R_TICK = 12
_FVC_AXIS_MAX = 120
_FVC_TICK = 20

# At most this many points get a printed value beside them; beyond it the labels overlap.
_MAX_VALUE_LABELS = 12
# The shortest time axis drawn, in days, so a single visit is not a zero-width axis.
_MIN_SPAN_DAYS = 60
_MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60)
_MAX_TIME_TICKS = 7
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
_INK = "#1a1a1a"
_GRID = "#d9d9d9"
_MUTED = "#595959"
_SERIES_COLOURS = ("#1f4e79", "#7a3b8f")
_REFERENCE_COLOURS = ("#8a5a00", "#a61b1b", "#2f6b2f", "#5a3d8a")
_MILESTONE_COLOUR = "#4d4d4d"
_MILESTONE_LABEL_OFFSET = 10

# The intervention events drawn as milestones (an offer or a refusal changes nothing measured).
_MILESTONE_EVENTS = (InterventionEvent.STARTED, InterventionEvent.STOPPED)
_INTERVENTION_NAMES = {
    InterventionKind.NIV: "NIV",
    InterventionKind.GASTROSTOMY: "gastrostomy",
    InterventionKind.TRACHEOSTOMY: "tracheostomy",
    InterventionKind.COUGH_ASSIST: "cough assist",
}


@dataclass(frozen=True)
class ReferenceLine:
    """A horizontal line across a chart at ``value``, with the text that says what it marks
    and the ids of the sources behind it (for the caller to cite; not drawn). ``unit`` follows
    the value in the key; an unverified line is drawn finer and its key says so."""

    value: float
    label: str

    sources: tuple[str, ...] = ()
    unit: str = "%"
    verified: bool = True
    key: str = ""  # the words of its row in the key, when not "<value> <unit>: <label>"

    @property
    def key_text(self) -> str:
        return self.key or f"{_number(self.value)} {self.unit}: {self.label}"


def fvc_reference_lines(kb: KnowledgeBase) -> tuple[ReferenceLine, ...]:
    """The NIV thresholds of the knowledge base as reference lines for :func:`fvc_chart`.

    A threshold that is missing or not in % predicted is left out rather than guessed.
    """
    thresholds = {threshold.id: threshold for threshold in kb.rules.thresholds}
    return tuple(
        ReferenceLine(threshold.value, f"NIV, {threshold.label}", threshold.source_ids)
        for threshold_id in FVC_REFERENCE_THRESHOLDS
        if (threshold := thresholds.get(threshold_id)) is not None and threshold.unit == _FVC_UNIT
    )


@dataclass(frozen=True)
class _Series:
    name: str
    points: tuple[tuple[dt.date, float, str], ...]  # date, value, note for the point's title
    dashed: bool = False
    digits: int = 1  # decimals shown


@dataclass(frozen=True)
class _Milestone:
    day: dt.date
    label: str


def _milestones(record: PatientRecord, as_of: dt.date) -> tuple[_Milestone, ...]:
    """Interventions started or stopped, and death, up to ``as_of``, in date order."""
    found = [
        _Milestone(event.date, f"{_INTERVENTION_NAMES[event.kind]} {event.event.value}")
        for event in record.interventions or ()
        if event.event in _MILESTONE_EVENTS and event.date <= as_of
    ]
    if record.death is not None and record.death.date <= as_of:
        found.append(_Milestone(record.death.date, "death"))
    return tuple(sorted(found, key=lambda milestone: (milestone.day, milestone.label)))


def _milestone_description(milestones: Sequence[_Milestone]) -> str:
    if not milestones:
        return ""
    return " Events: " + "; ".join(f"{m.day}: {m.label}" for m in milestones) + "."


@dataclass(frozen=True)
class _Frame:
    """Maps dates and values to SVG coordinates inside the plot area."""

    start: dt.date
    end: dt.date
    y_max: float
    y_min: float = 0.0

    def x(self, day: dt.date) -> float:
        span = (self.end - self.start).days
        return _LEFT + _PLOT_WIDTH * (day - self.start).days / span

    def y(self, value: float) -> float:
        return _TOP + _PLOT_HEIGHT * (1 - (value - self.y_min) / (self.y_max - self.y_min))


def alsfrs_r_chart(record: PatientRecord, as_of: dt.date) -> str:
    """The ALSFRS-R total (0-48) at each rating up to ``as_of``, as an inline SVG.

    A rating that leaves an item unrated has no total: it is not plotted, and the description
    names it with the items missing.
    """
    ratings = sorted(
        (rating for rating in record.alsfrs_r if rating.date <= as_of), key=lambda r: r.date
    )
    points = tuple(
        (rating.date, float(_total(rating)), "item 5b" if rating.gastrostomy else "")
        for rating in ratings
        if not rating.unrated()
    )
    unplotted = _unplotted(ratings)
    ident = f"alscare-alsfrs-r-{record.id}"
    title = f"ALSFRS-R total over time, patient {record.id}"
    if not points:
        message = (
            f"No ALSFRS-R rating with every item rated up to {as_of}."
            if ratings
            else f"No ALSFRS-R ratings recorded up to {as_of}."
        )
        return _empty_chart(ident, title, message + unplotted)
    series = _Series("ALSFRS-R total", points)
    milestones = _milestones(record, as_of)
    desc = (
        f"ALSFRS-R total score (0 to 48; 48 is normal function) at {_count(points, 'rating')} "
        f"up to {as_of}: {_listing(points, ' of 48')}.{unplotted}"
        f"{_milestone_description(milestones)}"
    )
    frame = _frame(_dates(points, milestones), as_of, _ALSFRS_R_MAX)
    ticks = range(0, _ALSFRS_R_MAX + 1, _ALSFRS_R_TICK)
    return _chart(
        ident, title, desc, "ALSFRS-R total", frame, ticks, (series,), (), milestones, as_of
    )


def _total(rating: AlsfrsRating) -> int:
    return sum(score for score in rating.items.values() if score is not None)


def _unplotted(ratings: Sequence[AlsfrsRating]) -> str:
    """The sentence naming the ratings left out for their unrated items, or nothing."""
    partial = [
        f"{rating.date} ({', '.join(item.value.replace('_', ' ') for item in rating.unrated())})"
        for rating in ratings
        if rating.unrated()
    ]
    return f" Not plotted, items not rated: {'; '.join(partial)}." if partial else ""


def fvc_chart(
    record: PatientRecord, as_of: dt.date, *, reference_lines: Sequence[ReferenceLine]
) -> str:
    """FVC % predicted at each measurement up to ``as_of``, as an inline SVG.

    ``reference_lines`` are the thresholds to draw (the caller reads them from the knowledge
    base, with their meaning in ``label``); pass an empty sequence to draw none. Supine FVC, when
    recorded, is a second, dashed series.
    """
    measurements = sorted(
        (entry for entry in record.respiratory if entry.date <= as_of), key=lambda m: m.date
    )
    upright = tuple(
        (m.date, m.fvc_percent_predicted, "supine" if m.position == "supine" else "")
        for m in measurements
        if m.fvc_percent_predicted is not None
    )
    supine = tuple(
        (m.date, m.supine_fvc_percent_predicted, "supine")
        for m in measurements
        if m.supine_fvc_percent_predicted is not None
    )
    ident = f"alscare-fvc-{record.id}"
    title = f"FVC % predicted over time, patient {record.id}"
    if not upright and not supine:
        return _empty_chart(ident, title, f"No FVC measurements recorded up to {as_of}.")
    series = tuple(
        _Series(name, points, dashed)
        for name, points, dashed in (("FVC", upright, False), ("Supine FVC", supine, True))
        if points
    )
    milestones = _milestones(record, as_of)
    desc = _fvc_description(series, reference_lines, as_of) + _milestone_description(milestones)
    values = [value for s in series for _, value, _ in s.points]
    values.extend(line.value for line in reference_lines)
    y_max = max(_FVC_AXIS_MAX, _FVC_TICK * math.ceil(max(values) / _FVC_TICK))
    frame = _frame(_dates((*upright, *supine), milestones), as_of, y_max)
    ticks = range(0, int(y_max) + 1, _FVC_TICK)
    return _chart(
        ident,
        title,
        desc,
        "FVC % predicted",
        frame,
        ticks,
        series,
        reference_lines,
        milestones,
        as_of,
    )


def _fvc_description(
    series: Sequence[_Series], reference_lines: Sequence[ReferenceLine], as_of: dt.date
) -> str:
    parts = [
        f"{s.name} in % of predicted at {_count(s.points, 'measurement')} up to {as_of}: "
        f"{_listing(s.points, ' %')}."
        for s in series
    ]
    parts.extend(
        f"Reference line at {_number(line.value)} %: {line.label}." for line in reference_lines
    )
    return " ".join(parts)


# --- the flowsheet's charts --------------------------------------------------------------------


@dataclass(frozen=True)
class _Measure:
    """How one measure of the flowsheet is charted: its name, the axis label, the unit after
    each value, the bounds no value passes (the axis stops there) and the tick steps."""

    name: str
    axis: str
    unit: str
    floor: float | None = 0.0
    ceiling: float | None = None
    steps: tuple[float, ...] = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
    digits: int = 1


_MEASURES: Final = {
    "alsfrs_r": _Measure(
        "ALSFRS-R total", "ALSFRS-R total", "of 48", ceiling=_ALSFRS_R_MAX, steps=(1, 2, 4, 6, 12)
    ),
    "progression_rate": _Measure(
        "Progression rate (ΔFS)", "ΔFS (points/month)", "points/month", digits=2
    ),
    "fvc_percent_predicted": _Measure("FVC", "FVC % predicted", "% predicted"),
    "snip_cmh2o": _Measure("SNIP", "SNIP (cmH₂O)", "cmH₂O"),
    "mip_cmh2o": _Measure("MIP", "MIP (cmH₂O)", "cmH₂O"),
    "spo2_percent": _Measure("SpO₂", "SpO₂ (%)", "%", ceiling=100, steps=(1, 2, 5, 10, 20)),
    "weight_kg": _Measure("Weight", "Weight (kg)", "kg"),
    "bmi": _Measure("BMI", "BMI (kg/m²)", "kg/m²"),
}
#: The measures of a flowsheet row :func:`flowsheet_chart` draws.
FLOWSHEET_MEASURES: Final = tuple(_MEASURES)
# At most this many gridlines on a value axis fitted to the data.
_MAX_VALUE_TICKS = 7


def flowsheet_chart(sheet: Flowsheet, measure: str, *, record: PatientRecord | None = None) -> str:
    """One measure of the flowsheet (a name of :data:`FLOWSHEET_MEASURES`) over time, as an
    inline SVG.

    A point for each visit that measured it; a line for each threshold the rules compare it
    with (``sheet.thresholds``: a finer line, and "unverified" in the key, for an unverified
    one); the latest point hollow and tagged when the assessment on ``sheet.as_of`` calls it
    stale; the record's milestones when ``record`` is given. The value axis fits the values
    and the thresholds, within the bounds of the measure.
    """
    spec = _MEASURES[measure]
    points = _flowsheet_points(sheet, measure)
    ident = f"alscare-{measure.replace('_', '-')}-{sheet.patient_id}"
    title = f"{spec.name} over time, patient {sheet.patient_id}"
    if not points:
        return _empty_chart(ident, title, f"No {spec.name} recorded up to {sheet.as_of}.")
    lines = threshold_lines(sheet, measure)
    milestones = _milestones(record, sheet.as_of) if record is not None else ()
    values = [value for _, value, _ in points] + [line.value for line in lines]
    low, high, ticks = _value_scale(values, spec)
    frame = _frame(_dates(points, milestones), sheet.as_of, high, low)
    desc = (
        f"{spec.name} ({spec.unit}) at {_count(points, 'visit')} up to {sheet.as_of}: "
        f"{_listing(points, ' ' + spec.unit, spec.digits)}.{_threshold_description(lines)}"
        f"{_stale_description(sheet, measure)}{_milestone_description(milestones)}"
    )
    series = (_Series(spec.name, points, digits=spec.digits),)
    return _chart(
        ident, title, desc, spec.axis, frame, ticks, series, lines, milestones, sheet.as_of
    )


def threshold_lines(sheet: Flowsheet, measure: str) -> tuple[ReferenceLine, ...]:
    """The flowsheet's thresholds of one measure as reference lines, highest first."""
    # unverified first where two share a value, so that the verified line is drawn over it
    thresholds = sorted(sheet.thresholds.get(measure, ()), key=lambda t: (-t.value, t.verified))
    return tuple(
        ReferenceLine(
            threshold.value,
            threshold.label,
            unit=threshold.unit,
            verified=threshold.verified,
            key=f"{threshold.purpose}: {threshold.label}"
            + ("" if threshold.verified else f" ({UNVERIFIED})"),
        )
        for threshold in thresholds
    )


def _flowsheet_points(sheet: Flowsheet, measure: str) -> tuple[tuple[dt.date, float, str], ...]:
    found = [
        (row.date, value) for row in sheet.rows if (value := _row_value(row, measure)) is not None
    ]
    stale_day = found[-1][0] if found and measure in sheet.stale else None
    return tuple((day, value, STALE if day == stale_day else "") for day, value in found)


def _row_value(row: FlowsheetRow, measure: str) -> float | None:
    if measure == "alsfrs_r":
        return float(row.alsfrs_r.total) if row.alsfrs_r is not None else None
    value: float | None = getattr(row, measure)
    return value


def _value_scale(values: Sequence[float], spec: _Measure) -> tuple[float, float, tuple[float, ...]]:
    """The bottom and top of the value axis and its ticks: round steps that leave room around
    the values, within the bounds of the measure."""
    low, high = min(values), max(values)
    step = next((s for s in spec.steps if (high - low) / s <= _MAX_VALUE_TICKS - 3), spec.steps[-1])
    bottom = math.floor(low / step) * step
    top = math.ceil(high / step) * step
    # at least half a step between the outermost values and the ends of the axis
    bottom -= step if low - bottom < step / 2 else 0
    top += step if top - high < step / 2 else 0
    bottom = max(bottom, spec.floor) if spec.floor is not None else bottom
    top = min(top, spec.ceiling) if spec.ceiling is not None else top
    count = math.floor((top - bottom) / step + 1e-9)
    return bottom, top, tuple(round(bottom + index * step, 6) for index in range(count + 1))


def _threshold_description(lines: Sequence[ReferenceLine]) -> str:
    return "".join(f" Threshold line, {line.key_text}." for line in lines)


def _stale_description(sheet: Flowsheet, measure: str) -> str:
    note = sheet.notes.get(measure)
    return f" The latest value is {STALE}: {note}." if measure in sheet.stale and note else ""


def _count(points: Sequence[object], noun: str) -> str:
    return f"{len(points)} {noun}" + ("" if len(points) == 1 else "s")


def _listing(points: Sequence[tuple[dt.date, float, str]], unit: str, digits: int = 1) -> str:
    return "; ".join(
        f"{day}: {_number(value, digits)}{unit}" + (f" ({note})" if note else "")
        for day, value, note in points
    )


def _number(value: float, digits: int = 1) -> str:
    return number(value, digits=digits)


def _dates(
    points: Sequence[tuple[dt.date, float, str]], milestones: Sequence[_Milestone]
) -> list[dt.date]:
    return [*(day for day, _, _ in points), *(milestone.day for milestone in milestones)]


def _frame(dates: Sequence[dt.date], as_of: dt.date, y_max: float, y_min: float = 0.0) -> _Frame:
    first = min(dates)
    span = max((as_of - first).days, _MIN_SPAN_DAYS)
    margin = max(span // 25, 1)
    last = max(as_of.toordinal(), first.toordinal() + span)
    # clamped to the calendar: a record may hold dates near year 1 or 9999
    start = dt.date.fromordinal(max(first.toordinal() - margin, 1))
    end = dt.date.fromordinal(min(last + margin, dt.date.max.toordinal()))
    return _Frame(start, end, y_max, y_min)


def _svg_open(ident: str, title: str, desc: str, height: int = _HEIGHT) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="alscare-chart" role="img" '
        f'width="{_WIDTH}" height="{height}" viewBox="0 0 {_WIDTH} {height}" '
        f'aria-labelledby="{_attr(ident)}-title {_attr(ident)}-desc" '
        f'font-family="{_FONT}" font-size="12" fill="{_INK}">',
        f'<title id="{_attr(ident)}-title">{_text(title)}</title>',
        f'<desc id="{_attr(ident)}-desc">{_text(desc)}</desc>',
    ]


def _empty_chart(ident: str, title: str, message: str) -> str:
    parts = _svg_open(ident, title, message)
    parts.append(
        f'<rect x="{_LEFT}" y="{_TOP}" width="{_PLOT_WIDTH}" height="{_PLOT_HEIGHT}" '
        f'fill="#f7f7f7" stroke="{_GRID}"/>'
    )
    parts.append(
        f'<text x="{_LEFT + _PLOT_WIDTH / 2:.1f}" y="{_TOP + _PLOT_HEIGHT / 2:.1f}" '
        f'text-anchor="middle" font-size="14" fill="{_MUTED}">{_text(message)}</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def _chart(
    ident: str,
    title: str,
    desc: str,
    y_label: str,
    frame: _Frame,
    y_ticks: Sequence[float],
    series: Sequence[_Series],
    reference_lines: Sequence[ReferenceLine],
    milestones: Sequence[_Milestone],
    as_of: dt.date,
) -> str:
    height = _HEIGHT + (_KEY_ROW * len(reference_lines) + 6 if reference_lines else 0)
    parts = _svg_open(ident, title, desc, height)
    parts.extend(_value_axis(frame, y_ticks, y_label))
    parts.extend(_time_axis(frame))
    parts.extend(_as_of_marker(frame, as_of))
    for index, line in enumerate(reference_lines):
        parts.extend(_reference_line(frame, line, index))
    parts.extend(_milestone_line(frame, milestone) for milestone in milestones)
    for index, one in enumerate(series):
        parts.extend(_series(frame, one, _SERIES_COLOURS[index % 2], len(series) > 1))
    if len(series) > 1:
        parts.extend(_legend(series))
    parts.append("</svg>")
    return "\n".join(parts)


def _value_axis(frame: _Frame, ticks: Sequence[float], label: str) -> list[str]:
    parts = ['<g class="value-axis" aria-hidden="true">']
    for tick in ticks:
        y = frame.y(tick)
        parts.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_LEFT + _PLOT_WIDTH}" y2="{y:.1f}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{_number(tick)}</text>'
        )
    middle = _TOP + _PLOT_HEIGHT / 2
    parts.append(
        f'<text x="14" y="{middle:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {middle:.1f})">{_text(label)}</text>'
    )
    parts.append("</g>")
    return parts


def _time_axis(frame: _Frame) -> list[str]:
    bottom = _TOP + _PLOT_HEIGHT
    parts = [
        '<g class="time-axis" aria-hidden="true">',
        f'<line x1="{_LEFT}" y1="{bottom}" x2="{_LEFT + _PLOT_WIDTH}" y2="{bottom}" '
        f'stroke="{_INK}" stroke-width="1"/>',
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{bottom}" '
        f'stroke="{_INK}" stroke-width="1"/>',
    ]
    for day, label in _time_ticks(frame.start, frame.end):
        x = frame.x(day)
        parts.append(
            f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 5}" '
            f'stroke="{_INK}" stroke-width="1"/>'
        )
        parts.append(f'<text x="{x:.1f}" y="{bottom + 18}" text-anchor="middle">{label}</text>')
    parts.append(
        f'<text x="{_LEFT + _PLOT_WIDTH / 2:.1f}" y="{_HEIGHT - 6}" '
        'text-anchor="middle">Date</text>'
    )
    parts.append("</g>")
    return parts


def _time_ticks(start: dt.date, end: dt.date) -> list[tuple[dt.date, str]]:
    """First days of months at a round step (1, 2, 3, 6 months, 1, 2, 5 years) within range."""
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    step = next((s for s in _MONTH_STEPS if months / s <= _MAX_TIME_TICKS), _MONTH_STEPS[-1])
    ticks: list[tuple[dt.date, str]] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        day = dt.date(year, month, 1)
        index = year * 12 + month - 1
        if start <= day <= end and index % step == 0:
            label = f"{_MONTH_NAMES[month - 1]} {year}" if step < 12 else str(year)
            ticks.append((day, label))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ticks


def _as_of_marker(frame: _Frame, as_of: dt.date) -> list[str]:
    x = frame.x(as_of)
    return [
        f'<g class="as-of" aria-hidden="true">'
        f'<line x1="{x:.1f}" y1="{_TOP}" x2="{x:.1f}" y2="{_TOP + _PLOT_HEIGHT}" '
        f'stroke="{_MUTED}" stroke-width="1" stroke-dasharray="2 3"/>'
        f'<text x="{x - 4:.1f}" y="{_TOP - 6}" text-anchor="end" font-size="10" '
        f'fill="{_MUTED}">as of {as_of}</text></g>'
    ]


def _milestone_line(frame: _Frame, milestone: _Milestone) -> str:
    """A dotted vertical line at the milestone's date, labelled upwards from the time axis."""
    x = frame.x(milestone.day)
    bottom = _TOP + _PLOT_HEIGHT
    # Turned upwards, the glyphs stand on the side of smaller x: the baseline sits a glyph's
    # height right of the line so that the text runs beside it.
    label_x, label_y = x + _MILESTONE_LABEL_OFFSET, bottom - 4
    return (
        f'<g class="milestone" aria-hidden="true">'
        f'<line x1="{x:.1f}" y1="{_TOP}" x2="{x:.1f}" y2="{bottom}" stroke="{_MILESTONE_COLOUR}" '
        f'stroke-width="1" stroke-dasharray="1 3"/>'
        f'<text x="{label_x:.1f}" y="{label_y}" font-size="9" fill="{_MILESTONE_COLOUR}" '
        f'transform="rotate(-90 {label_x:.1f} {label_y})">{_text(milestone.label)}</text></g>'
    )


def _reference_line(frame: _Frame, line: ReferenceLine, index: int) -> list[str]:
    """The dashed line with its value at the right end, and its row in the key below."""
    colour = _REFERENCE_COLOURS[index % len(_REFERENCE_COLOURS)]
    y = frame.y(line.value)
    right = _LEFT + _PLOT_WIDTH
    key_y = _HEIGHT + 6 + _KEY_ROW * index
    dash = f'stroke-width="1.5" stroke-dasharray="{"6 4" if line.verified else "2 3"}"'
    return [
        f'<g class="reference-line" aria-hidden="true">'
        f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{colour}" {dash}/>'
        f'<text x="{right + 4}" y="{y + 4:.1f}" font-size="10" fill="{colour}">'
        f"{_number(line.value)}</text>"
        f'<line x1="{_LEFT}" y1="{key_y}" x2="{_LEFT + 28}" y2="{key_y}" stroke="{colour}" {dash}/>'
        f'<text x="{_LEFT + 36}" y="{key_y + 4}" font-size="11">'
        f"{_text(line.key_text)}</text></g>"
    ]


def _series(frame: _Frame, series: _Series, colour: str, named: bool) -> list[str]:
    coordinates = [(frame.x(day), frame.y(value)) for day, value, _ in series.points]
    dash = ' stroke-dasharray="5 3"' if series.dashed else ""
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
    parts = [
        '<g class="series">',
        f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>',
    ]
    labelled = len(series.points) <= _MAX_VALUE_LABELS
    prefix = f"{series.name} " if named else ""
    for (x, y), (day, value, note) in zip(coordinates, series.points, strict=True):
        tooltip = f"{day}: {prefix}{_number(value, series.digits)}" + (f" ({note})" if note else "")
        stale = note == STALE
        fill = "#ffffff" if series.dashed or stale else colour
        marked = ' class="stale"' if stale else ""
        parts.append(
            f'<circle{marked} cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{fill}" stroke="{colour}" '
            f'stroke-width="2"><title>{_text(tooltip)}</title></circle>'
        )
        if labelled:
            shown = _number(value, series.digits) + (f" {STALE}" if stale else "")
            parts.append(
                f'<text x="{x:.1f}" y="{y - 9:.1f}" text-anchor="middle" font-size="11" '
                f'fill="{colour}" aria-hidden="true">{shown}</text>'
            )
    parts.append("</g>")
    return parts


def _legend(series: Sequence[_Series]) -> list[str]:
    """One row above the plot area, left-aligned (the as-of label sits on the right)."""
    parts = ['<g class="legend" aria-hidden="true">']
    x = _LEFT
    y = _TOP - 8
    for index, one in enumerate(series):
        colour = _SERIES_COLOURS[index % 2]
        dash = ' stroke-dasharray="5 3"' if one.dashed else ""
        parts.append(
            f'<line x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}" stroke="{colour}" '
            f'stroke-width="2"{dash}/>'
        )
        parts.append(f'<text x="{x + 30}" y="{y + 4}" font-size="11">{_text(one.name)}</text>')
        x += 40 + 8 * len(one.name)
    parts.append("</g>")
    return parts


def _text(value: str) -> str:
    return escape(value, quote=False)


def _attr(value: str) -> str:
    return escape(value, quote=True)
