"""The knowledge base as a whole: sources, editorial metadata, and the sections.

Each section has a module of its own (``topic``, ``scoring``, ``diagnosis``, ``treatment``) and a
folder of YAML files under ``content/``; the shared citation shapes are in ``base``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from alscare.knowledge.base import Cited, Frozen, SourceId
from alscare.knowledge.diagnosis import DiagnosisRules
from alscare.knowledge.program import Program, program_of
from alscare.knowledge.rules import RuleLibrary
from alscare.knowledge.scoring import ScoringParameters
from alscare.knowledge.topic import Topic
from alscare.knowledge.treatment import TreatmentRules

__all__ = [
    "Editorial",
    "KnowledgeBase",
    "Person",
    "Source",
    "cited_statements",
]


class Source(Frozen):
    id: SourceId
    kind: Literal[
        "guideline",
        "criteria",
        "trial",
        "review",
        "label",
        "regulatory",
        "study",
        "consensus",
        "reference",
        "code",
        "convention",
    ]
    citation: Annotated[str, Field(min_length=10)]
    year: Annotated[int, Field(ge=1900, le=2100)]
    doi: Annotated[str, Field(pattern=r"^10\.\d{4,9}/\S+$")] | None = None
    pmid: Annotated[str, Field(pattern=r"^\d{1,9}$")] | None = None
    url: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None
    checked: dt.date | None = None


class Person(Frozen):
    name: str
    role: str
    affiliation: str | None = None
    disclosure: str


class Editorial(Frozen):
    """Who wrote and reviewed the topic, and when; drives the "review overdue" flag."""

    title: str
    knowledge_version: Annotated[str, Field(pattern=r"^\d{4}\.\d+$")]
    last_reviewed: dt.date
    last_updated: dt.date
    review_period_months: Annotated[int, Field(ge=1, le=60)] = 12
    contributors: Annotated[tuple[Person, ...], Field(min_length=1)]
    previous_contributors: tuple[Person, ...] = ()
    peer_reviewers: tuple[Person, ...] = ()
    disclaimer: str

    def review_due(self, period_months: int | None = None) -> dt.date:
        months = period_months or self.review_period_months
        year, month = divmod(self.last_reviewed.month - 1 + months, 12)
        due_year, due_month = self.last_reviewed.year + year, month + 1
        day = min(self.last_reviewed.day, _days_in_month(due_year, due_month))
        return dt.date(due_year, due_month, day)

    def review_overdue(self, on: dt.date, period_months: int | None = None) -> bool:
        """True when the last review is older than the review period on ``on``."""
        return on > self.review_due(period_months)


def _days_in_month(year: int, month: int) -> int:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day


class KnowledgeBase(Frozen):
    """The whole topic, validated: every section, the sources, and the editorial metadata."""

    about: Editorial
    sources: tuple[Source, ...]
    topic: Topic
    rules: RuleLibrary
    scoring: ScoringParameters
    diagnosis: DiagnosisRules
    treatment: TreatmentRules

    @property
    def version(self) -> str:
        return self.about.knowledge_version

    @property
    def program(self) -> Program:
        """Every condition of the base compiled into Python (``knowledge/program.py``)."""
        return program_of(self)

    def cited_source_ids(self) -> frozenset[str]:
        """The ids of every source some statement cites (a content test flags the others)."""
        return frozenset(
            ref.id
            for section in (self.topic, self.rules, self.scoring, self.diagnosis, self.treatment)
            for _, statement in cited_statements(section)
            for ref in statement.sources
        )

    def source(self, source_id: str) -> Source:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)


def cited_statements(
    node: object, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Cited]]:
    """Every Cited model inside ``node``, with the path of field names and ids leading to it."""
    if isinstance(node, Cited):
        yield path, node
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from cited_statements(getattr(node, name), (*path, name))
    elif isinstance(node, tuple | list):
        for index, item in enumerate(node):
            label = getattr(item, "id", None)
            yield from cited_statements(item, (*path, str(label if label is not None else index)))
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from cited_statements(value, (*path, str(key)))
