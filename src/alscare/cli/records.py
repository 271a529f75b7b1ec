"""``alscare validate``, ``alscare schema`` and ``alscare assess``: records in, assessments out.

Exit codes: 0 when every record was read and assessed; 2 when any input was invalid (malformed
JSON, a record that fails validation, an unreadable file, a bad option), reported on stderr as
one line per problem (``FILE: /json/pointer: reason``, or ``FILE:LINE: ...`` for JSON Lines)
while the other records go on; 1 when the knowledge base is invalid or assessing a record failed
unexpectedly (a bug, reported in one line, never a traceback).

Output of ``assess``:

* ``--format json`` (default): each record's assessment as ``Assessment.to_json()``, the
  canonical alscare.assessment/v1 text, in the order the files were given. One file gives
  exactly that document; several files give one document per file, each ending in a newline,
  so the output of ``assess a.json b.json`` is the output of ``assess a.json`` followed by that
  of ``assess b.json`` (a stream of JSON documents, as ``jq`` reads it).
* ``--jsonl FILE``: one record per line in, one assessment per line out
  (``Assessment.to_json_line()``); blank lines are skipped, bad lines reported by line number.
* ``--format text``: the whole assessment rendered for a clinician (``cli/render.py``).

``-`` as a file name reads standard input.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from alscare.cli.app import app
from alscare.cli.dates import parse_as_of
from alscare.cli.render import render_assessment
from alscare.engine import assess as assess_record
from alscare.errors import AlscareError, Problem, RecordError
from alscare.knowledge import KnowledgeBase, default_knowledge
from alscare.schemas.assessment import Assessment
from alscare.schemas.patient import PatientRecord, parse_record_json

__all__ = ["OutputFormat", "SchemaName", "assess", "schema", "validate"]

INVALID_INPUT = 2
INTERNAL_ERROR = 1


class OutputFormat(StrEnum):
    """How ``assess`` prints an assessment."""

    JSON = "json"
    TEXT = "text"


class SchemaName(StrEnum):
    """The documents ``schema`` can describe."""

    PATIENT = "patient"
    ASSESSMENT = "assessment"


class _Outcome:
    """The exit code of a run over many inputs: the worst problem seen."""

    def __init__(self) -> None:
        self.code = 0

    def fail(self, label: str, message: str, code: int) -> None:
        typer.echo(f"{label}: {message}", err=True)
        self.code = max(self.code, code)

    def problems(self, label: str, error: RecordError) -> None:
        for problem in error.problems:
            self.fail(label, str(problem), INVALID_INPUT)


def _decoded(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RecordError([Problem("", f"not UTF-8 text (byte {error.start})")]) from None


def _parse(data: bytes, label: str, outcome: _Outcome) -> PatientRecord | None:
    """A record from JSON bytes, or None with its problems reported under ``label``."""
    try:
        return parse_record_json(_decoded(data))
    except RecordError as error:
        outcome.problems(label, error)
    except RecursionError:
        outcome.fail(label, "/: malformed JSON: nested too deeply", INVALID_INPUT)
    return None


def _load(path: str, outcome: _Outcome) -> PatientRecord | None:
    """The record in a file (stdin for ``-``), or None with its problems reported."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as error:
        outcome.fail(path, f"cannot read the file: {error.strerror or error}", INVALID_INPUT)
        return None
    return _parse(data, path, outcome)


def _knowledge() -> KnowledgeBase:
    try:
        return default_knowledge()
    except AlscareError as error:
        typer.echo(f"alscare: the knowledge base is invalid: {error}", err=True)
        raise typer.Exit(INTERNAL_ERROR) from None


@app.command()
def validate(
    records: Annotated[
        list[str],
        typer.Argument(help="Patient record files (JSON, alscare.patient/v1); - is stdin."),
    ],
) -> None:
    """Check patient records: one line per problem (JSON pointer and reason), exit code 2."""
    outcome = _Outcome()
    for path in records:
        record = _load(path, outcome)
        if record is not None:
            typer.echo(f"{path}: valid record {record.id}")
    raise typer.Exit(outcome.code)


