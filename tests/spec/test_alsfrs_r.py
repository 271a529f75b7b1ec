"""ALSFRS-R total, domains, progression rate (delta-FS), slope and bands, from the definitions.

Sources: cedarbaum1999_alsfrs_r (items, 0-4 each, total 0-48, item 5a/5b),
franchignoni2017_alsfrs_r_domains (bulbar 1-3, fine motor 4-6, gross motor 7-9, respiratory
10-12), kimura2006_progression_rate (delta-FS = (48 - total) / months from onset),
vaneijk_encals_code (months = days / 30.4375), progression bands [M] (unverified).
"""

from __future__ import annotations

import datetime as dt

import pytest

from alscare import assess
from tests.builders import losing, make_record, make_record_v2, rating

AS_OF = dt.date(2025, 3, 1)


def _scores(kb, **fields):
    return assess(make_record(**fields), as_of=AS_OF, kb=kb).scores


# (items changed from all-4, total, bulbar, fine motor, gross motor, respiratory); Cedarbaum 1999
# item list and Franchignoni 2017 domains.
DOMAIN_CASES = [
    ({}, 48, 12, 12, 12, 12),
    ({"speech": 3, "salivation": 2, "swallowing": 1}, 42, 6, 12, 12, 12),
    ({"handwriting": 0, "cutting_food": 1, "dressing_hygiene": 2}, 39, 12, 3, 12, 12),
    ({"turning_in_bed": 3, "walking": 2, "climbing_stairs": 0}, 41, 12, 12, 5, 12),
    ({"dyspnea": 1, "orthopnea": 2, "respiratory_insufficiency": 3}, 42, 12, 12, 12, 6),
    (dict.fromkeys(rating()["items"], 0), 0, 0, 0, 0, 0),
]


@pytest.mark.parametrize(("items", "total", "bulbar", "fine", "gross", "resp"), DOMAIN_CASES)
def test_alsfrs_r_total_and_domains_follow_cedarbaum_and_franchignoni(
    kb, items, total, bulbar, fine, gross, resp
):
    result = _scores(kb, alsfrs_r=[rating("2025-01-10", **items)]).alsfrs_r
    assert result is not None
    assert (result.total, result.bulbar, result.fine_motor, result.gross_motor) == (
        total,
        bulbar,
        fine,
        gross,
    )
    assert result.respiratory == resp
    assert result.date == dt.date(2025, 1, 10)


def test_alsfrs_r_item_5_form_follows_gastrostomy_flag(kb):
    assert _scores(kb, alsfrs_r=[rating(gastrostomy=True)]).alsfrs_r.item_5 == "5b"
    assert _scores(kb, alsfrs_r=[rating(gastrostomy=False)]).alsfrs_r.item_5 == "5a"
    assert _scores(kb, alsfrs_r=[rating()]).alsfrs_r.item_5 == "5a"


def test_alsfrs_r_item_5_form_not_recorded_in_v1_is_taken_as_5a_and_says_so(kb):
    # Upgrade rules: a v1 rating without `gastrostomy` is read as 5a, and the assessment says so.
    assumed = _scores(kb, alsfrs_r=[rating()])
    assert any("5b or 5a not recorded: taken as 5a" in reason for reason in assumed.because)
    recorded = _scores(kb, alsfrs_r=[rating(gastrostomy=False)])
    assert not any("not recorded" in reason for reason in recorded.because)


def test_alsfrs_r_5b_scores_count_in_fine_motor_like_5a(kb):
    """Cedarbaum: exactly one of 5a/5b is scored; either is item 5 of the fine motor domain."""
    result = _scores(kb, alsfrs_r=[rating(gastrostomy=True, cutting_food=1)]).alsfrs_r
    assert (result.total, result.fine_motor) == (45, 9)


def test_alsfrs_r_scores_use_the_latest_rating_whatever_the_list_order(kb):
    ratings = [rating("2025-02-01", speech=2), rating("2024-06-01", speech=4)]
    result = _scores(kb, alsfrs_r=ratings).alsfrs_r
    assert (result.date, result.total) == (dt.date(2025, 2, 1), 46)


def test_alsfrs_r_none_without_rating_and_missing_says_so(kb):
    result = _scores(kb)
    assert result.alsfrs_r is None and result.progression_rate is None
    assert result.alsfrs_r_slope is None
    assert any(item.startswith("ALSFRS-R rating") for item in result.missing)


# Kimura 2006: delta-FS = (48 - total) / months; months = days / 30.4375 (ENCALS code).
RATE_CASES = [
    ("2024-01-01", "2024-07-01", {"walking": 0, "climbing_stairs": 0}, 8 / (182 / 30.4375)),
    ("2024-01-01", "2025-01-01", {"speech": 0}, 4 / (366 / 30.4375)),
    ("2023-01-01", "2025-01-01", {}, 0.0),
]


@pytest.mark.parametrize(("onset", "rated", "items", "expected"), RATE_CASES)
def test_progression_rate_is_points_lost_per_month_since_onset(kb, onset, rated, items, expected):
    result = _scores(kb, symptom_onset={"date": onset}, alsfrs_r=[rating(rated, **items)])
    assert result.progression_rate == pytest.approx(expected, abs=0.005)
    assert "kimura2006_progression_rate" in result.sources
    assert any(f"symptom onset {onset}" in reason for reason in result.because)


