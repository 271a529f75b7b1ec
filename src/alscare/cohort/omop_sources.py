"""The OMOP CDM sources: a DuckDB file, a directory of CSV or Parquet tables read by DuckDB in
this process, or a PostgreSQL database, and their tables streamed person by person.

Each table the mapping reads is queried once, ordered by person_id, its concepts joined with
their vocabulary, code and name; the queries are merged person by person, so that memory holds
one person's rows and the fetch buffers, whatever the size of the database. What the rows mean
is :mod:`alscare.cohort.omop`'s.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from alscare.errors import AlscareError

if TYPE_CHECKING:
    import duckdb
    from sqlalchemy import Connection, Engine

__all__ = ["OmopError", "PersonRows", "is_omop_source", "read_persons"]

# Rows are fetched this many at a time from each table.
_BATCH: Final = 2048


class OmopError(AlscareError, ValueError):
    """A source that cannot be read as an OMOP CDM at all (not a person in it: what a person's
    rows do not map is reported with the person)."""


@dataclass(frozen=True, slots=True)
class PersonRows:
    """The rows of one person_id: its person row and its rows of each clinical table the CDM
    holds, by table; or, without a usable person row (``person`` None), why what the tables
    hold of it is not read."""

    person_id: int | None
    person: dict[str, Any] | None
    rows: dict[str, list[dict[str, Any]]]
    unread: str = ""


def is_omop_source(text: str) -> bool:
    """Whether an input names an OMOP CDM: a PostgreSQL URL, a DuckDB file by its suffix, or a
    directory holding a person table."""
    if _is_postgres_url(text):
        return True
    path = Path(text)
    if path.suffix.lower() in _DUCKDB_SUFFIXES:
        return True
    return path.is_dir() and bool(_table_files(path, "person"))


def read_persons(source: str, schema: str | None) -> Generator[PersonRows, None, None]:
    """Every person_id of the CDM in person_id order (nulls last), a person_id without a usable
    person row included. ``schema`` names the CDM's schema in a DuckDB file or a PostgreSQL
    database.

    Raises OmopError at once when the source cannot be opened or lacks the person or concept
    table; the rows are read as the generator is consumed, and the source is closed when it
    ends or is closed.
    """
    database = _open(source, schema)
    try:
        queries = _queries(database)
    except BaseException:
        database.close()
        raise
    return _merged(database, queries)


# --- the tables read -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Column:
    role: str
    name: str
    type: str
    required: bool = False
    concept: bool = False


@dataclass(frozen=True, slots=True)
class _Table:
    name: str
    columns: tuple[_Column, ...]


def _clinical(
    name: str, date: str, row_id: str | None, concept: str | None, *rest: _Column
) -> _Table:
    """A clinical table: person_id, date and row id first (the order its rows are sorted in),
    then its concept and source concept (``{concept}_concept_id``, ...), then the rest."""
    columns = [_Column("person_id", "person_id", "BIGINT", True), _Column("date", date, "DATE")]
    if row_id is not None:
        columns.append(_Column("id", row_id, "BIGINT", True))
    if concept is not None:
        columns.append(_Column("concept", f"{concept}_concept_id", "BIGINT", True, True))
        columns.append(_Column("source", f"{concept}_source_concept_id", "BIGINT", False, True))
    return _Table(name, (*columns, *rest))


_PERSON: Final = _Table(
    "person",
    (
        _Column("person_id", "person_id", "BIGINT", True),
        _Column("gender", "gender_concept_id", "BIGINT"),
        _Column("year", "year_of_birth", "BIGINT"),
        _Column("month", "month_of_birth", "BIGINT"),
        _Column("day", "day_of_birth", "BIGINT"),
        _Column("birth", "birth_datetime", "TIMESTAMP"),
    ),
)
_CONCEPT: Final = _Table(
    "concept",
    (
        _Column("id", "concept_id", "BIGINT", True),
        _Column("name", "concept_name", "VARCHAR"),
        _Column("vocabulary", "vocabulary_id", "VARCHAR", True),
        _Column("code", "concept_code", "VARCHAR", True),
    ),
)
_CLINICAL: Final = (
    _clinical(
        "condition_occurrence", "condition_start_date", "condition_occurrence_id", "condition"
    ),
    _clinical(
        "measurement",
        "measurement_date",
        "measurement_id",
        "measurement",
        _Column("operator", "operator_concept_id", "BIGINT"),
        _Column("number", "value_as_number", "DOUBLE"),
        _Column("value", "value_as_concept_id", "BIGINT", False, True),
        _Column("unit", "unit_concept_id", "BIGINT", False, True),
        _Column("low", "range_low", "DOUBLE"),
        _Column("high", "range_high", "DOUBLE"),
    ),
    _clinical(
        "observation",
        "observation_date",
        "observation_id",
        "observation",
        _Column("number", "value_as_number", "DOUBLE"),
        _Column("text", "value_as_string", "VARCHAR"),
        _Column("value", "value_as_concept_id", "BIGINT", False, True),
        _Column("unit", "unit_concept_id", "BIGINT", False, True),
    ),
    _clinical(
        "drug_exposure",
        "drug_exposure_start_date",
        "drug_exposure_id",
        "drug",
        _Column("end", "drug_exposure_end_date", "DATE"),
        _Column("stop_reason", "stop_reason", "VARCHAR"),
    ),
    _clinical(
        "procedure_occurrence",
        "procedure_date",
        "procedure_occurrence_id",
        "procedure",
        _Column("end", "procedure_end_date", "DATE"),
    ),
    _clinical("death", "death_date", None, None),
)
_TABLES: Final = (_PERSON, _CONCEPT, *_CLINICAL)
_REQUIRED_TABLES: Final = ("person", "concept")
_SQL_TYPES: Final = {
    "BIGINT": "BIGINT",
    "DOUBLE": "DOUBLE PRECISION",
    "VARCHAR": "VARCHAR",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
}


# --- sources ---------------------------------------------------------------------------------

_DUCKDB_SUFFIXES: Final = (".duckdb", ".db")
_POSTGRES_SCHEMES: Final = ("postgresql://", "postgresql+psycopg://", "postgres://")


def _is_postgres_url(text: str) -> bool:
    return text.startswith(_POSTGRES_SCHEMES)


class _Database(Protocol):
    """A CDM as the queries see it: a table's SQL name and columns, a query's rows."""

    def table(self, name: str) -> str: ...

    def columns(self, name: str) -> dict[str, str] | None: ...

    def rows(self, sql: str) -> Iterator[dict[str, Any]]: ...

    def close(self) -> None: ...


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _qualified(schema: str | None, name: str) -> str:
    return _ident(name) if schema is None else f"{_ident(schema)}.{_ident(name)}"


def _columns_sql(schema: str | None, table: str) -> str:
    where = _literal(schema) if schema is not None else "current_schema()"
    return (
        "SELECT column_name FROM information_schema.columns "
        f"WHERE table_schema = {where} AND table_name = {_literal(table)}"
    )


def _named(found: Iterable[Sequence[Any]]) -> dict[str, str] | None:
    """Column names by their lower case (a CSV header may be upper case); None: no table."""
    return {str(row[0]).lower(): str(row[0]) for row in found} or None


class _DuckDb:
    """A DuckDB database: a file, or one in memory whose views read a directory's files."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, schema: str | None) -> None:
        self.connection = connection
        self.schema = schema
        self.cursors: list[duckdb.DuckDBPyConnection] = []
        found = connection.execute("SELECT current_database()").fetchone()
        self.catalog = str(found[0]) if found else ""

    def table(self, name: str) -> str:
        # with its catalog: a schema named as the file (cdm in cdm.duckdb) is ambiguous
        return f"{_ident(self.catalog)}.{_qualified(self.schema, name)}"

    def columns(self, name: str) -> dict[str, str] | None:
        sql = f"{_columns_sql(self.schema, name)} AND table_catalog = {_literal(self.catalog)}"
        return _named(self.connection.execute(sql).fetchall())

    def rows(self, sql: str) -> Iterator[dict[str, Any]]:
        # each query streams from a cursor of its own: the merge reads them side by side
        cursor = self.connection.cursor()
        self.cursors.append(cursor)
        for batch in cursor.sql(sql).to_arrow_reader(_BATCH):
            yield from batch.to_pylist()

    def close(self) -> None:
        for cursor in self.cursors:
            cursor.close()
        self.connection.close()


