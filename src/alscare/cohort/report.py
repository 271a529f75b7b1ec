"""The cohort report: ``summary.json`` as one self-contained HTML page for a registry statistician.

:func:`render_report` turns the summary of :func:`alscare.cohort.analytics.summarise` into a view
model of plain strings (sections of tables, charts and notes) and renders the Jinja2 template
``templates/report.html.j2`` with autoescaping on. Every figure of the summary is a table with
its ``n`` (rows used) and ``missing`` (rows not used); the values of the vocabulary are worded
by :mod:`alscare.presentation`, as in every other view, and the ΔFS bands carry the
*unverified* mark when the knowledge base has not checked them.

The charts are drawn with matplotlib's object API (no pyplot, no GUI backend, no global state)
and inlined as SVG: Kaplan-Meier curves with their 95 % bands and a numbers-at-risk table under
each, the histograms of ΔFS and of the ALSFRS-R slope, and the ENCALS calibration plot with
the identity line. The SVG is made deterministic (a fixed ``svg.hashsalt`` per chart, no date,
no creator), its ids are prefixed with the chart's name so that several charts can share one
page, and the text stays text (``svg.fonttype: none``): the same summary gives the same bytes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

import matplotlib as mpl
from markupsafe import Markup
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from alscare.presentation import (
    NOT_KNOWN,
    UNVERIFIED,
    UNVERIFIED_LEGEND,
    Kind,
    gold_coast,
    stage,
    wording,
)
from alscare.report.templates import document_environment

__all__ = ["render_report"]

# Okabe and Ito's colour-blind-safe palette without its yellow, which is unreadable on white,
# then black and a brown for an eighth group.
_COLOURS: Final = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#000000",
    "#8C564B",
)
_MARKERS: Final = ("o", "s", "^", "D", "v")
_EN_DASH: Final = "\u2013"
_NOT_REACHED: Final = "not reached"
_NOT_ESTIMABLE: Final = "not estimable"

# The figures of the summary by column, with their headings in this report.
_DEMOGRAPHICS: Final = {"sex": "Sex", "onset_site": "Onset site"}
_DIAGNOSIS: Final = {
    "el_escorial_category": "Revised El Escorial category",
    "awaji_category": "Awaji-Shima category",
    "gold_coast_met": "Gold Coast criteria",
}
_STAGING: Final = {
    "kings_stage": "King's stage, latest",
    "kings_stage_at_diagnosis": "King's stage at diagnosis",
    "mitos_stage": "MiToS stage, latest",
    "mitos_stage_at_diagnosis": "MiToS stage at diagnosis",
}
_NUMBERS: Final = {
    "age_at_onset_years": "Age at onset",
    "diagnostic_delay_months": "Diagnostic delay (onset to diagnosis)",
    "progression_rate": "ΔFS (progression rate)",
    "alsfrs_r_slope": "ALSFRS-R slope",
}
_GROUPINGS: Final = {
    "onset_site": "onset site",
    "kings_stage_at_diagnosis": "King's stage at diagnosis",
    "encals_quintile": "ENCALS predicted group (quintile of the cohort's linear predictor)",
}
_VALUE_KINDS: Final = {
    "sex": Kind.SEX,
    "onset_site": Kind.ONSET_SITE,
    "el_escorial_category": Kind.EL_ESCORIAL,
    "awaji_category": Kind.AWAJI,
}


# --- the view model -------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A table: text cells, the first column a label, the others right-aligned numbers."""

    kind: ClassVar[str] = "table"
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    foot: str = ""
    css: str = ""  # "text": every column left-aligned and wrapped


@dataclass(frozen=True)
class Chart:
    kind: ClassVar[str] = "chart"
    id: str
    svg: Markup
    caption: str


@dataclass(frozen=True)
class Note:
    kind: ClassVar[str] = "note"
    text: str


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    items: tuple[Table | Chart | Note, ...]
    subsections: tuple[Section, ...] = field(default=())


