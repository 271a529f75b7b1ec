"""The rule language every section writes its conditions in, and its compiler.

A condition is a small tree (docs/rules.md is generated from this grammar and the fact
catalogue of ``knowledge/facts.py``)::

    {all: [c, ...]}      true when every part is true
    {any: [c, ...]}      true when some part is true
    {not: c}             true when c is false
    {ref: id}            the named condition ``id`` (rules/conditions.yaml)
    {fact: name, <test>[, if_unknown: true|false]}

with one test per leaf: ``is: true|false|text``, ``in: [texts]``, ``includes: [texts]`` (a list
fact holds one of them), ``present: true|false`` (the fact has a value, and a list is not empty),
or ``below | at_most | at_least | above: bound``, the bound a number or the id of a cited
threshold (rules/thresholds.yaml) in the fact's unit.

The logic is Kleene's three-valued logic: a fact the record cannot give is unknown, a test of
an unknown fact is unknown, ``not`` keeps unknown, ``all`` is false as soon as a part is false
and else unknown if a part is unknown, ``any`` is true as soon as a part is true and else
unknown if a part is unknown. A rule holds only when its condition is true. Where a rule means
unknown to count as false (or true), it says so at the leaf with ``if_unknown``; ``present``
never gives unknown.

At load every condition is compiled once into a plain Python function of the fact values
(:func:`compile_conditions`), so an assessment only runs code; the reasons of a condition are
built afterwards, for the rules that hold (``engine/logic.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Final, Literal, TypeAlias, TypeVar

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictStr,
    Tag,
    field_validator,
    model_validator,
)

from alscare.knowledge.base import Cited, Frozen, indexed
from alscare.knowledge.facts import FactName, FactSpec, parse_fact_name
from alscare.schemas.vocabulary import DifferentialLevel, GeneticResult

__all__ = [
    "BOUNDS",
    "AllOf",
    "AnyOf",
    "CausalVariantDefinition",
    "Compiled",
    "CompiledRules",
    "Condition",
    "Explainer",
    "FactTest",
    "FactValue",
    "ImplausibleLimit",
    "MimicDefinition",
    "NamedCondition",
    "NotOf",
    "Ref",
    "RepeatWindow",
    "RuleId",
    "RuleLibrary",
    "Threshold",
    "compile_conditions",
    "conditions_in",
    "evaluate",
    "facts_in",
]

RuleId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]
Label = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]

#: A fact's value: yes/no, a number, a text or a list of texts; None is unknown.
FactValue: TypeAlias = bool | float | str | tuple[str, ...] | None
#: A compiled condition: the fact values in, true/false/unknown out.
Compiled: TypeAlias = Callable[[Mapping[str, FactValue]], bool | None]

#: The comparisons with a bound, as they read, and the Python operator of each.
BOUNDS: Final[dict[str, tuple[str, str]]] = {
    "below": ("below", "<"),
    "at_most": ("at most", "<="),
    "at_least": ("at least", ">="),
    "above": ("above", ">"),
}
_TESTS_BY_KIND: Final[dict[str, frozenset[str]]] = {
    "number": frozenset({*BOUNDS, "present"}),
    "yes_no": frozenset({"is"}),
    "text": frozenset({"is", "in", "present"}),
    "list": frozenset({"includes", "present"}),
}


class _Node(Frozen):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class FactTest(_Node):
    """A leaf: one fact and one test of it."""

    fact: str
    below: Annotated[float, Field(strict=True)] | RuleId | None = None
    at_most: Annotated[float, Field(strict=True)] | RuleId | None = None
    at_least: Annotated[float, Field(strict=True)] | RuleId | None = None
    above: Annotated[float, Field(strict=True)] | RuleId | None = None
    is_: StrictBool | StrictStr | None = Field(default=None, alias="is")
    in_: Annotated[tuple[str, ...], Field(min_length=1)] | None = Field(default=None, alias="in")
    includes: Annotated[tuple[str, ...], Field(min_length=1)] | None = None
    present: StrictBool | None = None
    if_unknown: StrictBool | None = None

    @field_validator("fact")
    @classmethod
    def _known_fact(cls, name: str) -> str:
        parse_fact_name(name)  # raises ValueError naming the problem
        return name

    @model_validator(mode="after")
    def _one_test_that_fits(self) -> FactTest:
        given = [name for name, value in self._tests() if value is not None]
        if len(given) != 1:
            raise ValueError(f"fact {self.fact}: give exactly one test, not {given}")
        test, value = self.test
        spec = self.spec
        if test not in _TESTS_BY_KIND[spec.kind]:
            allowed = ", ".join(sorted(_TESTS_BY_KIND[spec.kind]))
            raise ValueError(f"fact {self.fact} ({spec.kind}) takes {allowed}, not {test}")
        if spec.kind == "yes_no" and not isinstance(value, bool):
            raise ValueError(f"fact {self.fact} is true or false")
        if spec.kind == "text" and test == "is" and not isinstance(value, str):
            raise ValueError(f"fact {self.fact} is a text")
        texts = (value,) if isinstance(value, str) and test == "is" else value
        if spec.values is not None and test in ("is", "in", "includes"):
            assert isinstance(texts, tuple)  # is/in/includes of a text or list fact
            unknown = sorted(set(texts) - set(spec.values))
            if unknown:
                raise ValueError(f"fact {self.fact}: unknown values {', '.join(unknown)}")
        if self.if_unknown is not None and (not spec.unknown or test == "present"):
            raise ValueError(f"fact {self.fact}: if_unknown on a test that is never unknown")
        return self

    def _tests(self) -> Iterator[tuple[str, object]]:
        yield "below", self.below
        yield "at_most", self.at_most
        yield "at_least", self.at_least
        yield "above", self.above
        yield "is", self.is_
        yield "in", self.in_
        yield "includes", self.includes
        yield "present", self.present

    @cached_property
    def test(self) -> tuple[str, object]:
        """The one test: its name and what the fact is compared with."""
        return next((name, value) for name, value in self._tests() if value is not None)

    @cached_property
    def name(self) -> FactName:
        return parse_fact_name(self.fact)

    @property
    def spec(self) -> FactSpec:
        return self.name.spec

    @property
    def threshold_id(self) -> str | None:
        """The id of the named threshold this leaf compares with, if any."""
        name, value = self.test
        return value if name in BOUNDS and isinstance(value, str) else None


class AllOf(_Node):
    """True when every part is true."""

    all_: Annotated[tuple[Condition, ...], Field(alias="all", min_length=1)]

    @property
    def parts(self) -> tuple[Condition, ...]:
        return self.all_


class AnyOf(_Node):
    """True when some part is true."""

    any_: Annotated[tuple[Condition, ...], Field(alias="any", min_length=1)]

    @property
    def parts(self) -> tuple[Condition, ...]:
        return self.any_


class NotOf(_Node):
    """True when its part is false."""

    not_: Condition = Field(alias="not")

    @property
    def parts(self) -> tuple[Condition, ...]:
        return (self.not_,)


class Ref(_Node):
    """The named condition ``ref``."""

    ref: RuleId


_KEYS: Final = ("all", "any", "not", "ref", "fact")


def _kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((key for key in _KEYS if key in value), None)
    for key, model in (("all", AllOf), ("any", AnyOf), ("not", NotOf), ("ref", Ref)):
        if isinstance(value, model):
            return key
    return "fact" if isinstance(value, FactTest) else None


#: A condition of the rule language.
Condition = Annotated[
    (
        Annotated[AllOf, Tag("all")]
        | Annotated[AnyOf, Tag("any")]
        | Annotated[NotOf, Tag("not")]
        | Annotated[Ref, Tag("ref")]
        | Annotated[FactTest, Tag("fact")]
    ),
    Discriminator(
        _kind,
        custom_error_type="condition",
        custom_error_message="a condition is one of {all: [...]}, {any: [...]}, {not: ...}, "
        "{ref: id} or {fact: name, <test>}",
    ),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()


def conditions_in(condition: Condition) -> Iterator[Condition]:
    """The condition and every condition nested in it, depth first."""
    yield condition
    if isinstance(condition, AllOf | AnyOf | NotOf):
        for part in condition.parts:
            yield from conditions_in(part)


def facts_in(condition: Condition) -> Iterator[FactTest]:
    """Every leaf of the condition (not through references)."""
    for part in conditions_in(condition):
        if isinstance(part, FactTest):
            yield part


# --- the shared library: thresholds, named conditions, definitions ----------------------------


class Threshold(Cited):
    """A cited number a rule compares a fact with, in the fact's unit: ``label`` says the
    comparison ("below 50 % predicted"), ``purpose`` what it decides ("NIV, on FVC alone")."""

    id: RuleId
    value: float
    unit: Label
    label: Label
    purpose: Label


class NamedCondition(Cited):
    """A condition several rules share, e.g. ``person_with_als``. ``label_false`` is how the
    reasons say that it does not hold (e.g. "not yet on NIV"), instead of listing its parts."""

    id: RuleId
    label: Label
    label_false: Label | None = None
    when: Condition


class MimicDefinition(Cited):
    """Which differential results count as a suspected mimic: a level of ``levels`` on a
    differential outside the ALS spectrum."""

    levels: Annotated[tuple[DifferentialLevel, ...], Field(min_length=1)]


class CausalVariantDefinition(Cited):
    """Which classifications of a genetic result count as a causal variant, and which leave
    the question open (a gene with such a result is neither causal nor cleared)."""

    results: Annotated[tuple[GeneticResult, ...], Field(min_length=1)]
    uncertain: tuple[GeneticResult, ...] = ()

    @model_validator(mode="after")
    def _disjoint(self) -> CausalVariantDefinition:
        both = sorted(set(self.results) & set(self.uncertain))
        if both:
            raise ValueError(f"{', '.join(both)} cannot be both causal and uncertain")
        return self


Measurement = Literal["alsfrs_r", "fvc_percent_predicted", "weight"]


class RepeatWindow(Cited):
    """How long a measurement stays current: older than ``months`` it is stale."""

    measurement: Measurement
    label: Label
    months: Annotated[float, Field(gt=0, le=60)]


class ImplausibleLimit(Cited):
    """A derived value beyond these limits is a data error, not a finding: it is flagged and
    not used for advice."""

    value: Literal["progression_rate", "bmi", "weight_loss_percent"]
    below: float | None = None
    above: float | None = None
    min_months: Annotated[float, Field(gt=0)] | None = None
    reason: Text

    @model_validator(mode="after")
    def _some_limit(self) -> ImplausibleLimit:
        if self.below is None and self.above is None and self.min_months is None:
            raise ValueError(f"{self.value}: give below, above or min_months")
        return self


class RuleLibrary(Frozen):
    """The knowledge section ``rules``: what every other section's rules share."""

    thresholds: tuple[Threshold, ...]
    conditions: tuple[NamedCondition, ...]
    mimic: MimicDefinition
    causal_variant: CausalVariantDefinition
    repeat_windows: tuple[RepeatWindow, ...]
    implausible: tuple[ImplausibleLimit, ...]

    @indexed
    def threshold_by_id(self) -> dict[str, Threshold]:
        return {threshold.id: threshold for threshold in self.thresholds}

    @indexed
    def condition_by_id(self) -> dict[str, NamedCondition]:
        return {named.id: named for named in self.conditions}

    @indexed
    def window_by_measurement(self) -> dict[str, RepeatWindow]:
        return {window.measurement: window for window in self.repeat_windows}

    @indexed
    def implausible_by_value(self) -> dict[str, ImplausibleLimit]:
        return {limit.value: limit for limit in self.implausible}