class _Postgres:
    def __init__(self, engine: Engine, connection: Connection, schema: str | None) -> None:
        self.engine = engine
        self.connection = connection
        self.schema = schema

    def table(self, name: str) -> str:
        return _qualified(self.schema, name)

    def columns(self, name: str) -> dict[str, str] | None:
        return _named(self.connection.exec_driver_sql(_columns_sql(self.schema, name)))

    def rows(self, sql: str) -> Iterator[dict[str, Any]]:
        # a server-side cursor per query: PostgreSQL sends the rows as they are read
        streamed = self.connection.execution_options(stream_results=True, yield_per=_BATCH)
        for row in streamed.exec_driver_sql(sql).mappings():
            yield dict(row)

    def close(self) -> None:
        self.connection.close()
        self.engine.dispose()


def _open(source: str, schema: str | None) -> _Database:
    if _is_postgres_url(source):
        return _open_postgres(source, schema)
    path = Path(source)
    if path.is_dir():
        return _open_directory(path)
    if not path.is_file():
        raise OmopError(f"{source}: no such DuckDB file or directory of OMOP tables")
    import duckdb

    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise OmopError(f"{source}: not a DuckDB database ({_first_line(error)})") from None
    return _DuckDb(connection, schema)


def _open_postgres(url: str, schema: str | None) -> _Database:
    from sqlalchemy import create_engine, make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError
    from sqlalchemy.pool import NullPool

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise OmopError(f"{url}: not a database URL") from None
    parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(parsed, poolclass=NullPool)
    try:
        connection = engine.connect()
    except SQLAlchemyError as error:
        engine.dispose()
        shown = parsed.render_as_string(hide_password=True)
        raise OmopError(f"{shown}: cannot connect ({_first_line(error)})") from None
    return _Postgres(engine, connection, schema)


