"""``alscare validate``, ``schema``, ``upgrade`` and ``assess``: records in, records and
assessments out.

Records of both versions are read: ``alscare.patient/v1`` (or no ``schema``, as release 1 wrote
them) is validated and upgraded to v2 on read, ``alscare.patient/v2`` validated.

Exit codes: 0 when every record was read (and assessed); 2 when any input was invalid (malformed
JSON, a record that fails validation, an unreadable file, a bad option), reported on stderr as
one line per problem (``FILE: /json/pointer: reason``, or ``FILE:LINE: ...`` for JSON Lines)
while the other records go on; 1 when the knowledge base is invalid, an output cannot be written
or assessing a record failed unexpectedly (a bug, reported in one line, never a traceback).

* ``validate`` prints one verdict per file on stdout, naming the schema the document was read
  as; its problems go to stderr.
* ``schema patient`` prints the JSON Schema of record v2 (``--version 1``: v1); ``schema
  assessment`` that of the assessment v1.
* ``upgrade`` prints each record as canonical v2 JSON (``PatientRecord.to_json_dict()``, two-space
  indent, keys in the model's order, final newline), one document per file; a v2 record comes
  out in the same canonical form. ``-o FILE`` writes the one record given to a file instead.
* ``assess --format json`` (default): each record's assessment as ``Assessment.to_json()``, the
  canonical alscare.assessment/v1 text, one document per file in the order given (so the output
  of ``assess a.json b.json`` is that of ``assess a.json`` followed by that of ``assess b.json``,
  a stream of JSON documents as ``jq`` reads it); ``--jsonl FILE``: one record per line in, one
  assessment per line out (``Assessment.to_json_line()``), blank lines skipped, bad lines
  reported by line number, on ``--jobs`` worker processes with the same output bytes as one;
  ``--format text``: the assessment rendered for a clinician (``cli/render.py``).

``-`` as a file name reads standard input.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from alscare.cli.app import app
from alscare.cli.batch import (
    LineJob,
    LineResult,
    numbered_lines,
    results_in_order,
    usable_cores,
)
from alscare.cli.dates import parse_as_of
from alscare.cli.inputs import (
    Fault,
    Outcome,
    assessed,
    declared_schema,
    read_bytes,
    read_record,
    unchanged,
)
from alscare.cli.outputs import knowledge, reader_gone, record_json, write_file, write_out
from alscare.cli.render import render_assessment
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import ASSESSMENT_SCHEMA, Assessment
from alscare.schemas.patient import PATIENT_SCHEMA, PatientRecord
from alscare.schemas.patient_v1 import PATIENT_SCHEMA_V1, PatientRecordV1
from alscare.schemas.records import SCHEMAS

__all__ = [
    "OutputFormat",
    "SchemaName",
    "assess",
    "load_record",
    "schema",
    "upgrade",
    "validate",
]

_RECORD_FILES = "Patient record files (JSON, alscare.patient/v1 or v2); - is stdin."


class OutputFormat(StrEnum):
    """How ``assess`` prints an assessment."""

    JSON = "json"
    TEXT = "text"


class SchemaName(StrEnum):
    """The documents ``schema`` can describe."""

    PATIENT = "patient"
    ASSESSMENT = "assessment"


def load_record(path: str, outcome: Outcome) -> PatientRecord | None:
    """The record in a file, or None with its problems reported."""
    data = read_bytes(path)
    if isinstance(data, Fault):
        outcome.report([data])
        return None
    read = read_record(data, path)
    outcome.report(read.faults)
    return read.record


# --- validate ------------------------------------------------------------------------------


@app.command()
def validate(
    records: Annotated[list[str], typer.Argument(help=_RECORD_FILES)],
) -> None:
    """Check patient records (v1 or v2): one verdict per file, naming the schema read.

    Each problem of an invalid record is one line on stderr (JSON pointer and reason), and the
    exit code is 2.
    """
    outcome = Outcome()
    for path in records:
        data = read_bytes(path)
        if isinstance(data, Fault):
            outcome.report([data])
            typer.echo(f"{path}: invalid: the file cannot be read")
            continue
        read = read_record(data, path)
        outcome.report(read.faults)
        typer.echo(f"{path}: {_verdict(read.record, len(read.faults), declared_schema(data))}")
    raise typer.Exit(outcome.code)


def _verdict(record: PatientRecord | None, problems: int, schema: str | None) -> str:
    if record is not None:
        upgraded = f", upgraded to {PATIENT_SCHEMA} on read" if schema == PATIENT_SCHEMA_V1 else ""
        return f"valid record {record.id} ({schema}{upgraded})"
    counted = f"{problems} problem{'' if problems == 1 else 's'}"
    if schema is None:  # not JSON, not an object, or a schema alscare does not know
        return f"invalid: not read as {' or '.join(SCHEMAS)} ({counted})"
    return f"invalid {schema} record ({counted})"


# --- schema --------------------------------------------------------------------------------


@app.command()
def schema(
    name: Annotated[SchemaName, typer.Argument(help="patient (record) or assessment.")],
    version: Annotated[
        int | None,
        typer.Option(
            "--version",
            help="patient: 2 (default) or 1; assessment: 1.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the JSON Schema of the patient record (v2, or v1) or of the assessment (v1)."""
    document = _schema_document(name, version)
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _schema_document(name: SchemaName, version: int | None) -> dict[str, Any]:
    if name is SchemaName.ASSESSMENT:
        if version not in (None, 1):
            raise typer.BadParameter(
                f"the assessment has one version, 1 ({ASSESSMENT_SCHEMA})", param_hint="'--version'"
            )
        return Assessment.model_json_schema(by_alias=True, mode="serialization")
    if version in (None, 2):
        return PatientRecord.model_json_schema(by_alias=True, mode="validation")
    if version == 1:
        return PatientRecordV1.model_json_schema(by_alias=True, mode="validation")
    raise typer.BadParameter(
        f"the patient record has versions 1 ({PATIENT_SCHEMA_V1}) and 2 ({PATIENT_SCHEMA})",
        param_hint="'--version'",
    )


