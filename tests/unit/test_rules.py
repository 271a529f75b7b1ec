"""The condition evaluator (three-valued and closed-world logic, comparisons, named thresholds,
reasons) and the record facts diagnosis rules read: every fact pattern the knowledge base may use
resolves."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from alscare.engine.conditions import CLOSED_WORLD, Evaluator, Fact, evaluate, unique
from alscare.engine.regions import regions
from alscare.engine.rules import RecordFacts
from alscare.engine.timeline import cut_off
from alscare.errors import KnowledgeError
from alscare.knowledge.base import SourceRef
from alscare.knowledge.conditions import FactTest, Threshold
from alscare.knowledge.diagnosis import (
    FACT_PATTERNS,
    DiagnosisFactTest,
    DifferentialRule,
    fact_name_problem,
)
from alscare.schemas.vocabulary import InvestigationId
from tests.builders import make_record, signs
from tests.conftest import example

AS_OF = dt.date(2025, 6, 1)


def _condition(data):
    # Build a condition through a model that holds one, as the loader does.
    rule = DifferentialRule.model_validate(
        {"level": "consider", "when": data, "sources": [{"id": "x", "where": "y"}]}
    )
    return rule.when


T = Fact(True, "t")
F = Fact(False, "f")
U = Fact(None, "u")


@pytest.mark.parametrize(
    ("test", "value", "expected"),
    [
        ({"is": True}, True, True),
        ({"is": True}, False, False),
        ({"is": True}, 1.0, False),  # a number never equals true
        ({"is": "male"}, "male", True),
        ({"is": "male"}, "female", False),
        ({"in": ["a", "b"]}, "b", True),
        ({"in": ["a", "b"]}, "c", False),
        ({"in": ["a"]}, 1.0, False),
        ({"above": 1000}, 1000.5, True),
        ({"above": 1000}, 1000.0, False),
        ({"at_least": 38}, 38.0, True),
        ({"below": 1}, 0.0, True),
        ({"below": 1}, 1.0, False),
        ({"at_most": 2}, 2.0, True),
        ({"at_most": 2}, 2.5, False),
        ({"above": 0}, True, False),  # a bool is not a number
        ({"above": 0}, "x", False),
        ({"is": True}, None, None),
        ({"above": 1}, None, None),
    ],
)
def test_rules_fact_test_comparisons(test, value, expected):
    condition = _condition({"fact": "finding.ptosis", **test})
    verdict = evaluate(condition, lambda name: Fact(value, "the fact"))
    assert verdict.holds is expected
    assert verdict.because == ("the fact",)


@pytest.mark.parametrize(
    ("parts", "all_holds", "any_holds"),
    [
        ((T, T), True, True),
        ((T, F), False, True),
        ((F, F), False, False),
        ((T, U), None, True),
        ((F, U), False, None),
        ((U, U), None, None),
    ],
)
def test_rules_three_valued_all_and_any(parts, all_holds, any_holds):
    facts = {
        f"finding.{name}": fact for name, fact in zip(("ptosis", "ataxia"), parts, strict=True)
    }
    leaves = [{"fact": name, "is": True} for name in facts]
    lookup = facts.__getitem__
    assert evaluate(_condition({"all": leaves}), lookup).holds is all_holds
    assert evaluate(_condition({"any": leaves}), lookup).holds is any_holds


def test_rules_because_lists_deciding_facts():
    lookup = {"finding.ptosis": T, "finding.ataxia": F, "finding.gynecomastia": U}.__getitem__
    leaves = [{"fact": n, "is": True} for n in ("finding.ptosis", "finding.ataxia")]
    assert evaluate(_condition({"any": leaves}), lookup).because == ("t",)
    assert evaluate(_condition({"all": leaves}), lookup).because == ("f",)
    none = [{"fact": "finding.ataxia", "is": True}]
    assert evaluate(_condition({"any": none}), lookup).because == ("f",)
    unknown = [{"fact": "finding.gynecomastia", "is": True}, *leaves[:1]]
    assert evaluate(_condition({"all": unknown}), lookup).because == ("u",)


@pytest.mark.parametrize(("fact", "expected"), [(T, False), (F, True), (U, None)])
def test_rules_not_keeps_unknown(fact, expected):
    condition = _condition({"not": {"fact": "finding.ptosis", "is": True}})
    assert evaluate(condition, lambda name: fact).holds is expected


def test_rules_unique_keeps_first_order():
    assert unique(["b", "a", "b", "c", "a"]) == ("b", "a", "c")


# --- the closed-world reading (treatment) and named thresholds -----------------------------


def _closed(lookup, thresholds=None):
    return Evaluator(lookup, CLOSED_WORLD, thresholds)


@pytest.mark.parametrize(("fact", "expected"), [(T, False), (F, True), (U, True)])
def test_rules_closed_world_unknown_fails_so_not_holds(fact, expected):
    condition = _condition({"not": {"fact": "finding.ptosis", "is": True}})
    assert _closed(lambda name: fact)(condition).holds is expected
    leaf = _condition({"fact": "finding.ptosis", "is": True})
    assert _closed(lambda name: U)(leaf).holds is False


def test_rules_closed_world_first_deciding_part_explains():
    lookup = {"finding.ptosis": T, "finding.ataxia": Fact(True, "t2")}
    evaluator = _closed(lookup.__getitem__)
    both_true = [{"fact": n, "is": True} for n in ("finding.ptosis", "finding.ataxia")]
    assert evaluator(_condition({"any": both_true})).because == ("t",)
    both_false = [{"fact": n, "is": False} for n in ("finding.ptosis", "finding.ataxia")]
    assert evaluator(_condition({"all": both_false})).because == ("t",)
    # no part decides: every part says why
    assert evaluator(_condition({"any": both_false})).because == ("t", "t2")
    assert evaluator(_condition({"all": both_true})).because == ("t", "t2")


THRESHOLD = Threshold(
    id="fvc_low",
    value=50,
    unit="% predicted",
    label="FVC low",
    sources=(SourceRef(id="khan2023_chest", where="NIV"),),
    verified=False,
)


@pytest.mark.parametrize(
    ("value", "holds", "because"),
    [
        (45.0, True, "FVC (below 50 % predicted)"),
        (55.0, False, "FVC (not below 50 % predicted)"),
        (None, False, "FVC"),  # closed world: fails, and states no relation
        ("x", False, "FVC"),  # not a number
    ],
)
def test_rules_named_threshold_stated_with_unit_and_source(value, holds, because):
    test = FactTest.model_validate({"fact": "fvc", "below": "fvc_low"})
    lookup = {"fvc": Fact(value, "FVC", ("conv",))}.__getitem__
    verdict = _closed(lookup, {"fvc_low": THRESHOLD}.__getitem__)(test)
    assert (verdict.holds, verdict.because) == (holds, (because,))
    assert (verdict.sources, verdict.verified) == (("conv", "khan2023_chest"), False)


@pytest.mark.parametrize(
    ("test", "value", "expected"),
    [
        ({"present": True}, 1.0, True),
        ({"present": True}, None, False),
        ({"present": False}, (), True),
        ({"includes": ["a", "b"]}, ("c", "b"), True),
        ({"includes": ["a"]}, ("c",), False),
        ({"includes": ["a"]}, "a", False),
        ({"includes": ["a"]}, None, None),
    ],
)
def test_rules_presence_and_list_tests(test, value, expected):
    condition = FactTest.model_validate({"fact": "x", **test})
    assert evaluate(condition, lambda name: Fact(value, "the fact")).holds is expected


# --- the record facts ---------------------------------------------------------------------

EXAMPLE_NAMES = {
    "finding": "finding.ptosis",
    "exam": "exam.cervical.weakness",
    "region": "region.bulbar.involved",
    "regions": "regions.umn_count",
    "emg": "emg.motor_conduction_block",
    "test": "test.vitamin_b12.below_range",
    "gene": "gene.SOD1",
    "patient": "patient.months_since_onset",
    "family_history": "family_history.ftd",
    "risk_factor": "risk_factor.lead_exposure",
    "criteria": "criteria.gold_coast.met",
}


def _facts(kb, record=None, **options):
    timeline = cut_off(record or example("P-0001-limb-onset"), AS_OF)
    return RecordFacts(timeline, kb, regions=regions(timeline, kb), **options)


def test_rules_every_fact_pattern_has_an_example_that_resolves(kb):
    facts = _facts(kb)
    for pattern in FACT_PATTERNS:
        names = [n for n in EXAMPLE_NAMES.values() if re.fullmatch(pattern, n)]
        assert names, pattern
        for name in names:
            assert fact_name_problem(name) is None
            assert isinstance(facts(name), Fact)


@pytest.mark.parametrize(
    "name",
    [
        *(f"test.{i.value}.{what}" for i in InvestigationId for what in ("status", "value")),
        *(f"exam.{r}.{s}" for r in ("bulbar", "any") for s in ("weakness", "slowed_movements")),
        *(f"region.{r}.{w}" for r in ("cervical", "thoracic") for w in ("umn", "lmn")),
        "regions.lmn_count",
        "emg.done",
        "emg.rns_decrement",
        "patient.sex",
        "patient.age_years",
        "patient.onset_site",
        "patient.progressive",
        "patient.diagnosed",
        "family_history.als",
        "finding.fasciculations",
    ],
)
def test_rules_names_resolve_on_an_empty_and_a_full_record(kb, name):
    assert fact_name_problem(name) is None
    for record in (make_record(), example("P-0001-limb-onset")):
        fact = _facts(kb, record)(name)
        assert fact.because


def test_rules_unknown_fact_name_rejected_at_load():
    assert fact_name_problem("finding.not_a_finding")
    assert fact_name_problem("test.vitamin_b12.colour")
    with pytest.raises(ValueError, match="unknown fact"):
        DiagnosisFactTest.model_validate({"fact": "labs.alt", "is": True})


def test_rules_extra_facts_override_and_unknown_heads_raise(kb):
    facts = _facts(kb, extra={"fvc.percent": Fact(45.0, "FVC 45 % predicted")})
    assert facts("fvc.percent").value == 45.0
    with pytest.raises(KnowledgeError):
        facts("nothing.here")


def test_rules_exam_facts(kb):
    record = make_record(exam={"cervical": signs(lmn=True), "bulbar": None})
    facts = _facts(kb, record)
    assert facts("exam.cervical.weakness") == Fact(True, "weakness in the cervical region")
    assert facts("exam.cervical.spasticity").value is False
    assert facts("exam.bulbar.weakness").value is None
    assert facts("exam.any.wasting").value is True
    assert (
        facts("exam.any.spasticity").because == "no spasticity in the examined regions (cervical)"
    )
    assert _facts(kb, make_record())("exam.any.weakness").value is None


def test_rules_region_facts(kb):
    facts = _facts(kb, make_record(exam={"cervical": signs(umn=True), "thoracic": {}}))
    assert facts("region.cervical.umn").because == "cervical: UMN signs present"
    assert facts("region.thoracic.involved").because == "thoracic: no UMN or LMN signs"
    assert facts("region.bulbar.lmn").value is None
    assert facts("regions.umn_count").value == 1.0
    assert facts("regions.lmn_count").value == 0.0
    assert _facts(kb, make_record())("regions.umn_count").value is None


def test_rules_patient_facts(kb):
    record = make_record(
        sex="male",
        birth_date="1960-06-01",
        symptom_onset={"date": "2024-06-01", "site": "bulbar"},
        progressive=False,
        family_history={"als": True, "ftd": False},
        risk_factors=["lead_exposure"],
        genetics=[{"gene": "SOD1", "result": "pathogenic", "variant": "p.Ala5Val"}],
    )
    facts = _facts(kb, record)
    assert facts("patient.sex").value == "male"
    assert round(float(facts("patient.age_years").value or 0)) == 65
    assert facts("patient.onset_site").value == "bulbar"
    assert facts("patient.progressive").because == "motor impairment recorded as not progressive"
    assert round(float(facts("patient.months_since_onset").value or 0)) == 12
    assert facts("patient.diagnosed").value is False
    assert facts("family_history.als").because == "family history of ALS"
    assert facts("family_history.ftd").because == "no family history of FTD"
    assert facts("risk_factor.lead_exposure").value is True
    assert facts("gene.sod1").because == "SOD1 pathogenic (p.Ala5Val)"
    assert facts("gene.FUS").value is None
    assert _facts(kb, make_record(age_years=58))("patient.age_years").value == 58


def test_rules_criteria_fact(kb):
    assert _facts(kb)("criteria.gold_coast.met").value is None
    assert _facts(kb, gold_coast_met=True)("criteria.gold_coast.met").value is True
    assert _facts(kb, gold_coast_met=False)("criteria.gold_coast.met").because == (
        "Gold Coast criteria not met"
    )


def test_rules_test_facts(kb):
    record = make_record(
        tests=[
            {"id": "vitamin_b12", "date": "2025-01-01", "value": 301, "unit": "pmol/L"},
            {
                "id": "calcium_pth",
                "date": "2025-01-01",
                "value": 2.4,
                "unit": "mmol/L",
                "upper_limit": 2.6,
            },
            {"id": "copper", "date": "2025-01-01", "value": 12, "unit": "umol/L"},
            {"id": "hiv_test", "date": "2025-02-01"},
            {"id": "mri_brain_spine", "result": "abnormal", "finding": "syrinx C4-C7"},
        ]
    )
    facts = _facts(kb, record)
    assert round(float(facts("test.vitamin_b12.value").value or 0)) == 408
    assert facts("test.vitamin_b12.below_range").value is None
    assert "no lower reference limit" in facts("test.vitamin_b12.below_range").because
    assert facts("test.calcium_pth.above_range").value is False
    assert "within the laboratory's upper limit" in facts("test.calcium_pth.above_range").because
    assert facts("test.copper.value").value == 12
    assert facts("test.hiv_test.status").because == "HIV test recorded on 2025-02-01"
    assert (
        facts("test.mri_brain_spine.result").because == "MRI brain and spine abnormal, syrinx C4-C7"
    )
    assert facts("test.hiv_test.result").value is None
    assert facts("test.vgcc_antibodies.result").value is None


def test_rules_status_of_investigations_recorded_elsewhere(kb):
    emg_only = make_record(emg={"regions": {}}, genetics=[{"gene": "SOD1", "result": "not_tested"}])
    facts = _facts(kb, emg_only)
    assert facts("test.emg_ncs.status").value == "done"
    assert facts("test.repetitive_nerve_stimulation.status").value == "not_done"
    assert facts("test.genetic_testing.status").value == "not_done"
    assert facts("test.clinical_diagnosis.status").value == "not_done"
