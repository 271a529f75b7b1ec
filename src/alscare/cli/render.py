"""A whole assessment as text a clinician reads in a terminal (rich).

Sections in reading order: alerts first, then scores (each with its date, and flagged when stale
or implausible), staging, diagnostic criteria, ENCALS prognosis (the event it predicts, whether
it applies, survival from onset and from the assessment date, the model's caveat), regions, the
course (when each region first showed UMN and LMN signs), differentials, the investigation plan,
recommendations, what is due (since when and why), diagnostic and risk factors, what is missing,
what was ignored, and the sources cited with their full citations. Every conclusion shows its
reasons (``because``) and source ids, and every one resting on a rule that could not be checked
against its source is marked *unverified*. Fields added to the assessment models later are still
shown, as "+ name: value", so nothing the engine says is hidden. Every label, number and mark is
worded by :mod:`alscare.presentation`, as in the pages and the letter.

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
from alscare.presentation import (
    ENCALS_CAVEAT,
    NOT_KNOWN,
    SCORE_KEYS,
    UNVERIFIED,
    UNVERIFIED_LEGEND,
    Kind,
    Wording,
    clinical_text,
    date,
    encals_event,
    encals_inputs,
    factor_groups,
    gold_coast,
    humanise,
    number,
    score_flags,
    score_value,
    stage,
    survival,
    wording,
    yes_no,
)
from alscare.schemas.assessment import (
    Alert,
    Assessment,
    Course,
    Criteria,
    DifferentialResult,
    DueItem,
    EncalsConditional,
    EncalsPrognosis,
    InvestigationPlanItem,
    Recommendation,
    RegionStatus,
    Scores,
    Staging,
)
from alscare.schemas.vocabulary import Region

__all__ = ["render_assessment"]

_INDENT = (0, 0, 0, 4)
_SEVERITY_STYLE = {"high": "bold red", "medium": "bold yellow", "low": "bold"}
_NAME_WIDTH = 22


def _unverified(verified: bool) -> str:
    """The mark after a conclusion whose rule could not be checked against its source."""
    return "" if verified else f" ({UNVERIFIED})"


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
        return yes_no(value)
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
        yield _bullet("+", f"{humanise(name).lower()}: {_plain(value)}")


def _header(assessment: Assessment) -> RenderableType:
    title = Text(f"ALS assessment of patient {assessment.patient_id}", style="bold")
    facts = Text(
        f"as of {date(assessment.as_of)}; knowledge version {assessment.knowledge_version}; "
        f"{assessment.schema_}"
    )
    notice = Text(
        "Decision support for clinicians, not a diagnosis: check each conclusion against its "
        f"reasons and sources. {UNVERIFIED_LEGEND}",
        style="italic",
    )
    return Group(title, facts, notice)


def _alerts(alerts: Sequence[Alert], words: Wording) -> Iterator[RenderableType]:
    yield _heading("Alerts")
    if not alerts:
        yield _line("none")
    for alert in alerts:
        style = _SEVERITY_STYLE.get(str(alert.severity), "bold")
        severity = words.label(Kind.SEVERITY, alert.severity).upper()
        flag = _unverified(alert.verified)
        yield _item(f"! {severity}: {words.label(Kind.ALERT, alert.id)}{flag}", style)
        yield from _evidence(alert.because, alert.sources)
        yield from _others(alert, {"id", "severity", "because", "sources", "verified"})


def _due(due: Sequence[DueItem]) -> Iterator[RenderableType]:
    yield _heading("Due")
    if not due:
        yield _line("nothing")
    for item in due:
        since = f", due since {date(item.since)}" if item.since else ""
        yield _item(f"> {item.label}{since}{_unverified(item.verified)}", "bold")
        yield from _evidence(item.because, item.sources)


def _scores(scores: Scores, words: Wording) -> Iterator[RenderableType]:
    yield _heading(f"Scores{_unverified(scores.verified)}")
    yield _pairs(
        (words.label(Kind.SCORE, key), _score_value(scores, key, words)) for key in SCORE_KEYS
    )
    yield from _score_flags(scores, words)
    yield from _evidence(scores.because, scores.sources, scores.missing)
    shown = {*SCORE_KEYS, "progression_band", "because", "sources", "missing"}
    yield from _others(scores, shown | {"dates", "stale", "implausible", "notes", "verified"})


def _score_value(scores: Scores, key: str, words: Wording) -> str:
    """A score's value with the date of its measurement and its flags, in short."""
    text = score_value(scores, key)
    if text is None:
        return NOT_KNOWN
    alsfrs = scores.alsfrs_r
    if key == "alsfrs_r" and alsfrs is not None:
        domains = ", ".join(
            f"{words.label(Kind.ALSFRS_DOMAIN, domain).lower()} {getattr(alsfrs, domain)}/12"
            for domain in ("bulbar", "fine_motor", "gross_motor", "respiratory")
        )
        text += f" on {date(alsfrs.date)} ({domains}; item 5 as {alsfrs.item_5})"
    elif key in scores.dates:
        text += f" on {date(scores.dates[key])}"
    return text + "".join(f"; {flag.upper()}" for flag in score_flags(scores, key))