def _first_line(error: BaseException) -> str:
    return " ".join(str(error).split("\n", 1)[0].split())


def _open_directory(path: Path) -> _Database:
    """A DuckDB in memory whose views read the directory's tables, typed as the CDM types them
    (a CSV is read as text and each column cast: a malformed value becomes null)."""
    import duckdb

    database = _DuckDb(duckdb.connect(), None)
    try:
        for table in _TABLES:
            _create_view(database.connection, path, table)
    except BaseException:
        database.close()
        raise
    return database


def _table_files(folder: Path, table: str) -> list[tuple[str, Path]]:
    """The files that hold a table: ``T.parquet``, ``T.csv`` (``T.csv.gz``), or a folder ``T/``
    of Parquet or CSV files."""
    found = [
        (kind, folder / f"{table}{suffix}")
        for suffix, kind in ((".parquet", "parquet"), (".csv", "csv"), (".csv.gz", "csv"))
        if (folder / f"{table}{suffix}").is_file()
    ]
    inner = folder / table
    if inner.is_dir():
        for kind in ("parquet", "csv"):
            if any(inner.glob(f"*.{kind}")):
                found.append((kind, inner / f"*.{kind}"))
    return found


def _create_view(connection: duckdb.DuckDBPyConnection, folder: Path, table: _Table) -> None:
    import duckdb

    files = _table_files(folder, table.name)
    if not files:
        return
    if len(files) > 1:
        names = ", ".join(str(path.relative_to(folder)) for _, path in files)
        raise OmopError(f"{folder}: table {table.name} is held by more than one file ({names})")
    kind, path = files[0]
    reader = (
        f"read_parquet({_literal(str(path))})"
        if kind == "parquet"
        else f"read_csv({_literal(str(path))}, header = true, all_varchar = true)"
    )
    try:
        given = _named(connection.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()) or {}
    except duckdb.Error as error:
        raise OmopError(f"{path}: not a readable {kind} table ({_first_line(error)})") from None
    # trim() keeps DuckDB from pushing the cast into the CSV reader, which refuses a bad value
    casts = [
        f"TRY_CAST(trim(CAST({_ident(given[c.name])} AS VARCHAR)) AS {_SQL_TYPES[c.type]}) "
        f"AS {_ident(c.name)}"
        for c in table.columns
        if c.name in given
    ]
    if not casts:
        raise OmopError(f"{path}: holds none of the columns of the CDM's {table.name} table")
    view = f"CREATE VIEW {_ident(table.name)} AS SELECT {', '.join(casts)} FROM {reader}"
    connection.execute(view)


# --- queries ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Queries:
    person: str
    clinical: dict[str, str]


