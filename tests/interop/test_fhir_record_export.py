"""A record as FHIR R4 resources: every resource valid, the Patient first, stable ids, and the
codes of codes.yaml where the EHR looks for them."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from alscare import parse_record
from alscare.interop.fhir.names import RECORD_ID_SYSTEM
from alscare.interop.fhir.record_out import patient_reference, record_bundle, record_resources
from tests.conftest import RECORDS_V2, example
from tests.integration.strategies import FULL_RECORD, records
from tests.interop.fhir_checks import assert_valid_fhir

EXAMPLES = sorted(path.stem for path in RECORDS_V2.glob("*.json"))


def _by_code(resources, code):
    return [
        r for r in resources if any(c["code"] == code for c in r.get("code", {}).get("coding", ()))
    ]


@pytest.mark.parametrize("name", EXAMPLES)
def test_record_resources_example_every_resource_valid_fhir(name):
    resources = record_resources(example(name, version=2))
    for resource in resources:
        assert_valid_fhir(resource)
    assert_valid_fhir(record_bundle(example(name, version=2)))


@settings(max_examples=100)
@given(records())
def test_record_resources_any_record_every_resource_valid_fhir(data):
    for resource in record_resources(parse_record(data)):
        assert_valid_fhir(resource)


def test_record_resources_patient_first_others_refer_to_it():
    record = parse_record(FULL_RECORD)
    resources = record_resources(record)
    assert resources[0]["resourceType"] == "Patient"
    assert patient_reference(record) == "Patient/FULL-2"
    for resource in resources[1:]:
        key = "patient" if resource["resourceType"] == "FamilyMemberHistory" else "subject"
        assert resource[key] == {"reference": "Patient/FULL-2"}


def test_record_resources_same_record_same_bytes_and_unique_ids():
    record = parse_record(FULL_RECORD)
    first, again = record_resources(record), record_resources(parse_record(FULL_RECORD))
    assert json.dumps(first) == json.dumps(again)
    ids = [resource["id"] for resource in first]
    assert len(set(ids)) == len(ids)


def test_record_resources_record_id_with_underscore_gets_valid_patient_id():
    record = parse_record({**FULL_RECORD, "id": "clinic_7"})
    patient = record_resources(record)[0]
    assert patient["id"] != "clinic_7"
    assert patient_reference(record) == f"Patient/{patient['id']}"
    assert {"system": RECORD_ID_SYSTEM, "value": "clinic_7"} in patient["identifier"]
    assert_valid_fhir(patient)


def test_record_resources_standard_codes_where_ehr_reads_them():
    resources = record_resources(parse_record(FULL_RECORD))
    (weight,) = _by_code(resources, "29463-7")
    assert weight["valueQuantity"] == {
        "value": 61.25,
        "unit": "kg",
        "system": "http://unitsofmeasure.org",
        "code": "kg",
    }
    (height,) = _by_code(resources, "8302-2")
    assert height["valueQuantity"]["value"] == 171.5
    (condition,) = [r for r in resources if r["resourceType"] == "Condition"]
    assert {c["code"] for c in condition["code"]["coding"]} == {"86044005", "G12.21"}
    assert condition["onsetDateTime"] == "2023-01-02"
    assert condition["recordedDate"] == "2023-09-10"
    (breathing,) = _by_code(resources, "respiratory")
    fvc = next(c for c in breathing["component"] if c["code"]["coding"][0]["code"] == "19872-1")
    assert fvc["valueQuantity"]["value"] == 61.5
    (patient,) = [r for r in resources if r["resourceType"] == "Patient"]
    assert patient["deceasedDateTime"] == "2024-03-01"
    assert patient["birthDate"] == "1950-05-06"


def test_record_resources_alsfrs_total_only_when_every_item_rated():
    record = example("P-0004-sod1-late", version=2)
    ratings = _by_code(record_resources(record), "alsfrs_r")
    assert ratings[0]["valueInteger"] == 41  # 4+4+4+4+4+3+3+2+1+4+4+4
    partial = parse_record(FULL_RECORD)  # orthopnea not rated
    (rating,) = _by_code(record_resources(partial), "alsfrs_r")
    assert "valueInteger" not in rating


def test_record_resources_stop_date_is_first_day_without_drug():
    record = parse_record(FULL_RECORD)  # riluzole until 2024-02-01
    (statement,) = [
        r for r in record_resources(record) if r["resourceType"] == "MedicationStatement"
    ]
    assert statement["effectivePeriod"] == {"start": "2023-10-01", "end": "2024-01-31"}
    assert statement["status"] == "stopped"
    assert statement["medicationCodeableConcept"] == {"text": "riluzole"}


def test_record_resources_text_fhir_cannot_hold_comes_back_as_json_literal():
    data = {**FULL_RECORD, "genetics": [{"gene": "SOD1", "result": "vus", "variant": ""}]}
    resources = record_resources(parse_record(data))
    (genetic,) = _by_code(resources, "genetics")
    (variant,) = genetic["component"][1:]
    assert variant["valueString"] == '""'
    assert_valid_fhir(genetic)
