"""Trial screening (alscare.cohort.trials): each criterion met, failed or unknown at its bounds
(both inclusive), unknown whenever the data it needs is missing, stale or implausible, the
status from the criteria, and the three shipped trials on constructed records."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import yaml

from alscare import Assessment, KnowledgeBase, PatientRecord, assess
from alscare.cohort.trials import (
    Outcome,
    Screening,
    Status,
    fitting_trials,
    screen,
    shipped_trials,
)
from alscare.engine import patient_facts
from alscare.knowledge.trials import Trial, parse_trial
from tests.builders import losing, make_record_v2, signs, workup_tests
from tests.builders_v2 import ALS_BASE, examination, rated, respiratory

ONSET = dt.date(2023, 6, 1)  # ALS_BASE's onset
# 487 days are exactly 16 months of 30.4375 days: the progression rate and the time since onset
# come out as round numbers on this day.
SIXTEEN_MONTHS = ONSET + dt.timedelta(days=487)
BOTH = signs(umn=True, lmn=True)


def _trial(kb: KnowledgeBase, **criteria: Any) -> Trial:
    data = {
        "id": "test_trial",
        "title": "Test trial",
        "sources": [{"id": "vaneijk_encals_code", "where": "test"}],
        "verified": False,
        "criteria": criteria,
    }
    return parse_trial(yaml.safe_dump(data), name="test_trial.yaml", kb=kb)


def _record(**fields: Any) -> PatientRecord:
    return make_record_v2(**{**ALS_BASE, **fields})


def _without(*names: str, **fields: Any) -> PatientRecord:
    base = {key: value for key, value in ALS_BASE.items() if key not in names}
    return make_record_v2(**{**base, **fields})


def _screened(
    kb: KnowledgeBase, record: PatientRecord, as_of: dt.date | str, trial: Trial
) -> Screening:
    day = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    return screen(record, assess(record, as_of=day, kb=kb), trial, kb=kb)


def _one(screening: Screening, criterion: str) -> tuple[Outcome, str]:
    (found,) = [c for c in screening.criteria if c.criterion == criterion]
    return found.outcome, found.reason


# --- age (birth 1960-05-01: 64 on 2024-05-01) -------------------------------------------------

AGE_CASES = [
    ({"min": 64}, "2024-05-01", Outcome.MET),  # the birthday itself: the bound is inclusive
    ({"min": 64}, "2024-04-30", Outcome.FAILED),
    ({"max": 64}, "2024-05-01", Outcome.MET),
    ({"max": 64}, "2024-05-02", Outcome.FAILED),
    ({"min": 60, "max": 70}, "2024-05-01", Outcome.MET),
]


@pytest.mark.parametrize(("bounds", "as_of", "outcome"), AGE_CASES)
def test_trials_age_at_bounds(kb, bounds, as_of, outcome):
    screening = _screened(kb, _record(), as_of, _trial(kb, age_years=bounds))
    assert _one(screening, "age_years")[0] is outcome


def test_trials_age_a_day_short_reads_short(kb):
    # 63.997 years must not read as 64 beside a bound of 64.
    screening = _screened(kb, _record(), "2024-04-30", _trial(kb, age_years={"min": 64}))
    assert _one(screening, "age_years") == (
        Outcome.FAILED,
        "age 63.99 years on 2024-04-30: below the trial's bound (it asks for at least 64 years)",
    )


def test_trials_age_without_birth_date_unknown(kb):
    screening = _screened(
        kb, _without("birth_date"), "2024-05-01", _trial(kb, age_years={"min": 18})
    )
    outcome, reason = _one(screening, "age_years")
    assert outcome is Outcome.UNKNOWN
    assert "age not recorded" in reason
    assert screening.status is Status.UNKNOWN


def test_trials_age_from_age_and_its_date(kb):
    record = _without("birth_date", age_years=64, age_on="2024-01-01")
    screening = _screened(kb, record, "2024-01-01", _trial(kb, age_years={"max": 64}))
    assert _one(screening, "age_years")[0] is Outcome.MET


# --- months since onset -----------------------------------------------------------------------

ONE_DAY = dt.timedelta(days=1)
MONTHS_CASES = [
    ({"max": 16}, SIXTEEN_MONTHS, Outcome.MET),
    ({"max": 16}, SIXTEEN_MONTHS + ONE_DAY, Outcome.FAILED),
    ({"min": 16}, SIXTEEN_MONTHS, Outcome.MET),
    ({"min": 16}, SIXTEEN_MONTHS - ONE_DAY, Outcome.FAILED),
]


@pytest.mark.parametrize(("bounds", "as_of", "outcome"), MONTHS_CASES)
def test_trials_months_since_onset_at_bounds(kb, bounds, as_of, outcome):
    screening = _screened(kb, _record(), as_of, _trial(kb, months_since_onset=bounds))
    assert _one(screening, "months_since_onset")[0] is outcome


def test_trials_months_since_onset_a_day_over_reads_over(kb):
    trial = _trial(kb, months_since_onset={"max": 16})
    screening = _screened(kb, _record(), SIXTEEN_MONTHS + ONE_DAY, trial)
    assert _one(screening, "months_since_onset") == (
        Outcome.FAILED,
        "16.03 months since symptom onset on 2023-06-01: above the trial's bound (it asks for "
        "at most 16 months)",
    )


def test_trials_months_since_onset_without_onset_unknown(kb):
    record = _without("symptom_onset")
    screening = _screened(kb, record, "2024-05-01", _trial(kb, months_since_onset={"max": 24}))
    outcome, reason = _one(screening, "months_since_onset")
    assert outcome is Outcome.UNKNOWN
    assert "symptom onset not recorded" in reason


# --- FVC ----------------------------------------------------------------------------------------

FVC_CASES = [
    ({"min": 80}, 80, Outcome.MET),
    ({"min": 80}, 79.9, Outcome.FAILED),
    ({"max": 80}, 80, Outcome.MET),
    ({"max": 80}, 80.1, Outcome.FAILED),
]


@pytest.mark.parametrize(("bounds", "fvc", "outcome"), FVC_CASES)
def test_trials_fvc_at_bounds(kb, bounds, fvc, outcome):
    record = _record(respiratory=[respiratory("2024-01-20", fvc_percent_predicted=fvc)])
    screening = _screened(kb, record, "2024-02-01", _trial(kb, fvc_percent_predicted=bounds))
    outcome_found, reason = _one(screening, "fvc_percent_predicted")
    assert outcome_found is outcome
    assert f"FVC {fvc:g} % predicted on 2024-01-20" in reason


def test_trials_fvc_not_recorded_unknown(kb):
    screening = _screened(
        kb, _record(), "2024-02-01", _trial(kb, fvc_percent_predicted={"min": 50})
    )
    outcome, reason = _one(screening, "fvc_percent_predicted")
    assert outcome is Outcome.UNKNOWN
    assert "FVC not known" in reason


def test_trials_fvc_stale_unknown_not_met(kb):
    # A 5-month-old FVC of 90 % would meet the bound; a trial screens on current measurements.
    record = _record(respiratory=[respiratory("2023-09-01", fvc_percent_predicted=90)])
    assessment = assess(record, as_of=dt.date(2024, 2, 1), kb=kb)
    assert "fvc_percent_predicted" in assessment.scores.stale
    trial = _trial(kb, fvc_percent_predicted={"min": 50})
    outcome, reason = _one(screen(record, assessment, trial, kb=kb), "fvc_percent_predicted")
    assert outcome is Outcome.UNKNOWN
    assert "not used" in reason and "2023-09-01" in reason


# --- progression rate (onset 2023-06-01, rated 16 months later) --------------------------------

RATE_CASES = [
    ({"min": 0.5}, 8, Outcome.MET),  # 8 points in 16 months: 0.5 points/month exactly
    ({"max": 0.5}, 8, Outcome.MET),
    ({"min": 0.5}, 7, Outcome.FAILED),  # 0.4375
    ({"max": 0.5}, 9, Outcome.FAILED),  # 0.5625
]


@pytest.mark.parametrize(("bounds", "lost", "outcome"), RATE_CASES)
def test_trials_progression_rate_at_bounds(kb, bounds, lost, outcome):
    record = _record(alsfrs_r=[rated(str(SIXTEEN_MONTHS), **losing(lost))])
    trial = _trial(kb, progression_rate=bounds)
    screening = _screened(kb, record, SIXTEEN_MONTHS, trial)
    assert _one(screening, "progression_rate")[0] is outcome


def test_trials_progression_rate_without_rating_unknown(kb):
    trial = _trial(kb, progression_rate={"max": 1})
    outcome, _ = _one(_screened(kb, _record(), "2024-02-01", trial), "progression_rate")
    assert outcome is Outcome.UNKNOWN


def test_trials_progression_rate_implausible_unknown(kb):
    # Rated two weeks after onset: the rate is shown but is no measure of progression.
    record = _record(alsfrs_r=[rated("2023-06-15", **losing(2))])
    assessment = assess(record, as_of=dt.date(2023, 6, 20), kb=kb)
    assert "progression_rate" in assessment.scores.implausible
    trial = _trial(kb, progression_rate={"max": 10})
    outcome, reason = _one(screen(record, assessment, trial, kb=kb), "progression_rate")
    assert outcome is Outcome.UNKNOWN
    assert "not used" in reason


def test_trials_progression_rate_stale_unknown(kb):
    record = _record(alsfrs_r=[rated("2024-01-10", **losing(4))])
    assessment = assess(record, as_of=SIXTEEN_MONTHS, kb=kb)
    assert "progression_rate" in assessment.scores.stale
    trial = _trial(kb, progression_rate={"max": 10})
    assert _one(screen(record, assessment, trial, kb=kb), "progression_rate")[0] is Outcome.UNKNOWN


# --- ENCALS linear predictor --------------------------------------------------------------------

ENCALS_ONSET = dt.date(2020, 1, 1)
TYPICAL = (60, 12, 0.5, 90, True, True, False, False)  # LP about -4.18
POOR = (70, 6, 1.5, 70, True, True, True, True)  # LP about -1.45: outside the example window


def _encals_record(values: tuple[Any, ...], **fields: Any) -> tuple[PatientRecord, dt.date]:
    """A record with every ENCALS input at diagnosis (age, delay in months, delta-FS, FVC,
    bulbar onset, definite El Escorial, FTD, C9orf72), and the diagnosis date."""
    age, delay, rate, fvc, bulbar, definite, ftd, c9 = values
    diagnosed = ENCALS_ONSET + dt.timedelta(days=round(delay * 30.4375))
    points = round(rate * delay)
    rating_day = ENCALS_ONSET + dt.timedelta(days=round(points / rate * 30.4375))
    regions = (
        {"bulbar": BOTH, "cervical": BOTH, "lumbosacral": BOTH} if definite else {"cervical": BOTH}
    )
    data: dict[str, Any] = {
        "birth_date": str(ENCALS_ONSET - dt.timedelta(days=round(age * 365.25))),
        "symptom_onset": {"date": str(ENCALS_ONSET), "site": "bulbar" if bulbar else "cervical"},
        "diagnosis_date": str(diagnosed),
        "progressive": True,
        "interventions": [],
        "examinations": [examination(str(diagnosed), **regions)],
        "alsfrs_r": [rated(str(rating_day), **losing(points))],
        "respiratory": [respiratory(str(diagnosed), fvc_percent_predicted=fvc)],
        "cognition": [{"date": str(diagnosed), "ftd": ftd}],
        "genetics": [
            {
                "gene": "C9orf72",
                "result": "pathogenic" if c9 else "negative",
                "date": str(diagnosed),
            }
        ],
    }
    data.update(fields)
    return make_record_v2(**data), diagnosed


def _predicted(kb: KnowledgeBase, values: tuple[Any, ...]) -> tuple[PatientRecord, Assessment]:
    record, diagnosed = _encals_record(values)
    assessment = assess(record, as_of=diagnosed + dt.timedelta(days=14), kb=kb)
    assert assessment.prognosis.encals.linear_predictor is not None
    return record, assessment


@pytest.mark.parametrize(
    ("shift_min", "shift_max", "outcome"),
    [
        (0, None, Outcome.MET),
        (0.001, None, Outcome.FAILED),
        (None, 0, Outcome.MET),
        (None, -0.001, Outcome.FAILED),
    ],
)
def test_trials_linear_predictor_at_bounds(kb, shift_min, shift_max, outcome):
    record, assessment = _predicted(kb, TYPICAL)
    lp = assessment.prognosis.encals.linear_predictor
    assert lp is not None
    bounds = {}
    if shift_min is not None:
        bounds["min"] = lp + shift_min
    if shift_max is not None:
        bounds["max"] = lp + shift_max
    trial = _trial(kb, encals_linear_predictor=bounds)
    result = _one(screen(record, assessment, trial, kb=kb), "encals_linear_predictor")
    assert result[0] is outcome


def test_trials_linear_predictor_missing_input_unknown(kb):
    record, diagnosed = _encals_record(TYPICAL, cognition=[])
    trial = _trial(kb, encals_linear_predictor={"min": -6, "max": -2})
    screening = _screened(kb, record, diagnosed, trial)
    outcome, reason = _one(screening, "encals_linear_predictor")
    assert outcome is Outcome.UNKNOWN
    assert "FTD" in reason


def test_trials_linear_predictor_model_not_applicable_unknown(kb):
    # Diagnosed 2 months after onset: below the delay the model's transform is credible for.
    record, diagnosed = _encals_record((60, 2, 1.0, 90, False, True, False, False))
    assessment = assess(record, as_of=diagnosed, kb=kb)
    assert assessment.prognosis.encals.applicable is False
    trial = _trial(kb, encals_linear_predictor={"min": -100, "max": 100})
    outcome, reason = _one(screen(record, assessment, trial, kb=kb), "encals_linear_predictor")
    assert outcome is Outcome.UNKNOWN
    assert "not applicable" in reason


# --- El Escorial and Gold Coast ----------------------------------------------------------------


def _examined(**regions: dict[str, bool]) -> PatientRecord:
    return _record(
        examinations=[examination("2024-01-10", **regions)],
        emg_studies=[{"date": "2024-01-10", "regions": {}}],
        tests=workup_tests("2024-01-10"),
    )


@pytest.mark.parametrize(
    ("regions", "category", "outcome"),
    [
        ({"bulbar": BOTH, "cervical": BOTH, "lumbosacral": BOTH}, "definite", Outcome.MET),
        ({"cervical": BOTH}, "possible", Outcome.FAILED),
    ],
)
def test_trials_el_escorial_category(kb, regions, category, outcome):
    record = _examined(**regions)
    assessment = assess(record, as_of=dt.date(2024, 2, 1), kb=kb)
    assert assessment.criteria.el_escorial.category == category
    trial = _trial(kb, el_escorial={"allowed": ["definite", "probable"]})
    assert _one(screen(record, assessment, trial, kb=kb), "el_escorial")[0] is outcome


def test_trials_el_escorial_nothing_examined_unknown(kb):
    trial = _trial(kb, el_escorial={"allowed": ["definite"]})
    screening = _screened(kb, _record(), "2024-02-01", trial)
    assert _one(screening, "el_escorial")[0] is Outcome.UNKNOWN


@pytest.mark.parametrize(
    ("regions", "wanted", "outcome"),
    [
        ({"cervical": BOTH}, True, Outcome.MET),
        ({"cervical": BOTH}, False, Outcome.FAILED),
        ({"bulbar": signs(umn=True), "lumbosacral": signs(lmn=True)}, True, Outcome.FAILED),
        ({"bulbar": signs(umn=True), "lumbosacral": signs(lmn=True)}, False, Outcome.MET),
    ],
)
def test_trials_gold_coast(kb, regions, wanted, outcome):
    trial = _trial(kb, gold_coast={"met": wanted})
    screening = _screened(kb, _examined(**regions), "2024-02-01", trial)
    assert _one(screening, "gold_coast")[0] is outcome


def test_trials_gold_coast_without_work_up_unknown(kb):
    record = _record(examinations=[examination("2024-01-10", cervical=BOTH)])
    assessment = assess(record, as_of=dt.date(2024, 2, 1), kb=kb)
    assert assessment.criteria.gold_coast.met is None
    trial = _trial(kb, gold_coast={"met": True})
    outcome, reason = _one(screen(record, assessment, trial, kb=kb), "gold_coast")
    assert outcome is Outcome.UNKNOWN
    assert "cannot be decided" in reason


# --- genes ----------------------------------------------------------------------------------------

GENE_CASES = [
    ([{"gene": "SOD1", "result": "pathogenic"}], Outcome.MET),
    ([{"gene": "sod1", "result": "likely_pathogenic"}], Outcome.MET),  # any case, by definition
    ([{"gene": "SOD1", "result": "negative"}], Outcome.FAILED),
    ([{"gene": "SOD1", "result": "vus"}], Outcome.UNKNOWN),  # open, never "no causal variant"
    ([{"gene": "SOD1", "result": "not_tested"}], Outcome.UNKNOWN),
    ([{"gene": "C9orf72", "result": "pathogenic"}], Outcome.UNKNOWN),  # SOD1 itself untested
    ([], Outcome.UNKNOWN),
]


@pytest.mark.parametrize(("genetics", "outcome"), GENE_CASES)
def test_trials_gene_causal_variant(kb, genetics, outcome):
    dated = [{**entry, "date": "2024-01-05"} for entry in genetics]
    trial = _trial(kb, genes={"required": ["SOD1"]})
    screening = _screened(kb, _record(genetics=dated), "2024-02-01", trial)
    assert _one(screening, "genes.SOD1")[0] is outcome


def test_trials_gene_result_is_the_engine_fact(kb):
    record = _record(genetics=[{"gene": "SOD1", "result": "vus", "date": "2024-01-05"}])
    day = dt.date(2024, 2, 1)
    fact = patient_facts(record, as_of=day, kb=kb)("variant.SOD1")
    screening = _screened(kb, record, day, _trial(kb, genes={"required": ["SOD1"]}))
    (result,) = [c for c in screening.criteria if c.criterion == "genes.SOD1"]
    assert fact.because in result.reason
    assert set(fact.sources) <= set(result.sources)


def test_trials_every_gene_required(kb):
    genetics = [
        {"gene": "SOD1", "result": "pathogenic", "date": "2024-01-05"},
        {"gene": "FUS", "result": "negative", "date": "2024-01-05"},
    ]
    trial = _trial(kb, genes={"required": ["SOD1", "FUS"]})
    screening = _screened(kb, _record(genetics=genetics), "2024-02-01", trial)
    assert _one(screening, "genes.SOD1")[0] is Outcome.MET
    assert _one(screening, "genes.FUS")[0] is Outcome.FAILED
    assert screening.status is Status.NOT_ELIGIBLE


# --- interventions ----------------------------------------------------------------------------


def _events(*events: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"date": "2024-01-20", **event} for event in events]


INTERVENTION_CASES = [
    ({"kind": "tracheostomy"}, [], Outcome.MET),
    ({"kind": "tracheostomy"}, None, Outcome.UNKNOWN),  # the record says nothing
    (
        {"kind": "tracheostomy"},
        _events({"kind": "tracheostomy", "event": "started"}),
        Outcome.FAILED,
    ),
    ({"kind": "niv"}, _events({"kind": "niv", "event": "offered"}), Outcome.MET),
    ({"kind": "niv"}, _events({"kind": "niv", "event": "declined"}), Outcome.MET),
    (
        {"kind": "niv", "hours_per_day_over": 22},
        _events({"kind": "niv", "event": "started", "hours_per_day": 22}),
        Outcome.MET,  # 22 h/day is not over 22
    ),
    (
        {"kind": "niv", "hours_per_day_over": 22},
        _events({"kind": "niv", "event": "started", "hours_per_day": 23}),
        Outcome.FAILED,
    ),
    (
        {"kind": "niv", "hours_per_day_over": 22},
        _events({"kind": "niv", "event": "started"}),
        Outcome.UNKNOWN,  # in place, hours a day not recorded
    ),
    ({"kind": "niv"}, _events({"kind": "niv", "event": "started"}), Outcome.FAILED),
    (
        {"kind": "niv", "hours_per_day_over": 22},
        [
            {"kind": "niv", "event": "started", "hours_per_day": 24, "date": "2024-01-10"},
            {"kind": "niv", "event": "stopped", "date": "2024-01-20"},
        ],
        Outcome.MET,  # stopped: the latest event decides
    ),
]


@pytest.mark.parametrize(("exclusion", "events", "outcome"), INTERVENTION_CASES)
def test_trials_intervention_exclusion(kb, exclusion, events, outcome):
    record = _record(interventions=events)
    trial = _trial(kb, exclude_interventions=[exclusion])
    screening = _screened(kb, record, "2024-02-01", trial)
    assert _one(screening, f"exclude_interventions.{exclusion['kind']}")[0] is outcome


def test_trials_gastrostomy_in_place_from_alsfrs_r_item_5b(kb):
    # The engine's fact counts a rating of item 5b as a gastrostomy in place.
    record = _record(alsfrs_r=[{**rated("2024-01-20"), "gastrostomy": True}])
    trial = _trial(kb, exclude_interventions=[{"kind": "gastrostomy"}])
    screening = _screened(kb, record, "2024-02-01", trial)
    assert _one(screening, "exclude_interventions.gastrostomy")[0] is Outcome.FAILED


# --- status -----------------------------------------------------------------------------------


def test_trials_status_from_the_criteria(kb):
    record = _record(respiratory=[respiratory("2024-01-20", fvc_percent_predicted=85)])
    day = "2024-02-01"
    met = {"age_years": {"min": 18}, "fvc_percent_predicted": {"min": 80}}
    assert _screened(kb, record, day, _trial(kb, **met)).status is Status.ELIGIBLE
    unknown = {**met, "genes": {"required": ["SOD1"]}}
    screening = _screened(kb, record, day, _trial(kb, **unknown))
    assert screening.status is Status.UNKNOWN
    assert [c.criterion for c in screening.unknown] == ["genes.SOD1"]
    failed = {**unknown, "age_years": {"max": 40}}
    screening = _screened(kb, record, day, _trial(kb, **failed))
    assert screening.status is Status.NOT_ELIGIBLE
    assert [c.criterion for c in screening.failed] == ["age_years"]


def test_trials_patient_who_died_never_eligible(kb):
    record = _record(death={"date": "2024-01-25"})
    screening = _screened(kb, record, "2024-02-01", _trial(kb, age_years={"min": 18}))
    assert _one(screening, "alive")[0] is Outcome.FAILED
    assert screening.status is Status.NOT_ELIGIBLE


def test_trials_screening_refuses_another_patients_assessment(kb):
    record = _record()
    other = make_record_v2(**{**ALS_BASE, "id": "T-2"})
    assessment = assess(other, as_of=dt.date(2024, 2, 1), kb=kb)
    with pytest.raises(ValueError, match="T-2"):
        screen(record, assessment, _trial(kb, age_years={"min": 18}), kb=kb)


def test_trials_screening_refuses_facts_of_another_date(kb):
    record = _record()
    assessment = assess(record, as_of=dt.date(2024, 2, 1), kb=kb)
    facts = patient_facts(record, as_of=dt.date(2024, 3, 1), kb=kb)
    with pytest.raises(ValueError, match="facts"):
        screen(record, assessment, _trial(kb, age_years={"min": 18}), kb=kb, facts=facts)


def test_trials_unverified_trial_marks_its_screening(kb):
    screening = _screened(kb, _record(), "2024-02-01", _trial(kb, age_years={"min": 18}))
    assert screening.verified is False  # _trial writes verified: false
    assert screening.to_json_line().startswith('{"trial_id":"test_trial"')


# --- the shipped trials -----------------------------------------------------------------------


def _shipped(kb: KnowledgeBase, trial_id: str) -> Trial:
    (found,) = [trial for trial in shipped_trials(kb) if trial.id == trial_id]
    return found


@pytest.mark.parametrize(
    ("fvc", "status"),
    [
        (85, Status.ELIGIBLE),
        (80, Status.ELIGIBLE),
        (75, Status.NOT_ELIGIBLE),
        (None, Status.UNKNOWN),
    ],
)
def test_trials_shipped_early_disease_fvc(kb, fvc, status):
    entries = [] if fvc is None else [respiratory("2024-01-20", fvc_percent_predicted=fvc)]
    trial = _shipped(kb, "early_disease_fvc")
    screening = _screened(kb, _record(respiratory=entries), "2024-02-01", trial)
    assert screening.status is status
    assert screening.verified is False  # the threshold is unverified in the knowledge base
    (fvc_result,) = [c for c in screening.criteria if c.criterion == "fvc_percent_predicted"]
    assert "fda2017_edaravone" in fvc_result.sources


@pytest.mark.parametrize(
    ("result", "status"),
    [
        ("pathogenic", Status.ELIGIBLE),
        ("likely_pathogenic", Status.ELIGIBLE),
        ("negative", Status.NOT_ELIGIBLE),
        ("vus", Status.UNKNOWN),
        (None, Status.UNKNOWN),
    ],
)
def test_trials_shipped_sod1_variant(kb, result, status):
    genetics = [] if result is None else [{"gene": "SOD1", "result": result, "date": "2024-01-05"}]
    trial = _shipped(kb, "sod1_variant")
    screening = _screened(kb, _record(genetics=genetics), "2024-02-01", trial)
    assert screening.status is status
    assert screening.verified is True


@pytest.mark.parametrize(
    ("values", "status"), [(TYPICAL, Status.ELIGIBLE), (POOR, Status.NOT_ELIGIBLE)]
)
def test_trials_shipped_tricals_risk_window(kb, values, status):
    record, assessment = _predicted(kb, values)
    screening = screen(record, assessment, _shipped(kb, "tricals_risk_window"), kb=kb)
    assert screening.status is status
    assert screening.example is True and screening.verified is False


def test_trials_shipped_tricals_without_prediction_unknown(kb):
    record, diagnosed = _encals_record(TYPICAL, cognition=[])
    trial = _shipped(kb, "tricals_risk_window")
    assert _screened(kb, record, diagnosed, trial).status is Status.UNKNOWN


def test_trials_fitting_trials_keeps_eligible_then_unknown(kb):
    # SOD1 variant (eligible), FVC 70 (the early-disease trial: not eligible), no ENCALS
    # prediction (the risk window: unknown).
    record = _record(
        respiratory=[respiratory("2024-01-20", fvc_percent_predicted=70)],
        genetics=[{"gene": "SOD1", "result": "pathogenic", "date": "2024-01-05"}],
    )
    assessment = assess(record, as_of=dt.date(2024, 2, 1), kb=kb)
    fitting = fitting_trials(record, assessment, kb=kb)
    assert [(s.trial_id, s.status) for s in fitting] == [
        ("sod1_variant", Status.ELIGIBLE),
        ("tricals_risk_window", Status.UNKNOWN),
    ]
    assert [c.criterion for c in fitting[1].unknown] == ["encals_linear_predictor"]


def test_trials_fitting_trials_none_for_a_patient_who_fits_none(kb):
    # A poor predicted prognosis (outside the window), FVC 70 % and no SOD1 variant.
    genetics = [
        {"gene": "C9orf72", "result": "pathogenic", "date": "2020-03-01"},
        {"gene": "SOD1", "result": "negative", "date": "2020-03-01"},
    ]
    record, diagnosed = _encals_record(POOR, genetics=genetics)
    assessment = assess(record, as_of=diagnosed + dt.timedelta(days=14), kb=kb)
    screened = [screen(record, assessment, trial, kb=kb) for trial in shipped_trials(kb)]
    assert {s.status for s in screened} == {Status.NOT_ELIGIBLE}
    assert fitting_trials(record, assessment, kb=kb) == ()