# --- numbers as text ------------------------------------------------------------------------


def _decimal(value: float | None, digits: int = 2, missing: str = NOT_KNOWN) -> str:
    return missing if value is None else f"{value:.{digits}f}".replace("-", "\u2212")


def _percent(value: float | None, missing: str = _NOT_ESTIMABLE) -> str:
    return missing if value is None else f"{value * 100:.1f} %"


def _survival_text(point: Mapping[str, Any], *, lines: str = "\n") -> str:
    """A survival in % and its 95 % interval, on two lines of a cell unless ``lines`` says."""
    if point["survival"] is None:
        return _NOT_ESTIMABLE
    lower, upper = point["ci_lower"], point["ci_upper"]
    interval = f"({lower * 100:.1f}{_EN_DASH}{upper * 100:.1f})"
    return f"{point['survival'] * 100:.1f}{lines}{interval}"


def _median_text(median: Mapping[str, Any]) -> str:
    point = _decimal(median["months"], 1, _NOT_REACHED)
    lower = _decimal(median["ci_lower"], 1, _NOT_REACHED)
    upper = _decimal(median["ci_upper"], 1, _NOT_REACHED)
    return f"{point}\n({lower} to {upper})"


def _p_text(p: float | None) -> str:
    """``p = 0.0588`` or ``p < 0.0001``."""
    if p is None:
        return f"p {NOT_KNOWN}"
    return "p < 0.0001" if p < 0.0001 else f"p = {p:.4f}"


def _used(figure: Mapping[str, Any]) -> str:
    return f"n = {figure['n']} used, {figure['missing']} missing"


# --- labels ---------------------------------------------------------------------------------


def _value_label(column: str, value: Any) -> str:
    if column in _VALUE_KINDS:
        return wording(None).label(_VALUE_KINDS[column], value)
    if column.startswith(("kings_stage", "mitos_stage")):
        return f"Stage {stage(value)}"
    if column == "gold_coast_met":
        return gold_coast(bool(value)).capitalize()
    return str(value)


def _group_label(column: str, group: Mapping[str, Any], *, long: bool = True) -> str:
    """A group's name; a quintile with the range of its linear predictor unless ``long`` is
    False (the numbers-at-risk rows under a chart, where the legend gives the range)."""
    if column == "encals_quintile":
        predictor = group["linear_predictor"]
        low, high = (_decimal(predictor[key], 2) for key in ("min", "max"))
        return f"{group['value']}, LP {low} to {high}" if long else str(group["value"])
    return _value_label(column, group["value"])


# --- charts ---------------------------------------------------------------------------------

_SVG_HEAD: Final = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_SVG_METADATA: Final = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
_SVG_ID: Final = re.compile(r'(\bid="|url\(#|xlink:href="#)([^")]+)')


def _svg(figure: Figure, name: str) -> Markup:
    """The figure as inline SVG with the same bytes every time, its ids scoped by ``name``."""
    buffer = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": f"alscare-{name}"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = _SVG_METADATA.sub("", _SVG_HEAD.sub("", buffer.getvalue(), count=1), count=1)
    scoped = _SVG_ID.sub(lambda match: f"{match.group(1)}{name}-{match.group(2)}", text)
    labelled = scoped.replace("<svg ", f'<svg role="img" aria-labelledby="{name}-caption" ', 1)
    return Markup(labelled.strip())  # noqa: S704 - matplotlib's own output, every label escaped


def _style() -> AbstractContextManager[None]:
    """The charts' settings: text stays text in the SVG, sizes for a page."""
    return mpl.rc_context({"svg.fonttype": "none", "font.size": 10.0, "legend.fontsize": 9.0})


def _figure(width: float, height: float) -> Figure:
    with _style():
        return Figure(figsize=(width, height), layout="constrained")


