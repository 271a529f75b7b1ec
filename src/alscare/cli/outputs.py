"""Writing what the commands print: canonical record JSON, files, standard output that may be
closed early (``| head``), and the knowledge base or the exit code that says why not."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import NoReturn

import typer

from alscare.cli.inputs import INTERNAL_ERROR
from alscare.errors import AlscareError
from alscare.knowledge import KnowledgeBase, default_knowledge
from alscare.schemas.patient import PatientRecord

__all__ = ["knowledge", "reader_gone", "record_json", "write_file", "write_out"]


def knowledge() -> KnowledgeBase:
    """The knowledge base, or exit 1 saying why it is invalid."""
    try:
        return default_knowledge()
    except AlscareError as error:
        typer.echo(f"alscare: the knowledge base is invalid: {error}", err=True)
        raise typer.Exit(INTERNAL_ERROR) from None


def record_json(record: PatientRecord) -> str:
    """The canonical v2 JSON text of a record."""
    return json.dumps(record.to_json_dict(), indent=2, ensure_ascii=False) + "\n"


def write_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, or exit 1 saying why it cannot be written."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        typer.echo(f"{path}: cannot write ({error.strerror or error})", err=True)
        raise typer.Exit(INTERNAL_ERROR) from None


def write_out(text: str, code: int) -> None:
    """Print ``text``; a closed standard output ends the run with ``code``."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        reader_gone(code)


def reader_gone(code: int) -> NoReturn:
    """The reader of our output stopped (``| head``): stop quietly, as Unix tools do, with
    the exit code of what was done so far."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush cannot fail
    raise typer.Exit(code)
