"""Cohort analytics: the figures of ``summary.json`` from the per-patient rows.

The rows live in a SQL engine under the view name ``assessments`` (DuckDB locally, Spark SQL on
a cluster). The distributions are SQL texts written once, in the subset both dialects accept
(``GROUP BY``, ``COUNT``, ``MIN``/``MAX``, ``CASE`` and ``percentile_cont(p) WITHIN GROUP (ORDER
BY x)``), so both engines give the same counts and the same interpolated quantiles; the caller
passes ``query``, a function that runs one SQL text and returns its rows as dicts
(:func:`alscare.cohort.engines.duckdb_query` makes one over the Parquet rows). The survival
figures need one row per patient in memory: :data:`SURVIVAL_QUERY` fetches the few columns they
use (:func:`fetch_survival`), and lifelines fits them:

- Kaplan-Meier curves from symptom onset to the ENCALS composite endpoint (``endpoint_reached``,
  ``survival_months``; censored at the last dated entry), overall and by onset site, by King's
  stage at diagnosis and by quintile of the cohort's own ENCALS linear predictor, with 95 %
  pointwise bands, the survival and numbers at risk at fixed months, the median with its 95 %
  interval and a log-rank test per grouping;
- ENCALS calibration (mean predicted against Kaplan-Meier observed survival at 12, 24 and 36
  months, per quintile) and Harrell's C-index, on the rows where the model applies.

The published ENCALS risk-group cut-points could not be verified, so the groups here are the
cohort's own quintiles and the output says so; the ΔFS bands come from the knowledge base with
its ``verified`` flag. Every figure carries its ``n`` (rows used) and ``missing`` (rows not
used). The summary is strict JSON (no NaN or Infinity: ``None``) and deterministic: floats are
rounded to :data:`DECIMALS` decimals at this boundary (p-values to :data:`P_VALUE_DIGITS`
significant digits, so a small p-value does not read as 0), and every list has a fixed order.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.exceptions import StatError
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import concordance_index, median_survival_times

from alscare.cohort.rows import SURVIVAL_HORIZONS
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.scoring import ProgressionBands
from alscare.schemas.vocabulary import (
    AwajiCategory,
    ElEscorialCategory,
    KingsClinicalStage,
    KingsStage,
    OnsetSite,
    Sex,
)

__all__ = [
    "CALIBRATION_MONTHS",
    "DECIMALS",
    "ENCALS_GROUPS",
    "P_VALUE_DIGITS",
    "PROGRESSION_RATE_EDGES",
    "SLOPE_EDGES",
    "SUMMARY_SCHEMA",
    "SURVIVAL_COLUMNS",
    "SURVIVAL_QUERY",
    "TIMES_MONTHS",
    "VIEW",
    "Query",
    "distribution_queries",
    "fetch_survival",
    "summarise",
    "summary_json",
    "survival_frame",
]

Query = Callable[[str], list[dict[str, Any]]]

SUMMARY_SCHEMA: Final = "alscare.cohort-summary/v1"
VIEW: Final = "assessments"
DECIMALS: Final = 4
P_VALUE_DIGITS: Final = 4
#: Months from onset at which survival, its band and the numbers at risk are given.
TIMES_MONTHS: Final = (0, 12, 24, 36, 48, 60)
#: Months at which ENCALS predictions are compared with the observed survival.
CALIBRATION_MONTHS: Final = SURVIVAL_HORIZONS  # the predicted survival columns of the row
ENCALS_GROUPS: Final = 5
# Display bins of the histograms, in points/month: equal widths of 0.25 chosen for reading, not
# clinical thresholds (those are the bands, from the knowledge base), with one open bin below
# the first edge and one above the last. 0.25 is exact in binary, so the edges print as written
# in the SQL. ΔFS (0 or more, positive is decline) is binned [lower, upper), so a stable patient
# (ΔFS 0) falls in [0, 0.25); the slope (mostly 0 or less, negative is decline) is its mirror,
# (lower, upper], so a stable patient (slope 0) falls in (-0.25, 0], not among the gains.
PROGRESSION_RATE_EDGES: Final = tuple(0.25 * i for i in range(13))  # 0 to 3
SLOPE_EDGES: Final = tuple(-3.0 + 0.25 * i for i in range(17))  # -3 to +1
_LEFT_CLOSED: Final = "[lower, upper)"
_RIGHT_CLOSED: Final = "(lower, upper]"

_CATEGORY_SQL: Final = (
    "SELECT {column} AS value, COUNT(*) AS count FROM " + VIEW + " GROUP BY {column}"
)
_NUMBER_SQL: Final = (
    "SELECT COUNT(*) AS total, COUNT({column}) AS n, "
    "percentile_cont(0.25) WITHIN GROUP (ORDER BY {column}) AS q1, "
    "percentile_cont(0.5) WITHIN GROUP (ORDER BY {column}) AS median, "
    "percentile_cont(0.75) WITHIN GROUP (ORDER BY {column}) AS q3, "
    "MIN({column}) AS minimum, MAX({column}) AS maximum FROM " + VIEW
)
# The CASE is grouped in a subquery, not by alias or ordinal, which the dialects treat apart.
_BINNED_SQL: Final = (
    "SELECT bin, COUNT(*) AS count FROM (SELECT {case} AS bin FROM "
    + VIEW
    + " WHERE {column} IS NOT NULL) AS binned GROUP BY bin"
)
_BAND_NAMES: Final = ("slow", "intermediate", "fast")
_ROWS_SQL: Final = "SELECT COUNT(*) AS count FROM " + VIEW

# The category columns with the order their values are listed in (others follow, sorted).
_KINGS_ORDER: Final = tuple(dict.fromkeys([*KingsStage, *KingsClinicalStage]))
_MITOS_ORDER: Final = tuple(range(6))
_CATEGORIES: Final[Mapping[str, tuple[object, ...]]] = {
    "sex": tuple(Sex),
    "onset_site": tuple(OnsetSite),
    "kings_stage": _KINGS_ORDER,
    "kings_stage_at_diagnosis": _KINGS_ORDER,
    "mitos_stage": _MITOS_ORDER,
    "mitos_stage_at_diagnosis": _MITOS_ORDER,
    "el_escorial_category": tuple(ElEscorialCategory),
    "awaji_category": tuple(AwajiCategory),
    "gold_coast_met": (True, False),
}
_NUMBERS: Final[Mapping[str, str]] = {
    "age_at_onset_years": "years",
    "diagnostic_delay_months": "months",
    "progression_rate": "points/month",
    "alsfrs_r_slope": "points/month",
}
_HISTOGRAMS: Final[Mapping[str, tuple[tuple[float, ...], str]]] = {
    "progression_rate": (PROGRESSION_RATE_EDGES, _LEFT_CLOSED),
    "alsfrs_r_slope": (SLOPE_EDGES, _RIGHT_CLOSED),
}
_CONTEXT: Final = ("as_of", "knowledge_version")

SURVIVAL_COLUMNS: Final = (
    "input_index",
    "onset_site",
    "kings_stage_at_diagnosis",
    "endpoint_reached",
    "entry_months",
    "survival_months",
    "encals_applicable",
    "encals_linear_predictor",
    *(f"encals_survival_{months}" for months in CALIBRATION_MONTHS),
)
#: Rows of the survival query fetched at once.
SURVIVAL_PAGE: Final = 50_000
SURVIVAL_QUERY: Final = f"SELECT {', '.join(SURVIVAL_COLUMNS)} FROM {VIEW} ORDER BY input_index"
_FLOATS: Final = ("entry_months", "survival_months", "encals_linear_predictor") + tuple(
    f"encals_survival_{months}" for months in CALIBRATION_MONTHS
)
_GROUPINGS: Final = ("onset_site", "kings_stage_at_diagnosis")
_ENCALS_GROUP: Final = "encals_quintile"

_ENDPOINT: Final = (
    "the ENCALS composite endpoint (death, tracheostomy or non-invasive ventilation over 23 "
    "hours a day) on or before the as-of date; otherwise censored at the last dated entry"
)
_DELAYED_ENTRY: Final = (
    "Counted from symptom onset with delayed entry: a registry knows a patient only from the "
    "diagnosis or the first visit (entry_months), so each patient joins the risk set then; a "
    "patient without an entry time joins at onset. Where too few patients have entered for "
    "the estimate to exist (the risk set empties early), that curve is fitted without delayed "
    "entry and says so (entry_adjusted: false), which overstates its early months. The log-rank "
    "tests and the C-index do not adjust for delayed entry."
)
_NO_ENTRY_FIT: Final = (
    "fitted without delayed entry: too few patients had entered early for the product-limit "
    "estimate with delayed entry to exist"
)
_KM_METHOD: Final = (
    "Kaplan-Meier (lifelines); 95 % pointwise bands from Greenwood's variance on the "
    "log(-log) scale; median = first time survival is 0.5 or less, with the times its band "
    "crosses 0.5; survival beyond the last follow-up of a group is not estimated (null)"
)
_ENCALS_GROUPS_NOTE: Final = (
    "Quintiles of this cohort's own ENCALS linear predictor among the rows where the model "
    "applies and the survival time is known: Q1 has the lowest predictor (longest predicted "
    "survival), Q5 the highest. The published ENCALS risk-group cut-points could not be "
    "verified, so they are not used: these are not the paper's risk groups."
)
_C_INDEX_NOTE: Final = (
    "Harrell's C (lifelines concordance_index) of the survival time from onset, with its "
    "censoring, against the negated ENCALS linear predictor (a higher predictor means a "
    "shorter predicted survival)"
)


# --- the SQL --------------------------------------------------------------------------------


def _literal(value: float) -> str:
    """A number as SQL text both dialects read the same (repr: exact for the edges)."""
    return repr(float(value))


def _bin_case(column: str, edges: Sequence[float], closed: str) -> str:
    """Bin 0 below the first edge, bin i between edges i-1 and i, len(edges) above the last;
    ``closed`` says which end of a bin holds a value on an edge."""
    below = "<" if closed == _LEFT_CLOSED else "<="
    whens = " ".join(
        f"WHEN {column} {below} {_literal(edge)} THEN {index}" for index, edge in enumerate(edges)
    )
    return f"CASE {whens} ELSE {len(edges)} END"


def _band_case(bands: ProgressionBands) -> str:
    """The engine's banding (engine.scores.progression_band): the limits are intermediate."""
    return (
        f"CASE WHEN progression_rate < {_literal(bands.slow_below)} THEN 'slow' "
        f"WHEN progression_rate > {_literal(bands.fast_above)} THEN 'fast' "
        "ELSE 'intermediate' END"
    )


