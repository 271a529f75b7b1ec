"""ENCALS survival model (westeneng2018_encals; coefficients from vaneijk_encals_code MyLP()).

Worked examples: the reference table computed from the published coefficients, transformations
and the restricted cubic spline baseline (with the cube on every truncated term); linear
predictor within 0.01, median within 0.1 month, S(36) within 0.005.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from alscare.engine.prognosis import (
    baseline_eta,
    linear_predictor,
    median_survival_months,
    prognosis,
    survival_probability,
    transformed,
)
from alscare.engine.timeline import cut_off
from alscare.schemas.assessment import Criteria, ElEscorialResult
from tests.builders import make_record, rating

INPUTS = (
    "age_at_onset_years",
    "diagnostic_delay_months",
    "progression_rate",
    "fvc_percent_predicted",
    "bulbar_onset",
    "definite_el_escorial",
    "ftd",
    "c9orf72",
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
    model = kb.scoring.encals
    computed = linear_predictor(dict(zip(INPUTS, map(float, values), strict=True)), model)
    assert computed == pytest.approx(lp, abs=0.01)
    assert median_survival_months(computed, model.baseline) == pytest.approx(median, abs=0.1)
    assert survival_probability(36, computed, model.baseline) == pytest.approx(s36, abs=0.005)


def test_encals_median_solves_s_equal_one_half(kb):
    baseline = kb.scoring.encals.baseline
    median = median_survival_months(-4.68, baseline)
    assert survival_probability(median, -4.68, baseline) == pytest.approx(0.5, abs=1e-9)
    assert median_survival_months(-4.68, baseline) == median  # no random draw


def test_encals_survival_formula_at_36_months_by_hand(kb):
    """S(t) = 1 / (1 + exp(g0 + g1 x + g2 v1 + g3 v2 + LP)), x = ln t,
    l_j = (kmax - k_j) / (kmax - kmin)."""
    x = math.log(36)
    kmin, k1, k2, kmax = 0.081, 3.108, 3.638, 5.917
    l1, l2 = (kmax - k1) / (kmax - kmin), (kmax - k2) / (kmax - kmin)
    assert (round(l1, 6), round(l2, 6)) == (0.481323, 0.390507)

    def v(k, share):
        pos = lambda u: max(u, 0.0) ** 3  # noqa: E731
        return pos(x - k) - share * pos(x - kmin) - (1 - share) * pos(x - kmax)

    eta = -6.409 + 2.643 * x - 0.546 * v(k1, l1) + 0.585 * v(k2, l2)
    assert baseline_eta(x, kb.scoring.encals.baseline) == pytest.approx(eta)
    assert survival_probability(36, -4.68, kb.scoring.encals.baseline) == pytest.approx(
        1 / (1 + math.exp(eta - 4.68))
    )


def test_encals_baseline_is_linear_beyond_the_last_knot(kb):
    """With the cube on (x - kmax)+ the restricted spline is linear past kmax; the public code
    that drops that cube is not."""
    baseline = kb.scoring.encals.baseline
    kmax = baseline.knots_ln_months[-1]
    a, b, c = (baseline_eta(kmax + step, baseline) for step in (1.0, 2.0, 3.0))
    assert b - a == pytest.approx(c - b, rel=1e-12)


def test_encals_survival_extreme_predictor_does_not_overflow(kb):
    baseline = kb.scoring.encals.baseline
    assert survival_probability(12, 5000.0, baseline) == 0.0
    assert survival_probability(12, -5000.0, baseline) == 1.0


@pytest.mark.parametrize("lp", [7.0, -11.0])
def test_encals_median_outside_the_knot_range_is_null(kb, lp):
    assert median_survival_months(lp, kb.scoring.encals.baseline) is None


def test_encals_transform_outside_domain_is_null(kb):
    predictors = {p.input: p for p in kb.scoring.encals.predictors}
    assert transformed(predictors["diagnostic_delay_months"], 0.0) is None
    assert transformed(predictors["fvc_percent_predicted"], 0.0) is None
    assert transformed(predictors["ftd"], 0.0) == 0.0
    assert transformed(predictors["diagnostic_delay_months"], 10.0) == pytest.approx(1.0)


def test_encals_linear_predictor_null_when_an_input_is_out_of_range(kb):
    values = dict(zip(INPUTS, (60.0, 0.0, 0.5, 90.0, 0.0, 0.0, 0.0, 0.0), strict=True))
    assert linear_predictor(values, kb.scoring.encals) is None


# --- inputs taken from the record at diagnosis ---------------------------------------------

AS_OF = dt.date(2025, 3, 1)
DEFINITE = Criteria(el_escorial=ElEscorialResult(category="definite"))
PROBABLE = Criteria(el_escorial=ElEscorialResult(category="probable"))
UNKNOWN = Criteria()


def _record(**overrides):
    """Onset 2023-01-01 at age 60 (21915 days after birth), diagnosis 365 days later."""
    fields = {
        "birth_date": "1963-01-01",
        "symptom_onset": {"date": "2023-01-01", "site": "cervical"},
        "diagnosis_date": "2024-01-01",
        "alsfrs_r": [rating("2024-01-01", speech=2, walking=2, handwriting=2)],
        "respiratory": [{"date": "2024-01-01", "fvc_percent_predicted": 90}],
        "cognition": {"ftd": False},
        "genetics": [{"gene": "C9orf72", "result": "negative"}],
    }
    fields.update(overrides)
    return make_record(**fields)


def _encals(kb, criteria=PROBABLE, **overrides):
    return prognosis(cut_off(_record(**overrides), AS_OF), criteria, kb).encals


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
    definite = _encals(kb, criteria=DEFINITE)
    probable = _encals(kb, criteria=PROBABLE)
    assert definite.inputs.definite_el_escorial is True
    assert definite.linear_predictor - probable.linear_predictor == pytest.approx(0.233, abs=0.001)


def test_encals_el_escorial_unknown_is_missing(kb):
    result = _encals(kb, criteria=UNKNOWN)
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


def test_encals_age_from_age_years_on_as_of(kb):
    result = _encals(kb, birth_date=None, age_years=62.16)
    expected = 62.16 - (AS_OF - dt.date(2023, 1, 1)).days / 365.25
    assert result.inputs.age_at_onset_years == pytest.approx(expected, abs=0.01)


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
        "ALSFRS-R rating (for the ENCALS progression rate at diagnosis)",
        "FVC % predicted (for the ENCALS prognosis)",
    )


def test_encals_rating_on_onset_day_gives_no_rate(kb):
    result = _encals(kb, diagnosis_date="2023-01-01", alsfrs_r=[rating("2023-01-01")])
    assert any("undefined at 0 months" in item for item in result.missing)


def test_encals_zero_diagnostic_delay_is_out_of_model_range(kb):
    result = _encals(kb, diagnosis_date="2023-01-01")
    assert result.linear_predictor is None
    assert result.missing == ("diagnostic_delay_months within the ENCALS model's range (above 0)",)


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
