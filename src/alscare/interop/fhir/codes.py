"""The one table of FHIR codes (``codes.yaml``), typed and checked when it is loaded.

Import, export and docs/fhir-codes.md read this table and nothing else: a code is never written
in their code. :func:`code_table` loads the packaged table once; :func:`load_code_table` reads
parsed YAML (tests give it broken copies). A fault raises ``ValueError`` naming the entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import cache, cached_property
from importlib import resources
from typing import Any, Final, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from alscare.interop.fhir.names import CODE_SYSTEM
from alscare.schemas.common import TEST_UNITS, FamilyHistory
from alscare.schemas.patient import PatientRecord
from alscare.schemas.vocabulary import CareKind, InterventionEvent, InterventionKind

__all__ = [
    "CodeTable",
    "Coding",
    "ConditionCodes",
    "MedicationCodes",
    "NotRecorded",
    "ObservationPart",
    "alscare_coding",
    "code_table",
    "load_code_table",
]

#: The key of a CodeableConcept's coding: (system, code).
Key = tuple[str, str]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Coding(_Frozen):
    """One code of one system; written in the table as ``coding: system|code``."""

    system: str
    code: str
    display: str
    import_only: bool = False

    @model_validator(mode="before")
    @classmethod
    def _resolve_system(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or "coding" not in data:
            return data
        systems: dict[str, str] = (info.context or {})["systems"]
        name, _, code = str(data["coding"]).partition("|")
        if name not in systems or not code:
            raise ValueError(f"{data['coding']!r} is not system|code of a known system")
        rest = {k: v for k, v in data.items() if k != "coding"}
        return {"system": systems[name], "code": code, **rest}

    @property
    def key(self) -> Key:
        return (self.system, self.code)

    def fhir(self) -> dict[str, str]:
        """The FHIR Coding."""
        return {"system": self.system, "code": self.code, "display": self.display}


def alscare_coding(code: str, display: str) -> Coding:
    """A code of alscare's code system named by the record (a field path, a vocabulary id)."""
    return Coding(system=CODE_SYSTEM, code=code, display=display)


class ConditionCodes(_Frozen):
    display: str
    codes: tuple[Coding, ...]
    note: str | None = None

    def concept(self) -> dict[str, Any]:
        """The CodeableConcept an export writes: every coding that is not import-only."""
        written = [c.fhir() for c in self.codes if not c.import_only]
        return {"coding": written, "text": self.display}


class ObservationPart(_Frozen):
    """A part of the record held by Observations: see the comment of ``observations`` in
    codes.yaml."""

    field: str
    shape: Literal["series", "object", "fields"] = "series"
    fields: tuple[str, ...] = ()
    code: Coding
    date: str | None = None
    value: str | None = None
    #: the entry field whose vocabulary id chooses the Observation's code (findings, tests, labs)
    id: str | None = None
    #: the entry field that names the unit of its numbers (tests, labs)
    unit: str | None = None
    #: the entry fields that are the reference range's low and high
    range: tuple[str, str] | None = None
    units: dict[str, str] = Field(default_factory=dict)
    codes: dict[str, Coding] = Field(default_factory=dict)
    ids: dict[str, Coding] = Field(default_factory=dict)
    flags: tuple[str, ...] = ()
    #: a standalone Observation coded as one of ``codes`` is an entry holding that value alone
    alone: bool = False
    #: the dict field whose sum is the Observation's value when every one of its keys is rated
    total: str | None = None
    category: str | None = None
    note: str | None = None

    @property
    def prefix(self) -> str:
        """What an alscare component code starts with: a top-level field is its own code."""
        return "" if self.shape == "fields" else f"{self.field}."

    def entry_model(self) -> type[BaseModel]:
        """The model of one entry (for top-level fields, the record)."""
        return _entry_model(self.field, self.shape)

    def total_of(self, entry: Mapping[str, Any]) -> int | None:
        """The sum of the ``total`` field's scores when every one is rated, else None."""
        if self.total is None:
            return None
        scores = entry.get(self.total) or {}
        (keys, _) = get_args(self.entry_model().model_fields[self.total].annotation)
        if len(scores) != len(keys) or None in scores.values():
            return None
        return int(sum(scores.values()))

    def id_coding(self, value: str) -> Coding:
        """The Observation code of an entry whose vocabulary id is ``value``."""
        standard = self.ids.get(value)
        if standard is not None:
            return standard
        return alscare_coding(f"{self.prefix}{value}", value)

    def path_coding(self, path: str) -> Coding:
        """The component code of a field path (``items.speech``)."""
        standard = self.codes.get(path)
        if standard is not None:
            return standard
        return alscare_coding(f"{self.prefix}{path}", path)


class NotRecorded(_Frozen):
    code: Coding
    reason: str


class MedicationCodes(_Frozen):
    codes: tuple[Coding, ...] = ()
    note: str | None = None


class FhirCodes(_Frozen):
    not_recorded: Coding
    active: Coding
    confirmed: Coding
    provisional: Coding
    family_member: Coding


