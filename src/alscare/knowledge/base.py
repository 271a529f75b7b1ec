"""Base shapes every knowledge section builds on: frozen models and citations.

Every clinical statement is a :class:`Cited` model: it carries at least one :class:`SourceRef`
(source id plus where in the source), an evidence level where the source grades it, and
``verified: false`` where the fact could not be checked against its source.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Generic, Self, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Cited", "Frozen", "SourceId", "SourceRef", "indexed"]

SourceId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]


Value = TypeVar("Value")


class _Indexed(Generic[Value]):
    """A value computed once from the fields of a frozen model (see :func:`indexed`).

    The value is kept in the instance's ``__dict__`` under the descriptor's own name: this
    descriptor defines only ``__get__``, so from then on plain attribute lookup finds the value
    without calling any code. Not a field: validation, serialisation and equality ignore it.
    """

    def __init__(self, build: Callable[[Any], Value]) -> None:
        self.build = build
        self.name = build.__name__
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, model: None, owner: type[Any]) -> _Indexed[Value]: ...
    @overload
    def __get__(self, model: BaseModel, owner: type[Any]) -> Value: ...
    def __get__(self, model: BaseModel | None, owner: type[Any]) -> Value | _Indexed[Value]:
        if model is None:
            return self
        value = model.__dict__[self.name] = self.build(model)
        return value


def indexed(build: Callable[[Any], Value]) -> _Indexed[Value]:
    """A value of a frozen model computed once, on first use (an index by id, say)."""
    return _Indexed(build)


class Frozen(BaseModel):
    """Base of every knowledge model: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(_Indexed,))

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update``, one whose indexed values are computed afresh."""
        copied = super().model_copy(update=update, deep=deep)
        if update:
            for klass in type(self).__mro__:
                for name, attribute in vars(klass).items():
                    if isinstance(attribute, _Indexed):
                        copied.__dict__.pop(name, None)
        return copied


class SourceRef(Frozen):
    """A citation: the source id and where in it the statement is found."""

    id: SourceId
    where: Annotated[str, Field(min_length=1, max_length=300)]


class Cited(Frozen):
    """A statement that must name its sources."""

    sources: Annotated[tuple[SourceRef, ...], Field(min_length=1)]
    evidence: str | None = None
    verified: bool = True

    @indexed
    def source_ids(self) -> tuple[str, ...]:
        """The ids of the sources, once each, in the order cited."""
        return tuple(dict.fromkeys(ref.id for ref in self.sources))
