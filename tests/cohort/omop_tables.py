"""Small OMOP CDM 5.4 databases for tests, and the four ways of storing one.

:class:`Cdm` holds the rows of each table (the columns the tests fill, typed as the CDM 5.4 DDL
types them; the other columns of the DDL are left out, which the OMOP input allows). It is
written as a DuckDB file, a directory of CSV files, a directory of Parquet files (the
measurement table as a folder of two files) or tables of a PostgreSQL schema, each by its own
writer: the DuckDB tables by SQL, the CSV files by the csv module, the Parquet files by
pyarrow, PostgreSQL by psycopg.

The concept_ids are the tests' own except OMOP's gender concepts: the mapping reads concepts
by vocabulary and code, never by id.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

# The DDL of the columns the tests fill: (column, type of the CDM 5.4 PostgreSQL DDL).
DDL: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "person": (
        ("person_id", "integer"),
        ("gender_concept_id", "integer"),
        ("year_of_birth", "integer"),
        ("month_of_birth", "integer"),
        ("day_of_birth", "integer"),
        ("birth_datetime", "timestamp"),
        ("race_concept_id", "integer"),
        ("ethnicity_concept_id", "integer"),
        ("person_source_value", "varchar(50)"),
    ),
    "concept": (
        ("concept_id", "integer"),
        ("concept_name", "varchar(255)"),
        ("domain_id", "varchar(20)"),
        ("vocabulary_id", "varchar(20)"),
        ("concept_class_id", "varchar(20)"),
        ("standard_concept", "varchar(1)"),
        ("concept_code", "varchar(50)"),
        ("valid_start_date", "date"),
        ("valid_end_date", "date"),
    ),
    "condition_occurrence": (
        ("condition_occurrence_id", "integer"),
        ("person_id", "integer"),
        ("condition_concept_id", "integer"),
        ("condition_start_date", "date"),
        ("condition_type_concept_id", "integer"),
        ("condition_source_concept_id", "integer"),
    ),
    "measurement": (
        ("measurement_id", "integer"),
        ("person_id", "integer"),
        ("measurement_concept_id", "integer"),
        ("measurement_date", "date"),
        ("measurement_type_concept_id", "integer"),
        ("operator_concept_id", "integer"),
        ("value_as_number", "numeric"),
        ("value_as_concept_id", "integer"),
        ("unit_concept_id", "integer"),
        ("range_low", "numeric"),
        ("range_high", "numeric"),
        ("measurement_source_concept_id", "integer"),
    ),
    "observation": (
        ("observation_id", "integer"),
        ("person_id", "integer"),
        ("observation_concept_id", "integer"),
        ("observation_date", "date"),
        ("observation_type_concept_id", "integer"),
        ("value_as_number", "numeric"),
        ("value_as_string", "varchar(60)"),
        ("value_as_concept_id", "integer"),
        ("unit_concept_id", "integer"),
        ("observation_source_concept_id", "integer"),
    ),
    "drug_exposure": (
        ("drug_exposure_id", "integer"),
        ("person_id", "integer"),
        ("drug_concept_id", "integer"),
        ("drug_exposure_start_date", "date"),
        ("drug_exposure_end_date", "date"),
        ("drug_type_concept_id", "integer"),
        ("stop_reason", "varchar(20)"),
        ("drug_source_concept_id", "integer"),
    ),
    "procedure_occurrence": (
        ("procedure_occurrence_id", "integer"),
        ("person_id", "integer"),
        ("procedure_concept_id", "integer"),
        ("procedure_date", "date"),
        ("procedure_end_date", "date"),
        ("procedure_type_concept_id", "integer"),
        ("procedure_source_concept_id", "integer"),
    ),
    "death": (
        ("person_id", "integer"),
        ("death_date", "date"),
        ("death_type_concept_id", "integer"),
    ),
}
#: OMOP's type concept "EHR", in the type columns the CDM requires (the mapping reads none).
EHR: Final = 32817
_TYPE_COLUMNS: Final = {
    "person": {"race_concept_id": 0, "ethnicity_concept_id": 0},
    "condition_occurrence": {"condition_type_concept_id": EHR},
    "measurement": {"measurement_type_concept_id": EHR},
    "observation": {"observation_type_concept_id": EHR},
    "drug_exposure": {"drug_type_concept_id": EHR},
    "procedure_occurrence": {"procedure_type_concept_id": EHR},
    "death": {"death_type_concept_id": EHR},
}


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@dataclass
class Cdm:
    """The rows of a CDM by table; each row a dict of some of the DDL's columns."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {t: [] for t in DDL})
    _next_concept: int = 2_000_000_001

    def add(self, table: str, **row: Any) -> None:
        self.rows[table].append({**_TYPE_COLUMNS.get(table, {}), **row})

    def concept(
        self, concept_id: int, vocabulary: str, code: str, name: str, domain: str = "Measurement"
    ) -> int:
        self.add(
            "concept",
            concept_id=concept_id,
            concept_name=name,
            domain_id=domain,
            vocabulary_id=vocabulary,
            concept_class_id="Test",
            standard_concept="S" if vocabulary != "alscare" else None,
            concept_code=code,
            valid_start_date=day("2000-01-01"),
            valid_end_date=day("2099-12-31"),
        )
        return concept_id

    def local(self, code: str, domain: str = "Observation") -> int:
        """An alscare local concept (concept_id from 2000000000 up)."""
        concept_id = self._next_concept
        self._next_concept += 1
        return self.concept(concept_id, "alscare", code, code, domain)

    def values(self, table: str) -> list[tuple[Any, ...]]:
        """The table's rows as tuples of every DDL column (None where not given)."""
        columns = [name for name, _ in DDL[table]]
        return [tuple(row.get(name) for name in columns) for row in self.rows[table]]


