"""One wording of the assessment for every view: the terminal, the pages, the letter and the API.

Every view shows the same clinical truth in the same words: the labels of the ids an assessment
holds (alerts, recommendations and their groups, differentials, investigations, findings, the
criteria categories such as ``probable_laboratory_supported``, stages, regions, actions,
severities, statuses), numbers with their units and sensible digits, dates, and the common
marks: *unverified*, *stale* and *implausible*, the ENCALS event and the caveats of the model.

Ids of the knowledge base are shown through the knowledge base's own labels
(:class:`Wording`); the ids it gives no label to have alscare's words here, and an id neither
knows (a field added later) is turned into words, so no view ever shows a snake_case id.
Pure: no I/O, no clock; the knowledge base is passed in.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

from alscare.engine.state import patient_state
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.document import FINDING_KIND_TITLES
from alscare.schemas.assessment import Assessment, EncalsPrognosis, Scores
from alscare.schemas.patient import PatientRecord

__all__ = [
    "ENCALS_CAVEAT",
    "CANNOT_BE_DECIDED",
    "ENCALS_NOT_APPLICABLE",
    "IMPLAUSIBLE",
    "MARKS",
    "NOT_KNOWN",
    "NOT_RECORDED",
    "SCORE_KEYS",
    "STALE",
    "UNVERIFIED",
    "UNVERIFIED_LEGEND",
    "UNVERIFIED_MEANING",
    "Factor",
    "FactorGroup",
    "Kind",
    "Wording",
    "age",
    "age_text",
    "clinical_text",
    "date",
    "encals_conditional",
    "encals_estimate",
    "encals_event",
    "encals_inputs",
    "factor_groups",
    "gold_coast",
    "humanise",
    "number",
    "percent",
    "score_flags",
    "score_value",
    "stage",
    "survival",
    "wording",
    "yes_no",
]

NOT_KNOWN: Final = "not known"
NOT_RECORDED: Final = "not recorded"
CANNOT_BE_DECIDED: Final = "cannot be decided"
UNVERIFIED: Final = "unverified"
UNVERIFIED_MEANING: Final = (
    "rests on a rule or threshold that could not be checked against its source"
)
UNVERIFIED_LEGEND: Final = f"A conclusion marked '{UNVERIFIED}' {UNVERIFIED_MEANING}."
STALE: Final = "stale"
IMPLAUSIBLE: Final = "implausible"
#: What each mark on a conclusion or a score means, as every view explains it.
MARKS: Final = {
    UNVERIFIED: UNVERIFIED_MEANING,
    STALE: "older than its repeat window: a new measurement is due",
    IMPLAUSIBLE: "outside the knowledge base's data-quality limits: shown, not used for advice",
}
ENCALS_CAVEAT: Final = (
    "The ENCALS model estimates survival for groups of patients like this one, counted from "
    "symptom onset to the event it predicts. It takes its inputs at diagnosis and was developed "
    "in European ALS centres: it describes a population, not this person's future, and should "
    "be discussed, if at all, with care and in context. Where it does not apply to this "
    "patient, no figures are given."
)
ENCALS_NOT_APPLICABLE: Final = (
    "Not applicable to this patient: the model gives no credible estimate here, so none is shown."
)
_DEATH_STAGE: Final = "5"


class Kind(StrEnum):
    """The kinds of id a view shows. One id can mean different things (``niv`` the
    recommendation and ``niv`` the intervention, ``consider`` the action and the status), so
    every label is asked for with its kind."""

    ALERT = "alert"
    RECOMMENDATION = "recommendation"
    GROUP = "group"
    DIFFERENTIAL = "differential"
    INVESTIGATION = "investigation"
    FINDING = "finding"
    RISK_FACTOR = "risk_factor"
    FACTOR_KIND = "factor_kind"
    ACTION = "action"
    SEVERITY = "severity"
    STATUS = "status"
    LEVEL = "level"
    STRENGTH = "strength"
    EL_ESCORIAL = "el_escorial"
    AWAJI = "awaji"
    REGION = "region"
    KINGS_REGION = "kings_region"
    KINGS_METHOD = "kings_method"
    MITOS_DOMAIN = "mitos_domain"
    ALSFRS_DOMAIN = "alsfrs_domain"
    LMN_SOURCE = "lmn_source"
    PROGRESSION_BAND = "progression_band"
    SCORE = "score"
    ENCALS_INPUT = "encals_input"
    SEX = "sex"
    ONSET_SITE = "onset_site"
    JURISDICTION = "jurisdiction"
    INTERVENTION = "intervention"
    INTERVENTION_EVENT = "intervention_event"
    CARE = "care"


_CATEGORIES: Final = {
    "definite": "Clinically definite",
    "probable": "Clinically probable",
    "probable_laboratory_supported": "Clinically probable, laboratory-supported",
    "possible": "Clinically possible",
    "not_met": "Not met",
}
_REGIONS: Final = {
    "bulbar": "Bulbar",
    "cervical": "Cervical",
    "thoracic": "Thoracic",
    "lumbosacral": "Lumbosacral",
}
# alscare's words for the ids the knowledge base gives no label of its own.
_OWN: Final[Mapping[Kind, Mapping[str, str]]] = {
    Kind.ALERT: {
        "niv_indicated": "NIV indicated",
        "gastrostomy_indicated": "Gastrostomy indicated",
        "riluzole_hepatotoxicity": "Riluzole: raised liver enzymes",
        "riluzole_neutropenia": "Riluzole: low neutrophil count",
        "respiratory_review_overdue": "Respiratory review overdue",
        "rapid_progression": "Rapid progression",
        "mimic_suspected": "ALS mimic suspected",
        "hypercapnia_urgent_review": "Raised PaCO₂: urgent respiratory review",
        "drug_not_authorised": "Drug not authorised in this jurisdiction",
    },
    Kind.FACTOR_KIND: FINDING_KIND_TITLES,
    Kind.ACTION: {
        "start": "Start",
        "continue": "Continue",
        "consider": "Consider",
        "hold": "Hold",
        "stop": "Stop",
        "refer": "Refer",
        "monitor": "Monitor",
    },
    Kind.SEVERITY: {"high": "High priority", "medium": "Medium priority", "low": "Low priority"},
    Kind.STATUS: {
        "done": "Done",
        "recommended": "Recommended",
        "consider": "To consider",
        "not_needed": "Not needed",
    },
    Kind.LEVEL: {"suspected": "Suspected", "consider": "To consider"},
    Kind.STRENGTH: {
        "strong": "Strong",
        "moderate": "Moderate",
        "weak": "Weak",
        "good_practice": "Good practice",
        "consensus": "Consensus",
        "label": "Product label",
        "not_graded": "Not graded",
    },
    Kind.EL_ESCORIAL: _CATEGORIES,
    Kind.AWAJI: {key: text for key, text in _CATEGORIES.items() if "laboratory" not in key},
    Kind.REGION: _REGIONS,
    Kind.KINGS_REGION: {
        "bulbar": "Bulbar",
        "upper_limb": "Upper limb",
        "lower_limb": "Lower limb",
        "diaphragmatic": "Diaphragm (breathing)",
    },
    Kind.KINGS_METHOD: {
        "alsfrs_r": "estimated from the ALSFRS-R",
        "clinical": "from clinical milestones",
    },
    Kind.MITOS_DOMAIN: {
        "movement": "Movement",
        "swallowing": "Swallowing",
        "communicating": "Communicating",
        "breathing": "Breathing",
    },
    Kind.ALSFRS_DOMAIN: {
        "bulbar": "Bulbar",
        "fine_motor": "Fine motor",
        "gross_motor": "Gross motor",
        "respiratory": "Respiratory",
    },
    Kind.LMN_SOURCE: {
        "clinical": "clinical signs",
        "emg": "EMG",
        "clinical+emg": "clinical signs and EMG",
    },
    Kind.PROGRESSION_BAND: {"slow": "slow", "intermediate": "intermediate", "fast": "fast"},
    Kind.SCORE: {
        "alsfrs_r": "ALSFRS-R total",
        "progression_rate": "Progression rate (ΔFS)",
        "alsfrs_r_slope": "ALSFRS-R slope",
        "fvc_percent_predicted": "FVC",
        "weight_loss_percent": "Weight loss",
        "bmi": "BMI",
    },
    Kind.ENCALS_INPUT: {
        "age_at_onset_years": "Age at onset",
        "diagnostic_delay_months": "Diagnostic delay (onset to diagnosis)",
        "progression_rate": "Progression rate (ΔFS)",
        "fvc_percent_predicted": "FVC",
        "bulbar_onset": "Bulbar onset",
        "definite_el_escorial": "Definite ALS (revised El Escorial)",
        "ftd": "Frontotemporal dementia",
        "c9orf72": "C9orf72 repeat expansion",
    },
    Kind.SEX: {"female": "Female", "male": "Male", "other": "Other", "unknown": "Unknown"},
    Kind.ONSET_SITE: {
        **_REGIONS,
        "respiratory": "Respiratory",
        "generalized": "Generalised",
        "cognitive": "Cognitive",
    },
    Kind.JURISDICTION: {
        "US": "United States",
        "EU": "European Union",
        "UK": "United Kingdom",
        "CA": "Canada",
        "JP": "Japan",
        "AU": "Australia",
        "OTHER": "Other",
    },
    Kind.INTERVENTION: {
        "niv": "NIV",
        "gastrostomy": "Gastrostomy",
        "tracheostomy": "Tracheostomy",
        "cough_assist": "Cough assist",
    },
    Kind.INTERVENTION_EVENT: {
        "offered": "Offered",
        "declined": "Declined",
        "started": "Started",
        "stopped": "Stopped",
    },
    Kind.CARE: {
        "multidisciplinary_clinic": "Multidisciplinary clinic",
        "advance_care_plan": "Advance care plan",
        "palliative_care_referral": "Referral to palliative care",
    },
}
# Words kept in their own spelling when an unknown id is turned into words.
_SPELLINGS: Final = {
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
    "ftd": "FTD",
    "fvc": "FVC",
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
# Whole ids with a spelling of their own.
_ID_SPELLINGS: Final = {"alsfrs_r": "ALSFRS-R", "delta_fs": "ΔFS"}
_SNAKE: Final = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")


def humanise(identifier: object) -> str:
    """An id no table knows, in words: ``anti_gm1_antibodies`` -> ``Anti GM1 antibodies``."""
    text = _words(str(identifier))
    return text[:1].upper() + text[1:]


def _words(identifier: str) -> str:
    if identifier in _ID_SPELLINGS:
        return _ID_SPELLINGS[identifier]
    parts = identifier.replace("+", "_and_").split("_")
    return " ".join(_SPELLINGS.get(word, word) for word in parts)


def clinical_text(text: str) -> str:
    """A sentence of the assessment as a clinician reads it: the engine's sentences call the
    assessment date ``as_of`` (``"... is after as_of"``), and a snake_case id left in one is
    put into words."""
    dated = text.replace("as_of", "the assessment date")
    return _SNAKE.sub(lambda match: _words(match.group()), dated)


# --- the words of one knowledge base ----------------------------------------------------------


class Wording:
    """The labels of the ids of one knowledge base, with alscare's words for the rest.

    ``label(kind, id)`` is the knowledge base's label of the id when it has one, then
    alscare's, then the id in words; ``any_label(id)`` looks in every kind (for views that
    know only the id).
    """

    def __init__(self, kb: KnowledgeBase | None = None) -> None:
        known = _kb_labels(kb) if kb is not None else {}
        self._labels: dict[Kind, dict[str, str]] = {
            kind: {**_OWN.get(kind, {}), **known.get(kind, {})} for kind in Kind
        }

    def label(self, kind: Kind | str, identifier: object) -> str:
        if identifier is None:
            return NOT_KNOWN
        text = str(identifier)
        return self._labels[Kind(kind)].get(text) or humanise(text)

    def category(self, kind: Kind | str, identifier: object) -> str:
        """A criteria category (El Escorial, Awaji-Shima); "cannot be decided" when None."""
        return CANNOT_BE_DECIDED if identifier is None else self.label(kind, identifier)

    def any_label(self, identifier: object) -> str:
        text = str(identifier)
        for labels in self._labels.values():
            if text in labels:
                return labels[text]
        return humanise(text)

    def labels(self, kind: Kind | str, identifiers: Iterable[object]) -> str:
        """Several ids of one kind as a list in words; "none" when there is none."""
        return ", ".join(self.label(kind, identifier) for identifier in identifiers) or "none"

    def vocabulary(self) -> dict[str, dict[str, str]]:
        """Every label by kind, as plain data (the API serves it to its clients)."""
        return {kind.value: dict(labels) for kind, labels in self._labels.items()}


def _kb_labels(kb: KnowledgeBase) -> dict[Kind, dict[str, str]]:
    groups = kb.treatment.groups
    return {
        Kind.RECOMMENDATION: {
            **{drug.id: drug.label for drug in kb.treatment.drugs},
            **{step.id: step.label for group in groups for step in group.steps},
        },
        Kind.GROUP: {group.id: group.label for group in groups},
        Kind.DIFFERENTIAL: _labelled(kb.diagnosis.differentials),
        Kind.INVESTIGATION: _labelled(kb.diagnosis.investigations),
        Kind.FINDING: _labelled(kb.topic.findings),
        Kind.RISK_FACTOR: _labelled(kb.topic.risk_factors),
    }


class _Labelled(Protocol):
    """An item of the knowledge base with an id and a label of its own."""

    @property
    def id(self) -> object: ...

    @property
    def label(self) -> str: ...


def _labelled(items: Iterable[_Labelled]) -> dict[str, str]:
    return {str(item.id): item.label for item in items}


_WORDINGS: dict[int, tuple[KnowledgeBase, Wording]] = {}


def wording(kb: KnowledgeBase | None) -> Wording:
    """The wording of a knowledge base, made once per knowledge base (an app holds one)."""
    if kb is None:
        return _PLAIN
    cached = _WORDINGS.get(id(kb))
    if cached is None or cached[0] is not kb:
        cached = (kb, Wording(kb))
        _WORDINGS[id(kb)] = cached
    return cached[1]


_PLAIN: Final = Wording()


# --- numbers, dates, stages -------------------------------------------------------------------


def number(value: float | None, unit: str = "", *, digits: int = 1) -> str:
    """A number with at most ``digits`` decimals (no trailing zeros) and its unit after a space:
    ``number(41.0, "% predicted")`` -> ``41 % predicted``; None -> "not known"."""
    if value is None:
        return NOT_KNOWN
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    text = "0" if text == "-0" else text
    return f"{text} {unit}" if unit else text


def percent(probability: float) -> str:
    """A probability as a whole percentage: 0.484 -> ``48 %``."""
    return f"{round(probability * 100)} %"


def survival(probabilities: Mapping[str, float] | None) -> tuple[tuple[str, str], ...]:
    """Survival probabilities by months, in order of months: ``(("12 months", "48 %"), ...)``."""
    ordered = sorted((probabilities or {}).items(), key=lambda item: float(item[0]))
    return tuple((f"{months} months", percent(probability)) for months, probability in ordered)


def date(value: dt.date | None) -> str:
    """A date as the clinic writes it in every view (ISO 8601, never ambiguous)."""
    return NOT_KNOWN if value is None else value.isoformat()


def yes_no(value: bool | None, unknown: str = NOT_KNOWN) -> str:
    return unknown if value is None else ("yes" if value else "no")


def gold_coast(met: bool | None) -> str:
    """Whether the Gold Coast criteria are met."""
    return CANNOT_BE_DECIDED if met is None else ("met" if met else "not met")


def stage(value: object | None) -> str:
    """A King's or MiToS stage; stage 5 says what it means."""
    if value is None:
        return NOT_KNOWN
    text = str(value)
    return f"{text} (death)" if text == _DEATH_STAGE else text


