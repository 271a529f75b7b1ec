"""Reading records for the commands: bytes in, a record (or the faults that stop it) out.

Nothing here writes: every step returns its faults as values, so the same code serves a command
that reports as it goes and a worker process whose results the parent reports in input order.
A fault is one line for stderr, ``LABEL: /json/pointer: reason``, with the exit code it earns.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import typer

from alscare.assessment_dates import FAR_LIMIT, as_of_problem
from alscare.engine import assess
from alscare.errors import Problem, RecordError
from alscare.knowledge import KnowledgeBase
from alscare.schemas.assessment import Assessment
from alscare.schemas.patient import PatientRecord
from alscare.schemas.patient_v1 import PATIENT_SCHEMA_V1
from alscare.schemas.records import SCHEMAS, load_json, parse_record_json

__all__ = [
    "INTERNAL_ERROR",
    "INVALID_INPUT",
    "Fault",
    "Outcome",
    "Read",
    "applied",
    "assessed",
    "declared_schema",
    "read_bytes",
    "read_record",
    "unchanged",
]

INVALID_INPUT = 2
INTERNAL_ERROR = 1

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Fault:
    """One line for stderr and the exit code it earns."""

    label: str
    message: str
    code: int = INVALID_INPUT

    def __str__(self) -> str:
        return f"{self.label}: {self.message}"


@dataclass(frozen=True, slots=True)
class Read:
    """A record read from its bytes, or the faults that kept it from being read."""

    record: PatientRecord | None
    faults: tuple[Fault, ...] = ()


class Outcome:
    """The exit code of a run over many inputs (the worst fault seen); faults go to stderr as
    they are reported."""

    def __init__(self) -> None:
        self.code = 0

    def report(self, faults: Iterable[Fault]) -> None:
        for fault in faults:
            typer.echo(str(fault), err=True)
            self.code = max(self.code, fault.code)


def read_bytes(path: str) -> bytes | Fault:
    """The bytes of a file (standard input for ``-``), or the fault of not reading it."""
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as error:
        return Fault(path, f"cannot read the file: {error.strerror or error}")


def read_record(data: bytes, label: str) -> Read:
    """The record (v1 or v2, always returned as v2) in JSON bytes."""
    try:
        return Read(parse_record_json(_decoded(data)))
    except RecordError as error:
        return Read(None, tuple(Fault(label, str(problem)) for problem in error.problems))


def declared_schema(data: bytes) -> str | None:
    """The record schema a JSON document says it follows (a document without ``schema`` is a
    record v1, as release 1 wrote them); None when it is not a JSON object naming a known one."""
    try:
        document = load_json(_decoded(data))
    except RecordError:
        return None
    if not isinstance(document, dict):
        return None
    schema = document.get("schema", PATIENT_SCHEMA_V1)
    return schema if schema in SCHEMAS else None


def assessed(
    record: PatientRecord,
    as_of: dt.date,
    kb: KnowledgeBase,
    label: str,
    finish: Callable[[Assessment], T],
) -> T | Fault:
    """``finish`` (a serialiser, say) applied to the assessment of a record, or the fault of
    :func:`applied`."""
    return applied(record, as_of, label, lambda kept: finish(assess(kept, as_of=as_of, kb=kb)))


def applied(
    record: PatientRecord, as_of: dt.date, label: str, work: Callable[[PatientRecord], T]
) -> T | Fault:
    """``work`` (the engine and what follows it) applied to a record; a fault when ``as_of`` is
    not an assessment date of the patient (before their first date, or after
    :data:`~alscare.assessment_dates.FAR_LIMIT`: the command line reads no clock), or an
    internal-error fault naming the exception ``work`` raised."""
    problem = as_of_problem(record, as_of, latest=FAR_LIMIT)
    if problem is not None:
        return Fault(label, f"--as-of: {problem.reason}")
    try:
        return work(record)
    except Exception as error:  # the adapter's top level: a bug in one record, report, go on
        return Fault(label, f"internal error: {type(error).__name__}: {error}", INTERNAL_ERROR)


def unchanged(assessment: Assessment) -> Assessment:
    """The ``finish`` of :func:`assessed` that keeps the assessment itself (for rendering)."""
    return assessment


def _decoded(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RecordError([Problem("", f"not UTF-8 text (byte {error.start})")]) from None
