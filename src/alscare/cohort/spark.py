"""The Spark engine: the per-patient function on Spark executors, Spark SQL to aggregate.

The driver reads the records (as every engine does, :mod:`alscare.cohort.inputs`) and sends them
to the executors in chunks of :data:`CHUNK_ITEMS`, one Spark job per chunk, as a DataFrame of
``index``, ``ref``, ``data`` (the record's JSON bytes) and ``notes``. On the executors
``mapInArrow`` calls :func:`~alscare.cohort.run.row_result` (through the run's
:class:`~alscare.cohort.run.RowJob`) on each record, with the packaged knowledge base loaded once
per Python worker (:func:`~alscare.knowledge.default_knowledge` is cached per process and Spark
reuses its workers). Each result comes back as typed columns: the row as a struct of the columns
of :data:`~alscare.cohort.rows.ROW_SCHEMA`, so dates, lists and floats come back exactly as
:func:`~alscare.cohort.rows.patient_row` made them, and the faults with their label, message and
exit code. The driver sorts each chunk by input position, so results come in input order, and
holds at most three chunks (the one being read, the one on the executors, the one being
written): its memory is bounded whatever the cohort's size.

An executor must run the same alscare as the driver (the rows would differ otherwise): each
Python worker checks the alscare and knowledge versions it loads against the driver's and fails
the job, naming both, when they differ.

The rows are aggregated by Spark SQL over ``assessments.parquet`` (:func:`spark_query`), which
the run writes on the driver's disk: on a cluster the executors read a copy of it on the
cluster's file system.

A table of records on a lake (Parquet files or a Delta table, at an ``s3a://``, ``abfss://``,
``hdfs://``... URI) is read by Spark itself (:func:`lake_records`), in a stable order, and
streamed to the driver a partition at a time.

The session is the one already running (``spark-submit``, ``pyspark``, a notebook, a test), else
a new local one made quiet and closed to the network: no web UI, logs at ERROR, the driver bound
to 127.0.0.1, the workers on this Python. Under ``spark-submit`` its ``--master`` and
configuration decide, not ``master``. docs/cohort-spark.md says how to run on a cluster.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
import uuid
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

import alscare
from alscare.cli.inputs import Fault
from alscare.cohort.inputs import InputError, SourceItem
from alscare.cohort.rows import ROW_SCHEMA
from alscare.cohort.run import Query, RowJob, RowResult
from alscare.errors import AlscareError
from alscare.knowledge import KnowledgeBase, default_knowledge

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "CHUNK_ITEMS",
    "ITEMS_PER_TASK",
    "RECORD_COLUMN",
    "SCRATCH_SETTING",
    "ExecutorMismatch",
    "SparkEngine",
    "is_lake_source",
    "lake_records",
    "spark_engine",
    "spark_query",
    "spark_session",
]

#: Records per Spark job: a job's fixed cost (a second or less) is small beside the work on a
#: few thousand records, and a chunk of them (records and rows, ~50 kB each) stays well inside
#: the driver's default memory.
CHUNK_ITEMS = 4096
#: Records per Spark task (one partition of a chunk): small enough that the tasks balance across
#: the executors' cores, large enough that a task's start-up is negligible.
ITEMS_PER_TASK = 128

#: The Spark setting naming a folder on the cluster's file system (``hdfs:///tmp``,
#: ``s3a://bucket/tmp``) where the executors read a copy of the written rows.
SCRATCH_SETTING = "spark.alscare.cohort.scratch"
#: The column of a lake table that holds each record's JSON (as in a Parquet input).
RECORD_COLUMN = "record"

_APP_NAME = "alscare cohort"
# A URI's scheme (s3a://, abfss://, gs://, hdfs://, dbfs:/, file:/), not a Windows drive letter.
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")
_VIEW = "assessments"

# The input of the executors, and what they give back for each record.
_INPUT_ARROW = pa.schema(
    [
        pa.field("index", pa.int64(), nullable=False),
        pa.field("ref", pa.string(), nullable=False),
        pa.field("data", pa.binary()),
        pa.field("notes", pa.list_(pa.string())),
    ]
)
_FAULT_ARROW = pa.struct(
    [pa.field("label", pa.string()), pa.field("message", pa.string()), pa.field("code", pa.int32())]
)
# Every column nullable: the struct is null for a record left out, and Spark checks nothing more.
_ROW_ARROW = pa.struct([pa.field(column.name, column.type) for column in ROW_SCHEMA])
_RESULT_ARROW = pa.schema(
    [
        pa.field("index", pa.int64()),
        pa.field("ref", pa.string()),
        pa.field("row", _ROW_ARROW),
        pa.field("faults", pa.list_(_FAULT_ARROW)),
        pa.field("notes", pa.list_(pa.string())),
    ]
)

# Spark's log configuration for a local session: ERROR only. The logger ``org`` is named as well,
# because Spark's shell mode lowers the console to WARN (and says so) unless the logger of its
# main class has a level of its own equal to the root's.
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.console.ref = console
logger.org.name = org
logger.org.level = error
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
"""


