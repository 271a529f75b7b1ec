"""The packaged vocabulary.yaml (the public contract) and the StrEnums of schemas/vocabulary.py
hold the same ids in the same order."""

from __future__ import annotations

from enum import StrEnum
from importlib import resources
from typing import Any

import pytest
import yaml

from alscare.schemas.vocabulary import (
    AlsfrsItem,
    DifferentialId,
    FindingId,
    GeneticResult,
    InvestigationId,
    Jurisdiction,
    LmnSign,
    OnsetSite,
    Region,
    RiskFactorId,
    UmnSign,
)


def _vocabulary() -> dict[str, Any]:
    text = (resources.files("alscare.knowledge") / "content" / "vocabulary.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


VOCABULARY = _vocabulary()


@pytest.mark.parametrize(
    ("ids", "enum"),
    [
        (VOCABULARY["regions"], Region),
        (VOCABULARY["onset_sites"], OnsetSite),
        (VOCABULARY["exam_signs"]["lmn"], LmnSign),
        (VOCABULARY["exam_signs"]["umn"], UmnSign),
        (list(VOCABULARY["findings"]), FindingId),
        (VOCABULARY["risk_factors"], RiskFactorId),
        (VOCABULARY["investigations"], InvestigationId),
        (VOCABULARY["differentials"], DifferentialId),
        (VOCABULARY["alsfrs_r_items"], AlsfrsItem),
        (VOCABULARY["genetic_results"], GeneticResult),
        (VOCABULARY["jurisdictions"], Jurisdiction),
    ],
    ids=[
        "regions",
        "onset_sites",
        "exam_signs.lmn",
        "exam_signs.umn",
        "findings",
        "risk_factors",
        "investigations",
        "differentials",
        "alsfrs_r_items",
        "genetic_results",
        "jurisdictions",
    ],
)
def test_vocabulary_yaml_equals_strenum(ids: list[str], enum: type[StrEnum]) -> None:
    assert ids == [member.value for member in enum]


def test_vocabulary_findings_counts_by_kind() -> None:
    kinds = [entry["kind"] for entry in VOCABULARY["findings"].values()]
    counts = {kind: kinds.count(kind) for kind in ("key", "other", "sign", "red_flag")}
    assert counts == {"key": 17, "other": 5, "sign": 15, "red_flag": 17}