@app.command()
def schema(
    name: Annotated[SchemaName, typer.Argument(help="patient (record v1) or assessment (v1).")],
) -> None:
    """Print the JSON Schema of the patient record or of the assessment."""
    if name is SchemaName.PATIENT:
        document = PatientRecord.model_json_schema(by_alias=True, mode="validation")
    else:
        document = Assessment.model_json_schema(by_alias=True, mode="serialization")
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _assess_one(
    record: PatientRecord, as_of: dt.date, kb: KnowledgeBase, label: str, outcome: _Outcome
) -> Assessment | None:
    try:
        return assess_record(record, as_of=as_of, kb=kb)
    except Exception as error:  # the adapter's top level: a bug in one record, report, go on
        outcome.fail(label, f"internal error: {type(error).__name__}: {error}", INTERNAL_ERROR)
        return None


def _reader_gone(code: int) -> NoReturn:
    """The reader of our output stopped (``| head``): stop quietly, as Unix tools do, with
    the exit code of what was done so far."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush cannot fail
    raise typer.Exit(code)


class _Printer:
    """Writes assessments in the chosen format; a closed pipe ends the run quietly."""

    def __init__(self, output: OutputFormat, kb: KnowledgeBase, *, lines: bool) -> None:
        self.output = output
        self.kb = kb
        self.lines = lines
        self.console = _Console()

    def __call__(self, assessment: Assessment) -> None:
        if self.output is OutputFormat.TEXT:
            self.console.print(render_assessment(assessment, self.kb))
        elif self.lines:
            sys.stdout.write(assessment.to_json_line() + "\n")
        else:
            sys.stdout.write(assessment.to_json())
        sys.stdout.flush()


class _Console(Console):
    """rich's console, leaving a broken pipe to ``assess`` as the JSON output does (rich would
    exit with code 1 on its own)."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError


def _assess_files(
    paths: list[str], as_of: dt.date, kb: KnowledgeBase, emit: _Printer, outcome: _Outcome
) -> None:
    for path in paths:
        record = _load(path, outcome)
        assessment = None if record is None else _assess_one(record, as_of, kb, path, outcome)
        if assessment is not None:
            emit(assessment)


def _jsonl_lines(path: str) -> Iterator[tuple[int, bytes]]:
    if path == "-":
        yield from enumerate(sys.stdin.buffer, start=1)
        return
    with Path(path).open("rb") as lines:
        yield from enumerate(lines, start=1)


def _assess_jsonl(
    path: str, as_of: dt.date, kb: KnowledgeBase, emit: _Printer, outcome: _Outcome
) -> None:
    try:
        for number, raw in _jsonl_lines(path):
            if not raw.strip():
                continue
            label = f"{path}:{number}"
            record = _parse(raw, label, outcome)
            assessment = None if record is None else _assess_one(record, as_of, kb, label, outcome)
            if assessment is not None:
                emit(assessment)
    except BrokenPipeError:
        raise
    except OSError as error:
        outcome.fail(path, f"cannot read the file: {error.strerror or error}", INVALID_INPUT)


@app.command()
def assess(
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of",
            help="Assessment date, YYYY-MM-DD (or 'today'); entries after it are ignored.",
        ),
    ],
    records: Annotated[
        list[str] | None,
        typer.Argument(help="Patient record files (JSON, alscare.patient/v1); - is stdin."),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="json (assessment v1) or text.")
    ] = OutputFormat.JSON,
    jsonl: Annotated[
        str | None,
        typer.Option("--jsonl", help="JSON Lines file: one record per line, one assessment out."),
    ] = None,
) -> None:
    """Assess patient records on a date.

    JSON output is the canonical assessment v1 text, one document per file in the order given
    (a stream of documents, each ending in a newline); with --jsonl, one assessment per line.
    Invalid records are reported on stderr (exit code 2) while the others are assessed.
    """
    if bool(records) == (jsonl is not None):
        raise typer.BadParameter("give record files or --jsonl FILE (one of the two)")
    date = parse_as_of(as_of)
    kb = _knowledge()
    outcome = _Outcome()
    emit = _Printer(output, kb, lines=jsonl is not None)
    try:
        if jsonl is not None:
            _assess_jsonl(jsonl, date, kb, emit, outcome)
        else:
            _assess_files(records or [], date, kb, emit, outcome)
    except BrokenPipeError:
        _reader_gone(outcome.code)
    raise typer.Exit(outcome.code)