def distribution_queries(bands: ProgressionBands) -> dict[str, str]:
    """Every SQL text :func:`summarise` runs on the view besides :data:`SURVIVAL_QUERY`, by name.

    The same texts run on DuckDB and on Spark SQL; ``bands`` are the knowledge base's ΔFS bands.
    """
    queries = {"rows": _ROWS_SQL}
    for column in (*_CONTEXT, *_CATEGORIES):
        queries[f"categories.{column}"] = _CATEGORY_SQL.format(column=column)
    for column in _NUMBERS:
        queries[f"numbers.{column}"] = _NUMBER_SQL.format(column=column)
    for column, (edges, closed) in _HISTOGRAMS.items():
        case = _bin_case(column, edges, closed)
        queries[f"histogram.{column}"] = _BINNED_SQL.format(case=case, column=column)
    queries["bands.progression_rate"] = _BINNED_SQL.format(
        case=_band_case(bands), column="progression_rate"
    )
    return queries


# --- distributions --------------------------------------------------------------------------


def _kind(value: object) -> str:
    # True == 1 in Python: a flag must not take the rank of MiToS stage 1
    return "bool" if isinstance(value, bool) else "str" if isinstance(value, str) else "number"


def _order_key(order: Sequence[object]) -> Callable[[object], tuple[int, str]]:
    """Known values in their clinical order, then any other value in text order."""
    ranks = {(_kind(value), value): rank for rank, value in enumerate(order)}

    def key(value: object) -> tuple[int, str]:
        return (ranks.get((_kind(value), value), len(order)), str(value))

    return key


