"""alscare.plausibility: the clinic's acceptance policy for entered values, on records in
memory: the edges of each range, what counts as added, confirmations and relative pointers."""

from __future__ import annotations

from typing import Any

import pytest

from alscare.errors import RecordError
from alscare.plausibility import FVC, HEIGHT, WEIGHT, ConfirmationNeeded, check
from alscare.schemas.patient import PatientRecord
from alscare.schemas.records import parse_record


def record(**fields: Any) -> PatientRecord:
    return parse_record({"schema": "alscare.patient/v2", "id": "P-1", **fields})


def refusal(previous: PatientRecord | None, new: PatientRecord, **kwargs: Any) -> RecordError:
    with pytest.raises(RecordError) as raised:
        check(previous, new, **kwargs)
    return raised.value


@pytest.mark.parametrize(
    ("band", "refused", "unlikely", "accepted"),
    [
        (WEIGHT, (19.9, 300.1), (29.9, 200.1), (20, 30, 200, 300)),
        (HEIGHT, (99.9,), (139.9, 210.1), (100, 140, 210, 250)),
        (FVC, (4.9, 200.1), (9.9, 150.1), (5, 10, 150, 200)),
    ],
)
def test_band_edges_are_inclusive(
    band: Any, refused: tuple[float, ...], unlikely: tuple[float, ...], accepted: tuple[float, ...]
) -> None:
    assert all(band.refusal(value) is not None for value in refused)
    assert all(band.refusal(v) is None and band.doubt(v) is not None for v in unlikely)
    assert all(band.refusal(v) is None for v in accepted)
    assert all(band.doubt(v) is None for v in accepted[1:-1])


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"height_cm": 99}, "/height_cm"),
        ({"premorbid_weight_kg": 301}, "/premorbid_weight_kg"),
        ({"weights": [{"date": "2026-01-01", "kg": 19}]}, "/weights/0/kg"),
        (
            {"respiratory": [{"date": "2026-01-01", "fvc_percent_predicted": 4}]},
            "/respiratory/0/fvc_percent_predicted",
        ),
        (
            {"respiratory": [{"date": "2026-01-01", "supine_fvc_percent_predicted": 3}]},
            "/respiratory/0/supine_fvc_percent_predicted",
        ),
        ({"respiratory": [{"date": "2026-01-01", "position": "supine"}]}, "/respiratory/0"),
        (
            {
                "labs": [
                    {"id": "alt", "value": 1, "unit": "U/L", "lower_limit": 5, "upper_limit": 5}
                ]
            },
            "/labs/0/lower_limit",
        ),
    ],
)
def test_value_outside_the_policy_is_refused_even_when_confirmed(
    fields: dict[str, Any], pointer: str
) -> None:
    error = refusal(None, record(**fields), confirmed=[pointer])
    assert not isinstance(error, ConfirmationNeeded)
    assert [problem.pointer for problem in error.problems] == [pointer]


def test_unlikely_values_need_confirmation_each_and_pass_once_confirmed() -> None:
    new = record(height_cm=135, weights=[{"date": "2026-01-01", "kg": 25}])
    error = refusal(None, new)
    assert isinstance(error, ConfirmationNeeded)
    assert error.unconfirmed == {"/height_cm", "/weights/0/kg"}
    assert all("needs confirmation" in problem.reason for problem in error.problems)
    partly = refusal(None, new, confirmed=["/height_cm"])
    assert isinstance(partly, ConfirmationNeeded) and partly.unconfirmed == {"/weights/0/kg"}
    check(None, new, confirmed=["/height_cm", "/weights/0/kg"])


def test_weight_change_is_measured_from_the_latest_weight_dated_before() -> None:
    earlier = record(weights=[{"date": "2026-01-01", "kg": 90}, {"date": "2026-03-01", "kg": 70}])
    down = earlier.model_copy(
        update={
            "weights": (
                *earlier.weights,
                *record(weights=[{"date": "2026-06-01", "kg": 62}]).weights,
            )
        }
    )
    error = refusal(earlier, down)
    assert isinstance(error, ConfirmationNeeded) and error.unconfirmed == {"/weights/2/kg"}
    (problem,) = error.problems
    assert "more than 10 % below the previous weight" in problem.reason
    assert "70" not in problem.reason and "2026-03-01" not in problem.reason
    within = record(weights=[{"date": "2026-03-01", "kg": 70}, {"date": "2026-06-01", "kg": 63.5}])
    check(None, within)  # 9.3 % less


def test_only_what_a_write_adds_or_changes_is_checked() -> None:
    odd = record(height_cm=135, weights=[{"date": "2026-01-01", "kg": 25}])
    check(odd, odd)  # already on record (confirmed once): never asked again
    check(odd, odd.model_copy(update={"sex": "female"}))
    taller = odd.model_copy(update={"height_cm": 136})
    assert refusal(odd, taller).problems[0].pointer == "/height_cm"


def test_an_entry_given_twice_is_added_once() -> None:
    once = record(weights=[{"date": "2026-01-01", "kg": 25}])
    twice = record(weights=[{"date": "2026-01-01", "kg": 25}, {"date": "2026-01-01", "kg": 25}])
    error = refusal(once, twice)
    assert isinstance(error, ConfirmationNeeded) and error.unconfirmed == {"/weights/1/kg"}


def test_pointers_relative_to_the_entry_a_caller_added() -> None:
    before = record(weights=[{"date": "2026-01-01", "kg": 70}])
    after = record(weights=[{"date": "2026-01-01", "kg": 70}, {"date": "2026-02-01", "kg": 25}])
    error = refusal(before, after, base="/weights/1")
    assert isinstance(error, ConfirmationNeeded)
    assert error.unconfirmed == {"/kg"}
    assert [problem.pointer for problem in error.problems] == ["/kg"]
    check(before, after, base="/weights/1", confirmed=["/kg"])


def test_a_refused_weight_is_not_also_asked_about() -> None:
    before = record(weights=[{"date": "2026-01-01", "kg": 70}])
    after = record(weights=[{"date": "2026-01-01", "kg": 70}, {"date": "2026-02-01", "kg": 7}])
    error = refusal(before, after)
    assert not isinstance(error, ConfirmationNeeded)
    assert [problem.pointer for problem in error.problems] == ["/weights/1/kg"]
