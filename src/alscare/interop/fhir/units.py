"""UCUM units converted through pint: a UCUM code, its pint quantity, then the record's unit.

Only the UCUM codes of codes.yaml's ``units`` table are read, each through its pint expression;
any other unit, or one of another dimension, raises :class:`UnitProblem` with the reason, and
the import reports the resource unmapped. A value already in the record's unit is returned
untouched, so that it stays exactly the number that was written.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pint

from alscare.interop.fhir.codes import code_table

__all__ = ["UnitProblem", "to_record_unit"]


class UnitProblem(ValueError):
    """A quantity whose unit cannot be read or converted; the message says why."""


def to_record_unit(value: float, ucum: str, record_ucum: str) -> float:
    """``value`` in UCUM unit ``ucum`` expressed in ``record_ucum``."""
    if ucum == record_ucum:
        return value
    given, wanted = _unit(ucum), _unit(record_ucum)
    try:
        converted = _registry().Quantity(value, given).to(wanted)
    except pint.DimensionalityError:
        raise UnitProblem(f"unit {ucum!r} cannot be converted to {record_ucum!r}") from None
    return float(converted.magnitude)


def _unit(ucum: str) -> pint.Unit:
    expression = code_table().units.get(ucum)
    if expression is None:
        raise UnitProblem(f"unit {ucum!r} is not a UCUM unit alscare converts")
    return _registry().parse_units(expression)


@cache
def _registry() -> pint.UnitRegistry[Any]:
    # Building the registry parses pint's definitions: done once, on first use, not at import.
    return pint.UnitRegistry()
