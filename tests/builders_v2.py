"""Builders for longitudinal (v2) test records: a valid minimal record plus what a case needs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alscare import Assessment, KnowledgeBase, PatientRecord, assess, parse_record
from alscare.schemas.vocabulary import AlsfrsItem

__all__ = [
    "ALS_BASE",
    "assess_on",
    "examination",
    "rating_v2",
    "record_v2",
    "respiratory",
]

# A person with ALS diagnosed a year after a cervical onset, in the EU.
ALS_BASE: dict[str, Any] = {
    "sex": "female",
    "birth_date": "1960-05-01",
    "height_cm": 165,
    "jurisdiction": "EU",
    "symptom_onset": {"date": "2023-06-01", "site": "cervical"},
    "diagnosis_date": "2024-01-15",
    "progressive": True,
    "interventions": [],
}


def record_v2(**fields: Any) -> PatientRecord:
    """A validated v2 record with id ``V2-1`` and only the given fields (JSON-shaped values)."""
    data: dict[str, Any] = {"schema": "alscare.patient/v2", "id": "V2-1"}
    data.update(fields)
    return parse_record(data)


def rating_v2(date: str, *, gastrostomy: bool = False, **items: int | None) -> dict[str, Any]:
    """An ALSFRS-R rating: every item 4 unless given (None: not rated)."""
    scores: dict[str, int | None] = {item.value: 4 for item in AlsfrsItem}
    unknown = set(items) - set(scores)
    if unknown:
        raise ValueError(f"unknown ALSFRS-R items: {sorted(unknown)}")
    scores.update(items)
    return {"date": date, "items": scores, "gastrostomy": gastrostomy}


def examination(date: str, **regions: dict[str, bool] | None) -> dict[str, Any]:
    return {"date": date, "regions": regions}


def respiratory(date: str, **values: Any) -> dict[str, Any]:
    return {"date": date, **values}


def assess_on(record: PatientRecord, as_of: str, kb: KnowledgeBase) -> Assessment:
    return assess(record, as_of=dt.date.fromisoformat(as_of), kb=kb)
