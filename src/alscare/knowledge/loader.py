"""The only reader of knowledge files: YAML package data in, a validated KnowledgeBase out.

Layout of a content directory::

    about.yaml          editorial metadata (Editorial)
    sources.yaml        {sources: [...]} the source registry (Source)
    topic/*.yaml        section ``topic``      (knowledge.topic.Topic)
    rules/*.yaml        section ``rules``      (knowledge.rules.RuleLibrary)
    scoring/*.yaml      section ``scoring``    (knowledge.scoring.ScoringParameters)
    diagnosis/*.yaml    section ``diagnosis``  (knowledge.diagnosis.DiagnosisRules)
    treatment/*.yaml    section ``treatment``  (knowledge.treatment.TreatmentRules)

The files of a section are merged by their top-level keys, which must not repeat. Any fault
raises KnowledgeError naming the file, the item id and the field.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from alscare.errors import KnowledgeError
from alscare.knowledge.models import Editorial, KnowledgeBase, Source, cited_statements
from alscare.knowledge.program import rule_problems

__all__ = ["default_knowledge", "load_knowledge"]

SECTIONS = ("topic", "rules", "scoring", "diagnosis", "treatment")


class _Document:
    """Raw YAML of one section with the file each top-level key came from."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.origin: dict[str, str] = {}

    def merge(self, name: str, data: Any) -> None:
        if data is None:
            return
        if not isinstance(data, dict):
            raise KnowledgeError(name, None, "(top level)", "a knowledge file must be a mapping")
        for key, value in data.items():
            if key in self.data:
                raise KnowledgeError(name, None, key, f"also defined in {self.origin[key]}")
            self.data[key] = value
            self.origin[key] = name

    def file_of(self, location: tuple[int | str, ...], default: str) -> str:
        return self.origin.get(str(location[0]), default) if location else default


def _read_yaml(file: Traversable, name: str) -> Any:
    try:
        return yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        # One line: the parser's problem ("mapping values are not allowed here") and column.
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        column = f" (column {mark.column + 1})" if mark is not None else ""
        raise KnowledgeError(name, None, where, f"not valid YAML: {problem}{column}") from None


def _yaml_files(folder: Traversable) -> Iterator[Traversable]:
    if folder.is_dir():
        yield from sorted(
            (item for item in folder.iterdir() if item.name.endswith((".yaml", ".yml"))),
            key=lambda item: item.name,
        )


def _item_id(data: Any, location: tuple[int | str, ...]) -> str | None:
    """The id of the innermost item on the path to a faulty field."""
    found: str | None = None
    node = data
    for part in location:
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            found = node["id"]
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
    if isinstance(node, dict) and isinstance(node.get("id"), str):
        found = node["id"]
    return found


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], document: _Document, name: str) -> M:
    try:
        return model.model_validate(document.data)
    except ValidationError as error:
        detail = error.errors(include_url=False)[0]
        location = tuple(detail["loc"])
        field = ".".join(str(part) for part in location) or "(top level)"
        reason = str(detail["msg"]).removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            reason = "unknown field"
        # A model validator may name the item itself (e.g. an id missing from the file).
        named = (detail.get("ctx") or {}).get("item_id")
        item = str(named) if named is not None else _item_id(document.data, location)
        raise KnowledgeError(document.file_of(location, name), item, field, reason) from None


def _section(root: Traversable, section: str) -> _Document:
    document = _Document()
    for file in _yaml_files(root / section):
        name = f"{section}/{file.name}"
        document.merge(name, _read_yaml(file, name))
    return document


def _single(root: Traversable, name: str) -> _Document:
    document = _Document()
    file = root / name
    if not file.is_file():
        raise KnowledgeError(name, None, "(file)", "file is missing")
    document.merge(name, _read_yaml(file, name))
    return document


def _check_sources(kb: KnowledgeBase, documents: dict[str, _Document]) -> None:
    duplicates = [source_id for source_id, n in Counter(s.id for s in kb.sources).items() if n > 1]
    if duplicates:
        raise KnowledgeError("sources.yaml", duplicates[0], "id", "duplicate source id")
    known = {source.id for source in kb.sources}
    for section in SECTIONS:
        for path, statement in cited_statements(getattr(kb, section)):
            for ref in statement.sources:
                if ref.id not in known:
                    item = path[1] if len(path) > 1 else None
                    raise KnowledgeError(
                        documents[section].file_of(path, f"{section}/"),
                        item,
                        ".".join(path) + ".sources",
                        f"cites unknown source {ref.id!r}",
                    )


def load_knowledge(directory: Path | Traversable | None = None) -> KnowledgeBase:
    """Load and validate the knowledge base (the packaged content unless a directory is given)."""
    root: Traversable = (
        directory if directory is not None else resources.files("alscare.knowledge") / "content"
    )
    if isinstance(root, Path) and not root.is_dir():
        raise KnowledgeError(str(root), None, "(directory)", "knowledge directory not found")
    about = _validated(Editorial, _single(root, "about.yaml"), "about.yaml")
    registry = _single(root, "sources.yaml")
    sources_doc = _Document()
    sources_doc.merge("sources.yaml", {"items": registry.data.get("sources")})
    sources = _validated(_SourceList, sources_doc, "sources.yaml").items
    documents = {section: _section(root, section) for section in SECTIONS}
    sections = {
        section: _validated(_section_model(section), documents[section], f"{section}/")
        for section in SECTIONS
    }
    kb = KnowledgeBase(about=about, sources=sources, **sections)
    _check_sources(kb, documents)
    _check_rules(kb, documents)
    kb.program  # noqa: B018 - compile every condition now, at load, not in the first assessment
    return kb


def _check_rules(kb: KnowledgeBase, documents: dict[str, _Document]) -> None:
    problems = rule_problems(kb)
    if problems:
        first = problems[0]
        section, *rest = first.path
        raise KnowledgeError(
            documents[section].file_of(tuple(rest), f"{section}/"),
            rest[1] if len(rest) > 1 else None,
            ".".join(first.path),
            first.reason,
        )


def _section_model(section: str) -> type[BaseModel]:
    model = KnowledgeBase.model_fields[section].annotation
    assert isinstance(model, type) and issubclass(model, BaseModel)  # the sections are models
    return model


class _SourceList(BaseModel):
    items: tuple[Source, ...]


@cache
def default_knowledge() -> KnowledgeBase:
    """The packaged knowledge base, loaded once per process (for adapters, never the engine)."""
    return load_knowledge()
