"""Diagnostic and risk factors of the topic, marked present, absent or not recorded.

Nothing is inferred from silence: a factor is ``present: true`` when the record says it was
found, ``false`` only when the record says it was looked for and not found, and ``null``
otherwise. Findings are read in date order (the Timeline sorts them): a later entry replaces an
earlier one for the same region, and an entry without a region replaces every earlier one.
Where the topic names an examination sign that is the same thing as a factor (``exam_sign``),
the examination counts too; a sign found on examination outweighs a finding recorded absent.
"""

from __future__ import annotations

import datetime as dt

from alscare.engine.timeline import Timeline, months_between
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.topic import Finding as TopicFinding
from alscare.knowledge.topic import RiskFactor
from alscare.schemas.assessment import DiagnosticFactorStatus, RiskFactorStatus
from alscare.schemas.patient import ExamRegion, Finding, PatientRecord
from alscare.schemas.vocabulary import (
    GeneticResult,
    InvestigationId,
    Region,
    RiskFactorId,
    TestResult,
)

__all__ = ["diagnostic_factors", "risk_factors"]

# Evidence about one factor: the value it supports and the record facts behind it.
Evidence = tuple[bool | None, tuple[str, ...]]

_NOTHING: Evidence = (None, ())
_CAUSAL_VARIANTS = (GeneticResult.PATHOGENIC, GeneticResult.LIKELY_PATHOGENIC)


def diagnostic_factors(timeline: Timeline, kb: KnowledgeBase) -> tuple[DiagnosticFactorStatus, ...]:
    """Each key and other diagnostic factor of the topic, in topic order, for this patient."""
    record = timeline.record
    return tuple(
        _diagnostic_factor(record, factor) for factor in kb.topic.findings_of_kind("key", "other")
    )


def risk_factors(timeline: Timeline, kb: KnowledgeBase) -> tuple[RiskFactorStatus, ...]:
    """Each risk factor of the topic, in topic order, for this patient."""
    return tuple(_risk_factor(timeline, factor) for factor in kb.topic.risk_factors)


def _diagnostic_factor(record: PatientRecord, factor: TopicFinding) -> DiagnosticFactorStatus:
    present, because = _combined(_reported(record.findings, factor), _examined(record, factor))
    return DiagnosticFactorStatus(id=factor.id, kind=factor.kind, present=present, because=because)


def _combined(*evidence: Evidence) -> Evidence:
    """Present if any evidence says present; absent if any says absent and none present."""
    for wanted in (True, False):
        facts = tuple(fact for value, facts in evidence if value is wanted for fact in facts)
        if facts:
            return wanted, facts
    return _NOTHING


def _reported(findings: tuple[Finding, ...], factor: TopicFinding) -> Evidence:
    """The latest record.findings entries for the factor, one per region."""
    latest: dict[Region | None, Finding] = {}
    for entry in findings:
        if entry.id != factor.id:
            continue
        if entry.region is None:
            latest.clear()
        latest[entry.region] = entry
    found = [entry for entry in latest.values() if entry.present]
    if found:
        return True, tuple(_finding_fact(factor, entry) for entry in found)
    # An absence recorded for another region says nothing about the factor's own scope.
    excluded = [entry for scope, entry in latest.items() if scope is None or scope == factor.region]
    if excluded:
        return False, tuple(_finding_fact(factor, entry) for entry in excluded)
    return _NOTHING


def _finding_fact(factor: TopicFinding, entry: Finding) -> str:
    text = f"{factor.label} recorded {'present' if entry.present else 'absent'}"
    if entry.region is not None:
        text += f" ({entry.region.value} region)"
    if entry.date is not None:
        text += f" on {entry.date.isoformat()}"
    return text


def _examined(record: PatientRecord, factor: TopicFinding) -> Evidence:
    """The examination sign that is the same thing as the factor, in the factor's region(s)."""
    sign = factor.exam_sign
    if sign is None:
        return _NOTHING
    regions = (factor.region,) if factor.region is not None else tuple(Region)
    signs = {region: _sign(record.exam.get(region), sign) for region in regions}
    name = sign.replace("_", " ")
    found = [region.value for region, value in signs.items() if value is True]
    if found:
        return True, tuple(f"{name} on examination of the {region} region" for region in found)
    if all(value is False for value in signs.values()):
        examined = ", ".join(region.value for region in regions)
        return False, (f"no {name} on examination ({examined})",)
    return _NOTHING


