"""The condition language both rule sections write their rules in (``diagnosis`` and
``treatment``): a small tree of combinators over tests of the patient record.

* ``{all: [...]}``, ``{any: [...]}``, ``{not: ...}`` combine conditions (:class:`AllOf`,
  :class:`AnyOf`, :class:`NotOf`).
* ``{fact: name, <one comparison>}`` tests one named fact of the record (:class:`FactTest`):
  ``is`` (true/false or an id), ``in`` (one of these texts), ``includes`` (a list fact holds one
  of these), ``present`` (whether the fact has a value at all), or ``below`` / ``at_most`` /
  ``at_least`` / ``above`` a bound. A bound is a number, or the id of a cited
  :class:`Threshold` of the section (its value, unit and sources then go into the reasons).

A section brings its vocabulary: a subclass of :class:`FactTest` that checks the fact names it
knows, and any tests only it has (e.g. ``{taking: drug}`` in treatment). Its condition type is
the combinators over its leaves, written out once in the section::

    Leaf = Annotated[Annotated[MyFactTest, Tag("fact")] | ..., leaf_kinds({"fact": MyFactTest})]
    Condition = Annotated[
        Annotated[AllOf[Leaf], Tag("all")]
        | Annotated[AnyOf[Leaf], Tag("any")]
        | Annotated[NotOf[Leaf], Tag("not")]
        | Annotated[Leaf, Tag("leaf")],
        COMBINATORS,
    ]

``engine/conditions.py`` evaluates every condition of this language.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictStr,
    Tag,
    model_validator,
)

from alscare.knowledge.base import Cited, Frozen

__all__ = [
    "BOUNDS",
    "COMBINATORS",
    "AllOf",
    "AnyOf",
    "Bound",
    "FactTest",
    "LeafT",
    "NotOf",
    "Part",
    "RuleId",
    "Threshold",
    "conditions_in",
    "leaf_kinds",
]

RuleId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]
Label = Annotated[str, Field(min_length=1, max_length=200)]

#: A bound of a comparison: a number, or the id of a named threshold of the section.
Bound = Annotated[float, Field(strict=True)] | RuleId

#: The comparisons with a bound, in the order their names read ("below 50").
BOUNDS: tuple[str, ...] = ("below", "at_most", "at_least", "above")

LeafT = TypeVar("LeafT")


class _Node(Frozen):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Threshold(Cited):
    """A cited number a rule compares a fact with, in the fact's unit."""

    id: RuleId
    value: float
    unit: Label
    label: Label


class FactTest(_Node):
    """A leaf: one fact of the record and exactly one comparison.

    A section subclasses it to check the fact names of its vocabulary (and which comparison
    suits which fact). ``engine/conditions.py`` says what a test of an unknown value gives.
    """

    fact: str
    below: Bound | None = None
    at_most: Bound | None = None
    at_least: Bound | None = None
    above: Bound | None = None
    is_: StrictBool | StrictStr | None = Field(default=None, alias="is")
    in_: tuple[str, ...] | None = Field(default=None, alias="in", min_length=1)
    includes: tuple[str, ...] | None = Field(default=None, min_length=1)
    present: bool | None = None

    @model_validator(mode="after")
    def _one_test(self) -> FactTest:
        given = sorted(name for name, value in self._tests() if value is not None)
        if len(given) != 1:
            raise ValueError(f"fact {self.fact}: give exactly one test, not {given}")
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
        """The one comparison: its name and what the fact is compared with."""
        return next((name, value) for name, value in self._tests() if value is not None)

    @cached_property
    def comparison(self) -> tuple[str, Bound] | None:
        """(operator, bound) for a comparison with a bound, else None."""
        name, value = self.test
        if name in BOUNDS:
            assert isinstance(value, float | str)  # the fields of BOUNDS hold a Bound
            return name, value
        return None


class AllOf(_Node, Generic[LeafT]):
    """Holds when every part holds."""

    all_: Annotated[tuple[Part[LeafT], ...], Field(alias="all", min_length=1)]

    @property
    def parts(self) -> tuple[Part[LeafT], ...]:
        return self.all_


class AnyOf(_Node, Generic[LeafT]):
    """Holds when at least one part holds."""

    any_: Annotated[tuple[Part[LeafT], ...], Field(alias="any", min_length=1)]

    @property
    def parts(self) -> tuple[Part[LeafT], ...]:
        return self.any_


class NotOf(_Node, Generic[LeafT]):
    """Holds when its part does not."""

    not_: Part[LeafT] = Field(alias="not")

    @property
    def parts(self) -> tuple[Part[LeafT], ...]:
        return (self.not_,)


_COMBINATOR_KEYS: dict[str, type[_Node]] = {"all": AllOf, "any": AnyOf, "not": NotOf}


def _combinator_kind(value: Any) -> str:
    """``all``, ``any`` or ``not`` for a combinator, else ``leaf`` (the section's leaves say
    whether it is one of theirs)."""
    if isinstance(value, dict):
        return next((key for key in _COMBINATOR_KEYS if key in value), "leaf")
    models = _COMBINATOR_KEYS.items()
    return next((key for key, model in models if isinstance(value, model)), "leaf")


#: The discriminator of a condition: a combinator or one of the section's leaves.
COMBINATORS = Discriminator(_combinator_kind)

#: A part of a combinator whose leaves are ``LeafT`` (a section writes its own ``Condition``
#: the same way, with its leaves in place of ``LeafT``: see the module docstring).
Part = Annotated[
    Annotated[AllOf[LeafT], Tag("all")]
    | Annotated[AnyOf[LeafT], Tag("any")]
    | Annotated[NotOf[LeafT], Tag("not")]
    | Annotated[LeafT, Tag("leaf")],
    COMBINATORS,
]

for _combinator in (AllOf, AnyOf, NotOf):
    _combinator.model_rebuild()


def leaf_kinds(leaves: Mapping[str, type[Frozen]]) -> Discriminator:
    """The discriminator of a section's leaves, keyed by the field that names each kind (the
    first key of ``leaves`` present in a mapping decides)."""
    keys = [*_COMBINATOR_KEYS, *leaves]
    shapes = ["{all: [...]}", "{any: [...]}", "{not: ...}", *(f"{{{key}: ...}}" for key in leaves)]

    def kind(value: Any) -> str | None:
        if isinstance(value, dict):
            return next((key for key in leaves if key in value), None)
        return next((key for key, model in leaves.items() if isinstance(value, model)), None)

    return Discriminator(
        kind,
        custom_error_type="condition",
        custom_error_message=f"a condition needs one of the keys {', '.join(keys)}; "
        f"a condition is one of {', '.join(shapes)}",
    )


def conditions_in(condition: Part[LeafT]) -> Iterator[Part[LeafT]]:
    """The condition and every condition nested in it, depth first."""
    yield condition
    if isinstance(condition, AllOf | AnyOf | NotOf):
        for part in condition.parts:
            yield from conditions_in(part)
