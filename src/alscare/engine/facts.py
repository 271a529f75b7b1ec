"""The facts of one patient on one date, by the names of the fact catalogue.

:class:`Facts` serves every fact of ``knowledge/facts.py``: ``facts.values[name]`` is the value
(what compiled conditions read; computed on first use, then kept), ``facts(name)`` the
:class:`Fact` with the sentence that states it ("FVC 45 % predicted on 2025-01-10") and the
sources of any knowledge used to compute it. Each catalogue entry is one function of
``engine/record_facts.py`` or ``engine/derived_facts.py``, registered by its pattern with
:class:`FactFunctions`. Values stay unrounded: a threshold always meets the measured number.

The stages of the assessment add what they conclude (regions, differentials, criteria, scores,
the steps decided so far) as they go; a fact of a stage not reached yet is an engine bug.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from alscare.errors import AlscareError
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.facts import parse_fact_name
from alscare.knowledge.rules import FactValue

if TYPE_CHECKING:
    from alscare.engine.state import PatientState
    from alscare.knowledge.program import Program

__all__ = [
    "Fact",
    "FactFunction",
    "FactFunctions",
    "Facts",
    "FamilyFunction",
    "number_text",
    "on",
]

T = TypeVar("T")


class Fact:
    """A value of the patient (None: unknown), the sentence that states it or says why it is
    unknown, the sources of the knowledge used to compute it, and whether that knowledge is
    verified. The sentence may be given as a function: it is then written only when a reason
    needs it (most facts an assessment computes are never quoted)."""

    __slots__ = ("_because", "sources", "value", "verified")

    def __init__(
        self,
        value: FactValue,
        because: str | Callable[[], str],
        sources: tuple[str, ...] = (),
        verified: bool = True,
    ) -> None:
        self.value = value
        self._because = because
        self.sources = sources
        self.verified = verified

    @property
    def because(self) -> str:
        sentence = self._because
        if not isinstance(sentence, str):
            sentence = self._because = sentence()
        return sentence

    def __repr__(self) -> str:
        return f"Fact({self.value!r}, {self.because!r})"


FactFunction = Callable[..., Fact]
#: A function that states every fact of one or more patterns at once, by full name.
FamilyFunction = Callable[["Facts"], dict[str, Fact]]
_Entry = tuple[Callable[..., Any], tuple[str, ...], bool]


class FactFunctions:
    """The function of each catalogue pattern. ``register`` is the decorator of a function that
    states one fact (its placeholder values as arguments); ``family`` that of a function that
    states every fact of its patterns in one pass over the record (the findings, the tests),
    which is cheaper where an assessment reads most of them."""

    def __init__(self) -> None:
        self.by_pattern: dict[str, Callable[..., Any]] = {}
        self.families: set[str] = set()

    def register(self, pattern: str) -> Callable[[FactFunction], FactFunction]:
        def decorator(function: FactFunction) -> FactFunction:
            self._add(pattern, function)
            return function

        return decorator

    def family(self, *patterns: str) -> Callable[[FamilyFunction], FamilyFunction]:
        def decorator(function: FamilyFunction) -> FamilyFunction:
            for pattern in patterns:
                self._add(pattern, function)
                self.families.add(pattern)
            return function

        return decorator

    def _add(self, pattern: str, function: Callable[..., Any]) -> None:
        if pattern in self.by_pattern:
            raise ValueError(f"fact {pattern} has two functions")
        self.by_pattern[pattern] = function

    def merged(self, other: FactFunctions) -> FactFunctions:
        both = FactFunctions()
        both.by_pattern = {**self.by_pattern, **other.by_pattern}
        both.families = self.families | other.families
        return both

    def entry(self, pattern: str, args: tuple[str, ...]) -> _Entry:
        return self.by_pattern[pattern], args, pattern in self.families

    def table(self, program: Program) -> dict[str, _Entry]:
        """Each fact name the program knows with its function and placeholder values, made once
        per knowledge base and kept with its program."""
        key = f"fact functions {id(self)}"
        table: dict[str, _Entry] | None = program.prepared.get(key)
        if table is None:
            table = program.prepared[key] = {
                name: self.entry(parsed.spec.pattern, parsed.args)
                for name, parsed in program.fact_names.items()
            }
        return table


class _Values(dict[str, FactValue]):
    """Fact values by name, each computed on first use."""

    __slots__ = ("facts",)

    def __init__(self, facts: Facts) -> None:
        super().__init__()
        self.facts = facts

    def __missing__(self, name: str) -> FactValue:
        if name.startswith("@"):  # a named condition, worked out once (knowledge/rules.py)
            value = self[name] = self.facts.program.named[name[1:]](self)
            return value
        return self.facts(name).value


class StageNotReached(AlscareError):
    """A fact of a later stage was asked for (a bug: the knowledge loader checks stages)."""


class Facts:
    """The facts of one patient on ``state.as_of`` (see the module docstring)."""

    def __init__(self, state: PatientState, kb: KnowledgeBase, functions: FactFunctions) -> None:
        self.state = state
        self.kb = kb
        self.functions = functions
        self.values = _Values(self)
        self._facts: dict[str, Fact] = {}
        self.program = kb.program
        self._table = functions.table(self.program)
        # The knowledge the fact functions look up most, held here once per assessment.
        self.topic_findings = kb.topic.finding_by_id
        self.investigations = kb.diagnosis.investigation_by_id
        self.drugs = kb.treatment.drug_by_id
        # What the stages conclude, set as each one finishes (see engine/__init__.py).
        self.stages: dict[str, Any] = {}
        # The reasons of each named condition, by (id, value), built once (engine/logic.py).
        self.named_reasons: dict[tuple[str, bool], Any] = {}

    def __call__(self, name: str) -> Fact:
        fact = self._facts.get(name)
        if fact is None:
            found = self._table.get(name)
            if found is None:  # a name no rule uses, with an open placeholder (a gene)
                parsed = parse_fact_name(name)
                # the same for every record: kept in the knowledge base's table from now on
                found = self._table[name] = self.functions.entry(parsed.spec.pattern, parsed.args)
            function, args, family = found
            if family:
                stated: dict[str, Fact] = function(self)
                self._facts.update(stated)
                self.values.update({key: item.value for key, item in stated.items()})
                return stated[name]
            fact = self._facts[name] = function(self, *args)
            self.values[name] = fact.value
        return fact

    def prepared(self, key: str, build: Callable[[KnowledgeBase], T]) -> T:
        """What a stage derives from the knowledge base alone, made once per knowledge base."""
        cache = self.program.prepared
        found: T | None = cache.get(key)
        if found is None:
            found = cache[key] = build(self.kb)
        return found

    def stage(self, name: str) -> Any:
        """What an earlier stage concluded."""
        try:
            return self.stages[name]
        except KeyError:
            raise StageNotReached(f"the {name} stage has not run yet") from None


def number_text(value: float, digits: int = 1) -> str:
    """A number as a clinician writes it: no trailing zeros, at most ``digits`` decimals."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


def on(date: dt.date | None, inferred: bool = False, word: str = "on") -> str:
    """`` on 2025-01-10`` (or ``since``, ``from``...), or nothing for an undated entry. A date
    the v1 upgrade supplied says so: it is the record's latest date, or none at all for a
    record without dates."""
    if date is None:
        return ""
    if not inferred:
        return f" {word} {date.isoformat()}"
    if date == dt.date.min:
        return " (undated)"
    return f" {word} {date.isoformat()} (date inferred)"