class ExecutorMismatch(AlscareError):
    """An executor runs another alscare or knowledge base than the driver."""


@dataclass(frozen=True, slots=True)
class _Versions:
    """What must be the same on the driver and every executor for the rows to be the same."""

    alscare: str
    knowledge: str

    def __str__(self) -> str:
        return f"alscare {self.alscare}, knowledge base {self.knowledge}"


@dataclass(frozen=True, slots=True)
class _OnExecutor:
    """The function ``mapInArrow`` runs on each partition (pickled to the executors)."""

    job: RowJob
    expected: _Versions

    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        kb = _executor_knowledge(self.expected)
        for batch in batches:
            results = [self.job.result(kb, item) for item in _source_items(batch)]
            yield pa.RecordBatch.from_pylist([_wire(result) for result in results], _RESULT_ARROW)


def _executor_knowledge(expected: _Versions) -> KnowledgeBase:
    kb = default_knowledge()
    found = _Versions(alscare.__version__, kb.version)
    if found != expected:
        raise ExecutorMismatch(
            f"a Spark executor runs {found}, the driver {expected}: install the same alscare "
            "on the executors (docs/cohort-spark.md)"
        )
    return kb


def _source_items(batch: pa.RecordBatch) -> Iterator[SourceItem]:
    for entry in batch.to_pylist():
        yield SourceItem(entry["index"], entry["ref"], entry["data"], tuple(entry["notes"] or ()))


def _wire(result: RowResult) -> dict[str, Any]:
    return {
        "index": result.index,
        "ref": result.ref,
        "row": result.row,
        "faults": [
            {"label": fault.label, "message": fault.message, "code": fault.code}
            for fault in result.faults
        ],
        "notes": list(result.notes),
    }


def _unwired(entry: dict[str, Any]) -> RowResult:
    faults = tuple(Fault(**fault) for fault in entry["faults"])
    return RowResult(entry["index"], entry["ref"], entry["row"], faults, tuple(entry["notes"]))


@dataclass
class SparkEngine:
    """The per-patient function on Spark executors, Spark SQL over the written rows.

    The session starts on first use (:func:`spark_session`); :meth:`close` stops it if this
    engine started it.
    """

    kb: KnowledgeBase
    master: str
    chunk_items: int = CHUNK_ITEMS
    name: str = "spark"
    _session: SparkSession | None = field(default=None, init=False, repr=False)
    _owned: bool = field(default=False, init=False, repr=False)

    @property
    def session(self) -> SparkSession:
        if self._session is None:
            started = _active_session() is None
            self._session = spark_session(self.master)
            self._owned = started
        return self._session

    def results(self, items: Iterator[SourceItem], job: RowJob) -> Generator[RowResult, None, None]:
        """The result of every item, in input order (see the module docstring)."""
        spark = self.session
        run = _OnExecutor(job, _Versions(alscare.__version__, self.kb.version))
        group = f"alscare-cohort-{uuid.uuid4().hex}"
        finished, stopped = False, threading.Event()
        with ThreadPoolExecutor(1, thread_name_prefix="alscare-spark") as pool:
            pending: Future[pa.Table | None] | None = None
            try:
                while chunk := list(islice(items, self.chunk_items)):
                    submitted = pool.submit(_run_chunk, spark, (group, stopped), run, chunk)
                    if pending is not None:
                        yield from _results(pending.result())
                    pending = submitted
                if pending is not None:
                    yield from _results(pending.result())
                finished = True
            finally:
                if not finished:  # stopped early or failed: end the job still on the executors
                    stopped.set()
                    spark.sparkContext.cancelJobGroup(group)

    def query(self, assessments: Path) -> Any:
        """Spark SQL over the written rows, as the view ``assessments``."""
        return spark_query(self.session, assessments)

    def close(self) -> None:
        """Stop the session, if this engine started it (a session it found is left running)."""
        if self._session is not None and self._owned:
            self._session.stop()
        self._session, self._owned = None, False