def age(record: PatientRecord, on: dt.date) -> int | None:
    """The patient's age in whole years on ``on``, as the engine counts it (birthdays, or an
    age recorded on a date)."""
    years = patient_state(record, on).age_on(on)
    return None if years is None else int(years)


def age_text(record: PatientRecord, on: dt.date) -> str:
    """The age on ``on`` with what it rests on: ``63 years (born 1961-09-14)``, or ``71 years
    (70 recorded on 2025-01-15)`` when only an age was recorded."""
    years = age(record, on)
    if years is None:
        return NOT_RECORDED
    if record.birth_date is not None:
        return f"{years} years (born {date(record.birth_date)})"
    return f"{years} years ({number(record.age_years)} recorded on {date(record.age_on)})"


# --- scores -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ScoreFormat:
    unit: str
    digits: int


_SCORE_FORMATS: Final = {
    "progression_rate": _ScoreFormat("points/month", 2),
    "alsfrs_r_slope": _ScoreFormat("points/month", 2),
    "fvc_percent_predicted": _ScoreFormat("% predicted", 1),
    "weight_loss_percent": _ScoreFormat("% of premorbid weight", 1),
    "bmi": _ScoreFormat("kg/m²", 1),
}
#: The scores of an assessment in the order every view shows them.
SCORE_KEYS: Final = ("alsfrs_r", *_SCORE_FORMATS)