def _km_chart(column: str, groups: Sequence[Mapping[str, Any]], times: Sequence[int]) -> Markup:
    with _style():
        figure = _figure(9.0, 4.0 + 0.22 * len(groups))
        curves, table = figure.subplots(
            2, 1, gridspec_kw={"height_ratios": [5.0, 0.7 + 0.33 * len(groups)]}
        )
        band = 0.2 if len(groups) < 3 else 0.1  # many overlapping bands turn to mud
        for index, group in enumerate(groups):
            colour = _COLOURS[index % len(_COLOURS)]
            _km_curve(curves, group, _group_label(column, group), colour, band)
        _km_axes(curves, times)
        figure.legend(loc="outside right upper", frameon=False)
        _at_risk_table(table, column, groups, times)
        return _svg(figure, f"km-{column}")


def _km_curve(axes: Axes, group: Mapping[str, Any], label: str, colour: str, band: float) -> None:
    curve = group["curve"]
    if not curve["months"]:
        return
    axes.step(
        curve["months"],
        curve["survival"],
        where="post",
        color=colour,
        linewidth=1.6,
        label=f"{label}\nn = {group['n']}, {group['events']} events",
    )
    axes.fill_between(
        curve["months"],
        curve["ci_lower"],
        curve["ci_upper"],
        step="post",
        color=colour,
        alpha=band,
        linewidth=0,
    )


def _km_axes(axes: Axes, times: Sequence[int]) -> None:
    axes.set_xlim(0, max(times))
    axes.set_ylim(0, 1.02)
    axes.set_xticks(list(times))
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    axes.set_xlabel("Months from symptom onset")
    axes.set_ylabel("Event-free survival (95 % band)")
    axes.grid(alpha=0.3, linewidth=0.6)


def _at_risk_table(
    axes: Axes, column: str, groups: Sequence[Mapping[str, Any]], times: Sequence[int]
) -> None:
    axes.set_xlim(0, max(times))
    axes.set_ylim(len(groups) - 0.5, -0.5)
    labels = [_group_label(column, group, long=False) for group in groups]
    axes.set_yticks(range(len(groups)), labels)
    axes.set_xticks(list(times), [""] * len(times))
    # room between the labels and the counts at month 0, which are centred on the axis edge
    axes.tick_params(length=0, pad=16)
    for side in ("top", "right", "bottom", "left"):
        axes.spines[side].set_visible(False)
    axes.set_title("Number at risk", loc="left", fontsize=10, fontweight="bold")
    for row, group in enumerate(groups):
        colour = _COLOURS[row % len(_COLOURS)]
        axes.get_yticklabels()[row].set_color(colour)
        for point in group["at"]:
            axes.text(point["months"], row, str(point["at_risk"]), ha="center", va="center")


def _histogram_chart(
    column: str, figure_data: Mapping[str, Any], label: str, bands: Mapping[str, Any] | None
) -> Markup:
    histogram = figure_data["histogram"]
    finite = [item for item in histogram["bins"] if None not in (item["lower"], item["upper"])]
    with _style():
        figure = _figure(7.0, 3.4)
        axes = figure.subplots()
        axes.bar(
            [item["lower"] for item in finite],
            [item["count"] for item in finite],
            width=[item["upper"] - item["lower"] for item in finite],
            align="edge",
            color=_COLOURS[0],
            edgecolor="white",
            linewidth=0.8,
        )
        if bands is not None:
            _band_lines(axes, bands)
        edges = histogram["edges"]
        axes.set_xlim(edges[0], edges[-1])
        axes.set_xticks(edges[::2])
        axes.set_xlabel(f"{label} (points/month)")
        axes.set_ylabel("Patients")
        if bands is None:
            axes.set_title(f"{label}: patients per bin of 0.25 points/month", loc="left")
        axes.grid(axis="y", alpha=0.3, linewidth=0.6)
        return _svg(figure, f"histogram-{column}")


