"""A row of a clinical table of an OMOP CDM as the mapping reads it: its concepts, its date, and
its values as the record's fields take them (their types, units and vocabularies).

The rows come from :mod:`alscare.cohort.omop_sources` as dicts by role (``concept``,
``number``, ``unit.concept_code``, ...); :mod:`alscare.cohort.omop` says which part of the
record each row fills. A value that cannot be read raises Unreadable with the reason, which the
person's problems report.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from types import NoneType, UnionType
from typing import Annotated, Any, Final, Union, get_args, get_origin

from pydantic import BaseModel

from alscare.interop.fhir.codes import CodeTable, Coding, Key, ObservationPart, code_table
from alscare.interop.fhir.elements import Unreadable
from alscare.interop.fhir.units import UnitProblem, to_record_unit

__all__ = [
    "ALSCARE_VOCABULARY",
    "VOCABULARIES",
    "Concept",
    "Leaf",
    "Ref",
    "Row",
    "bare_type",
    "clinical_row",
    "dated",
    "is_model",
    "is_vocabulary",
    "iso_day",
    "leaf_at",
    "leaf_of",
    "not_given_alone",
    "omop_code",
    "row_values",
    "value_field",
    "whole_number",
]

#: The vocabulary_id of alscare's own codes, declared in a CDM as local concepts.
ALSCARE_VOCABULARY: Final = "alscare"
#: The OMOP vocabulary_id of each code system of codes.yaml that a CDM holds codes of.
VOCABULARIES: Final = {
    "LOINC": "loinc",
    "SNOMED": "snomed",
    "ICD10CM": "icd10cm",
    "ICD10": "icd10",
    "RxNorm": "rxnorm",
    "UCUM": "ucum",
    ALSCARE_VOCABULARY: "alscare",
}
# The vocabulary_id of each code system's name, the other way round.
_VOCABULARY_OF: Final = {system: vocabulary for vocabulary, system in VOCABULARIES.items()}


# --- one row ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Concept:
    """A concept of a row, with what the concept table says of it (None: not in the table)."""

    id: int
    vocabulary: str | None
    code: str | None
    name: str | None

    def key(self) -> Key | None:
        """The (system, code) of the code table this concept is, if its vocabulary is one."""
        system = VOCABULARIES.get(self.vocabulary or "")
        if system is None or self.code is None:
            return None
        return (code_table().systems[system], self.code)

    def label(self) -> str:
        if self.id == 0:
            return "concept 0, no matching concept"
        if self.vocabulary is None:
            return f"concept {self.id}, which the concept table does not hold"
        name = f" {self.name}" if self.name else ""
        return f"{self.vocabulary} {self.code}{name}"


@dataclass(frozen=True, slots=True)
class Ref:
    """Which row: its table and its row id (None for a table without one, death)."""

    table: str
    id: int | None


@dataclass(frozen=True, slots=True)
class Row:
    """A row of a clinical table, by role: its concepts (the concept, then the source concept;
    a concept 0 is left out unless it is all there is), its date and its values."""

    ref: Ref
    date: str | None
    concepts: tuple[Concept, ...]
    number: float | None = None
    text: str | None = None
    value: Concept | None = None
    unit: Concept | None = None
    operator: int | None = None
    low: float | None = None
    high: float | None = None
    end: str | None = None
    stop_reason: str | None = None

    def label(self) -> str:
        return self.concepts[0].label() if self.concepts else "no concept"

    def has_value(self) -> bool:
        return self.number is not None or self.text is not None


def clinical_row(table: str, data: Mapping[str, Any]) -> Row:
    """A row of a table as its query gives it, by role."""
    given = [_concept_of(data, role) for role in ("concept", "source")]
    concepts = tuple(c for c in given if c is not None and c.id != 0)
    if not concepts and given[0] is not None:
        concepts = (given[0],)
    text = data.get("text")
    return Row(
        ref=Ref(table, data.get("id")),
        date=iso_day(data.get("date")),
        concepts=concepts,
        number=data.get("number"),
        text=(text.strip() or None) if isinstance(text, str) else None,
        value=_concept_of(data, "value"),
        unit=_concept_of(data, "unit"),
        operator=data.get("operator"),
        low=data.get("low"),
        high=data.get("high"),
        end=iso_day(data.get("end")),
        stop_reason=(data.get("stop_reason") or "").strip() or None,
    )


def _concept_of(data: Mapping[str, Any], role: str) -> Concept | None:
    concept_id = data.get(role)
    if concept_id is None:
        return None
    return Concept(
        int(concept_id),
        data.get(f"{role}.vocabulary_id"),
        data.get(f"{role}.concept_code"),
        data.get(f"{role}.concept_name"),
    )


def iso_day(value: Any) -> str | None:
    """A date or a timestamp as its day, YYYY-MM-DD; None for anything else (null)."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return None


