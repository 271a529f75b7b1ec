"""The diagnosis section: complete (every investigation and differential once), consistent
(differential tests and investigation ``addresses`` agree), cited, and a broken file fails at
load naming the file, the item and the field."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from alscare.errors import KnowledgeError
from alscare.knowledge import load_knowledge
from alscare.knowledge.diagnosis import (
    EmgMusclesRule,
    RegionOrder,
    UnitConversion,
    Workup,
)
from alscare.knowledge.rules import facts_in
from alscare.schemas.vocabulary import DifferentialId, InvestigationId

SEED_CONSIDER = [
    "emg_ncs",
    "repetitive_nerve_stimulation",
    "mri_brain_spine",
    "anti_gm1_antibodies",
    "vgcc_antibodies",
    "achr_musk_antibodies",
    "vitamin_b12",
    "creatine_kinase",
    "lumbar_puncture",
    "hiv_test",
    "genetic_testing",
]
CITE = [{"id": "turner2013_mimics", "where": "table"}]


def test_diagnosis_investigations_complete_and_tiered(kb):
    investigations = kb.diagnosis.investigations
    assert [i.id for i in investigations] == [member.value for member in InvestigationId]
    tiers = {i.id: i.tier for i in investigations}
    assert tiers["clinical_diagnosis"] == "first"
    assert [i for i, tier in tiers.items() if tier == "consider"] == SEED_CONSIDER
    assert all(
        tiers[i] == "additional" for i in tiers if i not in (*SEED_CONSIDER, "clinical_diagnosis")
    )
    assert all(i.label and i.when and i.als_result for i in investigations)


def test_diagnosis_differentials_complete_seed_and_spectrum(kb):
    differentials = kb.diagnosis.differentials
    assert [d.id for d in differentials] == [member.value for member in DifferentialId]
    assert [d.id for d in differentials if d.seed] == [
        "cervical_spondylotic_myelopathy",
        "multifocal_motor_neuropathy",
        "inclusion_body_myositis",
    ]
    assert {d.id for d in differentials if d.spectrum} == {
        "primary_lateral_sclerosis",
        "progressive_muscular_atrophy",
    }
    for differential in differentials:
        assert differential.features and differential.tests and differential.rules
        if differential.spectrum:
            assert {rule.level for rule in differential.rules} == {"consider"}


def test_diagnosis_tests_and_addresses_agree(kb):
    for differential in kb.diagnosis.differentials:
        for test in differential.test_ids:
            assert differential.id in kb.diagnosis.investigation(test).addresses


def test_diagnosis_work_up_closes_after_diagnosis_unless_doubt(kb):
    rule = kb.diagnosis.workup_after_diagnosis
    facts = {part.fact for part in facts_in(rule.when)}
    assert facts == {
        "patient.diagnosed",
        "findings.red_flags_since_diagnosis",
        "differential.suspected_mimics",
    }
    assert rule.verified is False  # alscare's reading of when the work-up ends


def test_diagnosis_routine_work_up(kb):
    workup = [i.id for i in kb.diagnosis.investigations if i.workup is not None]
    assert workup == [
        "emg_ncs",
        "mri_brain_spine",
        "vitamin_b12",
        "creatine_kinase",
        "thyroid_function",
        "calcium_pth",
    ]
    mri = kb.diagnosis.investigation("mri_brain_spine").workup
    assert mri is not None and mri.unless is not None
    minimum = [
        i.id for i in kb.diagnosis.investigations if i.workup and i.workup.counts_for_exclusion
    ]
    assert minimum == [w for w in workup if w != "mri_brain_spine"]


def test_diagnosis_parameters_from_the_reference(kb):
    rules = kb.diagnosis.region_rules
    assert rules.emg_muscles.muscles_required == {
        "bulbar": 1,
        "cervical": 2,
        "thoracic": 1,
        "lumbosacral": 2,
    }
    assert rules.emg_gold_coast_awaji.fasciculation_potentials_count is True
    assert rules.emg_el_escorial.fasciculation_potentials_count is False
    assert rules.lmn_clinical.required == ("weakness", "wasting")
    assert rules.lmn_clinical.supportive == ("fasciculations",)
    assert kb.diagnosis.criteria.gold_coast.lmn_regions_min == 2
    assert kb.diagnosis.conversion("vitamin_b12").factors["pmol/L"] == 1.355
    assert kb.diagnosis.conversion("copper") is None
    assert rules.emg_muscles.verified is False  # [M] in the reference


def test_diagnosis_memory_facts_marked_unverified(kb):
    # Reference [M]: rEEC wording, the AR repeat threshold, the muscle counts.
    assert kb.diagnosis.criteria.el_escorial.definite.verified is False
    kennedy = kb.diagnosis.differential("kennedy_disease")
    threshold = [r for r in kennedy.rules if "ar_cag_repeat.value" in r.model_dump_json()]
    assert threshold and all(rule.verified is False for rule in threshold)


# --- models reject bad content ------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (RegionOrder, {"rostral_to_caudal": ["bulbar", "cervical"], "sources": CITE}),
        (EmgMusclesRule, {"muscles_required": {"bulbar": 1}, "sources": CITE}),
        (
            UnitConversion,
            {"investigation": "vitamin_b12", "canonical": "pg/mL", "factors": {"pg/mL": 2}},
        ),
        (
            UnitConversion,
            {"investigation": "vitamin_b12", "canonical": "pg/mL", "factors": {"pg/mL": 1}},
        ),
        (Workup, {"reason": "r", "unless": {"fact": "finding.ptosis", "is": True}}),
    ],
    ids=["region-order", "muscles", "canonical-factor", "units-incomplete", "unless-reason"],
)
def test_diagnosis_models_reject(model, data):
    with pytest.raises(ValidationError):
        model.model_validate({"sources": CITE, **data})


def test_diagnosis_condition_of_unknown_shape_rejected():
    with pytest.raises(ValidationError, match="a condition is one of"):
        Workup.model_validate(
            {"reason": "r", "unless": {"either": []}, "unless_reason": "u", "sources": CITE}
        )


# --- a broken file names file, item and field ---------------------------------------------


@pytest.fixture
def content(tmp_path: Path) -> Path:
    source = resources.files("alscare.knowledge") / "content"
    target = tmp_path / "content"
    with resources.as_file(source) as folder:
        shutil.copytree(folder, target)
    return target


def _broken(content: Path, name: str, change: Callable[[dict[str, Any]], None]) -> KnowledgeError:
    path = content / "diagnosis" / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(content)
    return caught.value


def test_diagnosis_missing_differential_named(content):
    error = _broken(content, "differentials.yaml", lambda d: d["differentials"].pop())
    assert error.item_id == "paraneoplastic"
    assert "has no entry" in error.reason


def test_diagnosis_duplicate_investigation_named(content):
    def duplicate(data: dict[str, Any]) -> None:
        data["investigations"][2]["id"] = "emg_ncs"

    error = _broken(content, "investigations.yaml", duplicate)
    assert (error.item_id, error.field) == ("emg_ncs", "investigations.2.id")


def test_diagnosis_clinical_diagnosis_must_come_first(content):
    def swap(data: dict[str, Any]) -> None:
        items = data["investigations"]
        items[0], items[1] = items[1], items[0]

    error = _broken(content, "investigations.yaml", swap)
    assert "clinical_diagnosis comes first" in error.reason


def test_diagnosis_tests_out_of_step_with_addresses_named(content):
    def drop(data: dict[str, Any]) -> None:
        data["investigations"][5]["addresses"] = []  # vgcc_antibodies

    error = _broken(content, "investigations.yaml", drop)
    assert error.item_id == "lambert_eaton"
    assert "keep the two in step" in error.reason


def test_diagnosis_duplicate_unit_conversion_named(content):
    error = _broken(content, "units.yaml", lambda d: d["units"].append(d["units"][0]))
    assert "one conversion per investigation" in error.reason


def test_diagnosis_unknown_fact_in_rule_named(content):
    def typo(data: dict[str, Any]) -> None:
        data["differentials"][3]["rules"][0]["when"]["any"][0]["fact"] = "finding.ptosiss"

    error = _broken(content, "differentials.yaml", typo)
    assert error.file == "diagnosis/differentials.yaml"
    assert error.item_id == "myasthenia_gravis"
    assert "unknown fact" in error.reason


# The census of the diagnosis section per knowledge version: change the content, bump the
# version in about.yaml, add the new census here and a CHANGELOG "Knowledge" entry.
CENSUS = {
    "2026.1": {
        "investigations": 21,
        "differentials": 24,
        "rules": 47,
        "suspected_rules": 28,
        "unverified_differentials": 15,
        "unverified_rules": 31,
        "unverified_investigations": 12,
    },
    "2026.2": {
        "investigations": 21,
        "differentials": 24,
        "rules": 54,
        "suspected_rules": 31,
        "unverified_differentials": 15,
        "unverified_rules": 33,
        "unverified_investigations": 12,
    },
    "2026.3": {
        "investigations": 21,
        "differentials": 24,
        "rules": 54,
        "suspected_rules": 31,
        "unverified_differentials": 15,
        "unverified_rules": 33,
        "unverified_investigations": 12,
    },
    "2026.4": {
        "investigations": 21,
        "differentials": 24,
        "rules": 54,
        "suspected_rules": 31,
        "unverified_differentials": 15,
        "unverified_rules": 33,
        "unverified_investigations": 12,
    },
}


def test_diagnosis_census_matches_knowledge_version(kb):
    diagnosis = kb.diagnosis
    rules = [rule for d in diagnosis.differentials for rule in d.rules]
    census = {
        "investigations": len(diagnosis.investigations),
        "differentials": len(diagnosis.differentials),
        "rules": len(rules),
        "suspected_rules": sum(rule.level == "suspected" for rule in rules),
        "unverified_differentials": sum(not d.verified for d in diagnosis.differentials),
        "unverified_rules": sum(not rule.verified for rule in rules),
        "unverified_investigations": sum(not i.verified for i in diagnosis.investigations),
    }
    assert kb.version in CENSUS, f"knowledge version {kb.version} has no diagnosis census"
    assert census == CENSUS[kb.version], "diagnosis content changed: bump knowledge_version"