def score_value(scores: Scores, key: str) -> str | None:
    """A score with its unit (the ALSFRS-R as ``40/48``, the progression rate with its band),
    without its date; None when the assessment has none."""
    if key == "alsfrs_r":
        return None if scores.alsfrs_r is None else f"{scores.alsfrs_r.total}/48"
    value = getattr(scores, key)
    if value is None:
        return None
    shown = number(value, _SCORE_FORMATS[key].unit, digits=_SCORE_FORMATS[key].digits)
    if key == "progression_rate" and scores.progression_band is not None:
        shown += f" ({scores.progression_band})"
    return shown


def score_flags(scores: Scores, key: str) -> tuple[str, ...]:
    """The marks of a score: stale (past its repeat window), implausible (not used for advice)."""
    return tuple(
        flag
        for flag, keys in ((STALE, scores.stale), (IMPLAUSIBLE, scores.implausible))
        if key in keys
    )


# --- diagnostic and risk factors ---------------------------------------------------------------


@dataclass(frozen=True)
class Factor:
    """A factor recorded present or absent, in words, with the facts that say so."""

    label: str
    present: bool
    because: tuple[str, ...]


@dataclass(frozen=True)
class FactorGroup:
    """The factors of one kind ("Key diagnostic factors", ..., "Risk factors"): those recorded,
    and the labels of those not recorded."""

    title: str
    recorded: tuple[Factor, ...]
    not_recorded: tuple[str, ...]