def _sign(region: ExamRegion | None, sign: str) -> bool | None:
    value = getattr(region, sign) if region is not None else None
    return value if isinstance(value, bool) else None


def _risk_factor(timeline: Timeline, factor: RiskFactor) -> RiskFactorStatus:
    present, because = _risk_evidence(timeline, factor)
    return RiskFactorStatus(id=factor.id, present=present, because=because)


def _risk_evidence(timeline: Timeline, factor: RiskFactor) -> Evidence:
    """The record's list of present risk factors first, then what the record shows."""
    record = timeline.record
    if factor.id in record.risk_factors:
        return True, (f"{factor.label} listed among the patient's risk factors",)
    if factor.id == RiskFactorId.GENETIC_PREDISPOSITION_FAMILY_HISTORY:
        return _genetic_predisposition(record)
    if factor.age_above_years is not None:
        return _age_above(timeline, factor.age_above_years)
    return _NOTHING


def _genetic_predisposition(record: PatientRecord) -> Evidence:
    """Present with a family history of ALS or FTD or a (likely) pathogenic variant; absent only
    when both the family history and every genetic result are negative."""
    history = record.family_history
    affected = (("ALS", history.als), ("FTD", history.ftd)) if history is not None else ()
    relatives = [f"family history of {name}" for name, value in affected if value is True]
    variants = [
        f"{entry.gene} {entry.result.value.replace('_', ' ')} variant"
        + (f" {entry.variant}" if entry.variant else "")
        for entry in record.genetics
        if entry.result in _CAUSAL_VARIANTS
    ]
    positive_tests = [
        f"genetic testing positive{_on(test.date)}"
        for test in record.tests
        if test.id == InvestigationId.GENETIC_TESTING and test.result == TestResult.POSITIVE
    ]
    if relatives or variants or positive_tests:
        return True, (*relatives, *variants, *positive_tests)
    if history is None or history.als is not False or history.ftd is not False:
        return _NOTHING
    negative = _negative_genetics(record)
    if negative:
        return False, ("no family history of ALS or FTD", *negative)
    return _NOTHING


def _negative_genetics(record: PatientRecord) -> tuple[str, ...]:
    """The facts that show genetic testing was done and found nothing; empty if it was not."""
    if record.genetics:
        if all(entry.result == GeneticResult.NEGATIVE for entry in record.genetics):
            genes = ", ".join(entry.gene for entry in record.genetics)
            return (f"genetic testing negative ({genes})",)
        return ()
    return tuple(
        f"genetic testing negative{_on(test.date)}"
        for test in record.tests
        if test.id == InvestigationId.GENETIC_TESTING and test.result == TestResult.NEGATIVE
    )


def _age_above(timeline: Timeline, threshold: int) -> Evidence:
    """Age at onset over the threshold; without an onset date, the recorded or current age."""
    record = timeline.record
    birth, onset = record.birth_date, timeline.onset
    if birth is not None and onset is not None:
        fact = f"age at onset {_years(birth, onset):.1f} years (born {birth}, onset {onset})"
        return onset > _anniversary(birth, threshold), (fact,)
    if record.age_years is not None:
        return record.age_years > threshold, (f"age {record.age_years:g} years",)
    if birth is not None:
        as_of = timeline.as_of
        fact = f"age {_years(birth, as_of):.1f} years on {as_of} (born {birth}; onset not dated)"
        return as_of > _anniversary(birth, threshold), (fact,)
    return _NOTHING


def _years(start: dt.date, end: dt.date) -> float:
    return months_between(start, end) / 12


def _anniversary(birth: dt.date, years: int) -> dt.date:
    """The date ``years`` after ``birth``; a 29 February birthday falls on 1 March."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return dt.date(birth.year + years, 3, 1)


def _on(date: dt.date | None) -> str:
    return f" on {date.isoformat()}" if date is not None else ""
