"""The cohort analytics on tiny cohorts worked out by hand, in a real in-memory DuckDB.

Each test builds the view ``assessments`` from an Arrow table typed as the rows are (only the
columns the analytics read), runs :func:`summarise` through a real DuckDB connection and checks
its figures against the product-limit estimate, the log-rank statistic, Harrell's C, the
interpolated quantiles and the missing counts computed in the comments.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from alscare.cohort.analytics import (
    DECIMALS,
    SURVIVAL_QUERY,
    Query,
    distribution_queries,
    fetch_survival,
    summarise,
    summary_json,
    survival_frame,
)
from alscare.knowledge import KnowledgeBase
from tests.cohort.analytics_rows import ANALYTICS_SCHEMA

# lifelines' normal quantile for a 95 % interval
_Z = 1.959963984540054


def _summary(rows: list[dict[str, Any]], kb: KnowledgeBase) -> dict[str, Any]:
    with _query(rows) as query:
        return summarise(query, survival=fetch_survival(query), kb=kb)


class _query:  # noqa: N801 - used as a function in a with statement
    """A real DuckDB connection holding ``rows`` as the table ``assessments``."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        full = [
            {"patient_id": f"p{i}", "input_index": i, "endpoint_reached": False} | row
            for i, row in enumerate(rows)
        ]
        self.table = pa.Table.from_pylist(full, schema=ANALYTICS_SCHEMA)

    def __enter__(self) -> Query:
        self.connection = duckdb.connect(":memory:")
        self.connection.register("source", self.table)
        self.connection.execute("CREATE TABLE assessments AS SELECT * FROM source")
        self.connection.unregister("source")

        def run(sql: str) -> list[dict[str, Any]]:
            cursor = self.connection.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        return run

    def __exit__(self, *exc: object) -> None:
        self.connection.close()


def _events(times: list[tuple[float, bool]], **extra: Any) -> list[dict[str, Any]]:
    return [
        {"survival_months": months, "endpoint_reached": event} | extra for months, event in times
    ]


def _at(figure: dict[str, Any], months: int) -> dict[str, Any]:
    return next(point for point in figure["at"] if point["months"] == months)


def _walk(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)
    else:
        yield value


# Six patients, months from onset (+ = censored): 12, 18, 18+, 30, 48+, 60.
# Product limit, S(t) = prod over event times t_i <= t of (1 - d_i / n_i):
#   t = 12: n 6, d 1 -> S = 5/6                      = 0.8333
#   t = 18: n 5 (the censored 18 is still at risk), d 1 -> S = 5/6 * 4/5 = 2/3 = 0.6667
#   t = 30: n 3, d 1 -> S = 2/3 * 2/3 = 4/9          = 0.4444
#   t = 48: censored, S stays 4/9
#   t = 60: n 1, d 1 -> S = 0
# The median is the first time S <= 0.5: 30 months.
_SIX = [(12.0, True), (18.0, True), (18.0, False), (30.0, True), (48.0, False), (60.0, True)]


def test_kaplan_meier_six_patients_product_limit_by_hand(kb: KnowledgeBase) -> None:
    overall = _summary(_events(_SIX), kb)["survival"]["overall"]

    assert (overall["n"], overall["events"], overall["censored"], overall["missing"]) == (
        6,
        4,
        2,
        0,
    )
    assert overall["curve"]["months"] == [0.0, 12.0, 18.0, 30.0, 60.0]
    assert overall["curve"]["survival"] == [1.0, 0.8333, 0.6667, 0.4444, 0.0]
    survival = {point["months"]: point["survival"] for point in overall["at"]}
    assert survival == {0: 1.0, 12: 0.8333, 24: 0.6667, 36: 0.4444, 48: 0.4444, 60: 0.0}
    # at risk at t: patients followed for t months or more
    at_risk = {point["months"]: point["at_risk"] for point in overall["at"]}
    assert at_risk == {0: 6, 12: 6, 24: 3, 36: 2, 48: 2, 60: 1}
    events = {point["months"]: point["events"] for point in overall["at"]}
    assert events == {0: 0, 12: 1, 24: 2, 36: 3, 48: 3, 60: 4}
    assert overall["median"]["months"] == 30.0


