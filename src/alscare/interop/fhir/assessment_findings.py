"""The stages and the diagnostic criteria of an assessment as Observations.

Each Observation is coded under alscare's code system by the assessment's own path
(``staging.kings``, ``criteria.el_escorial``) and its value by that path and the assessment's
value (``staging.kings.4B``, ``criteria.el_escorial.probable``), shown in the words of
``presentation``. A stage or category the assessment could not decide has no value but a
``dataAbsentReason`` in the words every view shows ("not known", "cannot be decided").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from alscare.interop.fhir.assessment_parts import (
    Export,
    Json,
    coding,
    compact,
    concept,
    marked,
    notes,
)
from alscare.presentation import Kind, Wording, gold_coast, stage
from alscare.schemas.assessment import Criteria, Staging

__all__ = ["finding_observations"]

_CATEGORIES: Final = {"staging": "Staging", "criteria": "Diagnostic criteria"}
_ABSENT: Final = {
    "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
    "code": "unknown",
    "display": "Unknown",
}


@dataclass(frozen=True, slots=True)
class _Component:
    name: str
    display: str
    value: str | bool


@dataclass(frozen=True, slots=True)
class _Finding:
    """One stage or criteria result, read from the assessment and put into words."""

    path: str
    display: str
    value: str | None
    shown: str
    because: tuple[str, ...]
    sources: tuple[str, ...]
    missing: tuple[str, ...] = ()
    verified: bool | None = None
    method: tuple[str, str] | None = None
    components: tuple[_Component, ...] = ()


def finding_observations(export: Export) -> list[Json]:
    """King's stage, King's clinical stage and MiToS stage when the assessment has them, then
    Gold Coast, revised El Escorial and Awaji-Shima."""
    assessment = export.assessment
    findings = [
        *_staging(assessment.staging, export),
        *_criteria(assessment.criteria, export),
    ]
    return [_observation(finding, export) for finding in findings]


def _staging(staging: Staging, export: Export) -> Iterator[_Finding]:
    """The stages; each names what the staging lacked (every entry says which stage it is for)."""
    words = export.words
    kings = staging.kings
    method = kings.method
    # The regions counted only mean something when they gave a stage.
    regions = () if kings.stage is None else (_listed(kings.regions_involved, words),)
    yield _Finding(
        "staging.kings",
        "King's stage",
        None if kings.stage is None else kings.stage.value,
        stage(kings.stage),
        kings.because,
        kings.sources,
        staging.missing,
        kings.verified,
        None if method is None else (method, words.label(Kind.KINGS_METHOD, method)),
        (
            *regions,
            *_flag("gastrostomy", "Gastrostomy", kings.gastrostomy),
            *_flag("niv", "NIV", kings.niv),
        ),
    )
    clinical = staging.kings_clinical
    if clinical is not None:
        yield _Finding(
            "staging.kings_clinical",
            "King's clinical stage",
            clinical.stage.value,
            stage(clinical.stage),
            clinical.because,
            clinical.sources,
            staging.missing,
            clinical.verified,
            components=(_listed(clinical.regions_involved, words),),
        )
    mitos = staging.mitos
    if mitos is not None:
        lost = words.labels(Kind.MITOS_DOMAIN, mitos.domains_lost)
        yield _Finding(
            "staging.mitos",
            "MiToS stage",
            None if mitos.stage is None else str(mitos.stage),
            stage(mitos.stage),
            mitos.because,
            mitos.sources,
            staging.missing,
            components=(_Component("domains_lost", "Domains lost", lost),),
        )


def _listed(regions: tuple[str, ...], words: Wording) -> _Component:
    """The King's regions a stage counted, in words."""
    return _Component(
        "regions_involved", "Regions involved", words.labels(Kind.KINGS_REGION, regions)
    )


def _flag(name: str, display: str, value: bool | None) -> tuple[_Component, ...]:
    return () if value is None else (_Component(name, display, value),)


def _criteria(criteria: Criteria, export: Export) -> Iterator[_Finding]:
    words = export.words
    gold = criteria.gold_coast
    met = None if gold.met is None else ("met" if gold.met else "not_met")
    yield _Finding(
        "criteria.gold_coast",
        "Gold Coast criteria",
        met,
        gold_coast(gold.met),
        gold.because,
        gold.sources,
        gold.missing,
        gold.verified,
    )
    escorial = criteria.el_escorial
    category = escorial.category
    yield _Finding(
        "criteria.el_escorial",
        "Revised El Escorial criteria",
        None if category is None else category.value,
        words.category(Kind.EL_ESCORIAL, category),
        escorial.because,
        escorial.sources,
        escorial.missing,
        escorial.verified,
        components=_flag(
            "familial_laboratory_supported",
            "Familial, laboratory-supported",
            escorial.familial_laboratory_supported,
        ),
    )
    awaji = criteria.awaji
    yield _Finding(
        "criteria.awaji",
        "Awaji-Shima criteria",
        None if awaji.category is None else awaji.category.value,
        words.category(Kind.AWAJI, awaji.category),
        awaji.because,
        awaji.sources,
        awaji.missing,
        awaji.verified,
    )


def _observation(finding: _Finding, export: Export) -> Json:
    path = finding.path
    section = path.split(".")[0]
    resource = {
        **export.resource("Observation", path.replace(".", "-")),
        "extension": export.marks(finding.verified, finding.sources),
        "status": "final",
        "category": [concept(section, _CATEGORIES[section])],
        "code": concept(path, finding.display, marked(finding.display, finding.verified)),
        "subject": export.subject(),
        "effectiveDateTime": export.date,
        **_value(finding),
        "method": _method(finding),
        "component": [_component(path, component) for component in finding.components],
        "note": notes(because=finding.because, missing=finding.missing, verified=finding.verified),
    }
    return compact(resource)


def _method(finding: _Finding) -> Json | None:
    if finding.method is None:
        return None
    code, display = finding.method
    return concept(f"{finding.path}.method.{code}", display)


def _value(finding: _Finding) -> Json:
    if finding.value is None:
        return {"dataAbsentReason": {"coding": [dict(_ABSENT)], "text": finding.shown}}
    text = marked(finding.shown, finding.verified)
    return {"valueCodeableConcept": concept(f"{finding.path}.{finding.value}", finding.shown, text)}


def _component(path: str, component: _Component) -> Json:
    value = component.value
    key = "valueBoolean" if isinstance(value, bool) else "valueString"
    return {"code": {"coding": [coding(f"{path}.{component.name}", component.display)]}, key: value}
