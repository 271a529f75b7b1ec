"""The clinic letter: one patient's assessment as a self-contained, printable HTML page.

:func:`render_html` turns (record, assessment, knowledge base) into a view model of plain
strings (:class:`Letter`), then renders the Jinja2 template ``templates/letter.html.j2`` with
autoescaping on. All wording about the patient comes from the assessment (its ``because``,
``missing`` and values); every label, number and mark is worded by :mod:`alscare.presentation`,
as in the terminal and the pages, so the letter uses clinical words only (no raw ids). Every
statement's sources are numbered in order of first citation, and the sources section prints
those numbers with the full citations of the knowledge base. The only markup not escaped is the
charts' SVG, which :mod:`alscare.plots` builds and escapes.

The first page holds what the clinic acts on: the summary, the alerts, the recommendations (one
line each, with their detail) and what is due (measurements past their repeat window, decisions
an alert asks for), with since when and why. The details follow from the second page: each
score's date and its stale or implausible flag with why, the stages (5 after death), the course
of each region, the criteria, the ENCALS event, whether the model applies, the survival from the
assessment date and the model's caveat, the differential, the investigation plan, the
recommendations with their reasons, why each item is due, the charts and the sources. An
*unverified* tag marks every conclusion resting on a rule that could not be checked against its
source. It is the clinic's own letter, so its header names the patient (``identity``: name and
hospital numbers) beside the record id; nothing else in it does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from markupsafe import Markup

import alscare
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.models import Source
from alscare.plots import alsfrs_r_chart, fvc_chart, fvc_reference_lines
from alscare.presentation import (
    ENCALS_CAVEAT,
    NOT_KNOWN,
    NOT_RECORDED,
    SCORE_KEYS,
    UNVERIFIED,
    UNVERIFIED_LEGEND,
    FactorGroup,
    Kind,
    Wording,
    age,
    age_text,
    clinical_text,
    date,
    encals_conditional,
    encals_estimate,
    encals_event,
    encals_inputs,
    factor_groups,
    gold_coast,
    number,
    score_flags,
    score_value,
    stage,
    survival,
    wording,
    yes_no,
)
from alscare.report.templates import document_environment
from alscare.schemas.assessment import (
    Assessment,
    AwajiResult,
    ElEscorialResult,
    EncalsPrognosis,
    GoldCoastResult,
    Scores,
)
from alscare.schemas.patient import PatientRecord

__all__ = ["Citation", "Item", "Letter", "Ref", "Row", "Section", "letter", "render_html"]

_SEX_NOUNS = {"female": "woman", "male": "man"}
_UNVERIFIED = ("unverified", UNVERIFIED)  # (css class, text) of the tag
_NOT_SEEN = "not seen"
# What each score row notes beside the date of its measurement.
_SCORE_NOTES = {
    "alsfrs_r": "rated",
    "progression_rate": "from symptom onset to the rating of",
    "alsfrs_r_slope": "first rating to the rating of",
    "fvc_percent_predicted": "measured",
    "weight_loss_percent": "from premorbid weight, weighed",
    "bmi": "weighed",
}
_ALSFRS_DOMAINS = ("bulbar", "fine_motor", "gross_motor", "respiratory")


@dataclass(frozen=True)
class Ref:
    """A numbered pointer to an entry of the sources section."""

    number: int
    source_id: str


@dataclass(frozen=True)
class Citation:
    number: int
    source_id: str
    text: str
    links: tuple[tuple[str, str], ...]  # (label, href)


@dataclass(frozen=True)
class Item:
    """One conclusion: a heading, optional qualifiers, its reasons, what is missing, sources."""

    title: str
    tags: tuple[tuple[str, str], ...] = ()  # (css class, text)
    detail: str = ""
    because: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    refs: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    note: str = ""
    part: bool = False  # a part of the row above it (ALSFRS-R domains)
    flags: tuple[str, ...] = ()  # "stale", "implausible"


@dataclass(frozen=True)
class RegionRow:
    """One region: UMN and LMN now, the LMN evidence, and when each first showed."""

    region: str
    umn: str
    lmn: str
    evidence: str
    first_umn: str
    first_lmn: str
    verified: bool


@dataclass(frozen=True)
class Section:
    title: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Letter:
    """Everything the template shows, already worded and ordered."""

    patient_id: str
    as_of: str
    knowledge_version: str
    alscare_version: str
    header: tuple[Row, ...]
    summary: str
    legend: str
    alerts: tuple[Item, ...]
    due: tuple[Item, ...]
    scores: tuple[Row, ...]
    scores_item: Item
    score_flags: tuple[str, ...]
    staging: tuple[Item, ...]
    regions: tuple[RegionRow, ...]
    regions_refs: tuple[Ref, ...]
    criteria: tuple[Item, ...]
    prognosis: Item
    event: str
    caveat: str
    survival: tuple[tuple[str, str], ...]
    conditional: str
    conditional_survival: tuple[tuple[str, str], ...]
    prognosis_inputs: tuple[Row, ...]
    differentials: tuple[Item, ...]
    factors: tuple[FactorGroup, ...]
    investigations: tuple[Item, ...]
    recommendations: tuple[Section, ...]
    alsfrs_r_chart: Markup
    fvc_chart: Markup
    fvc_reference_note: str
    fvc_reference_refs: tuple[Ref, ...]
    missing: tuple[str, ...]
    ignored: tuple[str, ...]
    sources: tuple[Citation, ...]
    disclaimer: str
    title: str


class _Citations:
    """Numbers sources in order of first citation."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._known = {source.id: source for source in kb.sources}
        self._numbers: dict[str, int] = {}

    def refs(self, source_ids: Iterable[str]) -> tuple[Ref, ...]:
        refs: list[Ref] = []
        for source_id in dict.fromkeys(source_ids):
            number = self._numbers.setdefault(source_id, len(self._numbers) + 1)
            refs.append(Ref(number, source_id))
        return tuple(sorted(refs, key=lambda ref: ref.number))

    def listing(self) -> tuple[Citation, ...]:
        return tuple(
            _citation(number, source_id, self._known.get(source_id))
            for source_id, number in self._numbers.items()
        )