def test_kaplan_meier_band_is_greenwood_on_log_log_scale(kb: KnowledgeBase) -> None:
    overall = _summary(_events(_SIX), kb)["survival"]["overall"]

    # At 12 months S = 5/6 and Greenwood's sum is d / (n (n - d)) = 1 / (6 * 5). On the
    # log(-log) scale the variance is that sum / ln(S)^2, and the bounds are
    # exp(-exp(ln(-ln S) +/- z * sqrt(variance))).
    s = 5 / 6
    spread = _Z * math.sqrt((1 / 30) / math.log(s) ** 2)
    lower = math.exp(-math.exp(math.log(-math.log(s)) + spread))
    upper = math.exp(-math.exp(math.log(-math.log(s)) - spread))
    point = _at(overall, 12)
    assert point["ci_lower"] == round(lower, DECIMALS)
    assert point["ci_upper"] == round(upper, DECIMALS)
    assert point["ci_lower"] < point["survival"] < point["ci_upper"]


def test_kaplan_meier_after_last_follow_up_not_estimated(kb: KnowledgeBase) -> None:
    # 10 (event), 30+ : S(10) = 1/2, and nobody is followed past 30 months while S > 0
    overall = _summary(_events([(10.0, True), (30.0, False)]), kb)["survival"]["overall"]

    assert _at(overall, 24)["survival"] == 0.5
    assert _at(overall, 36) == {
        "months": 36,
        "survival": None,
        "ci_lower": None,
        "ci_upper": None,
        "at_risk": 0,
        "events": 1,
    }
    # S reaches 0.5 at 10 months, the first time it is 0.5 or less: the median
    assert overall["median"]["months"] == 10.0
    assert overall["curve"]["months"] == [0.0, 10.0, 30.0]


def test_kaplan_meier_without_survival_time_counted_missing(kb: KnowledgeBase) -> None:
    rows = [*_events(_SIX), {"survival_months": None}, {"survival_months": -1.0}]
    overall = _summary(rows, kb)["survival"]["overall"]

    assert (overall["n"], overall["missing"]) == (6, 2)


# Log-rank, bulbar = {12, 18, 48+}, cervical = {18+, 30, 60}. At each event time, for bulbar:
#   t 12: n 6 (3 bulbar), d 1 (bulbar): O 1, E 3/6, V = 1 * 3/6 * 3/6 * 5/5 = 1/4
#   t 18: n 5 (2 bulbar), d 1 (bulbar): O 1, E 2/5, V = 2/5 * 3/5 * 4/4      = 6/25
#   t 30: n 3 (1 bulbar), d 1 (cervical): O 0, E 1/3, V = 1/3 * 2/3 * 2/2    = 2/9
#   t 60: n 1 (0 bulbar), d 1 (cervical): O 0, E 0, V 0
# O - E = 2 - 37/30 = 23/30; V = 1/4 + 6/25 + 2/9 = 641/900; chi2 = (23/30)^2 / V = 529/641.
def test_logrank_two_groups_statistic_by_hand(kb: KnowledgeBase) -> None:
    sites = ["bulbar", "bulbar", "cervical", "cervical", "bulbar", "cervical"]
    rows = [row | {"onset_site": site} for row, site in zip(_events(_SIX), sites, strict=True)]
    grouping = _summary(rows, kb)["survival"]["by"]["onset_site"]

    statistic = 529 / 641
    assert grouping["logrank"]["statistic"] == round(statistic, DECIMALS)
    assert grouping["logrank"]["df"] == 1
    # chi-square with 1 df: P(X > x) = erfc(sqrt(x / 2)); four significant digits
    assert grouping["logrank"]["p"] == float(f"{math.erfc(math.sqrt(statistic / 2)):.4g}")
    assert [group["value"] for group in grouping["groups"]] == ["bulbar", "cervical"]
    bulbar = grouping["groups"][0]
    # bulbar alone: 12 (n 3) -> 2/3, 18 (n 2) -> 1/3, then censored at 48
    assert bulbar["curve"]["survival"] == [1.0, 0.6667, 0.3333, 0.3333]


def test_logrank_one_group_not_computed(kb: KnowledgeBase) -> None:
    rows = [row | {"onset_site": "bulbar"} for row in _events(_SIX)]
    logrank = _summary(rows, kb)["survival"]["by"]["onset_site"]["logrank"]

    assert logrank == {
        "statistic": None,
        "df": None,
        "p": None,
        "note": "not computed: fewer than two groups",
    }


