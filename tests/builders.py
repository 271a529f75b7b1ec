"""Small record builders for tests: a valid minimal record plus the overrides a case needs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alscare import PatientRecord, parse_record
from alscare.schemas.vocabulary import AlsfrsItem

__all__ = ["make_record", "rating"]


def rating(
    date: str | dt.date = "2025-01-01", *, gastrostomy: bool | None = None, **items: int
) -> dict[str, Any]:
    """An ALSFRS-R rating as record JSON: every item 4 unless given."""
    scores = {item.value: 4 for item in AlsfrsItem}
    unknown = set(items) - set(scores)
    if unknown:
        raise ValueError(f"unknown ALSFRS-R items: {sorted(unknown)}")
    scores.update(items)
    entry: dict[str, Any] = {"date": str(date), "items": scores}
    if gastrostomy is not None:
        entry["gastrostomy"] = gastrostomy
    return entry


def make_record(**overrides: Any) -> PatientRecord:
    """A validated record with id ``T-1`` and only the given fields (JSON-shaped values)."""
    data: dict[str, Any] = {"schema": "alscare.patient/v1", "id": "T-1"}
    data.update(overrides)
    return parse_record(data)
