"""The ENCALS composite endpoint as the record shows it, how long a record follows its
patient, and the staging alone (what a registry reads at diagnosis)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alscare import KnowledgeBase, assess, parse_record
from alscare.assessment_dates import FAR_LIMIT, as_of_problem
from alscare.cohort.synth import cohort_records_v2
from alscare.engine import staging_on
from alscare.engine.prognosis import Endpoint, endpoints_reached
from alscare.engine.state import patient_state
from tests.builders import make_record_v2
from tests.builders_v2 import ALS_BASE, rated

AS_OF = dt.date(2025, 6, 1)


def _niv(event: str, date: str, hours: float | None = None) -> dict[str, Any]:
    return {"kind": "niv", "event": event, "date": date, "hours_per_day": hours}


def _tracheostomy(event: str, date: str) -> dict[str, Any]:
    return {"kind": "tracheostomy", "event": event, "date": date}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, ()),
        ({"death": {"date": "2025-05-01"}}, (Endpoint("death", dt.date(2025, 5, 1)),)),
        ({"death": {"date": "2025-07-01"}}, ()),  # after as_of: not known yet
        (
            {"interventions": [_tracheostomy("started", "2025-02-01")]},
            (Endpoint("tracheostomy", dt.date(2025, 2, 1)),),
        ),
        ({"interventions": [_tracheostomy("offered", "2025-02-01")]}, ()),
        ({"interventions": [_niv("started", "2025-02-01", 23)]}, ()),  # over 23 h, not 23 h
        (
            {
                "interventions": [
                    _niv("started", "2025-01-01", 10),
                    _niv("started", "2025-03-01", 24),
                ]
            },
            (Endpoint("niv_over_23h", dt.date(2025, 3, 1)),),
        ),
        ({"interventions": [_niv("declined", "2025-02-01")]}, ()),
        (
            {
                "death": {"date": "2025-05-20"},
                "interventions": [_tracheostomy("started", "2025-04-01")],
            },
            (
                Endpoint("death", dt.date(2025, 5, 20)),
                Endpoint("tracheostomy", dt.date(2025, 4, 1)),
            ),
        ),
    ],
)
def test_endpoint_parts_reached(extra: dict[str, Any], expected: tuple[Endpoint, ...]) -> None:
    record = make_record_v2(**{**ALS_BASE, **extra})
    assert endpoints_reached(patient_state(record, AS_OF)) == expected


def test_follow_up_runs_from_the_first_to_the_latest_kept_entry() -> None:
    record = make_record_v2(
        **ALS_BASE,
        alsfrs_r=[rated("2024-02-01"), rated("2025-03-10"), rated("2025-09-01")],
        weights=[{"date": "2025-04-02", "kg": 60}],
    )
    assert patient_state(record, AS_OF).followed_from == dt.date(2024, 2, 1)
    assert patient_state(record, AS_OF).followed_until == dt.date(2025, 4, 2)
    assert patient_state(record, dt.date(2025, 3, 31)).followed_until == dt.date(2025, 3, 10)
    assert patient_state(record, dt.date(2030, 1, 1)).followed_until == dt.date(2025, 9, 1)


def test_a_record_without_dates_has_no_follow_up() -> None:
    record = make_record_v2(sex="male")
    state = patient_state(record, AS_OF)
    assert (state.followed_from, state.followed_until) == (None, None)


@settings(max_examples=40, deadline=None)
@given(days=st.integers(min_value=0, max_value=900))
def test_staging_on_is_the_staging_of_assess(kb: KnowledgeBase, days: int) -> None:
    record = make_record_v2(
        **ALS_BASE,
        alsfrs_r=[rated("2024-01-10", speech=3), rated("2024-09-01", speech=2, walking=2)],
        death={"date": "2026-01-01"},
    )
    day = dt.date(2024, 1, 1) + dt.timedelta(days=days)
    assert staging_on(record, as_of=day, kb=kb) == assess(record, as_of=day, kb=kb).staging


@pytest.mark.parametrize("as_of", ["2023-01-01", "2024-06-01", "2025-02-01"])
def test_staging_on_matches_assess_across_the_benchmark_cohort(
    kb: KnowledgeBase, as_of: str
) -> None:
    day = dt.date.fromisoformat(as_of)
    for data in cohort_records_v2(300):
        record = parse_record(data)
        if as_of_problem(record, day, latest=FAR_LIMIT) is None:
            assert staging_on(record, as_of=day, kb=kb) == assess(record, as_of=day, kb=kb).staging