def test_logrank_small_p_value_keeps_significant_digits(kb: KnowledgeBase) -> None:
    early = _events([(1.0 + i, True) for i in range(15)], onset_site="bulbar")
    late = _events([(100.0 + i, True) for i in range(15)], onset_site="cervical")
    p = _summary(early + late, kb)["survival"]["by"]["onset_site"]["logrank"]["p"]

    assert 0 < p < 10**-DECIMALS  # would be rounded to 0.0 with the other floats
    assert float(f"{p:.4g}") == p


def test_grouping_missing_group_counted(kb: KnowledgeBase) -> None:
    rows = [
        *_events(_SIX[:3], kings_stage_at_diagnosis="1"),
        *_events(_SIX[3:5], kings_stage_at_diagnosis="2"),
        *_events(_SIX[5:]),
        {"kings_stage_at_diagnosis": "3", "survival_months": None},
    ]
    grouping = _summary(rows, kb)["survival"]["by"]["kings_stage_at_diagnosis"]

    assert grouping["n"] == 5
    assert grouping["missing"] == 2
    assert (grouping["missing_survival_time"], grouping["missing_group"]) == (1, 1)
    assert [(g["value"], g["n"]) for g in grouping["groups"]] == [("1", 3), ("2", 2)]


# Harrell's C, ENCALS rows (higher linear predictor = shorter predicted survival):
#   months 10 (event), 20 (event), 30 (censored), 40 (event); LP 2, 0, 1, -1.
# Usable pairs have an event at the shorter time: (10,20) (10,30) (10,40) (20,30) (20,40);
# (30+,40) is not, the patient censored at 30 may have outlived 40. Concordant when the shorter
# time has the higher LP: (10,20) 2>0, (10,30) 2>1, (10,40) 2>-1, (20,40) 0>-1; (20,30) 0<1 is
# discordant. C = 4/5.
def test_c_index_tiny_cohort_by_hand(kb: KnowledgeBase) -> None:
    times = [(10.0, True), (20.0, True), (30.0, False), (40.0, True)]
    rows = [
        row | {"encals_applicable": True, "encals_linear_predictor": lp}
        for row, lp in zip(_events(times), [2.0, 0.0, 1.0, -1.0], strict=True)
    ]
    rows += [
        {"encals_applicable": False, "survival_months": 5.0},
        {"encals_applicable": True, "encals_linear_predictor": None, "survival_months": 5.0},
        {"encals_applicable": True, "encals_linear_predictor": 0.5, "survival_months": None},
    ]
    concordance = _summary(rows, kb)["encals"]["concordance"]

    assert concordance["c_index"] == 0.8
    assert concordance["n"] == 4
    assert concordance["missing"] == 3
    assert (
        concordance["not_applicable"],
        concordance["missing_linear_predictor"],
        concordance["missing_survival_time"],
    ) == (1, 1, 1)


def test_c_index_without_comparable_pair_is_null(kb: KnowledgeBase) -> None:
    rows = _events([(10.0, False), (20.0, False)], encals_applicable=True)
    for row, lp in zip(rows, [1.0, 2.0], strict=True):
        row["encals_linear_predictor"] = lp
    concordance = _summary(rows, kb)["encals"]["concordance"]

    assert concordance["c_index"] is None
    assert concordance["reason"] == "no comparable pair of patients"


def _encals_rows() -> list[dict[str, Any]]:
    """Ten ENCALS patients with LP 1..10; each pair of neighbours shares a predicted 12-month
    survival, one of each pair reaches the endpoint at 6 months, the other is censored at 40."""
    rows = []
    for lp in range(1, 11):
        event = lp % 2 == 0
        rows.append(
            {
                "encals_applicable": True,
                "encals_linear_predictor": float(lp),
                "encals_survival_12": 1 - lp / 20,
                "encals_survival_24": None if lp == 1 else 0.5,
                "survival_months": 6.0 if event else 40.0,
                "endpoint_reached": event,
            }
        )
    return rows