# --- evaluation: the interpreter (the reference) and the compiler -----------------------------


def evaluate(
    condition: Condition, values: Mapping[str, FactValue], library: RuleLibrary
) -> bool | None:
    """The value of a condition, interpreted node by node (the compiled functions must agree:
    a property test checks they do)."""
    if isinstance(condition, FactTest):
        return _leaf_value(condition, values[condition.fact], library)
    if isinstance(condition, Ref):
        return evaluate(library.condition_by_id[condition.ref].when, values, library)
    # (the compiled functions read a named condition's value from values["@id"] instead)
    if isinstance(condition, NotOf):
        inner = evaluate(condition.not_, values, library)
        return None if inner is None else not inner
    decisive = isinstance(condition, AnyOf)
    unknown = False
    for part in condition.parts:
        value = evaluate(part, values, library)
        if value is decisive:
            return decisive
        unknown = unknown or value is None
    return None if unknown else not decisive


def bound_value(test: FactTest, library: RuleLibrary) -> float:
    """The number a comparison compares with (a named threshold's value)."""
    _, bound = test.test
    if isinstance(bound, str):
        return library.threshold_by_id[bound].value
    assert isinstance(bound, float | int)  # a bound is a number or a threshold id
    return float(bound)


def _leaf_value(test: FactTest, value: FactValue, library: RuleLibrary) -> bool | None:
    name, wanted = test.test
    if name == "present":
        return (value is not None and value != ()) is wanted
    if value is None:
        return test.if_unknown
    if name in BOUNDS:
        bound = bound_value(test, library)
        assert isinstance(value, float | int)  # the catalogue makes it a number
        return {
            "below": value < bound,
            "at_most": value <= bound,
            "at_least": value >= bound,
            "above": value > bound,
        }[name]
    if name == "is":
        return value == wanted
    if name == "in":
        assert isinstance(wanted, tuple)
        return value in wanted
    assert isinstance(wanted, tuple) and isinstance(value, tuple)  # includes, of a list fact
    return not set(wanted).isdisjoint(value)