def _columns(table: str) -> list[str]:
    return [name for name, _ in DDL[table]]


def write_duckdb(cdm: Cdm, path: Path, schema: str = "main") -> None:
    import duckdb

    connection = duckdb.connect(str(path))
    try:
        if schema != "main":
            connection.execute(f'CREATE SCHEMA "{path.stem}"."{schema}"')
        for table, columns in DDL.items():
            typed = ", ".join(f"{name} {kind}" for name, kind in columns)
            connection.execute(f'CREATE TABLE "{path.stem}"."{schema}"."{table}" ({typed})')
            rows = cdm.values(table)
            if rows:
                marks = ", ".join("?" for _ in columns)
                connection.executemany(
                    f'INSERT INTO "{path.stem}"."{schema}"."{table}" VALUES ({marks})', rows
                )
    finally:
        connection.close()


def write_csv(cdm: Cdm, folder: Path, *, upper: bool = False) -> None:
    """One CSV file per table; ``upper``: the header in upper case, as some exports write it."""
    folder.mkdir(parents=True, exist_ok=True)
    for table in DDL:
        with (folder / f"{table}.csv").open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow([name.upper() if upper else name for name in _columns(table)])
            for row in cdm.values(table):
                writer.writerow(["" if value is None else _csv_value(value) for value in row])


def _csv_value(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def write_parquet(cdm: Cdm, folder: Path) -> None:
    """One Parquet file per table; the measurement table as a folder of two files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = {
        "integer": pa.int32(),
        "numeric": pa.float64(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("s"),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for table, columns in DDL.items():
        schema = pa.schema([(name, kinds.get(kind, pa.string())) for name, kind in columns])
        rows = cdm.values(table)
        data = pa.table(
            {name: [row[i] for row in rows] for i, (name, _) in enumerate(columns)}, schema=schema
        )
        if table == "measurement":
            (folder / table).mkdir()
            half = data.num_rows // 2
            pq.write_table(data.slice(0, half), folder / table / "part-0.parquet")
            pq.write_table(data.slice(half), folder / table / "part-1.parquet")
        else:
            pq.write_table(data, folder / f"{table}.parquet")


def write_postgres(cdm: Cdm, url: str) -> None:
    """The tables in the schema the URL's search_path names."""
    from sqlalchemy import create_engine, make_url, text

    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    try:
        with engine.begin() as connection:
            for table, columns in DDL.items():
                typed = ", ".join(f"{name} {kind}" for name, kind in columns)
                connection.execute(text(f"CREATE TABLE {table} ({typed})"))
                rows = [dict(zip(_columns(table), row, strict=True)) for row in cdm.values(table)]
                if rows:
                    marks = ", ".join(f":{name}" for name in _columns(table))
                    connection.execute(text(f"INSERT INTO {table} VALUES ({marks})"), rows)
    finally:
        engine.dispose()
