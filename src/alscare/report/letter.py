"""The clinic letter: one patient's assessment as a self-contained, printable HTML page.

:func:`render_html` turns (record, assessment, knowledge base) into a view model of plain
strings (:class:`Letter`), then renders the Jinja2 template ``templates/letter.html.j2`` with
autoescaping on. All wording about the patient comes from the assessment (its ``because``,
``missing`` and values), every statement's sources are numbered in order of first citation, and
the sources section prints those numbers with the full citations of the knowledge base. The
only markup not escaped is the charts' SVG, which :mod:`alscare.plots` builds and escapes.

The letter shows what the terminal and the web pages show: each score's date and its stale or
implausible flag with why, the stages (5 after death), the course of each region, the ENCALS
event, whether the model applies and the survival from the assessment date, and an *unverified*
tag on every conclusion resting on a rule that could not be checked against its source. It is
the clinic's own letter, so its header names the patient (``identity``: name and hospital
numbers) beside the record id; nothing else in it does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from pydantic import BaseModel

import alscare
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.models import Source
from alscare.plots import alsfrs_r_chart, fvc_chart, fvc_reference_lines
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

# Words shown in capitals (or their own spelling) when an id is turned into a label.
_SPELLINGS = {
    "aac": "AAC",
    "achr": "AChR",
    "als": "ALS",
    "alsfrs": "ALSFRS",
    "alt": "ALT",
    "ar": "AR",
    "ast": "AST",
    "b12": "B12",
    "bmi": "BMI",
    "c9orf72": "C9orf72",
    "cag": "CAG",
    "cidp": "CIDP",
    "ecas": "ECAS",
    "emg": "EMG",
    "encals": "ENCALS",
    "fvc": "FVC",
    "ftd": "FTD",
    "gm1": "GM1",
    "hiv": "HIV",
    "htlv1": "HTLV-1",
    "lmn": "LMN",
    "mri": "MRI",
    "musk": "MuSK",
    "ncs": "NCS",
    "niv": "NIV",
    "peg": "PEG",
    "pth": "PTH",
    "smn1": "SMN1",
    "snip": "SNIP",
    "sod1": "SOD1",
    "umn": "UMN",
    "vgcc": "VGCC",
}
_KINGS_METHODS = {
    "alsfrs_r": "estimated from the ALSFRS-R",
    "clinical": "from clinical milestones",
}
_SEX_NOUNS = {"female": "woman", "male": "man"}
_PERCENT = 100
_UNVERIFIED = ("unverified", "unverified")  # (css class, text) of the tag
_DEATH_STAGE = {"5": "5 (death)"}
_NOT_AVAILABLE = "not available"
_NOT_SEEN = "not seen"


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
    alerts: tuple[Item, ...]
    scores: tuple[Row, ...]
    scores_item: Item
    score_flags: tuple[str, ...]
    staging: tuple[Item, ...]
    regions: tuple[RegionRow, ...]
    regions_refs: tuple[Ref, ...]
    criteria: tuple[Item, ...]
    prognosis: Item
    event: str
    survival: tuple[tuple[str, str], ...]
    conditional: str
    conditional_survival: tuple[tuple[str, str], ...]
    prognosis_inputs: tuple[Row, ...]
    differentials: tuple[Item, ...]
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


def _label(identifier: str) -> str:
    """A readable label for a controlled id: ``anti_gm1_antibodies`` -> ``Anti GM1 antibodies``."""
    words = [_SPELLINGS.get(word, word) for word in identifier.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _names(kb: KnowledgeBase) -> dict[str, str]:
    """Display names of the knowledge base's items: an ``id`` with a label, name or title."""
    names: dict[str, str] = {}

    def visit(node: object) -> None:
        if isinstance(node, BaseModel):
            identifier = getattr(node, "id", None)
            name = next(
                (
                    value
                    for value in (getattr(node, key, None) for key in ("label", "name", "title"))
                    if isinstance(value, str)
                ),
                None,
            )
            if isinstance(identifier, str) and name is not None:
                names.setdefault(identifier, name)
            for attribute in type(node).model_fields:
                visit(getattr(node, attribute))
        elif isinstance(node, tuple | list):
            for item in node:
                visit(item)
        elif isinstance(node, dict):
            for value in node.values():
                visit(value)

    for section in (kb.topic, kb.diagnosis, kb.treatment, kb.scoring):
        visit(section)
    return names