def _score_flags(scores: Scores, words: Wording) -> Iterator[RenderableType]:
    """Why each flagged score is flagged, in the assessment's words."""
    for key, note in scores.notes.items():
        yield _bullet("!", f"{words.label(Kind.SCORE, key)}: {note}", "yellow")


def _staging(staging: Staging, words: Wording) -> Iterator[RenderableType]:
    yield _heading("Staging")
    kings = staging.kings
    kings_stage = stage(kings.stage)
    if kings.method is not None:
        kings_stage += f" ({words.label(Kind.KINGS_METHOD, kings.method)})"
    yield _pairs([("King's stage", kings_stage + _unverified(kings.verified))])
    details = [f"regions involved: {words.labels(Kind.KINGS_REGION, kings.regions_involved)}"]
    details += [f"gastrostomy: {yes_no(kings.gastrostomy)}", f"NIV: {yes_no(kings.niv)}"]
    yield _line("; ".join(details))
    yield from _evidence(kings.because, kings.sources)
    shown = {"stage", "method", "gastrostomy", "niv", "regions_involved", "because", "sources"}
    yield from _others(kings, shown | {"verified"})
    clinical = staging.kings_clinical
    clinical_stage = NOT_KNOWN
    if clinical is not None:
        clinical_stage = stage(clinical.stage) + _unverified(clinical.verified)
    yield _pairs([("King's clinical stage", clinical_stage)])
    if clinical is not None:
        regions = words.labels(Kind.KINGS_REGION, clinical.regions_involved)
        yield _line(f"regions involved: {regions}")
        yield from _evidence(clinical.because, clinical.sources)
        shown = {"stage", "regions_involved", "because", "sources", "verified"}
        yield from _others(clinical, shown)
    mitos = staging.mitos
    yield _pairs([("MiToS stage", NOT_KNOWN if mitos is None else stage(mitos.stage))])
    if mitos is not None:
        yield _line(f"domains lost: {words.labels(Kind.MITOS_DOMAIN, mitos.domains_lost)}")
        yield from _evidence(mitos.because, mitos.sources)
        yield from _others(mitos, {"stage", "domains_lost", "because", "sources"})
    yield from _evidence(missing=staging.missing)
    yield from _others(staging, {"kings", "kings_clinical", "mitos", "missing"})


def _criteria(criteria: Criteria, words: Wording) -> Iterator[RenderableType]:
    yield _heading("Diagnostic criteria")
    gold = criteria.gold_coast
    yield _pairs([("Gold Coast", gold_coast(gold.met) + _unverified(gold.verified))])
    yield from _evidence(gold.because, gold.sources, gold.missing)
    yield from _others(gold, {"met", "because", "sources", "missing", "verified"})
    escorial = criteria.el_escorial
    category = words.category(Kind.EL_ESCORIAL, escorial.category)
    rows = [("Revised El Escorial", category + _unverified(escorial.verified))]
    if escorial.familial_laboratory_supported is not None:
        familial = yes_no(escorial.familial_laboratory_supported)
        rows.append(("  familial, lab-supported", familial))
    yield _pairs(rows)
    yield from _evidence(escorial.because, escorial.sources, escorial.missing)
    shown = {"category", "familial_laboratory_supported", "because", "sources", "missing"}
    yield from _others(escorial, shown | {"verified"})
    awaji = criteria.awaji
    category = words.category(Kind.AWAJI, awaji.category)
    yield _pairs([("Awaji-Shima", category + _unverified(awaji.verified))])
    yield from _evidence(awaji.because, awaji.sources, awaji.missing)
    yield from _others(awaji, {"category", "because", "sources", "missing", "verified"})
    yield from _others(criteria, {"gold_coast", "el_escorial", "awaji"})


