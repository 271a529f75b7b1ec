"""The topic section: census, coverage of the seed outline by vocabulary id, codes that match
the vocabulary, the traps of the reference (head drop, split hand), unverified facts marked."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml

# The seed topic's outline, copied from the seed (BMJ Best Practice, ALS): each item and the
# vocabulary id that stands for it, in the seed's order.
SEED_KEY_FACTORS = [
    ("upper extremity weakness", "upper_extremity_weakness"),
    ("stiffness, with poor coordination and balance", "stiffness_poor_coordination"),
    ("spastic, unsteady gait", "spastic_unsteady_gait"),
    ("painful muscle spasms", "painful_muscle_spasms"),
    ("difficulties arising from chairs and climbing stairs", "difficulty_rising_climbing"),
    ("foot drop", "foot_drop"),
    ("stiffness and decreased balance with impact on gait", "stiffness_gait_imbalance"),
    ("head drop", "head_drop"),
    ("progressive difficulties maintaining erect posture, with stooping", "stooped_posture"),
    ("muscle atrophy", "muscle_atrophy"),
    (
        "increased lumbar lordosis and tendency for abdominal protuberance",
        "lumbar_lordosis_abdominal_protuberance",
    ),
    ("hyperreflexia", "hyperreflexia"),
    ("dyspnea", "dyspnea"),
    ("coughing and choking on liquids (including secretions)", "choking_on_liquids"),
    ("strained, slow speech", "strained_slow_speech"),
    ("slurred, nasal, and, at times, dysphonic speech", "slurred_nasal_speech"),
    ("hypophonic speech", "hypophonic_speech"),
]
SEED_OTHER_FACTORS = [
    ("propensity for falls", "falls"),
    ("sialorrhea and drooling", "sialorrhea"),
    ("inappropriate bursts of crying or laughing", "pseudobulbar_affect"),
    ("cognitive impairment", "cognitive_impairment"),
    ("features of frontotemporal dementia", "ftd_features"),
]
SEED_RISK_FACTORS = [
    ("genetic predisposition or family history", "genetic_predisposition_family_history"),
    ("age >40 years", "age_over_40"),
    ("military service", "military_service"),
    ("professional athletic activity", "professional_athletic_activity"),
    ("cigarette smoking", "cigarette_smoking"),
    ("agricultural chemical exposure", "agricultural_chemical_exposure"),
    ("lead exposure", "lead_exposure"),
]
SEED_GUIDELINES = {
    "Respiratory management of patients with neuromuscular weakness",
    "Clinical guidance in neuropalliative care: an AAN position statement",
}

# The census of the topic section for each knowledge version: change the content, bump the
# version in about.yaml, add the new census here and a CHANGELOG "Knowledge" entry.
CENSUS = {
    "2026.1": {
        "key": 17,
        "other": 5,
        "sign": 15,
        "red_flag": 17,
        "risk_factors": 7,
        "guidelines": 7,
        "seed_guidelines": 2,
        "unverified_findings": 16,
    },
    "2026.2": {
        "key": 17,
        "other": 5,
        "sign": 15,
        "red_flag": 17,
        "risk_factors": 7,
        "guidelines": 7,
        "seed_guidelines": 2,
        "unverified_findings": 16,
    },
    "2026.3": {
        "key": 17,
        "other": 5,
        "sign": 15,
        "red_flag": 17,
        "risk_factors": 7,
        "guidelines": 7,
        "seed_guidelines": 2,
        "unverified_findings": 16,
    },
    "2026.4": {
        "key": 17,
        "other": 5,
        "sign": 15,
        "red_flag": 17,
        "risk_factors": 7,
        "guidelines": 7,
        "seed_guidelines": 2,
        "unverified_findings": 16,
    },
}


def _vocabulary_findings() -> dict[str, dict[str, Any]]:
    text = (resources.files("alscare.knowledge") / "content" / "vocabulary.yaml").read_text()
    findings: dict[str, dict[str, Any]] = yaml.safe_load(text)["findings"]
    return findings


def test_topic_census_matches_knowledge_version(kb):
    topic = kb.topic
    census = {kind: len(topic.findings_of_kind(kind)) for kind in ("key", "other", "sign")}
    census["red_flag"] = len(topic.findings_of_kind("red_flag"))
    census["risk_factors"] = len(topic.risk_factors)
    census["guidelines"] = len(topic.guidelines)
    census["seed_guidelines"] = sum(item.seed for item in topic.guidelines)
    census["unverified_findings"] = sum(not item.verified for item in topic.findings)
    assert kb.version in CENSUS, f"knowledge version {kb.version} has no census entry"
    assert census == CENSUS[kb.version], "topic content changed: bump knowledge_version"


def test_topic_covers_seed_diagnostic_factors_in_seed_order(kb):
    assert [f.id for f in kb.topic.findings_of_kind("key")] == [i for _, i in SEED_KEY_FACTORS]
    assert [f.id for f in kb.topic.findings_of_kind("other")] == [i for _, i in SEED_OTHER_FACTORS]
    assert [f.id for f in kb.topic.diagnostic_factors] == [
        i for _, i in SEED_KEY_FACTORS + SEED_OTHER_FACTORS
    ]


def test_topic_covers_seed_risk_factors_in_seed_order(kb):
    assert [item.id for item in kb.topic.risk_factors] == [i for _, i in SEED_RISK_FACTORS]


def test_topic_covers_seed_guidelines(kb):
    seed = {item.title for item in kb.topic.guidelines if item.seed}
    assert seed == SEED_GUIDELINES


@pytest.mark.parametrize(
    "source",
    [
        "khan2023_chest",
        "taylor2022_aan_neuropalliative",
        "nice2016_ng42",
        "miller2009_aan_part1",
        "vandamme2024_ean",
        "roggenbuck2023_genetic_testing",
    ],
)
def test_topic_guidelines_include_the_reference_guidelines(kb, source):
    assert source in {item.source for item in kb.topic.guidelines}


def test_topic_seed_items_cite_the_seed_topic(kb):
    seed_items = [*kb.topic.diagnostic_factors, *kb.topic.risk_factors]
    for item in seed_items:
        assert "bmj_best_practice_als" in item.source_ids, item.id


def test_topic_findings_match_vocabulary_codes_kinds_regions(kb):
    vocabulary = _vocabulary_findings()
    assert [item.id for item in kb.topic.findings] == list(vocabulary)
    for item in kb.topic.findings:
        entry = vocabulary[item.id]
        assert item.kind == entry["kind"], item.id
        assert item.hpo == entry.get("hpo"), item.id
        assert item.region == entry.get("region"), item.id


def test_topic_hpo_codes_cite_the_hpo_release(kb):
    for item in kb.topic.findings:
        if item.hpo is not None:
            refs = [ref for ref in item.sources if ref.id == "hpo2025_release"]
            assert refs and item.hpo in refs[0].where, item.id


def test_topic_head_drop_is_neck_muscle_weakness_not_neck_flexor(kb):
    head_drop = kb.topic.finding("head_drop")
    assert head_drop.hpo == "HP:0000467"
    assert head_drop.hpo != "HP:0003722"


def test_topic_no_finding_coded_as_split_hand_malformation(kb):
    assert all(item.hpo != "HP:0001171" for item in kb.topic.findings)


def test_topic_every_finding_says_what_it_indicates(kb):
    for item in kb.topic.findings:
        if item.kind == "red_flag":
            assert item.indicates == ("mimic",), item.id
        elif item.id not in {"weight_loss", "pain"}:  # non-specific symptoms
            assert item.indicates, item.id
            assert "mimic" not in item.indicates, item.id


def test_topic_exam_signs_only_where_the_same_thing(kb):
    mapped = {item.id: item.exam_sign for item in kb.topic.findings if item.exam_sign}
    assert mapped == {
        "muscle_atrophy": "wasting",
        "hyperreflexia": "hyperreflexia",
        "fasciculations": "fasciculations",
    }


@pytest.mark.parametrize(
    "finding_id",
    ["painful_muscle_spasms", "brisk_jaw_jerk", "ptosis", "fatigable_weakness", "ataxia"],
)
def test_topic_memory_facts_marked_unverified(kb, finding_id):
    assert kb.topic.finding(finding_id).verified is False


def test_topic_risk_factor_effect_sizes(kb):
    effect = {item.id: item.effect_size for item in kb.topic.risk_factors}
    assert effect["military_service"] == "OR 1.34 (2023 meta-analysis)"
    assert "RR 1.44" in effect["cigarette_smoking"] and "1.42" in effect["cigarette_smoking"]
    assert "2.31" in effect["lead_exposure"]
    assert effect["age_over_40"] is None
    assert kb.topic.risk_factor("agricultural_chemical_exposure").verified is False


def test_topic_age_threshold_in_content(kb):
    assert kb.topic.risk_factor("age_over_40").age_above_years == 40
    assert all(
        item.age_above_years is None for item in kb.topic.risk_factors if item.id != "age_over_40"
    )


def test_topic_guideline_source_is_among_its_sources(kb):
    for item in kb.topic.guidelines:
        assert item.source in item.source_ids