def _citation(number: int, source_id: str, source: Source | None) -> Citation:
    if source is None:
        return Citation(number, source_id, f"{source_id} (not in the knowledge base)", ())
    links: list[tuple[str, str]] = []
    if source.doi:
        links.append((f"doi:{source.doi}", f"https://doi.org/{source.doi}"))
    if source.pmid:
        links.append((f"PMID {source.pmid}", f"https://pubmed.ncbi.nlm.nih.gov/{source.pmid}/"))
    if source.url:
        links.append((source.url, source.url))
    return Citation(number, source_id, source.citation, tuple(links))


def _death_date(record: PatientRecord, as_of: dt.date) -> dt.date | None:
    """The date of death, when it is known on the assessment date."""
    return record.death.date if record.death and record.death.date <= as_of else None


def _header(record: PatientRecord, assessment: Assessment, words: Wording) -> tuple[Row, ...]:
    died = _death_date(record, assessment.as_of)
    sex = words.label(Kind.SEX, record.sex) if record.sex else NOT_RECORDED
    place = record.jurisdiction
    rows = [
        Row("Patient", record.id),
        *_identity_rows(record),
        Row("Sex", sex),
        Row("Age at death" if died else "Age", age_text(record, died or assessment.as_of)),
        *((Row("Died", date(died)),) if died else ()),
        Row("Jurisdiction", words.label(Kind.JURISDICTION, place) if place else NOT_RECORDED),
        Row("Date of assessment", date(assessment.as_of)),
        Row("Knowledge version", assessment.knowledge_version),
    ]
    return tuple(rows)


def _identity_rows(record: PatientRecord) -> tuple[Row, ...]:
    """Who the patient is: the clinic's letter names them (the assessment never does)."""
    identity = record.identity
    if identity is None:
        return ()
    name = (Row("Name", identity.name),) if identity.name else ()
    return (*name, *(Row(number.system, number.value) for number in identity.identifiers))


def _summary(record: PatientRecord, assessment: Assessment, words: Wording) -> str:
    died = _death_date(record, assessment.as_of)
    years = age(record, died or assessment.as_of)
    noun = _SEX_NOUNS.get(record.sex.value if record.sex else "", "person")
    verb = "was" if died else "is"
    who = (
        f"{record.id} {verb} a {years}-year-old {noun}"
        if years is not None
        else f"{record.id} {verb} a {noun}"
    )
    onset = record.symptom_onset
    if onset and onset.date and onset.date <= assessment.as_of:
        site = f" ({words.label(Kind.ONSET_SITE, onset.site).lower()} onset)" if onset.site else ""
        who += f" with symptoms since {date(onset.date)}{site}"
    if record.diagnosis_date and record.diagnosis_date <= assessment.as_of:
        who += f", diagnosed with ALS on {date(record.diagnosis_date)}"
    sentences = [who + "."]
    if died:
        sentences.append(f"Died on {date(died)}.")
    sentences.extend(_score_sentences(assessment.scores))
    sentences.extend(_stage_sentences(assessment))
    sentences.append(_gold_coast_sentence(assessment))
    sentences.append(_counts_sentence(assessment, words))
    return " ".join(sentences)


