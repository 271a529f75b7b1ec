"""FHIR resources to a patient record v2 (stub: the interface; implementation to come)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alscare.schemas.patient import PatientRecord

__all__ = [
    "ImportResult",
    "Unmapped",
    "read_source",
    "record_from_resources",
    "resources_from_bundle",
]


@dataclass(frozen=True, slots=True)
class Unmapped:
    """A resource, or a part of one, that did not become part of the record, and why."""

    resource_type: str
    resource_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    record: PatientRecord
    unmapped: tuple[Unmapped, ...]


def resources_from_bundle(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The resources of a collection, searchset or transaction Bundle, validated as FHIR.

    Raises RecordError naming the resource and the path of each fault.
    """
    raise NotImplementedError


def read_source(path: Path) -> list[dict[str, Any]]:
    """The resources of a Bundle JSON file or of a directory of Bulk Data NDJSON files."""
    raise NotImplementedError


def record_from_resources(
    resources: Sequence[Mapping[str, Any]], *, record_id: str | None = None
) -> ImportResult:
    """The record v2 the resources of one patient hold, and what could not be mapped.

    Raises RecordError when the resources are not valid FHIR or hold no single Patient.
    """
    raise NotImplementedError
