"""The rules as the engine applies them: the reasons a rule that holds gives (every part of an
``all``, every part of an ``any`` that holds, a threshold with its relation and unit, a failing
named condition by its ``label_false``), and the record facts the rules read: every record fact
of the catalogue resolves on an empty and on full records, with the kind of value it promises.

The logic itself (Kleene's tables, compiled against interpreted) is in spec/test_rule_logic.py
and the checks at load in content/test_rules_content.py.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from alscare import KnowledgeBase, PatientRecord, assess
from alscare.engine import patient_facts
from alscare.knowledge.facts import CATALOGUE, DOMAINS, FactSpec, Stage
from alscare.schemas.assessment import Assessment
from tests.builders import make_record, make_record_v2, rating, signs
from tests.conftest import example

AS_OF = dt.date(2025, 6, 1)
LMN = signs(lmn=True)
PURE_LMN_ARM = {"bulbar": {}, "cervical": LMN, "thoracic": {}, "lumbosacral": {}}
ALS = {"symptom_onset": {"date": "2023-12-01"}, "diagnosis_date": "2024-06-01"}


def _assess(kb: KnowledgeBase, record: PatientRecord) -> Assessment:
    return assess(record, as_of=AS_OF, kb=kb)


def _differential(kb: KnowledgeBase, record: PatientRecord, differential_id: str) -> Any:
    return next(d for d in _assess(kb, record).differentials if d.id == differential_id)


def _finding(finding_id: str, date: str) -> dict[str, Any]:
    return {"id": finding_id, "present": True, "date": date}


# --- the reasons of a rule that holds ---------------------------------------------------------


def test_rules_any_names_every_part_that_holds(kb):
    # Redesign: an `any` that holds lists every part that holds, not only the first.
    record = make_record(
        findings=[
            _finding("ptosis", "2025-01-01"),
            _finding("diplopia_ophthalmoplegia", "2025-01-02"),
        ]
    )
    assert _differential(kb, record, "myasthenia_gravis").because == (
        "Ptosis recorded present on 2025-01-01",
        "Diplopia or ophthalmoplegia recorded present on 2025-01-02",
    )


def test_rules_any_names_no_part_that_fails(kb):
    record = make_record(
        findings=[
            _finding("ptosis", "2025-01-01"),
            {"id": "diplopia_ophthalmoplegia", "present": False, "date": "2025-01-02"},
        ]
    )
    assert _differential(kb, record, "myasthenia_gravis").because == (
        "Ptosis recorded present on 2025-01-01",
    )


def test_rules_all_names_every_part_and_not_says_why_its_part_fails(kb):
    # MMN suspected on anti-GM1: positive, and not (UMN signs in at least one region).
    record = make_record(
        exam=PURE_LMN_ARM,
        tests=[{"id": "anti_gm1_antibodies", "date": "2025-01-10", "result": "positive"}],
    )
    assert _differential(kb, record, "multifocal_motor_neuropathy").because == (
        "Anti-GM1 antibodies positive on 2025-01-10",
        # the limit is stated as the bound that holds
        "no UMN signs in the regions assessed (bulbar, cervical, thoracic, lumbosacral) "
        "(below 1 region)",
    )


def test_rules_any_of_a_named_condition_names_every_part_that_holds(kb):
    # person_with_als: diagnosed, or Gold Coast met, or El Escorial possible or better.
    record = make_record(
        **ALS,
        jurisdiction="EU",
        progressive=True,
        exam={"bulbar": signs(umn=True, lmn=True)},
    )
    riluzole = next(r for r in _assess(kb, record).recommendations if r.id == "riluzole")
    assert "ALS diagnosed on 2024-06-01" in riluzole.because
    assert "revised El Escorial category possible" in riluzole.because


def test_rules_threshold_reason_states_relation_unit_and_source(kb):
    record = make_record(**ALS, respiratory=[{"date": "2025-05-01", "fvc_percent_predicted": 45}])
    niv = next(r for r in _assess(kb, record).recommendations if r.id == "niv")
    assert "FVC 45 % predicted on 2025-05-01 (below 50 % predicted)" in niv.because
    assert "khan2023_chest" in niv.sources


def test_rules_failing_named_conditions_say_their_label_false(kb):
    record = make_record(**ALS, respiratory=[{"date": "2025-05-01", "fvc_percent_predicted": 45}])
    niv = next(a for a in _assess(kb, record).alerts if a.id == "niv_indicated")
    assert niv.because[1:] == ("not yet on NIV", "no invasive ventilation", "NIV not declined")


def test_rules_an_unverified_part_that_holds_makes_the_conclusion_unverified(kb):
    # Both NIV criteria hold and both are reasons; the hypercapnia cut-off is unverified.
    breathing = {"date": "2025-05-01", "fvc_percent_predicted": 45, "paco2_mmhg": 50}
    record = make_record(**ALS, respiratory=[breathing])
    niv = next(r for r in _assess(kb, record).recommendations if r.id == "niv")
    assert "PaCO2 50 mmHg on 2025-05-01 (at least 45 mmHg)" in niv.because
    assert niv.verified is False


# --- every record fact resolves, with the kind of value it promises ------------------------------

# A few genes for the free-text gene placeholders.
GENES = ("C9orf72", "SOD1", "fus", "SMN1")


def _placeholder_values(kb: KnowledgeBase, domain: str) -> tuple[str, ...]:
    values = DOMAINS[domain]
    if isinstance(values, tuple):
        return values
    if values == "kb:drugs":
        return tuple(drug.id for drug in kb.treatment.drugs)
    if values == "kb:steps":
        return tuple(step.id for _, step in kb.treatment.steps())
    return (*GENES, "any") if domain == "gene_or_any" else GENES


def _names(kb: KnowledgeBase, spec: FactSpec) -> Iterator[str]:
    parts = [
        _placeholder_values(kb, part.strip("{}")) if part.startswith("{") else (part,)
        for part in spec.parts
    ]
    for chosen in itertools.product(*parts):
        yield ".".join(chosen)


def _full_v2() -> PatientRecord:
    """A v2 record with an entry in every series."""
    return make_record_v2(
        sex="male",
        age_years=60,
        age_on="2025-01-01",
        height_cm=175,
        jurisdiction="US",
        symptom_onset={"date": "2023-10-01", "site": "bulbar"},
        diagnosis_date="2024-04-01",
        progressive=True,
        findings=[_finding("dysphagia", "2024-03-01"), _finding("sensory_loss", "2024-09-01")],
        examinations=[
            {"date": "2024-03-01", "regions": {"bulbar": {"wasting": True, "weakness": True}}},
            {"date": "2024-09-01", "regions": {"cervical": {"hyperreflexia": True}}},
        ],
        emg_studies=[{"date": "2024-03-10", "regions": {}, "rns_decrement": False}],
        tests=[{"id": "vitamin_b12", "date": "2024-03-10", "value": 300, "unit": "pg/mL"}],
        genetics=[{"gene": "C9orf72", "result": "pathogenic", "date": "2024-05-01"}],
        family_history={"als": False},
        risk_factors=["cigarette_smoking"],
        alsfrs_r=[rating("2024-12-01", gastrostomy=True, speech=1, walking=None)],
        respiratory=[
            {"date": "2024-12-01", "fvc_percent_predicted": 55, "paco2_kpa": 6.1,
             "nocturnal_spo2_88_or_below_minutes": 12, "symptoms": ["orthopnea"]},
        ],
        weights=[{"date": "2024-12-01", "kg": 61}],
        premorbid_weight_kg=70,
        cognition=[{"date": "2024-06-01", "ecas_total": 101, "behaviour_change": True}],
        medications=[
            {"name": "riluzole", "since": "2024-04-10", "until": "2024-08-01",
             "stop_reason": "adverse_effect"},
            {"name": "Radicava", "since": "2024-09-01"},
        ],
        interventions=[
            {"kind": "gastrostomy", "event": "started", "date": "2024-11-01"},
            {"kind": "niv", "event": "offered", "date": "2024-12-01"},
            {"kind": "niv", "event": "declined", "date": "2024-12-01"},
        ],
        labs=[{"id": "alt", "date": "2024-12-01", "value": 50, "unit": "U/L", "upper_limit": 40}],
        care=[{"kind": "multidisciplinary_clinic", "date": "2024-04-01"}],
    )  # fmt: skip


RECORDS = {
    "empty": lambda: make_record(),
    "P-0001 v1": lambda: example("P-0001-limb-onset"),
    "P-0004 v1": lambda: example("P-0004-sod1-late"),
    "full v2": _full_v2,
}
KINDS: dict[str, tuple[type, ...]] = {
    "yes_no": (bool,),
    "number": (int, float),
    "text": (str,),
    "list": (tuple,),
}
RECORD_SPECS = [spec for spec in CATALOGUE if spec.stage == Stage.RECORD]


@pytest.mark.parametrize("record", list(RECORDS), ids=list(RECORDS))
@pytest.mark.parametrize("spec", RECORD_SPECS, ids=[spec.pattern for spec in RECORD_SPECS])
def test_rules_every_record_fact_resolves_with_its_kind(kb, spec, record):
    facts = patient_facts(RECORDS[record](), as_of=AS_OF, kb=kb)
    for name in _names(kb, spec):
        fact = facts(name)
        assert fact.because.strip(), name
        if fact.value is None:
            assert spec.unknown, f"{name} is never unknown"
            continue
        assert isinstance(fact.value, KINDS[spec.kind]), name
        assert not (spec.kind == "number" and isinstance(fact.value, bool)), name
        texts = fact.value if isinstance(fact.value, tuple) else (fact.value,)
        if spec.kind in ("text", "list") and spec.values is not None:
            assert set(texts) <= set(spec.values), name


# --- the record facts, one by one ----------------------------------------------------------------


def _facts(kb: KnowledgeBase, record: PatientRecord) -> Any:
    return patient_facts(record, as_of=AS_OF, kb=kb)


def test_rules_exam_facts(kb):
    record = make_record(exam={"cervical": LMN, "bulbar": None}, diagnosis_date="2025-01-10")
    facts = _facts(kb, record)
    weakness = facts("exam.cervical.weakness")
    assert (weakness.value, weakness.because) == (
        True,
        # the v1 examination is undated: it takes the record's latest date, and says so
        "weakness on examination of the cervical region on 2025-01-10 (date inferred)",
    )
    assert facts("exam.cervical.spasticity").value is False  # not recorded: not found
    assert facts("exam.bulbar.weakness").value is None
    assert facts("exam.any.wasting").value is True
    assert (
        facts("exam.any.spasticity").because == "no spasticity in the examined regions (cervical)"
    )
    assert _facts(kb, make_record())("exam.any.weakness").value is None


def test_rules_exam_facts_read_each_region_s_latest_examination(kb):
    record = make_record_v2(
        examinations=[
            {"date": "2024-01-10", "regions": {"cervical": {"wasting": True}, "bulbar": {}}},
            {"date": "2024-07-10", "regions": {"cervical": {}}},
        ]
    )
    facts = _facts(kb, record)
    assert facts("exam.cervical.wasting").value is False
    assert facts("exam.bulbar.wasting").because == (
        "no wasting on examination of the bulbar region on 2024-01-10"
    )


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
    assert facts("variant.SOD1").because == "SOD1 pathogenic variant p.Ala5Val"
    aged = make_record(age_years=58, diagnosis_date="2025-06-01")
    assert _facts(kb, aged)("patient.age_years").value == 58


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
    emg_only = make_record(
        emg={"date": "2025-01-10", "regions": {}},
        genetics=[{"gene": "SOD1", "result": "not_tested"}],
    )
    facts = _facts(kb, emg_only)
    assert facts("test.emg_ncs.status").value == "done"
    assert facts("test.repetitive_nerve_stimulation.status").value == "not_done"
    assert facts("test.genetic_testing.status").value == "not_done"
    assert facts("test.clinical_diagnosis.status").value == "not_done"


def test_rules_pending_result_is_pending_not_done(kb):
    record = make_record(tests=[{"id": "hiv_test", "date": "2025-02-01", "result": "pending"}])
    assert _facts(kb, record)("test.hiv_test.status").value == "pending"


def test_rules_finding_in_region_follows_a_later_absence_without_region(kb):
    record = make_record_v2(
        findings=[
            {
                "id": "muscle_atrophy",
                "present": True,
                "region": "lumbosacral",
                "date": "2024-06-01",
            },
            {"id": "muscle_atrophy", "present": False, "date": "2024-09-01"},
        ]
    )
    assert _facts(kb, record)("finding.muscle_atrophy.lumbosacral").value is False


def test_rules_finding_same_day_regional_entry_is_kept_beside_one_without_region(kb):
    # On one day the entry without a region is taken first, whatever the list order: the
    # regional entry of that day still stands for its region.
    entries = [
        {"id": "muscle_atrophy", "present": True, "region": "lumbosacral", "date": "2024-06-01"},
        {"id": "muscle_atrophy", "present": False, "date": "2024-06-01"},
    ]
    for findings in (entries, entries[::-1]):
        facts = _facts(kb, make_record_v2(findings=findings))
        assert facts("finding.muscle_atrophy.lumbosacral").value is True
        assert facts("finding.muscle_atrophy.cervical").value is False
        assert facts("finding.muscle_atrophy").value is True