def _score_sentences(scores: Scores) -> list[str]:
    sentences: list[str] = []
    if scores.alsfrs_r:
        total = score_value(scores, "alsfrs_r")
        text = f"The latest ALSFRS-R is {total} ({date(scores.alsfrs_r.date)})"
        rate = score_value(scores, "progression_rate")
        if rate is not None:
            text += f", a progression rate of {rate}"
        sentences.append(text + ".")
    fvc = score_value(scores, "fvc_percent_predicted")
    if fvc is not None:
        measured = scores.dates.get("fvc_percent_predicted")
        when = f" ({date(measured)})" if measured else ""
        sentences.append(f"FVC is {fvc}{when}.")
    if scores.stale:
        sentences.append("Some measurements are stale: new ones are due.")
    return sentences


def _stage_sentences(assessment: Assessment) -> list[str]:
    parts: list[str] = []
    if assessment.staging.kings.stage is not None:
        parts.append(f"King's stage {stage(assessment.staging.kings.stage)}")
    if assessment.staging.mitos is not None and assessment.staging.mitos.stage is not None:
        parts.append(f"MiToS stage {stage(assessment.staging.mitos.stage)}")
    return [" and ".join(parts) + "."] if parts else []


def _gold_coast_sentence(assessment: Assessment) -> str:
    met = assessment.criteria.gold_coast.met
    if met is None:
        return "Whether the Gold Coast criteria are met cannot be decided from the record."
    return f"The Gold Coast criteria are {gold_coast(met)}."


def _counts_sentence(assessment: Assessment, words: Wording) -> str:
    alerts = assessment.alerts
    listed = ", ".join(words.label(Kind.ALERT, alert.id) for alert in alerts)
    if not alerts:
        alert_text = "There are no alerts"
    elif len(alerts) == 1:
        alert_text = f"There is 1 alert ({listed})"
    else:
        alert_text = f"There are {len(alerts)} alerts ({listed})"
    count = len(assessment.recommendations)
    if count == 0:
        return f"{alert_text} and no recommendations."
    plural = "s" if count != 1 else ""
    return f"{alert_text}; {count} recommendation{plural} follow{'' if plural else 's'}."


def _checked(tags: tuple[tuple[str, str], ...], verified: bool) -> tuple[tuple[str, str], ...]:
    """The tags of a conclusion, with the unverified tag when its rule could not be checked."""
    return tags if verified else (*tags, _UNVERIFIED)


def _alerts(assessment: Assessment, cite: _Citations, words: Wording) -> tuple[Item, ...]:
    return tuple(
        Item(
            words.label(Kind.ALERT, alert.id),
            tags=_checked(
                (
                    (
                        f"severity-{alert.severity.value}",
                        words.label(Kind.SEVERITY, alert.severity).lower(),
                    ),
                ),
                alert.verified,
            ),
            because=alert.because,
            refs=cite.refs(alert.sources),
        )
        for alert in assessment.alerts
    )


def _due(assessment: Assessment, cite: _Citations) -> tuple[Item, ...]:
    return tuple(
        Item(
            item.label,
            tags=_checked((), item.verified),
            detail=f"due since {date(item.since)}" if item.since else "",
            because=item.because,
            refs=cite.refs(item.sources),
        )
        for item in assessment.due
    )


def _scores(scores: Scores, words: Wording) -> tuple[Row, ...]:
    rows: list[Row] = []
    for key in SCORE_KEYS:
        rows.append(_score_row(scores, key, words))
        alsfrs = scores.alsfrs_r
        if key == "alsfrs_r" and alsfrs is not None:
            rows.extend(
                Row(
                    words.label(Kind.ALSFRS_DOMAIN, domain),
                    f"{getattr(alsfrs, domain)}/12",
                    "domain",
                    part=True,
                )
                for domain in _ALSFRS_DOMAINS
            )
    return tuple(rows)


def _score_row(scores: Scores, key: str, words: Wording) -> Row:
    """A score with the date of its measurement in the note and its flags."""
    label = words.label(Kind.SCORE, key)
    value = score_value(scores, key)
    if value is None:
        return Row(label, NOT_KNOWN)
    measured = scores.alsfrs_r.date if key == "alsfrs_r" and scores.alsfrs_r else None
    measured = measured or scores.dates.get(key)
    note = f"{_SCORE_NOTES[key]} {date(measured)}" if measured else ""
    return Row(label, value, note, flags=score_flags(scores, key))


