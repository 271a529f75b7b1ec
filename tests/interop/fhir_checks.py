"""What the FHIR record tests share: validation of a resource by both FHIR libraries, and the
record JSON as bytes."""

from __future__ import annotations

import importlib
import json
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from alscare import PatientRecord


def assert_valid_fhir(resource: dict[str, Any]) -> None:
    """The resource is valid to the fhir.resources R4B models and to fhirclient's R4 models
    (strict: an unknown element or a wrong type raises)."""
    kind = resource["resourceType"]
    get_fhir_model_class(kind).model_validate(resource)
    module = importlib.import_module(f"fhirclient.models.{kind.lower()}")
    getattr(module, kind)(resource, strict=True)


def record_bytes(record: PatientRecord) -> str:
    return json.dumps(record.to_json_dict(), ensure_ascii=False)


def through_json(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The resources as a client receives them: serialised and parsed again."""
    parsed: list[dict[str, Any]] = json.loads(json.dumps(resources))
    return parsed
