"""A whole assessment as text a clinician reads in a terminal (rich).

Sections in reading order: alerts first, then scores (each with its date, and flagged when stale
or implausible), staging, diagnostic criteria, ENCALS prognosis (the event it predicts, whether
it applies, survival from onset and from the assessment date), regions, the course (when each
region first showed UMN and LMN signs), differentials, the investigation plan, recommendations,
diagnostic and risk factors, what is missing, what was ignored, and the sources cited with their
full citations. Every conclusion shows its reasons (``because``) and source ids, and every one
resting on a rule that could not be checked against its source is marked *unverified*. Fields
added to the assessment models later are still shown, as "+ name: value", so nothing the engine
says is hidden.

The assessment holds no identity (name, hospital numbers): the page names the patient by the
record id only.

Every string from a record or the knowledge base goes into ``Text`` objects, never into rich
markup, so brackets in a record cannot restyle or hide output.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence

from pydantic import BaseModel
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import (
    Alert,
    Assessment,
    Course,
    Criteria,
    DiagnosticFactorStatus,
    DifferentialResult,
    EncalsConditional,
    EncalsPrognosis,
    InvestigationPlanItem,
    Recommendation,
    RegionStatus,
    RiskFactorStatus,
    Scores,
    Staging,
)
from alscare.schemas.vocabulary import Region

__all__ = ["render_assessment"]

_INDENT = (0, 0, 0, 4)
_UNVERIFIED = "unverified"
_DEATH_STAGE = {"5": "5 (death)"}
_SEVERITY_STYLE = {"high": "bold red", "medium": "bold yellow", "low": "bold"}
_UNKNOWN = "not known"
_NAME_WIDTH = 22


def _label(identifier: object) -> str:
    return str(identifier).replace("_", " ")


def _yes_no(value: bool | None) -> str:
    return _UNKNOWN if value is None else ("yes" if value else "no")


def _number(value: float | None, unit: str = "", digits: int = 2) -> str:
    if value is None:
        return _UNKNOWN
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") + unit


def _unverified(verified: bool) -> str:
    """The mark after a conclusion whose rule could not be checked against its source."""
    return "" if verified else f" ({_UNVERIFIED})"


def _stage(stage: object | None) -> str:
    return _UNKNOWN if stage is None else _DEATH_STAGE.get(str(stage), str(stage))


def _heading(title: str) -> Text:
    return Text(f"\n{title.upper()}", style="bold underline")


def _line(text: str | Text, style: str = "") -> Padding:
    """One indented line (wrapped lines keep the indent)."""
    shown = Text(text, style=style) if isinstance(text, str) else text
    return Padding(shown, _INDENT, expand=False)


def _item(text: str, style: str = "", indent: int = 2) -> Padding:
    """The title line of one item (alert, recommendation, ...), wrapped under itself."""
    return Padding(Text(text, style=style), (0, 0, 0, indent), expand=False)


def _bullet(marker: str, text: str, style: str = "") -> Padding:
    """An indented item whose wrapped lines hang under its text, not under the marker."""
    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column()
    grid.add_row(Text(marker, style=style), Text(text, style=style))
    return Padding(grid, _INDENT, expand=False)


def _evidence(
    because: Sequence[str] = (), sources: Sequence[str] = (), missing: Sequence[str] = ()
) -> Iterator[RenderableType]:
    """The reasons, the data lacking and the source ids of one conclusion, indented."""
    for reason in because:
        yield _bullet("-", reason, "dim")
    for lack in missing:
        yield _bullet("?", f"missing: {lack}", "yellow")
    if sources:
        yield _bullet("sources:", ", ".join(sources), "cyan")


def _pairs(rows: Iterable[tuple[str, str]]) -> Padding:
    """Name-value rows; names share one width across sections so values line up."""
    table = Table(box=None, show_header=False, padding=(0, 2), pad_edge=False)
    table.add_column(style="bold", min_width=_NAME_WIDTH)
    table.add_column()
    for name, value in rows:
        table.add_row(Text(name), Text(value))
    return Padding(table, (0, 0, 0, 2), expand=False)


def _plain(value: object) -> str:
    """A value of a field this renderer does not know, in words."""
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, BaseModel):
        return json.dumps(value.model_dump(mode="json", exclude_defaults=True), ensure_ascii=False)
    if isinstance(value, tuple | list):
        return "; ".join(_plain(item) for item in value)
    return str(value)


def _others(model: BaseModel, shown: set[str]) -> Iterator[RenderableType]:
    """Fields of ``model`` this renderer does not know yet, as name: value."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name in shown or value in (None, (), {}, []):
            continue
        yield _bullet("+", f"{_label(name)}: {_plain(value)}")


