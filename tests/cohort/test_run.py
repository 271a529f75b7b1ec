"""``alscare cohort run``: every record assessed into an output folder that appears whole or not
at all, bad records reported with their reference and skipped, reruns byte-identical, and the
typed columns equal to the assessment they come from."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alscare import KnowledgeBase, assess, parse_record_json
from alscare.cohort.engines import duckdb_engine, local_engine
from alscare.cohort.inputs import InputError, source_items
from alscare.cohort.rows import ROW_SCHEMA, patient_row
from alscare.cohort.run import (
    ASSESSMENTS,
    PROBLEMS,
    REPORT,
    SUMMARY,
    OutputExists,
    RunCounts,
    run_cohort,
)
from alscare.cohort.synth import AS_OF, synthetic_cohort, write_jsonl
from tests.builders import make_record_v2
from tests.builders_v2 import ALS_BASE, rated
from tests.cli_runner import Run, cli

__all__ = ["cli"]

GOOD = 40
BAD_LINES = {
    GOOD + 1: "{not json",
    GOOD + 2: json.dumps({"schema": "alscare.patient/v2", "id": "BAD-1", "height_cm": 9}),
    # valid, but the assessment date is before the patient's first date
    GOOD + 3: json.dumps(
        {"schema": "alscare.patient/v2", "id": "LATER-1", "diagnosis_date": "2030-01-01"}
    ),
}


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GOOD synthetic records, then three lines that cannot be assessed."""
    path = tmp_path_factory.mktemp("cohort") / "cohort.jsonl"
    write_jsonl(synthetic_cohort(GOOD), path)
    with path.open("a", encoding="utf-8") as lines:
        lines.writelines(line + "\n" for line in BAD_LINES.values())
    return path


@pytest.fixture(scope="module")
def done(
    cohort_file: Path, kb: KnowledgeBase, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, RunCounts]:
    out = tmp_path_factory.mktemp("runs") / "out"
    counts = run_cohort(
        source_items([str(cohort_file)]), as_of=AS_OF, out_dir=out, engine=duckdb_engine(kb), kb=kb
    )
    return out, counts


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_the_folder_holds_every_output(done: tuple[Path, RunCounts]) -> None:
    out, _ = done
    assert sorted(path.name for path in out.iterdir()) == sorted(
        [ASSESSMENTS, SUMMARY, REPORT, PROBLEMS]
    )
    assert not [path for path in out.parent.iterdir() if path.name.startswith(".")]


def test_bad_records_are_counted_reported_and_skipped(
    done: tuple[Path, RunCounts], cohort_file: Path
) -> None:
    out, counts = done
    assert (counts.read, counts.assessed, counts.bad) == (GOOD + 3, GOOD, 3)
    problems = [json.loads(line) for line in (out / PROBLEMS).read_text().splitlines()]
    assert [problem["ref"] for problem in problems] == [
        f"{cohort_file}:{number}" for number in BAD_LINES
    ]
    assert all(not problem["assessed"] and problem["faults"] for problem in problems)
    assert "/height_cm" in problems[1]["faults"][0]
    assert "--as-of" in problems[2]["faults"][0]
    summary = json.loads((out / SUMMARY).read_text())
    assert summary["records"] == {"read": 43, "assessed": 40, "bad": 3, "with_unmapped_data": 0}


def test_each_row_holds_the_assessment_of_its_record(
    done: tuple[Path, RunCounts], kb: KnowledgeBase
) -> None:
    out, _ = done
    table = pq.read_table(out / ASSESSMENTS)
    assert table.schema == ROW_SCHEMA
    records = [parse_record_json(json.dumps(r)) for r in synthetic_cohort(GOOD)]
    assert table.column("patient_id").to_pylist() == [record.id for record in records]
    assert table.column("input_index").to_pylist() == list(range(GOOD))
    expected = [assess(record, as_of=AS_OF, kb=kb).to_json_line() for record in records]
    assert table.column("assessment").to_pylist() == expected


def test_the_typed_columns_are_the_assessments_values(done: tuple[Path, RunCounts]) -> None:
    out, _ = done
    for row in pq.read_table(out / ASSESSMENTS).to_pylist():
        wire = json.loads(row["assessment"])
        assert row["progression_rate"] == wire["scores"]["progression_rate"]
        assert row["fvc_percent_predicted"] == wire["scores"]["fvc_percent_predicted"]
        assert row["kings_stage"] == wire["staging"]["kings"]["stage"]
        assert row["el_escorial_category"] == wire["criteria"]["el_escorial"]["category"]
        assert row["encals_linear_predictor"] == wire["prognosis"]["encals"]["linear_predictor"]
        assert row["alert_ids"] == [alert["id"] for alert in wire["alerts"]]


