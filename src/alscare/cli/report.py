"""``alscare report RECORD.json --as-of DATE -o FILE``: the clinic letter as HTML or PDF.

The output format follows the suffix of ``-o`` (``.html``/``.htm`` or ``.pdf``). The record
(v1 or v2; ``-`` reads standard input) is read as every command reads one (``cli/inputs.py``):
one that does not validate gives one line per problem on stderr and exit code 2, and nothing is
written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from alscare.cli.app import app
from alscare.cli.dates import parse_as_of
from alscare.cli.inputs import Fault, assessed, read_bytes, read_record, unchanged
from alscare.errors import ConfigError, KnowledgeError
from alscare.knowledge.loader import default_knowledge

__all__ = ["report"]

_HTML_SUFFIXES = (".html", ".htm")
_PDF_SUFFIX = ".pdf"
_USAGE_ERROR = 2
_FAILURE = 1


def _fail(lines: list[str], code: int) -> NoReturn:
    for line in lines:
        typer.echo(line, err=True)
    raise typer.Exit(code)


@app.command()
def report(
    record_file: Annotated[
        str,
        typer.Argument(
            metavar="RECORD.json", help="A patient record (JSON, v1 or v2); - is stdin."
        ),
    ],
    as_of: Annotated[
        str,
        typer.Option("--as-of", help="Date of the assessment, YYYY-MM-DD (or 'today')."),
    ],
    output: Annotated[
        Path,
        typer.Option("-o", "--output", help="Where to write: report.html or report.pdf."),
    ],
) -> None:
    """Write the clinic letter for one patient: HTML or PDF, chosen by the suffix of -o."""
    on = parse_as_of(as_of)
    suffix = output.suffix.lower()
    if suffix not in (*_HTML_SUFFIXES, _PDF_SUFFIX):
        _fail([f"{output}: the output must end in .html or .pdf"], _USAGE_ERROR)
    data = read_bytes(record_file)
    if isinstance(data, Fault):
        _fail([str(data)], _USAGE_ERROR)
    read = read_record(data, record_file)
    record = read.record
    if record is None:
        _fail([str(fault) for fault in read.faults], _USAGE_ERROR)
    try:
        kb = default_knowledge()
    except KnowledgeError as error:
        _fail([f"knowledge base: {error}"], _FAILURE)
    # Imported here so that the other commands work without the report extra installed.
    from alscare.report import render_html, render_pdf

    assessment = assessed(record, on, kb, record_file, unchanged)
    if isinstance(assessment, Fault):
        _fail([str(assessment)], assessment.code)
    html = render_html(record, assessment, kb)
    try:
        content = render_pdf(html) if suffix == _PDF_SUFFIX else html.encode("utf-8")
    except ConfigError as error:
        _fail([str(error)], _FAILURE)
    try:
        output.write_bytes(content)
    except OSError as error:
        _fail([f"{output}: cannot write ({error})"], _FAILURE)
    typer.echo(f"wrote {output}")
