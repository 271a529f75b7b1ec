"""codes.yaml, the one table of FHIR codes: checked at load, complete, and the source of
docs/fhir-codes.md and examples/fhir/ (both kept current)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from alscare import parse_record_json
from alscare.interop.fhir.codes import code_table, load_code_table
from alscare.interop.fhir.record_out import record_bundle_json
from alscare.interop.fhir.reference import codes_reference
from alscare.interop.fhir.units import to_record_unit
from alscare.schemas.vocabulary import FindingId, InvestigationId, LabId

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "src" / "alscare" / "interop" / "fhir" / "codes.yaml"
DOC = ROOT / "docs" / "fhir-codes.md"


@pytest.fixture
def table_data():
    return yaml.safe_load(TABLE.read_text(encoding="utf-8"))


def test_codes_doc_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == codes_reference(code_table()), (
        "docs/fhir-codes.md is out of date: run .venv/bin/python scripts/fhir-codes-doc"
    )


def test_codes_doc_script_check_passes():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "fhir-codes-doc"), "--check"])
    assert done.returncode == 0


@pytest.mark.parametrize("source", sorted(ROOT.glob("examples/*.json")), ids=lambda p: p.stem)
def test_fhir_examples_are_up_to_date(source):
    bundle = ROOT / "examples" / "fhir" / source.name
    record = parse_record_json(source.read_text(encoding="utf-8"))
    assert bundle.read_text(encoding="utf-8") == record_bundle_json(record), (
        "examples/fhir is out of date: run .venv/bin/python scripts/fhir-examples"
    )


def test_codes_every_vocabulary_id_has_its_own_observation_code():
    parts = code_table().part_by_code.values()
    coded = {(part.field, value) for part, value in parts if value is not None}
    wanted = {
        *(("findings", i.value) for i in FindingId),
        *(("tests", i.value) for i in InvestigationId),
        *(("labs", i.value) for i in LabId),
    }
    assert coded == wanted


def test_codes_fixed_codes_of_the_issue_are_the_tables():
    als = {c.code for c in code_table().conditions["als"].codes}
    assert als == {"86044005", "G12.21", "G12.2"}
    codes = {part.field: part for part in code_table().observations}
    assert codes["weights"].code.code == "29463-7"
    assert codes["height_cm"].code.code == "8302-2"
    assert codes["respiratory"].codes["fvc_percent_predicted"].code == "19872-1"
    assert codes["respiratory"].codes["fvc_litres"].code == "19870-5"
    assert code_table().not_recorded[0].code.code == "39156-5"


def test_codes_medications_are_drugs_of_the_knowledge_base(kb):
    assert set(code_table().medications) <= {drug.id for drug in kb.treatment.drugs}


def test_codes_unknown_system_refused(table_data):
    broken = copy.deepcopy(table_data)
    broken["observations"][0]["code"]["coding"] = "lonic|8302-2"
    with pytest.raises(ValueError, match="lonic"):
        load_code_table(broken)


def test_codes_part_of_no_record_field_refused(table_data):
    broken = copy.deepcopy(table_data)
    broken["observations"][6]["field"] = "weight_history"
    with pytest.raises(ValueError, match="fields of the record"):
        load_code_table(broken)


def test_codes_unit_outside_the_units_table_refused(table_data):
    broken = copy.deepcopy(table_data)
    broken["observations"][0]["units"] = {"height_cm": "[ft_i]"}
    with pytest.raises(ValueError, match="units of the units table"):
        load_code_table(broken)


def test_codes_missing_intervention_kind_refused(table_data):
    broken = copy.deepcopy(table_data)
    del broken["interventions"]["cough_assist"]
    with pytest.raises(ValueError, match="interventions"):
        load_code_table(broken)


def test_codes_missing_record_unit_refused(table_data):
    broken = copy.deepcopy(table_data)
    del broken["record_units"]["10^9/L"]
    with pytest.raises(ValueError, match="record_units"):
        load_code_table(broken)


def test_codes_two_parts_one_code_refused(table_data):
    broken = copy.deepcopy(table_data)
    broken["observations"][1]["code"] = broken["observations"][0]["code"]
    with pytest.raises(ValueError, match="one code per part"):
        load_code_table(broken)


def test_units_same_unit_passes_value_untouched():
    value = 0.1 + 0.2
    assert to_record_unit(value, "kg", "kg") is value


def test_units_converted_through_pint():
    assert to_record_unit(1, "m", "cm") == pytest.approx(100)
    assert to_record_unit(1000, "g", "kg") == pytest.approx(1)
    assert to_record_unit(7.5, "mm[Hg]", "kPa") == pytest.approx(0.99991790)