class CodeTable(_Frozen):
    systems: dict[str, str]
    units: dict[str, str]
    record_units: dict[str, str]
    #: the ALS diagnosis, and each condition of the family history by its record field
    conditions: dict[str, ConditionCodes]
    observations: tuple[ObservationPart, ...]
    not_recorded: tuple[NotRecorded, ...]
    medications: dict[str, MedicationCodes]
    interventions: dict[InterventionKind, Coding]
    interventions_note: str
    intervention_status: dict[InterventionEvent, str]
    import_status: dict[str, InterventionEvent]
    device_status: dict[InterventionEvent, str]
    declined_reason: Coding
    care: dict[CareKind, Coding]
    fhir: FhirCodes

    @model_validator(mode="after")
    def _complete(self) -> CodeTable:
        _require(set(InterventionKind) <= set(self.interventions), "interventions", "a kind")
        _require(set(CareKind) <= set(self.care), "care", "a care kind")
        wanted = {"als", *FamilyHistory.model_fields}
        _require(set(self.conditions) == wanted, "conditions", "ALS and the family history's")
        _require(set(InterventionEvent) <= set(self.intervention_status), "status", "an event")
        units = {unit for allowed in TEST_UNITS.values() for unit in allowed}
        _require(units <= set(self.record_units), "record_units", "a unit of TEST_UNITS")
        ucum = list(self.record_units.values())
        _require(len(set(ucum)) == len(ucum), "record_units", "one UCUM code per unit")
        for part in self.observations:
            _check_part(part, self.units)
        codes = [part.code.key for part in self.observations]
        _require(len(set(codes)) == len(codes), "observations", "one code per part")
        return self

    @cached_property
    def part_by_code(self) -> dict[Key, tuple[ObservationPart, str | None]]:
        """Each Observation code the import knows: its part and, for an id part, the id."""
        found: dict[Key, tuple[ObservationPart, str | None]] = {}
        for part in self.observations:
            found[part.code.key] = (part, None)
            for value in _ids(part):
                found[part.id_coding(value).key] = (part, value)
        return found

    @cached_property
    def alone_by_code(self) -> dict[Key, ObservationPart]:
        """The component codes that may come as an Observation of their own."""
        return {
            coding.key: part
            for part in self.observations
            if part.alone
            for coding in part.codes.values()
        }

    @cached_property
    def not_recorded_by_code(self) -> dict[Key, str]:
        return {entry.code.key: entry.reason for entry in self.not_recorded}

    @cached_property
    def intervention_by_code(self) -> dict[Key, InterventionKind]:
        return {coding.key: kind for kind, coding in self.interventions.items()}

    @cached_property
    def care_by_code(self) -> dict[Key, CareKind]:
        return {coding.key: kind for kind, coding in self.care.items()}

    @cached_property
    def medication_by_code(self) -> dict[Key, str]:
        return {c.key: drug for drug, codes in self.medications.items() for c in codes.codes}

    @cached_property
    def record_unit_by_ucum(self) -> dict[str, str]:
        return {ucum: unit for unit, ucum in self.record_units.items()}

    def part(self, field: str) -> ObservationPart:
        return next(part for part in self.observations if part.field == field)


_FIELDS: Final = frozenset(
    field.alias or name for name, field in PatientRecord.model_fields.items()
)


@cache
def _entry_model(field: str, shape: str) -> type[BaseModel]:
    if shape == "fields":
        return PatientRecord
    annotation = PatientRecord.model_fields[field].annotation
    item = get_args(annotation)[0]  # tuple[Entry, ...] of a series, Entry | None of an object
    assert isinstance(item, type) and issubclass(item, BaseModel)  # every part holds models
    return item


def _ids(part: ObservationPart) -> tuple[str, ...]:
    """The vocabulary ids of an id part's entries (every finding id, test id, lab id)."""
    if part.id is None:
        return ()
    ids = part.entry_model().model_fields[part.id].annotation
    assert isinstance(ids, type) and issubclass(ids, StrEnum)  # an id is a vocabulary id
    return tuple(member.value for member in ids)


def _check_part(part: ObservationPart, units: dict[str, str]) -> None:
    where = f"observations: {part.field}"
    fields = part.fields if part.shape == "fields" else (part.field,)
    _require(set(fields) <= _FIELDS, where, "fields of the record")
    _require(part.shape != "fields" or part.field in part.fields, where, "its field in fields")
    _require(set(part.units.values()) <= set(units), where, "units of the units table")
    _require(part.id is None or part.shape == "series", where, "ids only in a series")
    _require(set(part.ids) <= set(_ids(part)), where, "ids of the vocabulary")


def _require(holds: bool, where: str, what: str) -> None:
    if not holds:
        raise ValueError(f"codes.yaml: {where}: needs {what}")


def load_code_table(data: Any) -> CodeTable:
    """The table from parsed YAML, validated; raises ValueError naming what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("systems"), dict):
        raise ValueError("codes.yaml: needs a systems table")
    systems = {**data["systems"], "alscare": CODE_SYSTEM}
    return CodeTable.model_validate({**data, "systems": systems}, context={"systems": systems})


@cache
def code_table() -> CodeTable:
    """The packaged table, read and checked once per process."""
    text = (resources.files("alscare.interop.fhir") / "codes.yaml").read_text(encoding="utf-8")
    return load_code_table(yaml.safe_load(text))