@dataclass
class _Source:
    """Python source of the compiled functions, and the constants they use."""

    lines: list[str]
    constants: dict[str, object]
    counter: Iterator[int]

    def temp(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    def constant(self, value: object) -> str:
        name = self.temp("_k")
        self.constants[name] = value
        return name


def _ref_function(condition_id: str) -> str:
    return f"_ref_{condition_id}"


def _emit(condition: Condition, target: str, indent: str, out: _Source, lib: RuleLibrary) -> None:
    """Lines that set ``target`` to the value of ``condition``."""
    line = out.lines.append
    if isinstance(condition, FactTest):
        _emit_leaf(condition, target, indent, out, lib)
    elif isinstance(condition, Ref):
        # Named conditions are worked out once per assessment: the fact values keep them under
        # "@<id>", computed on first use by the named condition's own function.
        line(f"{indent}{target} = V[{'@' + condition.ref!r}]")
    elif isinstance(condition, NotOf):
        inner = out.temp("n")
        _emit(condition.not_, inner, indent, out, lib)
        line(f"{indent}{target} = None if {inner} is None else not {inner}")
    else:
        decisive = isinstance(condition, AnyOf)
        line(f"{indent}{target} = {not decisive}")
        line(f"{indent}while True:")
        inner_indent = indent + "    "
        for part in condition.parts:
            value = out.temp("p")
            _emit(part, value, inner_indent, out, lib)
            line(f"{inner_indent}if {value} is {decisive}:")
            line(f"{inner_indent}    {target} = {decisive}")
            line(f"{inner_indent}    break")
            line(f"{inner_indent}if {value} is None:")
            line(f"{inner_indent}    {target} = None")
        line(f"{inner_indent}break")


def _emit_leaf(test: FactTest, target: str, indent: str, out: _Source, lib: RuleLibrary) -> None:
    line = out.lines.append
    name, wanted = test.test
    value = out.temp("x")
    line(f"{indent}{value} = V[{test.fact!r}]")
    if name == "present":
        presence = f"({value} is not None and {value} != ())"
        line(f"{indent}{target} = {presence if wanted else f'not {presence}'}")
        return
    if name in BOUNDS:
        expression = f"{value} {BOUNDS[name][1]} {bound_value(test, lib)!r}"
    elif name == "is":
        expression = (
            f"{value} == {wanted!r}"
            if isinstance(wanted, str)
            else (value if wanted else f"not {value}")
        )
    else:
        assert isinstance(wanted, tuple)  # in and includes list their texts
        texts = out.constant(frozenset(wanted))
        expression = f"{value} in {texts}" if name == "in" else f"not {texts}.isdisjoint({value})"
    line(f"{indent}{target} = {test.if_unknown!r} if {value} is None else {expression}")


def _function(name: str, condition: Condition, out: _Source, lib: RuleLibrary) -> None:
    out.lines.append(f"def {name}(V):")
    _emit(condition, "r", "    ", out, lib)
    out.lines.append("    return r")
    out.lines.append("")


def _emit_why(
    condition: Condition, wanted: bool, indent: str, out: _Source, lib: RuleLibrary
) -> None:
    """Lines that append to ``W`` the leaves and named conditions that give ``condition`` the
    value ``wanted``: each as (node, the value it has)."""
    line = out.lines.append
    if isinstance(condition, FactTest | Ref):
        line(f"{indent}W.append(({out.constant(condition)}, {wanted}))")
    elif isinstance(condition, NotOf):
        _emit_why(condition.not_, not wanted, indent, out, lib)
    else:
        # all that holds / any that fails: every part; else the parts that decide it
        every_part = isinstance(condition, AllOf) == wanted
        for part in condition.parts:
            if every_part:
                _emit_why(part, wanted, indent, out, lib)
                continue
            value = out.temp("w")
            _emit(part, value, indent, out, lib)
            line(f"{indent}if {value} is {wanted}:")
            _emit_why(part, wanted, indent + "    ", out, lib)
    line(f"{indent}pass")


def _explainer(
    name: str, condition: Condition, wanted: bool, out: _Source, lib: RuleLibrary
) -> None:
    out.lines.append(f"def {name}(V, W):")
    _emit_why(condition, wanted, "    ", out, lib)
    out.lines.append("")


#: A compiled explanation: the fact values in, the deciding leaves and named conditions (each
#: with the value it has) appended to the list given.
Explainer: TypeAlias = Callable[
    [Mapping[str, FactValue], list[tuple["FactTest | Ref", bool]]], None
]


@dataclass(frozen=True)
class CompiledRules:
    """The compiled functions of a set of conditions (see :func:`compile_conditions`)."""

    rules: dict[Any, Compiled]
    named: dict[str, Compiled]
    why: dict[Any, Explainer]
    why_named: dict[tuple[str, bool], Explainer]


Key = TypeVar("Key", bound=Hashable)


def compile_conditions(conditions: Mapping[Key, Condition], library: RuleLibrary) -> CompiledRules:
    """Python functions generated as source and compiled once: for each condition (by the
    caller's keys) and each named condition (by its id) its value, and what explains it when it
    holds (for a named condition, also when it fails). A function reads the fact values and the
    values of named conditions (``V["@id"]``) from the mapping it is given."""
    out = _Source([], {}, itertools.count())
    for named in library.conditions:
        _function(_ref_function(named.id), named.when, out, library)
        for wanted in (True, False):
            _explainer(f"_why_ref_{named.id}_{wanted}", named.when, wanted, out, library)
    names = {key: index for index, key in enumerate(conditions)}
    for key, condition in conditions.items():
        _function(f"_rule_{names[key]}", condition, out, library)
        _explainer(f"_why_{names[key]}", condition, True, out, library)
    namespace: dict[str, Any] = dict(out.constants)
    code = compile("\n".join(out.lines), "<alscare rules>", "exec")
    exec(code, namespace)  # noqa: S102 - the source is generated above from validated knowledge
    return CompiledRules(
        rules={key: namespace[f"_rule_{index}"] for key, index in names.items()},
        named={named.id: namespace[_ref_function(named.id)] for named in library.conditions},
        why={key: namespace[f"_why_{index}"] for key, index in names.items()},
        why_named={
            (named.id, wanted): namespace[f"_why_ref_{named.id}_{wanted}"]
            for named in library.conditions
            for wanted in (True, False)
        },
    )
