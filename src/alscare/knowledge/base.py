"""Base shapes every knowledge section builds on: frozen models and citations.

Every clinical statement is a :class:`Cited` model: it carries at least one :class:`SourceRef`
(source id plus where in the source), an evidence level where the source grades it, and
``verified: false`` where the fact could not be checked against its source.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Generic, Protocol, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Cited", "Frozen", "SourceId", "SourceRef", "by_id", "indexed", "private"]

SourceId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]


def private(model: BaseModel, name: str) -> Any:
    """A private attribute's value, read without pydantic's (slow) attribute hook."""
    values = model.__pydantic_private__
    return values[name] if values is not None else None


Value = TypeVar("Value")


class _Indexed(Generic[Value]):
    """A value computed once from one field of a frozen model (see :func:`indexed`)."""

    def __init__(self, field: str, build: Callable[[Any], Value]) -> None:
        self.field = field
        self.build = build
        self.slot = f"_indexed_{build.__name__}"
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, model: None, owner: type[Any]) -> _Indexed[Value]: ...
    @overload
    def __get__(self, model: BaseModel, owner: type[Any]) -> Value: ...
    def __get__(self, model: BaseModel | None, owner: type[Any]) -> Value | _Indexed[Value]:
        if model is None:
            return self
        source = getattr(model, self.field)
        cached = model.__dict__.get(self.slot)
        if cached is not None and cached[0] is source:
            value: Value = cached[1]
            return value
        value = self.build(model)
        model.__dict__[self.slot] = (source, value)  # a cache, not a field: frozen still holds
        return value


def indexed(field: str) -> Callable[[Callable[[Any], Value]], _Indexed[Value]]:
    """A value computed once from one field of a frozen model, and again only when that
    field's value is replaced (a ``model_copy(update=...)`` copies the cache with the rest)."""

    def decorator(build: Callable[[Any], Value]) -> _Indexed[Value]:
        return _Indexed(field, build)

    return decorator


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


Item = TypeVar("Item", bound=_HasId)


def by_id(model: BaseModel, index_name: str, items: tuple[Item, ...], item_id: str) -> Item:
    """The item of ``items`` with this id, from the model's private index while that index was
    built from these very items (a ``model_copy`` may replace them), else by a scan."""
    index: tuple[tuple[Item, ...], dict[str, Item]] | None = private(model, index_name)
    if index is not None and index[0] is items and item_id in index[1]:
        return index[1][item_id]
    return next(item for item in items if item.id == item_id)


class Frozen(BaseModel):
    """Base of every knowledge model: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(_Indexed,))


class SourceRef(Frozen):
    """A citation: the source id and where in it the statement is found."""

    id: SourceId
    where: Annotated[str, Field(min_length=1, max_length=300)]


class Cited(Frozen):
    """A statement that must name its sources."""

    sources: Annotated[tuple[SourceRef, ...], Field(min_length=1)]
    evidence: str | None = None
    verified: bool = True

    @indexed("sources")
    def source_ids(self) -> tuple[str, ...]:
        """The ids of the sources, once each, in the order cited."""
        return tuple(dict.fromkeys(ref.id for ref in self.sources))