def _band_lines(axes: Axes, bands: Mapping[str, Any]) -> None:
    mark = "" if bands["verified"] else f" ({UNVERIFIED})"
    for limit in (bands["slow_below"], bands["fast_above"]):
        axes.axvline(limit, color="#555555", linestyle="--", linewidth=1.0)
    top = axes.get_ylim()[1]
    axes.set_ylim(0, top * 1.12)
    slow, fast = bands["slow_below"], bands["fast_above"]
    for x, text in ((slow / 2, "slow"), ((slow + fast) / 2, "intermediate"), (fast, "fast")):
        align = "left" if text == "fast" else "center"
        axes.text(x + (0.05 if text == "fast" else 0), top * 1.05, text, ha=align, va="center")
    axes.set_title(
        f"ΔFS: patients per bin of 0.25 points/month; dashed lines: band limits{mark}",
        loc="left",
    )


def _calibration_chart(times: Sequence[Mapping[str, Any]]) -> Markup:
    with _style():
        figure = _figure(5.6, 5.2)
        axes = figure.subplots()
        axes.plot([0, 1], [0, 1], color="#777777", linestyle="--", linewidth=1.0, label="Identity")
        for index, time in enumerate(times):
            _calibration_points(axes, time, index)
        # a margin past 100 % so that the labels of the points there stay inside
        axes.set_xlim(0, 1.06)
        axes.set_ylim(0, 1.06)
        axes.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        axes.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        axes.set_aspect("equal")
        for axis in (axes.xaxis, axes.yaxis):
            axis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        axes.set_xlabel("Predicted event-free survival (mean ENCALS estimate)")
        axes.set_ylabel("Observed event-free survival (Kaplan-Meier, 95 % CI)")
        axes.grid(alpha=0.3, linewidth=0.6)
        axes.legend(loc="lower right")  # the corner calibration leaves empty
        return _svg(figure, "calibration")


def _calibration_points(axes: Axes, time: Mapping[str, Any], index: int) -> None:
    points = [p for p in time["groups"] if None not in (p["predicted"], p["observed"])]
    if not points:
        return
    x = [p["predicted"] for p in points]
    y = [p["observed"] for p in points]
    below = [p["observed"] - p["observed_ci_lower"] for p in points]
    above = [p["observed_ci_upper"] - p["observed"] for p in points]
    colour = _COLOURS[index % len(_COLOURS)]
    axes.errorbar(
        x,
        y,
        yerr=[below, above],
        fmt=f"{_MARKERS[index % len(_MARKERS)]}-",
        color=colour,
        markersize=5,
        capsize=2,
        linewidth=0.9,
        label=f"{time['months']} months from onset (Q1 to Q5)",
    )
    # the ends only: the quintiles of one time can sit close together near 100 %
    for point, px, py in ((points[0], x[0], y[0]), (points[-1], x[-1], y[-1])):
        axes.annotate(
            point["group"], (px, py), xytext=(5, -11), textcoords="offset points", color=colour
        )


# --- sections -------------------------------------------------------------------------------


def _category_table(column: str, title: str, figure: Mapping[str, Any]) -> Table:
    total = figure["n"]
    rows = tuple(
        (
            _value_label(column, item["value"]),
            str(item["count"]),
            _percent(item["count"] / total if total else None, NOT_KNOWN),
        )
        for item in figure["counts"]
    )
    return Table(title, ("Value", "Patients", "% of n"), rows, _used(figure))


def _number_table(numbers: Mapping[str, Any], columns: Iterable[str], caption: str) -> Table:
    rows = []
    for column in columns:
        figure = numbers[column]
        rows.append(
            (
                f"{_NUMBERS[column]} ({figure['unit']})",
                str(figure["n"]),
                str(figure["missing"]),
                _decimal(figure["median"]),
                f"{_decimal(figure['q1'])} to {_decimal(figure['q3'])}",
                _decimal(figure["min"]),
                _decimal(figure["max"]),
            )
        )
    headers = ("Measure", "n", "Missing", "Median", "IQR (Q1 to Q3)", "Min", "Max")
    return Table(caption, headers, tuple(rows))


