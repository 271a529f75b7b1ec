"""The engines that run without a cluster: DuckDB (in this process) and local processes.

Both run the per-patient function of :mod:`alscare.cohort.run` and aggregate the written rows
with DuckDB, in process and with no server. They differ in where the function runs: ``duckdb``
in this process (one core unless ``--jobs`` asks for more), ``local`` on a pool of worker
processes, one per core by default. Spark is in :mod:`alscare.cohort.spark`.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alscare.cli.batch import results_in_order, usable_cores
from alscare.cohort.analytics import VIEW
from alscare.cohort.inputs import SourceItem
from alscare.cohort.run import Query, RowJob, RowResult
from alscare.knowledge import KnowledgeBase

__all__ = ["ProcessEngine", "duckdb_query", "duckdb_engine", "local_engine"]


@dataclass(frozen=True)
class ProcessEngine:
    """The per-patient function on ``jobs`` processes of this machine, DuckDB to aggregate."""

    name: str
    kb: KnowledgeBase
    jobs: int

    def results(self, items: Iterator[SourceItem], job: RowJob) -> Generator[RowResult, None, None]:
        return results_in_order(job, items, self.kb, self.jobs)

    def query(self, assessments: Path) -> Any:
        return duckdb_query(assessments)


def duckdb_engine(kb: KnowledgeBase, jobs: int | None = None) -> ProcessEngine:
    return ProcessEngine("duckdb", kb, jobs or 1)


def local_engine(kb: KnowledgeBase, jobs: int | None = None) -> ProcessEngine:
    return ProcessEngine("local", kb, jobs or usable_cores())


@contextmanager
def duckdb_query(assessments: Path) -> Iterator[Query]:
    """A DuckDB connection of its own over the Parquet rows, as the view ``assessments``."""
    import duckdb

    connection = duckdb.connect(":memory:")
    try:
        connection.read_parquet(str(assessments)).create_view(VIEW)

        def query(sql: str) -> list[dict[str, Any]]:
            cursor = connection.execute(sql)
            names = [column[0] for column in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        yield query
    finally:
        connection.close()