def _survival(probabilities: Mapping[str, float] | None) -> str:
    rows = survival(probabilities)
    return ", ".join(f"{months} {chance}" for months, chance in rows) or NOT_KNOWN


def _prognosis(encals: EncalsPrognosis, as_of: dt.date, words: Wording) -> Iterator[RenderableType]:
    yield _heading(f"Prognosis (ENCALS model){_unverified(encals.verified)}")
    yield _line(
        f"event predicted: {encals_event(encals)}; times are months from symptom onset", "italic"
    )
    applies = {True: "yes", False: "NO: see the reasons below", None: NOT_KNOWN}[encals.applicable]
    yield _pairs(
        [
            ("Applicable", applies),
            ("Median survival", number(encals.median_survival_months, "months from onset")),
            ("Event-free survival", _survival(encals.survival)),
            ("Linear predictor", number(encals.linear_predictor, digits=3)),
        ]
    )
    yield from _conditional(encals.conditional, as_of)
    yield _line("inputs at diagnosis:")
    yield Padding(_pairs(encals_inputs(encals, words)), _INDENT, expand=False)
    yield from _evidence(encals.because, encals.sources, encals.missing)
    yield _bullet("caveat:", ENCALS_CAVEAT, "italic")
    known = {"linear_predictor", "median_survival_months", "survival", "inputs", "event"}
    known |= {"applicable", "conditional", "verified", "because", "sources", "missing"}
    yield from _others(encals, known)


def _conditional(conditional: EncalsConditional | None, as_of: dt.date) -> Iterator[RenderableType]:
    """Survival from the assessment date, for a patient event-free on it."""
    if conditional is None:
        yield _line("from the assessment date: not computed (see the reasons below)")
        return
    months = number(conditional.months_since_onset, "months")
    yield _line(
        f"from the assessment date, event-free {months} after onset; times are months "
        f"after {date(as_of)}:"
    )
    rows = [
        ("Median survival", number(conditional.median_survival_months, "more months")),
        ("Event-free survival", _survival(conditional.survival)),
    ]
    yield Padding(_pairs(rows), _INDENT, expand=False)
    yield from _others(conditional, {"months_since_onset", "median_survival_months", "survival"})


def _regions(regions: Mapping[Region, RegionStatus], words: Wording) -> Iterator[RenderableType]:
    yield _heading("Regions (upper and lower motor neuron signs)")
    if not regions:
        yield _line("none assessed")
    for region, status in regions.items():
        lmn = yes_no(status.lmn)
        if status.lmn_source is not None:
            lmn += f" ({words.label(Kind.LMN_SOURCE, status.lmn_source)})"
        summary = f"UMN {yes_no(status.umn)}; LMN {lmn}{_unverified(status.verified)}"
        yield _pairs([(words.label(Kind.REGION, region), summary)])
        parts = (
            f"LMN clinical {yes_no(status.lmn_clinical)}",
            f"by EMG {yes_no(status.lmn_emg)}",
            f"by EMG on the El Escorial reading {yes_no(status.lmn_emg_el_escorial)}",
        )
        yield _line("; ".join(parts))
        yield from _evidence(status.because, status.sources, status.missing)
        shown = {"umn", "lmn", "lmn_source", "lmn_clinical", "lmn_emg", "lmn_emg_el_escorial"}
        yield from _others(status, shown | {"because", "sources", "missing", "verified"})


def _course(course: Course, words: Wording) -> Iterator[RenderableType]:
    yield _heading("Course (first signs by region, from the dated examinations and EMG)")
    if not course.regions:
        yield _line("no dated examination or EMG")
    rows = []
    for region, first in course.regions.items():
        umn = f"since {date(first.first_umn)}" if first.first_umn else "not seen"
        lmn = f"since {date(first.first_lmn)}" if first.first_lmn else "not seen"
        rows.append((words.label(Kind.REGION, region), f"UMN {umn}; LMN {lmn}"))
    if rows:
        yield _pairs(rows)
    yield from _evidence(sources=course.sources)
    yield from _others(course, {"regions", "sources"})