def _header(assessment: Assessment) -> RenderableType:
    title = Text(f"ALS assessment of patient {assessment.patient_id}", style="bold")
    facts = Text(
        f"as of {assessment.as_of}; knowledge version {assessment.knowledge_version}; "
        f"{assessment.schema_}"
    )
    notice = Text(
        "Decision support for clinicians, not a diagnosis: check each conclusion against its "
        f"reasons and sources. '{_UNVERIFIED}' marks a conclusion resting on a rule that could "
        "not be checked against its source.",
        style="italic",
    )
    return Group(title, facts, notice)


def _alerts(alerts: Sequence[Alert]) -> Iterator[RenderableType]:
    yield _heading("Alerts")
    if not alerts:
        yield _line("none")
    for alert in alerts:
        style = _SEVERITY_STYLE.get(str(alert.severity), "bold")
        flag = _unverified(alert.verified)
        yield _item(f"! {alert.severity.upper()}: {_label(alert.id)}{flag}", style)
        yield from _evidence(alert.because, alert.sources)
        yield from _others(alert, {"id", "severity", "because", "sources", "verified"})


_SCORE_NAMES = {
    "alsfrs_r": "ALSFRS-R",
    "progression_rate": "Progression rate (ΔFS)",
    "alsfrs_r_slope": "ALSFRS-R slope",
    "fvc_percent_predicted": "FVC",
    "weight_loss_percent": "Weight loss",
    "bmi": "BMI",
}


def _score_name(name: str) -> str:
    return _SCORE_NAMES.get(name, _label(name))


def _scores(scores: Scores) -> Iterator[RenderableType]:
    yield _heading(f"Scores{_unverified(scores.verified)}")
    alsfrs = scores.alsfrs_r
    rating = _UNKNOWN
    if alsfrs is not None:
        rating = (
            f"{alsfrs.total}/48 on {alsfrs.date} (bulbar {alsfrs.bulbar}/12, fine motor "
            f"{alsfrs.fine_motor}/12, gross motor {alsfrs.gross_motor}/12, respiratory "
            f"{alsfrs.respiratory}/12; item 5 as {alsfrs.item_5})"
        )
    rate = _number(scores.progression_rate, " points/month")
    if scores.progression_band is not None:
        rate += f" ({scores.progression_band})"
    values = {
        "alsfrs_r": rating,
        "progression_rate": rate,
        "alsfrs_r_slope": _number(scores.alsfrs_r_slope, " points/month"),
        "fvc_percent_predicted": _number(scores.fvc_percent_predicted, " % predicted", 1),
        "weight_loss_percent": _number(scores.weight_loss_percent, " % of premorbid weight", 1),
        "bmi": _number(scores.bmi, " kg/m²", 1),
    }
    yield _pairs(
        (_score_name(name), _score_value(scores, name, text)) for name, text in values.items()
    )
    yield from _score_flags(scores)
    yield from _evidence(scores.because, scores.sources, scores.missing)
    shown = set(values) | {"progression_band", "because", "sources", "missing"}
    yield from _others(scores, shown | {"dates", "stale", "implausible", "notes", "verified"})


def _score_value(scores: Scores, name: str, text: str) -> str:
    """A score's value with the date of its measurement and its flags, in short."""
    if text == _UNKNOWN:
        return text
    date = scores.dates.get(name)
    if date is not None and name != "alsfrs_r":  # the rating's text gives its date already
        text += f" on {date}"
    flags = [
        flag
        for flag, names in (("STALE", scores.stale), ("IMPLAUSIBLE", scores.implausible))
        if name in names
    ]
    return text + "".join(f"; {flag}" for flag in flags)


def _score_flags(scores: Scores) -> Iterator[RenderableType]:
    """Why each flagged score is flagged, in the assessment's words."""
    for name, note in scores.notes.items():
        yield _bullet("!", f"{_score_name(name)}: {note}", "yellow")