def _category(rows: list[dict[str, Any]], order: Sequence[object]) -> dict[str, Any]:
    missing = sum(int(row["count"]) for row in rows if row["value"] is None)
    present = [row for row in rows if row["value"] is not None]
    present.sort(key=lambda row: _order_key(order)(_plain(row["value"])))
    counts = [{"value": _plain(row["value"]), "count": int(row["count"])} for row in present]
    return {"n": sum(item["count"] for item in counts), "missing": missing, "counts": counts}


def _number(row: Mapping[str, Any], unit: str) -> dict[str, Any]:
    n = int(row["n"])
    return {
        "unit": unit,
        "n": n,
        "missing": int(row["total"]) - n,
        "median": _float(row["median"]),
        "q1": _float(row["q1"]),
        "q3": _float(row["q3"]),
        "min": _float(row["minimum"]),
        "max": _float(row["maximum"]),
    }


def _histogram(rows: list[dict[str, Any]], edges: Sequence[float], closed: str) -> dict[str, Any]:
    counts = {int(row["bin"]): int(row["count"]) for row in rows}
    bounds = [None, *edges, None]
    bins = [
        {"lower": bounds[index], "upper": bounds[index + 1], "count": counts.get(index, 0)}
        for index in range(len(edges) + 1)
    ]
    note = (
        f"fixed display bins of 0.25 points/month, each {closed}, with open bins below the "
        "first and above the last edge; chosen for reading, not clinical thresholds"
    )
    return {"edges": list(edges), "closed": closed, "bins": bins, "note": note}


