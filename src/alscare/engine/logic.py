"""Conditions applied to one patient: the compiled true/false/unknown pass, and the reasons.

``holds(condition, facts)`` runs the condition's compiled function (``knowledge/program.py``)
over the fact values. Only for a rule that holds does :func:`explain` build its reasons, walking
the condition once more:

* a leaf gives the sentence of its fact, with the threshold it was compared with;
* ``all`` that holds gives the reasons of every part, ``any`` those of every part that holds;
* ``not`` gives the reasons its part fails: a failing ``all`` names the parts that fail, a
  failing ``any`` every part, and a named condition that fails says so by its ``label_false``
  when it has one (never "ALSFRS-R item 12 is normal" for "not yet on NIV").

The reasons carry the sources of the named conditions and thresholds used, and whether all of
that knowledge is verified.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from alscare.engine.facts import Facts, number_text
from alscare.knowledge.rules import (
    BOUNDS,
    AllOf,
    Condition,
    FactTest,
    NotOf,
    Ref,
    evaluate,
)

__all__ = ["Explanation", "explain", "holds"]


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a condition holds: the sentences, the sources of the knowledge used, and whether all
    of it is verified."""

    because: tuple[str, ...]
    sources: tuple[str, ...]
    verified: bool


class _Reasons:
    def __init__(self) -> None:
        self.because: dict[str, None] = {}
        self.sources: dict[str, None] = {}
        self.verified = True

    def add(self, sentence: str, sources: tuple[str, ...], verified: bool) -> None:
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
    reasons = _Reasons()
    _why(condition, facts, reasons, wanted=True)
    return reasons.explanation()


def _value(condition: Condition, facts: Facts) -> bool | None:
    if isinstance(condition, Ref):
        return facts.values["@" + condition.ref]  # type: ignore[return-value]
    return evaluate(condition, facts.values, facts.kb.rules)


def _named(ref: Ref, facts: Facts, *, wanted: bool) -> Explanation:
    """The reasons a named condition has the value ``wanted``, built once per assessment."""
    key = (ref.ref, wanted)
    found: Explanation | None = facts.named_reasons.get(key)
    if found is None:
        named = facts.kb.rules.condition_by_id[ref.ref]
        reasons = _Reasons()
        reasons.cite(named.source_ids, named.verified)
        if not wanted and named.label_false is not None:
            reasons.add(named.label_false, (), True)
        else:
            _why(named.when, facts, reasons, wanted=wanted)
        found = facts.named_reasons[key] = reasons.explanation()
    return found


def _why(condition: Condition, facts: Facts, reasons: _Reasons, *, wanted: bool) -> None:
    """Add the reasons ``condition`` has the value ``wanted`` (an unknown leaf read as false by
    its ``if_unknown`` counts as false)."""
    if isinstance(condition, FactTest):
        _leaf(condition, facts, reasons)
    elif isinstance(condition, NotOf):
        _why(condition.not_, facts, reasons, wanted=not wanted)
    elif isinstance(condition, Ref):
        reasons.merge(_named(condition, facts, wanted=wanted))
    else:
        # all that holds / any that fails: every part; else the parts that decided it.
        every_part = isinstance(condition, AllOf) == wanted
        for part in condition.parts:
            if every_part or _value(part, facts) is wanted:
                _why(part, facts, reasons, wanted=wanted)


def _leaf(test: FactTest, facts: Facts, reasons: _Reasons) -> None:
    fact = facts(test.fact)
    threshold_id = test.threshold_id
    if threshold_id is None or not isinstance(fact.value, float | int):
        reasons.add(fact.because, fact.sources, fact.verified)
        return
    threshold = facts.kb.rules.threshold_by_id[threshold_id]
    name = test.test[0]
    held = _value(test, facts)
    relation = f"{'' if held else 'not '}{BOUNDS[name][0]} {number_text(threshold.value)}"
    sentence = f"{fact.because} ({relation} {threshold.unit})"
    reasons.add(
        sentence, (*fact.sources, *threshold.source_ids), fact.verified and threshold.verified
    )