def factor_groups(assessment: Assessment, words: Wording) -> tuple[FactorGroup, ...]:
    """The diagnostic factors by kind, then the risk factors; kinds with no factor left out."""
    diagnostic = assessment.diagnostic_factors
    kinds = dict.fromkeys(factor.kind for factor in diagnostic)
    groups = [
        _group(
            words.label(Kind.FACTOR_KIND, kind),
            Kind.FINDING,
            [(f.id, f.present, f.because) for f in diagnostic if f.kind == kind],
            words,
        )
        for kind in kinds
    ]
    risk = [(f.id, f.present, f.because) for f in assessment.risk_factors]
    if risk:
        groups.append(_group("Risk factors", Kind.RISK_FACTOR, risk, words))
    return tuple(groups)


def _group(
    title: str,
    kind: Kind,
    factors: Iterable[tuple[str, bool | None, tuple[str, ...]]],
    words: Wording,
) -> FactorGroup:
    listed = list(factors)
    recorded = tuple(
        Factor(words.label(kind, key), present, because)
        for key, present, because in listed
        if present is not None
    )
    unknown = tuple(words.label(kind, key) for key, present, _ in listed if present is None)
    return FactorGroup(title, recorded, unknown)


# --- the ENCALS model -------------------------------------------------------------------------


