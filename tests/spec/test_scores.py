"""FVC % predicted (latest), weight loss from premorbid weight (latest weight) and BMI.

Definitions: the latest entry of each series is the current value (record v1 spec); weight loss
% = (premorbid - latest) / premorbid x 100; BMI = kg / m2.
"""

from __future__ import annotations

import datetime as dt

import pytest

from alscare.engine.scores import bmi, scores, weight_loss_percent
from alscare.engine.timeline import cut_off
from tests.builders import make_record

AS_OF = dt.date(2025, 3, 1)


def _scores(kb, **fields):
    return scores(cut_off(make_record(**fields), AS_OF), kb)


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
    assert any("gain of 10.0 %" in reason for reason in result.because)


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


def test_score_functions_plain_arithmetic():
    assert weight_loss_percent(70, 63) == pytest.approx(10.0)
    assert bmi(81, 180) == pytest.approx(25.0)


def test_scores_of_an_empty_record_are_all_null_with_reasons(kb):
    result = _scores(kb)
    assert result.model_dump(include={"alsfrs_r", "fvc_percent_predicted", "bmi"}) == {
        "alsfrs_r": None,
        "fvc_percent_predicted": None,
        "bmi": None,
    }
    assert result.because == () and len(result.missing) == 3
