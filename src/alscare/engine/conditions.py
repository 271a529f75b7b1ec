"""Evaluation of the condition language (``knowledge/conditions.py``) against a section's facts.

A section supplies its facts through one interface, :class:`FactLookup`: a function from a fact
name to a :class:`Fact`, the value (None when the record cannot give it) with the sentence that
states it. Behind the lookup each fact is one function, so a new rule is data plus at most one
function. A section with tests of its own (treatment's ``{taking: drug}``, ...) and named
thresholds hands those to the :class:`Evaluator` too.

The combinators use three-valued logic: ``all`` is false when a part is false, unknown when a
part is unknown, else true; ``any`` is true when a part is true, unknown when a part is unknown,
else false; ``not`` keeps unknown. The section's :class:`Logic` says two things:

* what a test of an unknown value gives: unknown (:data:`THREE_VALUED`, diagnosis: a rule fires
  only on what the record shows, and "not" of an unknown stays unknown) or false
  (:data:`CLOSED_WORLD`, treatment: a value the record cannot give fails its test, so "not" of
  it holds);
* which parts explain a combinator: every part that decided it (diagnosis), or the first in
  content order (treatment; later parts are then not read). A combinator no part decided is
  explained by all its parts.

A :class:`Verdict` carries the reasons, the sources of the thresholds and facts used, and
whether all of those were verified.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from alscare.knowledge.conditions import AllOf, AnyOf, FactTest, LeafT, NotOf, Part, Threshold

__all__ = [
    "CLOSED_WORLD",
    "THREE_VALUED",
    "Evaluator",
    "Fact",
    "FactLookup",
    "FactValue",
    "Logic",
    "Verdict",
    "evaluate",
    "number_text",
    "unique",
]

FactValue = bool | float | str | tuple[str, ...] | None
T = TypeVar("T")

#: How each comparison with a bound reads in a reason, and what it computes.
_BOUNDS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "below": ("below", operator.lt),
    "at_most": ("at most", operator.le),
    "at_least": ("at least", operator.ge),
    "above": ("above", operator.gt),
}


# Fact and Verdict are named tuples rather than dataclasses: an assessment makes hundreds of each,
# and a tuple is the cheapest immutable record to build.
class Fact(NamedTuple):
    """A value from the record (None = unknown), the sentence that states it (or says why it is
    missing), and the sources of any knowledge used to compute it."""

    value: FactValue
    because: str
    sources: tuple[str, ...] = ()


class Verdict(NamedTuple):
    """Whether a condition holds (None = cannot tell), the facts that decided it, the sources of
    the knowledge it used and whether all of that was verified."""

    holds: bool | None
    because: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    verified: bool = True


class FactLookup(Protocol):
    """How a section supplies its facts: the fact of this name."""

    def __call__(self, name: str, /) -> Fact: ...


@dataclass(frozen=True)
class Logic:
    """How a section reads its conditions (see the module docstring)."""

    unknown: bool | None
    every_reason: bool


THREE_VALUED = Logic(unknown=None, every_reason=True)
CLOSED_WORLD = Logic(unknown=False, every_reason=False)


def unique(items: Iterable[T]) -> tuple[T, ...]:
    """The items once each, in first-seen order."""
    return tuple(dict.fromkeys(items))


def number_text(value: float, digits: int = 1) -> str:
    """A number as a clinician writes it: no trailing zeros, at most ``digits`` decimals."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