def test_encals_groups_are_cohort_quintiles(kb: KnowledgeBase) -> None:
    rows = [*_encals_rows(), {"encals_applicable": False, "survival_months": 12.0}]
    grouping = _summary(rows, kb)["survival"]["by"]["encals_quintile"]

    # linear interpolation of LP 1..10 at 20/40/60/80 %: 1 + 0.2 * 9 = 2.8, then 4.6, 6.4, 8.2
    assert grouping["cut_points"] == [2.8, 4.6, 6.4, 8.2]
    assert [(g["value"], g["n"]) for g in grouping["groups"]] == [
        ("Q1", 2),
        ("Q2", 2),
        ("Q3", 2),
        ("Q4", 2),
        ("Q5", 2),
    ]
    assert grouping["groups"][0]["linear_predictor"] == {"min": 1.0, "max": 2.0}
    assert (grouping["n"], grouping["missing"], grouping["not_applicable"]) == (10, 1, 1)
    assert "could not be verified" in grouping["note"]


def test_encals_quintiles_keep_equal_predictors_together(kb: KnowledgeBase) -> None:
    # LP five times 1 and five times 2: the cuts at 20/40/60/80 % are 1, 1, 2, 2. Each group
    # runs up to and including its cut, so the 1s all fall in Q1 and the 2s in Q3, never split
    rows = [
        {"encals_applicable": True, "encals_linear_predictor": lp, "survival_months": 12.0}
        for lp in [1.0] * 5 + [2.0] * 5
    ]
    grouping = _summary(rows, kb)["survival"]["by"]["encals_quintile"]

    assert grouping["cut_points"] == [1.0, 1.0, 2.0, 2.0]
    assert [(g["value"], g["n"]) for g in grouping["groups"]] == [("Q1", 5), ("Q3", 5)]


def test_encals_calibration_predicted_mean_against_kaplan_meier(kb: KnowledgeBase) -> None:
    calibration = _summary(_encals_rows(), kb)["encals"]["calibration"]

    at_12 = calibration["times"][0]
    assert at_12["months"] == 12
    q1 = at_12["groups"][0]
    # Q1 holds LP 1 and 2: predicted 12-month survival 0.95 and 0.90, mean 0.925; one of the
    # two reached the endpoint at 6 months, the other is followed to 40: KM 1/2 at 12 months
    assert (q1["group"], q1["predicted"], q1["observed"]) == ("Q1", 0.925, 0.5)
    assert (q1["predicted_n"], q1["predicted_missing"], q1["at_risk"]) == (2, 0, 1)
    at_24_q1 = calibration["times"][1]["groups"][0]
    assert (at_24_q1["predicted"], at_24_q1["predicted_n"], at_24_q1["predicted_missing"]) == (
        0.5,
        1,
        1,
    )


def test_numbers_median_iqr_and_missing(kb: KnowledgeBase) -> None:
    ages = [50.0, 60.0, 70.0, 80.0, None]
    summary = _summary([{"age_at_onset_years": age} for age in ages], kb)

    # four values; the p-quantile sits at rank p * 3 between them: Q1 at 0.75 -> 57.5,
    # median at 1.5 -> 65, Q3 at 2.25 -> 72.5
    assert summary["numbers"]["age_at_onset_years"] == {
        "unit": "years",
        "n": 4,
        "missing": 1,
        "median": 65.0,
        "q1": 57.5,
        "q3": 72.5,
        "min": 50.0,
        "max": 80.0,
    }
    assert summary["rows"] == 5
    delay = summary["numbers"]["diagnostic_delay_months"]
    assert (delay["n"], delay["missing"], delay["median"]) == (0, 5, None)


def test_categories_counted_in_clinical_order_with_missing(kb: KnowledgeBase) -> None:
    stages = ["4A", "2", "1", None, "2"]
    flags = [True, None, False, True, None]
    rows = [
        {"kings_stage": stage, "gold_coast_met": flag, "mitos_stage": mitos}
        for stage, flag, mitos in zip(stages, flags, [1, 0, None, 1, 4], strict=True)
    ]
    categories = _summary(rows, kb)["categories"]

    assert categories["kings_stage"] == {
        "n": 4,
        "missing": 1,
        "counts": [
            {"value": "1", "count": 1},
            {"value": "2", "count": 2},
            {"value": "4A", "count": 1},
        ],
    }
    assert categories["gold_coast_met"]["counts"] == [
        {"value": True, "count": 2},
        {"value": False, "count": 1},
    ]
    assert categories["gold_coast_met"]["missing"] == 2
    assert [item["value"] for item in categories["mitos_stage"]["counts"]] == [0, 1, 4]
    assert categories["onset_site"] == {"n": 0, "missing": 5, "counts": []}