def _cohort_section(summary: Mapping[str, Any]) -> Section:
    categories = summary["categories"]
    items: list[Table | Chart | Note] = [
        Note(f"{summary['rows']} patients (rows) in the cohort."),
        _category_table("as_of", "Assessment date (as of)", categories["as_of"]),
        _category_table("knowledge_version", "Knowledge version", categories["knowledge_version"]),
    ]
    records = summary.get("records")
    if isinstance(records, Mapping):
        rows = tuple((str(key), str(value)) for key, value in records.items())
        items.append(Table("Records read", ("Records", "Count"), rows, css="text"))
    conventions = summary.get("conventions", {})
    rows = tuple((str(key).replace("_", " "), str(value)) for key, value in conventions.items())
    items.append(Table("Conventions", ("Convention", "Value"), rows, css="text"))
    items.append(Note(UNVERIFIED_LEGEND))
    return Section("cohort", "Cohort", tuple(items))


def _categories_section(
    summary: Mapping[str, Any], section_id: str, title: str, columns: Mapping[str, str]
) -> Section:
    categories = summary["categories"]
    tables = tuple(_category_table(c, t, categories[c]) for c, t in columns.items())
    return Section(section_id, title, tables)


def _demographics_section(summary: Mapping[str, Any]) -> Section:
    section = _categories_section(summary, "demographics", "Demographics", _DEMOGRAPHICS)
    numbers = _number_table(summary["numbers"], ("age_at_onset_years",), "Age at onset")
    return Section(section.id, section.title, (*section.items, numbers))


def _diagnosis_section(summary: Mapping[str, Any]) -> Section:
    section = _categories_section(summary, "diagnosis", "Diagnosis", _DIAGNOSIS)
    numbers = _number_table(summary["numbers"], ("diagnostic_delay_months",), "Diagnostic delay")
    return Section(section.id, section.title, (*section.items, numbers))


def _bands_table(bands: Mapping[str, Any]) -> Table:
    total = bands["n"]
    slow, fast = bands["slow_below"], bands["fast_above"]
    limits = {
        "slow": f"below {slow:g}",
        "intermediate": f"{slow:g} to {fast:g}",
        "fast": f"above {fast:g}",
    }
    rows = tuple(
        (
            f"{wording(None).label(Kind.PROGRESSION_BAND, item['band']).capitalize()} "
            f"({limits[item['band']]} points/month)",
            str(item["count"]),
            _percent(item["count"] / total if total else None, NOT_KNOWN),
        )
        for item in bands["counts"]
    )
    mark = "" if bands["verified"] else f" [{UNVERIFIED}]"
    sources = "; ".join(f"{s['citation']} ({s['where']})" for s in bands["sources"])
    foot = f"{_used(bands)}. Band limits from the knowledge base{mark}: {sources}"
    return Table(f"ΔFS bands{mark}", ("Band", "Patients", "% of n"), rows, foot)


def _histogram_note(histogram: Mapping[str, Any], unit: str) -> str:
    """What the two open bins hold, with the end of each that holds a value on the edge."""
    first, last = histogram["bins"][0], histogram["bins"][-1]
    low, high = f"{first['upper']:g} {unit}", f"{last['lower']:g} {unit}"
    if histogram["closed"].startswith("["):
        ends = f"below {low}: {first['count']} patients; {high} or more: {last['count']}"
    else:
        ends = f"{low} or less: {first['count']} patients; above {high}: {last['count']}"
    return f"Bins: {histogram['note']}. Open bins: {ends} patients."