def _number(value: float, decimals: int = 1) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.{decimals}f}"


def _death_date(record: PatientRecord, as_of: dt.date) -> dt.date | None:
    """The date of death, when it is known on the assessment date."""
    return record.death.date if record.death and record.death.date <= as_of else None


def _age_years(record: PatientRecord, on: dt.date) -> int | None:
    if record.birth_date:
        before_birthday = (on.month, on.day) < (record.birth_date.month, record.birth_date.day)
        return on.year - record.birth_date.year - before_birthday
    if record.age_years is not None and record.age_on is not None:
        return int(record.age_years + (on - record.age_on).days / 365.25)
    return None


def _header(record: PatientRecord, assessment: Assessment) -> tuple[Row, ...]:
    died = _death_date(record, assessment.as_of)
    age = _age_years(record, died or assessment.as_of)
    born = f" (born {record.birth_date})" if record.birth_date else ""
    rows = [
        Row("Patient", record.id),
        *_identity_rows(record),
        Row("Sex", record.sex.value if record.sex else "not recorded"),
        Row(
            "Age at death" if died else "Age",
            f"{age} years{born}" if age is not None else "not recorded",
        ),
        *((Row("Died", str(died)),) if died else ()),
        Row("Jurisdiction", record.jurisdiction.value if record.jurisdiction else "not recorded"),
        Row("Date of assessment", str(assessment.as_of)),
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


def _summary(record: PatientRecord, assessment: Assessment, names: dict[str, str]) -> str:
    died = _death_date(record, assessment.as_of)
    age = _age_years(record, died or assessment.as_of)
    noun = _SEX_NOUNS.get(record.sex.value if record.sex else "", "person")
    verb = "was" if died else "is"
    who = (
        f"{record.id} {verb} a {age}-year-old {noun}"
        if age is not None
        else f"{record.id} {verb} a {noun}"
    )
    onset = record.symptom_onset
    if onset and onset.date and onset.date <= assessment.as_of:
        site = f" ({onset.site.value} onset)" if onset.site else ""
        who += f" with symptoms since {onset.date}{site}"
    if record.diagnosis_date and record.diagnosis_date <= assessment.as_of:
        who += f", diagnosed with ALS on {record.diagnosis_date}"
    sentences = [who + "."]
    if died:
        sentences.append(f"Died on {died}.")
    sentences.extend(_score_sentences(assessment.scores))
    sentences.extend(_stage_sentences(assessment))
    sentences.append(_gold_coast_sentence(assessment))
    sentences.append(_counts_sentence(assessment, names))
    return " ".join(sentences)


def _score_sentences(scores: Scores) -> list[str]:
    sentences: list[str] = []
    if scores.alsfrs_r:
        text = f"The latest ALSFRS-R is {scores.alsfrs_r.total}/48 ({scores.alsfrs_r.date})"
        if scores.progression_rate is not None:
            band = f", {scores.progression_band}" if scores.progression_band else ""
            text += f", a progression rate of {scores.progression_rate:.2f} points/month{band}"
        sentences.append(text + ".")
    if scores.fvc_percent_predicted is not None:
        date = scores.dates.get("fvc_percent_predicted")
        when = f" ({date})" if date else ""
        sentences.append(f"FVC is {_number(scores.fvc_percent_predicted)} % predicted{when}.")
    if scores.stale:
        sentences.append("Some measurements are stale: new ones are due.")
    return sentences


def _stage_sentences(assessment: Assessment) -> list[str]:
    parts: list[str] = []
    if assessment.staging.kings.stage is not None:
        parts.append(f"King's stage {_stage(assessment.staging.kings.stage)}")
    if assessment.staging.mitos is not None and assessment.staging.mitos.stage is not None:
        parts.append(f"MiToS stage {_stage(assessment.staging.mitos.stage)}")
    return [" and ".join(parts) + "."] if parts else []


def _stage(stage: object) -> str:
    return _DEATH_STAGE.get(str(stage), str(stage))


def _gold_coast_sentence(assessment: Assessment) -> str:
    met = assessment.criteria.gold_coast.met
    if met is None:
        return "Whether the Gold Coast criteria are met cannot be decided from the record."
    return "The Gold Coast criteria are met." if met else "The Gold Coast criteria are not met."


def _counts_sentence(assessment: Assessment, names: dict[str, str]) -> str:
    alerts = assessment.alerts
    listed = ", ".join(_name(alert.id, names) for alert in alerts)
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


def _name(identifier: str, names: dict[str, str]) -> str:
    name = names.get(identifier) or _label(identifier)
    return name[:1].upper() + name[1:]


def _checked(tags: tuple[tuple[str, str], ...], verified: bool) -> tuple[tuple[str, str], ...]:
    """The tags of a conclusion, with the unverified tag when its rule could not be checked."""
    return tags if verified else (*tags, _UNVERIFIED)


def _alerts(assessment: Assessment, cite: _Citations, names: dict[str, str]) -> tuple[Item, ...]:
    return tuple(
        Item(
            _name(alert.id, names),
            tags=_checked(
                ((f"severity-{alert.severity.value}", f"{alert.severity.value} priority"),),
                alert.verified,
            ),
            because=alert.because,
            refs=cite.refs(alert.sources),
        )
        for alert in assessment.alerts
    )


def _scores(scores: Scores) -> tuple[Row, ...]:
    rows: list[Row] = []
    if scores.alsfrs_r:
        score = scores.alsfrs_r
        rows.append(
            Row(
                "ALSFRS-R total",
                f"{score.total} / 48",
                f"rated {score.date}",
                flags=_flags(scores, "alsfrs_r"),
            )
        )
        rows.extend(
            Row(name, f"{value} / 12", "domain", part=True)
            for name, value in (
                ("Bulbar", score.bulbar),
                ("Fine motor", score.fine_motor),
                ("Gross motor", score.gross_motor),
                ("Respiratory", score.respiratory),
            )
        )
    else:
        rows.append(Row("ALSFRS-R total", _NOT_AVAILABLE))
    rate = scores.progression_rate
    band = f" ({scores.progression_band})" if scores.progression_band else ""
    rows.append(
        _score_row(
            scores,
            "progression_rate",
            "Progression rate (ΔFS)",
            None if rate is None else f"{rate:.2f} points/month{band}",
            "from symptom onset to the rating of",
        )
    )
    slope = scores.alsfrs_r_slope
    rows.append(
        _score_row(
            scores,
            "alsfrs_r_slope",
            "ALSFRS-R slope",
            None if slope is None else f"{slope:.2f} points/month",
            "first rating to the rating of",
        )
    )
    for name, label, unit, note in (
        ("fvc_percent_predicted", "FVC", " % predicted", "measured"),
        ("weight_loss_percent", "Weight loss", " %", "from premorbid weight, weighed"),
        ("bmi", "BMI", " kg/m²", "weighed"),
    ):
        value = getattr(scores, name)
        rows.append(
            _score_row(
                scores, name, label, None if value is None else f"{_number(value)}{unit}", note
            )
        )
    return tuple(rows)


def _score_row(scores: Scores, name: str, label: str, value: str | None, note: str) -> Row:
    """A score with the date of its measurement in the note and its flags."""
    if value is None:
        return Row(label, _NOT_AVAILABLE)
    date = scores.dates.get(name)
    return Row(label, value, f"{note} {date}" if date else "", flags=_flags(scores, name))


def _flags(scores: Scores, name: str) -> tuple[str, ...]:
    return tuple(
        flag
        for flag, names in (("stale", scores.stale), ("implausible", scores.implausible))
        if name in names
    )


_SCORE_NAMES = {
    "alsfrs_r": "ALSFRS-R",
    "progression_rate": "progression rate",
    "alsfrs_r_slope": "ALSFRS-R slope",
    "fvc_percent_predicted": "FVC",
    "weight_loss_percent": "weight loss",
    "bmi": "BMI",
}


def _score_flags(scores: Scores) -> tuple[str, ...]:
    """Why each flagged score is flagged, in the assessment's words."""
    return tuple(
        f"{_SCORE_NAMES.get(name, _label(name))}: {note}." for name, note in scores.notes.items()
    )


def _staging(assessment: Assessment, cite: _Citations) -> tuple[Item, ...]:
    staging = assessment.staging
    kings = staging.kings
    items = [
        Item(
            "King's stage",
            tags=_checked(
                (
                    ("value", _stage(kings.stage) if kings.stage else _NOT_AVAILABLE),
                    *((("note", _KINGS_METHODS[kings.method]),) if kings.method else ()),
                ),
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
                tags=_checked((("value", _stage(clinical.stage)),), clinical.verified),
                because=clinical.because,
                refs=cite.refs(clinical.sources),
            )
        )
    mitos = staging.mitos
    if mitos:
        stage = _NOT_AVAILABLE if mitos.stage is None else _stage(mitos.stage)
        items.append(
            Item(
                "MiToS stage",
                tags=(("value", stage),),
                because=mitos.because,
                refs=cite.refs(mitos.sources),
            )
        )
    return tuple(items)


def _regions(assessment: Assessment) -> tuple[RegionRow, ...]:
    def sign(value: bool | None) -> str:
        return "not known" if value is None else ("yes" if value else "no")

    course = assessment.course.regions
    rows = []
    for region, status in assessment.regions.items():
        first = course.get(region)
        rows.append(
            RegionRow(
                _label(region.value),
                sign(status.umn),
                sign(status.lmn),
                status.lmn_source or "",
                str(first.first_umn) if first and first.first_umn else _NOT_SEEN,
                str(first.first_lmn) if first and first.first_lmn else _NOT_SEEN,
                status.verified,
            )
        )
    return tuple(rows)


def _criteria(assessment: Assessment, cite: _Citations) -> tuple[Item, ...]:
    criteria = assessment.criteria
    gold = criteria.gold_coast
    met = "cannot be decided" if gold.met is None else ("met" if gold.met else "not met")

    def category(value: str | None) -> str:
        return "cannot be decided" if value is None else _label(value).lower()

    conclusions: tuple[tuple[str, str, GoldCoastResult | ElEscorialResult | AwajiResult], ...] = (
        ("Gold Coast", met, gold),
        ("Revised El Escorial", category(criteria.el_escorial.category), criteria.el_escorial),
        ("Awaji", category(criteria.awaji.category), criteria.awaji),
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
    if encals.applicable is False:
        value = "not applicable to this patient"
    elif encals.median_survival_months is None:
        value = "not computed"
    else:
        value = f"median survival {encals.median_survival_months:.1f} months from symptom onset"
    return Item(
        "ENCALS survival model",
        tags=_checked((("value", value),), encals.verified),
        because=encals.because,
        missing=encals.missing,
        refs=cite.refs(encals.sources),
    )


def _survival(survival: dict[str, float] | None) -> tuple[tuple[str, str], ...]:
    if not survival:
        return ()
    return tuple(
        (f"{months} months", f"{round(probability * _PERCENT)} %")
        for months, probability in sorted(survival.items(), key=lambda kv: float(kv[0]))
    )


def _conditional(encals: EncalsPrognosis, as_of: dt.date) -> str:
    """The survival from the assessment date, in words (its table is ``_survival``)."""
    conditional = encals.conditional
    if conditional is None:
        if encals.median_survival_months is None:
            return ""
        return f"No survival from {as_of} is computed (see the reasons above)."
    months = _number(conditional.months_since_onset)
    text = f"For a patient free of the event on {as_of}, {months} months after onset"
    if conditional.median_survival_months is None:
        return f"{text}: the median survival from that date is not reached in the model."
    remaining = _number(conditional.median_survival_months)
    return f"{text}: median survival {remaining} more months."


def _prognosis_inputs(encals: EncalsPrognosis) -> tuple[Row, ...]:
    if encals.linear_predictor is None:
        return ()
    inputs = encals.inputs
    rows = [
        _value_row("Age at onset", inputs.age_at_onset_years, " years"),
        _value_row(
            "Diagnostic delay", inputs.diagnostic_delay_months, " months", "onset to diagnosis"
        ),
        _rate_row("Progression rate (ΔFS)", inputs.progression_rate),
        _value_row("FVC", inputs.fvc_percent_predicted, " % predicted"),
        _flag_row("Bulbar onset", inputs.bulbar_onset),
        _flag_row("Definite ALS (revised El Escorial)", inputs.definite_el_escorial),
        _flag_row("Frontotemporal dementia", inputs.ftd),
        _flag_row("C9orf72 repeat expansion", inputs.c9orf72),
        Row("Linear predictor", f"{encals.linear_predictor:.2f}"),
    ]
    return tuple(rows)


def _rate_row(name: str, value: float | None) -> Row:
    return Row(name, _NOT_AVAILABLE if value is None else f"{value:.2f} points/month")


def _value_row(name: str, value: float | None, unit: str, note: str = "") -> Row:
    return Row(name, _NOT_AVAILABLE if value is None else f"{_number(value)}{unit}", note)


def _flag_row(name: str, value: bool | None) -> Row:
    return Row(name, _NOT_AVAILABLE if value is None else ("yes" if value else "no"))


def _differentials(
    assessment: Assessment, cite: _Citations, names: dict[str, str]
) -> tuple[Item, ...]:
    return tuple(
        Item(
            _name(item.id, names),
            tags=_checked(((f"level-{item.level.value}", item.level.value),), item.verified),
            detail=(
                "Tests: " + ", ".join(_name(test, names) for test in item.tests)
                if item.tests
                else ""
            ),
            because=item.because,
            refs=cite.refs(item.sources),
        )
        for item in assessment.differentials
    )


def _investigations(
    assessment: Assessment, cite: _Citations, names: dict[str, str]
) -> tuple[Item, ...]:
    return tuple(
        Item(
            _name(item.id, names),
            tags=_checked(
                ((f"status-{item.status.value}", _label(item.status.value).lower()),),
                item.verified,
            ),
            detail=item.reason,
            refs=cite.refs(item.sources),
        )
        for item in assessment.investigations
    )


def _recommendations(
    assessment: Assessment, cite: _Citations, names: dict[str, str]
) -> tuple[Section, ...]:
    groups: dict[str, list[Item]] = {}
    for item in assessment.recommendations:
        groups.setdefault(item.group, []).append(
            Item(
                _name(item.id, names),
                tags=_checked(
                    (
                        (f"action-{item.action.value}", item.action.value),
                        ("strength", f"strength: {item.strength.replace('_', ' ')}"),
                    ),
                    item.verified,
                ),
                detail=item.detail or "",
                because=item.because,
                refs=cite.refs(item.sources),
            )
        )
    return tuple(Section(_name(group, names), tuple(items)) for group, items in groups.items())


def letter(record: PatientRecord, assessment: Assessment, kb: KnowledgeBase) -> Letter:
    """The view model of the letter; sources are numbered in the order the letter shows them."""
    names = _names(kb)
    cite = _Citations(kb)
    alerts = _alerts(assessment, cite, names)
    scores_item = Item(
        "Scores",
        tags=_checked((), assessment.scores.verified),
        because=assessment.scores.because,
        missing=assessment.scores.missing,
        refs=cite.refs(assessment.scores.sources),
    )
    staging = _staging(assessment, cite)
    region_sources = [source for status in assessment.regions.values() for source in status.sources]
    regions_refs = cite.refs([*region_sources, *assessment.course.sources])
    criteria = _criteria(assessment, cite)
    encals = assessment.prognosis.encals
    prognosis = _prognosis(encals, cite)
    differentials = _differentials(assessment, cite, names)
    investigations = _investigations(assessment, cite, names)
    recommendations = _recommendations(assessment, cite, names)
    lines = fvc_reference_lines(kb)
    line_refs = cite.refs(source for line in lines for source in line.sources)
    return Letter(
        patient_id=record.id,
        as_of=str(assessment.as_of),
        knowledge_version=assessment.knowledge_version,
        alscare_version=alscare.__version__,
        header=_header(record, assessment),
        summary=_summary(record, assessment, names),
        alerts=alerts,
        scores=_scores(assessment.scores),
        scores_item=scores_item,
        score_flags=_score_flags(assessment.scores),
        staging=staging,
        regions=_regions(assessment),
        regions_refs=regions_refs,
        criteria=criteria,
        prognosis=prognosis,
        event=encals.event or "not stated",
        survival=_survival(encals.survival),
        conditional=_conditional(encals, assessment.as_of),
        conditional_survival=_survival(encals.conditional.survival if encals.conditional else None),
        prognosis_inputs=_prognosis_inputs(encals),
        differentials=differentials,
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
        missing=assessment.missing,
        ignored=assessment.ignored,
        sources=cite.listing(),
        disclaimer=kb.about.disclaimer,
        title=f"alscare clinic summary: {record.id}, {assessment.as_of}",
    )


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("alscare.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def _stylesheet() -> str:
    return (resources.files("alscare.report") / "templates" / "letter.css").read_text("utf-8")


def render_html(record: PatientRecord, assessment: Assessment, kb: KnowledgeBase) -> str:
    """The letter as one self-contained HTML page (styles and charts inline, no scripts)."""
    template = _environment().get_template("letter.html.j2")
    return template.render(letter=letter(record, assessment, kb), stylesheet=Markup(_stylesheet()))