def _bands(rows: list[dict[str, Any]], bands: ProgressionBands, kb: KnowledgeBase) -> Any:
    counts = {str(row["bin"]): int(row["count"]) for row in rows}
    return {
        "slow_below": bands.slow_below,
        "fast_above": bands.fast_above,
        "counts": [
            {"band": band, "count": counts.get(band, 0)}
            for band in ("slow", "intermediate", "fast")
        ],
        "n": sum(counts.values()),
        "limits": "slow below slow_below, fast above fast_above; the limits are intermediate",
        "verified": bands.verified,
        "sources": [
            {"id": ref.id, "where": ref.where, "citation": kb.source(ref.id).citation}
            for ref in bands.sources
        ],
    }


def _distributions(query: Query, kb: KnowledgeBase) -> dict[str, Any]:
    bands = kb.scoring.progression_bands
    texts = distribution_queries(bands)
    categories = {
        column: _category(query(texts[f"categories.{column}"]), _CATEGORIES.get(column, ()))
        for column in (*_CONTEXT, *_CATEGORIES)
    }
    numbers = {
        column: _number(query(texts[f"numbers.{column}"])[0], unit)
        for column, unit in _NUMBERS.items()
    }
    for column, (edges, closed) in _HISTOGRAMS.items():
        rows = query(texts[f"histogram.{column}"])
        numbers[column]["histogram"] = _histogram(rows, edges, closed)
    rate = numbers["progression_rate"]
    rate["bands"] = _bands(query(texts["bands.progression_rate"]), bands, kb)
    rate["bands"]["missing"] = rate["missing"]
    total = int(query(texts["rows"])[0]["count"])
    return {"rows": total, "categories": categories, "numbers": numbers}


# --- the survival frame ---------------------------------------------------------------------


