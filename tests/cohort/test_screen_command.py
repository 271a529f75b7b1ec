"""``alscare cohort screen``: one screening per patient, counts on stderr, bad records and bad
trial files reported without a traceback."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tests.builders_v2 import ALS_BASE
from tests.cli_runner import Run, cli

__all__ = ["cli"]

SOD1_TRIAL = Path(
    str(resources.files("alscare.knowledge") / "content" / "trials" / "sod1_variant.yaml")
)


def _record(patient_id: str, result: str) -> str:
    genetics = [{"gene": "SOD1", "result": result, "date": "2024-01-05"}]
    return json.dumps(
        {"schema": "alscare.patient/v2", "id": patient_id, **ALS_BASE, "genetics": genetics}
    )


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    path = tmp_path / "cohort.jsonl"
    lines = [_record("P-1", "pathogenic"), _record("P-2", "negative"), "{", _record("P-3", "vus")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_each_patient_gets_a_screening(cli: Any, cohort: Path) -> None:
    run: Run = cli(
        "cohort", "screen", str(cohort), "--trial", str(SOD1_TRIAL), "--as-of", "2025-01-01"
    )
    screenings = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(s["patient_id"], s["status"]) for s in screenings] == [
        ("P-1", "eligible"),
        ("P-2", "not_eligible"),
        ("P-3", "unknown"),
    ]
    assert run.code == 2  # the line that is not JSON
    assert run.errors[0].startswith(f"{cohort}:3: ")
    assert run.errors[-1] == "sod1_variant: 1 eligible, 1 unknown, 1 not_eligible"


def test_the_text_format_lists_every_criterion(cli: Any, cohort: Path) -> None:
    run: Run = cli(
        "cohort", "screen", str(cohort), "--trial", str(SOD1_TRIAL), "--as-of", "2025-01-01",
        "--format", "text",
    )  # fmt: skip
    assert run.stdout.splitlines()[0].startswith("P-1: eligible (")
    assert "  met     " in run.stdout and "  failed  " in run.stdout


def test_a_bad_trial_file_names_the_field(cli: Any, cohort: Path, tmp_path: Path) -> None:
    trial = tmp_path / "bad.yaml"
    trial.write_text(SOD1_TRIAL.read_text(encoding="utf-8") + "  age_years: {min: old}\n")
    run: Run = cli("cohort", "screen", str(cohort), "--trial", str(trial), "--as-of", "2025-01-01")
    assert run.code == 2
    assert "age_years" in run.stderr
    assert "Traceback" not in run.stderr
