"""The shared rules section and the rule language: every leaf, threshold, named condition and
fact is checked at load, against the whole knowledge base, and a fault names file, item and
field. The fact catalogue and the engine's fact functions list the same facts."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from alscare.engine import FACT_FUNCTIONS
from alscare.errors import KnowledgeError
from alscare.knowledge import load_knowledge
from alscare.knowledge.diagnosis import Workup
from alscare.knowledge.facts import CATALOGUE, parse_fact_name
from alscare.knowledge.program import root_conditions
from alscare.knowledge.rules import FactTest, Ref, conditions_in
from alscare.knowledge.scoring import EncalsPredictor

CITE = [{"id": "turner2013_mimics", "where": "table"}]


# --- the catalogue and the engine -----------------------------------------------------------------


def test_rules_every_catalogue_fact_has_one_engine_function():
    assert set(FACT_FUNCTIONS.by_pattern) == {spec.pattern for spec in CATALOGUE}


@pytest.mark.parametrize(
    ("name", "pattern", "args"),
    [
        ("finding.sensory_loss", "finding.{finding}", ("sensory_loss",)),
        ("finding.muscle_atrophy.cervical", "finding.{finding}.{region}",
         ("muscle_atrophy", "cervical")),
        ("exam.any.spasticity", "exam.{region_or_any}.{sign}", ("any", "spasticity")),
        ("variant.SOD1", "variant.{gene_or_any}", ("SOD1",)),
        ("intervention.niv.changes_since_declined", "intervention.niv.changes_since_declined", ()),
        ("intervention.niv.state", "intervention.{intervention}.state", ("niv",)),
    ],
)  # fmt: skip
def test_rules_fact_names_match_their_catalogue_entry(name, pattern, args):
    found = parse_fact_name(name)
    assert (found.spec.pattern, found.args) == (pattern, args)


@pytest.mark.parametrize(
    ("name", "message"),
    [("finding.ptosiss", "facts of 'finding'"), ("colour.blue", "no fact starts with 'colour'")],
)
def test_rules_unknown_fact_names_say_what_exists(name, message):
    with pytest.raises(ValueError, match=message):
        parse_fact_name(name)


# --- leaves that cannot be right alone ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"fact": "finding.ptosis"}, "give exactly one test"),
        ({"fact": "finding.ptosis", "is": True, "above": 1.0}, "give exactly one test"),
        ({"fact": "finding.ptosis", "is": "yes"}, "is true or false"),
        ({"fact": "finding.nothing", "is": True}, "unknown fact"),
        ({"fact": "nutrition.bmi", "is": True}, "takes above, at_least, at_most, below, present"),
        ({"fact": "respiratory.symptoms", "includes": ["hiccups"]}, "unknown values hiccups"),
        ({"fact": "patient.diagnosed", "is": True, "if_unknown": False}, "never unknown"),
        ({"fact": "nutrition.bmi", "present": True, "if_unknown": True}, "never unknown"),
        ({"colour": "blue"}, "a condition is one of"),
    ],
)
def test_rules_leaf_rejected(data, message):
    with pytest.raises(ValidationError, match=message):
        Workup.model_validate(
            {"reason": "r", "unless": data, "unless_reason": "u", "sources": CITE}
        )


# --- faults only the whole base shows -------------------------------------------------------------


@pytest.fixture
def content(tmp_path: Path) -> Path:
    source = resources.files("alscare.knowledge") / "content"
    target = tmp_path / "content"
    with resources.as_file(source) as folder:
        shutil.copytree(folder, target)
    return target


def _broken(content: Path, name: str, change: Callable[[dict[str, Any]], None]) -> KnowledgeError:
    path = content / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(content)
    return caught.value


def _set_when(collection: str, item_id: str, when: dict[str, Any]) -> Callable[[Any], None]:
    def change(data: dict[str, Any]) -> None:
        next(item for item in data[collection] if item["id"] == item_id)["when"] = when

    return change


@pytest.mark.parametrize(
    ("file", "change", "message"),
    [
        ("treatment/recommendations.yaml",
         _set_when("recommendation_rules", "riluzole_continue", {"ref": "nobody"}),
         "refers to an unknown condition: nobody"),
        ("treatment/recommendations.yaml",
         _set_when("recommendation_rules", "riluzole_continue",
                   {"fact": "nutrition.bmi", "below": "no_threshold"}),
         "unknown threshold: no_threshold"),
        ("treatment/recommendations.yaml",
         _set_when("recommendation_rules", "riluzole_continue",
                   {"fact": "nutrition.bmi", "below": "niv_fvc_alone"}),
         "is in % predicted, fact nutrition.bmi in kg/m2"),
        ("treatment/recommendations.yaml",
         _set_when("recommendation_rules", "riluzole_continue",
                   {"fact": "medication.aspirin.current", "is": True}),
         "names an unknown drug: aspirin"),
        ("treatment/recommendations.yaml",
         _set_when("recommendation_rules", "riluzole_continue",
                   {"fact": "recommended.nowhere", "in": ["start"]}),
         "names an unknown step: nowhere"),
        ("rules/conditions.yaml",
         _set_when("conditions", "rapid_progression", {"ref": "care_revisit_trigger"}),
         "refers to itself through"),
        ("rules/conditions.yaml",
         _set_when("conditions", "rapid_progression",
                   {"fact": "recommended.riluzole", "in": ["start"]}),
         "a named condition cannot test a recommendation"),
        ("diagnosis/differentials.yaml",
         lambda d: d["differentials"][0]["rules"][0].update(
             when={"fact": "criteria.gold_coast.met", "is": False}),
         "reads facts of a later stage than regions"),
        ("scoring/staging.yaml",
         lambda d: d["mitos"]["domains"][0].update(
             when={"fact": "region.bulbar.umn", "is": True}),
         "reads facts of a later stage than record"),
    ],
)  # fmt: skip
def test_rules_whole_base_faults_named(content, file, change, message):
    error = _broken(content, file, change)
    assert message in error.reason
    assert error.file.startswith(file.split("/")[0])


def test_rules_fault_names_file_item_and_field(content):
    error = _broken(
        content,
        "treatment/recommendations.yaml",
        _set_when("recommendation_rules", "riluzole_continue", {"ref": "nobody"}),
    )
    assert error.file == "treatment/recommendations.yaml"
    assert error.item_id == "riluzole_continue"
    assert error.field == "treatment.recommendation_rules.riluzole_continue.when"


# --- the library: nothing unused, values and verification as the reference gives them -------------


def _all_parts(kb: Any) -> list[Any]:
    return [
        part
        for section in (kb.rules, kb.scoring, kb.diagnosis, kb.treatment)
        for _, condition in root_conditions(section)
        for part in conditions_in(condition)
    ]


def test_rules_every_threshold_and_named_condition_is_used(kb):
    parts = _all_parts(kb)
    used_thresholds = {p.threshold_id for p in parts if isinstance(p, FactTest)} - {None}
    used_conditions = {p.ref for p in parts if isinstance(p, Ref)}
    # the engine itself reads the standard definition of neutropenia (labs without limits)
    assert used_thresholds | {"neutropenia_neutrophil_count"} == {t.id for t in kb.rules.thresholds}
    assert used_conditions == {c.id for c in kb.rules.conditions}


@pytest.mark.parametrize(
    ("threshold", "value", "verified"),
    [
        ("niv_fvc_with_symptoms", 80, True),
        ("niv_fvc_alone", 50, True),
        ("niv_inspiratory_pressure", 40, True),
        ("cms_mip", 60, True),
        ("cms_nocturnal_desaturation", 5, True),
        ("nocturnal_desaturation_recorded", 0, False),  # the mapping is alscare's
        ("hypercapnia_paco2", 45, False),  # [M] in the reference
        ("urgent_paco2", 6, True),
        ("cough_flow_at_risk", 270, False),  # literature, not verified for CHEST
        ("cough_flow_ineffective", 160, False),
        ("riluzole_stop_alt", 5, True),
        ("riluzole_baseline_transaminases", 3, True),
        ("neutropenia_neutrophil_count", 1.5, False),  # the label does not define it
        ("gastrostomy_weight_loss", 10, True),
        ("gastrostomy_bmi", 18.5, True),
        ("rapid_progression_rate", 1.0, False),
        ("edaravone_trial_fvc", 80, False),  # not in the reference
    ],
)
def test_rules_thresholds_and_their_verification(kb, threshold, value, verified):
    found = kb.rules.threshold_by_id[threshold]
    assert (found.value, found.verified) == (value, verified)


def test_rules_rapid_progression_is_the_scoring_fast_band(kb):
    # the same delta-FS cut-off lives in two sections; they must not drift apart
    assert kb.rules.threshold_by_id["rapid_progression_rate"].value == (
        kb.scoring.progression_bands.fast_above
    )


def test_rules_one_definition_of_mimic_and_causal_variant(kb):
    assert kb.rules.mimic.levels == ("suspected",)
    assert kb.rules.causal_variant.results == ("pathogenic", "likely_pathogenic")


def test_rules_repeat_windows_cited_and_unverified_where_the_reference_is_silent(kb):
    windows = kb.rules.window_by_measurement
    assert (windows["fvc_percent_predicted"].months, windows["fvc_percent_predicted"].verified) == (
        3,
        True,
    )
    assert windows["alsfrs_r"].verified is False
    assert windows["weight"].verified is False


def test_rules_data_quality_limits_are_unverified_and_not_clinical(kb):
    limits = kb.rules.implausible_by_value
    assert set(limits) == {"progression_rate", "bmi", "weight_loss_percent"}
    assert all(limit.verified is False for limit in limits.values())
    # below the malnutrition threshold, so a real low BMI is never taken for an error
    assert limits["bmi"].below is not None
    assert limits["bmi"].below < kb.rules.threshold_by_id["gastrostomy_bmi"].value


def test_rules_encals_delay_limit_is_the_turning_point_of_its_transform(kb):
    model = kb.scoring.encals
    delay: EncalsPredictor = next(
        p for p in model.predictors if p.input == "diagnostic_delay_months"
    )

    def term(months: float) -> float:
        z = months / delay.scale
        return sum(math.log(z) if p == 0 else z**p for p in delay.powers)

    minimum = model.applicability.min_diagnostic_delay_months
    step = 0.01
    assert term(minimum) < term(minimum - step) and term(minimum) < term(minimum + step)


def _without_window(measurement: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["repeat_windows"] = [
            window for window in data["repeat_windows"] if window["measurement"] != measurement
        ]

    return change


def test_rules_follow_up_measurement_needs_a_repeat_window(content):
    error = _broken(content, "rules/definitions.yaml", _without_window("weight"))
    assert "treatment.follow_up.weight.measurement" in str(error)
    assert "weight has no repeat window" in str(error)