def _differentials(
    differentials: Sequence[DifferentialResult], words: Wording
) -> Iterator[RenderableType]:
    yield _heading("Differential diagnoses (mimics)")
    if not differentials:
        yield _line("none suggested by the record")
    for item in differentials:
        level = words.label(Kind.LEVEL, item.level).lower()
        line = f"{words.label(Kind.DIFFERENTIAL, item.id)}: {level}"
        if item.spectrum:
            line += " (ALS spectrum, not a mimic)"
        if item.tests:
            line += f"; tests: {words.labels(Kind.INVESTIGATION, item.tests)}"
        yield _item(line + _unverified(item.verified))
        yield from _evidence(item.because, item.sources)
        shown = {"id", "level", "spectrum", "tests", "because", "sources", "verified"}
        yield from _others(item, shown)


def _investigations(
    plan: Sequence[InvestigationPlanItem], words: Wording
) -> Iterator[RenderableType]:
    yield _heading("Investigation plan")
    if not plan:
        yield _line("none")
    for item in plan:
        title = words.label(Kind.INVESTIGATION, item.id)
        status = words.label(Kind.STATUS, item.status).lower()
        yield _item(f"{title}: {status}{_unverified(item.verified)}")
        yield from _evidence([item.reason], item.sources)
        yield from _others(item, {"id", "status", "reason", "sources", "verified"})


def _recommendations(
    recommendations: Sequence[Recommendation], words: Wording
) -> Iterator[RenderableType]:
    yield _heading("Recommendations")
    if not recommendations:
        yield _line("none")
    for item in recommendations:
        flag = "" if item.verified else f"; {UNVERIFIED}"
        action = words.label(Kind.ACTION, item.action).upper()
        group = words.label(Kind.GROUP, item.group)
        strength = words.label(Kind.STRENGTH, item.strength).lower()
        yield _item(
            f"{action} {words.label(Kind.RECOMMENDATION, item.id)} ({group}; "
            f"strength: {strength}{flag})",
            "bold",
        )
        if item.detail:
            yield _line(item.detail)
        yield from _evidence(item.because, item.sources)
        shown = {"id", "group", "action", "strength", "detail", "because", "sources", "verified"}
        yield from _others(item, shown)


def _factors(assessment: Assessment, words: Wording) -> Iterator[RenderableType]:
    yield _heading("Diagnostic and risk factors")
    groups = factor_groups(assessment, words)
    if not groups:
        yield _line("none recorded")
    for group in groups:
        yield _item(group.title, "bold")
        for factor in group.recorded:
            word = "present" if factor.present else "absent"
            yield _item(f"{factor.label}: {word}", indent=4)
            yield from _evidence(factor.because)
        if group.not_recorded:
            yield _bullet("?", f"not recorded: {', '.join(group.not_recorded)}", "dim")
    for status in (*assessment.diagnostic_factors, *assessment.risk_factors):
        yield from _others(status, {"id", "kind", "present", "because"})


def _listed(title: str, items: Sequence[str], empty: str) -> Iterator[RenderableType]:
    yield _heading(title)
    if not items:
        yield _line(empty)
    for item in items:
        yield _bullet("-", clinical_text(item))


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
    """The whole assessment as one rich renderable; ``kb`` gives the labels and the citations."""
    words = wording(kb)
    parts: list[RenderableType] = [_header(assessment)]
    parts += _alerts(assessment.alerts, words)
    parts += _scores(assessment.scores, words)
    parts += _staging(assessment.staging, words)
    parts += _criteria(assessment.criteria, words)
    parts += _prognosis(assessment.prognosis.encals, assessment.as_of, words)
    parts += _others(assessment.prognosis, {"encals"})
    parts += _regions(assessment.regions, words)
    parts += _course(assessment.course, words)
    parts += _differentials(assessment.differentials, words)
    parts += _investigations(assessment.investigations, words)
    parts += _recommendations(assessment.recommendations, words)
    parts += _due(assessment.due)
    parts += _factors(assessment, words)
    parts += _listed("Missing data", assessment.missing, "nothing")
    parts += _listed("Left out (dated after the assessment date)", assessment.ignored, "nothing")
    parts += _sources(assessment, kb)
    shown = {"schema_", "patient_id", "as_of", "knowledge_version", "scores", "staging"}
    shown |= {"criteria", "prognosis", "regions", "course", "diagnostic_factors", "risk_factors"}
    shown |= {"differentials", "investigations", "recommendations", "alerts", "missing", "due"}
    parts += _others(assessment, shown | {"ignored"})
    return Group(*parts)
