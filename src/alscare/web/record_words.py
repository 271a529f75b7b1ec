"""The record v2 in words, for the pages that correct it and show its history: the label of
every field, the words for its values, a short summary of an entry, and where a JSON pointer
points ("Weight of 2025-03-10: Weight (kg)").

The labels of ids (sex, sites, findings, risk factors, interventions, ...) come from
:mod:`alscare.presentation`, the one wording of every view; this module adds the words for the
record's own fields. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from alscare.presentation import Kind, Wording, humanise, number
from alscare.schemas.vocabulary import (
    CareKind,
    FindingId,
    InterventionEvent,
    InterventionKind,
    InvestigationId,
    Jurisdiction,
    OnsetSite,
    RiskFactorId,
    Sex,
)
from alscare.web.forms import alsfrs_r_anchors
from alscare.web.record_view import (
    EMG_FLAG_LABELS,
    EMG_SIGN_LABELS,
    EXAM_SIGN_LABELS,
    REGION_LABELS,
)

__all__ = [
    "SERIES_PARTS",
    "SeriesPart",
    "entry_date",
    "entry_title",
    "field_label",
    "place",
    "summary",
    "value_label",
]


@dataclass(frozen=True)
class SeriesPart:
    """A series of the record as the pages name it: its field, URL segment and words."""

    series: str
    segment: str
    title: str
    noun: str


SERIES_PARTS: Final = tuple(
    SeriesPart(series, series.replace("_", "-"), title, noun)
    for series, title, noun in (
        ("alsfrs_r", "ALSFRS-R ratings", "ALSFRS-R rating"),
        ("respiratory", "Breathing tests", "Breathing tests"),
        ("weights", "Weights", "Weight"),
        ("examinations", "Examinations", "Examination"),
        ("emg_studies", "EMG and nerve conduction studies", "EMG study"),
        ("findings", "Findings", "Finding"),
        ("tests", "Test results", "Test result"),
        ("genetics", "Genetic results", "Genetic result"),
        ("labs", "Laboratory values", "Laboratory value"),
        ("medications", "Medications", "Medication"),
        ("interventions", "Interventions", "Intervention event"),
        ("cognition", "Cognitive and behavioural screens", "Cognitive screen"),
        ("care", "Care events", "Care event"),
    )
)
_PARTS: Final = {part.series: part for part in SERIES_PARTS}

_FIELDS: Final[Mapping[str, str]] = {
    "identity": "Identity",
    "name": "Name",
    "identifiers": "Hospital and national numbers",
    "system": "Which number (MRN, NHS, ...)",
    "sex": "Sex",
    "birth_date": "Birth date",
    "age_years": "Age (years)",
    "age_on": "Date of that age",
    "height_cm": "Height (cm)",
    "jurisdiction": "Jurisdiction",
    "symptom_onset": "Symptom onset",
    "site": "Site of onset",
    "diagnosis_date": "Diagnosis date",
    "progressive": "Progressive motor impairment documented",
    "family_history": "Family history",
    "als": "ALS in the family",
    "risk_factors": "Risk factors",
    "premorbid_weight_kg": "Premorbid weight (kg)",
    "death": "Death",
    "date": "Date",
    "date_inferred": "Date inferred (a record v1 gave none)",
    "present": "Present",
    "region": "Region",
    "side": "Side",
    "regions": "Regions",
    "muscles": "Muscles showing changes",
    "result": "Result",
    "value": "Value",
    "unit": "Unit",
    "lower_limit": "Lower limit of normal",
    "upper_limit": "Upper limit of normal",
    "finding": "Finding (as reported)",
    "gene": "Gene",
    "variant": "Variant",
    "items": "Items",
    "gastrostomy": "Item 5 rated in its 5b form (gastrostomy)",
    "gastrostomy_assumed": "5a or 5b form assumed (a record v1 did not say)",
    "fvc_percent_predicted": "FVC (% predicted)",
    "fvc_litres": "FVC (L)",
    "position": "Position (FVC)",
    "supine_fvc_percent_predicted": "Supine FVC (% predicted)",
    "snip_cmh2o": "SNIP (cmH₂O)",
    "mip_cmh2o": "MIP (cmH₂O)",
    "paco2_kpa": "PaCO₂ (kPa)",
    "paco2_mmhg": "PaCO₂ (mmHg)",
    "spo2_percent": "SpO₂ (%)",
    "nocturnal_spo2_below_90_percent_time": "Night-time with SpO₂ below 90 % (% of sleep)",
    "nocturnal_spo2_88_or_below_minutes": "Night-time with SpO₂ at or below 88 % (minutes)",
    "peak_cough_flow_l_min": "Peak cough flow (L/min)",
    "symptoms": "Symptoms",
    "kg": "Weight (kg)",
    "ecas_total": "ECAS total (of 136)",
    "behaviour_change": "Behaviour change",
    "since": "Taken since",
    "until": "Stopped on (the first day without it)",
    "stop_reason": "Why it was stopped",
    "event": "Event",
    "hours_per_day": "Hours a day",
    **EXAM_SIGN_LABELS,
    **EMG_SIGN_LABELS,
    **EMG_FLAG_LABELS,
    **{part.series: part.title for part in SERIES_PARTS},
}
# Fields whose words depend on the part of the record they are in.
_OWN_FIELDS: Final[Mapping[tuple[str, str], str]] = {
    ("findings", "id"): "Finding",
    ("tests", "id"): "Test",
    ("labs", "id"): "Laboratory test",
    ("medications", "name"): "Drug",
    ("interventions", "kind"): "Intervention",
    ("care", "kind"): "Care event",
    ("family_history", "ftd"): "FTD in the family",
    ("cognition", "ftd"): "Frontotemporal dementia",
    ("identity", "value"): "Number",
    ("symptom_onset", "date"): "Date of symptom onset",
    ("death", "date"): "Date of death",
}
# The ids whose labels the one wording of every view holds.
_KINDS: Final[Mapping[type[StrEnum], Kind]] = {
    Sex: Kind.SEX,
    OnsetSite: Kind.ONSET_SITE,
    Jurisdiction: Kind.JURISDICTION,
    InterventionKind: Kind.INTERVENTION,
    InterventionEvent: Kind.INTERVENTION_EVENT,
    CareKind: Kind.CARE,
    FindingId: Kind.FINDING,
    RiskFactorId: Kind.RISK_FACTOR,
    InvestigationId: Kind.INVESTIGATION,
}
_REGIONS: Final = {region.value: text for region, text in REGION_LABELS.items()}


def _item_labels() -> dict[str, str]:
    labels = {}
    for item in alsfrs_r_anchors().items:
        text = f"Item {item.number} {_short(item.label)}"
        if item.gastrostomy_form is not None:
            both = f"{_short(item.label)} (5a) or {_short(item.gastrostomy_form.label).lower()}"
            text = f"Item 5 {both} (5b)"
        labels[item.id.value] = text
    return labels


def _short(label: str) -> str:
    """An item's name without its aside: "Shortness of breath (dyspnoea)" keeps it, "Cutting
    food and handling utensils (no gastrostomy)" loses it (the form says 5a or 5b)."""
    name, _, aside = label.partition(" (")
    return name if "gastrostomy" in aside else label