def test_progression_bands_from_knowledge_base_limits_intermediate(kb: KnowledgeBase) -> None:
    bands = kb.scoring.progression_bands
    low, high = bands.slow_below, bands.fast_above
    rates = [low - 0.01, low, high, high + 0.01, high + 1, None]
    rate = _summary([{"progression_rate": value} for value in rates], kb)["numbers"][
        "progression_rate"
    ]

    counts = {item["band"]: item["count"] for item in rate["bands"]["counts"]}
    # the engine's banding: below slow_below slow, above fast_above fast, the limits intermediate
    assert counts == {"slow": 1, "intermediate": 2, "fast": 2}
    assert (rate["bands"]["n"], rate["bands"]["missing"]) == (5, 1)
    assert rate["bands"]["verified"] is bands.verified
    assert [source["id"] for source in rate["bands"]["sources"]] == list(bands.source_ids)


def test_progression_bands_follow_a_changed_knowledge_base(kb: KnowledgeBase) -> None:
    bands = kb.scoring.progression_bands
    moved = bands.model_copy(update={"slow_below": bands.fast_above})
    changed = kb.model_copy(
        update={"scoring": kb.scoring.model_copy(update={"progression_bands": moved})}
    )
    rows = [{"progression_rate": (bands.slow_below + bands.fast_above) / 2}]
    rate = _summary(rows, changed)["numbers"]["progression_rate"]

    assert rate["bands"]["counts"][0] == {"band": "slow", "count": 1}
    assert (
        "progression_rate < " + repr(moved.slow_below)
        in distribution_queries(moved)["bands.progression_rate"]
    )


def test_histograms_fixed_edges_and_closed_ends(kb: KnowledgeBase) -> None:
    rates = [0.0, 0.24, 0.25, 2.99, 3.0, 7.0, None]
    slopes = [0.0, -0.25, -0.26, -3.0, 1.5, None, None]
    rows = [
        {"progression_rate": rate, "alsfrs_r_slope": slope}
        for rate, slope in zip(rates, slopes, strict=True)
    ]
    numbers = _summary(rows, kb)["numbers"]

    rate_bins = numbers["progression_rate"]["histogram"]["bins"]
    # ΔFS bins are [lower, upper): 0 and 0.24 in [0, 0.25), 0.25 in [0.25, 0.5), 2.99 in
    # [2.75, 3), 3 and 7 in the open bin from 3
    assert rate_bins[0] == {"lower": None, "upper": 0.0, "count": 0}
    assert rate_bins[1] == {"lower": 0.0, "upper": 0.25, "count": 2}
    assert rate_bins[2] == {"lower": 0.25, "upper": 0.5, "count": 1}
    assert rate_bins[-2] == {"lower": 2.75, "upper": 3.0, "count": 1}
    assert rate_bins[-1] == {"lower": 3.0, "upper": None, "count": 2}
    slope_bins = {
        (b["lower"], b["upper"]): b["count"] for b in numbers["alsfrs_r_slope"]["histogram"]["bins"]
    }
    # slope bins are (lower, upper]: a stable patient (0) in (-0.25, 0]; -0.25 and -0.26 in
    # (-0.5, -0.25]; -3 in the open bin at or below -3; 1.5 above 1
    assert slope_bins[(-0.25, 0.0)] == 1
    assert slope_bins[(-0.5, -0.25)] == 2
    assert slope_bins[(None, -3.0)] == 1
    assert slope_bins[(1.0, None)] == 1
    assert sum(slope_bins.values()) == numbers["alsfrs_r_slope"]["n"] == 5


def test_summary_strict_json_and_same_bytes(kb: KnowledgeBase) -> None:
    rows = [
        *_events(_SIX, onset_site="bulbar", age_at_onset_years=61.123456789),
        *_encals_rows(),
    ]
    first, second = _summary(rows, kb), _summary(list(reversed(rows)), kb)
    text = summary_json(first)

    def no_constant(name: str) -> None:
        raise AssertionError(f"not strict JSON: {name}")

    assert json.loads(text, parse_constant=no_constant) == first
    assert text == summary_json(_summary(rows, kb))
    # the rows' order does not change the figures, only their input_index
    assert summary_json(second) == text
    floats = [value for value in _walk(first) if isinstance(value, float)]
    assert floats
    assert all(math.isfinite(value) for value in floats)
    assert first["numbers"]["age_at_onset_years"]["median"] == 61.1235


