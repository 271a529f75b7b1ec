"""Base shapes every knowledge section builds on: frozen models and citations.

Every clinical statement is a :class:`Cited` model: it carries at least one :class:`SourceRef`
(source id plus where in the source), an evidence level where the source grades it, and
``verified: false`` where the fact could not be checked against its source.
"""

from __future__ import annotations

from typing import Annotated, Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

__all__ = ["Cited", "Frozen", "SourceId", "SourceRef", "by_id", "private"]

SourceId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]


def private(model: BaseModel, name: str) -> Any:
    """A private attribute's value, read without pydantic's (slow) attribute hook."""
    values = model.__pydantic_private__
    return values[name] if values is not None else None


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

    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceRef(Frozen):
    """A citation: the source id and where in it the statement is found."""

    id: SourceId
    where: Annotated[str, Field(min_length=1, max_length=300)]


class Cited(Frozen):
    """A statement that must name its sources."""

    sources: Annotated[tuple[SourceRef, ...], Field(min_length=1)]
    evidence: str | None = None
    verified: bool = True

    # ``source_ids`` computed once, with the ``sources`` it was computed from (a ``model_copy``
    # that replaces ``sources`` keeps the old memo, which is then ignored).
    _source_ids: tuple[tuple[SourceRef, ...], tuple[str, ...]] | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        self._source_ids = (self.sources, _source_ids(self.sources))

    @property
    def source_ids(self) -> tuple[str, ...]:
        memo: tuple[tuple[SourceRef, ...], tuple[str, ...]] | None = private(self, "_source_ids")
        if memo is not None and memo[0] is self.sources:
            return memo[1]
        return _source_ids(self.sources)


def _source_ids(sources: tuple[SourceRef, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ref.id for ref in sources))
