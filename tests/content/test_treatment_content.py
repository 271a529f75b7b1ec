"""The treatment section: its content is complete and consistent, and a broken rule fails at
load naming the item (file, id and field through the loader)."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from alscare.engine.treatment_facts import FACT_FUNCTIONS
from alscare.errors import KnowledgeError
from alscare.knowledge import load_knowledge
from alscare.knowledge.base import SourceRef
from alscare.knowledge.conditions import FactTest, conditions_in
from alscare.knowledge.treatment import (
    FactId,
    NamedCondition,
    RefTest,
    TreatmentFactTest,
    TreatmentRules,
)
from alscare.schemas.vocabulary import Jurisdiction

TREATMENT = resources.files("alscare.knowledge") / "content" / "treatment"


def _raw() -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in sorted(item.name for item in TREATMENT.iterdir() if item.name.endswith(".yaml")):
        data.update(yaml.safe_load((TREATMENT / name).read_text(encoding="utf-8")))
    return data


RAW = _raw()


def _invalid(change: Callable[[dict[str, Any]], None]) -> str:
    data = copy.deepcopy(RAW)
    change(data)
    with pytest.raises(ValidationError) as caught:
        TreatmentRules.model_validate(data)
    return str(caught.value)


def _rule(data: dict[str, Any], rule_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in data["recommendation_rules"] if r["id"] == rule_id)
    return found


def _named(data: dict[str, Any], condition_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in data["conditions"] if c["id"] == condition_id)
    return found


# --- the content -------------------------------------------------------------------------------


def test_treatment_raw_content_validates():
    assert TreatmentRules.model_validate(RAW).groups[0].id == "all_patients"


def test_treatment_groups_are_the_issue_patient_groups(kb):
    assert [group.id for group in kb.treatment.groups] == [
        "all_patients",
        "sod1_variant",
        "respiratory",
        "nutrition",
        "symptoms",
        "cognition",
        "genetics",
        "palliative_care",
    ]


def test_treatment_every_fact_has_a_function():
    assert set(FACT_FUNCTIONS) == set(FactId)


def test_treatment_every_threshold_and_named_condition_is_used(kb):
    treatment = kb.treatment
    conditions = [c.when for c in treatment.conditions]
    conditions += [r.when for r in treatment.recommendation_rules]
    conditions += [r.when for r in treatment.alert_rules]
    parts = [part for condition in conditions for part in conditions_in(condition)]
    used_thresholds = {p.comparison[1] for p in parts if isinstance(p, FactTest) and p.comparison}
    used_conditions = {p.ref for p in parts if isinstance(p, RefTest)}
    assert used_thresholds == {t.id for t in treatment.thresholds}
    assert used_conditions == {c.id for c in treatment.conditions}


def test_treatment_every_step_has_a_rule(kb):
    without = {step.id for _, step in kb.treatment.steps() if not kb.treatment.rules_for(step.id)}
    assert without == set()


def test_treatment_drug_status_as_the_reference_gives_it(kb):
    # reference 7.1: edaravone not in the EU (MAA withdrawn), authorised in the US; tofersen
    # authorised in US and EU; sodium phenylbutyrate-taurursodiol withdrawn in US and CA,
    # refused in the EU
    def status(drug: str, jurisdiction: str) -> str | None:
        found = kb.treatment.drug(drug).status_in(Jurisdiction(jurisdiction))
        return found.status if found else None

    assert status("edaravone", "EU") == "not_authorised"
    assert status("edaravone", "US") == "authorised"
    assert status("tofersen", "US") == status("tofersen", "EU") == "authorised"
    assert status("sodium_phenylbutyrate_taurursodiol", "US") == "withdrawn"
    assert status("sodium_phenylbutyrate_taurursodiol", "CA") == "withdrawn"
    assert status("sodium_phenylbutyrate_taurursodiol", "EU") == "refused"
    assert all(s.status == "trials_only" for s in kb.treatment.drug("ulefnersen").status)


@pytest.mark.parametrize(
    ("threshold", "value", "verified"),
    [
        ("niv_fvc_with_symptoms", 80, True),
        ("niv_fvc_alone", 50, True),
        ("niv_inspiratory_pressure", 40, True),
        ("hypercapnia_paco2", 45, False),  # [M] in the reference
        ("urgent_paco2", 6, True),
        ("cough_flow_at_risk", 270, False),  # literature, not verified for CHEST
        ("cough_flow_ineffective", 160, False),
        ("riluzole_stop_alt", 5, True),
        ("riluzole_baseline_transaminases", 3, True),
        ("gastrostomy_weight_loss", 10, True),
        ("gastrostomy_bmi", 18.5, True),
        ("rapid_progression_rate", 1.0, False),
    ],
)
def test_treatment_thresholds_and_their_verification(kb, threshold, value, verified):
    found = kb.treatment.threshold(threshold)
    assert (found.value, found.verified) == (value, verified)


@pytest.mark.parametrize(
    ("name", "drug"),
    [
        ("Rilutek", "riluzole"),
        ("riluzole 50 mg bd", "riluzole"),
        ("RADICAVA ORS", "edaravone"),
        ("Qalsody", "tofersen"),
        ("AMX0035", "sodium_phenylbutyrate_taurursodiol"),
        ("Nuedexta 20/10", "dextromethorphan_quinidine"),
    ],
)
def test_treatment_drug_names_match_medication_entries(kb, name, drug):
    assert [d.id for d in kb.treatment.drugs if d.matches(name)] == [drug]


def test_treatment_drug_names_match_whole_words_only(kb):
    assert not kb.treatment.drug("riluzole").matches("antiriluzolex")


# --- broken rules fail at load ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: _rule(d, "riluzole_start").update(step="no_such_step"),
         "names no step of the algorithm"),
        (lambda d: d["groups"][0]["steps"].pop(0), "recommendation id is no step"),
        (lambda d: d["alert_rules"].pop(), "alert id has no alert rule"),
        (lambda d: d["thresholds"].append(dict(d["thresholds"][0])), "id is used more than once"),
        (lambda d: _rule(d, "riluzole_continue").update(when={"ref": "nobody"}),
         "refers to an unknown condition"),
        (lambda d: _rule(d, "riluzole_continue").update(
            when={"fact": "bmi", "below": "no_threshold"}), "unknown threshold"),
        (lambda d: _rule(d, "riluzole_continue").update(
            when={"fact": "bmi", "below": "niv_fvc_alone"}), "is in % predicted"),
        (lambda d: _rule(d, "riluzole_continue").update(when={"taking": "aspirin"}),
         "names an unknown drug"),
        (lambda d: _rule(d, "riluzole_continue").update(
            when={"drug_status": {"drug": "aspirin", "in": ["authorised"]}}),
         "names an unknown drug"),
        (lambda d: _rule(d, "riluzole_continue").update(
            when={"recommended": {"step": "nowhere", "actions": ["start"]}}),
         "names an unknown step"),
        (lambda d: _rule(d, "riluzole_continue").update(
            when={"recommended": {"step": "riluzole_liver_monitoring", "actions": ["start"]}}),
         "comes before its own"),
        (lambda d: _named(d, "rapid_progression").update(
            when={"recommended": {"step": "riluzole", "actions": ["start"]}}),
         "a named condition cannot test a recommendation"),
        (lambda d: _named(d, "rapid_progression").update(when={"ref": "care_revisit_trigger"}),
         "refers to itself"),
        (lambda d: d["riluzole_liver_monitoring"].update(drug="aspirin"),
         "names an unknown drug"),
        (lambda d: d["riluzole_liver_monitoring"]["phases"].reverse(),
         "phases must end in increasing months"),
        (lambda d: d["drugs"][0]["status"].append(dict(d["drugs"][0]["status"][0])),
         "more than one status for US"),
        (lambda d: _rule(d, "riluzole_continue").update(
            when={"fact": "bmi", "below": "gastrostomy_bmi", "present": True}),
         "give exactly one test"),
        (lambda d: _rule(d, "riluzole_continue").update(when={"fact": "bmi", "is": True}),
         "takes above, at_least, at_most, below, present"),
        (lambda d: _rule(d, "riluzole_continue").update(when={"fact": "bmi", "below": 18.5}),
         "compare with a threshold id"),
        (lambda d: _rule(d, "riluzole_continue").update(when={"fact": "on_niv", "is": "yes"}),
         "is true or false"),
        (lambda d: _rule(d, "riluzole_continue").update(
            when={"fact": "respiratory_symptoms", "includes": ["hiccups"]}),
         "unknown values hiccups"),
        (lambda d: _rule(d, "riluzole_continue").update(when={"alsfrs_r_item": "speech"}),
         "give at_most or at_least"),
        (lambda d: _rule(d, "riluzole_continue").update(when={"colour": "blue"}),
         "a condition needs one of the keys"),
    ],
)  # fmt: skip
def test_treatment_broken_rule_rejected(change, message):
    assert message in _invalid(change)


def test_treatment_conditions_built_in_code_validate_too():
    condition = NamedCondition(
        id="on_niv_now",
        label="on NIV",
        when=TreatmentFactTest.model_validate({"fact": "on_niv", "is": True}),
        sources=(SourceRef(id="khan2023_chest", where="NIV"),),
    )
    assert isinstance(condition.when, TreatmentFactTest)


@pytest.fixture
def content(tmp_path: Path) -> Path:
    source = resources.files("alscare.knowledge") / "content"
    target = tmp_path / "content"
    with resources.as_file(source) as folder:
        shutil.copytree(folder, target)
    return target


def test_treatment_broken_rule_named_by_the_loader(content):
    path = content / "treatment" / "recommendations.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    _rule(data, "riluzole_start").update(step="no_such_step")
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(content)
    assert caught.value.item_id == "riluzole_start"
    assert caught.value.file.startswith("treatment/")
    assert "names no step of the algorithm" in caught.value.reason


def test_treatment_rapid_progression_is_the_scoring_fast_band(kb):
    # the same delta-FS cut-off lives in both sections; they must not drift apart
    threshold = kb.treatment.threshold("rapid_progression_rate")
    assert threshold.value == kb.scoring.progression_bands.fast_above
