"""Diagnostic and risk factor status: present, absent or not recorded, never guessed.

The rules come from the record contract (docs: patient-record spec): ``record.findings`` entries
say present true/false, ``record.exam`` signs count where the topic names the same sign,
``record.risk_factors`` lists present risk factors, family history and (likely) pathogenic
variants give genetic predisposition, and age over 40 is read at onset.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from alscare.engine.factors import diagnostic_factors, risk_factors
from alscare.engine.timeline import cut_off
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import DiagnosticFactorStatus, RiskFactorStatus
from alscare.schemas.vocabulary import Region
from tests.builders import make_record
from tests.conftest import example

AS_OF = dt.date(2025, 3, 1)


def _diagnostic(kb: KnowledgeBase, as_of: dt.date = AS_OF, **record: Any) -> dict[str, Any]:
    statuses = diagnostic_factors(cut_off(make_record(**record), as_of), kb)
    return {status.id: status for status in statuses}


def _risk(kb: KnowledgeBase, as_of: dt.date = AS_OF, **record: Any) -> dict[str, Any]:
    statuses = risk_factors(cut_off(make_record(**record), as_of), kb)
    return {status.id: status for status in statuses}


def _finding(finding_id: str, present: bool, **extra: Any) -> dict[str, Any]:
    return {"id": finding_id, "present": present, **extra}


# --- diagnostic factors ------------------------------------------------------------------------


def test_diagnostic_factors_empty_record_every_factor_not_recorded_in_topic_order(kb):
    statuses = diagnostic_factors(cut_off(make_record(), AS_OF), kb)
    expected = [(item.id, item.kind) for item in kb.topic.findings_of_kind("key", "other")]
    assert [(status.id, status.kind) for status in statuses] == expected
    assert len(statuses) == 22
    assert all(status.present is None and status.because == () for status in statuses)


def test_diagnostic_factors_signs_and_red_flags_not_listed(kb):
    statuses = _diagnostic(kb, findings=[_finding("sensory_loss", True)])
    assert "sensory_loss" not in statuses
    assert "fasciculations" not in statuses


def test_diagnostic_factors_finding_present_true(kb):
    status = _diagnostic(kb, findings=[_finding("falls", True)])["falls"]
    assert status == DiagnosticFactorStatus(
        id="falls", kind="other", present=True, because=("Propensity for falls recorded present",)
    )


def test_diagnostic_factors_finding_present_false_is_absent(kb):
    status = _diagnostic(kb, findings=[_finding("dyspnea", False)])["dyspnea"]
    assert status.present is False
    assert status.because == ("Dyspnoea recorded absent",)


def test_diagnostic_factors_because_names_region_and_date(kb):
    findings = [_finding("foot_drop", True, region="lumbosacral", date="2024-06-01")]
    status = _diagnostic(kb, findings=findings)["foot_drop"]
    assert status.because == ("Foot drop recorded present (lumbosacral region) on 2024-06-01",)


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
        _finding("painful_muscle_spasms", True, region="lumbosacral"),
        _finding("painful_muscle_spasms", False, region="cervical"),
    ]
    status = _diagnostic(kb, findings=findings)["painful_muscle_spasms"]
    assert status.present is True
    assert status.because == (
        "Painful muscle spasms (cramps) recorded present (lumbosacral region)",
    )


def test_diagnostic_factors_absent_in_other_region_says_nothing_about_factor(kb):
    # Hyperreflexia belongs to no single region: its absence in the arms leaves it unknown.
    findings = [_finding("hyperreflexia", False, region="cervical")]
    assert _diagnostic(kb, findings=findings)["hyperreflexia"].present is None


def test_diagnostic_factors_absent_in_factor_own_region_is_absent(kb):
    findings = [_finding("foot_drop", False, region="lumbosacral")]
    assert _diagnostic(kb, findings=findings)["foot_drop"].present is False


def test_diagnostic_factors_absent_in_region_other_than_factor_region_unknown(kb):
    findings = [_finding("foot_drop", False, region="cervical")]
    assert _diagnostic(kb, findings=findings)["foot_drop"].present is None


def test_diagnostic_factors_entry_after_as_of_ignored(kb):
    findings = [_finding("falls", True, date="2025-06-01")]
    assert _diagnostic(kb, findings=findings)["falls"].present is None


def test_diagnostic_factors_exam_sign_found_in_any_region(kb):
    exam = {"lumbosacral": {"hyperreflexia": True}}
    status = _diagnostic(kb, exam=exam)["hyperreflexia"]
    assert status.present is True
    assert status.because == ("hyperreflexia on examination of the lumbosacral region",)


def test_diagnostic_factors_exam_wasting_is_muscle_atrophy(kb):
    exam = {"bulbar": {"wasting": True}, "cervical": {"wasting": True}}
    status = _diagnostic(kb, exam=exam)["muscle_atrophy"]
    assert status.present is True
    assert len(status.because) == 2


def test_diagnostic_factors_exam_sign_absent_everywhere_is_absent(kb):
    exam = {region.value: {"hyperreflexia": False} for region in Region}
    status = _diagnostic(kb, exam=exam)["hyperreflexia"]
    assert status.present is False
    assert status.because == (
        "no hyperreflexia on examination (bulbar, cervical, thoracic, lumbosacral)",
    )


@pytest.mark.parametrize(
    "exam",
    [
        {"cervical": {"hyperreflexia": False}},
        {"bulbar": {}, "cervical": {}, "thoracic": {}, "lumbosacral": {}},
        {"bulbar": None, "cervical": {"hyperreflexia": False}},
        {},
    ],
    ids=["one-region-absent", "examined-nothing-said", "not-examined", "no-exam"],
)
def test_diagnostic_factors_exam_sign_not_said_everywhere_unknown(kb, exam):
    assert _diagnostic(kb, exam=exam)["hyperreflexia"].present is None


def test_diagnostic_factors_exam_finding_outweighs_recorded_absence(kb):
    status = _diagnostic(
        kb,
        findings=[_finding("hyperreflexia", False)],
        exam={"cervical": {"hyperreflexia": True}},
    )["hyperreflexia"]
    assert status.present is True
    assert status.because == ("hyperreflexia on examination of the cervical region",)


def test_diagnostic_factors_recorded_and_examined_both_cited(kb):
    status = _diagnostic(
        kb,
        findings=[_finding("hyperreflexia", True, region="lumbosacral")],
        exam={"cervical": {"hyperreflexia": True}},
    )["hyperreflexia"]
    assert status.because == (
        "Hyperreflexia recorded present (lumbosacral region)",
        "hyperreflexia on examination of the cervical region",
    )


def test_diagnostic_factors_exam_sign_without_topic_equivalent_not_used(kb):
    # Cervical weakness is not "upper extremity weakness": the cervical region includes the neck.
    exam = {"cervical": {"weakness": True}}
    assert _diagnostic(kb, exam=exam)["upper_extremity_weakness"].present is None


def test_diagnostic_factors_limb_onset_example(kb):
    statuses = diagnostic_factors(cut_off(example("P-0001-limb-onset"), AS_OF), kb)
    present = {status.id for status in statuses if status.present}
    assert present == {
        "upper_extremity_weakness",
        "painful_muscle_spasms",
        "muscle_atrophy",
        "hyperreflexia",
    }


# --- risk factors ------------------------------------------------------------------------------


def test_risk_factors_empty_record_every_factor_not_recorded_in_topic_order(kb):
    statuses = risk_factors(cut_off(make_record(), AS_OF), kb)
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
            ("genetic testing positive on 2024-05-01",),
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
    assert status.because == because


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
        "genetic testing negative (C9orf72, SOD1)",
    )


def test_risk_factors_genetic_predisposition_absent_with_negative_test_entry(kb):
    status = _risk(
        kb,
        family_history={"als": False, "ftd": False},
        tests=[{"id": "genetic_testing", "result": "negative"}],
    )["genetic_predisposition_family_history"]
    assert status.present is False
    assert status.because == ("no family history of ALS or FTD", "genetic testing negative")


@pytest.mark.parametrize(
    "record",
    [
        {"family_history": {"als": False, "ftd": False}},
        {"family_history": {"als": False}, "genetics": [{"gene": "SOD1", "result": "negative"}]},
        {"genetics": [{"gene": "SOD1", "result": "negative"}]},
        {
            "family_history": {"als": False, "ftd": False},
            "genetics": [{"gene": "SOD1", "result": "vus"}],
        },
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
        "vus",
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
    record = {"birth_date": "1961-09-14", "symptom_onset": {"date": "2023-11-01"}}
    status = _risk(kb, **record)["age_over_40"]
    assert status.because == ("age at onset 62.1 years (born 1961-09-14, onset 2023-11-01)",)


@pytest.mark.parametrize(("age", "present"), [(41, True), (40.5, True), (40, False), (25, False)])
def test_risk_factors_age_over_40_from_recorded_age(kb, age, present):
    status = _risk(kb, age_years=age, symptom_onset={"date": "2024-01-01"})["age_over_40"]
    assert status.present is present
    assert status.because == (f"age {age:g} years",)


def test_risk_factors_age_over_40_from_birth_date_on_as_of_without_onset(kb):
    status = _risk(kb, as_of=dt.date(2025, 3, 1), birth_date="1984-06-01")["age_over_40"]
    assert status.present is True
    assert status.because == ("age 40.7 years on 2025-03-01 (born 1984-06-01; onset not dated)",)
    assert _risk(kb, birth_date="1990-06-01")["age_over_40"].present is False


def test_risk_factors_age_over_40_onset_after_as_of_uses_age_on_as_of(kb):
    record = {"birth_date": "1950-01-01", "symptom_onset": {"date": "2025-06-01"}}
    status = _risk(kb, as_of=dt.date(2025, 3, 1), **record)["age_over_40"]
    assert status.because[0].startswith("age 75.2 years on 2025-03-01")


def test_risk_factors_age_over_40_no_age_not_recorded(kb):
    status = _risk(kb, symptom_onset={"date": "2024-01-01"})["age_over_40"]
    assert status.present is None


def test_risk_factors_sod1_example(kb):
    statuses = risk_factors(cut_off(example("P-0004-sod1-late"), AS_OF), kb)
    present = {status.id: status.present for status in statuses}
    assert present["genetic_predisposition_family_history"] is True
    assert present["age_over_40"] is True
    assert present["military_service"] is None