def dated(row: Row) -> str:
    """The row's date, which what it records needs."""
    if row.date is None:
        raise Unreadable("no date")
    return row.date


def omop_code(coding: Coding, table: CodeTable | None = None) -> str:
    """A code of the table as a CDM's concept table holds it: ``vocabulary_id concept_code``
    (what :meth:`Concept.key` reads back)."""
    names = {uri: name for name, uri in (table or code_table()).systems.items()}
    return f"{_VOCABULARY_OF[names[coding.system]]} {coding.code}"


# --- the types of the record's fields --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leaf:
    """The type of a field path: bool, int, float, str, a date, a vocabulary (StrEnum) or a
    model (an object such as a region examined); ``many``: a list of such values."""

    kind: Any
    many: bool = False

    @property
    def numeric(self) -> bool:
        return self.kind in (bool, int, float)

    @property
    def text(self) -> bool:
        return self.kind in (str, dt.date) or is_vocabulary(self.kind)


def is_vocabulary(kind: Any) -> bool:
    """Whether a type is one of the vocabulary's StrEnums."""
    return isinstance(kind, type) and issubclass(kind, StrEnum)


def is_model(kind: Any) -> bool:
    """Whether a type is a model of the record (an object of fields)."""
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def bare_type(annotation: Any) -> Any:
    """The type without ``Annotated`` and ``| None``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            inner = [arg for arg in get_args(annotation) if arg is not NoneType]
            if len(inner) != 1:
                return annotation
            annotation = inner[0]
        else:
            return annotation


def leaf_of(annotation: Any) -> Leaf | None:
    """The type of a field that holds a value, or a tuple of values; None for a dict of them."""
    annotation = bare_type(annotation)
    many = get_origin(annotation) is tuple
    if many:
        annotation = bare_type(get_args(annotation)[0])
    return None if get_origin(annotation) is not None else Leaf(annotation, many)


@cache
def leaf_at(model: type[BaseModel], path: tuple[str, ...]) -> Leaf | None:
    """The type of a field path of a model; None when the path names no field that holds a
    value (``regions`` itself, a field that does not exist)."""
    annotation: Any = model
    for name in path:
        annotation = bare_type(annotation)
        if is_model(annotation):
            info = annotation.model_fields.get(name)
            if info is None:
                return None
            annotation = info.annotation
        elif get_origin(annotation) is dict:
            keys, annotation = get_args(annotation)
            if name not in {member.value for member in keys}:
                return None
        else:
            return None
    return leaf_of(annotation)


def not_given_alone(part: ObservationPart) -> frozenset[str]:
    """Entry fields no row gives as a value of its own: the date (the row's date), the id (the
    concept), the unit (the unit concept), the reference range (range_low and range_high) and
    alscare's upgrade flags."""
    names = {part.date, part.id, part.unit, *part.flags, *(part.range or ())}
    return frozenset(name for name in names if name is not None)


def value_field(part: ObservationPart, *, numeric: bool) -> str:
    """The field that a row coded by the part's own code (or an id of it) fills with its
    number or its text: the part's value field, else, for text, the entry's ``result`` (a
    test's); a part of top-level fields without a value field is its own field."""
    own = part.value or (part.field if part.shape == "fields" else None)
    for name in (own, None if numeric else "result"):
        leaf = leaf_at(part.entry_model(), (name,)) if name else None
        if leaf is not None and (leaf.numeric if numeric else leaf.text):
            return str(name)
    column = "value_as_number" if numeric else "value_as_string"
    raise Unreadable(f"{column} is not read for {part.field}")


# --- values ----------------------------------------------------------------------------------


def row_values(
    row: Row, part: ObservationPart, paths: tuple[tuple[str, ...], ...]
) -> dict[tuple[str, ...], Any]:
    """The values a row gives, by field path of the entry (of the record, for a part of
    top-level fields): the value of one of ``paths`` when its concept codes fields of the
    part, else the part's own value."""
    if not paths:
        return _own_values(row, part)
    path = _chosen_path(row, part, paths)
    leaf = leaf_at(part.entry_model(), path)
    if leaf is None or path[0] in not_given_alone(part):
        raise Unreadable(f"{'.'.join(path)} is not a field of {part.field} a row gives")
    return {path: _value(row, part, path, leaf, row.number, row.text)}