# --- upgrade -------------------------------------------------------------------------------


@app.command()
def upgrade(
    records: Annotated[list[str], typer.Argument(help=_RECORD_FILES)],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write the one record given to this file."),
    ] = None,
) -> None:
    """Print each record as a record v2 (canonical JSON); a v2 record is printed as it is.

    Invalid records are reported on stderr (exit code 2) while the others are printed; with -o
    nothing is written unless the record is valid.
    """
    if output is not None and len(records) != 1:
        raise typer.BadParameter("-o takes one record file", param_hint="'-o'")
    outcome = Outcome()
    for path in records:
        record = load_record(path, outcome)
        if record is None:
            continue
        if output is None:
            write_out(record_json(record), outcome.code)
        else:
            write_file(output, record_json(record))
            typer.echo(f"wrote {output}")
    raise typer.Exit(outcome.code)


# --- assess --------------------------------------------------------------------------------


class _Console(Console):
    """rich's console, leaving a broken pipe to ``assess`` as the JSON output does (rich would
    exit with code 1 on its own)."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError


class _Printer:
    """Writes assessments and reports faults in the chosen format; a closed pipe ends the run
    quietly."""

    def __init__(self, output: OutputFormat, kb: KnowledgeBase, outcome: Outcome) -> None:
        self.output = output
        self.kb = kb
        self.outcome = outcome
        self.console = _Console()

    def document(self, assessment: Assessment | str) -> None:
        """One assessment: rendered text, or its serialised JSON as given."""
        if isinstance(assessment, Assessment):
            self.console.print(render_assessment(assessment, self.kb))
        else:
            sys.stdout.write(assessment)
        sys.stdout.flush()

    def line(self, result: LineResult) -> None:
        self.outcome.report(result.faults)
        if result.assessment is not None:
            self.document(result.assessment)
        elif result.line is not None:
            self.document(result.line + "\n")


def _assess_files(paths: list[str], as_of: dt.date, printer: _Printer) -> None:
    text = printer.output is OutputFormat.TEXT
    outcome = printer.outcome
    for path in paths:
        record = load_record(path, outcome)
        if record is None:
            continue
        done: Assessment | str | Fault = (
            assessed(record, as_of, printer.kb, path, unchanged)
            if text
            else assessed(record, as_of, printer.kb, path, Assessment.to_json)
        )
        if isinstance(done, Fault):
            outcome.report([done])
        else:
            printer.document(done)


def _assess_jsonl(path: str, as_of: dt.date, printer: _Printer, workers: int) -> None:
    job = LineJob(path, as_of, text=printer.output is OutputFormat.TEXT)
    results = results_in_order(job, numbered_lines(path), printer.kb, workers)
    try:
        with contextlib.closing(results):  # on a closed pipe too: that ends the workers
            for result in results:
                printer.line(result)
    except BrokenPipeError:
        raise
    except OSError as error:
        printer.outcome.report([Fault(path, f"cannot read the file: {error.strerror or error}")])


@app.command()
def assess(
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of",
            help="Assessment date, YYYY-MM-DD (or 'today'); entries after it are ignored.",
        ),
    ],
    records: Annotated[list[str] | None, typer.Argument(help=_RECORD_FILES)] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="json (assessment v1) or text.")
    ] = OutputFormat.JSON,
    jsonl: Annotated[
        str | None,
        typer.Option("--jsonl", help="JSON Lines file: one record per line, one assessment out."),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            min=0,
            help="With --jsonl: worker processes (0: every CPU this process may use).",
        ),
    ] = 1,
) -> None:
    """Assess patient records on a date.

    JSON output is the canonical assessment v1 text, one document per file in the order given
    (a stream of documents, each ending in a newline); with --jsonl, one assessment per line,
    in input order whatever --jobs is. Invalid records are reported on stderr (exit code 2)
    while the others are assessed.
    """
    if bool(records) == (jsonl is not None):
        raise typer.BadParameter("give record files or --jsonl FILE (one of the two)")
    if jobs != 1 and jsonl is None:
        raise typer.BadParameter("--jobs needs --jsonl FILE", param_hint="'--jobs'")
    date = parse_as_of(as_of)
    outcome = Outcome()
    printer = _Printer(output, knowledge(), outcome)
    try:
        if jsonl is not None:
            _assess_jsonl(jsonl, date, printer, jobs or usable_cores())
        else:
            _assess_files(records or [], date, printer)
    except BrokenPipeError:
        reader_gone(outcome.code)
    raise typer.Exit(outcome.code)
