"""Conditions applied to one patient: the compiled true/false/unknown pass, and the reasons.

``holds(condition, facts)`` runs the condition's compiled function (``knowledge/program.py``)
over the fact values. Only for a rule that holds does :func:`explain` build its reasons, with
the condition's compiled explainer, which finds the deciding leaves and named conditions:

* a leaf gives the sentence of its fact, with the limit it was compared with (a named
  threshold, with its sources, or a number), stated as the bound that holds;
* ``all`` that holds gives the reasons of every part, ``any`` those of every part that holds;
* ``not`` gives the reasons its part fails: a failing ``all`` names the parts that fail, a
  failing ``any`` every part, and a named condition that fails says so by its ``label_false``
  when it has one (never "ALSFRS-R item 12 is normal" for "not yet on NIV").

The reasons of a named condition are built once per assessment. They carry the sources of the
named conditions and thresholds used, and whether all of that knowledge is verified.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from alscare.engine.facts import Fact, Facts, number_text
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.program import root_conditions_of
from alscare.knowledge.rules import BOUNDS, Condition, FactTest, Ref, facts_in

__all__ = ["Explanation", "explain", "holds"]


class Explanation(NamedTuple):
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
    comparisons = facts.prepared("comparisons", _comparisons)
    for node, value in deciding:
        if type(node) is Ref:
            reasons.merge(_named(node.ref, value, facts))
        else:
            assert isinstance(node, FactTest)  # the explainers append leaves and references
            _leaf(value, facts(node.fact), comparisons.get(id(node)), reasons)


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


# How a leaf compared with a limit reads, when it holds and when it fails, with the sources and
# verification of a named threshold: worked out once per leaf and knowledge base.
_Comparison = tuple[str, str, tuple[str, ...], bool]


def _comparisons(kb: KnowledgeBase) -> dict[int, _Comparison]:
    comparisons: dict[int, _Comparison] = {}
    for _, condition in root_conditions_of(kb):
        for leaf in facts_in(condition):
            test, limit = leaf.test
            if test not in BOUNDS:
                continue
            unit: str | None
            if isinstance(limit, str):
                threshold = kb.rules.threshold_by_id[limit]
                value, unit = threshold.value, threshold.unit
                sources, verified = threshold.source_ids, threshold.verified
            else:
                assert isinstance(limit, float | int)  # a bound is a number or a threshold id
                value, unit, sources, verified = limit, _unit_of(leaf, kb), (), True
            quantity = _quantity(value, unit)
            held, failed = BOUNDS[test][0], BOUNDS[_COMPLEMENT[test]][0]
            comparisons[id(leaf)] = (
                f" ({held} {quantity})",
                f" ({failed} {quantity})",
                sources,
                verified,
            )
    return comparisons


# A bound that fails is stated as the bound that holds: "not below 50 %" reads "at least 50 %".
_COMPLEMENT = {"below": "at_least", "at_least": "below", "at_most": "above", "above": "at_most"}


def _quantity(value: float, unit: str | None) -> str:
    """``3 points``, ``1 region``, ``80 %``: a plural unit word is singular after exactly 1."""
    if unit is None:
        return number_text(value)
    if value == 1 and unit.isalpha() and unit.endswith("s"):
        unit = unit[:-1]
    return f"{number_text(value)} {unit}"


def _unit_of(leaf: FactTest, kb: KnowledgeBase) -> str | None:
    """The unit a literal limit is written in: the fact's, or its investigation's canonical."""
    unit = leaf.spec.unit
    if unit != "investigation":
        return unit
    conversion = kb.diagnosis.conversion(leaf.name.args[0])
    return conversion.canonical if conversion is not None else None


def _leaf(value: bool, fact: Fact, comparison: _Comparison | None, reasons: _Reasons) -> None:
    """The sentence of a deciding leaf's fact, with its limit when it was compared with one."""
    if comparison is None or not isinstance(fact.value, (float, int)):
        reasons.add(fact.because, fact.sources, fact.verified)
        return
    held, failed, sources, verified = comparison
    reasons.add(f"{fact.because}{held if value else failed}", fact.sources, fact.verified)
    reasons.cite(sources, verified)
