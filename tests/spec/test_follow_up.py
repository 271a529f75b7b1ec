"""What falls due for a person with ALS (the worklist, ``assessment.due``): measurements past
their repeat window (rules/definitions.yaml: respiratory tests 3 months, nice2010_cg105;
ALSFRS-R and weight 3 months, unverified), riluzole's liver schedule (ema2021_rilutek_smpc:
monthly for 3 months, 3-monthly to month 12), decisions an alert asks for and the record does
not answer, and the cognitive screen (miller2009_aan_part2)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alscare import Assessment
from tests.builders import make_record_v2
from tests.builders_v2 import ALS_BASE, assess_on, rated, respiratory

# Everything measured on the diagnosis date, and screened: nothing due within 3 months.
MEASURED = {
    **ALS_BASE,
    "alsfrs_r": [rated("2024-01-15")],
    "respiratory": [respiratory("2024-01-15", fvc_percent_predicted=95)],
    "weights": [{"date": "2024-01-15", "kg": 60}],
    "cognition": [{"date": "2024-01-15", "ecas_total": 120, "ftd": False}],
}


def _due(assessment: Assessment) -> dict[str, Any]:
    return {item.id: item for item in assessment.due}


def test_nothing_due_while_every_measurement_is_within_its_window(kb):
    # 2024-04-15 is 91 days (2.99 months of 30.4375 days) after 2024-01-15.
    assert _due(assess_on(make_record_v2(**MEASURED), "2024-04-15", kb)) == {}


def test_measurements_fall_due_the_day_they_turn_stale(kb):
    record = make_record_v2(**MEASURED)
    assessment = assess_on(record, "2024-04-16", kb)  # 92 days: 3.02 months
    due = _due(assessment)
    assert set(due) == {"respiratory_tests", "alsfrs_r", "weight"}
    assert {item.since for item in due.values()} == {dt.date(2024, 4, 16)}
    assert set(assessment.scores.stale) >= {"fvc_percent_predicted", "alsfrs_r"}  # same day
    assert due["respiratory_tests"].because == (
        "respiratory function tests of 2024-01-15, 3 months old: stale, past the 3-month "
        "repeat window",
    )
    assert due["respiratory_tests"].verified is True
    assert due["alsfrs_r"].verified is False  # the ALSFRS-R window is unverified
    assert "nice2010_cg105" in due["respiratory_tests"].sources


def test_a_measurement_never_made_is_due_from_the_diagnosis(kb):
    record = make_record_v2(**{**MEASURED, "weights": []})
    due = _due(assess_on(record, "2024-02-01", kb))
    assert set(due) == {"weight"}
    assert (due["weight"].since, due["weight"].because) == (
        dt.date(2024, 1, 15),
        ("no weight recorded",),
    )


def test_a_rating_with_unrated_items_still_counts_as_done(kb):
    record = make_record_v2(**{**MEASURED, "alsfrs_r": [rated("2024-03-01", orthopnea=None)]})
    assert "alsfrs_r" not in _due(assess_on(record, "2024-05-01", kb))


def test_nothing_due_without_als_or_after_death(kb):
    undiagnosed = {**MEASURED, "diagnosis_date": None}
    assert assess_on(make_record_v2(**undiagnosed), "2025-01-01", kb).due == ()
    died = make_record_v2(**MEASURED, death={"date": "2024-03-01"})
    assert assess_on(died, "2025-01-01", kb).due == ()


RILUZOLE = [{"name": "riluzole", "since": "2024-01-20"}]


@pytest.mark.parametrize(
    ("labs", "as_of", "since"),
    [
        ([], "2024-02-01", dt.date(2024, 1, 20)),  # no ALT dated: due from the start
        ([("2024-01-18", 20)], "2024-02-17", None),  # 30 days: within the monthly interval
        ([("2024-01-18", 20)], "2024-02-18", dt.date(2024, 2, 18)),  # 31 days: 1.02 months
        ([("2024-06-01", 20)], "2024-08-31", None),  # month 7: every 3 months, 91 days
        ([("2024-06-01", 20)], "2024-09-01", dt.date(2024, 9, 1)),
        ([("2024-06-01", 20)], "2025-03-01", None),  # after month 12: periodic, no interval
    ],
)
def test_riluzole_liver_tests_follow_the_schedule(kb, labs, as_of, since):
    entries = [
        {"id": "alt", "date": date, "value": value, "unit": "U/L", "upper_limit": 40}
        for date, value in labs
    ]
    record = make_record_v2(**MEASURED, medications=RILUZOLE, labs=entries)
    item = _due(assess_on(record, as_of, kb)).get("riluzole_liver_tests")
    assert (item.since if item else None) == since
    if item is not None:
        assert "ema2021_rilutek_smpc" in item.sources


# FVC below 80 % with orthopnoea: NIV indicated (rules/conditions.yaml niv_trigger).
LOW_FVC = {
    **MEASURED,
    "respiratory": [respiratory("2024-03-01", fvc_percent_predicted=45, symptoms=["orthopnea"])],
}


@pytest.mark.parametrize(
    ("events", "open_decision"),
    [
        ([], True),
        (None, True),  # interventions not recorded: nothing answers the alert
        ([{"kind": "niv", "event": "offered", "date": "2024-03-02"}], False),
        ([{"kind": "niv", "event": "declined", "date": "2024-03-02"}], False),
        ([{"kind": "gastrostomy", "event": "offered", "date": "2024-03-02"}], True),
    ],
)
def test_an_niv_decision_is_due_while_the_alert_stands_unanswered(kb, events, open_decision):
    record = make_record_v2(**{**LOW_FVC, "interventions": events})
    assessment = assess_on(record, "2024-03-10", kb)
    item = _due(assessment).get("niv_decision")
    assert (item is not None) is open_decision
    if item is not None:
        alert = next(a for a in assessment.alerts if a.id == "niv_indicated")
        assert item.since == dt.date(2024, 3, 1)  # the measurement the decision rests on
        assert item.because == (*alert.because, "no NIV offered, declined or started yet")
        assert set(alert.sources) <= set(item.sources)


def test_the_cognitive_screen_is_due_from_the_diagnosis_until_done(kb):
    unscreened = make_record_v2(**{**MEASURED, "cognition": []})
    item = _due(assess_on(unscreened, "2024-02-01", kb))["cognitive_screen"]
    assert (item.since, item.because) == (dt.date(2024, 1, 15), ("no cognitive screen recorded",))
    assert "abrahams2014_ecas" in item.sources


@settings(max_examples=60, deadline=None)
@given(
    fvc_days=st.integers(min_value=0, max_value=400),
    weight_days=st.integers(min_value=0, max_value=400),
    after=st.integers(min_value=0, max_value=400),
)
def test_property_due_items_are_dated_on_or_before_as_of_with_reasons(
    kb, fvc_days, weight_days, after
):
    start = dt.date(2024, 1, 15)
    record = make_record_v2(
        **{
            **MEASURED,
            "respiratory": [
                respiratory(str(start + dt.timedelta(fvc_days)), fvc_percent_predicted=90)
            ],
            "weights": [{"date": str(start + dt.timedelta(weight_days)), "kg": 60}],
        }
    )
    as_of = start + dt.timedelta(max(fvc_days, weight_days) + after)
    assessment = assess_on(record, str(as_of), kb)
    for item in assessment.due:
        assert item.because and item.sources
        assert item.since is None or item.since <= as_of
    stale = set(assessment.scores.stale)
    due = _due(assessment)
    # the worklist and the staleness of the scores answer "is it due?" the same way
    assert ("respiratory_tests" in due) == ("fvc_percent_predicted" in stale)
