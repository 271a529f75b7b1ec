"""ENCALS survival model (westeneng2018_encals; coefficients from vaneijk_encals_code MyLP()).

Worked examples: the reference table computed from the published coefficients, transformations
and the restricted cubic spline baseline (with the cube on every truncated term); linear
predictor within 0.01, median within 0.1 month, S(36) within 0.005.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from alscare import assess
from alscare.schemas.assessment import EncalsConditional, EncalsPrognosis
from tests.builders import losing, make_record, make_record_v2, rating, signs

AS_OF = dt.date(2025, 3, 1)
BOTH = signs(umn=True, lmn=True)
DEFINITE = {"bulbar": BOTH, "cervical": BOTH, "lumbosacral": BOTH}
PROBABLE = {"bulbar": BOTH, "cervical": BOTH}
POSSIBLE = {"cervical": BOTH}
UNKNOWN: dict[str, Any] = {}  # nothing examined: no El Escorial category
WORKED_ONSET = dt.date(2020, 1, 1)
# The baseline spline as published (westeneng2018_encals, vaneijk_encals_code), for the hand
# computations below: gammas g0-g3 and knots kmin, k1, k2, kmax in ln(months).
GAMMAS = (-6.409, 2.643, -0.546, 0.585)
KNOTS = (0.081, 3.108, 3.638, 5.917)


def _worked_record(values: tuple[float, ...]):
    """A record whose inputs at diagnosis are the worked example's, to within half a day: onset
    2020-01-01 at the age given, diagnosis after the delay, the rating that loses the nearest
    whole number of points at the rate given, FVC at diagnosis, and an examination that grades
    the El Escorial category definite or possible."""
    age, delay, rate, fvc, bulbar, definite, ftd, c9 = values
    diagnosed = WORKED_ONSET + dt.timedelta(days=round(delay * 30.4375))
    points = round(rate * delay)
    rated = WORKED_ONSET + dt.timedelta(days=round(points / rate * 30.4375))
    return make_record(
        birth_date=str(WORKED_ONSET - dt.timedelta(days=round(age * 365.25))),
        symptom_onset={"date": str(WORKED_ONSET), "site": "bulbar" if bulbar else "cervical"},
        diagnosis_date=str(diagnosed),
        progressive=True,
        exam=DEFINITE if definite else POSSIBLE,
        alsfrs_r=[rating(rated, **losing(points))],
        respiratory=[{"date": str(diagnosed), "fvc_percent_predicted": fvc}],
        cognition={"ftd": bool(ftd)},
        genetics=[{"gene": "C9orf72", "result": "pathogenic" if c9 else "negative"}],
    )


# age, delay, delta-FS, FVC, bulbar, definite, FTD, C9 -> LP, median (months), S(36).
WORKED_EXAMPLES = [
    ((60, 12, 0.5, 90, 0, 0, 0, 0), -4.680, 38.1, 0.550),
    ((60, 12, 0.5, 90, 1, 1, 0, 0), -4.178, 33.1, 0.425),
    ((65, 10, 0.8, 85, 0, 0, 0, 0), -3.863, 30.3, 0.351),
    ((70, 6, 1.5, 70, 1, 1, 1, 1), -1.451, 15.4, 0.046),
    ((50, 24, 0.2, 100, 0, 0, 0, 0), -7.077, 81.7, 0.931),
]


@pytest.mark.parametrize(("values", "lp", "median", "s36"), WORKED_EXAMPLES)
def test_encals_worked_examples(kb, values, lp, median, s36):
    result = assess(_worked_record(values), as_of=AS_OF, kb=kb).prognosis.encals
    inputs = result.inputs
    assert (inputs.age_at_onset_years, inputs.fvc_percent_predicted) == (values[0], values[3])
    assert inputs.progression_rate == pytest.approx(values[2], abs=0.005)
    assert result.linear_predictor == pytest.approx(lp, abs=0.01)
    assert result.median_survival_months == pytest.approx(median, abs=0.1)
    assert _predicted(result)[1]["36"] == pytest.approx(s36, abs=0.005)


def _eta(months: float) -> float:
    """The baseline at ln(months), by hand: g0 + g1 x + g2 v1 + g3 v2 with
    v_j = (x - k_j)+^3 - l_j (x - kmin)+^3 - (1 - l_j) (x - kmax)+^3 (the cube on every term)."""
    x = math.log(months)
    kmin, k1, k2, kmax = KNOTS

    def cube(u: float) -> float:
        return max(u, 0.0) ** 3

    def v(knot: float) -> float:
        share = (kmax - knot) / (kmax - kmin)
        return cube(x - knot) - share * cube(x - kmin) - (1 - share) * cube(x - kmax)

    return GAMMAS[0] + GAMMAS[1] * x + GAMMAS[2] * v(k1) + GAMMAS[3] * v(k2)


def _survival(months: float, lp: float) -> float:
    return 1 / (1 + math.exp(_eta(months) + lp))


def _predicted(result: EncalsPrognosis) -> tuple[float, dict[str, float]]:
    """The linear predictor and survival of a prediction that was made."""
    assert result.linear_predictor is not None and result.survival is not None
    return result.linear_predictor, result.survival


def _from_as_of(result: EncalsPrognosis) -> EncalsConditional:
    assert result.conditional is not None
    return result.conditional


def test_encals_survival_formula_at_every_report_time_by_hand(kb):
    """S(t) = 1 / (1 + exp(eta(ln t) + LP)), l_j = (kmax - k_j) / (kmax - kmin)."""
    kmin, k1, k2, kmax = KNOTS
    assert round((kmax - k1) / (kmax - kmin), 6) == 0.481323
    assert round((kmax - k2) / (kmax - kmin), 6) == 0.390507
    result = assess(_worked_record(WORKED_EXAMPLES[0][0]), as_of=AS_OF, kb=kb).prognosis.encals
    lp, survival_by_month = _predicted(result)
    for months, survival in survival_by_month.items():
        assert survival == pytest.approx(_survival(int(months), lp), abs=0.001), months


def test_encals_median_is_where_survival_crosses_one_half(kb):
    result = assess(_worked_record(WORKED_EXAMPLES[0][0]), as_of=AS_OF, kb=kb).prognosis.encals
    lp, survival = _predicted(result)
    median = result.median_survival_months
    assert median is not None
    assert _survival(median, lp) == pytest.approx(0.5, abs=0.002)
    before = [s for t, s in survival.items() if int(t) < median]
    after = [s for t, s in survival.items() if int(t) > median]
    assert min(before) > 0.5 > max(after)
    again = assess(_worked_record(WORKED_EXAMPLES[0][0]), as_of=AS_OF, kb=kb).prognosis.encals
    assert again.median_survival_months == median  # no random draw


def test_encals_baseline_is_linear_beyond_the_last_knot(kb):
    """With the cube on (x - kmax)+ the restricted spline is linear past kmax (exp(5.917) = 371
    months); the public code that drops that cube is not. Survival conditional on being
    event-free 35 years after onset reads the baseline there."""
    record = _worked_record(WORKED_EXAMPLES[0][0])
    later = AS_OF.replace(year=2055)
    result = assess(record, as_of=later, kb=kb).prognosis.encals
    conditional = _from_as_of(result)
    since = conditional.months_since_onset
    assert since > math.exp(KNOTS[-1])
    lp, _ = _predicted(result)
    for horizon, survival in conditional.survival.items():
        expected = _survival(since + int(horizon), lp) / _survival(since, lp)
        assert survival == pytest.approx(expected, abs=0.002), horizon
    a, b, c = (_eta(math.exp(KNOTS[-1] + step)) for step in (1.0, 2.0, 3.0))
    assert b - a == pytest.approx(c - b, rel=1e-12)


# --- inputs taken from the record at diagnosis ---------------------------------------------


def _record(**overrides):
    """Onset 2023-01-01 at age 60 (21915 days after birth), diagnosis 365 days later."""
    fields = {
        "birth_date": "1963-01-01",
        "symptom_onset": {"date": "2023-01-01", "site": "cervical"},
        "diagnosis_date": "2024-01-01",
        "progressive": True,
        "alsfrs_r": [rating("2024-01-01", speech=2, walking=2, handwriting=2)],
        "respiratory": [{"date": "2024-01-01", "fvc_percent_predicted": 90}],
        "cognition": {"ftd": False},
        "genetics": [{"gene": "C9orf72", "result": "negative"}],
    }
    fields.update(overrides)
    return make_record(**fields)


def _encals(kb, exam=PROBABLE, **overrides):
    """ENCALS on 2025-03-01; ``exam`` grades revised El Escorial (probable unless given)."""
    return assess(_record(exam=exam, **overrides), as_of=AS_OF, kb=kb).prognosis.encals


def test_encals_inputs_read_at_diagnosis(kb):
    result = _encals(kb)
    inputs = result.inputs
    assert inputs.age_at_onset_years == pytest.approx(60.0, abs=0.01)
    assert inputs.diagnostic_delay_months == pytest.approx(365 / 30.4375, abs=0.01)
    assert inputs.progression_rate == pytest.approx(6 / (365 / 30.4375), abs=0.01)
    assert inputs.fvc_percent_predicted == 90
    assert (inputs.bulbar_onset, inputs.definite_el_escorial) == (False, False)
    assert (inputs.ftd, inputs.c9orf72) == (False, False)
    assert result.missing == ()
    assert result.linear_predictor is not None and result.median_survival_months is not None
    assert list(result.survival) == ["12", "24", "36", "48", "60"]
    assert list(result.survival.values()) == sorted(result.survival.values(), reverse=True)
    assert result.sources[:2] == ("westeneng2018_encals", "vaneijk_encals_code")


def test_encals_engine_matches_worked_example_1(kb):
    """Example 1 (age 60, delay 12, delta-FS 0.5, FVC 90, no binary predictor): LP -4.680.
    Delay 365.25 days cannot be a date; 365 days moves the LP by less than 0.01."""
    result = _encals(
        kb,
        alsfrs_r=[rating("2024-01-01", speech=2, walking=2, handwriting=2)],
    )
    assert result.linear_predictor == pytest.approx(-4.680, abs=0.01)
    assert result.median_survival_months == pytest.approx(38.1, abs=0.2)
    assert result.survival["36"] == pytest.approx(0.550, abs=0.01)


def test_encals_uses_rating_and_fvc_nearest_diagnosis_not_latest(kb):
    result = _encals(
        kb,
        alsfrs_r=[
            rating("2024-12-01", speech=0, walking=0, handwriting=0, swallowing=0),
            rating("2023-12-20", speech=3),
            rating("2023-06-01"),
        ],
        respiratory=[
            {"date": "2024-12-01", "fvc_percent_predicted": 40},
            {"date": "2024-01-10", "fvc_percent_predicted": 81},
        ],
    )
    assert result.inputs.progression_rate == pytest.approx(1 / (353 / 30.4375), abs=0.01)
    assert result.inputs.fvc_percent_predicted == 81
    assert any("12 days before diagnosis" in reason for reason in result.because)
    assert any("9 days after diagnosis" in reason for reason in result.because)


def test_encals_nearest_rating_tie_takes_the_earlier(kb):
    result = _encals(kb, alsfrs_r=[rating("2024-01-11", speech=0), rating("2023-12-22", speech=3)])
    assert result.inputs.progression_rate == pytest.approx(1 / (355 / 30.4375), abs=0.01)


def test_encals_definite_from_el_escorial_category(kb):
    definite = _encals(kb, exam=DEFINITE)
    probable = _encals(kb, exam=PROBABLE)
    assert definite.inputs.definite_el_escorial is True
    assert definite.linear_predictor - probable.linear_predictor == pytest.approx(0.233, abs=0.001)


def test_encals_el_escorial_unknown_is_missing(kb):
    result = _encals(kb, exam=UNKNOWN)
    assert result.inputs.definite_el_escorial is None
    assert result.linear_predictor is None and result.survival is None
    assert result.missing == ("revised El Escorial category (for the ENCALS prognosis)",)


@pytest.mark.parametrize(
    ("overrides", "ftd"),
    [
        ({"cognition": {"ftd": True}}, True),
        ({"cognition": None, "findings": [{"id": "ftd_features", "present": True}]}, True),
        (
            {"cognition": {"ftd": False}, "findings": [{"id": "ftd_features", "present": True}]},
            True,
        ),
        ({"cognition": None, "findings": [{"id": "ftd_features", "present": False}]}, False),
        ({"cognition": {"ecas_total": 100}}, None),
        ({"cognition": None}, None),
    ],
)
def test_encals_ftd_from_cognition_or_finding(kb, overrides, ftd):
    result = _encals(kb, **overrides)
    assert result.inputs.ftd is ftd
    assert (result.linear_predictor is None) is (ftd is None)


@pytest.mark.parametrize(
    ("genetics", "c9"),
    [
        ([{"gene": "C9orf72", "result": "pathogenic"}], True),
        ([{"gene": "C9ORF72", "result": "likely_pathogenic"}], True),
        (
            [{"gene": "C9orf72", "result": "negative"}, {"gene": "SOD1", "result": "pathogenic"}],
            False,
        ),
        # One causal-variant definition everywhere: a VUS is neither causal nor a negative
        # result, so the C9orf72 input stays unknown.
        ([{"gene": "C9orf72", "result": "vus"}], None),
        ([{"gene": "C9orf72", "result": "not_tested"}], None),
        ([{"gene": "SOD1", "result": "negative"}], None),
        ([], None),
    ],
)
def test_encals_c9orf72_from_genetics(kb, genetics, c9):
    result = _encals(kb, genetics=genetics)
    assert result.inputs.c9orf72 is c9
    if c9 is None:
        assert "C9orf72 result (for the ENCALS prognosis)" in result.missing


def test_encals_c9orf72_adds_its_coefficient(kb):
    positive = _encals(kb, genetics=[{"gene": "C9orf72", "result": "pathogenic"}])
    negative = _encals(kb)
    assert positive.linear_predictor - negative.linear_predictor == pytest.approx(0.256, abs=0.001)


@pytest.mark.parametrize(("site", "bulbar"), [("bulbar", True), ("lumbosacral", False)])
def test_encals_bulbar_onset_from_site(kb, site, bulbar):
    result = _encals(kb, symptom_onset={"date": "2023-01-01", "site": site})
    assert result.inputs.bulbar_onset is bulbar


def test_encals_onset_site_missing(kb):
    result = _encals(kb, symptom_onset={"date": "2023-01-01"})
    assert result.missing == ("symptom onset site (for the ENCALS bulbar onset)",)


def test_encals_age_from_age_years_on_the_date_it_was_true(kb):
    # Record v2 dates an age (age_on); the v1 upgrade dates an undated age on the record's latest
    # dated entry (here 2024-01-01), where v1 read it on the assessment date.
    v1 = _encals(kb, birth_date=None, age_years=62.16)
    on_latest = 62.16 - (dt.date(2024, 1, 1) - dt.date(2023, 1, 1)).days / 365.25
    assert v1.inputs.age_at_onset_years == pytest.approx(on_latest, abs=0.01)
    data = _record(birth_date=None, exam=PROBABLE).to_json_dict()
    data.update(age_years=62.16, age_on=str(AS_OF))
    v2 = assess(make_record_v2(**data), as_of=AS_OF, kb=kb).prognosis.encals
    on_as_of = 62.16 - (AS_OF - dt.date(2023, 1, 1)).days / 365.25
    assert v2.inputs.age_at_onset_years == pytest.approx(on_as_of, abs=0.01)


def test_encals_age_missing(kb):
    result = _encals(kb, birth_date=None)
    assert result.missing == ("birth date or age (for the ENCALS age at onset)",)


def test_encals_without_onset_date(kb):
    result = _encals(kb, symptom_onset={"site": "bulbar"})
    assert result.missing == ("symptom onset date (for the ENCALS prognosis)",)
    assert result.inputs.bulbar_onset is True and result.inputs.fvc_percent_predicted == 90


def test_encals_without_diagnosis_date(kb):
    result = _encals(kb, diagnosis_date=None)
    assert len(result.missing) == 1 and result.missing[0].startswith("diagnosis date")
    assert result.inputs.progression_rate is None and result.inputs.fvc_percent_predicted is None


def test_encals_without_rating_or_fvc(kb):
    result = _encals(kb, alsfrs_r=[], respiratory=[{"date": "2024-01-01", "snip_cmh2o": 50}])
    assert result.missing == (
        "an ALSFRS-R rating with every item rated (for the ENCALS progression rate)",
        "FVC % predicted (for the ENCALS prognosis)",
    )


def test_encals_rating_on_onset_day_gives_no_rate(kb):
    result = _encals(kb, diagnosis_date="2023-01-01", alsfrs_r=[rating("2023-01-01")])
    assert any("undefined at 0 months" in item for item in result.missing)


def test_encals_zero_diagnostic_delay_is_out_of_model_range(kb):
    # Redesign: outside the model's credible range the prediction is `applicable: false` with
    # null numbers and the reasons (was: null with the delay named as missing).
    result = _encals(kb, diagnosis_date="2023-01-01")
    assert result.linear_predictor is None and result.survival is None
    assert result.applicable is False and result.missing == ()
    assert any(
        reason.startswith("not applicable: diagnostic delay 0.0 months is below 2.5 months")
        for reason in result.because
    )


def test_encals_delay_below_the_turning_point_not_applicable(kb):
    # encals.yaml applicability: the delay transform is lowest at 2.5 months; below it a shorter
    # delay would predict longer survival. Diagnosis 59 days (1.9 months) after onset.
    result = _encals(
        kb,
        diagnosis_date="2023-03-01",
        alsfrs_r=[rating("2023-03-01", speech=3)],
        respiratory=[{"date": "2023-03-01", "fvc_percent_predicted": 90}],
    )
    assert result.applicable is False and result.linear_predictor is None
    assert "vaneijk_encals_code" in result.sources


def test_encals_rating_far_from_diagnosis_not_applicable(kb):
    # The inputs are taken at diagnosis: a rating 4 months away is outside the 3-month window.
    result = _encals(kb, alsfrs_r=[rating("2024-05-01", speech=2, walking=2, handwriting=2)])
    assert result.applicable is False
    assert result.verified is False  # the window is alscare's reading
    assert any("not an input at diagnosis" in reason for reason in result.because)


def test_encals_names_its_event_and_is_applicable(kb):
    result = _encals(kb)
    assert result.event == "death, tracheostomy or non-invasive ventilation over 23 hours a day"
    assert result.applicable is True


def test_encals_conditional_survival_from_the_assessment_date(kb):
    result = _encals(kb)
    conditional = _from_as_of(result)
    since = (AS_OF - dt.date(2023, 1, 1)).days / 30.4375
    assert conditional.months_since_onset == round(since, 1)
    lp, _ = _predicted(result)
    for horizon, survival in conditional.survival.items():
        expected = _survival(since + int(horizon), lp) / _survival(since, lp)
        assert survival == pytest.approx(expected, abs=0.002), horizon
    assert list(conditional.survival) == ["12", "24"]


@pytest.mark.parametrize(
    ("overrides", "event"),
    [
        ({"death": {"date": "2025-01-10"}}, "died on 2025-01-10"),
        (
            {"interventions": [{"kind": "tracheostomy", "event": "started", "date": "2024-11-01"}]},
            "tracheostomy on 2024-11-01",
        ),
        (
            {
                "interventions": [
                    {"kind": "niv", "event": "started", "date": "2024-11-01", "hours_per_day": 24}
                ]
            },
            "NIV over 23 hours a day from 2024-11-01",
        ),
    ],
    ids=["death", "tracheostomy", "niv-24h"],
)
def test_encals_no_conditional_survival_after_the_event(kb, overrides, event):
    data = _record(exam=PROBABLE).to_json_dict() | overrides
    result = assess(make_record_v2(**data), as_of=AS_OF, kb=kb).prognosis.encals
    assert result.linear_predictor is not None and result.conditional is None
    assert any(f"the event has occurred ({event})" in reason for reason in result.because)


def test_encals_niv_part_of_the_day_is_not_the_event(kb):
    niv = [{"kind": "niv", "event": "started", "date": "2024-11-01", "hours_per_day": 12}]
    data = _record(exam=PROBABLE).to_json_dict() | {"interventions": niv}
    result = assess(make_record_v2(**data), as_of=AS_OF, kb=kb).prognosis.encals
    assert result.conditional is not None


def test_encals_median_before_the_first_knot_is_null(kb):
    """FVC 4 % predicted (a boundary case, not a clinical one) gives a linear predictor so high
    that S(t) is below 0.5 from the first knot on (exp(0.081) = 1.1 months): no median within
    the model's range."""
    result = _encals(kb, respiratory=[{"date": "2024-01-01", "fvc_percent_predicted": 4}])
    assert result.linear_predictor > -_eta(math.exp(KNOTS[0]))
    assert result.median_survival_months is None
    assert any("outside the model's time range" in reason for reason in result.because)


