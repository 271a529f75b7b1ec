"""Reading a patient record of either version: v1 is validated and upgraded, v2 validated.

:func:`parse_record` takes parsed JSON and returns a :class:`~alscare.schemas.patient.
PatientRecord` (v2) or raises :class:`~alscare.errors.RecordError` with one JSON pointer per
problem; nothing else reads a record. A document without ``schema`` is a v1 record, as release 1
wrote them. A field of the other version gets a hint naming the schema it belongs to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Final

from pydantic import ValidationError

from alscare.errors import Problem, RecordError
from alscare.schemas.common import json_pointer, problems_from
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
    """JSON text as data: the one reader of the API's bodies and the command
    line's files, so both accept and refuse the same documents.

    A :class:`RecordError` says in words why the text is not usable JSON: malformed, not UTF-8,
    an integer of more digits than Python reads (4,300), nested too deeply, or a string holding
    a NUL character or an unpaired surrogate (which no database column or UTF-8 output can hold;
    pointed at). ``NaN``, ``Infinity`` and a number too large for a float are read, so that the
    record's models refuse them naming the field.
    """
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8-sig")
        data = json.loads(text)
    except json.JSONDecodeError as error:
        reason = f"malformed JSON: {error.msg} at line {error.lineno} column {error.colno}"
    except UnicodeDecodeError as error:
        reason = f"not UTF-8 text (byte {error.start})"
    except ValueError:  # the one other: an integer literal beyond Python's digit limit
        reason = "malformed JSON: a number with too many digits"
    except RecursionError:
        reason = "malformed JSON: nested too deeply"
    else:
        # Only an escape writes NUL or a surrogate in valid JSON: walk the data when one may.
        problems = list(_untextual(data, "")) if _ESCAPES.search(text) else []
        if not problems:
            return data
        raise RecordError(problems)
    raise RecordError([Problem("", reason)])


_ESCAPES: Final = re.compile(r"\\u(?:0000|d[89a-f])", re.IGNORECASE)
_UNTEXTUAL: Final = re.compile("[\x00\ud800-\udfff]")


def _untextual(data: Any, pointer: str) -> Iterator[Problem]:
    """A problem for each string (key or value) holding a NUL or an unpaired surrogate."""
    if isinstance(data, dict):
        for key, value in data.items():
            inner = f"{pointer}/{_visible(json_pointer((key,))[1:])}"
            if _UNTEXTUAL.search(key):
                yield Problem(inner, _UNTEXTUAL_REASON + " in its name")
            yield from _untextual(value, inner)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _untextual(value, f"{pointer}/{index}")
    elif isinstance(data, str) and _UNTEXTUAL.search(data):
        yield Problem(pointer, _UNTEXTUAL_REASON)


def _visible(text: str) -> str:
    """The text with each NUL or surrogate written as its JSON escape, for a pointer."""
    return _UNTEXTUAL.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


_UNTEXTUAL_REASON: Final = "text may not hold a NUL character or an unpaired surrogate"
