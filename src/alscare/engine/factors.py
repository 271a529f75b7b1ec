"""Diagnostic and risk factors of the topic, marked present, absent or not recorded.

Nothing is inferred from silence. A diagnostic factor is exactly the fact ``finding.<id>``: the
one answer to "is this finding present?" that every rule reads too. A risk factor is present
when the record lists it; the genetic one also with a family history of ALS or FTD or a causal
variant (the knowledge base's definition), and the age factor from the age at onset.
"""

from __future__ import annotations

from typing import Any

from alscare.engine.facts import Facts
from alscare.engine.record_facts import finding_statements
from alscare.knowledge.topic import RiskFactor
from alscare.schemas.vocabulary import RiskFactorId

__all__ = ["diagnostic_factors", "risk_factors"]

# Evidence about one factor: the value it supports and the record facts behind it.
Evidence = tuple[bool | None, tuple[str, ...]]
_NOTHING: Evidence = (None, ())


def diagnostic_factors(facts: Facts) -> tuple[dict[str, Any], ...]:
    """Each key and other diagnostic factor of the topic, in topic order."""
    factors = []
    for factor in facts.kb.topic.findings_of_kind("key", "other"):
        present, because = finding_statements(facts, factor.id)
        factors.append(
            {"id": factor.id, "kind": factor.kind, "present": present, "because": because}
        )
    return tuple(factors)


def risk_factors(facts: Facts) -> tuple[dict[str, Any], ...]:
    """Each risk factor of the topic, in topic order."""
    statuses = []
    for factor in facts.kb.topic.risk_factors:
        present, because = _risk_evidence(facts, factor)
        statuses.append({"id": factor.id, "present": present, "because": because})
    return tuple(statuses)


def _risk_evidence(facts: Facts, factor: RiskFactor) -> Evidence:
    """The record's list of present risk factors first, then what the record shows."""
    if factor.id in facts.state.record.risk_factors:
        return True, (f"{factor.label} listed among the patient's risk factors",)
    if factor.id == RiskFactorId.GENETIC_PREDISPOSITION_FAMILY_HISTORY:
        return _genetic_predisposition(facts)
    if factor.age_above_years is not None:
        return _age_above(facts, factor.age_above_years)
    return _NOTHING


def _genetic_predisposition(facts: Facts) -> Evidence:
    """Present with a family history of ALS or FTD or a causal variant; absent only when the
    family history is negative for both and genetic testing found no causal variant."""
    history = [facts("family_history.als"), facts("family_history.ftd")]
    variant = facts("variant.any")
    testing = facts("test.genetic_testing.result")
    present = [f.because for f in (*history, variant) if f.value is True]
    if testing.value == "positive":
        present.append(testing.because)
    if present:
        return True, tuple(present)
    if any(f.value is not True and f.value is not False for f in history):
        return _NOTHING
    if variant.value is False:
        return False, ("no family history of ALS or FTD", variant.because)
    if variant.value is None and testing.value == "negative":
        return False, ("no family history of ALS or FTD", testing.because)
    return _NOTHING


def _age_above(facts: Facts, threshold: int) -> Evidence:
    """Age at onset over the threshold; without an onset date, the age on the assessment date."""
    state = facts.state
    onset = state.onset
    day = onset if onset is not None else state.as_of
    age = state.age_on(day)
    if age is None:
        return _NOTHING
    if onset is not None:
        fact = f"age at onset {age:.1f} years (onset {onset})"
    else:
        fact = f"age {age:.1f} years on {state.as_of} (onset not dated)"
    return age > threshold, (fact,)
