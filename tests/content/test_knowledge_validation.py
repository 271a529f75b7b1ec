"""A broken knowledge base fails at load with the file, the item id and the field, never a
stack trace. Each test copies the packaged content into tmp_path and breaks one thing."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from alscare.errors import KnowledgeError
from alscare.knowledge import load_knowledge

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A writable copy of the packaged content directory."""
    source = resources.files("alscare.knowledge") / "content"
    target = tmp_path / "content"
    with resources.as_file(source) as folder:
        shutil.copytree(folder, target)
    return target


def _edit(content: Path, name: str, change: Edit) -> None:
    path = content / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _load_error(content: Path) -> KnowledgeError:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(content)
    error = caught.value
    assert "Traceback" not in str(error)
    assert "\n" not in str(error)
    return error


def _finding(data: dict[str, Any], finding_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(item for item in data["findings"] if item["id"] == finding_id)
    return found


def test_knowledge_copy_of_packaged_content_loads(content):
    assert load_knowledge(content).version == load_knowledge().version


def test_knowledge_duplicate_finding_id_named(content):
    def duplicate(data: dict[str, Any]) -> None:
        data["findings"][1]["id"] = data["findings"][0]["id"]

    _edit(content, "topic/findings.yaml", duplicate)
    error = _load_error(content)
    assert (error.file, error.item_id, error.field) == (
        "topic/findings.yaml",
        "upper_extremity_weakness",
        "findings.1.id",
    )
    assert error.reason == "duplicate id 'upper_extremity_weakness'"


def test_knowledge_duplicate_guideline_id_named(content):
    def duplicate(data: dict[str, Any]) -> None:
        data["guidelines"][2]["id"] = data["guidelines"][0]["id"]

    _edit(content, "topic/guidelines.yaml", duplicate)
    error = _load_error(content)
    assert (error.file, error.field) == ("topic/guidelines.yaml", "guidelines.2.id")
    assert error.item_id == "chest2023_neuromuscular_respiratory"
    assert error.reason.startswith("duplicate id")


def test_knowledge_duplicate_source_id_named(content):
    def duplicate(data: dict[str, Any]) -> None:
        data["sources"].append(dict(data["sources"][0]))

    _edit(content, "sources.yaml", duplicate)
    error = _load_error(content)
    assert (error.file, error.item_id, error.field) == (
        "sources.yaml",
        "bmj_best_practice_als",
        "id",
    )


def test_knowledge_statement_without_source_named(content):
    _edit(content, "topic/findings.yaml", lambda data: _finding(data, "head_drop").pop("sources"))
    error = _load_error(content)
    assert (error.file, error.item_id, error.field) == (
        "topic/findings.yaml",
        "head_drop",
        "findings.7.sources",
    )
    assert error.reason == "Field required"


def test_knowledge_statement_with_empty_sources_named(content):
    def empty(data: dict[str, Any]) -> None:
        data["risk_factors"][2]["sources"] = []

    _edit(content, "topic/risk_factors.yaml", empty)
    error = _load_error(content)
    assert (error.file, error.item_id) == ("topic/risk_factors.yaml", "military_service")
    assert error.field == "risk_factors.2.sources"


def test_knowledge_unknown_source_reference_named(content):
    def unknown(data: dict[str, Any]) -> None:
        _finding(data, "falls")["sources"][0]["id"] = "nobody2099_nothing"

    _edit(content, "topic/findings.yaml", unknown)
    error = _load_error(content)
    assert (error.file, error.item_id) == ("topic/findings.yaml", "falls")
    assert error.field == "findings.falls.sources"
    assert error.reason == "cites unknown source 'nobody2099_nothing'"


def test_knowledge_guideline_source_not_cited_named(content):
    def uncited(data: dict[str, Any]) -> None:
        data["guidelines"][0]["source"] = "nice2016_ng42"

    _edit(content, "topic/guidelines.yaml", uncited)
    error = _load_error(content)
    assert (error.file, error.item_id, error.field) == (
        "topic/guidelines.yaml",
        "chest2023_neuromuscular_respiratory",
        "guidelines.0.source",
    )


def test_knowledge_guideline_unknown_source_named(content):
    def unknown(data: dict[str, Any]) -> None:
        guideline = data["guidelines"][1]
        guideline["source"] = "nobody2099_nothing"
        guideline["sources"].append({"id": "nobody2099_nothing", "where": "everywhere"})

    _edit(content, "topic/guidelines.yaml", unknown)
    error = _load_error(content)
    assert (error.file, error.item_id) == ("topic/guidelines.yaml", "aan2022_neuropalliative_care")
    assert error.reason == "cites unknown source 'nobody2099_nothing'"


def test_knowledge_unknown_vocabulary_id_named(content):
    _edit(content, "topic/findings.yaml", lambda data: _finding(data, "falls").update(id="fall"))
    error = _load_error(content)
    assert (error.file, error.item_id, error.field) == (
        "topic/findings.yaml",
        "fall",
        "findings.17.id",
    )


def test_knowledge_unknown_differential_reference_named(content):
    def unknown(data: dict[str, Any]) -> None:
        _finding(data, "ptosis")["suggests"] = ["myasthenia"]

    _edit(content, "topic/findings.yaml", unknown)
    error = _load_error(content)
    assert (error.file, error.item_id, error.field) == (
        "topic/findings.yaml",
        "ptosis",
        "findings.41.suggests.0",
    )


def test_knowledge_vocabulary_id_without_entry_named(content):
    def drop(data: dict[str, Any]) -> None:
        data["findings"] = [item for item in data["findings"] if item["id"] != "ataxia"]

    _edit(content, "topic/findings.yaml", drop)
    error = _load_error(content)
    assert (error.file, error.item_id, error.field) == (
        "topic/findings.yaml",
        "ataxia",
        "findings",
    )
    assert error.reason == "vocabulary id 'ataxia' has no entry"


def test_knowledge_risk_factor_without_entry_named(content):
    def drop(data: dict[str, Any]) -> None:
        data["risk_factors"] = [i for i in data["risk_factors"] if i["id"] != "lead_exposure"]

    _edit(content, "topic/risk_factors.yaml", drop)
    error = _load_error(content)
    assert (error.item_id, error.field) == ("lead_exposure", "risk_factors")


def test_knowledge_findings_out_of_vocabulary_order_named(content):
    def swap(data: dict[str, Any]) -> None:
        data["findings"][0], data["findings"][1] = data["findings"][1], data["findings"][0]

    _edit(content, "topic/findings.yaml", swap)
    error = _load_error(content)
    assert (error.item_id, error.field) == ("stiffness_poor_coordination", "findings.0.id")
    assert "vocabulary order" in error.reason


def test_knowledge_age_threshold_on_wrong_factor_named(content):
    def misplace(data: dict[str, Any]) -> None:
        data["risk_factors"][2]["age_above_years"] = 40

    _edit(content, "topic/risk_factors.yaml", misplace)
    error = _load_error(content)
    assert (error.file, error.item_id, error.field) == (
        "topic/risk_factors.yaml",
        "age_over_40",
        "risk_factors",
    )


def test_knowledge_hpo_label_without_code_named(content):
    _edit(content, "topic/findings.yaml", lambda data: _finding(data, "falls").pop("hpo"))
    error = _load_error(content)
    assert (error.item_id, error.field) == ("falls", "findings.17.hpo_label")


def test_knowledge_malformed_hpo_code_named(content):
    _edit(content, "topic/findings.yaml", lambda data: _finding(data, "falls").update(hpo="HP:1"))
    error = _load_error(content)
    assert (error.item_id, error.field) == ("falls", "findings.17.hpo")


def test_knowledge_unknown_field_named(content):
    _edit(content, "topic/findings.yaml", lambda data: _finding(data, "falls").update(colour=1))
    error = _load_error(content)
    assert (error.item_id, error.field, error.reason) == (
        "falls",
        "findings.17.colour",
        "unknown field",
    )


def test_knowledge_key_defined_in_two_files_named(content):
    (content / "topic" / "more.yaml").write_text("guidelines: []\n", encoding="utf-8")
    error = _load_error(content)
    assert (error.file, error.field) == ("topic/more.yaml", "guidelines")
    assert error.reason == "also defined in topic/guidelines.yaml"


def test_knowledge_invalid_yaml_one_line_with_position(content):
    (content / "topic" / "risk_factors.yaml").write_text("risk_factors: [\n  a: b: c\n")
    error = _load_error(content)
    assert error.file == "topic/risk_factors.yaml"
    assert error.field.startswith("line ")
    assert error.reason.startswith("not valid YAML: ")
    assert "(column " in error.reason


def test_knowledge_missing_about_named(content):
    (content / "about.yaml").unlink()
    error = _load_error(content)
    assert (error.file, error.reason) == ("about.yaml", "file is missing")


def test_knowledge_missing_directory_named(tmp_path):
    error = _load_error(tmp_path / "nowhere")
    assert error.reason == "knowledge directory not found"