def _progression_section(summary: Mapping[str, Any]) -> Section:
    numbers = summary["numbers"]
    rate, slope = numbers["progression_rate"], numbers["alsfrs_r_slope"]
    bands = rate["bands"]
    items: tuple[Table | Chart | Note, ...] = (
        _number_table(numbers, ("progression_rate", "alsfrs_r_slope"), "Rates of decline"),
        Note(
            "ΔFS is (48 − ALSFRS-R total) / months from onset (positive is decline); the slope is "
            "the change in ALSFRS-R total per month between the first and latest complete "
            "ratings (negative is decline)."
        ),
        Chart(
            "histogram-progression_rate",
            _histogram_chart("progression_rate", rate, "ΔFS", bands),
            f"ΔFS, {_used(rate)}. {_histogram_note(rate['histogram'], 'points/month')}",
        ),
        _bands_table(bands),
        Chart(
            "histogram-alsfrs_r_slope",
            _histogram_chart("alsfrs_r_slope", slope, "ALSFRS-R slope", None),
            f"ALSFRS-R slope, {_used(slope)}. "
            f"{_histogram_note(slope['histogram'], 'points/month')} The ΔFS bands are not "
            "applied to the slope: the knowledge base defines them for ΔFS only.",
        ),
    )
    return Section("progression", "Progression", items)


def _survival_table(
    column: str, groups: Sequence[Mapping[str, Any]], times: Sequence[int], title: str
) -> Table:
    headers = ("Group", "n", "Events", "Median, months (95 % CI)") + tuple(
        f"{t} months" for t in times if t > 0
    )
    rows = tuple(
        (
            _group_label(column, group),
            str(group["n"]),
            str(group["events"]),
            _median_text(group["median"]),
            *(_survival_text(point) for point in group["at"] if point["months"] > 0),
        )
        for group in groups
    )
    return Table(f"Event-free survival from onset, % (95 % CI): {title}", headers, rows)


def _at_risk_html(
    column: str, groups: Sequence[Mapping[str, Any]], times: Sequence[int], title: str
) -> Table:
    headers = ("Group", *(f"{t} months" for t in times))
    rows = tuple(
        (
            _group_label(column, group),
            *(f"{p['at_risk']} ({p['events']})" for p in group["at"]),
        )
        for group in groups
    )
    return Table(f"Number at risk (cumulative events): {title}", headers, rows)


def _entry_notes(column: str, groups: Sequence[Mapping[str, Any]]) -> list[Note]:
    """What every view of a curve fitted without delayed entry must say."""
    return [
        Note(f"{_group_label(column, group)}: {group['entry_note']}.")
        for group in groups
        if group.get("entry_adjusted") is False
    ]


def _logrank_note(logrank: Mapping[str, Any]) -> Note:
    if logrank["statistic"] is None:
        return Note(f"Log-rank test {logrank['note']}.")
    return Note(
        f"Log-rank test across the groups: χ² = {_decimal(logrank['statistic'])}, "
        f"df = {logrank['df']}, {_p_text(logrank['p'])}."
    )


def _grouping_section(
    column: str, title: str, figure: Mapping[str, Any], times: Sequence[int]
) -> Section:
    groups = [group for group in figure["groups"] if group["n"] > 0]
    used = f"n = {figure['n']} used, {figure['missing']} missing"
    reasons = ", ".join(
        f"{key.replace('_', ' ')}: {value}"
        for key, value in figure.items()
        if key.startswith(("missing_", "not_")) and isinstance(value, int)
    )
    items: list[Table | Chart | Note] = []
    if "note" in figure:
        items.append(Note(figure["note"]))
    if groups:
        caption = (
            f"Kaplan-Meier event-free survival from onset by {title}; {used} ({reasons}). "
            f"Drawn to {max(times)} months."
        )
        items.append(Chart(f"km-{column}", _km_chart(column, groups, times), caption))
        items.append(_survival_table(column, groups, times, title))
        items.append(_at_risk_html(column, groups, times, title))
        items.extend(_entry_notes(column, groups))
    else:
        items.append(Note(f"No patient has both a survival time and a known {title} ({used})."))
    items.append(_logrank_note(figure["logrank"]))
    return Section(f"survival-{column}", f"By {title}", tuple(items))


