"""``alscare fhir import`` and ``alscare fhir export`` end to end, through the console script's
entry point: a record goes out as a Bundle and comes back as the same record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alscare.interop.fhir.record_out import record_resources
from alscare.schemas.records import parse_record_json
from tests.cli_runner import Run

REPOSITORY = Path(__file__).parents[2]
EXAMPLES = sorted((REPOSITORY / "examples").glob("*.json"))
AS_OF = "2025-03-01"


def _bundle(*records_json: str) -> dict[str, Any]:
    resources = [r for text in records_json for r in record_resources(parse_record_json(text))]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def _unmapped_only(run: Run, source: str) -> None:
    """Every line on stderr reports an unmapped resource of that source, none a fault."""
    assert all(line.startswith(f"{source}: unmapped ") for line in run.errors), run.stderr


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_export_then_import_gives_the_record_back_byte_for_byte(cli, tmp_path, example):
    bundle_file = tmp_path / "bundle.json"
    exported = cli("fhir", "export", str(example), "--as-of", AS_OF, "-o", str(bundle_file))
    assert exported.code == 0, exported.stderr
    imported = cli("fhir", "import", str(bundle_file))
    assert imported.code == 0, imported.stderr
    _unmapped_only(imported, str(bundle_file))
    assert imported.stdout == cli("upgrade", str(example)).stdout


def test_export_is_a_collection_bundle_with_the_assessment_and_its_provenance(cli):
    result = cli("fhir", "export", str(EXAMPLES[0]), "--as-of", AS_OF)
    assert result.code == 0, result.stderr
    bundle = json.loads(result.stdout)
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert kinds[0] == "Patient"
    assert {"RiskAssessment", "Provenance", "Observation"} <= set(kinds)
    assert cli("fhir", "export", str(EXAMPLES[0]), "--as-of", AS_OF).stdout == result.stdout


def test_import_of_bulk_data_prints_one_record_per_patient(cli, tmp_path):
    texts = [path.read_text(encoding="utf-8") for path in EXAMPLES[:2]]
    by_type: dict[str, list[str]] = {}
    for entry in _bundle(*texts)["entry"]:
        resource = entry["resource"]
        by_type.setdefault(resource["resourceType"], []).append(json.dumps(resource))
    for kind, lines in by_type.items():
        (tmp_path / f"{kind}.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("fhir", "import", str(tmp_path))
    assert result.code == 0, result.stderr
    expected = "".join(cli("upgrade", str(path)).stdout for path in EXAMPLES[:2])
    assert result.stdout == expected
    out = tmp_path / "one.json"
    refused = cli("fhir", "import", str(tmp_path), "-o", str(out))
    assert refused.code == 2 and "-o takes one patient; found 2" in refused.stderr
    assert not out.exists()


def test_import_of_invalid_fhir_names_the_resource_and_path_and_writes_nothing(cli, tmp_path):
    bundle = _bundle(EXAMPLES[0].read_text(encoding="utf-8"))
    weight = next(
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"].get("valueQuantity", {}).get("unit") == "kg"
    )
    weight["valueQuantity"]["value"] = "heavy"
    source, out = tmp_path / "bad.json", tmp_path / "out.json"
    source.write_text(json.dumps(bundle), encoding="utf-8")
    result = cli("fhir", "import", str(source), "-o", str(out))
    assert result.code == 2
    assert "valueQuantity/value" in result.stderr and weight["id"] in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"resourceType": "Patient"}', "Bundle"),
        ("[1, 2]", "Bundle"),
        ("{not json", "malformed JSON"),
    ],
)
def test_import_of_what_is_not_a_bundle_exit_2(cli, tmp_path, content, message):
    source = tmp_path / "x.json"
    source.write_text(content, encoding="utf-8")
    result = cli("fhir", "import", str(source))
    assert result.code == 2 and message in result.stderr and result.stdout == ""


def test_export_of_an_invalid_record_or_date_exit_2(cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "alscare.patient/v2", "id": "P-1", "sex": "robot"}')
    assert cli("fhir", "export", str(bad), "--as-of", AS_OF).code == 2
    assert cli("fhir", "export", str(EXAMPLES[0]), "--as-of", "1900-01-01").code == 2
    assert cli("fhir", "export", str(EXAMPLES[0]), "--as-of", "someday").code == 2