def _score_flags(scores: Scores, words: Wording) -> tuple[str, ...]:
    """Why each flagged score is flagged, in the assessment's words."""
    return tuple(f"{words.label(Kind.SCORE, key)}: {note}." for key, note in scores.notes.items())


def _staging(assessment: Assessment, cite: _Citations, words: Wording) -> tuple[Item, ...]:
    staging = assessment.staging
    kings = staging.kings
    method = words.label(Kind.KINGS_METHOD, kings.method) if kings.method else None
    items = [
        Item(
            "King's stage",
            tags=_checked(
                (("value", stage(kings.stage)), *((("note", method),) if method else ())),
                kings.verified,
            ),
            because=kings.because,
            refs=cite.refs(kings.sources),
        )
    ]
    clinical = staging.kings_clinical
    if clinical:
        items.append(
            Item(
                "King's clinical stage",
                tags=_checked((("value", stage(clinical.stage)),), clinical.verified),
                because=clinical.because,
                refs=cite.refs(clinical.sources),
            )
        )
    mitos = staging.mitos
    if mitos:
        items.append(
            Item(
                "MiToS stage",
                tags=(("value", stage(mitos.stage)),),
                because=mitos.because,
                refs=cite.refs(mitos.sources),
            )
        )
    return tuple(items)


def _regions(assessment: Assessment, words: Wording) -> tuple[RegionRow, ...]:
    course = assessment.course.regions
    rows = []
    for region, status in assessment.regions.items():
        first = course.get(region)
        rows.append(
            RegionRow(
                words.label(Kind.REGION, region),
                yes_no(status.umn),
                yes_no(status.lmn),
                words.label(Kind.LMN_SOURCE, status.lmn_source) if status.lmn_source else "",
                date(first.first_umn) if first and first.first_umn else _NOT_SEEN,
                date(first.first_lmn) if first and first.first_lmn else _NOT_SEEN,
                status.verified,
            )
        )
    return tuple(rows)


def _criteria(assessment: Assessment, cite: _Citations, words: Wording) -> tuple[Item, ...]:
    criteria = assessment.criteria
    escorial, awaji = criteria.el_escorial, criteria.awaji
    conclusions: tuple[tuple[str, str, GoldCoastResult | ElEscorialResult | AwajiResult], ...] = (
        ("Gold Coast", gold_coast(criteria.gold_coast.met), criteria.gold_coast),
        ("Revised El Escorial", words.category(Kind.EL_ESCORIAL, escorial.category), escorial),
        ("Awaji-Shima", words.category(Kind.AWAJI, awaji.category), awaji),
    )
    return tuple(
        Item(
            title,
            tags=_checked((("value", value),), result.verified),
            because=result.because,
            missing=result.missing,
            refs=cite.refs(result.sources),
        )
        for title, value, result in conclusions
    )


def _prognosis(encals: EncalsPrognosis, cite: _Citations) -> Item:
    return Item(
        "ENCALS survival model",
        tags=_checked((("value", encals_estimate(encals)),), encals.verified),
        because=encals.because,
        missing=encals.missing,
        refs=cite.refs(encals.sources),
    )


def _prognosis_inputs(encals: EncalsPrognosis, words: Wording) -> tuple[Row, ...]:
    if encals.linear_predictor is None:
        return ()
    rows = [Row(label, value) for label, value in encals_inputs(encals, words)]
    rows.append(Row("Linear predictor", number(encals.linear_predictor, digits=2)))
    return tuple(rows)


def _differentials(assessment: Assessment, cite: _Citations, words: Wording) -> tuple[Item, ...]:
    return tuple(
        Item(
            words.label(Kind.DIFFERENTIAL, item.id),
            tags=_checked(
                (
                    (f"level-{item.level.value}", words.label(Kind.LEVEL, item.level).lower()),
                    *((("note", "ALS spectrum, not a mimic"),) if item.spectrum else ()),
                ),
                item.verified,
            ),
            detail=f"Tests: {words.labels(Kind.INVESTIGATION, item.tests)}" if item.tests else "",
            because=item.because,
            refs=cite.refs(item.sources),
        )
        for item in assessment.differentials
    )


