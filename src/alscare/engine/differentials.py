"""The differential: mimics (and ALS-spectrum phenotypes) the record points to.

Each differential of the knowledge base carries rules (data): a ``suspected`` rule that holds
makes it suspected, else a ``consider`` rule that holds makes it one to consider. ``because``
lists the record facts that decided the rules that held. Suspected come before consider; within
a level the knowledge base's order holds. Which results are suspected mimics is the knowledge
base's one definition (``rules.mimic``), read through :func:`suspected_mimics` everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from alscare.engine.facts import Facts
from alscare.engine.logic import explain
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.diagnosis import Differential
from alscare.schemas.vocabulary import DifferentialLevel

__all__ = ["differentials", "suspected_mimics"]

_URGENCY = (DifferentialLevel.SUSPECTED, DifferentialLevel.CONSIDER)


# A differential with its rules of each level (most urgent first), each rule with its compiled
# condition: read once per knowledge base.
_Plan = tuple[tuple[Differential, tuple[tuple[DifferentialLevel, tuple[Any, ...]], ...]], ...]


def _plan(kb: KnowledgeBase) -> _Plan:
    program = kb.program
    return tuple(
        (
            differential,
            tuple(
                (
                    level,
                    tuple(
                        (rule, program(rule.when))
                        for rule in differential.rules
                        if rule.level == level
                    ),
                )
                for level in _URGENCY
            ),
        )
        for differential in kb.diagnosis.differentials
    )


def differentials(facts: Facts) -> tuple[dict[str, Any], ...]:
    """Differentials to suspect or consider, most urgent first, as wire data."""
    values = facts.values
    found = []
    for differential, levels in facts.prepared("differential plan", _plan):
        for level, rules in levels:
            held = [rule for rule, holds in rules if holds(values) is True]
            if held:
                found.append(_result(differential, level, held, facts))
                break
    # sorted() is stable: within a level the knowledge base's order stays.
    return tuple(sorted(found, key=lambda result: _URGENCY.index(result["level"])))


def _result(
    differential: Differential, level: DifferentialLevel, held: list[Any], facts: Facts
) -> dict[str, Any]:
    because: dict[str, None] = {}
    sources = dict.fromkeys(differential.source_ids)
    verified = differential.verified
    for rule in held:
        why = explain(rule.when, facts)
        because.update(dict.fromkeys(why.because))
        sources.update(dict.fromkeys((*rule.source_ids, *why.sources)))
        verified = verified and rule.verified and why.verified
    return {
        "id": differential.id,
        "level": level,
        "spectrum": differential.spectrum,
        "tests": differential.test_ids,
        "because": tuple(because),
        "sources": tuple(sources),
        "verified": verified,
    }


def suspected_mimics(
    results: Iterable[Mapping[str, Any]], kb: KnowledgeBase
) -> tuple[Mapping[str, Any], ...]:
    """The results that are suspected mimics: a level of the knowledge base's mimic definition
    on a differential outside the ALS spectrum."""
    levels = kb.rules.mimic.levels
    return tuple(
        result
        for result in results
        if result["level"] in levels and not kb.diagnosis.differential(result["id"]).spectrum
    )
