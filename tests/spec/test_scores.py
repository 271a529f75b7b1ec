"""FVC % predicted (latest), weight loss from premorbid weight (latest weight) and BMI.

Definitions: the latest entry of each series is the current value (record v1 spec); weight loss
% = (premorbid - latest) / premorbid x 100; BMI = kg / m2.
"""

from __future__ import annotations

import datetime as dt

import pytest

from alscare import assess
from tests.builders import make_record

AS_OF = dt.date(2025, 3, 1)


def _scores(kb, **fields):
    return assess(make_record(**fields), as_of=AS_OF, kb=kb).scores


def test_fvc_is_the_latest_measurement_with_an_fvc(kb):
    result = _scores(
        kb,
        respiratory=[
            {"date": "2025-02-01", "snip_cmh2o": 40},
            {"date": "2024-06-01", "fvc_percent_predicted": 90},
            {"date": "2024-12-01", "fvc_percent_predicted": 71.5},
        ],
    )
    assert result.fvc_percent_predicted == 71.5
    assert "FVC 71.5 % predicted on 2024-12-01" in result.because


def test_fvc_missing_when_never_measured(kb):
    result = _scores(kb, respiratory=[{"date": "2025-02-01", "snip_cmh2o": 40}])
    assert result.fvc_percent_predicted is None
    assert "FVC % predicted" in result.missing


@pytest.mark.parametrize(
    ("premorbid", "latest", "expected"),
    [(70.0, 64.0, 8.6), (63.0, 58.0, 7.9), (80.0, 80.0, 0.0), (60.0, 66.0, -10.0)],
)
def test_weight_loss_percent_from_premorbid_to_latest(kb, premorbid, latest, expected):
    result = _scores(
        kb,
        premorbid_weight_kg=premorbid,
        weights=[{"date": "2025-02-01", "kg": latest}, {"date": "2024-01-01", "kg": 99.0}],
    )
    assert result.weight_loss_percent == expected


def test_weight_gain_is_named_gain(kb):
    result = _scores(kb, premorbid_weight_kg=60, weights=[{"date": "2025-01-01", "kg": 66}])
    assert any("a gain of 10 % from the premorbid 60 kg" in reason for reason in result.because)


@pytest.mark.parametrize(
    ("kg", "height", "expected"), [(64.0, 168, 22.7), (58.0, 165, 21.3), (55.0, 170, 19.0)]
)
def test_bmi_from_latest_weight_and_height(kb, kg, height, expected):
    result = _scores(kb, height_cm=height, weights=[{"date": "2025-01-01", "kg": kg}])
    assert result.bmi == expected


def test_weight_scores_missing_parts_named(kb):
    no_weight = _scores(kb, height_cm=170, premorbid_weight_kg=70)
    assert no_weight.bmi is None and no_weight.weight_loss_percent is None
    assert "body weight (for weight loss and BMI)" in no_weight.missing
    no_extras = _scores(kb, weights=[{"date": "2025-01-01", "kg": 70}])
    assert "premorbid weight (for weight loss)" in no_extras.missing
    assert "height (for BMI)" in no_extras.missing


def test_score_arithmetic_unrounded_before_rounding(kb):
    # (70 - 63) / 70 = 10 % exactly; 81 kg at 1.80 m = 25.0 kg/m2 exactly.
    result = _scores(
        kb, premorbid_weight_kg=70, height_cm=180, weights=[{"date": "2025-02-01", "kg": 81}]
    )
    assert result.bmi == 25.0
    assert (
        _scores(
            kb, premorbid_weight_kg=70, weights=[{"date": "2025-02-01", "kg": 63}]
        ).weight_loss_percent
        == 10.0
    )


def test_scores_of_an_empty_record_are_all_null_with_reasons(kb):
    result = _scores(kb)
    assert result.model_dump(include={"alsfrs_r", "fvc_percent_predicted", "bmi"}) == {
        "alsfrs_r": None,
        "fvc_percent_predicted": None,
        "bmi": None,
    }
    assert result.because == () and len(result.missing) == 3


# --- dates, staleness and implausible values (rules/definitions.yaml) ----------------------------


def test_scores_dates_name_each_measurement(kb):
    result = _scores(
        kb,
        height_cm=170,
        respiratory=[{"date": "2025-01-20", "fvc_percent_predicted": 80}],
        weights=[{"date": "2025-02-10", "kg": 70}],
    )
    assert result.dates == {
        "fvc_percent_predicted": dt.date(2025, 1, 20),
        "bmi": dt.date(2025, 2, 10),
    }
    assert result.stale == ()


def test_scores_older_than_the_three_month_window_are_stale(kb):
    # nice2010_cg105: respiratory tests about every 3 months; 2024-11-15 is 3.5 months old.
    result = _scores(kb, respiratory=[{"date": "2024-11-15", "fvc_percent_predicted": 80}])
    assert result.fvc_percent_predicted == 80
    assert result.stale == ("fvc_percent_predicted",)
    assert "a new respiratory function test: the latest is of 2024-11-15" in result.missing
    assert "nice2010_cg105" in result.sources


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"height_cm": 50, "weights": [{"date": "2025-02-01", "kg": 300}]}, "bmi"),
        ({"premorbid_weight_kg": 100, "weights": [{"date": "2025-02-01", "kg": 45}]},
         "weight_loss_percent"),
    ],
)  # fmt: skip
def test_scores_beyond_data_quality_limits_shown_and_flagged(kb, fields, name):
    result = _scores(kb, **fields)
    assert result.model_dump()[name] is not None
    assert result.implausible == (name,)
    assert result.verified is False
    assert any("implausible" in reason for reason in result.because)