def test_progression_rate_months_are_days_over_30_4375(kb):
    # 4 points in 91 days: 1.3379 points/month with 30.4375-day months (1.32 with 30-day ones).
    result = _scores(
        kb, symptom_onset={"date": "2024-01-01"}, alsfrs_r=[rating("2024-04-01", speech=0)]
    )
    assert result.progression_rate == round(4 / (91 / 30.4375), 2) == 1.34
    # 48 points in 31 days tells 30.4375 (47.13) from 365 / 12 (47.10) at two decimals.
    fastest = _scores(
        kb, symptom_onset={"date": "2024-01-01"}, alsfrs_r=[rating("2024-02-01", **losing(48))]
    )
    assert fastest.progression_rate == 47.13


@pytest.mark.parametrize("rated", ["2024-01-01", "2023-12-01"])
def test_progression_rate_undefined_at_zero_or_negative_duration(kb, rated):
    result = _scores(kb, symptom_onset={"date": "2024-01-01"}, alsfrs_r=[rating(rated)])
    assert result.progression_rate is None and result.progression_band is None
    assert any("undefined at 0 months" in item for item in result.missing)


def test_progression_rate_missing_without_onset_date(kb):
    result = _scores(kb, symptom_onset={"site": "bulbar"}, alsfrs_r=[rating(speech=2)])
    assert result.progression_rate is None
    assert "symptom onset date (for the progression rate)" in result.missing


def test_slope_between_first_and_latest_rating_in_points_per_month(kb):
    ratings = [
        rating("2024-06-12", handwriting=2),
        rating("2024-09-18", handwriting=1),
        rating("2024-12-20", handwriting=0, walking=2),
    ]
    result = _scores(kb, alsfrs_r=ratings)
    assert result.alsfrs_r_slope == pytest.approx(round((42 - 46) / (191 / 30.4375), 2))


def test_slope_null_with_one_rating_or_one_date(kb):
    one = _scores(kb, alsfrs_r=[rating("2025-01-01")])
    same_day = _scores(kb, alsfrs_r=[rating("2025-01-01"), rating("2025-01-01", speech=3)])
    for result in (one, same_day):
        assert result.alsfrs_r_slope is None
        assert any("second ALSFRS-R rating" in item for item in result.missing)


# Bands [M]: slow < 0.5, intermediate 0.5-1.0, fast > 1.0 points per month. 487 days are exactly
# 16 months (16 x 30.4375), so 8 and 16 points lost in 487 days are exactly 0.5 and 1.0.
@pytest.mark.parametrize(
    ("points", "days", "band"),
    [(0, 487, "slow"), (8, 488, "slow"), (8, 487, "intermediate"), (16, 487, "intermediate"),
     (16, 486, "fast")],
    ids=["0.0", "0.499", "0.5", "1.0", "1.002"],
)  # fmt: skip
def test_progression_band_limits(kb, points, days, band):
    rated = dt.date(2023, 1, 1) + dt.timedelta(days=days)
    result = _scores(
        kb, symptom_onset={"date": "2023-01-01"}, alsfrs_r=[rating(rated, **losing(points))]
    )
    assert result.progression_band == band


def test_progression_band_thresholds_marked_unverified(kb):
    assert kb.scoring.progression_bands.verified is False
    result = _scores(kb, symptom_onset={"date": "2024-01-01"}, alsfrs_r=[rating("2025-01-01")])
    assert result.progression_band == "slow"
    assert any("band limits unverified" in reason for reason in result.because)


def test_progression_band_because_omits_flag_once_verified(kb):
    bands = kb.scoring.progression_bands.model_copy(update={"verified": True})
    verified_kb = kb.model_copy(
        update={"scoring": kb.scoring.model_copy(update={"progression_bands": bands})}
    )
    result = _scores(
        verified_kb, symptom_onset={"date": "2024-01-01"}, alsfrs_r=[rating("2025-01-01")]
    )
    assert not any("unverified" in reason for reason in result.because)


def test_alsfrs_r_total_counts_every_point_lost(kb):
    assert _scores(kb, alsfrs_r=[rating(speech=1, dyspnea=2)]).alsfrs_r.total == 43


# --- record v2: items may be unrated ----------------------------------------------------------


def test_alsfrs_r_scores_use_the_latest_complete_rating_and_name_unrated_items(kb):
    ratings = [
        rating("2024-12-01", gastrostomy=False, speech=2),
        rating("2025-02-01", gastrostomy=False, speech=1, walking=None, dyspnea=None),
    ]
    result = assess(make_record_v2(alsfrs_r=ratings), as_of=AS_OF, kb=kb).scores
    assert result.alsfrs_r is not None
    assert (result.alsfrs_r.date, result.alsfrs_r.total) == (dt.date(2024, 12, 1), 46)
    assert "ALSFRS-R of 2025-02-01 leaves items unrated: walking, dyspnea" in result.because
    assert any("the latest with every item rated" in reason for reason in result.because)


def test_alsfrs_r_without_a_complete_rating_has_no_total(kb):
    partial = [rating("2025-02-01", gastrostomy=False, speech=None)]
    result = assess(make_record_v2(alsfrs_r=partial), as_of=AS_OF, kb=kb).scores
    assert result.alsfrs_r is None and result.progression_rate is None
    assert "an ALSFRS-R rating with every item rated (for the total)" in result.missing
