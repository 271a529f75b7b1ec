"""Record v1 validation: every problem named by its JSON pointer, never a traceback."""

from __future__ import annotations

import json

import pytest

from alscare import RecordError, parse_record, parse_record_json
from tests.builders import rating
from tests.conftest import RECORDS


@pytest.mark.parametrize("path", sorted(RECORDS.glob("*.json")), ids=lambda p: p.stem)
def test_parse_record_examples_validate(path):
    record = parse_record_json(path.read_text(encoding="utf-8"))
    assert record.id == json.loads(path.read_text())["id"]


def _problems(data):
    with pytest.raises(RecordError) as caught:
        parse_record(data)
    return {(p.pointer, p.reason) for p in caught.value.problems}


def test_parse_record_unknown_field_named():
    assert ("/colour", "unknown field") in _problems({"id": "P-1", "colour": "blue"})


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
    assert record.emg is not None and record.emg.regions == {}