def test_summary_rounds_tiny_negative_to_plain_zero(kb: KnowledgeBase) -> None:
    summary = _summary([{"alsfrs_r_slope": -0.00001}], kb)

    assert summary["numbers"]["alsfrs_r_slope"]["median"] == 0.0
    assert "-0.0" not in summary_json(summary)


def test_empty_cohort_gives_nulls_not_errors(kb: KnowledgeBase) -> None:
    summary = _summary([], kb)

    assert summary["rows"] == 0
    assert summary["survival"]["overall"]["n"] == 0
    assert summary["survival"]["overall"]["median"]["months"] is None
    assert summary["encals"]["concordance"]["c_index"] is None
    assert summary["survival"]["by"]["encals_quintile"]["cut_points"] is None
    summary_json(summary)  # strict: raises on NaN


def test_survival_frame_types_whatever_the_engine_gives() -> None:
    rows = [
        {
            "input_index": 1,
            "survival_months": pd.NA,
            "endpoint_reached": None,
            "encals_applicable": pd.NA,
            "onset_site": float("nan"),
        },
        {
            "input_index": 0,
            "survival_months": 3,
            "endpoint_reached": True,
            "encals_applicable": True,
            "onset_site": "bulbar",
        },
    ]
    frame = survival_frame(rows)

    assert list(frame["endpoint_reached"]) == [False, True]
    assert list(frame["encals_applicable"]) == [False, True]
    assert frame["survival_months"].isna().tolist() == [True, False]
    assert list(frame["onset_site"]) == [None, "bulbar"]
    assert SURVIVAL_QUERY.endswith("FROM assessments ORDER BY input_index")


def test_kaplan_meier_with_delayed_entry_by_hand(kb: KnowledgeBase) -> None:
    # (entry, time, event): A (0, 12, died), B (6, 18, died), C (15, 24, censored), D (0, 30,
    # died). At 12 months C has not entered: 3 at risk, 1 event, S = 2/3 (3/4 if C counted).
    # At 18: B, C and D at risk, 1 event, S = 2/3 * 2/3 = 4/9. At 30: D alone, S = 0.
    rows = [
        {"entry_months": entry, "survival_months": months, "endpoint_reached": event}
        for entry, months, event in [(0, 12, True), (6, 18, True), (15, 24, False), (0, 30, True)]
    ]
    overall = _summary(rows, kb)["survival"]["overall"]
    assert overall["entry_adjusted"] is True
    survival = {point["months"]: point["survival"] for point in overall["at"]}
    assert (survival[12], survival[24]) == (0.6667, 0.4444)
    at_risk = {point["months"]: point["at_risk"] for point in overall["at"]}
    assert (at_risk[0], at_risk[12], at_risk[24]) == (2, 3, 2)


def test_kaplan_meier_falls_back_without_delayed_entry_and_says_so(kb: KnowledgeBase) -> None:
    # Everyone enters after the first patient has died: the risk set is empty at the start,
    # and no product-limit estimate with delayed entry exists.
    rows = [
        {"entry_months": entry, "survival_months": months, "endpoint_reached": True}
        for entry, months in [(0, 2), (10, 20), (12, 30), (14, 40)]
    ]
    overall = _summary(rows, kb)["survival"]["overall"]
    assert overall["entry_adjusted"] is False
    assert "without delayed entry" in overall["entry_note"]
    assert _at(overall, 12)["survival"] == 0.75  # the plain estimate: 3 of 4 event-free


def test_survival_fetched_by_pages_is_the_whole_frame() -> None:
    with _query(_events(_SIX)) as query:
        whole = fetch_survival(query)
        for page in (1, 2, 3, 4, 6, 7):  # pages that divide six exactly, and some that do not
            pd.testing.assert_frame_equal(fetch_survival(query, page=page), whole)
    assert whole["input_index"].tolist() == list(range(6))