def _staging(staging: Staging) -> Iterator[RenderableType]:
    yield _heading("Staging")
    kings = staging.kings
    method = {"alsfrs_r": "from ALSFRS-R", "clinical": "from clinical milestones"}
    stage = _stage(kings.stage)
    if kings.method is not None:
        stage += f" ({method[kings.method]})"
    yield _pairs([("King's stage", stage + _unverified(kings.verified))])
    regions = ", ".join(_label(r) for r in kings.regions_involved) or "none"
    details = [f"regions involved: {regions}"]
    details += [f"gastrostomy: {_yes_no(kings.gastrostomy)}", f"NIV: {_yes_no(kings.niv)}"]
    yield _line("; ".join(details))
    yield from _evidence(kings.because, kings.sources)
    shown = {"stage", "method", "gastrostomy", "niv", "regions_involved", "because", "sources"}
    yield from _others(kings, shown | {"verified"})
    clinical = staging.kings_clinical
    clinical_stage = _UNKNOWN
    if clinical is not None:
        clinical_stage = _stage(clinical.stage) + _unverified(clinical.verified)
    yield _pairs([("King's clinical stage", clinical_stage)])
    if clinical is not None:
        regions = ", ".join(_label(r) for r in clinical.regions_involved) or "none"
        yield _line(f"regions involved: {regions}")
        yield from _evidence(clinical.because, clinical.sources)
        shown = {"stage", "regions_involved", "because", "sources", "verified"}
        yield from _others(clinical, shown)
    mitos = staging.mitos
    yield _pairs([("MiToS stage", _UNKNOWN if mitos is None else _stage(mitos.stage))])
    if mitos is not None:
        lost = ", ".join(_label(d) for d in mitos.domains_lost) or "none"
        yield _line(f"domains lost: {lost}")
        yield from _evidence(mitos.because, mitos.sources)
        yield from _others(mitos, {"stage", "domains_lost", "because", "sources"})
    yield from _evidence(missing=staging.missing)
    yield from _others(staging, {"kings", "kings_clinical", "mitos", "missing"})


def _criteria(criteria: Criteria) -> Iterator[RenderableType]:
    yield _heading("Diagnostic criteria")
    gold = criteria.gold_coast
    met = {True: "met", False: "not met", None: _UNKNOWN}[gold.met]
    yield _pairs([("Gold Coast", met + _unverified(gold.verified))])
    yield from _evidence(gold.because, gold.sources, gold.missing)
    yield from _others(gold, {"met", "because", "sources", "missing", "verified"})
    escorial = criteria.el_escorial
    rows = [("Revised El Escorial", _category(escorial.category) + _unverified(escorial.verified))]
    if escorial.familial_laboratory_supported is not None:
        familial = _yes_no(escorial.familial_laboratory_supported)
        rows.append(("  familial, lab-supported", familial))
    yield _pairs(rows)
    yield from _evidence(escorial.because, escorial.sources, escorial.missing)
    shown = {"category", "familial_laboratory_supported", "because", "sources", "missing"}
    yield from _others(escorial, shown | {"verified"})
    awaji = criteria.awaji
    yield _pairs([("Awaji", _category(awaji.category) + _unverified(awaji.verified))])
    yield from _evidence(awaji.because, awaji.sources, awaji.missing)
    yield from _others(awaji, {"category", "because", "sources", "missing", "verified"})
    yield from _others(criteria, {"gold_coast", "el_escorial", "awaji"})


def _category(category: object | None) -> str:
    return _UNKNOWN if category is None else _label(category)


def _survival(survival: Mapping[str, float] | None) -> str:
    if survival is None:
        return _UNKNOWN
    return ", ".join(f"{months} mo {probability:.0%}" for months, probability in survival.items())


