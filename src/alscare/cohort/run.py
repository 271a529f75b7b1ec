"""``alscare cohort run``: the engine over a cohort, written to an output folder that appears
complete or not at all.

The records stream through :func:`row_result` (the per-patient function of
:mod:`alscare.cohort.rows`, plus the reading and checking of each record) on the chosen
engine, in input order. Rows are written to ``assessments.parquet`` in row groups as they come,
so memory stays bounded; a record that cannot be read or assessed is reported with its
reference, counted and skipped, and the run goes on. The engine then aggregates the rows
(:mod:`alscare.cohort.analytics`) into ``summary.json`` and ``report.html``. Everything is
written into a hidden folder beside OUTDIR, which is renamed to OUTDIR only once it is whole;
a failed or interrupted run leaves nothing behind.

Reruns are deterministic: the same input, date and knowledge version give the same bytes (the
Parquet file carries no timestamps, the summary is rounded at this boundary, the report's
charts are drawn without dates or random ids).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from alscare.cli.inputs import Fault, applied, read_record
from alscare.cohort.inputs import SourceItem
from alscare.cohort.rows import ROW_SCHEMA, patient_row, rows_table
from alscare.errors import AlscareError
from alscare.knowledge import KnowledgeBase
from alscare.schemas.patient import PatientRecord

__all__ = [
    "ASSESSMENTS",
    "PROBLEMS",
    "REPORT",
    "SUMMARY",
    "CohortEngine",
    "OutputExists",
    "Query",
    "RowJob",
    "RowResult",
    "RunCounts",
    "item_record",
    "run_cohort",
]

ASSESSMENTS = "assessments.parquet"
SUMMARY = "summary.json"
REPORT = "report.html"
PROBLEMS = "problems.jsonl"
# Rows per Parquet row group: large enough to compress well, small enough to stay in memory.
_ROW_GROUP = 2048

#: Runs one SQL text over the view ``assessments`` and gives its rows as dicts.
Query = Callable[[str], list[dict[str, Any]]]


class OutputExists(AlscareError):
    """OUTDIR is already there: a run never overwrites an earlier one."""


@dataclass(frozen=True, slots=True)
class RowResult:
    """What one record gave: its row, or the faults that kept it out; and what the source could
    not map from it (OMOP), reported but not a reason to leave it out."""

    index: int
    ref: str
    row: dict[str, Any] | None
    faults: tuple[Fault, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RowJob:
    """The per-patient work of one run (a :class:`~alscare.cli.batch.Job`, so a worker process
    can do it)."""

    as_of: dt.date

    def result(self, kb: KnowledgeBase, task: SourceItem) -> RowResult:
        return row_result(task, self.as_of, kb)


def item_record(item: SourceItem) -> PatientRecord | tuple[Fault, ...]:
    """The record of an input item, or the faults that keep it from being one."""
    if item.data is None:
        reason = "; ".join(item.notes) or "no record could be made of it"
        return (Fault(item.ref, reason),)
    read = read_record(item.data, item.ref)
    return read.faults if read.record is None else read.record


def row_result(item: SourceItem, as_of: dt.date, kb: KnowledgeBase) -> RowResult:
    """Read, check and assess one record into its row."""
    found = item_record(item)
    if isinstance(found, tuple):
        return RowResult(item.index, item.ref, None, found, item.notes)
    index = item.index
    done = applied(
        found, as_of, item.ref, lambda record: patient_row(record, index, as_of=as_of, kb=kb)
    )
    if isinstance(done, Fault):
        return RowResult(index, item.ref, None, (done,), item.notes)
    return RowResult(index, item.ref, done, (), item.notes)


class CohortEngine(Protocol):
    """Where the per-patient function runs and where its rows are aggregated."""

    @property
    def name(self) -> str:
        """How the command line names the engine."""
        ...

    def results(self, items: Iterator[SourceItem], job: RowJob) -> Generator[RowResult, None, None]:
        """The result of every item, in input order."""
        ...

    def query(self, assessments: Path) -> AbstractContextManager[Query]:
        """A SQL runner over the written rows, as the view ``assessments``."""
        ...


@dataclass
class RunCounts:
    """How many records were read, assessed and left out, and how many carried notes."""

    read: int = 0
    assessed: int = 0
    bad: int = 0
    with_notes: int = 0

    def wire(self) -> dict[str, int]:
        return {
            "read": self.read,
            "assessed": self.assessed,
            "bad": self.bad,
            "with_unmapped_data": self.with_notes,
        }


def run_cohort(
    items: Iterator[SourceItem],
    *,
    as_of: dt.date,
    out_dir: Path,
    engine: CohortEngine,
    kb: KnowledgeBase,
    on_result: Callable[[RowResult], None] = lambda result: None,
) -> RunCounts:
    """Assess every record and write OUTDIR whole (see the module docstring); ``on_result`` is
    called for each record as it is done (progress, reporting)."""
    if out_dir.exists():
        raise OutputExists(f"{out_dir} already exists: give a new output folder")
    partial = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        counts = _write_rows(engine.results(items, RowJob(as_of)), partial, on_result)
        _write_summary(partial, engine, counts, as_of=as_of, kb=kb)
        partial.rename(out_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return counts


def _write_rows(
    results: Generator[RowResult, None, None],
    folder: Path,
    on_result: Callable[[RowResult], None],
) -> RunCounts:
    import pyarrow.parquet as pq

    counts = RunCounts()
    pending: list[dict[str, Any]] = []
    with (
        closing(results),
        pq.ParquetWriter(folder / ASSESSMENTS, ROW_SCHEMA, **_PARQUET_OPTIONS) as writer,
        (folder / PROBLEMS).open("w", encoding="utf-8") as problems,
    ):
        for result in results:
            _count(counts, result)
            _write_problems(problems, result)
            on_result(result)
            if result.row is not None:
                pending.append(result.row)
            if len(pending) == _ROW_GROUP:
                writer.write_table(rows_table(pending))
                pending.clear()
        writer.write_table(rows_table(pending))
    return counts


# No statistics timestamps, one compression, dictionary pages as pyarrow chooses them: the same
# rows give the same bytes with the same pyarrow.
_PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "write_statistics": True}


def _count(counts: RunCounts, result: RowResult) -> None:
    counts.read += 1
    if result.row is None:
        counts.bad += 1
    else:
        counts.assessed += 1
    if result.notes:
        counts.with_notes += 1


def _write_problems(problems: Any, result: RowResult) -> None:
    """One line per record left out or only partly mapped: its reference and what went wrong."""
    if not (result.faults or result.notes):
        return
    entry = {
        "ref": result.ref,
        "assessed": result.row is not None,
        "faults": [fault.message for fault in result.faults],
        "unmapped": list(result.notes),
    }
    problems.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _write_summary(
    folder: Path, engine: CohortEngine, counts: RunCounts, *, as_of: dt.date, kb: KnowledgeBase
) -> None:
    # imported here, not at the top: Spark's executors unpickle RowJob from this module, and
    # need neither lifelines nor matplotlib
    from alscare.cohort.analytics import SUMMARY_SCHEMA, fetch_survival, summarise
    from alscare.cohort.report import render_report

    with engine.query(folder / ASSESSMENTS) as query:
        summary = summarise(query, survival=fetch_survival(query), kb=kb)
    document = {
        "schema": SUMMARY_SCHEMA,
        "as_of": as_of.isoformat(),
        "knowledge_version": kb.version,
        "records": counts.wire(),
        **summary,
    }
    text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    (folder / SUMMARY).write_text(text, encoding="utf-8")
    title = f"alscare cohort report, as of {as_of.isoformat()}"
    (folder / REPORT).write_text(render_report(document, title=title), encoding="utf-8")
