"""The treatment section: its content is complete and consistent, and a broken rule fails at
load naming the item (file, id and field through the loader)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from alscare.knowledge.rules import facts_in
from alscare.knowledge.treatment import TreatmentRules
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


def test_treatment_every_step_has_a_rule(kb):
    rules = kb.treatment.rules_by_step
    without = {step.id for _, step in kb.treatment.steps() if step.id not in rules}
    assert without == set()


def test_treatment_stopped_drugs_are_held_before_they_are_offered(kb):
    # A drug stopped for an adverse effect is never offered again without saying why: the
    # hold rule comes before the start/consider rules of its step.
    for drug in ("riluzole", "edaravone", "tofersen"):
        order = [rule.id for rule in kb.treatment.rules_by_step[drug]]
        hold = order.index(f"{drug}_stopped_adverse_effect")
        offers = [i for i, rule in enumerate(kb.treatment.rules_by_step[drug])
                  if rule.action in ("start", "consider")]  # fmt: skip
        assert all(hold < i for i in offers), drug


def test_treatment_edaravone_names_its_trial_population(kb):
    rule = next(r for r in kb.treatment.recommendation_rules if r.id == "edaravone_consider")
    assert rule.population is not None
    assert {leaf.fact for leaf in facts_in(rule.population.fits)} == {
        "respiratory.fvc_percent_predicted"
    }
    assert rule.population.verified is False  # the population is not in the reference


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


NOT_AUTHORISED = ("not_authorised", "withdrawn", "refused")


def test_treatment_every_drug_not_authorised_somewhere_has_its_alert_rule(kb):
    # drug_not_authorised: one rule per drug with such a status in some jurisdiction, testing
    # that the drug is taken and that its status is one of them, and citing exactly the sources
    # of those status entries (the status fact adds its own entry's sources to the alert).
    rules = {
        next(leaf.name.args[0] for leaf in facts_in(rule.when)): rule
        for rule in kb.treatment.rules_by_alert["drug_not_authorised"]
    }
    expected = {
        drug.id
        for drug in kb.treatment.drugs
        if any(s.status in NOT_AUTHORISED for s in drug.status)
    }
    assert set(rules) == expected
    for drug_id, rule in rules.items():
        tests = {leaf.fact: leaf.test for leaf in facts_in(rule.when)}
        assert tests == {
            f"medication.{drug_id}.current": ("is", True),
            f"drug.{drug_id}.status": ("in", NOT_AUTHORISED),
        }, drug_id
        cited = {
            source
            for status in kb.treatment.drug(drug_id).status
            if status.status in NOT_AUTHORISED
            for source in status.source_ids
        }
        assert set(rule.source_ids) == cited, drug_id
        assert rule.severity == "low" and rule.verified, drug_id


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


# --- broken rules fail at validation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: _rule(d, "riluzole_start").update(step="no_such_step"),
         "names no step of the algorithm"),
        (lambda d: d["groups"][0]["steps"].pop(0), "recommendation id is no step"),
        (lambda d: d.update(alert_rules=[r for r in d["alert_rules"]
                                         if r["alert"] != "mimic_suspected"]),
         "alert id has no alert rule"),
        (lambda d: d["recommendation_rules"].append(dict(d["recommendation_rules"][0])),
         "id is used more than once"),
        (lambda d: _rule(d, "riluzole_continue").update(
            when={"fact": "recommended.riluzole_liver_monitoring", "in": ["start"]}),
         "comes before its own"),
        (lambda d: d["riluzole_liver_monitoring"].update(drug="aspirin"),
         "names an unknown drug"),
        (lambda d: d["riluzole_liver_monitoring"]["phases"].reverse(),
         "phases must end in increasing months"),
        (lambda d: d["drugs"][0]["status"].append(dict(d["drugs"][0]["status"][0])),
         "more than one status for US"),
    ],
)  # fmt: skip
def test_treatment_broken_rule_rejected(change, message):
    assert message in _invalid(change)


# The counts of the treatment section per knowledge version (a content change is a visible,
# versioned diff).
TREATMENT_CENSUS = {
    "2026.3": {
        "recommendation_rules": 68,
        "alert_rules": 10,
        "drugs": 6,
        "follow_up": 7,
        "unverified_recommendation_rules": 23,
        "unverified_alert_rules": 2,
        "unverified_follow_up": 2,
    },
    "2026.4": {
        "recommendation_rules": 68,
        "alert_rules": 13,
        "drugs": 6,
        "follow_up": 7,
        "unverified_recommendation_rules": 23,
        "unverified_alert_rules": 2,
        "unverified_follow_up": 2,
    },
}


def test_treatment_census_matches_knowledge_version(kb):
    treatment = kb.treatment
    census = {
        "recommendation_rules": len(treatment.recommendation_rules),
        "alert_rules": len(treatment.alert_rules),
        "drugs": len(treatment.drugs),
        "follow_up": len(treatment.follow_up),
        "unverified_recommendation_rules": sum(
            not rule.verified for rule in treatment.recommendation_rules
        ),
        "unverified_alert_rules": sum(not rule.verified for rule in treatment.alert_rules),
        "unverified_follow_up": sum(not item.verified for item in treatment.follow_up),
    }
    assert kb.version in TREATMENT_CENSUS, f"knowledge version {kb.version} has no census"
    assert census == TREATMENT_CENSUS[kb.version], "treatment changed: bump knowledge_version"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"measurement": "weight", "screen": "cognition"}, "give one of"),
        ({"alert": "niv_indicated"}, "names its intervention"),
        ({"measurement": "weight", "based_on": ["weight"]}, "names its intervention"),
    ],
)
def test_follow_up_item_of_one_kind_only(change, message):
    raw = _raw()
    item = {"id": "x", "label": "X", "sources": [{"id": "nice2016_ng42", "where": "x"}], **change}
    raw["follow_up"] = [item]
    with pytest.raises(ValidationError, match=message):
        TreatmentRules.model_validate(raw)