def _prognosis(encals: EncalsPrognosis, as_of: dt.date) -> Iterator[RenderableType]:
    yield _heading(f"Prognosis (ENCALS model){_unverified(encals.verified)}")
    event = encals.event or "not stated"
    yield _line(f"event predicted: {event}; times are months from symptom onset", "italic")
    applies = {True: "yes", False: "NO: see the reasons below", None: _UNKNOWN}[encals.applicable]
    yield _pairs(
        [
            ("Applicable", applies),
            ("Median survival", _number(encals.median_survival_months, " months from onset", 1)),
            ("Event-free survival", _survival(encals.survival)),
            ("Linear predictor", _number(encals.linear_predictor, digits=3)),
        ]
    )
    yield from _conditional(encals.conditional, as_of)
    inputs = encals.inputs
    rows = []
    for name in type(inputs).model_fields:
        value = getattr(inputs, name)
        shown = _yes_no(value) if isinstance(value, bool) or value is None else f"{value:g}"
        rows.append((_label(name), shown))
    yield _line("inputs at diagnosis:")
    yield Padding(_pairs(rows), _INDENT, expand=False)
    yield from _evidence(encals.because, encals.sources, encals.missing)
    known = {"linear_predictor", "median_survival_months", "survival", "inputs", "event"}
    known |= {"applicable", "conditional", "verified", "because", "sources", "missing"}
    yield from _others(encals, known)


def _conditional(conditional: EncalsConditional | None, as_of: dt.date) -> Iterator[RenderableType]:
    """Survival from the assessment date, for a patient event-free on it."""
    if conditional is None:
        yield _line("from the assessment date: not computed (see the reasons below)")
        return
    months = _number(conditional.months_since_onset, digits=1)
    yield _line(
        f"from the assessment date, event-free {months} months after onset; times are months "
        f"after {as_of}:"
    )
    rows = [
        ("Median survival", _number(conditional.median_survival_months, " more months", 1)),
        ("Event-free survival", _survival(conditional.survival)),
    ]
    yield Padding(_pairs(rows), _INDENT, expand=False)
    yield from _others(conditional, {"months_since_onset", "median_survival_months", "survival"})


def _regions(regions: Mapping[Region, RegionStatus]) -> Iterator[RenderableType]:
    yield _heading("Regions (upper and lower motor neuron signs)")
    if not regions:
        yield _line("none assessed")
    for region, status in regions.items():
        lmn = _yes_no(status.lmn)
        if status.lmn_source is not None:
            lmn += f" ({status.lmn_source})"
        summary = f"UMN {_yes_no(status.umn)}; LMN {lmn}{_unverified(status.verified)}"
        yield _pairs([(_label(region), summary)])
        parts = (
            f"LMN clinical {_yes_no(status.lmn_clinical)}",
            f"by EMG {_yes_no(status.lmn_emg)}",
            f"by EMG on the El Escorial reading {_yes_no(status.lmn_emg_el_escorial)}",
        )
        yield _line("; ".join(parts))
        yield from _evidence(status.because, status.sources, status.missing)
        shown = {"umn", "lmn", "lmn_source", "lmn_clinical", "lmn_emg", "lmn_emg_el_escorial"}
        yield from _others(status, shown | {"because", "sources", "missing", "verified"})


def _course(course: Course) -> Iterator[RenderableType]:
    yield _heading("Course (first signs by region, from the dated examinations and EMG)")
    if not course.regions:
        yield _line("no dated examination or EMG")
    rows = []
    for region, first in course.regions.items():
        umn = f"since {first.first_umn}" if first.first_umn else "not seen"
        lmn = f"since {first.first_lmn}" if first.first_lmn else "not seen"
        rows.append((_label(region), f"UMN {umn}; LMN {lmn}"))
    if rows:
        yield _pairs(rows)
    yield from _evidence(sources=course.sources)
    yield from _others(course, {"regions", "sources"})


def _differentials(differentials: Sequence[DifferentialResult]) -> Iterator[RenderableType]:
    yield _heading("Differential diagnoses (mimics)")
    if not differentials:
        yield _line("none suggested by the record")
    for item in differentials:
        line = f"{_label(item.id)}: {item.level}"
        if item.spectrum:
            line += " (ALS spectrum, not a mimic)"
        if item.tests:
            line += f"; tests: {', '.join(_label(t) for t in item.tests)}"
        yield _item(line + _unverified(item.verified))
        yield from _evidence(item.because, item.sources)
        shown = {"id", "level", "spectrum", "tests", "because", "sources", "verified"}
        yield from _others(item, shown)


