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
from alscare.engine.logic import explain, holds
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.diagnosis import Differential
from alscare.schemas.vocabulary import DifferentialLevel

__all__ = ["differentials", "suspected_mimics"]

_URGENCY = (DifferentialLevel.SUSPECTED, DifferentialLevel.CONSIDER)


def differentials(facts: Facts) -> tuple[dict[str, Any], ...]:
    """Differentials to suspect or consider, most urgent first, as wire data."""
    found = [
        result
        for differential in facts.kb.diagnosis.differentials
        if (result := _result(differential, facts)) is not None
    ]
    # sorted() is stable: within a level the knowledge base's order stays.
    return tuple(sorted(found, key=lambda result: _URGENCY.index(result["level"])))


def _result(differential: Differential, facts: Facts) -> dict[str, Any] | None:
    for level in _URGENCY:
        held = [
            rule
            for rule in differential.rules
            if rule.level == level and holds(rule.when, facts) is True
        ]
        if not held:
            continue
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
    return None


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