def spark_engine(
    kb: KnowledgeBase, *, master: str | None = "local[2]", jobs: int | None = None
) -> SparkEngine:
    """The Spark engine on ``master``; ``jobs`` (``--jobs``) sets the threads of a local master
    (``local[N]``, 0 for every core) and is ignored on a cluster, whose manager decides.

    ``master=None`` (no ``--master``) is a local master with ``jobs`` threads, every core when
    ``jobs`` is None too, as the local engine. Under ``spark-submit`` its ``--master`` holds.
    """
    if master is None:
        return SparkEngine(kb, _with_jobs("local", 0 if jobs is None else jobs))
    return SparkEngine(kb, _with_jobs(master, jobs))


def spark_session(master: str = "local[2]") -> SparkSession:
    """The running session, else a new one on ``master`` (quiet and on 127.0.0.1 when local)."""
    from pyspark.sql import SparkSession

    active = _active_session()
    if active is not None:
        return active
    builder = SparkSession.builder.appName(_APP_NAME)
    if "PYSPARK_GATEWAY_PORT" in os.environ:  # spark-submit started us: its --master holds
        return builder.getOrCreate()
    if not _is_local(master):
        return builder.master(master).getOrCreate()
    return _local_session(builder.master(master), _threads(master))


@contextmanager
def spark_query(spark: SparkSession, assessments: Path) -> Iterator[Query]:
    """Spark SQL over a Parquet file of rows, as the temporary view ``assessments``; each query
    gives its rows as dicts of Python values (dates as ``datetime.date``, arrays as lists), as
    :func:`~alscare.cohort.engines.duckdb_query` does.

    The file is on the driver's disk. A local master reads it there; on a cluster the executors
    read a copy of it on the cluster's file system (:data:`SCRATCH_SETTING`, else the user's
    home folder on the default file system when that is not the local one, HDFS say), removed
    afterwards; with neither, the path must be one every node mounts (an NFS or lake mount).
    """
    with _readable_by_executors(spark, assessments) as uri:
        spark.read.parquet(uri).createOrReplaceTempView(_VIEW)
        try:

            def query(sql: str) -> list[dict[str, Any]]:
                return [row.asDict(recursive=True) for row in spark.sql(sql).collect()]

            yield query
        finally:
            spark.catalog.dropTempView(_VIEW)


@contextmanager
def _readable_by_executors(spark: SparkSession, local: Path) -> Iterator[str]:
    """A URI of the file that the executors can read: the file itself, or a copy of it."""
    # A URI: a bare path would be read on the cluster's default file system.
    uri = local.resolve().as_uri()
    scratch = _scratch(spark)
    if scratch is None:
        yield uri
        return
    jvm, hadoop = spark.sparkContext._jvm, spark.sparkContext._jsc.hadoopConfiguration()
    assert jvm is not None, "a classic session has a JVM"
    folder = jvm.org.apache.hadoop.fs.Path(f"{scratch.rstrip('/')}/alscare-{uuid.uuid4().hex}")
    files = folder.getFileSystem(hadoop)
    copy = jvm.org.apache.hadoop.fs.Path(folder, local.name)
    files.copyFromLocalFile(False, True, jvm.org.apache.hadoop.fs.Path(uri), copy)
    try:
        yield str(copy.toString())
    finally:
        files.delete(folder, True)


