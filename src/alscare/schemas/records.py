"""Reading a patient record of either version: v1 is validated and upgraded, v2 validated.

:func:`parse_record` takes parsed JSON and returns a :class:`~alscare.schemas.patient.
PatientRecord` (v2) or raises :class:`~alscare.errors.RecordError` with one JSON pointer per
problem; nothing else reads a record. A document without ``schema`` is a v1 record, as release 1
wrote them. A field of the other version gets a hint naming the schema it belongs to.
"""

from __future__ import annotations

import json
from typing import Any, Final

from pydantic import ValidationError

from alscare.errors import Problem, RecordError
from alscare.schemas.common import problems_from
from alscare.schemas.patient import PATIENT_SCHEMA, PatientRecord
from alscare.schemas.patient_v1 import PATIENT_SCHEMA_V1, PatientRecordV1
from alscare.schemas.upgrade import upgrade

__all__ = ["SCHEMAS", "load_json", "parse_record", "parse_record_json", "parse_record_v1"]

SCHEMAS: Final = (PATIENT_SCHEMA_V1, PATIENT_SCHEMA)

# Fields one version has in place of the other's: the hint an unknown field gets.
_V1_IN_V2: Final = {
    "exam": "examinations",
    "emg": "emg_studies",
}
_V2_ONLY: Final = frozenset({"examinations", "emg_studies", "identity", "age_on", "death"})


def parse_record(data: object) -> PatientRecord:
    """Validate parsed JSON as a record v1 or v2; a v1 record is upgraded to v2."""
    if not isinstance(data, dict):
        raise RecordError([Problem("", "a patient record must be a JSON object")])
    schema = data.get("schema", PATIENT_SCHEMA_V1)
    if schema == PATIENT_SCHEMA:
        return _validated_v2(data)
    if schema == PATIENT_SCHEMA_V1:
        return upgrade(parse_record_v1(data))
    raise RecordError(
        [Problem("/schema", f"unknown schema {schema!r}; expected one of {', '.join(SCHEMAS)}")]
    )


def parse_record_v1(data: dict[str, Any]) -> PatientRecordV1:
    """Validate parsed JSON as a record v1, without upgrading it."""
    try:
        return PatientRecordV1.model_validate(data)
    except ValidationError as error:
        raise RecordError(_hinted(problems_from(error, PATIENT_SCHEMA_V1), v1=True)) from None


def _validated_v2(data: dict[str, Any]) -> PatientRecord:
    try:
        return PatientRecord.model_validate(data)
    except ValidationError as error:
        raise RecordError(_hinted(problems_from(error, PATIENT_SCHEMA), v1=False)) from None


def _hinted(problems: list[Problem], *, v1: bool) -> list[Problem]:
    """Unknown top-level fields that belong to the other version say so."""
    hinted = []
    for problem in problems:
        field = problem.pointer.removeprefix("/")
        if problem.reason.startswith("unknown field") and "/" not in field:
            if v1 and field in _V2_ONLY | set(_V1_IN_V2.values()):
                problem = Problem(
                    problem.pointer,
                    f"unknown field (not in {PATIENT_SCHEMA_V1}); a record with {field!r} is "
                    f'version 2 and says "schema": "{PATIENT_SCHEMA}"',
                )
            elif not v1 and field in _V1_IN_V2:
                problem = Problem(
                    problem.pointer,
                    f"unknown field (not in {PATIENT_SCHEMA}); version 2 records "
                    f"{field!r} as {_V1_IN_V2[field]!r}, a list of dated entries "
                    "(alscare upgrade converts a v1 record)",
                )
        hinted.append(problem)
    return hinted


def parse_record_json(text: str | bytes) -> PatientRecord:
    """Parse JSON text and validate it as a record v1 or v2."""
    return parse_record(load_json(text))


def load_json(text: str | bytes) -> Any:
    """JSON text as data, or a :class:`RecordError` that says in words why it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        reason = f"malformed JSON: {error.msg} at line {error.lineno} column {error.colno}"
    except UnicodeDecodeError as error:
        reason = f"not UTF-8 text (byte {error.start})"
    except ValueError:  # the one other: an integer literal beyond Python's digit limit
        reason = "malformed JSON: a number with too many digits"
    except RecursionError:
        reason = "malformed JSON: nested too deeply"
    raise RecordError([Problem("", reason)])
