"""Conditions applied to one patient: the compiled true/false/unknown pass, and the reasons.

``holds(condition, facts)`` runs the condition's compiled function (``knowledge/program.py``)
over the fact values. Only for a rule that holds does :func:`explain` build its reasons, with
the condition's compiled explainer, which finds the deciding leaves and named conditions:

* a leaf gives the sentence of its fact, with the threshold it was compared with;
* ``all`` that holds gives the reasons of every part, ``any`` those of every part that holds;
* ``not`` gives the reasons its part fails: a failing ``all`` names the parts that fail, a
  failing ``any`` every part, and a named condition that fails says so by its ``label_false``
  when it has one (never "ALSFRS-R item 12 is normal" for "not yet on NIV").

The reasons of a named condition are built once per assessment. They carry the sources of the
named conditions and thresholds used, and whether all of that knowledge is verified.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from alscare.engine.facts import Facts, number_text
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.program import root_conditions_of
from alscare.knowledge.rules import BOUNDS, Condition, FactTest, Ref, facts_in

__all__ = ["Explanation", "explain", "holds"]


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a condition holds: the sentences, the sources of the knowledge used, and whether all
    of it is verified."""

    because: tuple[str, ...]
    sources: tuple[str, ...]
    verified: bool


class _Reasons:
    __slots__ = ("because", "sources", "verified")

    def __init__(self) -> None:
        self.because: dict[str, None] = {}
        self.sources: dict[str, None] = {}
        self.verified = True

    def add(self, sentence: str, sources: Iterable[str], verified: bool) -> None:
        self.because[sentence] = None
        self.cite(sources, verified)

    def cite(self, sources: Iterable[str], verified: bool) -> None:
        for source in sources:
            self.sources[source] = None
        if not verified:
            self.verified = False

    def merge(self, other: Explanation) -> None:
        for sentence in other.because:
            self.because[sentence] = None
        self.cite(other.sources, other.verified)

    def explanation(self) -> Explanation:
        return Explanation(tuple(self.because), tuple(self.sources), self.verified)


def holds(condition: Condition, facts: Facts) -> bool | None:
    """The condition's value for this patient: true, false or unknown (None)."""
    return facts.program.functions[id(condition)](facts.values)


def explain(condition: Condition, facts: Facts) -> Explanation:
    """The reasons a condition that holds holds."""
    deciding: list[tuple[FactTest | Ref, bool]] = []
    facts.program.why[id(condition)](facts.values, deciding)
    reasons = _Reasons()
    _resolve(deciding, facts, reasons)
    return reasons.explanation()


def _resolve(deciding: list[tuple[FactTest | Ref, bool]], facts: Facts, reasons: _Reasons) -> None:
    for node, value in deciding:
        if isinstance(node, Ref):
            reasons.merge(_named(node.ref, value, facts))
        else:
            _leaf(node, value, facts, reasons)


def _named(condition_id: str, value: bool, facts: Facts) -> Explanation:
    """The reasons a named condition has ``value``, built once per assessment."""
    key = (condition_id, value)
    found: Explanation | None = facts.named_reasons.get(key)
    if found is None:
        named = facts.kb.rules.condition_by_id[condition_id]
        reasons = _Reasons()
        reasons.cite(named.source_ids, named.verified)
        if not value and named.label_false is not None:
            reasons.add(named.label_false, (), True)
        else:
            deciding: list[tuple[FactTest | Ref, bool]] = []
            facts.program.why_named[key](facts.values, deciding)
            _resolve(deciding, facts, reasons)
        found = facts.named_reasons[key] = reasons.explanation()
    return found


# How a leaf compared with a named threshold reads, when it holds and when it fails, with the
# threshold's sources and verification: worked out once per leaf and knowledge base.
_Comparison = tuple[str, str, tuple[str, ...], bool]


def _comparisons(kb: KnowledgeBase) -> dict[int, _Comparison]:
    comparisons: dict[int, _Comparison] = {}
    for _, condition in root_conditions_of(kb):
        for leaf in facts_in(condition):
            threshold_id = leaf.threshold_id
            if threshold_id is None:
                continue
            threshold = kb.rules.threshold_by_id[threshold_id]
            words = f"{BOUNDS[leaf.test[0]][0]} {number_text(threshold.value)} {threshold.unit}"
            comparisons[id(leaf)] = (
                f" ({words})",
                f" (not {words})",
                threshold.source_ids,
                threshold.verified,
            )
    return comparisons


def _leaf(test: FactTest, value: bool, facts: Facts, reasons: _Reasons) -> None:
    fact = facts(test.fact)
    comparison = facts.prepared("comparisons", _comparisons).get(id(test))
    if comparison is None or not isinstance(fact.value, float | int):
        reasons.add(fact.because, fact.sources, fact.verified)
        return
    held, failed, sources, verified = comparison
    reasons.add(f"{fact.because}{held if value else failed}", fact.sources, fact.verified)
    reasons.cite(sources, verified)
