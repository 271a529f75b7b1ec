"""Every way of running the engine over a cohort gives the same assessments: ``alscare assess
--jsonl`` and ``run_cohort`` on DuckDB, on two local processes and on Spark local[2] write the
same assessment bytes in input order, report the same bad records by the same references, and
the three cohort engines write the same summary.json. Spark SQL and DuckDB give the same rows
for every aggregate the summary runs.

The cohort: 200 synthetic records, then a line that is not JSON, a record that fails
validation and a record whose first date is after the assessment date."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from alscare.cohort.analytics import SURVIVAL_QUERY, distribution_queries
from alscare.cohort.engines import duckdb_engine, duckdb_query, local_engine
from alscare.cohort.inputs import source_items
from alscare.cohort.run import ASSESSMENTS, PROBLEMS, SUMMARY, CohortEngine, RunCounts, run_cohort
from alscare.cohort.spark import spark_engine, spark_query
from alscare.cohort.synth import AS_OF, synthetic_cohort, write_jsonl
from alscare.knowledge import KnowledgeBase

SIZE = 200
BAD_LINES = (
    '{"id": ',
    '{"schema": "alscare.patient/v2", "id": "X-SEX", "sex": "banana"}',
    '{"schema": "alscare.patient/v2", "id": "X-EARLY", "birth_date": "2026-01-01"}',
)
ENGINES = ("duckdb", "local", "spark")


@dataclass(frozen=True)
class Done:
    """What one cohort engine wrote."""

    counts: RunCounts
    out_dir: Path

    def assessments(self) -> list[str]:
        table = pq.read_table(self.out_dir / ASSESSMENTS, columns=["input_index", "assessment"])
        indexes = table.column("input_index").to_pylist()
        assert indexes == sorted(indexes), "rows are written in input order"
        return [str(text) for text in table.column("assessment").to_pylist()]

    def problems(self) -> list[dict[str, Any]]:
        lines = (self.out_dir / PROBLEMS).read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]

    def summary(self) -> str:
        return (self.out_dir / SUMMARY).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cohort") / "cohort.jsonl"
    write_jsonl(synthetic_cohort(SIZE), path)
    with path.open("a", encoding="utf-8") as out:
        out.writelines(f"{line}\n" for line in BAD_LINES)
    return path


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    from alscare.cohort.spark import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


def _engine(name: str, kb: KnowledgeBase) -> CohortEngine:
    if name == "duckdb":
        return duckdb_engine(kb)
    if name == "local":
        return local_engine(kb, jobs=2)
    return spark_engine(kb, master="local[2]")


@pytest.fixture(scope="module")
def runs(
    cohort: Path, kb: KnowledgeBase, spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Done]:
    done = {}
    for name in ENGINES:
        out_dir = tmp_path_factory.mktemp(name) / "out"
        counts = run_cohort(
            source_items([str(cohort)]),
            as_of=AS_OF,
            out_dir=out_dir,
            engine=_engine(name, kb),
            kb=kb,
        )
        done[name] = Done(counts, out_dir)
    return done


@pytest.fixture(scope="module")
def assess_jsonl(cohort: Path) -> dict[str, Any]:
    """``alscare assess --jsonl`` on the cohort, in a process of its own (the command line's
    own output, with nothing of this process's state)."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "alscare", "assess", "--jsonl", str(cohort)]
    done = subprocess.run(
        [*command, "--as-of", AS_OF.isoformat()],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    return {"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


@pytest.mark.parametrize("name", ENGINES)
def test_cohort_engine_writes_the_assessments_of_assess_jsonl_byte_for_byte(
    name: str, runs: dict[str, Done], assess_jsonl: dict[str, Any]
) -> None:
    expected = assess_jsonl["stdout"].splitlines()
    assert len(expected) == SIZE
    assert runs[name].assessments() == expected


@pytest.mark.parametrize("name", ENGINES)
def test_cohort_engine_reports_the_bad_records_of_assess_jsonl(
    name: str, runs: dict[str, Done], assess_jsonl: dict[str, Any], cohort: Path
) -> None:
    reported = [
        f"{problem['ref']}: {message}"
        for problem in runs[name].problems()
        for message in problem["faults"]
    ]
    assert reported == assess_jsonl["stderr"].splitlines()
    assert [problem["ref"] for problem in runs[name].problems()] == [
        f"{cohort}:{SIZE + line}" for line in (1, 2, 3)
    ]
    assert assess_jsonl["code"] == 2
    counts = runs[name].counts
    assert (counts.read, counts.assessed, counts.bad) == (SIZE + 3, SIZE, 3)


def test_cohort_engines_write_the_same_summary(runs: dict[str, Done]) -> None:
    summaries = {name: done.summary() for name, done in runs.items()}
    assert summaries["local"] == summaries["duckdb"]
    assert summaries["spark"] == summaries["duckdb"]
    assert json.loads(summaries["duckdb"])["records"]["assessed"] == SIZE


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in one order (a GROUP BY gives them in none), None before any value."""
    return sorted(rows, key=lambda row: [(value is not None, str(value)) for value in row.values()])


def _same_rows(on_spark: list[dict[str, Any]], on_duckdb: list[dict[str, Any]]) -> bool:
    """The same rows, floats equal to within 12 significant digits: the two engines interpolate a
    quantile with the same formula in another order of operations, which moves the last bit (the
    summary rounds to far fewer digits). Everything else, None included, is equal exactly."""
    if len(on_spark) != len(on_duckdb):
        return False
    return all(
        _same_row(left, right)
        for left, right in zip(_sorted(on_spark), _sorted(on_duckdb), strict=True)
    )


def _same_row(left: dict[str, Any], right: dict[str, Any]) -> bool:
    if list(left) != list(right):
        return False
    return all(_same_value(left[key], right[key]) for key in left)


def _same_value(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-12, abs_tol=0.0)
    return type(left) is type(right) and left == right


def _aggregates(kb: KnowledgeBase) -> dict[str, str]:
    texts = distribution_queries(kb.scoring.progression_bands)
    assert {"rows", "numbers.progression_rate", "categories.onset_site"} <= set(texts)
    return {**texts, "survival": SURVIVAL_QUERY}


def test_query_on_spark_gives_the_rows_of_duckdb_for_every_summary_query(
    runs: dict[str, Done], spark: SparkSession, kb: KnowledgeBase
) -> None:
    path = runs["duckdb"].out_dir / ASSESSMENTS
    with spark_query(spark, path) as on_spark, duckdb_query(path) as on_duckdb:
        for name, sql in _aggregates(kb).items():
            spark_rows, duckdb_rows = on_spark(sql), on_duckdb(sql)
            assert duckdb_rows, name
            assert _same_rows(spark_rows, duckdb_rows), (name, spark_rows, duckdb_rows)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT COUNT(*) AS n, COUNT(diagnosis_date) AS diagnosed FROM assessments",
        "SELECT onset_site, COUNT(*) AS n, MIN(onset_date) AS first_onset, "
        "MAX(survival_months) AS longest FROM assessments GROUP BY onset_site",
        "SELECT kings_stage, percentile_cont(0.5) WITHIN GROUP (ORDER BY bmi) AS median_bmi, "
        "percentile_cont(0.9) WITHIN GROUP (ORDER BY alsfrs_r_total) AS p90 "
        "FROM assessments GROUP BY kings_stage",
        "SELECT endpoint_kind, COUNT(*) AS n FROM assessments WHERE endpoint_reached "
        "GROUP BY endpoint_kind",
    ],
)
def test_query_on_spark_gives_the_rows_of_duckdb_for_an_aggregate(
    runs: dict[str, Done], spark: SparkSession, sql: str
) -> None:
    path = runs["duckdb"].out_dir / ASSESSMENTS
    with spark_query(spark, path) as on_spark, duckdb_query(path) as on_duckdb:
        rows = on_duckdb(sql)
        assert _same_rows(on_spark(sql), rows), (on_spark(sql), rows)
    assert rows and any(value is not None for row in rows for value in row.values())
