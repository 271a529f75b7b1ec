"""The Spark engine (alscare.cohort.spark) on a real local Spark: the per-patient function runs on
the executors and gives back exactly the results it gives in this process, in input order,
several chunks deep; a run stopped early ends its Spark job; an executor with another knowledge
base fails the run by name; and Spark SQL over the written rows gives Python values as DuckDB
does.

One local[2] session serves the whole module (starting one takes seconds)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession

from alscare.cohort.engines import duckdb_query
from alscare.cohort.inputs import InputError, SourceItem, source_items
from alscare.cohort.rows import rows_table
from alscare.cohort.run import RowJob, RowResult, row_result
from alscare.cohort.spark import (
    SCRATCH_SETTING,
    ExecutorMismatch,
    SparkEngine,
    is_lake_source,
    lake_records,
    spark_engine,
    spark_query,
    spark_session,
)
from alscare.cohort.synth import AS_OF, synthetic_cohort
from alscare.knowledge import KnowledgeBase

SIZE = 40
# A chunk of 16 records: 40 records make three Spark jobs, the last one short, so results cross
# chunk boundaries with one job in flight while the one before is handed out.
CHUNK = 16


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    session = spark_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def items() -> list[SourceItem]:
    """The synthetic cohort's first records, then every way a record is left out."""
    good = [
        SourceItem(index, f"cohort.jsonl:{index + 1}", json.dumps(record).encode("utf-8"))
        for index, record in enumerate(synthetic_cohort(SIZE))
    ]
    bad = [
        b'{"id": ',  # not JSON
        b'{"schema": "alscare.patient/v2", "id": "X-SEX", "sex": "banana"}',  # not a record
        b'{"schema": "alscare.patient/v2", "id": "X-EARLY", "birth_date": "2026-01-01"}',
    ]
    left_out = [
        SourceItem(SIZE + offset, f"cohort.jsonl:{SIZE + offset + 1}", data)
        for offset, data in enumerate(bad)
    ]
    # An OMOP person the source could make no record of, and one it mapped only in part.
    unmapped = SourceItem(SIZE + 3, "person 7", None, ("no year of birth",))
    partial = SourceItem(
        SIZE + 4, "person 8", good[0].data, ("condition 4000000: not an ALS concept",)
    )
    return [*good, *left_out, unmapped, partial]


@pytest.fixture(scope="module")
def engine(spark: SparkSession, kb: KnowledgeBase) -> SparkEngine:
    found = spark_engine(kb, master="local[2]")
    found.chunk_items = CHUNK
    return found


@pytest.fixture(scope="module")
def spark_results(engine: SparkEngine, items: list[SourceItem]) -> list[RowResult]:
    return list(engine.results(iter(items), RowJob(AS_OF)))


def test_results_on_spark_equal_row_result_in_this_process(
    spark_results: list[RowResult], items: list[SourceItem], kb: KnowledgeBase
) -> None:
    expected = [row_result(item, AS_OF, kb) for item in items]
    assert spark_results == expected


def test_results_on_spark_come_in_input_order(
    spark_results: list[RowResult], items: list[SourceItem]
) -> None:
    assert [result.index for result in spark_results] == [item.index for item in items]
    assert [result.ref for result in spark_results] == [item.ref for item in items]


def test_results_on_spark_keep_python_types_of_the_row(
    spark_results: list[RowResult], kb: KnowledgeBase
) -> None:
    rows = [result.row for result in spark_results if result.row is not None]
    assert len(rows) == SIZE + 1
    first = rows[0]
    assert type(first["as_of"]) is dt.date and first["as_of"] == AS_OF
    assert type(first["onset_date"]) is dt.date
    assert type(first["alert_ids"]) is list and type(first["input_index"]) is int
    assert first["knowledge_version"] == kb.version
    dated = [row["endpoint_date"] for row in rows if row["endpoint_date"] is not None]
    assert dated and all(type(day) is dt.date for day in dated)


def test_results_on_spark_report_each_left_out_record_with_its_fault(
    spark_results: list[RowResult],
) -> None:
    left_out = {result.ref: result for result in spark_results if result.row is None}
    messages = {ref: [fault.message for fault in result.faults] for ref, result in left_out.items()}
    assert sorted(messages) == [
        f"cohort.jsonl:{SIZE + 1}",
        f"cohort.jsonl:{SIZE + 2}",
        f"cohort.jsonl:{SIZE + 3}",
        "person 7",
    ]
    assert messages[f"cohort.jsonl:{SIZE + 1}"][0].startswith("/: malformed JSON")
    assert messages[f"cohort.jsonl:{SIZE + 2}"] == ["/sex: unknown id 'banana'"]
    assert messages[f"cohort.jsonl:{SIZE + 3}"] == [
        f"--as-of: the assessment date {AS_OF} is before the birth date (2026-01-01)"
    ]
    assert messages["person 7"] == ["no year of birth"]
    assert left_out["person 7"].notes == ("no year of birth",)
    assert {fault.code for result in left_out.values() for fault in result.faults} == {2}


