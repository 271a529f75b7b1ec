"""The assessment of a longitudinal record (v2): what was known on the date, the course, stale
and implausible values, interventions declined and drugs stopped, the work-up after diagnosis,
respiratory criteria, trial populations, death, nonspecific tests, labs without limits, and
thresholds that meet unrounded numbers. Each case names the rule it pins and its source."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from alscare import Assessment, RecordError, parse_record
from alscare.engine import patient_facts
from tests.builders import make_record_v2
from tests.builders_v2 import ALS_BASE, assess_on, examination, rated, respiratory

UMN_LMN = {"weakness": True, "wasting": True, "hyperreflexia": True}


def _recommendation(assessment: Assessment, step: str) -> Any:
    return next((r for r in assessment.recommendations if r.id == step), None)


def _alert(assessment: Assessment, alert: str) -> Any:
    return next((a for a in assessment.alerts if a.id == alert), None)


def _differential(assessment: Assessment, differential: str) -> str | None:
    found = next((d for d in assessment.differentials if d.id == differential), None)
    return found.level.value if found else None


def _plan(assessment: Assessment, investigation: str) -> Any:
    return next(item for item in assessment.investigations if item.id == investigation)


# --- what was known on the date -----------------------------------------------------------------


def test_course_first_umn_and_lmn_per_region_from_dated_exams_and_emg(kb):
    record = make_record_v2(
        **ALS_BASE,
        examinations=[
            examination("2024-01-10", cervical=UMN_LMN, lumbosacral={}),
            examination("2024-06-10", lumbosacral={"hyperreflexia": True}),
        ],
        emg_studies=[
            {
                "date": "2023-12-01",
                "regions": {
                    "lumbosacral": {
                        "chronic_neurogenic": True,
                        "active_denervation": True,
                        "muscles": 2,
                    }
                },
            }
        ],
    )
    course = assess_on(record, "2024-07-01", kb).course.regions
    assert (str(course["cervical"].first_umn), str(course["cervical"].first_lmn)) == (
        "2024-01-10",
        "2024-01-10",
    )
    assert str(course["lumbosacral"].first_umn) == "2024-06-10"
    assert str(course["lumbosacral"].first_lmn) == "2023-12-01"  # EMG before the exam
    assert course["bulbar"].first_umn is None and course["bulbar"].first_lmn is None


def test_course_and_regions_never_use_a_later_examination(kb):
    record = make_record_v2(
        **ALS_BASE,
        examinations=[
            examination("2024-01-10", cervical=UMN_LMN),
            examination("2024-06-10", lumbosacral=UMN_LMN),
        ],
    )
    assessment = assess_on(record, "2024-03-01", kb)
    assert assessment.course.regions["lumbosacral"].first_umn is None
    assert assessment.regions["lumbosacral"].umn is None  # not examined yet on that date
    assert "examination of 2024-06-10 is after as_of" in assessment.ignored


def test_as_of_before_onset_gives_no_stage_and_no_treatment(kb):
    # release 1 showed "King's clinical 2B" and "start riluzole" five years before onset
    record = make_record_v2(**ALS_BASE, examinations=[examination("2024-01-10", cervical=UMN_LMN)])
    assessment = assess_on(record, "2018-06-01", kb)
    assert assessment.staging.kings_clinical is None
    assert assessment.recommendations == ()
    assert "symptom onset 2023-06-01 is after as_of" in assessment.ignored


def test_age_is_tied_to_the_date_it_was_true(kb):
    base = {k: v for k, v in ALS_BASE.items() if k != "birth_date"}
    record = make_record_v2(**base, age_years=60, age_on="2024-01-15")
    ages = {
        as_of: assess_on(record, as_of, kb).risk_factors for as_of in ("2024-02-01", "2030-01-01")
    }
    because = {as_of: factors[1].because for as_of, factors in ages.items()}
    # age at onset, fixed by the age and its date, whatever the assessment date
    assert (
        because["2024-02-01"]
        == because["2030-01-01"]
        == ("age at onset 59.4 years (onset 2023-06-01)",)
    )


# --- ALSFRS-R items left unrated ----------------------------------------------------------------


def test_unrated_item_accepted_and_total_from_the_latest_complete_rating(kb):
    record = make_record_v2(
        **ALS_BASE,
        alsfrs_r=[
            rated("2024-01-15", speech=3),
            rated("2024-04-15", speech=2, orthopnea=None),
        ],
    )
    assessment = assess_on(record, "2024-05-01", kb)
    assert assessment.scores.alsfrs_r is not None
    assert (str(assessment.scores.alsfrs_r.date), assessment.scores.alsfrs_r.total) == (
        "2024-01-15",
        47,
    )
    assert assessment.staging.kings.stage == "1"  # bulbar only; orthopnea is no staging item


def test_kings_stage_undecided_when_an_unrated_item_decides_it(kb):
    record = make_record_v2(**ALS_BASE, alsfrs_r=[rated("2024-04-15", speech=3, walking=None)])
    assessment = assess_on(record, "2024-05-01", kb)
    assert assessment.staging.kings.stage is None  # lower limb unknown: stage 1 or 2
    assert any("King's stage" in item for item in assessment.staging.missing)


# --- staleness ----------------------------------------------------------------------------------


def test_stale_fvc_is_dated_and_asks_for_a_new_measurement(kb):
    # NICE: respiratory function tests about every 3 months
    record = make_record_v2(
        **ALS_BASE, respiratory=[respiratory("2024-01-10", fvc_percent_predicted=45)]
    )
    assessment = assess_on(record, "2025-03-01", kb)
    assert assessment.scores.stale == ("fvc_percent_predicted",)
    assert str(assessment.scores.dates["fvc_percent_predicted"]) == "2024-01-10"
    niv = _alert(assessment, "niv_indicated")
    assert niv is not None
    assert any("on 2024-01-10 (13.7 months old: stale" in b for b in niv.because)
    due = _recommendation(assessment, "measurements_due")
    assert due is not None and due.action == "monitor"
    assert any("the latest is of 2024-01-10" in item for item in assessment.missing)


# --- interventions declined, drugs stopped ------------------------------------------------------


def _declined_niv(*measurements: dict[str, Any]) -> Any:
    return make_record_v2(
        **{**ALS_BASE, "interventions": [
            {"kind": "niv", "event": "offered", "date": "2024-06-02"},
            {"kind": "niv", "event": "declined", "date": "2024-06-02"},
        ]},
        respiratory=list(measurements),
    )  # fmt: skip


def test_declined_niv_is_not_asked_for_again(kb):
    record = _declined_niv(respiratory("2024-06-01", fvc_percent_predicted=45))
    assessment = assess_on(record, "2024-07-01", kb)
    assert _alert(assessment, "niv_indicated") is None
    niv = _recommendation(assessment, "niv")
    assert niv.action == "monitor"
    assert "NIV declined on 2024-06-02" in niv.because


def test_declined_niv_alert_says_when_and_what_changed_since(kb):
    record = _declined_niv(
        respiratory("2024-06-01", fvc_percent_predicted=45),
        respiratory("2024-09-01", fvc_percent_predicted=38),
    )
    assessment = assess_on(record, "2024-09-15", kb)
    alert = _alert(assessment, "niv_indicated")
    assert alert is not None and alert.severity == "medium"
    assert any(
        "NIV declined on 2024-06-02; since then FVC 45 to 38 % predicted" in b
        for b in alert.because
    )
    assert _recommendation(assessment, "niv").action == "consider"


@pytest.mark.parametrize(
    ("reason", "action"),
    [("adverse_effect", "hold"), ("patient_choice", "consider"), (None, "consider")],
)
def test_stopped_riluzole_never_continued_and_not_reoffered_after_adverse_effect(
    kb, reason, action
):
    medication: dict[str, Any] = {"name": "riluzole", "since": "2024-01-20", "until": "2024-03-01"}
    if reason:
        medication["stop_reason"] = reason
    record = make_record_v2(**ALS_BASE, medications=[medication])
    riluzole = _recommendation(assess_on(record, "2024-06-01", kb), "riluzole")
    assert riluzole.action == action
    assert any("Riluzole stopped on 2024-03-01" in b for b in riluzole.because)


def test_riluzole_continued_only_while_taken(kb):
    record = make_record_v2(
        **ALS_BASE, medications=[{"name": "riluzole", "since": "2024-01-20", "until": "2024-03-01"}]
    )
    assert _recommendation(assess_on(record, "2024-02-15", kb), "riluzole").action == "continue"
    assert _recommendation(assess_on(record, "2024-03-01", kb), "riluzole").action != "continue"


# --- the diagnostic work-up after the diagnosis -------------------------------------------------


def test_work_up_not_recommended_years_after_diagnosis(kb):
    # release 1 "recommended" diagnostic tests 3.7 years after diagnosis
    assessment = assess_on(make_record_v2(**ALS_BASE), "2027-09-01", kb)
    b12 = _plan(assessment, "vitamin_b12")
    assert b12.status == "not_needed"
    assert "ALS diagnosed on 2024-01-15" in b12.reason
    assert _plan(assessment, "genetic_testing").status == "recommended"  # stays offered


def test_work_up_reopens_with_a_red_flag_recorded_after_diagnosis(kb):
    record = make_record_v2(
        **ALS_BASE,
        findings=[{"id": "sphincter_dysfunction", "present": True, "date": "2025-03-01"}],
    )
    assert _plan(assess_on(record, "2025-02-01", kb), "vitamin_b12").status == "not_needed"
    assert _plan(assess_on(record, "2025-04-01", kb), "vitamin_b12").status == "recommended"


# --- respiratory --------------------------------------------------------------------------------


def test_niv_alert_lists_every_criterion_met_and_says_not_yet_on_niv(kb):
    record = make_record_v2(
        **ALS_BASE,
        alsfrs_r=[rated("2024-05-01")],
        respiratory=[respiratory("2024-05-01", fvc_percent_predicted=45, snip_cmh2o=30)],
    )
    alert = _alert(assess_on(record, "2024-05-15", kb), "niv_indicated")
    assert "FVC 45 % predicted on 2024-05-01 (below 50 % predicted)" in alert.because
    assert "SNIP 30 cmH2O on 2024-05-01 (below 40 cmH2O)" in alert.because
    assert "not yet on NIV" in alert.because
    assert not any("respiratory insufficiency 4/4" in b for b in alert.because)


def test_nocturnal_desaturation_minutes_meet_the_cms_criterion(kb):
    # CMS: nocturnal SpO2 at or below 88 % for 5 minutes or more, cumulative (verified)
    record = make_record_v2(
        **ALS_BASE,
        respiratory=[
            respiratory(
                "2024-05-01", fvc_percent_predicted=90, nocturnal_spo2_88_or_below_minutes=12
            )
        ],
    )
    alert = _alert(assess_on(record, "2024-05-15", kb), "niv_indicated")
    assert alert is not None and alert.verified is True
    assert any("at or below 88 % for 12 minutes" in b for b in alert.because)


def test_nocturnal_time_below_90_counts_through_an_unverified_mapping(kb):
    record = make_record_v2(
        **ALS_BASE,
        respiratory=[
            respiratory(
                "2024-05-01", fvc_percent_predicted=90, nocturnal_spo2_below_90_percent_time=8
            )
        ],
    )
    alert = _alert(assess_on(record, "2024-05-15", kb), "niv_indicated")
    assert alert is not None and alert.verified is False


def test_cms_mip_criterion(kb):
    # CMS: MIP less negative than -60 cmH2O
    record = make_record_v2(
        **ALS_BASE, respiratory=[respiratory("2024-05-01", fvc_percent_predicted=90, mip_cmh2o=55)]
    )
    assert _alert(assess_on(record, "2024-05-15", kb), "niv_indicated") is not None


# --- trial populations --------------------------------------------------------------------------


@pytest.mark.parametrize(("fvc", "verdict"), [(62, "outside it"), (85, "would have fitted it")])
def test_edaravone_says_how_the_patient_compares_with_the_trial_population(kb, fvc, verdict):
    record = make_record_v2(
        **{**ALS_BASE, "jurisdiction": "US"},
        respiratory=[respiratory("2024-05-01", fvc_percent_predicted=fvc)],
    )
    edaravone = _recommendation(assess_on(record, "2024-05-15", kb), "edaravone")
    assert edaravone.action == "consider"
    assert any("FVC at least 80 % predicted" in b and verdict in b for b in edaravone.because)
    assert edaravone.verified is False


# --- death --------------------------------------------------------------------------------------


def test_death_is_stage_5_and_nothing_is_started_after_it(kb):
    record = make_record_v2(**ALS_BASE, alsfrs_r=[rated("2024-11-01", speech=2)],
                       death={"date": "2025-01-01"})  # fmt: skip
    after = assess_on(record, "2025-02-01", kb)
    assert (after.staging.kings.stage, after.staging.mitos.stage) == ("5", 5)
    assert after.staging.kings_clinical.stage == "5"
    assert after.recommendations == () and after.alerts == ()
    assert after.prognosis.encals.conditional is None
    before = assess_on(record, "2024-12-01", kb)
    assert before.staging.kings.stage == "1"
    assert "death 2025-01-01 is after as_of" in before.ignored


# --- nonspecific single tests -------------------------------------------------------------------


def _with_exam(cervical: dict[str, bool], **fields: Any) -> Any:
    return make_record_v2(
        **ALS_BASE, examinations=[examination("2024-01-10", cervical=cervical)], **fields
    )


RNS = {"emg_studies": [{"date": "2024-01-12", "rns_decrement": True}]}


@pytest.mark.parametrize(
    ("cervical", "tests", "level"),
    [
        ({"weakness": True, "wasting": True}, [], "suspected"),
        (UMN_LMN, [], "consider"),  # UMN signs speak against myasthenia
        ({"weakness": True, "wasting": True},
         [{"id": "achr_musk_antibodies", "date": "2024-01-12", "result": "negative"}],
         "consider"),  # negative antibodies speak against it
    ],
)  # fmt: skip
def test_rns_decrement_alone_makes_myasthenia_suspected_only_without_counter_evidence(
    kb, cervical, tests, level
):
    # a modest RNS decrement occurs in more than half of people with ALS (BMJ Best Practice)
    record = _with_exam(cervical, tests=tests, **RNS)
    assert _differential(assess_on(record, "2024-02-01", kb), "myasthenia_gravis") == level


@pytest.mark.parametrize(
    ("cervical", "level"), [({"weakness": True}, "suspected"), (UMN_LMN, "consider")]
)
def test_ck_above_1000_makes_ibm_suspected_only_without_umn_signs(kb, cervical, level):
    ck = [{"id": "creatine_kinase", "date": "2024-01-12", "value": 1500, "unit": "U/L"}]
    record = _with_exam(cervical, tests=ck)
    assert _differential(assess_on(record, "2024-02-01", kb), "inclusion_body_myositis") == level


def test_positive_anti_gm1_with_umn_signs_only_raises_mmn_for_consideration(kb):
    # low anti-GM1 titres occur in about a fifth of people with ALS
    gm1 = [{"id": "anti_gm1_antibodies", "date": "2024-01-12", "result": "positive"}]
    record = _with_exam(UMN_LMN, tests=gm1)
    assert _differential(assess_on(record, "2024-02-01", kb), "multifocal_motor_neuropathy") == (
        "consider"
    )


# --- labs without reference limits --------------------------------------------------------------


RILUZOLE = [{"name": "riluzole", "since": "2024-01-20"}]


@pytest.mark.parametrize(("count", "stopped"), [(1.2, True), (2.0, False)])
def test_neutropenia_by_the_standard_definition_when_the_lab_gives_no_limit(kb, count, stopped):
    labs = [{"id": "neutrophils", "date": "2024-05-01", "value": count, "unit": "10^9/L"}]
    assessment = assess_on(
        make_record_v2(**ALS_BASE, medications=RILUZOLE, labs=labs), "2024-05-15", kb
    )
    assert (_recommendation(assessment, "riluzole").action == "stop") is stopped
    alert = _alert(assessment, "riluzole_neutropenia")
    assert (alert is not None) is stopped
    if alert is not None:
        assert alert.verified is False  # the definition is the common one, not the label's
        assert any("standard definition of neutropenia" in b for b in alert.because)


def test_alt_without_upper_limit_is_said_not_silently_dropped(kb):
    labs = [{"id": "alt", "date": "2024-05-01", "value": 52, "unit": "U/L"}]
    record = make_record_v2(**ALS_BASE, medications=RILUZOLE, labs=labs)
    monitoring = _recommendation(assess_on(record, "2024-05-15", kb), "riluzole_liver_monitoring")
    assert any("without the laboratory's upper limit of normal" in b for b in monitoring.because)


# --- ENCALS made safe for counselling -----------------------------------------------------------


def _encals_record(**changes: Any) -> Any:
    fields: dict[str, Any] = {
        **ALS_BASE,
        "symptom_onset": {"date": "2023-01-15", "site": "cervical"},
        "diagnosis_date": "2024-01-15",
        "examinations": [examination("2024-01-15", cervical=UMN_LMN, lumbosacral=UMN_LMN)],
        "alsfrs_r": [rated("2024-01-15", handwriting=2, cutting_food=2, walking=2)],
        "respiratory": [respiratory("2024-01-15", fvc_percent_predicted=90)],
        "cognition": [{"date": "2024-01-15", "ftd": False}],
        "genetics": [{"gene": "C9orf72", "result": "negative"}],
    }
    fields.update(changes)
    return make_record_v2(**fields)


def test_encals_names_its_event_and_gives_survival_from_the_assessment_date(kb):
    encals = assess_on(_encals_record(), "2025-01-15", kb).prognosis.encals
    assert encals.event == "death, tracheostomy or non-invasive ventilation over 23 hours a day"
    assert encals.applicable is True and encals.median_survival_months is not None
    conditional = encals.conditional
    assert conditional is not None
    assert conditional.months_since_onset == 24.0
    assert 0 < conditional.survival["24"] < conditional.survival["12"] < 1
    # from the assessment date, not from onset: less than the median from onset minus 24 months
    assert conditional.median_survival_months is not None
    assert conditional.median_survival_months < encals.median_survival_months


def test_encals_not_applicable_below_the_delay_turning_point(kb):
    # a diagnosis one day after onset gave a 60-month survival of 1.000 in release 1
    record = _encals_record(symptom_onset={"date": "2024-01-14", "site": "cervical"})
    encals = assess_on(record, "2024-02-01", kb).prognosis.encals
    assert encals.applicable is False
    assert (encals.median_survival_months, encals.survival, encals.linear_predictor) == (
        None,
        None,
        None,
    )
    assert any("below 2.5 months" in b for b in encals.because)
    assert encals.event is not None  # the event is stated whether or not it applies


def test_encals_not_applicable_with_inputs_far_from_diagnosis(kb):
    record = _encals_record(
        alsfrs_r=[rated("2025-06-01", handwriting=2)],
        respiratory=[respiratory("2025-06-01", fvc_percent_predicted=80)],
    )
    encals = assess_on(record, "2025-07-01", kb).prognosis.encals
    assert encals.applicable is False
    assert any("not an input at diagnosis" in b for b in encals.because)


def test_encals_conditional_null_after_the_event(kb):
    record = _encals_record(
        interventions=[{"kind": "tracheostomy", "event": "started", "date": "2024-12-01"}]
    )
    encals = assess_on(record, "2025-01-15", kb).prognosis.encals
    assert encals.conditional is None
    assert any("the event has occurred (tracheostomy on 2024-12-01)" in b for b in encals.because)


def test_encals_notes_item_5_taken_as_5a_in_an_upgraded_record(kb):
    from alscare import parse_record

    v1 = _encals_record().to_json_dict()
    v1["alsfrs_r"][0]["gastrostomy_assumed"] = True
    encals = assess_on(parse_record(v1), "2025-01-15", kb).prognosis.encals
    assert any("item 5 taken as 5a" in b for b in encals.because)


# --- one answer, unrounded values, implausible values -------------------------------------------


def test_ftd_present_then_absent_is_absent_for_the_factor_and_for_encals(kb):
    # release 1 listed the factor absent while ENCALS counted FTD present
    record = _encals_record(
        cognition=[],
        findings=[
            {"id": "ftd_features", "present": True, "date": "2023-09-01"},
            {"id": "ftd_features", "present": False, "date": "2024-01-10"},
        ],
    )
    assessment = assess_on(record, "2024-03-01", kb)
    factor = next(f for f in assessment.diagnostic_factors if f.id == "ftd_features")
    assert factor.present is False
    assert assessment.prognosis.encals.inputs.ftd is False


@pytest.mark.parametrize(
    ("fields", "alert"),
    [
        # BMI 18.46 (170 cm, 53.35 kg) shows as 18.5 but is below 18.5
        ({"height_cm": 170, "weights": [{"date": "2024-05-01", "kg": 53.35}]},
         "gastrostomy_indicated"),
        # weight loss 10.04 % of 70 kg shows as 10 but is over 10 %
        ({"premorbid_weight_kg": 70, "weights": [{"date": "2024-05-01", "kg": 62.97}]},
         "gastrostomy_indicated"),
    ],
)  # fmt: skip
def test_thresholds_meet_unrounded_values(kb, fields, alert):
    record = make_record_v2(**{**ALS_BASE, **fields})
    assert _alert(assess_on(record, "2024-05-15", kb), alert) is not None


def test_progression_rate_just_over_1_is_fast_though_shown_as_1(kb):
    # 11 points lost over 334 days (10.97 months): 1.0024 points/month
    record = make_record_v2(
        **{**ALS_BASE, "symptom_onset": {"date": "2024-01-01", "site": "cervical"}},
        alsfrs_r=[rated("2024-11-30", speech=1, salivation=1, swallowing=1, handwriting=2)],
    )
    assessment = assess_on(record, "2024-12-15", kb)
    assert assessment.scores.progression_rate == 1.0
    assert _alert(assessment, "rapid_progression") is not None


@pytest.mark.parametrize(
    ("fields", "score", "silenced"),
    [
        ({"height_cm": 180, "weights": [{"date": "2024-05-01", "kg": 7.5}]}, "bmi",
         "gastrostomy_indicated"),
        ({"premorbid_weight_kg": 90, "weights": [{"date": "2024-05-01", "kg": 7.5}]},
         "weight_loss_percent", "gastrostomy_indicated"),
        ({"symptom_onset": {"date": "2024-05-01", "site": "cervical"},
          "diagnosis_date": "2024-05-02", "alsfrs_r": [rated("2024-05-02", speech=1)]},
         "progression_rate", "rapid_progression"),
    ],
)  # fmt: skip
def test_implausible_values_flagged_and_not_used_for_advice(kb, fields, score, silenced):
    assessment = assess_on(make_record_v2(**{**ALS_BASE, **fields}), "2024-05-15", kb)
    assert score in assessment.scores.implausible
    assert _alert(assessment, silenced) is None
    assert any("implausible" in b for b in assessment.scores.because)
    json.loads(assessment.to_json(), parse_constant=lambda name: pytest.fail(name))


# --- ages, inferred dates, uncertain variants ------------------------------------------------


@pytest.mark.parametrize(
    ("birth_date", "as_of", "age", "over_40"),
    [
        ("1985-05-10", "2025-05-09", 39.997, False),  # the day before the 40th birthday
        ("1985-05-10", "2025-05-10", 40.0, False),  # on it: 40, not over 40
        ("1985-05-10", "2025-05-11", 40.003, True),
        ("1984-02-29", "2024-02-28", 39.997, False),  # a leap-day birthday in a leap year
        ("1984-02-29", "2024-02-29", 40.0, False),
        ("1984-02-29", "2024-03-01", 40.003, True),
    ],
)
def test_age_counts_birthdays_for_facts_and_risk_factors_alike(kb, birth_date, as_of, age, over_40):
    # One answer to "how old?": birthdays passed plus the fraction of the year since the last
    # (a 29 February birthday falls on 1 March in other years); age_over_40 reads the same age.
    record = make_record_v2(sex="female", birth_date=birth_date)
    facts = patient_facts(record, as_of=dt.date.fromisoformat(as_of), kb=kb)
    assert facts("patient.age_years").value == pytest.approx(age, abs=5e-4)
    assessment = assess_on(record, as_of, kb)
    factor = next(r for r in assessment.risk_factors if r.id == "age_over_40")
    assert factor.present is over_40


def test_dates_the_upgrade_supplied_are_marked_in_the_reasons(kb):
    # A v1 entry without a date takes the record's latest date; a reason quoting it says so,
    # and a record with no date at all quotes none.
    dated = parse_record(
        {
            "schema": "alscare.patient/v1",
            "id": "V1-1",
            "sex": "male",
            "diagnosis_date": "2024-06-01",
            "findings": [{"id": "sialorrhea", "present": True}],
        }
    )
    reasons = _recommendation(assess_on(dated, "2024-07-01", kb), "sialorrhea_treatment").because
    assert "Sialorrhoea and drooling recorded present on 2024-06-01 (date inferred)" in reasons
    undated = parse_record(
        {
            "schema": "alscare.patient/v1",
            "id": "V1-2",
            "sex": "male",
            "findings": [{"id": "sialorrhea", "present": True}],
        }
    )
    facts = patient_facts(undated, as_of=dt.date(2024, 7, 1), kb=kb)
    assert (
        facts("finding.sialorrhea").because == "Sialorrhoea and drooling recorded present (undated)"
    )


@pytest.mark.parametrize(
    ("genetics", "c9orf72", "familial"),
    [
        ([{"gene": "C9orf72", "result": "vus"}], None, None),
        ([{"gene": "C9orf72", "result": "negative"}], False, False),
        (
            [{"gene": "C9orf72", "result": "vus"}, {"gene": "SOD1", "result": "pathogenic"}],
            None,
            True,
        ),
    ],
)
def test_a_variant_of_uncertain_significance_leaves_causality_open(kb, genetics, c9orf72, familial):
    # rules/definitions.yaml causal_variant: pathogenic and likely pathogenic are causal; a VUS
    # is neither causal nor a negative result (dharmadasa2022_genetics).
    record = make_record_v2(
        **ALS_BASE,
        examinations=[examination("2024-01-15", cervical=UMN_LMN)],
        genetics=[{**entry, "date": "2024-01-15"} for entry in genetics],
    )
    assessment = assess_on(record, "2024-02-01", kb)
    assert assessment.prognosis.encals.inputs.c9orf72 is c9orf72
    assert assessment.criteria.el_escorial.familial_laboratory_supported is familial


def test_null_identifiers_mean_none_recorded():
    record = make_record_v2(sex="male", identity={"name": "A Patient", "identifiers": None})
    assert record.identity is not None and record.identity.identifiers == ()


def test_an_entry_of_symptoms_alone_is_not_a_breathing_test(kb):
    # respiratory_review_overdue and the worklist read the latest entry with a test result: a
    # later entry that records only symptoms does not reset the 3-month clock (nice2010_cg105).
    record = make_record_v2(
        **ALS_BASE,
        respiratory=[
            respiratory("2024-01-15", fvc_percent_predicted=85),
            respiratory("2024-06-01", symptoms=["orthopnea"]),
        ],
    )
    assessment = assess_on(record, "2024-06-10", kb)
    assert _alert(assessment, "respiratory_review_overdue") is not None
    assert "respiratory_tests" in {item.id for item in assessment.due}


def test_kings_clinical_stage_1_from_onset_says_so(kb):
    # roche2012_kings: stage 1 is symptom onset (one region involved); with no region recorded
    # as involved and no diagnosis, the onset is the reason.
    record = make_record_v2(
        sex="male",
        birth_date="1962-07-30",
        symptom_onset={"date": "2025-07-21"},
        interventions=[{"kind": "niv", "event": "offered", "date": "2025-11-01"}],
    )
    clinical = assess_on(record, "2025-12-01", kb).staging.kings_clinical
    assert clinical is not None and clinical.stage == "1"
    assert "symptom onset on 2025-07-21" in clinical.because


def test_reference_limits_the_wrong_way_round_point_at_the_lower_limit():
    with pytest.raises(RecordError) as raised:
        make_record_v2(
            labs=[{"id": "alt", "value": 30, "unit": "U/L", "lower_limit": 50, "upper_limit": 40}]
        )
    assert [str(p) for p in raised.value.problems] == [
        "/labs/0/lower_limit: the lower reference limit is above the upper one"
    ]