class Evaluator(Generic[LeafT]):
    """Evaluates the conditions of one section.

    ``facts`` answers fact tests; ``thresholds`` gives the named thresholds a comparison may
    use; ``own_tests`` gives the verdict of any other leaf (a test only the section has). A
    section without named thresholds or tests of its own leaves them out (its knowledge model
    admits neither).
    """

    # A plain class with slots: one is made per rule evaluated, so it must be cheap to build.
    __slots__ = ("facts", "logic", "own_tests", "thresholds")

    def __init__(
        self,
        facts: FactLookup,
        logic: Logic = THREE_VALUED,
        thresholds: Callable[[str], Threshold] | None = None,
        own_tests: Callable[[LeafT], Verdict] | None = None,
    ) -> None:
        self.facts = facts
        self.logic = logic
        self.thresholds = thresholds
        self.own_tests = own_tests

    def __call__(self, condition: Part[LeafT]) -> Verdict:
        if isinstance(condition, FactTest):
            return self._fact_test(condition)
        if isinstance(condition, AllOf):
            return self._combine(condition.all_, decisive=False)
        if isinstance(condition, AnyOf):
            return self._combine(condition.any_, decisive=True)
        if isinstance(condition, NotOf):
            inner = self(condition.not_)
            holds = None if inner.holds is None else not inner.holds
            return Verdict(holds, inner.because, inner.sources, inner.verified)
        assert self.own_tests is not None  # only a section with tests of its own has them
        return self.own_tests(condition)

    def _combine(self, parts: Iterable[Part[LeafT]], *, decisive: bool) -> Verdict:
        """``all`` (decisive=False: a false part decides) or ``any`` (decisive=True: a true part
        decides); otherwise an unknown part makes it unknown."""
        every_reason = self.logic.every_reason
        verdicts: list[Verdict] = []
        for part in parts:
            verdict = self(part)
            if verdict.holds is decisive and not every_reason:
                return verdict
            verdicts.append(verdict)
        for outcome in (decisive, None):
            deciding = [verdict for verdict in verdicts if verdict.holds is outcome]
            if deciding:
                return _merged(outcome, deciding if every_reason else deciding[:1])
        return _merged(not decisive, verdicts)

    def _fact_test(self, test: FactTest) -> Verdict:
        fact = self.facts(test.fact)
        comparison = test.comparison
        if comparison is None:
            holds = _test_holds(test, fact.value, self.logic.unknown)
            return Verdict(holds, (fact.because,), fact.sources)
        name, bound = comparison
        if isinstance(bound, str):
            assert self.thresholds is not None  # only a section with named thresholds names them
            return self._against_threshold(fact, name, self.thresholds(bound))
        holds = _bounded(fact.value, name, bound, self.logic.unknown)
        return Verdict(holds, (fact.because,), fact.sources)

    def _against_threshold(self, fact: Fact, name: str, threshold: Threshold) -> Verdict:
        """A comparison with a named threshold: cited, so the reason states it with its unit."""
        holds = _bounded(fact.value, name, threshold.value, self.logic.unknown)
        because = fact.because
        if isinstance(fact.value, float | int) and not isinstance(fact.value, bool):
            words = _BOUNDS[name][0]
            relation = f"{'' if holds else 'not '}{words} {number_text(threshold.value)}"
            because = f"{because} ({relation} {threshold.unit})"
        sources = unique((*fact.sources, *threshold.source_ids))
        return Verdict(holds, (because,), sources, threshold.verified)


def evaluate(condition: Part[Any], facts: FactLookup) -> Verdict:
    """Evaluate a condition of fact tests with numeric bounds, three-valued."""
    evaluator: Evaluator[Any] = Evaluator(facts)
    return evaluator(condition)


def _merged(holds: bool | None, parts: list[Verdict]) -> Verdict:
    return Verdict(
        holds,
        tuple(dict.fromkeys(sentence for part in parts for sentence in part.because)),
        tuple(dict.fromkeys(source for part in parts for source in part.sources)),
        all(part.verified for part in parts),
    )


def _bounded(value: FactValue, name: str, bound: float, unknown: bool | None) -> bool | None:
    """The result of a comparison with a bound; ``unknown`` when the value is unknown."""
    if value is None:
        return unknown
    if isinstance(value, bool | str | tuple):
        return False  # not a number
    return _BOUNDS[name][1](float(value), bound)


def _test_holds(test: FactTest, value: FactValue, unknown: bool | None) -> bool | None:
    """The result of a test without a bound; ``unknown`` when the value is unknown."""
    if test.present is not None:
        return (value is not None and value != ()) is test.present
    if value is None:
        return unknown
    if test.is_ is not None:
        # bool is a kind of int in Python: never let True equal 1.0 or "true".
        return type(value) is type(test.is_) and value == test.is_
    if test.in_ is not None:
        return isinstance(value, str) and value in test.in_
    assert test.includes is not None  # FactTest guarantees exactly one comparison
    return isinstance(value, tuple) and any(item in value for item in test.includes)