def test_results_on_spark_keep_the_notes_of_a_record_assessed(
    spark_results: list[RowResult],
) -> None:
    partial = spark_results[-1]
    assert partial.ref == "person 8" and partial.row is not None
    assert partial.notes == ("condition 4000000: not an ALS concept",)
    assert partial.faults == ()
    assert partial.row["input_index"] == SIZE + 4


def test_results_on_spark_of_no_items_are_none(engine: SparkEngine) -> None:
    assert list(engine.results(iter(()), RowJob(AS_OF))) == []


def test_results_on_spark_stopped_early_leave_no_job_running(
    engine: SparkEngine, items: list[SourceItem]
) -> None:
    results = engine.results(iter(items), RowJob(AS_OF))
    first = [next(results) for _ in range(3)]
    results.close()  # the next chunk's job is on the executors now
    assert [result.index for result in first] == [0, 1, 2]
    # The thread that submits the jobs is gone: nothing of the run goes on behind the caller.
    assert [thread.name for thread in threading.enumerate() if "alscare-spark" in thread.name] == []
    again = list(engine.results(iter(items[:2]), RowJob(AS_OF)))  # the engine goes on working
    assert [result.index for result in again] == [0, 1]


def test_results_on_an_executor_with_another_knowledge_base_fail_naming_both(
    spark: SparkSession, kb: KnowledgeBase, items: list[SourceItem]
) -> None:
    other = kb.model_copy(
        update={"about": kb.about.model_copy(update={"knowledge_version": "1999.1"})}
    )
    engine = spark_engine(other)
    with pytest.raises(ExecutorMismatch) as raised:
        list(engine.results(iter(items[:1]), RowJob(AS_OF)))
    message = str(raised.value)
    assert f"knowledge base {kb.version}, the driver" in message
    assert "knowledge base 1999.1: install the same alscare" in message


@pytest.mark.parametrize(
    ("master", "jobs", "expected"),
    [
        ("local[2]", None, "local[2]"),
        ("local[2]", 3, "local[3]"),
        ("local", 4, "local[4]"),
        ("local[2]", 0, "local[*]"),
        ("spark://head:7077", 8, "spark://head:7077"),
        ("local-cluster[2,1,1024]", 8, "local-cluster[2,1,1024]"),
        (None, None, "local[*]"),  # no --master: every core, as the local engine
        (None, 3, "local[3]"),
    ],
)
def test_spark_engine_jobs_set_the_threads_of_a_local_master_only(
    kb: KnowledgeBase, master: str | None, jobs: int | None, expected: str
) -> None:
    engine = spark_engine(kb, master=master, jobs=jobs)
    assert (engine.name, engine.master) == ("spark", expected)


def test_spark_engine_negative_jobs_are_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(ValueError, match="jobs must be 0"):
        spark_engine(kb, jobs=-1)


def test_spark_session_is_the_running_one_quiet_and_local(spark: SparkSession) -> None:
    assert spark_session("local[4]") is spark
    settings = spark.sparkContext.getConf()
    assert spark.sparkContext.master == "local[2]"
    assert settings.get("spark.ui.enabled") == "false"
    assert settings.get("spark.driver.bindAddress") == "127.0.0.1"


# --- query ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def assessments(spark_results: list[RowResult], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rows written as a run writes them, in a hidden folder as a run's partial output."""
    folder = tmp_path_factory.mktemp("run") / ".out.partial-1"
    folder.mkdir()
    path = folder / "assessments.parquet"
    rows = [result.row for result in spark_results if result.row is not None]
    pq.write_table(rows_table(rows), path)
    return path


def _both(spark: SparkSession, assessments: Path, sql: str) -> tuple[list[dict[str, Any]], ...]:
    with spark_query(spark, assessments) as on_spark, duckdb_query(assessments) as on_duckdb:
        return on_spark(sql), on_duckdb(sql)


def test_query_on_spark_gives_python_values_as_duckdb(
    spark: SparkSession, assessments: Path
) -> None:
    sql = (
        "SELECT patient_id, input_index, onset_date, followed_until, survival_months, "
        "endpoint_reached, alert_ids, mitos_stage FROM assessments ORDER BY input_index"
    )
    on_spark, on_duckdb = _both(spark, assessments, sql)
    assert on_spark == on_duckdb
    assert len(on_spark) == SIZE + 1
    assert type(on_spark[0]["onset_date"]) is dt.date
    assert type(on_spark[0]["alert_ids"]) is list


def test_query_on_spark_reads_the_rows_through_the_engine(
    engine: SparkEngine, assessments: Path
) -> None:
    with engine.query(assessments) as query:
        rows = query("SELECT COUNT(*) AS n, COUNT(DISTINCT patient_id) AS ids FROM assessments")
    assert rows == [{"n": SIZE + 1, "ids": SIZE}]


