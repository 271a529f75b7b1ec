"""FHIR resources from an EHR to a record: standard codes and UCUM units read, what cannot be
mapped reported one resource at a time, invalid FHIR and impossible records refused."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from alscare.errors import RecordError
from alscare.interop.fhir.names import ASSESSMENT_TAG
from alscare.interop.fhir.record_in import (
    import_records,
    read_source,
    record_from_resources,
    resources_from_bundle,
)

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
SUBJECT = {"reference": "Patient/ehr-1"}
PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "ehr-1",
    "identifier": [
        {
            "type": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                ]
            },
            "system": "urn:oid:1.2.36.146.595.217.0.1",
            "value": "12345",
        }
    ],
    "name": [{"family": "Example", "given": ["Ada"]}],
    "gender": "female",
    "birthDate": "1961-09-14",
}


def _observation(
    rid: str, code: str, value: dict[str, Any], when: str = "2024-06-12"
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": SUBJECT,
        "effectiveDateTime": when,
        "valueQuantity": value,
    }


def _quantity(value: float, code: str) -> dict[str, Any]:
    return {"value": value, "unit": code, "system": UCUM, "code": code}


CONDITION = {
    "resourceType": "Condition",
    "id": "als",
    "clinicalStatus": {
        "coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
        ]
    },
    "code": {
        "coding": [
            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G12.21", "display": "ALS"}
        ]
    },
    "subject": SUBJECT,
    "onsetDateTime": "2023-11-01T09:30:00+01:00",
    "recordedDate": "2024-06-12",
}
MEDICATION_REQUEST = {
    "resourceType": "MedicationRequest",
    "id": "rx-1",
    "status": "active",
    "intent": "order",
    "medicationCodeableConcept": {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "199206"}]
    },
    "subject": SUBJECT,
    "authoredOn": "2024-06-20T10:00:00Z",
}
ENCOUNTER = {
    "resourceType": "Encounter",
    "id": "enc-1",
    "status": "finished",
    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
    "subject": SUBJECT,
}


def _searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"fullUrl": f"https://ehr.example/fhir/{r['resourceType']}/{r['id']}", "resource": r}
            for r in resources
        ],
    }


EHR_BUNDLE = _searchset(
    PATIENT,
    _observation("w-1", "29463-7", _quantity(154, "[lb_av]")),
    _observation("h-1", "8302-2", _quantity(65, "[in_i]")),
    _observation("fvc-1", "19872-1", _quantity(78, "%")),
    _observation("bmi-1", "39156-5", _quantity(25.6, "kg/m2")),
    _observation("ldl-1", "13457-7", _quantity(3.1, "mmol/L")),
    CONDITION,
    MEDICATION_REQUEST,
    ENCOUNTER,
)


def _import(bundle: dict[str, Any] = EHR_BUNDLE):
    return record_from_resources(resources_from_bundle(bundle))


def _reasons(result) -> dict[str | None, str]:
    return {item.resource_id: item.reason for item in result.unmapped}


def test_import_ehr_searchset_weight_in_pounds_becomes_kg():
    record = _import().record
    assert record.weights[0].kg == pytest.approx(154 * 0.45359237)
    assert record.weights[0].date.isoformat() == "2024-06-12"


def test_import_ehr_searchset_height_in_inches_becomes_cm():
    assert _import().record.height_cm == pytest.approx(65 * 2.54)


def test_import_ehr_patient_identity_sex_birth_date_and_id():
    record = _import().record
    assert record.id == "ehr-1"
    assert record.sex == "female"
    assert record.birth_date.isoformat() == "1961-09-14"
    assert record.identity.name == "Ada Example"
    assert [(i.system, i.value) for i in record.identity.identifiers] == [
        ("urn:oid:1.2.36.146.595.217.0.1", "12345")
    ]


def test_import_icd10cm_condition_gives_onset_and_diagnosis_dates():
    record = _import().record
    assert record.symptom_onset.date.isoformat() == "2023-11-01"  # the date as written
    assert record.diagnosis_date.isoformat() == "2024-06-12"


def test_import_medication_request_by_rxnorm_code():
    (medication,) = _import().record.medications
    assert medication.name == "riluzole"
    assert medication.since.isoformat() == "2024-06-20"
    assert medication.until is None


def test_import_medication_by_name_any_case():
    request = {**MEDICATION_REQUEST, "medicationCodeableConcept": {"text": "RILUTEK 50 mg"}}
    (medication,) = _import(_searchset(PATIENT, request)).record.medications
    assert medication.name == "RILUTEK 50 mg"


def test_import_fvc_percent_alone_is_a_breathing_test_entry():
    (entry,) = _import().record.respiratory
    assert entry.fvc_percent_predicted == 78


def test_import_unknown_observation_code_encounter_and_bmi_reported_unmapped():
    result = _import()
    reasons = _reasons(result)
    assert set(reasons) == {"bmi-1", "ldl-1", "enc-1"}
    assert "BMI is derived" in reasons["bmi-1"]
    assert "http://loinc.org|13457-7" in reasons["ldl-1"]
    assert "Encounter is not part of the patient record" in reasons["enc-1"]
    assert {item.resource_type for item in result.unmapped} == {"Observation", "Encounter"}
    assert len(result.unmapped) == 3  # one line per resource


def test_import_reports_a_resource_once_with_the_reasons_of_each_part():
    partly = _observation("w-2", "29463-7", _quantity(60, "kg"))
    partly["effectiveDateTime"] = "2024-05"  # a month: the date is not guessed
    partly["valueQuantity"]["unit"] = "stone"
    partly["valueQuantity"]["code"] = "[stone_av]"
    result = _import(_searchset(PATIENT, partly))
    [report] = [item for item in result.unmapped if item.resource_id == "w-2"]
    assert report.resource_type == "Observation"


def test_import_value_in_record_unit_passes_untouched():
    bundle = _searchset(PATIENT, _observation("w-1", "29463-7", _quantity(61.25, "kg")))
    assert _import(bundle).record.weights[0].kg == 61.25


def test_import_unknown_unit_reported_unmapped_never_guessed():
    bundle = _searchset(
        PATIENT,
        _observation("w-1", "29463-7", {"value": 150, "unit": "lbs"}),
        _observation("w-2", "29463-7", _quantity(150, "[stone_av]")),
        _observation("w-3", "29463-7", _quantity(150, "cm")),
    )
    result = _import(bundle)
    assert result.record.weights == ()
    reasons = _reasons(result)
    assert "not a UCUM code" in reasons["w-1"]
    assert "'[stone_av]' is not a UCUM unit alscare converts" in reasons["w-2"]
    assert "cannot be converted" in reasons["w-3"]


def test_import_paco2_unit_chooses_its_field():
    def breathing(rid: str, value: float, unit: str) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": rid,
            "status": "final",
            "subject": SUBJECT,
            "code": {
                "coding": [
                    {
                        "system": "https://alscare.org/fhir/CodeSystem/alscare",
                        "code": "respiratory.paco2",
                    }
                ]
            },
            "effectiveDateTime": "2024-06-12",
            "valueQuantity": _quantity(value, unit),
        }

    bundle = _searchset(
        PATIENT,
        breathing("a", 6.1, "kPa"),
        breathing("b", 46, "mm[Hg]"),
        breathing("c", 5500, "Pa"),
    )
    entries = _import(bundle).record.respiratory
    assert (entries[0].paco2_kpa, entries[0].paco2_mmhg) == (6.1, None)
    assert (entries[1].paco2_kpa, entries[1].paco2_mmhg) == (None, 46)
    assert entries[2].paco2_kpa == pytest.approx(5.5)


def test_import_invalid_resource_refused_with_its_path():
    bundle = copy.deepcopy(EHR_BUNDLE)
    bundle["entry"][1]["resource"]["valueQuantity"]["value"] = "heavy"
    with pytest.raises(RecordError) as refused:
        resources_from_bundle(bundle)
    (problem,) = refused.value.problems
    assert problem.pointer == "/entry/1/resource/valueQuantity/value"
    assert "Observation/w-1" in problem.reason


def test_import_unknown_element_refused_with_its_path():
    bundle = copy.deepcopy(EHR_BUNDLE)
    bundle["entry"][0]["resource"]["favouriteColour"] = "blue"
    with pytest.raises(RecordError) as refused:
        resources_from_bundle(bundle)
    assert [p.pointer for p in refused.value.problems] == ["/entry/0/resource/favouriteColour"]


@pytest.mark.parametrize("document", [[1, 2], "Bundle", {"resourceType": "Patient"}])
def test_import_what_is_not_a_bundle_refused(document):
    with pytest.raises(RecordError) as refused:
        resources_from_bundle(document)
    assert refused.value.problems[0].pointer == "/resourceType"


def test_import_bundle_of_another_type_refused():
    with pytest.raises(RecordError) as refused:
        resources_from_bundle({**EHR_BUNDLE, "type": "history"})
    assert refused.value.problems[0].pointer == "/type"


def test_import_without_patient_or_with_two_refused():
    with pytest.raises(RecordError, match="no Patient"):
        record_from_resources([ENCOUNTER])
    other = {**PATIENT, "id": "ehr-2"}
    with pytest.raises(RecordError, match="2 Patient resources"):
        record_from_resources([PATIENT, other])


def test_import_resource_of_a_patient_not_given_refused():
    stray = {
        **_observation("w-9", "29463-7", _quantity(60, "kg")),
        "subject": {"reference": "Patient/x"},
    }
    with pytest.raises(RecordError, match="refers to patient x"):
        record_from_resources([PATIENT, stray])


def test_import_record_v2_refuses_diagnosis_before_onset_naming_the_condition():
    condition = {**CONDITION, "onsetDateTime": "2024-07-01", "recordedDate": "2024-06-12"}
    with pytest.raises(RecordError) as refused:
        _import(_searchset(PATIENT, condition))
    (problem,) = refused.value.problems
    assert problem.pointer == "/diagnosis_date"
    assert "diagnosis is before symptom onset" in problem.reason
    assert "Condition/als" in problem.reason


def test_import_assessment_resources_skipped_as_conclusions():
    tagged = {
        **_observation("stage", "29463-7", _quantity(60, "kg")),
        "meta": {"tag": [ASSESSMENT_TAG]},
    }
    result = _import(_searchset(PATIENT, tagged))
    assert result.record.weights == ()
    assert "assessment" in _reasons(result)["stage"]


def test_import_partial_dates_reported_not_guessed():
    condition = {**CONDITION, "onsetDateTime": "2023-11"}
    weight = _observation("w-1", "29463-7", _quantity(60, "kg"), when="2024-06")
    result = _import(_searchset(PATIENT, condition, weight))
    assert result.record.symptom_onset is None
    assert result.record.weights == ()
    assert "not a full date" in _reasons(result)["w-1"]


def test_import_other_condition_and_refuted_als_unmapped():
    diabetes = {
        **CONDITION,
        "id": "dm",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
    }
    refuted = {
        **CONDITION,
        "id": "no-als",
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "refuted",
                }
            ]
        },
    }
    result = _import(_searchset(PATIENT, diabetes, refuted))
    assert result.record.diagnosis_date is None
    assert set(_reasons(result)) == {"dm", "no-als"}


def test_import_stopped_medication_without_a_date_not_taken_as_current():
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms-1",
        "status": "stopped",
        "subject": SUBJECT,
        "medicationCodeableConcept": {"text": "edaravone"},
        "effectivePeriod": {"start": "2024-01-01"},
    }
    result = _import(_searchset(PATIENT, statement))
    assert result.record.medications == ()
    assert "current" in _reasons(result)["ms-1"]


def test_import_medication_statement_period_end_is_last_day_taken():
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms-1",
        "status": "completed",
        "subject": SUBJECT,
        "medicationCodeableConcept": {"text": "edaravone"},
        "effectivePeriod": {"start": "2024-01-01", "end": "2024-03-31"},
    }
    (medication,) = _import(_searchset(PATIENT, statement)).record.medications
    assert medication.until.isoformat() == "2024-04-01"


def test_import_family_history_of_als_from_a_relative():
    history = {
        "resourceType": "FamilyMemberHistory",
        "id": "fmh-1",
        "status": "completed",
        "patient": SUBJECT,
        "relationship": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "MTH"}
            ]
        },
        "condition": [
            {"code": {"coding": [{"system": "http://snomed.info/sct", "code": "86044005"}]}}
        ],
    }
    assert _import(_searchset(PATIENT, history)).record.family_history.als is True


def test_import_gastrostomy_procedure_and_niv_device_use():
    procedure = {
        "resourceType": "Procedure",
        "id": "peg",
        "status": "completed",
        "subject": SUBJECT,
        "code": {
            "coding": [
                {
                    "system": "https://alscare.org/fhir/CodeSystem/alscare",
                    "code": "interventions.gastrostomy",
                }
            ]
        },
        "performedDateTime": "2024-06-02",
    }
    device = {
        "resourceType": "Device",
        "id": "bipap",
        "type": {
            "coding": [
                {
                    "system": "https://alscare.org/fhir/CodeSystem/alscare",
                    "code": "interventions.niv",
                }
            ]
        },
    }
    use = {
        "resourceType": "DeviceUseStatement",
        "id": "niv-use",
        "status": "active",
        "subject": SUBJECT,
        "device": {"reference": "Device/bipap"},
        "timingPeriod": {"start": "2024-05-10"},
    }
    result = _import(_searchset(PATIENT, procedure, device, use))
    events = [(i.kind, i.event, i.date.isoformat()) for i in result.record.interventions]
    assert events == [("gastrostomy", "started", "2024-06-02"), ("niv", "started", "2024-05-10")]
    assert result.unmapped == ()


def test_import_transaction_bundle_urn_uuid_references_resolved():
    patient = {k: v for k, v in PATIENT.items() if k != "id"}
    weight = {
        **_observation("w-1", "29463-7", _quantity(60, "kg")),
        "subject": {"reference": "urn:uuid:5b7e0b1c-1f0a-4d5e-9c1e-2f3a4b5c6d7e"},
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:5b7e0b1c-1f0a-4d5e-9c1e-2f3a4b5c6d7e",
                "resource": patient,
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:0c1d2e3f-4a5b-4c6d-8e7f-901234567890",
                "resource": weight,
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    result = record_from_resources(resources_from_bundle(bundle), record_id="P-77")
    assert result.record.id == "P-77"
    assert result.record.weights[0].kg == 60


def test_import_bulk_data_ndjson_many_patients(tmp_path):
    second = {**PATIENT, "id": "ehr-2", "gender": "male"}
    weights = [
        _observation("w-1", "29463-7", _quantity(60, "kg")),
        {
            **_observation("w-2", "29463-7", _quantity(80, "kg")),
            "subject": {"reference": "Patient/ehr-2"},
        },
    ]
    (tmp_path / "Patient.ndjson").write_text(
        "\n".join(json.dumps(p) for p in (PATIENT, second)) + "\n"
    )
    (tmp_path / "Observation.ndjson").write_text("\n".join(json.dumps(w) for w in weights) + "\n")
    results = import_records(read_source(tmp_path))
    assert [(r.record.id, r.record.weights[0].kg) for r in results] == [
        ("ehr-1", 60),
        ("ehr-2", 80),
    ]


def test_import_bulk_data_invalid_line_refused_with_file_and_line(tmp_path):
    bad = {**_observation("w-1", "29463-7", _quantity(60, "kg")), "status": 7}
    (tmp_path / "Observation.ndjson").write_text(
        json.dumps(PATIENT) + "\n" + json.dumps(bad) + "\n"
    )
    with pytest.raises(RecordError) as refused:
        read_source(tmp_path)
    assert refused.value.problems[0].pointer == "/Observation.ndjson/2/status"


def test_import_bundle_file(tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(EHR_BUNDLE))
    assert record_from_resources(read_source(path)).record.sex == "female"
