"""The differential: mimics (and ALS-spectrum phenotypes) the record points to.

Each differential of the knowledge base carries rules (data): a ``suspected`` rule that holds
makes it suspected, else a ``consider`` rule that holds makes it one to consider. ``because``
lists the record facts that decided the rules that held. Suspected come before consider; within
a level the knowledge base's order holds. A non-spectrum differential at level ``suspected`` is
exactly a suspected mimic (the Gold Coast exclusion and the mimic_suspected alert use that).
"""

from __future__ import annotations

from collections.abc import Mapping

from alscare.engine.conditions import evaluate, unique
from alscare.engine.rules import RecordFacts
from alscare.engine.timeline import Timeline
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.diagnosis import Differential
from alscare.schemas.assessment import DifferentialResult, RegionStatus
from alscare.schemas.vocabulary import DifferentialLevel, Region

__all__ = ["differentials"]

_URGENCY = (DifferentialLevel.SUSPECTED, DifferentialLevel.CONSIDER)


def differentials(
    timeline: Timeline, regions: Mapping[Region, RegionStatus], kb: KnowledgeBase
) -> tuple[DifferentialResult, ...]:
    """Differentials to suspect or consider, most urgent first."""
    facts = RecordFacts(timeline, kb, regions=regions)
    found = [
        result
        for differential in kb.diagnosis.differentials
        if (result := _result(differential, facts)) is not None
    ]
    # sorted() is stable: within a level the knowledge base's order stays.
    return tuple(sorted(found, key=lambda result: _URGENCY.index(result.level)))


def _result(differential: Differential, facts: RecordFacts) -> DifferentialResult | None:
    for level in _URGENCY:
        rules = [rule for rule in differential.rules if rule.level == level]
        verdicts = [(rule, evaluate(rule.when, facts)) for rule in rules]
        held = [(rule, verdict) for rule, verdict in verdicts if verdict.holds is True]
        if held:
            return DifferentialResult(
                id=differential.id,
                level=level,
                spectrum=differential.spectrum,
                tests=differential.test_ids,
                because=unique(reason for _, verdict in held for reason in verdict.because),
                sources=unique(
                    [*differential.source_ids, *(s for rule, _ in held for s in rule.source_ids)]
                ),
            )
    return None