def survival_frame(rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """The columns of :data:`SURVIVAL_COLUMNS` with fixed types, whatever engine gave them:
    floats with NaN for null, the groups as strings or None, the flags as bool."""
    source = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    frame = pd.DataFrame(index=range(len(source)))
    for column in SURVIVAL_COLUMNS:
        values = list(source[column]) if column in source else [None] * len(source)
        frame[column] = _typed(column, values)
    return frame


def _typed(column: str, values: list[Any]) -> pd.Series:
    if column in _FLOATS:
        return pd.Series([_float(value) for value in values], dtype="float64")
    if column in {"endpoint_reached", "encals_applicable"}:
        # endpoint_reached is never null; encals_applicable null means the model was not run
        return pd.Series([not _missing(value) and bool(value) for value in values], dtype="bool")
    if column == "input_index":
        return pd.Series([int(value) for value in values], dtype="int64")
    return pd.Series([None if _missing(value) else str(value) for value in values], dtype=object)


def fetch_survival(query: Query, *, page: int = SURVIVAL_PAGE) -> pd.DataFrame:
    """The survival frame of the view (:data:`SURVIVAL_QUERY`), fetched a page at a time: the
    frame of a million patients is some 90 MB, the same rows as Python dicts ten times that."""
    pages = [survival_frame(query(f"{SURVIVAL_QUERY} LIMIT {page}"))]
    while len(pages[-1]) == page:
        rows = query(f"{SURVIVAL_QUERY} LIMIT {page} OFFSET {len(pages) * page}")
        if not rows:
            break
        pages.append(survival_frame(rows))
    return pages[0] if len(pages) == 1 else pd.concat(pages, ignore_index=True)


# --- Kaplan-Meier ---------------------------------------------------------------------------


def _step_value(series: pd.Series, months: float) -> float:
    """A right-continuous step function's value at ``months`` (its last point at or before)."""
    before = series.loc[:months]
    # lifelines' timeline starts at the first entry: before it nobody has had the event
    return float(before.iloc[-1]) if len(before) else 1.0


def _kaplan_meier(rows: pd.DataFrame) -> dict[str, Any]:
    """The product-limit estimate of the rows, each entering the risk set at its entry time."""
    durations = rows["survival_months"].to_numpy()
    events = rows["endpoint_reached"].to_numpy()
    entries = np.minimum(rows["entry_months"].fillna(0.0).to_numpy(), durations)
    n = len(durations)
    figure: dict[str, Any] = {
        "n": n,
        "events": int(events.sum()),
        "censored": n - int(events.sum()),
    }
    if n == 0:
        return figure | {"median": _median(None), "at": [], "curve": _curve(None)}
    fitter, adjusted = _fitted(durations, events, entries)
    estimate = fitter.survival_function_.iloc[:, 0]
    lower, upper = (fitter.confidence_interval_.iloc[:, i] for i in (0, 1))
    last = float(durations.max())
    at = []
    for months in TIMES_MONTHS:
        # beyond the last follow-up the curve is unknown unless it has already reached 0
        known = months <= last or _step_value(estimate, last) == 0
        entered = entries <= months if adjusted else np.ones(n, dtype=bool)
        at.append(
            {
                "months": months,
                "survival": _step_value(estimate, months) if known else None,
                "ci_lower": _step_value(lower, months) if known else None,
                "ci_upper": _step_value(upper, months) if known else None,
                "at_risk": int((entered & (durations >= months)).sum()),
                "events": int(events[durations <= months].sum()),
            }
        )
    entry = {"entry_adjusted": adjusted, "entry_note": None if adjusted else _NO_ENTRY_FIT}
    curve = _curve(fitter, last)
    return figure | entry | {"median": _median(fitter), "at": at, "curve": curve}


def _fitted(
    durations: np.ndarray, events: np.ndarray, entries: np.ndarray
) -> tuple[KaplanMeierFitter, bool]:
    """The fit with delayed entry, or without it (False) where that estimate does not exist."""
    try:
        return KaplanMeierFitter(alpha=0.05).fit(durations, events, entry=entries), True
    except StatError:
        return KaplanMeierFitter(alpha=0.05).fit(durations, events), False


def _median(fitter: KaplanMeierFitter | None) -> dict[str, Any]:
    if fitter is None:
        return {"months": None, "ci_lower": None, "ci_upper": None}
    band = median_survival_times(fitter.confidence_interval_)
    return {
        "months": _float(fitter.median_survival_time_),
        "ci_lower": _float(band.iloc[0, 0]),
        "ci_upper": _float(band.iloc[0, 1]),
    }


def _curve(fitter: KaplanMeierFitter | None, last: float = 0.0) -> dict[str, list[Any]]:
    """The steps of the curve: time 0, each event time, and the last follow-up."""
    if fitter is None:
        return {"months": [], "survival": [], "ci_lower": [], "ci_upper": []}
    table = fitter.event_table
    times = [0.0, *(float(t) for t in table.index[table["observed"] > 0] if t > 0)]
    times += [last] if last > times[-1] else []
    estimate = fitter.survival_function_.iloc[:, 0]
    lower, upper = (fitter.confidence_interval_.iloc[:, i] for i in (0, 1))
    return {
        "months": times,
        "survival": [_step_value(estimate, t) for t in times],
        "ci_lower": [_step_value(lower, t) for t in times],
        "ci_upper": [_step_value(upper, t) for t in times],
    }


def _logrank(frame: pd.DataFrame, column: str) -> dict[str, Any]:
    groups = frame[column].nunique()
    if groups < 2 or not frame["endpoint_reached"].any():
        reason = "fewer than two groups" if groups < 2 else "no endpoint reached"
        return {"statistic": None, "df": None, "p": None, "note": f"not computed: {reason}"}
    result = multivariate_logrank_test(
        frame["survival_months"].to_numpy(),
        frame[column].astype(str).to_numpy(),
        frame["endpoint_reached"].to_numpy(),
    )
    return {
        "statistic": float(result.test_statistic),
        "df": int(result.degrees_of_freedom),
        "p": _PValue(result.p_value),
        "note": None,
    }


def _timed(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with a usable survival time (known and not negative)."""
    months = frame["survival_months"]
    return frame[months.notna() & (months >= 0)]


def _grouping(frame: pd.DataFrame, column: str, order: Sequence[object]) -> dict[str, Any]:
    timed = _timed(frame)
    used = timed[timed[column].notna()]
    values = sorted(used[column].unique(), key=_order_key(order))
    groups = []
    for value in values:
        rows = used[used[column] == value]
        fit = _kaplan_meier(rows)
        groups.append({"value": value} | fit)
    return {
        "n": len(used),
        "missing": len(frame) - len(used),
        "missing_survival_time": len(frame) - len(timed),
        "missing_group": len(timed) - len(used),
        "groups": groups,
        "logrank": _logrank(used, column),
    }


def _overall(frame: pd.DataFrame) -> dict[str, Any]:
    timed = _timed(frame)
    fit = _kaplan_meier(timed)
    return {"missing": len(frame) - len(timed)} | fit


# --- ENCALS ---------------------------------------------------------------------------------


def _encals_rows(frame: pd.DataFrame) -> pd.DataFrame:
    timed = _timed(frame)
    return timed[timed["encals_applicable"] & timed["encals_linear_predictor"].notna()]


def _encals_missing(frame: pd.DataFrame, used: pd.DataFrame) -> dict[str, int]:
    applicable = frame[frame["encals_applicable"]]
    with_predictor = applicable[applicable["encals_linear_predictor"].notna()]
    return {
        "missing": len(frame) - len(used),
        "not_applicable": len(frame) - len(applicable),
        "missing_linear_predictor": len(applicable) - len(with_predictor),
        "missing_survival_time": len(with_predictor) - len(used),
    }


def _quintiles(used: pd.DataFrame) -> tuple[pd.DataFrame, list[float] | None]:
    """The rows with their quintile ``Q1``..``Q5``: Q1 up to the first cut, Q5 above the last."""
    if used.empty:
        return used.assign(**{_ENCALS_GROUP: pd.Series(dtype=object)}), None
    predictor = used["encals_linear_predictor"].to_numpy()
    cuts = np.quantile(predictor, [k / ENCALS_GROUPS for k in range(1, ENCALS_GROUPS)])
    index = np.searchsorted(cuts, predictor, side="left")
    labels = [f"Q{i + 1}" for i in index]
    return used.assign(**{_ENCALS_GROUP: labels}), [float(cut) for cut in cuts]


def _encals_grouping(frame: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame]:
    used = _encals_rows(frame)
    grouped, cuts = _quintiles(used)
    order = tuple(f"Q{k}" for k in range(1, ENCALS_GROUPS + 1))
    figure = _grouping(grouped, _ENCALS_GROUP, order)
    del figure["missing_group"]  # every row used has its quintile
    figure |= _encals_missing(frame, used)
    for group in figure["groups"]:
        predictor = grouped.loc[grouped[_ENCALS_GROUP] == group["value"], "encals_linear_predictor"]
        group["linear_predictor"] = {"min": float(predictor.min()), "max": float(predictor.max())}
    figure["cut_points"] = cuts
    figure["note"] = _ENCALS_GROUPS_NOTE
    return figure, grouped


def _calibration(grouped: pd.DataFrame, km: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per time and quintile: the mean predicted survival and the group's Kaplan-Meier."""
    times = []
    for months in CALIBRATION_MONTHS:
        rows = []
        for group in km["groups"]:
            predicted = grouped.loc[
                grouped[_ENCALS_GROUP] == group["value"], f"encals_survival_{months}"
            ]
            observed = next(item for item in group["at"] if item["months"] == months)
            rows.append(
                {
                    "group": group["value"],
                    "n": group["n"],
                    "predicted": _float(predicted.mean()) if predicted.notna().any() else None,
                    "predicted_n": int(predicted.notna().sum()),
                    "predicted_missing": int(predicted.isna().sum()),
                    "observed": observed["survival"],
                    "observed_ci_lower": observed["ci_lower"],
                    "observed_ci_upper": observed["ci_upper"],
                    "at_risk": observed["at_risk"],
                }
            )
        times.append({"months": months, "groups": rows})
    return times


def _concordance(used: pd.DataFrame, missing: Mapping[str, int]) -> dict[str, Any]:
    figure: dict[str, Any] = {"n": len(used), **missing, "note": _C_INDEX_NOTE}
    try:
        c = concordance_index(
            used["survival_months"].to_numpy(),
            -used["encals_linear_predictor"].to_numpy(),
            used["endpoint_reached"].to_numpy(),
        )
    except ZeroDivisionError:  # lifelines: no pair of patients can be compared
        return figure | {"c_index": None, "reason": "no comparable pair of patients"}
    return figure | {"c_index": float(c), "reason": None}


# --- the summary ----------------------------------------------------------------------------


def summarise(query: Query, *, survival: pd.DataFrame, kb: KnowledgeBase) -> dict[str, Any]:
    """The cohort's summary as strict, deterministic JSON data (see the module docstring).

    ``query`` runs one SQL text on the view ``assessments``; ``survival`` is its
    :data:`SURVIVAL_QUERY` result (:func:`fetch_survival`); ``kb`` gives the ΔFS bands.
    """
    frame = survival_frame(survival)
    distributions = _distributions(query, kb)
    encals_km, grouped = _encals_grouping(frame)
    used = _encals_rows(frame)
    missing = _encals_missing(frame, used)
    summary = {
        "schema": SUMMARY_SCHEMA,
        "conventions": _conventions(),
        **distributions,
        "survival": {
            "origin": "symptom onset",
            "endpoint": _ENDPOINT,
            "method": _KM_METHOD,
            "caveat": _DELAYED_ENTRY,
            "times_months": list(TIMES_MONTHS),
            "overall": _overall(frame),
            "by": {
                **{column: _grouping(frame, column, _CATEGORIES[column]) for column in _GROUPINGS},
                _ENCALS_GROUP: encals_km,
            },
        },
        "encals": {
            "model_verified": kb.scoring.encals.verified,
            "groups": _ENCALS_GROUPS_NOTE,
            "calibration": {"n": len(used), **missing, "times": _calibration(grouped, encals_km)},
            "concordance": _concordance(used, missing),
        },
    }
    wire: dict[str, Any] = _wire(summary)
    return wire


def _conventions() -> dict[str, Any]:
    return {
        "months": "days / 30.4375",
        "n": "rows the figure uses",
        "missing": "rows of the cohort the figure does not use",
        "quantiles": "percentile_cont (linear interpolation between ranks)",
        "decimals": DECIMALS,
        "p_value_significant_digits": P_VALUE_DIGITS,
    }


def summary_json(summary: Mapping[str, Any]) -> str:
    """The summary as the text of ``summary.json``: strict JSON, the same bytes every time."""
    return json.dumps(summary, allow_nan=False, ensure_ascii=False, indent=2) + "\n"


# --- the wire boundary ----------------------------------------------------------------------


class _PValue(float):
    """A p-value: rounded to significant digits, not decimals, at the wire."""


def _missing(value: Any) -> bool:
    """None, NaN, NaT or pandas' NA: whatever null an engine or a frame hands over."""
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _float(value: Any) -> float | None:
    if _missing(value):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _plain(value: Any) -> Any:
    """A value of an engine's row as JSON data (numpy scalars, dates, Decimals)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool | int | str) or value is None:
        return value
    return float(value)


def _wire(value: Any) -> Any:
    """Round every float, drop NaN and Infinity, make lists of tuples and plain values."""
    if isinstance(value, Mapping):
        return {str(key): _wire(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_wire(item) for item in value]
    if isinstance(value, _PValue):
        return _rounded(float(f"{value:.{P_VALUE_DIGITS}g}") if math.isfinite(value) else None)
    value = _plain(value)
    if isinstance(value, float):
        return _rounded(round(value, DECIMALS) if math.isfinite(value) else None)
    return value


def _rounded(value: float | None) -> float | None:
    return 0.0 if value == 0 else value  # no "-0.0" in the output
