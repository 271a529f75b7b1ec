"""The inputs of a cohort run, read as one stream of records in a stable order.

An input is a JSON Lines file of records v1 or v2 (one per non-blank line), a Parquet file with
a ``record`` column holding each record's JSON, a table of such records on a lake that Spark
reads (a URI such as ``s3a://...``, or a Delta table; :func:`alscare.cohort.spark.lake_records`),
or an OMOP CDM 5.4 database (a DuckDB file, a directory of CSV or Parquet tables, or a
PostgreSQL URL; see :mod:`alscare.cohort.omop`). Each
record keeps a reference a person can find it by (``FILE:LINE``, ``FILE:row N``,
``person 42``) and its position in the whole input, which orders every output. Nothing is held
whole: each input is read as it is consumed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import count
from pathlib import Path

from alscare.cli.batch import numbered_lines
from alscare.errors import AlscareError

__all__ = ["InputError", "SourceItem", "record_count", "source_items"]

# Parquet rows are read this many at a time.
_PARQUET_BATCH = 1024
_RECORD_COLUMN = "record"


class InputError(AlscareError):
    """An input that cannot be read at all (not a bad record in it: those are reported)."""


@dataclass(frozen=True, slots=True)
class SourceItem:
    """One record as read: its position in the input, its reference, its JSON bytes (None when
    the source could not make a record of it) and what the source could not map (OMOP)."""

    index: int
    ref: str
    data: bytes | None
    notes: tuple[str, ...] = ()


def source_items(inputs: Sequence[str]) -> Iterator[SourceItem]:
    """Every record of every input, in order."""
    positions = count()
    for source in inputs:
        for ref, data, notes in _read(source):
            yield SourceItem(next(positions), ref, data, notes)


def record_count(inputs: Sequence[str]) -> int | None:
    """How many records the inputs hold, where that is cheap to know before reading them (the
    non-blank lines of a file, a Parquet file's row count); None for a database."""
    total = 0
    for source in inputs:
        path = Path(source)
        if not path.is_file():
            return None
        if path.suffix.lower() == ".parquet":
            total += _parquet_rows(path)
        else:
            total += sum(1 for _ in numbered_lines(source))
    return total


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: not a Parquet file ({error})") from None


_Read = tuple[str, bytes | None, tuple[str, ...]]


def _read(source: str) -> Iterator[_Read]:
    # imported here: DuckDB loads only for an OMOP input, Spark only for a lake table
    from alscare.cohort import omop, spark

    if spark.is_lake_source(source):
        return spark.lake_records(source)
    if omop.is_omop_source(source):
        return _omop(source)
    path = Path(source)
    if not path.is_file():
        raise InputError(f"{source}: no such file (and not an OMOP CDM database)")
    if path.suffix.lower() == ".parquet":
        return _parquet(path)
    return ((f"{source}:{number}", raw, ()) for number, raw in numbered_lines(source))


def _parquet(path: Path) -> Iterator[_Read]:
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(path)
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: not a Parquet file ({error})") from None
    if _RECORD_COLUMN not in table.schema_arrow.names:
        raise InputError(f"{path}: no '{_RECORD_COLUMN}' column with each record's JSON")
    rows = count(1)
    for batch in table.iter_batches(_PARQUET_BATCH, columns=[_RECORD_COLUMN]):
        for text in batch.column(0).to_pylist():
            ref = f"{path}:row {next(rows)}"
            yield ref, None if text is None else str(text).encode("utf-8"), ()


def _omop(source: str) -> Iterator[_Read]:
    from alscare.cohort.omop import omop_records

    for item in omop_records(source):
        data = None if item.record is None else json.dumps(item.record).encode("utf-8")
        yield item.ref, data, tuple(item.problems)