def _scratch(spark: SparkSession) -> str | None:
    """Where to copy the rows for the executors, or None when they read the driver's file."""
    given = spark.conf.get(SCRATCH_SETTING, None)
    if given:
        return str(given)
    if _is_local(spark.sparkContext.master or ""):
        return None
    jvm, hadoop = spark.sparkContext._jvm, spark.sparkContext._jsc.hadoopConfiguration()
    assert jvm is not None, "a classic session has a JVM"
    files = jvm.org.apache.hadoop.fs.FileSystem.get(hadoop)
    if str(files.getScheme()) == "file":
        return None
    return str(files.getHomeDirectory().toString())


def _run_chunk(
    spark: SparkSession,
    control: tuple[str, threading.Event],
    run: _OnExecutor,
    chunk: list[SourceItem],
) -> pa.Table | None:
    """One Spark job: the chunk's results as an Arrow table in input order (None when the run
    was stopped before the job started)."""
    from pyspark.errors import PythonException
    from pyspark.sql.pandas.types import from_arrow_schema

    group, stopped = control
    if stopped.is_set():
        return None
    spark.sparkContext.setJobGroup(group, _APP_NAME, interruptOnCancel=True)
    # One Arrow batch per partition: tasks of ITEMS_PER_TASK, or fewer and smaller when the
    # chunk is short, so every core gets work.
    parallelism = spark.sparkContext.defaultParallelism
    per_task = max(1, min(ITEMS_PER_TASK, -(-len(chunk) // parallelism)))
    batches = [
        pa.RecordBatch.from_pylist(
            [_input(item) for item in chunk[start : start + per_task]], _INPUT_ARROW
        )
        for start in range(0, len(chunk), per_task)
    ]
    frame = spark.createDataFrame(pa.Table.from_batches(batches, _INPUT_ARROW))
    try:
        done = frame.mapInArrow(run, from_arrow_schema(_RESULT_ARROW)).toArrow()
    except PythonException as error:
        mismatch = _mismatch_in(error)
        if mismatch is None:
            raise
        raise mismatch from None
    if done.num_rows != len(chunk):
        raise RuntimeError(f"Spark gave {done.num_rows} results for {len(chunk)} records")
    return done.sort_by("index")


def _mismatch_in(error: Exception) -> ExecutorMismatch | None:
    """The executors' version mismatch, out of the Python traceback Spark hands back."""
    marker = f"{ExecutorMismatch.__name__}: "
    for line in str(error).splitlines():
        if marker in line:
            return ExecutorMismatch(line.split(marker, 1)[1])
    return None


def _input(item: SourceItem) -> dict[str, Any]:
    return {"index": item.index, "ref": item.ref, "data": item.data, "notes": list(item.notes)}


def _results(done: pa.Table | None) -> Iterator[RowResult]:
    assert done is not None, "a chunk is skipped only once the run is stopped"
    for batch in done.to_batches():
        for entry in batch.to_pylist():
            yield _unwired(entry)


def _active_session() -> SparkSession | None:
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


def _is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def _with_jobs(master: str, jobs: int | None) -> str:
    if jobs is None or not _is_local(master):
        return master
    if jobs < 0:
        raise ValueError(f"jobs must be 0 (every core) or more, not {jobs}")
    return "local[*]" if jobs == 0 else f"local[{jobs}]"


def _threads(master: str) -> int:
    """The threads of a local master (``local``, ``local[N]``, ``local[*]``, ``local[N,F]``)."""
    if master == "local":
        return 1
    count = master.removeprefix("local[").rstrip("]").split(",")[0]
    return (os.cpu_count() or 1) if count == "*" else int(count)


def _local_session(builder: Any, threads: int) -> SparkSession:
    settings = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.sql.shuffle.partitions": str(max(1, threads)),
        "spark.sql.session.timeZone": "UTC",
    }
    # The workers must import this alscare: they run the driver's own interpreter. PySpark reads
    # the variable when the context starts and sends it with every task.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    for key, value in settings.items():
        builder = builder.config(key, value)
    # The JVM reads its log configuration once, at start: the file can go as soon as it is up.
    handle, name = tempfile.mkstemp(prefix="alscare-spark-log4j2-", suffix=".properties")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as config:
            config.write(_LOG4J2)
        options = f"-Dlog4j2.configurationFile={Path(name).as_uri()}"
        session: SparkSession = builder.config(
            "spark.driver.extraJavaOptions", options
        ).getOrCreate()
    finally:
        with suppress(OSError):
            os.unlink(name)
    session.sparkContext.setLogLevel("ERROR")
    return session


# --- record tables on a lake --------------------------------------------------------------


def is_lake_source(text: str) -> bool:
    """Whether an input names a table of records that Spark reads: a URI (``s3a://``,
    ``abfss://``, ``gs://``, ``hdfs://``, ``dbfs:/``, ``file:/``) or a local Delta table (a
    folder with a ``_delta_log``); PostgreSQL URLs are OMOP databases, not tables."""
    if text.startswith(("postgresql:", "postgresql+", "postgres:")):
        return False
    return bool(_URI.match(text)) or (Path(text) / "_delta_log").is_dir()


def lake_records(
    source: str, *, spark: SparkSession | None = None
) -> Iterator[tuple[str, bytes | None, tuple[str, ...]]]:
    """Every record of a table on a lake (Parquet files, or a Delta table when the folder has a
    ``_delta_log``), each with its reference, in a stable order: by record id, then by the
    record's text (a table has no order of its own, and the order of its files changes when it
    is compacted). The records stream to this process a partition at a time.

    A record's reference is ``SOURCE:row N`` in that order, with its id: ``SOURCE:row 7 (id
    P-0042)``.
    """
    from pyspark.sql import functions as F

    session = spark or spark_session()
    table = _lake_table(session, source)
    if RECORD_COLUMN not in table.columns:
        raise InputError(f"{source}: no '{RECORD_COLUMN}' column with each record's JSON")
    text = F.col(RECORD_COLUMN).cast("string")
    ordered = table.select(
        F.col(RECORD_COLUMN).cast("binary").alias("data"),
        F.get_json_object(text, "$.id").alias("id"),
        text.alias("text"),
    ).orderBy(F.col("id").asc_nulls_last(), F.col("text").asc_nulls_last())
    for number, row in enumerate(ordered.toLocalIterator(prefetchPartitions=True), start=1):
        ref = f"{source}:row {number}" + (f" (id {row['id']})" if row["id"] else "")
        data = row["data"]
        yield ref, None if data is None else bytes(data), ()


def _lake_table(spark: SparkSession, source: str) -> Any:
    from py4j.protocol import Py4JJavaError  # type: ignore[import-untyped]
    from pyspark.errors import AnalysisException

    uri = source if _URI.match(source) else Path(source).resolve().as_uri()
    delta = _is_delta(spark, uri)
    try:
        return spark.read.format("delta" if delta else "parquet").load(uri)
    except AnalysisException as error:
        reason = _first_line(str(error))
    except Py4JJavaError as error:  # a data source that is not installed (Delta) ends up here
        reason = _first_line(str(error.java_exception.getMessage()))
    hint = "; a Delta table needs delta-spark (docs/cohort-spark.md)" if delta else ""
    raise InputError(f"{source}: not a table Spark can read ({reason}){hint}")


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "no reason given")


def _is_delta(spark: SparkSession, uri: str) -> bool:
    """Whether the table has a Delta log, asked of the file system the URI names (S3, ADLS,
    HDFS...) through Spark's Hadoop configuration."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None, "a classic session has a JVM"
    log = jvm.org.apache.hadoop.fs.Path(uri.rstrip("/") + "/_delta_log")
    files = log.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return bool(files.exists(log))