def _queries(database: _Database) -> _Queries:
    """The query of the person table and of each clinical table the CDM holds (a table it
    does not hold has no rows); raises OmopError for a missing required table or column."""
    columns = {table.name: database.columns(table.name) for table in _TABLES}
    missing = [name for name in _REQUIRED_TABLES if columns[name] is None]
    if missing:
        raise OmopError(f"the CDM has no {' and no '.join(missing)} table")
    for table in _TABLES:
        given = columns[table.name] or {}
        absent = [c.name for c in table.columns if c.required and given and c.name not in given]
        if absent:
            raise OmopError(f"the CDM's {table.name} table has no column {', '.join(absent)}")
    clinical = {
        table.name: _select(database, table, found)
        for table in _CLINICAL
        if (found := columns[table.name]) is not None
    }
    return _Queries(_select(database, _PERSON, columns["person"] or {}), clinical)


def _select(database: _Database, table: _Table, given: Mapping[str, str]) -> str:
    """A table's query: each column by its role (null when the table lacks it), each concept
    with its vocabulary, code and name, sorted by person_id (nulls last), date and row id."""
    items: list[str] = []
    joins: list[str] = []
    for number, column in enumerate(table.columns):
        value = f"t.{_ident(given[column.name])}" if column.name in given else "NULL"
        read = "DATE" if column.type == "TIMESTAMP" else _SQL_TYPES[column.type]
        items.append(f"CAST({value} AS {read}) AS {_ident(column.role)}")
        if column.concept:
            alias = f"c{number}"
            if column.name in given:
                concept = database.table("concept")
                joins.append(f"LEFT JOIN {concept} AS {alias} ON {alias}.concept_id = {value}")
            for part in ("vocabulary_id", "concept_code", "concept_name"):
                known = f"{alias}.{part}" if column.name in given else "NULL"
                items.append(f"CAST({known} AS VARCHAR) AS {_ident(f'{column.role}.{part}')}")
    order = ", ".join(f"{i} NULLS LAST" for i in range(1, min(len(table.columns), 3) + 1))
    source = f"{database.table(table.name)} AS t {' '.join(joins)}".rstrip()
    return f"SELECT {', '.join(items)} FROM {source} ORDER BY {order}"


# --- merging the tables person by person -----------------------------------------------------


class _Stream:
    """The rows of one table, read one ahead."""

    def __init__(self, table: str, rows: Iterator[dict[str, Any]]) -> None:
        self.table = table
        self._rows = rows
        self.head = next(rows, None)

    def head_order(self) -> tuple[bool, int] | None:
        return None if self.head is None else _order(self.head["person_id"])

    def take(self, person_id: int | None) -> list[dict[str, Any]]:
        taken = []
        while self.head is not None and self.head["person_id"] == person_id:
            taken.append(self.head)
            self.head = next(self._rows, None)
        return taken


def _order(person_id: int | None) -> tuple[bool, int]:
    """person_id order, nulls last, as the queries sort."""
    return (person_id is None, person_id or 0)


def _merged(database: _Database, queries: _Queries) -> Generator[PersonRows, None, None]:
    try:
        streams = [_Stream(name, database.rows(sql)) for name, sql in queries.clinical.items()]
        previous: int | None = None
        for person in database.rows(queries.person):
            person_id = person["person_id"]
            yield from _orphans(streams, before=_order(person_id))
            if person_id is None or person_id == previous:
                yield _unusable_person(person_id)
                continue
            previous = person_id
            yield PersonRows(person_id, person, {s.table: s.take(person_id) for s in streams})
        yield from _orphans(streams, before=None)
    finally:
        database.close()


def _orphans(streams: list[_Stream], before: tuple[bool, int] | None) -> Iterator[PersonRows]:
    """Each person_id before ``before`` that rows refer to and no person row has."""
    while True:
        heads = [order for stream in streams if (order := stream.head_order()) is not None]
        if not heads or (before is not None and min(heads) >= before):
            return
        missing_null, number = min(heads)
        person_id = None if missing_null else number
        counts = {stream.table: len(stream.take(person_id)) for stream in streams}
        held = ", ".join(f"{_count(n, 'row')} of {table}" for table, n in counts.items() if n)
        problem = f"no person row has this person_id: its {held} are not read"
        yield PersonRows(person_id, None, {}, problem)


def _unusable_person(person_id: int | None) -> PersonRows:
    reason = "a person row without a person_id" if person_id is None else "a second person row"
    return PersonRows(person_id, None, {}, f"{reason}: not read")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