def test_a_rerun_gives_the_same_bytes(
    done: tuple[Path, RunCounts], cohort_file: Path, kb: KnowledgeBase, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    run_cohort(
        source_items([str(cohort_file)]),
        as_of=AS_OF,
        out_dir=again,
        engine=local_engine(kb, 2),
        kb=kb,
    )
    assert _files(again) == _files(done[0])


def test_an_existing_folder_is_never_overwritten(
    done: tuple[Path, RunCounts], cohort_file: Path, kb: KnowledgeBase
) -> None:
    out, _ = done
    before = _files(out)
    with pytest.raises(OutputExists):
        run_cohort(
            source_items([str(cohort_file)]),
            as_of=AS_OF,
            out_dir=out,
            engine=duckdb_engine(kb),
            kb=kb,
        )
    assert _files(out) == before


def test_a_run_that_fails_leaves_nothing(
    cohort_file: Path, kb: KnowledgeBase, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    items = source_items([str(cohort_file), str(tmp_path / "missing.jsonl")])
    with pytest.raises(InputError, match="missing.jsonl"):
        run_cohort(items, as_of=AS_OF, out_dir=out, engine=duckdb_engine(kb), kb=kb)
    assert list(tmp_path.iterdir()) == []


def test_a_parquet_input_gives_the_same_assessments(
    done: tuple[Path, RunCounts], kb: KnowledgeBase, tmp_path: Path
) -> None:
    lines = [json.dumps(record) for record in synthetic_cohort(GOOD)]
    source = tmp_path / "records.parquet"
    pq.write_table(pa.table({"record": lines}), source)
    out = tmp_path / "out"
    run_cohort(
        source_items([str(source)]), as_of=AS_OF, out_dir=out, engine=duckdb_engine(kb), kb=kb
    )
    column = "assessment"
    ours = pq.read_table(out / ASSESSMENTS).column(column).to_pylist()
    assert ours == pq.read_table(done[0] / ASSESSMENTS).column(column).to_pylist()


def test_a_parquet_file_without_records_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "other.parquet"
    pq.write_table(pa.table({"name": ["x"]}), source)
    with pytest.raises(InputError, match="no 'record' column"):
        list(source_items([str(source)]))


# --- the survival columns of one patient ----------------------------------------------------


def _row(kb: KnowledgeBase, as_of: str, **extra: Any) -> dict[str, Any]:
    record = make_record_v2(**{**ALS_BASE, **extra})
    return patient_row(record, 0, as_of=dt.date.fromisoformat(as_of), kb=kb)


def test_a_death_ends_the_survival_time(kb: KnowledgeBase) -> None:
    row = _row(kb, "2025-06-01", alsfrs_r=[rated("2024-01-15")], death={"date": "2024-07-15"})
    assert (row["endpoint_reached"], row["endpoint_kind"]) == (True, "death")
    assert row["followed_until"] == dt.date(2024, 7, 15)
    # onset 2023-06-01 to 2024-07-15: 410 days / 30.4375
    assert row["survival_months"] == round(410 / 30.4375, 2)
    assert (row["kings_stage"], row["mitos_stage"]) == ("5", 5)


def test_a_patient_without_the_endpoint_is_censored_at_the_last_entry(kb: KnowledgeBase) -> None:
    row = _row(kb, "2025-06-01", alsfrs_r=[rated("2024-01-15"), rated("2024-04-15", speech=3)])
    assert (row["endpoint_reached"], row["endpoint_kind"]) == (False, None)
    assert row["followed_until"] == dt.date(2024, 4, 15)
    assert row["survival_months"] == round(319 / 30.4375, 2)
    # entered at the diagnosis, 2024-01-15, the same day as the first rating
    assert row["entry_months"] == round(228 / 30.4375, 2)


def test_the_stage_at_diagnosis_is_the_engines_staging_on_that_date(kb: KnowledgeBase) -> None:
    ratings = [rated("2024-01-10", speech=3), rated("2025-01-10", speech=2, walking=1)]
    row = _row(kb, "2025-06-01", alsfrs_r=ratings)
    at_diagnosis = assess(
        make_record_v2(**ALS_BASE, alsfrs_r=ratings), as_of=dt.date(2024, 1, 15), kb=kb
    )
    assert row["kings_stage_at_diagnosis"] == at_diagnosis.staging.kings.stage
    assert row["mitos_stage_at_diagnosis"] == at_diagnosis.staging.mitos.stage
    assert row["kings_stage"] != row["kings_stage_at_diagnosis"]


# --- the command line -----------------------------------------------------------------------


def test_the_command_reports_bad_records_and_exits_2(
    cli: Any, cohort_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run: Run = cli("cohort", "run", str(cohort_file), "--as-of", str(AS_OF), "-o", str(out))
    assert run.code == 2
    assert [line.split(": ", 1)[0] for line in run.errors[:3]] == [
        f"{cohort_file}:{number}" for number in BAD_LINES
    ]
    assert f"assessed {GOOD} of {GOOD + 3} records, 3 left out" in run.stderr
    assert run.stdout == f"wrote {out}\n"
    assert (out / SUMMARY).is_file()


def test_the_command_refuses_an_existing_folder(
    cli: Any, cohort_file: Path, tmp_path: Path
) -> None:
    run: Run = cli("cohort", "run", str(cohort_file), "--as-of", str(AS_OF), "-o", str(tmp_path))
    assert run.code == 2
    assert "already exists" in run.stderr


def test_master_needs_the_spark_engine(cli: Any, cohort_file: Path, tmp_path: Path) -> None:
    run: Run = cli(
        "cohort", "run", str(cohort_file), "--as-of", str(AS_OF), "-o", str(tmp_path / "o"),
        "--master", "local[1]",
    )  # fmt: skip
    assert run.code == 2
    assert "--master needs --engine spark" in run.usage_error


def test_synth_writes_the_same_bytes_for_a_seed(cli: Any, tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert cli("cohort", "synth", "25", "--seed", "3", "-o", str(first)).code == 0
    assert cli("cohort", "synth", "25", "--seed", "3", "-o", str(second)).code == 0
    assert first.read_bytes() == second.read_bytes()
    assert len(first.read_text().splitlines()) == 25