def _own_values(row: Row, part: ObservationPart) -> dict[tuple[str, ...], Any]:
    """The values of a row coded by the part's own code (or an id of it): its number, its
    text, and with either the unit and the reference range a test's or lab's value keeps."""
    values: dict[tuple[str, ...], Any] = {}
    for number, text in ((row.number, None), (None, row.text)):
        if number is not None or text is not None:
            name = value_field(part, numeric=number is not None)
            leaf = leaf_at(part.entry_model(), (name,))
            assert leaf is not None  # value_field names fields that hold a value
            values[(name,)] = _value(row, part, (name,), leaf, number, text)
    if part.unit is not None and values:
        unit = _own_unit(row, part)
        if unit is not None:
            values[(part.unit,)] = unit
    for name, bound in zip(part.range or (), (row.low, row.high), strict=False):
        if bound is not None and values:
            values[(name,)] = float(bound)
    return values


def _chosen_path(
    row: Row, part: ObservationPart, paths: tuple[tuple[str, ...], ...]
) -> tuple[str, ...]:
    """The path of a code that fields share (PaCO2 in kPa and in mm[Hg]): the field of the
    row's unit, else one the unit converts to."""
    if len(paths) == 1:
        return paths[0]
    unit = _ucum(row)
    names = " or ".join(".".join(path) for path in paths)
    if unit is None:
        raise Unreadable(f"no unit, which tells {names} apart")
    for path in paths:
        if part.units.get(".".join(path)) == unit:
            return path
    for path in paths:
        wanted = part.units.get(".".join(path))
        try:
            to_record_unit(0.0, unit, wanted or "")
        except UnitProblem:
            continue
        return path
    raise Unreadable(f"unit {unit!r} is not a unit of {names}")


def _value(
    row: Row,
    part: ObservationPart,
    path: tuple[str, ...],
    leaf: Leaf,
    number: float | None,
    text: str | None,
) -> Any:
    """The value of a field path from the row's number (value_as_number) or text
    (value_as_string), as the field's type holds it."""
    dotted = ".".join(path)
    if is_model(leaf.kind):
        if number is not None or text is not None:
            raise Unreadable(f"{dotted} takes no value")
        return {}
    if leaf.numeric:
        if text is not None:
            raise Unreadable(f"{dotted} is a number (value_as_number), not {text!r}")
        if number is None:
            raise Unreadable(f"no value (value_as_number) for {dotted}")
        return _number(row, part, dotted, leaf, number)
    if number is not None:
        raise Unreadable(f"{dotted} is text (value_as_string), not the number {number}")
    if text is None:
        raise Unreadable(f"no value (value_as_string) for {dotted}")
    return _text(dotted, leaf, text)


def _text(dotted: str, leaf: Leaf, text: str) -> str:
    """Text as the field takes it: one of its vocabulary's ids, a date, or any text."""
    if is_vocabulary(leaf.kind):
        ids = [member.value for member in leaf.kind]
        if text not in ids:
            raise Unreadable(f"{text!r} is not an id of {dotted} ({', '.join(ids)})")
    elif leaf.kind is dt.date and not _ISO_DAY.fullmatch(text):
        raise Unreadable(f"{dotted} {text!r} is not a date (YYYY-MM-DD)")
    return text


_ISO_DAY: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


def _number(row: Row, part: ObservationPart, dotted: str, leaf: Leaf, value: float) -> Any:
    """A number in the field's unit (a test's or lab's value keeps its own unit)."""
    if part.unit is None:
        unit, wanted = _ucum(row), part.units.get(dotted)
        if wanted is None and unit is not None:
            raise Unreadable(f"{dotted} takes no unit (unit {unit!r} given)")
        if wanted is not None:
            if unit is None:
                raise Unreadable(f"the {dotted} value has no unit")
            try:
                value = to_record_unit(float(value), unit, wanted)
            except UnitProblem as problem:
                raise Unreadable(str(problem)) from None
    if leaf.kind is bool:
        if value not in (0, 1):
            raise Unreadable(f"{dotted} is 1 (yes) or 0 (no), not {value}")
        return value == 1
    if leaf.kind is int:
        return whole_number(value, dotted)
    return float(value)


def whole_number(value: float | None, what: str) -> int:
    if value is None or not float(value).is_integer():
        raise Unreadable(f"{what} is a whole number, not {value}")
    return int(value)


def _ucum(row: Row) -> str | None:
    """The UCUM code of the row's unit concept; None without one (none, or concept 0)."""
    unit = row.unit
    if unit is None or unit.id == 0:
        return None
    if unit.vocabulary != "UCUM" or unit.code is None:
        raise Unreadable(f"its unit ({unit.label()}) is not a UCUM concept")
    return unit.code


def _own_unit(row: Row, part: ObservationPart) -> str | None:
    """A test's or lab's unit, kept as reported: the record's name of its UCUM code."""
    unit = _ucum(row)
    if unit is None:
        return None
    recorded = code_table().record_unit_by_ucum.get(unit)
    if recorded is None:
        raise Unreadable(f"unit {unit!r} is not a unit alscare records for {part.field}")
    return recorded
