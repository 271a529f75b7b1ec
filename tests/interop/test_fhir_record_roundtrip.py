"""Record -> FHIR resources -> record gives the same record, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings

from alscare import parse_record
from alscare.interop.fhir.record_in import record_from_resources
from alscare.interop.fhir.record_out import record_resources
from tests.conftest import RECORDS, RECORDS_V2, example
from tests.integration.strategies import FULL_RECORD, LONGITUDINAL, records
from tests.interop.fhir_checks import record_bytes, through_json
from tests.property.strategies import records_v2

EXAMPLES = sorted(path.stem for path in RECORDS_V2.glob("*.json"))
V1_FIXTURES = sorted(path.stem for path in RECORDS.glob("*.json"))
ROOT_EXAMPLES = sorted(Path(__file__).resolve().parents[2].glob("examples/*.json"))


def _round_trip(data: dict[str, object]) -> None:
    record = parse_record(data)
    result = record_from_resources(through_json(record_resources(record)))
    assert result.unmapped == ()
    assert record_bytes(result.record) == record_bytes(record)
    assert result.record == record


@pytest.mark.parametrize("name", EXAMPLES)
def test_record_round_trip_v2_example_same_bytes(name):
    _round_trip(example(name, version=2).to_json_dict())


@pytest.mark.parametrize("name", V1_FIXTURES)
def test_record_round_trip_upgraded_v1_fixture_same_bytes(name):
    # the upgrade's marks (date_inferred, gastrostomy_assumed) come back too
    _round_trip(example(name, version=1).to_json_dict())


@pytest.mark.parametrize("path", ROOT_EXAMPLES, ids=lambda path: path.stem)
def test_record_round_trip_examples_folder_same_bytes(path):
    _round_trip(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("data", [FULL_RECORD, LONGITUDINAL], ids=["full", "longitudinal"])
def test_record_round_trip_every_field_same_bytes(data):
    _round_trip(data)


@settings(max_examples=150)
@given(records())
def test_record_round_trip_any_record_same_bytes(data):
    _round_trip(data)


@settings(max_examples=100)
@given(records_v2())
def test_record_round_trip_longitudinal_record_same_bytes(data):
    _round_trip(data)


def test_record_round_trip_float_survives_exactly():
    data = {
        **LONGITUDINAL,
        "weights": [{"date": "2024-12-01", "kg": 64.123456789012345}],
        "respiratory": [{"date": "2024-09-01", "fvc_litres": 0.1 + 0.2}],
    }
    record = parse_record(data)
    back = record_from_resources(through_json(record_resources(record))).record
    assert back.weights[0].kg == 64.123456789012345
    assert back.respiratory[0].fvc_litres == 0.1 + 0.2
