"""Builders for longitudinal (v2) test cases, beside ``tests/builders.py``: a person with ALS,
dated examinations and respiratory entries, and assessing on a date given as text."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alscare import Assessment, KnowledgeBase, PatientRecord, assess
from tests.builders import rating

__all__ = [
    "ALS_BASE",
    "assess_on",
    "examination",
    "rated",
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


def rated(date: str, **items: int | None) -> dict[str, Any]:
    """A v2 ALSFRS-R rating without gastrostomy: every item 4 unless given (None: not rated)."""
    return rating(date, gastrostomy=False, **items)


def examination(date: str, **regions: dict[str, bool] | None) -> dict[str, Any]:
    return {"date": date, "regions": regions}


def respiratory(date: str, **values: Any) -> dict[str, Any]:
    return {"date": date, **values}


def assess_on(record: PatientRecord, as_of: str, kb: KnowledgeBase) -> Assessment:
    return assess(record, as_of=dt.date.fromisoformat(as_of), kb=kb)