def encals_event(encals: EncalsPrognosis) -> str:
    """The event the model predicts the time to, as the assessment states it."""
    return encals.event or "not stated"


# The unit and digits of each input of the model that is a number (the others are yes or no).
_INPUT_UNITS: Final = {
    "age_at_onset_years": ("years", 1),
    "diagnostic_delay_months": ("months", 1),
    "progression_rate": ("points/month", 2),
    "fvc_percent_predicted": ("% predicted", 1),
}


def encals_inputs(encals: EncalsPrognosis, words: Wording) -> tuple[tuple[str, str], ...]:
    """The model's inputs at diagnosis as (label, value) rows, with their units."""
    rows = []
    for name in type(encals.inputs).model_fields:
        value = getattr(encals.inputs, name)
        if isinstance(value, bool) or value is None:
            shown = yes_no(value)
        else:
            unit, digits = _INPUT_UNITS[name]
            shown = number(value, unit, digits=digits)
        rows.append((words.label(Kind.ENCALS_INPUT, name), shown))
    return tuple(rows)


def encals_estimate(encals: EncalsPrognosis) -> str:
    """The model's answer in one phrase: not applicable, not computed, or the median."""
    if encals.applicable is False:
        return "not applicable to this patient"
    if encals.median_survival_months is None:
        return "not computed"
    return f"median survival {number(encals.median_survival_months, 'months')} from symptom onset"


def encals_conditional(encals: EncalsPrognosis, as_of: dt.date) -> str:
    """The survival from the assessment date, for a patient free of the event on it, in words
    ("" when the model gave no figures at all)."""
    conditional = encals.conditional
    if conditional is None:
        if encals.median_survival_months is None:
            return ""
        return f"No survival from {date(as_of)} is computed (see the reasons)."
    months = number(conditional.months_since_onset, "months")
    text = f"For a patient free of the event on {date(as_of)}, {months} after onset"
    if conditional.median_survival_months is None:
        return f"{text}: the median survival from that date is not reached in the model."
    return f"{text}: median survival {number(conditional.median_survival_months)} more months."