def _investigations(assessment: Assessment, cite: _Citations, words: Wording) -> tuple[Item, ...]:
    return tuple(
        Item(
            words.label(Kind.INVESTIGATION, item.id),
            tags=_checked(
                ((f"status-{item.status.value}", words.label(Kind.STATUS, item.status).lower()),),
                item.verified,
            ),
            detail=item.reason,
            refs=cite.refs(item.sources),
        )
        for item in assessment.investigations
    )


def _recommendations(
    assessment: Assessment, cite: _Citations, words: Wording
) -> tuple[Section, ...]:
    groups: dict[str, list[Item]] = {}
    for item in assessment.recommendations:
        strength = words.label(Kind.STRENGTH, item.strength).lower()
        groups.setdefault(item.group, []).append(
            Item(
                words.label(Kind.RECOMMENDATION, item.id),
                tags=_checked(
                    (
                        (f"action-{item.action.value}", words.label(Kind.ACTION, item.action)),
                        ("strength", f"strength: {strength}"),
                    ),
                    item.verified,
                ),
                detail=item.detail or "",
                because=item.because,
                refs=cite.refs(item.sources),
            )
        )
    return tuple(
        Section(words.label(Kind.GROUP, group), tuple(items)) for group, items in groups.items()
    )


def letter(record: PatientRecord, assessment: Assessment, kb: KnowledgeBase) -> Letter:
    """The view model of the letter; sources are numbered in the order the letter shows them."""
    words = wording(kb)
    cite = _Citations(kb)
    alerts = _alerts(assessment, cite, words)
    due = _due(assessment, cite)
    scores_item = Item(
        "Scores",
        tags=_checked((), assessment.scores.verified),
        because=assessment.scores.because,
        missing=assessment.scores.missing,
        refs=cite.refs(assessment.scores.sources),
    )
    staging = _staging(assessment, cite, words)
    region_sources = [source for status in assessment.regions.values() for source in status.sources]
    regions_refs = cite.refs([*region_sources, *assessment.course.sources])
    criteria = _criteria(assessment, cite, words)
    encals = assessment.prognosis.encals
    prognosis = _prognosis(encals, cite)
    differentials = _differentials(assessment, cite, words)
    investigations = _investigations(assessment, cite, words)
    recommendations = _recommendations(assessment, cite, words)
    lines = fvc_reference_lines(kb)
    line_refs = cite.refs(source for line in lines for source in line.sources)
    return Letter(
        patient_id=record.id,
        as_of=date(assessment.as_of),
        knowledge_version=assessment.knowledge_version,
        alscare_version=alscare.__version__,
        header=_header(record, assessment, words),
        summary=_summary(record, assessment, words),
        legend=UNVERIFIED_LEGEND,
        alerts=alerts,
        due=due,
        scores=_scores(assessment.scores, words),
        scores_item=scores_item,
        score_flags=_score_flags(assessment.scores, words),
        staging=staging,
        regions=_regions(assessment, words),
        regions_refs=regions_refs,
        criteria=criteria,
        prognosis=prognosis,
        event=encals_event(encals),
        caveat=ENCALS_CAVEAT,
        survival=survival(encals.survival),
        conditional=encals_conditional(encals, assessment.as_of),
        conditional_survival=survival(encals.conditional.survival if encals.conditional else None),
        prognosis_inputs=_prognosis_inputs(encals, words),
        differentials=differentials,
        factors=factor_groups(assessment, words),
        investigations=investigations,
        recommendations=recommendations,
        alsfrs_r_chart=Markup(alsfrs_r_chart(record, assessment.as_of)),
        fvc_chart=Markup(fvc_chart(record, assessment.as_of, reference_lines=lines)),
        fvc_reference_note=(
            "Dashed lines: the FVC thresholds for NIV in the treatment rules."
            if lines
            else "No FVC thresholds are drawn: the knowledge base does not define them."
        ),
        fvc_reference_refs=line_refs,
        missing=tuple(clinical_text(entry) for entry in assessment.missing),
        ignored=tuple(clinical_text(entry) for entry in assessment.ignored),
        sources=cite.listing(),
        disclaimer=kb.about.disclaimer,
        title=f"alscare clinic summary: {record.id}, {date(assessment.as_of)}",
    )


@cache
def _stylesheet() -> str:
    return (resources.files("alscare.report") / "templates" / "letter.css").read_text("utf-8")


def render_html(record: PatientRecord, assessment: Assessment, kb: KnowledgeBase) -> str:
    """The letter as one self-contained HTML page (styles and charts inline, no scripts)."""
    template = document_environment("alscare.report").get_template("letter.html.j2")
    return template.render(letter=letter(record, assessment, kb), stylesheet=Markup(_stylesheet()))