def test_query_on_spark_leaves_no_view_behind(spark: SparkSession, assessments: Path) -> None:
    with spark_query(spark, assessments) as query:
        assert query("SELECT COUNT(*) AS n FROM assessments") == [{"n": SIZE + 1}]
    with pytest.raises(AnalysisException):
        spark.sql("SELECT COUNT(*) FROM assessments").collect()


def test_query_on_spark_reads_a_copy_in_the_scratch_folder_and_removes_it(
    spark: SparkSession, assessments: Path, tmp_path: Path
) -> None:
    spark.conf.set(SCRATCH_SETTING, tmp_path.as_uri())
    try:
        with spark_query(spark, assessments) as query:
            copies = list(tmp_path.glob("alscare-*/assessments.parquet"))
            assert len(copies) == 1 and copies[0].read_bytes() == assessments.read_bytes()
            rows = query("SELECT COUNT(*) AS n FROM assessments")
    finally:
        spark.conf.unset(SCRATCH_SETTING)
    assert rows == [{"n": SIZE + 1}]
    assert list(tmp_path.iterdir()) == []


# --- record tables on a lake ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("s3a://registry/records", True),
        ("abfss://lake@account.dfs.core.windows.net/records", True),
        ("file:///data/records", True),
        ("postgresql://user@host/cdm", False),
        ("cohort.jsonl", False),
    ],
)
def test_is_lake_source_names_uris_but_not_postgresql(source: str, expected: bool) -> None:
    assert is_lake_source(source) is expected


def test_is_lake_source_names_a_local_folder_with_a_delta_log(tmp_path: Path) -> None:
    assert not is_lake_source(str(tmp_path))
    (tmp_path / "_delta_log").mkdir()
    assert is_lake_source(str(tmp_path))


@pytest.fixture(scope="module")
def lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A lake table of records as Spark writes one (part files), in no particular order."""
    folder = tmp_path_factory.mktemp("lake") / "records"
    texts = [json.dumps(record) for record in synthetic_cohort(6)]
    shuffled = [texts[4], None, texts[1], '{"id": ', texts[5], texts[0], texts[3], texts[2]]
    frame = spark.createDataFrame([(text,) for text in shuffled], "record string")
    frame.repartition(3).write.parquet(folder.as_uri())
    return folder.as_uri()


def test_lake_records_come_ordered_by_id_then_text(lake: str, spark: SparkSession) -> None:
    found = list(lake_records(lake, spark=spark))
    records = [json.dumps(record).encode("utf-8") for record in synthetic_cohort(6)]
    ids = [f"SYN-{index:07d}" for index in range(6)]
    assert found == [
        *((f"{lake}:row {n + 1} (id {ids[n]})", records[n], ()) for n in range(6)),
        (f"{lake}:row 7", b'{"id": ', ()),
        (f"{lake}:row 8", None, ()),
    ]


def test_lake_records_on_the_engine_give_the_rows_of_the_records(
    lake: str, spark: SparkSession, engine: SparkEngine, kb: KnowledgeBase
) -> None:
    items = [
        SourceItem(index, ref, data, notes)
        for index, (ref, data, notes) in enumerate(lake_records(lake, spark=spark))
    ]
    results = list(engine.results(iter(items), RowJob(AS_OF)))
    assert results == [row_result(item, AS_OF, kb) for item in items]
    assert [result.row is not None for result in results] == [True] * 6 + [False] * 2


def test_a_lake_table_is_an_input_of_the_cohort_run(lake: str, spark: SparkSession) -> None:
    # source_items reads a lake URI through Spark (the session this module already started)
    refs = [item.ref for item in source_items([lake])]
    assert refs == [ref for ref, _, _ in lake_records(lake, spark=spark)]
    assert [item.index for item in source_items([lake])] == list(range(8))


def test_lake_records_of_a_table_without_a_record_column_are_refused(
    spark: SparkSession, tmp_path: Path
) -> None:
    folder = (tmp_path / "other").as_uri()
    spark.createDataFrame([("x",)], "json string").write.parquet(folder)
    with pytest.raises(InputError, match="no 'record' column"):
        list(lake_records(folder, spark=spark))


def test_lake_records_of_no_table_are_refused(spark: SparkSession, tmp_path: Path) -> None:
    missing = (tmp_path / "missing").as_uri()
    with pytest.raises(InputError, match=r"not a table Spark can read \(\[PATH_NOT_FOUND\]"):
        list(lake_records(missing, spark=spark))


def test_lake_records_of_a_delta_table_spark_cannot_read_name_delta_spark(
    spark: SparkSession, tmp_path: Path
) -> None:
    (tmp_path / "_delta_log").mkdir()  # an empty log: unreadable with or without delta-spark
    with pytest.raises(InputError, match="a Delta table needs delta-spark"):
        list(lake_records(str(tmp_path), spark=spark))