def _investigations(plan: Sequence[InvestigationPlanItem]) -> Iterator[RenderableType]:
    yield _heading("Investigation plan")
    if not plan:
        yield _line("none")
    for item in plan:
        yield _item(f"{_label(item.id)}: {_label(item.status)}{_unverified(item.verified)}")
        yield from _evidence([item.reason], item.sources)
        yield from _others(item, {"id", "status", "reason", "sources", "verified"})


def _recommendations(recommendations: Sequence[Recommendation]) -> Iterator[RenderableType]:
    yield _heading("Recommendations")
    if not recommendations:
        yield _line("none")
    for item in recommendations:
        flag = "" if item.verified else f"; {_UNVERIFIED}"
        yield _item(
            f"{_label(item.action).upper()} {_label(item.id)} ({_label(item.group)}; "
            f"strength: {item.strength}{flag})",
            "bold",
        )
        if item.detail:
            yield _line(item.detail)
        yield from _evidence(item.because, item.sources)
        shown = {"id", "group", "action", "strength", "detail", "because", "sources", "verified"}
        yield from _others(item, shown)


def _factors(
    diagnostic: Sequence[DiagnosticFactorStatus], risk: Sequence[RiskFactorStatus]
) -> Iterator[RenderableType]:
    yield _heading("Diagnostic and risk factors")
    kinds = dict.fromkeys(factor.kind for factor in diagnostic)
    groups: list[tuple[str, Sequence[DiagnosticFactorStatus | RiskFactorStatus]]] = [
        (f"{_label(kind)} factors", [f for f in diagnostic if f.kind == kind]) for kind in kinds
    ]
    groups.append(("risk factors", risk))
    if not diagnostic and not risk:
        yield _line("none recorded")
    for title, factors in groups:
        if not factors:
            continue
        yield _item(title, "bold")
        for factor in factors:
            if factor.present is not None:
                word = "present" if factor.present else "absent"
                yield _item(f"{_label(factor.id)}: {word}", indent=4)
                yield from _evidence(factor.because)
            yield from _others(factor, {"id", "kind", "present", "because"})
        unknown = [_label(f.id) for f in factors if f.present is None]
        if unknown:
            yield _bullet("?", f"not recorded: {', '.join(unknown)}", "dim")


def _listed(title: str, items: Sequence[str], empty: str) -> Iterator[RenderableType]:
    yield _heading(title)
    if not items:
        yield _line(empty)
    for item in items:
        yield _bullet("-", item)


def _sources(assessment: Assessment, kb: KnowledgeBase) -> Iterator[RenderableType]:
    yield _heading("Sources")
    cited = assessment.cited_sources()
    if not cited:
        yield _line("none")
    known = {source.id: source for source in kb.sources}
    for source_id in cited:
        source = known.get(source_id)
        text = source_id
        if source is not None:
            link = source.doi and f"doi:{source.doi}" or source.pmid and f"PMID {source.pmid}"
            text += f": {source.citation}" + (f" {link}" if link else "")
        yield _bullet("-", text)


def render_assessment(assessment: Assessment, kb: KnowledgeBase) -> Group:
    """The whole assessment as one rich renderable; ``kb`` gives the full citations."""
    parts: list[RenderableType] = [_header(assessment)]
    parts += _alerts(assessment.alerts)
    parts += _scores(assessment.scores)
    parts += _staging(assessment.staging)
    parts += _criteria(assessment.criteria)
    parts += _prognosis(assessment.prognosis.encals, assessment.as_of)
    parts += _others(assessment.prognosis, {"encals"})
    parts += _regions(assessment.regions)
    parts += _course(assessment.course)
    parts += _differentials(assessment.differentials)
    parts += _investigations(assessment.investigations)
    parts += _recommendations(assessment.recommendations)
    parts += _factors(assessment.diagnostic_factors, assessment.risk_factors)
    parts += _listed("Missing data", assessment.missing, "nothing")
    parts += _listed("Ignored (dated after as of)", assessment.ignored, "nothing")
    parts += _sources(assessment, kb)
    shown = {"schema_", "patient_id", "as_of", "knowledge_version", "scores", "staging"}
    shown |= {"criteria", "prognosis", "regions", "course", "diagnostic_factors", "risk_factors"}
    shown |= {"differentials", "investigations", "recommendations", "alerts", "missing"}
    parts += _others(assessment, shown | {"ignored"})
    return Group(*parts)