def test_encals_median_beyond_model_range_explained(kb):
    """A very slow, late-diagnosed, young patient: S(t) stays above 0.5 to the last knot."""
    result = _encals(
        kb,
        birth_date="1993-01-01",
        symptom_onset={"date": "2013-01-01", "site": "cervical"},
        diagnosis_date="2023-01-01",
        alsfrs_r=[rating("2023-01-01")],
        respiratory=[{"date": "2023-01-01", "fvc_percent_predicted": 120}],
    )
    assert result.linear_predictor is not None and result.median_survival_months is None
    assert any("outside the model's time range" in reason for reason in result.because)


def test_encals_outputs_no_risk_group(kb):
    assert "group" not in _encals(kb).model_dump_json()


def test_encals_coefficients_have_sources(kb):
    model = kb.scoring.encals
    assert {"westeneng2018_encals", "vaneijk_encals_code"} <= set(model.source_ids)
    assert [p.coefficient for p in model.predictors][:3] == [
        -1.83665700485301,
        -2.37341404599814,
        -0.266972062796289,
    ]


def test_encals_without_onset_or_diagnosis_names_both(kb):
    result = _encals(kb, symptom_onset=None, diagnosis_date=None)
    assert result.missing == (
        "symptom onset date (for the ENCALS prognosis)",
        "diagnosis date (for the ENCALS prognosis, which takes its inputs at diagnosis)",
        "symptom onset site (for the ENCALS bulbar onset)",
    )