def _survival_section(summary: Mapping[str, Any]) -> Section:
    survival = summary["survival"]
    times = survival["times_months"]
    overall = survival["overall"] | {"value": "All patients"}
    used = _used(overall)
    items: list[Table | Chart | Note] = [
        Note(f"From {survival['origin']} to {survival['endpoint']}."),
        Note(f"Method: {survival['method']}."),
        Note(survival["caveat"]),
    ]
    if overall["n"] > 0:
        items.append(
            Chart(
                "km-overall",
                _km_chart("overall", [overall], times),
                f"Kaplan-Meier event-free survival from onset, all patients; {used}. "
                f"Drawn to {max(times)} months.",
            )
        )
    items.append(_survival_table("overall", [overall], times, "all patients"))
    items.append(_at_risk_html("overall", [overall], times, "all patients"))
    items.extend(_entry_notes("overall", [overall]))
    subsections = tuple(
        _grouping_section(column, title, survival["by"][column], times)
        for column, title in _GROUPINGS.items()
    )
    return Section("survival", "Survival", tuple(items), subsections)


def _calibration_table(calibration: Mapping[str, Any]) -> Table:
    rows = tuple(
        (
            f"{time['months']} months, {point['group']}",
            str(point["n"]),
            _percent(point["predicted"], NOT_KNOWN).removesuffix(" %"),
            f"{point['predicted_n']} / {point['predicted_missing']}",
            _survival_text(
                {
                    "survival": point["observed"],
                    "ci_lower": point["observed_ci_lower"],
                    "ci_upper": point["observed_ci_upper"],
                },
                lines=" ",
            ),
            str(point["at_risk"]),
        )
        for time in calibration["times"]
        for point in time["groups"]
    )
    headers = (
        "Time, group",
        "n",
        "Predicted, mean %",
        "Predictions n / missing",
        "Observed KM, % (95 % CI)",
        "At risk",
    )
    return Table("ENCALS calibration", headers, rows, _encals_used(calibration))


def _encals_used(figure: Mapping[str, Any]) -> str:
    return (
        f"{_used(figure)} (model not applicable: {figure['not_applicable']}, no linear "
        f"predictor: {figure['missing_linear_predictor']}, no survival time: "
        f"{figure['missing_survival_time']})"
    )


def _encals_section(summary: Mapping[str, Any]) -> Section:
    encals = summary["encals"]
    calibration, concordance = encals["calibration"], encals["concordance"]
    c_index = _decimal(concordance["c_index"], 3, concordance.get("reason") or NOT_KNOWN)
    items: list[Table | Chart | Note] = [Note(encals["groups"])]
    if not encals["model_verified"]:
        items.append(Note(f"The ENCALS model of the knowledge base is marked {UNVERIFIED}."))
    if calibration["n"] > 0:
        items.append(
            Chart(
                "calibration",
                _calibration_chart(calibration["times"]),
                "ENCALS calibration: mean predicted against Kaplan-Meier observed event-free "
                "survival per quintile (Q1 to Q5) at 12, 24 and 36 months from onset; the dashed "
                f"line is perfect calibration. {_encals_used(calibration)}.",
            )
        )
    items.append(_calibration_table(calibration))
    items.append(
        Table(
            "Discrimination",
            ("Measure", "Value"),
            (("Harrell's C-index", c_index),),
            f"{_encals_used(concordance)}. {concordance['note']}.",
        )
    )
    return Section("encals", "ENCALS prognosis", tuple(items))


def _sections(summary: Mapping[str, Any]) -> tuple[Section, ...]:
    return (
        _cohort_section(summary),
        _demographics_section(summary),
        _diagnosis_section(summary),
        _categories_section(summary, "staging", "Staging", _STAGING),
        _progression_section(summary),
        _survival_section(summary),
        _encals_section(summary),
    )


def render_report(summary: Mapping[str, Any], *, title: str) -> str:
    """The report of a cohort summary as a self-contained HTML page (no script, no link)."""
    template = document_environment("alscare.cohort").get_template("report.html.j2")
    return template.render(title=title, sections=_sections(summary))
