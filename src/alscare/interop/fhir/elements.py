"""FHIR data types as both directions write and read them: strings, quantities, codings,
extensions and dates.

A FHIR string holds at least one character that is not whitespace (other than a space, tab or
line break). Record text that is not such a string (empty, or only other whitespace) is written
as its JSON string literal, flagged by the ``json-string`` extension on the element, so that it
comes back exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from alscare.interop.fhir.codes import Coding, Key
from alscare.interop.fhir.names import extension_url

__all__ = [
    "UCUM",
    "Unreadable",
    "codings",
    "concept",
    "day",
    "extension",
    "extension_value",
    "flag_name",
    "quantity",
    "read_string",
    "string_element",
]

UCUM: Final = "http://unitsofmeasure.org"
_JSON_STRING: Final = extension_url("json-string")
# What FHIR's string type accepts: a character that is not whitespace, or a space, tab or break.
_FHIR_STRING: Final = re.compile(r"[ \r\n\t\S]")
# A FHIR date or dateTime; only a full date (YYYY-MM-DD, with or without a time) is a record date.
_FULL_DATE: Final = re.compile(r"(\d{4}-\d{2}-\d{2})(T.*)?")


class Unreadable(ValueError):
    """A resource, or a part of one, that cannot become part of the record; the message says
    why."""


def string_element(key: str, text: str) -> dict[str, Any]:
    """``{key: text}``, or the JSON literal of a text FHIR's string type cannot hold."""
    if _FHIR_STRING.search(text):
        return {key: text}
    flag = {"extension": [{"url": _JSON_STRING, "valueBoolean": True}]}
    return {key: json.dumps(text), f"_{key}": flag}


def read_string(element: Mapping[str, Any], key: str) -> str | None:
    """The text ``string_element`` wrote (or any FHIR string) at ``key``."""
    text = element.get(key)
    if text is None:
        return None
    flags = (element.get(f"_{key}") or {}).get("extension") or ()
    if any(flag.get("url") == _JSON_STRING for flag in flags):
        decoded = json.loads(text)
        if not isinstance(decoded, str):
            raise Unreadable(f"{key} is flagged as a JSON string but is not one")
        return decoded
    return str(text)


def concept(coding: Coding) -> dict[str, Any]:
    return {"coding": [coding.fhir()]}


def codings(value: Mapping[str, Any] | None) -> Iterator[Key]:
    """The (system, code) of each coding of a CodeableConcept."""
    for coding in (value or {}).get("coding") or ():
        if coding.get("system") and coding.get("code"):
            yield (str(coding["system"]), str(coding["code"]))


def quantity(value: float, ucum: str | None) -> dict[str, Any]:
    if ucum is None:
        return {"value": value}
    return {"value": value, "unit": ucum, "system": UCUM, "code": ucum}


def extension(name: str, **value: Any) -> dict[str, Any]:
    """An alscare extension: ``extension("jurisdiction", valueCode="UK")``."""
    return {"url": extension_url(name), **value}


def flag_name(field: str) -> str:
    """The extension of a record flag (``date_inferred``: ``date-inferred``)."""
    return field.replace("_", "-")


def extension_value(element: Mapping[str, Any], name: str, key: str) -> Iterator[Any]:
    """The ``key`` value of every alscare extension ``name`` on the element."""
    url = extension_url(name)
    for found in element.get("extension") or ():
        if found.get("url") == url and key in found:
            yield found[key]


def day(value: Any, what: str) -> str:
    """The record date (YYYY-MM-DD) of a FHIR date or dateTime: the date as written, so that a
    time and its zone never move it to another day."""
    match = _FULL_DATE.fullmatch(str(value))
    if match is None:
        raise Unreadable(f"{what} {value} is not a full date (YYYY-MM-DD)")
    return match.group(1)
