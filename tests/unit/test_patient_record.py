"""Reading a record: v1 and v2 validated with every problem named by its JSON pointer (never a
traceback), and v1 upgraded to v2 by the documented rules (schemas/upgrade.py)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from alscare import RecordError, parse_record, parse_record_json
from alscare.schemas.records import parse_record_v1
from alscare.schemas.upgrade import upgrade
from tests.builders import rating
from tests.conftest import RECORDS

V1 = "alscare.patient/v1"
V2 = "alscare.patient/v2"


@pytest.mark.parametrize("path", sorted(RECORDS.glob("*.json")), ids=lambda p: p.stem)
def test_parse_record_examples_validate(path):
    record = parse_record_json(path.read_text(encoding="utf-8"))
    assert record.id == json.loads(path.read_text())["id"]


def _problems(data: dict[str, Any]) -> set[tuple[str, str]]:
    with pytest.raises(RecordError) as caught:
        parse_record(data)
    return {(p.pointer, p.reason) for p in caught.value.problems}


def _reasons_at(data: dict[str, Any], pointer: str) -> list[str]:
    return [reason for at, reason in _problems(data) if at == pointer]


# --- v1 -------------------------------------------------------------------------------------------


def test_parse_record_unknown_field_named():
    assert ("/colour", f"unknown field (not in {V1})") in _problems({"id": "P-1", "colour": "blue"})


def test_parse_record_unknown_finding_id_named():
    problems = _problems({"id": "P-1", "findings": [{"id": "nope", "present": True}]})
    assert ("/findings/0/id", "unknown id 'nope'") in problems


def test_parse_record_item_out_of_range_named():
    items = rating()["items"]
    items["walking"] = 5
    problems = _problems({"id": "P-1", "alsfrs_r": [{"date": "2024-01-01", "items": items}]})
    assert any(pointer == "/alsfrs_r/0/items/walking" for pointer, _ in problems)


def test_parse_record_onset_before_birth_rejected():
    problems = _problems(
        {"id": "P-1", "birth_date": "1960-01-01", "symptom_onset": {"date": "1959-12-31"}}
    )
    assert ("/symptom_onset/date", "symptom onset is before the birth date") in problems


def test_parse_record_diagnosis_before_onset_rejected():
    problems = _problems(
        {"id": "P-1", "symptom_onset": {"date": "2024-02-01"}, "diagnosis_date": "2024-01-01"}
    )
    assert ("/diagnosis_date", "diagnosis is before symptom onset") in problems


def test_parse_record_unit_checked_against_test():
    problems = _problems(
        {"id": "P-1", "tests": [{"id": "vitamin_b12", "value": 300, "unit": "mg"}]}
    )
    assert any(pointer == "/tests/0" and "not a unit" in reason for pointer, reason in problems)


def test_parse_record_json_malformed_reported():
    with pytest.raises(RecordError, match="malformed JSON"):
        parse_record_json("{")


def test_parse_record_null_means_not_recorded():
    record = parse_record({"id": "P-1", "findings": None, "sex": None})
    assert record.findings == () and record.sex is None


def test_parse_record_null_emg_regions_mean_none_recorded():
    record = parse_record({"id": "P-1", "emg": {"regions": None, "motor_conduction_block": True}})
    (study,) = record.emg_studies
    assert study.regions == {} and study.motor_conduction_block is True


def test_parse_record_without_schema_is_v1():
    assert parse_record({"id": "P-1", "exam": {"bulbar": {}}}).schema_ == V2


def test_parse_record_unknown_schema_named():
    problems = _problems({"schema": "alscare.patient/v3", "id": "P-1"})
    assert any(pointer == "/schema" and "unknown schema" in reason for pointer, reason in problems)


@pytest.mark.parametrize("field", ["examinations", "emg_studies", "identity", "age_on", "death"])
def test_parse_record_v2_field_in_v1_says_which_version(field):
    (reason,) = _reasons_at({"id": "P-1", field: None}, f"/{field}")
    assert f'"schema": "{V2}"' in reason


def test_parse_record_incomplete_v1_rating_rejected():
    items = {k: v for k, v in rating()["items"].items() if k != "walking"}
    (reason,) = _reasons_at({"id": "P-1", "alsfrs_r": [{"date": "2024-01-01", "items": items}]},
                            "/alsfrs_r/0")  # fmt: skip
    assert "missing: walking" in reason


# --- v2 -------------------------------------------------------------------------------------------


def _v2(**fields: Any) -> dict[str, Any]:
    return {"schema": V2, "id": "P-2", **fields}


@pytest.mark.parametrize(("field", "instead"), [("exam", "examinations"), ("emg", "emg_studies")])
def test_parse_record_v1_field_in_v2_names_its_v2_name(field, instead):
    (reason,) = _reasons_at(_v2(**{field: {}}), f"/{field}")
    assert f"not in {V2}" in reason and repr(instead) in reason


def test_parse_record_v2_age_needs_its_date():
    assert _reasons_at(_v2(age_years=60), "/age_years") == [
        "an age needs the date it was true (age_on)"
    ]
    assert _reasons_at(_v2(age_on="2024-01-01"), "/age_on")


def test_parse_record_v2_age_contradicting_birth_date_rejected():
    data = _v2(birth_date="1960-01-01", age_years=40, age_on="2024-01-01")
    (reason,) = _reasons_at(data, "/age_years")
    assert reason.startswith("does not match the birth date (64.0 years)")


def test_parse_record_v2_examination_examines_some_region():
    data = _v2(examinations=[{"date": "2024-01-01", "regions": {"bulbar": None}}])
    assert _reasons_at(data, "/examinations/0/regions") == [
        "an examination examines at least one region"
    ]


def test_parse_record_v2_rating_rates_some_item_and_says_its_form():
    unrated = dict.fromkeys(rating()["items"])
    data = _v2(alsfrs_r=[{"date": "2024-01-01", "items": unrated, "gastrostomy": False}])
    assert _reasons_at(data, "/alsfrs_r/0/items") == ["a rating rates at least one item"]
    without_form = _v2(alsfrs_r=[{"date": "2024-01-01", "items": rating()["items"]}])
    assert _reasons_at(without_form, "/alsfrs_r/0/gastrostomy")


def test_parse_record_v2_stop_reason_needs_the_stop_date():
    data = _v2(medications=[{"name": "riluzole", "stop_reason": "adverse_effect"}])
    assert _reasons_at(data, "/medications/0") == [
        "stop_reason needs the date the drug was stopped (until)"
    ]


def test_parse_record_v2_hours_belong_to_a_started_event():
    event = {"kind": "niv", "event": "declined", "date": "2024-01-01", "hours_per_day": 8}
    assert _reasons_at(_v2(interventions=[event]), "/interventions/0") == [
        "hours_per_day belongs to a started event"
    ]


def test_parse_record_v2_nothing_dated_after_death_but_a_drug_list_end():
    data = _v2(
        death={"date": "2025-01-01"},
        weights=[{"date": "2025-02-01", "kg": 60}],
        medications=[{"name": "riluzole", "since": "2024-01-01", "until": "2025-01-02"}],
    )
    problems = _problems(data)
    assert ("/weights/0/date", "date is after the date of death") in problems
    assert not any(pointer.startswith("/medications") for pointer, _ in problems)


def test_parse_record_v2_round_trips_through_its_json():
    record = parse_record_json((RECORDS / "P-0001-limb-onset.json").read_text(encoding="utf-8"))
    assert parse_record(record.to_json_dict()) == record


# --- the v1 upgrade -------------------------------------------------------------------------------


def test_upgrade_dates_an_undated_examination_on_the_latest_date():
    record = parse_record(
        {
            "id": "P-1",
            "birth_date": "1960-01-01",
            "exam": {"cervical": {"weakness": True}},
            "weights": [{"date": "2024-05-01", "kg": 70}],
            "respiratory": [{"date": "2024-03-01", "fvc_percent_predicted": 80}],
        }
    )
    (examination,) = record.examinations
    assert (examination.date, examination.date_inferred) == (dt.date(2024, 5, 1), True)


def test_upgrade_dates_everything_undated_in_a_record_without_dates_on_day_one():
    record = parse_record(
        {"id": "P-1", "exam": {"bulbar": {}}, "findings": [{"id": "falls", "present": True}]}
    )
    assert record.examinations[0].date == record.findings[0].date == dt.date.min


def test_upgrade_keeps_a_date_the_v1_record_gives():
    record = parse_record(
        {"id": "P-1", "emg": {"date": "2024-02-01"}, "diagnosis_date": "2024-06-01"}
    )
    (study,) = record.emg_studies
    assert (study.date, study.date_inferred) == (dt.date(2024, 2, 1), False)


def test_upgrade_refuses_an_undated_age_in_a_record_without_dates():
    assert _reasons_at({"id": "P-1", "age_years": 60}, "/age_years")


def test_upgrade_dates_an_age_on_the_latest_dated_entry():
    record = parse_record({"id": "P-1", "age_years": 60, "diagnosis_date": "2024-06-01"})
    assert (record.age_years, record.age_on) == (60, dt.date(2024, 6, 1))


def test_upgrade_drops_an_age_beside_a_birth_date():
    record = parse_record({"id": "P-1", "age_years": 60, "birth_date": "1964-01-01"})
    assert record.age_years is None and record.age_on is None


def test_upgrade_rating_without_form_is_5a_assumed():
    record = parse_record({"id": "P-1", "alsfrs_r": [rating("2024-01-01")]})
    (upgraded,) = record.alsfrs_r
    assert (upgraded.gastrostomy, upgraded.gastrostomy_assumed) == (False, True)


@pytest.mark.parametrize(
    ("interventions", "expected"),
    [
        (None, None),
        ({}, ()),
        ({"niv": None, "gastrostomy": None}, ()),
        ({"niv": {"since": "2024-03-01", "hours_per_day": 8}}, (("niv", "started", "2024-03-01"),)),
        ({"gastrostomy": {"declined": True}}, (("gastrostomy", "declined", "2024-06-01"),)),
    ],
    ids=["not-recorded", "none", "all-null", "started", "declined-undated"],
)
def test_upgrade_interventions_become_events(interventions, expected):
    data: dict[str, Any] = {"id": "P-1", "diagnosis_date": "2024-06-01"}
    if interventions is not None:
        data["interventions"] = interventions
    events = parse_record(data).interventions
    found = None if events is None else tuple((e.kind, e.event, str(e.date)) for e in events)
    assert found == expected


def test_upgrade_care_flags_become_dated_events():
    record = parse_record(
        {
            "id": "P-1",
            "diagnosis_date": "2024-06-01",
            "care": {"advance_care_plan": True, "palliative_care_referral": False},
        }
    )
    assert [(c.kind, c.date, c.date_inferred) for c in record.care] == [
        ("advance_care_plan", dt.date(2024, 6, 1), True)
    ]


def test_upgrade_of_the_validated_v1_equals_reading_it():
    data = json.loads((RECORDS / "P-0004-sod1-late.json").read_text(encoding="utf-8"))
    assert upgrade(parse_record_v1(data)) == parse_record(data)


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        (
            '{"schema":"alscare.patient/v2","id":"X","sex":"male","tests":[{"id":"vitamin_b12",'
            '"date":"2024-01-01","value":NaN,"unit":"pg/mL"}]}',
            "/tests/0/value",
        ),
        (
            '{"schema":"alscare.patient/v1","id":"X","sex":"male","labs":[{"id":"alt",'
            '"value":1e999,"unit":"U/L"}]}',
            "/labs/0/value",
        ),
        (
            '{"schema":"alscare.patient/v2","id":"X","sex":"male","height_cm":-Infinity}',
            "/height_cm",
        ),
    ],
    ids=["nan-test-value", "overflow-lab-v1", "minus-infinity"],
)
def test_patient_record_refuses_nan_and_infinity_naming_the_field(text, pointer):
    with pytest.raises(RecordError) as raised:
        parse_record_json(text)
    assert [str(p) for p in raised.value.problems] == [
        f"{pointer}: Input should be a finite number"
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b'{"id": ' + b"1" * 5000 + b"}", "malformed JSON: a number with too many digits"),
        (b"[" * 100_000 + b"]" * 100_000, "malformed JSON: nested too deeply"),
        (b'{"id": "\xff"}', "not UTF-8 text (byte 8)"),
        (b'{"id": ', "malformed JSON: Expecting value at line 1 column 8"),
    ],
    ids=["long-number", "deep", "not-utf8", "truncated"],
)
def test_patient_record_json_that_cannot_be_read_says_why_in_words(text, reason):
    with pytest.raises(RecordError) as raised:
        parse_record_json(text)
    assert [str(p) for p in raised.value.problems] == [f"/: {reason}"]