def field_label(key: str, part: str = "") -> str:
    """The words for a field of the record (``part``: the series or field it is in)."""
    if key in _REGIONS:
        return _REGIONS[key]
    own = _OWN_FIELDS.get((part, key)) or _FIELDS.get(key) or _item_labels().get(key)
    return own or humanise(key)


def value_label(enum: type[StrEnum], value: str, words: Wording) -> str:
    """The words for an id of the record's vocabulary."""
    kind = _KINDS.get(enum)
    return words.label(kind, value) if kind is not None else humanise(value)


def entry_date(entry: Mapping[str, Any]) -> str | None:
    """The date that places an entry (a drug: the day it was started), if it has one."""
    when = entry.get("date") or entry.get("since")
    return str(when) if when else None


def entry_title(series: str, entry: Mapping[str, Any]) -> str:
    """ "Weight of 2025-03-10", "Medication riluzole of 2024-06-20", "Test result (undated)"."""
    part = _PARTS[series]
    what = entry.get("name") or entry.get("gene")
    noun = f"{part.noun} {what}" if isinstance(what, str) else part.noun
    when = entry_date(entry)
    return f"{noun} of {when}" if when else f"{noun} (undated)"


def place(pointer: str, record: Mapping[str, Any]) -> str:
    """Where a JSON pointer into the record points, in words: its field, and for an entry of
    a series the entry by its date ("Weight of 2025-03-10: Weight (kg)")."""
    tokens = [token.replace("~1", "/").replace("~0", "~") for token in pointer.split("/")[1:]]
    if not tokens:
        return "Record"
    head, rest = tokens[0], tokens[1:]
    value: Any = record.get(head)
    if head in _PARTS and rest and rest[0].isdigit() and isinstance(value, list):
        index = int(rest[0])
        entry = value[index] if index < len(value) and isinstance(value[index], dict) else {}
        where = entry_title(head, entry) if entry else f"{_PARTS[head].noun} {index + 1}"
        rest = rest[1:]
    else:
        where = field_label(head)
    inner = [field_label(token, head) for token in rest if not token.isdigit()]
    return ": ".join([where, " › ".join(inner)]) if inner else where


def summary(value: Any, part: str = "", *, entry: bool = False) -> str:
    """A value of the record in short words; an ``entry`` of a series without its date (which
    its title or row already gives)."""
    if isinstance(value, dict):
        if set(value) == {"system", "value"}:  # a hospital or national number
            return f"{value['system']} {value['value']}"
        skipped = ("date", "date_inferred") if entry else ()
        fields = [
            f"{field_label(key, part)}: {summary(item, part)}"
            for key, item in value.items()
            if item is not None and key not in skipped
        ]
        return "; ".join(fields) if fields else _NOTHING.get(part, "nothing recorded")
    if isinstance(value, list):
        return ", ".join(summary(item, part) for item in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return number(value, digits=_digits(value))
    if isinstance(value, str) and _is_date(value):
        return value
    return humanise(value) if isinstance(value, str) and value.islower() else str(value)


# An empty region of an examination or a study was examined and showed nothing.
_NOTHING: Final = {"examinations": "examined, no sign found", "emg_studies": "no change found"}


def _digits(value: float) -> int:
    text = repr(float(value)).rstrip("0").rstrip(".")
    return len(text.partition(".")[2])


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
