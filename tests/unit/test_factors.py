"""Diagnostic and risk factor status: present, absent or not recorded, never guessed.

The rules come from the record contract (docs: patient-record spec): ``findings`` entries say
present true/false, the examination's signs count where the topic names the same sign (a sign
not recorded in an examined region was not found), ``risk_factors`` lists present risk factors,
family history and causal variants (the knowledge base's one definition: pathogenic or likely
pathogenic) give genetic predisposition, and age over 40 is read at onset. A diagnostic factor
is the fact ``finding.<id>``, the one answer every rule reads too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from alscare import PatientRecord, assess
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Assessment, DiagnosticFactorStatus, RiskFactorStatus
from alscare.schemas.vocabulary import Region
from tests.builders import make_record, make_record_v2
from tests.conftest import example

AS_OF = dt.date(2025, 3, 1)


def _assess(kb: KnowledgeBase, record: PatientRecord, as_of: dt.date = AS_OF) -> Assessment:
    return assess(record, as_of=as_of, kb=kb)


def _diagnostic(kb: KnowledgeBase, as_of: dt.date = AS_OF, **record: Any) -> dict[str, Any]:
    statuses = _assess(kb, make_record(**record), as_of).diagnostic_factors
    return {status.id: status for status in statuses}


def _risk(kb: KnowledgeBase, as_of: dt.date = AS_OF, **record: Any) -> dict[str, Any]:
    statuses = _assess(kb, make_record(**record), as_of).risk_factors
    return {status.id: status for status in statuses}


def _finding(finding_id: str, present: bool, **extra: Any) -> dict[str, Any]:
    return {"id": finding_id, "present": present, **extra}


# --- diagnostic factors ------------------------------------------------------------------------


def test_diagnostic_factors_empty_record_every_factor_not_recorded_in_topic_order(kb):
    statuses = _assess(kb, make_record()).diagnostic_factors
    expected = [(item.id, item.kind) for item in kb.topic.findings_of_kind("key", "other")]
    assert [(status.id, status.kind) for status in statuses] == expected
    assert len(statuses) == 22
    assert all(status.present is None and status.because == () for status in statuses)


def test_diagnostic_factors_signs_and_red_flags_not_listed(kb):
    statuses = _diagnostic(kb, findings=[_finding("sensory_loss", True)])
    assert "sensory_loss" not in statuses
    assert "fasciculations" not in statuses


# Findings and examinations are dated here: an undated v1 entry in a record without any date is
# dated 0001-01-01 by the upgrade, and its sentence would say so.
SEEN = "2024-06-01"


def test_diagnostic_factors_finding_present_true(kb):
    status = _diagnostic(kb, findings=[_finding("falls", True, date=SEEN)])["falls"]
    assert status == DiagnosticFactorStatus(
        id="falls",
        kind="other",
        present=True,
        because=("Propensity for falls recorded present on 2024-06-01",),
    )


def test_diagnostic_factors_finding_present_false_is_absent(kb):
    status = _diagnostic(kb, findings=[_finding("dyspnea", False, date=SEEN)])["dyspnea"]
    assert status.present is False
    assert status.because == ("Dyspnoea recorded absent on 2024-06-01",)


def test_diagnostic_factors_because_names_region_and_date(kb):
    findings = [_finding("foot_drop", True, region="lumbosacral", date="2024-06-01")]
    status = _diagnostic(kb, findings=findings)["foot_drop"]
    assert status.because == ("Foot drop (lumbosacral region) recorded present on 2024-06-01",)


def test_diagnostic_factors_later_entry_same_region_replaces_earlier(kb):
    findings = [
        _finding("upper_extremity_weakness", True, region="cervical", date="2024-01-10"),
        _finding("upper_extremity_weakness", False, region="cervical", date="2024-06-10"),
    ]
    status = _diagnostic(kb, findings=findings)["upper_extremity_weakness"]
    assert status.present is False


def test_diagnostic_factors_record_order_does_not_matter(kb):
    findings = [
        _finding("upper_extremity_weakness", False, region="cervical", date="2024-06-10"),
        _finding("upper_extremity_weakness", True, region="cervical", date="2024-01-10"),
    ]
    assert _diagnostic(kb, findings=findings)["upper_extremity_weakness"].present is False


def test_diagnostic_factors_entry_without_region_replaces_every_earlier_one(kb):
    findings = [
        _finding("stiffness_poor_coordination", True, region="cervical", date="2024-01-10"),
        _finding("stiffness_poor_coordination", False, date="2024-06-10"),
    ]
    assert _diagnostic(kb, findings=findings)["stiffness_poor_coordination"].present is False


def test_diagnostic_factors_present_in_one_region_absent_in_another_is_present(kb):
    findings = [
        _finding("painful_muscle_spasms", True, region="lumbosacral", date=SEEN),
        _finding("painful_muscle_spasms", False, region="cervical", date=SEEN),
    ]
    status = _diagnostic(kb, findings=findings)["painful_muscle_spasms"]
    assert status.present is True
    assert status.because == (
        "Painful muscle spasms (cramps) (lumbosacral region) recorded present on 2024-06-01",
    )


def test_diagnostic_factors_absent_in_one_region_is_absent(kb):
    # Redesign (was: not recorded, since hyperreflexia belongs to no single region): "is the
    # finding present?" has one answer for factors, ENCALS and the rules, which is absent when
    # every current statement says absent.
    findings = [_finding("hyperreflexia", False, region="cervical", date=SEEN)]
    status = _diagnostic(kb, findings=findings)["hyperreflexia"]
    assert status.present is False
    assert status.because == ("Hyperreflexia (cervical region) recorded absent on 2024-06-01",)


def test_diagnostic_factors_absent_in_factor_own_region_is_absent(kb):
    findings = [_finding("foot_drop", False, region="lumbosacral")]
    assert _diagnostic(kb, findings=findings)["foot_drop"].present is False


def test_diagnostic_factors_absent_in_region_other_than_factor_region_is_not_recorded(kb):
    # Foot drop is a lumbosacral finding: looked for in the cervical region, it was not looked
    # for at all, so nothing is concluded (CONTRIBUTING: absent only when looked for).
    findings = [_finding("foot_drop", False, region="cervical")]
    assert _diagnostic(kb, findings=findings)["foot_drop"].present is None
    findings = [_finding("foot_drop", False, region="lumbosacral")]
    assert _diagnostic(kb, findings=findings)["foot_drop"].present is False


def test_diagnostic_factors_entry_after_as_of_ignored(kb):
    findings = [_finding("falls", True, date="2025-06-01")]
    assert _diagnostic(kb, findings=findings)["falls"].present is None


def test_diagnostic_factors_exam_sign_found_in_any_region(kb):
    exam = {"lumbosacral": {"hyperreflexia": True}}
    status = _diagnostic(kb, exam=exam, diagnosis_date=SEEN)["hyperreflexia"]
    assert status.present is True
    assert status.because == (
        "hyperreflexia on examination of the lumbosacral region on 2024-06-01 (date inferred)",
    )


def test_diagnostic_factors_exam_wasting_is_muscle_atrophy(kb):
    exam = {"bulbar": {"wasting": True}, "cervical": {"wasting": True}}
    status = _diagnostic(kb, exam=exam)["muscle_atrophy"]
    assert status.present is True
    assert len(status.because) == 2


def test_diagnostic_factors_exam_sign_absent_everywhere_is_absent(kb):
    exam = {region.value: {"hyperreflexia": False} for region in Region}
    status = _diagnostic(kb, exam=exam, diagnosis_date=SEEN)["hyperreflexia"]
    assert status.present is False
    assert status.because == tuple(
        f"no hyperreflexia on examination of the {region} region on 2024-06-01 (date inferred)"
        for region in ("bulbar", "cervical", "thoracic", "lumbosacral")
    )


@pytest.mark.parametrize(
    "exam",
    [
        {"cervical": {"hyperreflexia": False}},
        {"bulbar": {}, "cervical": {}, "thoracic": {}, "lumbosacral": {}},
        {"bulbar": None, "cervical": {"hyperreflexia": False}},
        {"cervical": {"weakness": True}},
    ],
    ids=["one-region-absent", "examined-nothing-said", "one-examined-one-not", "sign-left-out"],
)
def test_diagnostic_factors_exam_sign_not_found_in_the_examined_regions_is_absent(kb, exam):
    # Redesign (was: not recorded unless said absent in all four regions): a sign not recorded
    # in an examined region was not found, and a finding is absent when every current statement
    # says absent.
    assert _diagnostic(kb, exam=exam)["hyperreflexia"].present is False


@pytest.mark.parametrize("exam", [{"bulbar": None}, {}], ids=["not-examined", "no-exam"])
def test_diagnostic_factors_exam_sign_unknown_without_an_examined_region(kb, exam):
    assert _diagnostic(kb, exam=exam)["hyperreflexia"].present is None


def test_diagnostic_factors_exam_finding_outweighs_recorded_absence(kb):
    status = _diagnostic(
        kb,
        findings=[_finding("hyperreflexia", False, date=SEEN)],
        exam={"cervical": {"hyperreflexia": True}},
    )["hyperreflexia"]
    assert status.present is True
    assert status.because == (
        "hyperreflexia on examination of the cervical region on 2024-06-01 (date inferred)",
    )


def test_diagnostic_factors_recorded_and_examined_both_cited(kb):
    status = _diagnostic(
        kb,
        findings=[_finding("hyperreflexia", True, region="lumbosacral", date=SEEN)],
        exam={"cervical": {"hyperreflexia": True}},
    )["hyperreflexia"]
    assert status.because == (
        "Hyperreflexia (lumbosacral region) recorded present on 2024-06-01",
        "hyperreflexia on examination of the cervical region on 2024-06-01 (date inferred)",
    )


def test_diagnostic_factors_exam_sign_without_topic_equivalent_not_used(kb):
    # Cervical weakness is not "upper extremity weakness": the cervical region includes the neck.
    exam = {"cervical": {"weakness": True}}
    assert _diagnostic(kb, exam=exam)["upper_extremity_weakness"].present is None


def test_diagnostic_factors_ftd_features_read_the_cognitive_screen(kb):
    # Redesign: ftd_features also reads the cognitive screens' ftd field, as ENCALS does.
    screen = {"date": SEEN, "ftd": True}
    assert _diagnostic(kb, cognition=screen)["ftd_features"].present is True
    assert _diagnostic(kb, cognition={**screen, "ftd": False})["ftd_features"].present is False


def test_diagnostic_factors_limb_onset_example(kb):
    statuses = _assess(kb, example("P-0001-limb-onset")).diagnostic_factors
    present = {status.id for status in statuses if status.present}
    assert present == {
        "upper_extremity_weakness",
        "painful_muscle_spasms",
        "muscle_atrophy",
        "hyperreflexia",
    }


# --- risk factors ------------------------------------------------------------------------------


def test_risk_factors_empty_record_every_factor_not_recorded_in_topic_order(kb):
    statuses = _assess(kb, make_record()).risk_factors
    assert [status.id for status in statuses] == [item.id for item in kb.topic.risk_factors]
    assert all(status.present is None for status in statuses)


def test_risk_factors_listed_factor_present(kb):
    status = _risk(kb, risk_factors=["military_service"])["military_service"]
    assert status == RiskFactorStatus(
        id="military_service",
        present=True,
        because=("Military service listed among the patient's risk factors",),
    )


def test_risk_factors_unlisted_factor_not_recorded_never_absent(kb):
    statuses = _risk(kb, risk_factors=["military_service"])
    assert statuses["lead_exposure"].present is None


@pytest.mark.parametrize(
    ("record", "because"),
    [
        ({"family_history": {"als": True}}, ("family history of ALS",)),
        ({"family_history": {"ftd": True, "als": False}}, ("family history of FTD",)),
        (
            {"genetics": [{"gene": "SOD1", "result": "pathogenic", "variant": "p.Ala5Val"}]},
            ("SOD1 pathogenic variant p.Ala5Val",),
        ),
        (
            {"genetics": [{"gene": "FUS", "result": "likely_pathogenic"}]},
            ("FUS likely pathogenic variant",),
        ),
        (
            {"tests": [{"id": "genetic_testing", "date": "2024-05-01", "result": "positive"}]},
            ("Genetic testing positive on 2024-05-01",),
        ),
        (
            {"risk_factors": ["genetic_predisposition_family_history"]},
            ("Genetic predisposition or family history listed among the patient's risk factors",),
        ),
    ],
    ids=["family-als", "family-ftd", "pathogenic", "likely-pathogenic", "test-positive", "listed"],
)
def test_risk_factors_genetic_predisposition_present(kb, record, because):
    status = _risk(kb, **record)["genetic_predisposition_family_history"]
    assert status.present is True
    (reason,) = status.because
    assert all(part in reason for part in because), reason


def test_risk_factors_genetic_predisposition_absent_needs_history_and_tests_negative(kb):
    status = _risk(
        kb,
        family_history={"als": False, "ftd": False},
        genetics=[
            {"gene": "C9orf72", "result": "negative"},
            {"gene": "SOD1", "result": "negative"},
        ],
    )["genetic_predisposition_family_history"]
    assert status.present is False
    assert status.because == (
        "no family history of ALS or FTD",
        "no causal variant in any gene (C9orf72 negative, SOD1 negative)",
    )


def test_risk_factors_genetic_predisposition_not_recorded_with_a_vus_only(kb):
    # A variant of uncertain significance neither shows nor rules out a cause
    # (rules/definitions.yaml, causal_variant.uncertain): nothing is concluded.
    status = _risk(
        kb,
        family_history={"als": False, "ftd": False},
        genetics=[{"gene": "SOD1", "result": "vus"}],
    )["genetic_predisposition_family_history"]
    assert status.present is None


def test_risk_factors_genetic_predisposition_absent_with_negative_test_entry(kb):
    status = _risk(
        kb,
        family_history={"als": False, "ftd": False},
        tests=[{"id": "genetic_testing", "result": "negative"}],
    )["genetic_predisposition_family_history"]
    assert status.present is False
    history, testing = status.because
    assert history == "no family history of ALS or FTD"
    assert testing.startswith("Genetic testing negative")


@pytest.mark.parametrize(
    "record",
    [
        {"family_history": {"als": False, "ftd": False}},
        {"family_history": {"als": False}, "genetics": [{"gene": "SOD1", "result": "negative"}]},
        {"genetics": [{"gene": "SOD1", "result": "negative"}]},
        {
            "family_history": {"als": False, "ftd": False},
            "genetics": [{"gene": "SOD1", "result": "not_tested"}],
        },
        {
            "family_history": {"als": False, "ftd": False},
            "tests": [{"id": "genetic_testing", "result": "pending"}],
        },
    ],
    ids=[
        "history-negative-untested",
        "ftd-history-unknown",
        "no-history",
        "not-tested",
        "test-pending",
    ],
)
def test_risk_factors_genetic_predisposition_not_recorded(kb, record):
    status = _risk(kb, **record)["genetic_predisposition_family_history"]
    assert status.present is None
    assert status.because == ()


@pytest.mark.parametrize(
    ("birth", "onset", "present"),
    [
        ("1960-05-10", "2024-01-01", True),
        ("1990-05-10", "2024-01-01", False),
        ("1984-01-01", "2024-01-01", False),  # 40th birthday: age 40, not over 40
        ("1983-12-31", "2024-01-01", True),  # the day after the 40th birthday
        ("1984-02-29", "2024-02-29", False),  # leap-day birthday, 40th birthday itself
        ("1983-02-28", "2023-03-01", True),
    ],
    ids=["older", "younger", "on-40th-birthday", "day-after", "leap-day", "non-leap"],
)
def test_risk_factors_age_over_40_from_age_at_onset(kb, birth, onset, present):
    record = {"birth_date": birth, "symptom_onset": {"date": onset}}
    status = _risk(kb, **record)["age_over_40"]
    assert status.present is present
    assert status.because[0].startswith("age at onset ")


def test_risk_factors_age_over_40_leap_day_birthday_counts_from_1_march(kb):
    # 40 years after a 29 February is a 29 February unless the century skips it (2100).
    as_of = dt.date(2100, 6, 1)
    record = {"birth_date": "2060-02-29", "symptom_onset": {"date": "2100-03-01"}}
    assert _risk(kb, as_of=as_of, **record)["age_over_40"].present is False
    record = {"birth_date": "2060-02-29", "symptom_onset": {"date": "2100-03-02"}}
    assert _risk(kb, as_of=as_of, **record)["age_over_40"].present is True


def test_risk_factors_age_over_40_because_names_dates(kb):
    record: dict[str, Any] = {"birth_date": "1961-09-14", "symptom_onset": {"date": "2023-11-01"}}
    status = _risk(kb, **record)["age_over_40"]
    assert status.because == ("age at onset 62.1 years (onset 2023-11-01)",)


@pytest.mark.parametrize(("age", "present"), [(41, True), (40.5, True), (40, False), (25, False)])
def test_risk_factors_age_over_40_from_recorded_age(kb, age, present):
    # The v1 age is dated on the record's latest date, here the onset: it is the age at onset.
    status = _risk(kb, age_years=age, symptom_onset={"date": "2024-01-01"})["age_over_40"]
    assert status.present is present
    assert status.because == (f"age at onset {age:.1f} years (onset 2024-01-01)",)


def test_risk_factors_age_over_40_from_birth_date_on_as_of_without_onset(kb):
    status = _risk(kb, as_of=dt.date(2025, 3, 1), birth_date="1984-06-01")["age_over_40"]
    assert status.present is True
    assert status.because == ("age 40.7 years on 2025-03-01 (onset not dated)",)
    assert _risk(kb, birth_date="1990-06-01")["age_over_40"].present is False


def test_risk_factors_age_over_40_onset_after_as_of_uses_age_on_as_of(kb):
    record: dict[str, Any] = {"birth_date": "1950-01-01", "symptom_onset": {"date": "2025-06-01"}}
    status = _risk(kb, as_of=dt.date(2025, 3, 1), **record)["age_over_40"]
    assert status.because[0].startswith("age 75.2 years on 2025-03-01")


def test_risk_factors_age_over_40_no_age_not_recorded(kb):
    status = _risk(kb, symptom_onset={"date": "2024-01-01"})["age_over_40"]
    assert status.present is None


def test_risk_factors_sod1_example(kb):
    statuses = _assess(kb, example("P-0004-sod1-late")).risk_factors
    present = {status.id: status.present for status in statuses}
    assert present["genetic_predisposition_family_history"] is True
    assert present["age_over_40"] is True
    assert present["military_service"] is None


def test_risk_factors_age_over_40_from_an_age_on_another_date(kb):
    # Record v2 dates the age: 41 on 2025-03-01 is 39.8 at an onset on 2024-01-01.
    record = make_record_v2(age_years=41, age_on="2025-03-01", symptom_onset={"date": "2024-01-01"})
    status = {s.id: s for s in _assess(kb, record).risk_factors}["age_over_40"]
    assert status.present is False
    assert status.because == ("age at onset 39.8 years (onset 2024-01-01)",)
