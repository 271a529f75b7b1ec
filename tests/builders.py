"""Small record builders for tests: a valid minimal record plus the overrides a case needs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from alscare import KnowledgeBase, PatientRecord, assess, parse_record
from alscare.schemas.assessment import (
    Criteria,
    DifferentialResult,
    InvestigationPlanItem,
    RegionStatus,
)
from alscare.schemas.vocabulary import AlsfrsItem, Region

__all__ = [
    "Diagnosis",
    "diagnose",
    "emg_region",
    "losing",
    "make_record",
    "make_record_v2",
    "rating",
    "signs",
    "workup_tests",
]


def rating(
    date: str | dt.date = "2025-01-01", *, gastrostomy: bool | None = None, **items: int | None
) -> dict[str, Any]:
    """An ALSFRS-R rating as record JSON: every item 4 unless given (``None``: not rated, which
    only record v2 allows; v2 also needs ``gastrostomy``)."""
    scores: dict[str, int | None] = {item.value: 4 for item in AlsfrsItem}
    unknown = set(items) - set(scores)
    if unknown:
        raise ValueError(f"unknown ALSFRS-R items: {sorted(unknown)}")
    scores.update(items)
    entry: dict[str, Any] = {"date": str(date), "items": scores}
    if gastrostomy is not None:
        entry["gastrostomy"] = gastrostomy
    return entry


def losing(points: int, items: tuple[str, ...] = tuple(AlsfrsItem)) -> dict[str, Any]:
    """ALSFRS-R items (for :func:`rating`) that lose ``points`` in all, item by item in the
    order of ``items`` (scale order unless given), so that the total is 48 - ``points``."""
    if not 0 <= points <= 4 * len(items):
        most = 4 * len(items)
        raise ValueError(f"{len(items)} ALSFRS-R items lose 0-{most} points, not {points}")
    lost: dict[str, Any] = {}
    for item in items:
        taken = min(4, points)
        if taken:
            lost[str(item)] = 4 - taken
        points -= taken
    return lost


def make_record(**overrides: Any) -> PatientRecord:
    """A validated record v1 with id ``T-1`` and only the given fields (JSON-shaped values),
    upgraded to v2 as every reader does (an undated examination, cognition or care is dated on
    the record's latest date)."""
    return parse_record({"schema": "alscare.patient/v1", "id": "T-1", **overrides})


def make_record_v2(**overrides: Any) -> PatientRecord:
    """A validated record v2 with id ``T-1`` and only the given fields (JSON-shaped values)."""
    return parse_record({"schema": "alscare.patient/v2", "id": "T-1", **overrides})


# --- diagnosis: examination, EMG, work-up ----------------------------------------------------

UMN_SIGN = "hyperreflexia"
LMN_SIGNS = ("weakness", "wasting")


def signs(*, umn: bool = False, lmn: bool = False, **more: bool) -> dict[str, bool]:
    """One region of record.exam: a UMN sign (hyperreflexia) and/or clinical LMN signs
    (weakness with wasting), plus any signs named."""
    region: dict[str, bool] = {}
    if umn:
        region[UMN_SIGN] = True
    if lmn:
        region.update(dict.fromkeys(LMN_SIGNS, True))
    region.update(more)
    return region


def emg_region(
    muscles: int | None = 2, *, fibrillations: bool = True, fasciculations: bool = False
) -> dict[str, Any]:
    """One region of record.emg.regions with chronic neurogenic change in ``muscles`` muscles and
    ongoing denervation (fibrillations/positive sharp waves and/or fasciculation potentials)."""
    entry: dict[str, Any] = {
        "chronic_neurogenic": True,
        "active_denervation": fibrillations,
        "fasciculation_potentials": fasciculations,
    }
    if muscles is not None:
        entry["muscles"] = muscles
    return entry


def workup_tests(date: str = "2025-01-10", *, mri: bool = True) -> list[dict[str, Any]]:
    """The minimum work-up with normal results (MRI brain and spine unless ``mri`` is false);
    EMG/NCS is recorded separately in record.emg."""
    tests: list[dict[str, Any]] = [
        {"id": "vitamin_b12", "date": date, "value": 420, "unit": "pg/mL", "lower_limit": 200},
        {"id": "creatine_kinase", "date": date, "value": 300, "unit": "U/L", "upper_limit": 200},
        {"id": "thyroid_function", "date": date, "result": "normal"},
        {"id": "calcium_pth", "date": date, "result": "normal"},
    ]
    if mri:
        tests.append({"id": "mri_brain_spine", "date": date, "result": "normal"})
    return tests


@dataclass(frozen=True)
class Diagnosis:
    """The diagnostic part of an assessment: regions, differentials, criteria, work-up."""

    regions: dict[Region, RegionStatus]
    differentials: tuple[DifferentialResult, ...]
    criteria: Criteria
    investigations: tuple[InvestigationPlanItem, ...]

    def differential(self, differential_id: str) -> DifferentialResult | None:
        return next((d for d in self.differentials if d.id == differential_id), None)

    def level(self, differential_id: str) -> str | None:
        found = self.differential(differential_id)
        return found.level.value if found else None

    def plan(self, investigation_id: str) -> InvestigationPlanItem:
        return next(item for item in self.investigations if item.id == investigation_id)


def diagnose(
    record: PatientRecord, kb: KnowledgeBase, as_of: str | dt.date = "2025-06-01"
) -> Diagnosis:
    """Regions, differentials, criteria and the investigation plan of the record's assessment."""
    assessment = assess(record, as_of=dt.date.fromisoformat(str(as_of)), kb=kb)
    return Diagnosis(
        assessment.regions,
        assessment.differentials,
        assessment.criteria,
        assessment.investigations,
    )
