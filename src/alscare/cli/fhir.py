"""``alscare fhir import`` and ``alscare fhir export``: records in and out of FHIR R4.

* ``import SOURCE...``: each source is a Bundle (JSON file, or ``-`` for stdin) or a directory of
  Bulk Data NDJSON files; each patient in it is printed as a canonical record v2 (one document
  per patient, as ``alscare upgrade`` prints them), or written to ``-o FILE`` when there is one.
  What could not be mapped is reported on stderr, one line per resource (``SOURCE: unmapped
  Observation/obs-7: why``), and does not change the exit code: the record holds the rest.
* ``export RECORD --as-of DATE``: the record and its assessment on that date as a FHIR R4
  Bundle (two-space indented JSON), on stdout or to ``-o FILE``.

Exit codes as for the other commands: 2 for an invalid input (a Bundle that is not valid FHIR,
with the resource and path named; a record the data do not make; a bad option), nothing
written; 1 when the knowledge base is invalid or an output cannot be written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from alscare.cli.app import app
from alscare.cli.dates import parse_as_of
from alscare.cli.inputs import Fault, Outcome, assessed, read_bytes
from alscare.cli.outputs import knowledge, record_json, write_file, write_out
from alscare.cli.records import load_record
from alscare.errors import RecordError
from alscare.interop.fhir.bundle import export_bundle
from alscare.interop.fhir.record_in import (
    ImportResult,
    import_records,
    read_source,
    resources_from_bundle,
)
from alscare.schemas.records import load_json

__all__ = ["export", "fhir_app", "import_"]

fhir_app = typer.Typer(
    name="fhir",
    help="FHIR R4: import Bundles as records, export records as Bundles.",
    no_args_is_help=True,
)
app.add_typer(fhir_app)

_OUTPUT = typer.Option("-o", "--output", help="Write to this file instead of stdout.")


@fhir_app.command("import")
def import_(
    sources: Annotated[
        list[str],
        typer.Argument(help="FHIR R4/R4B Bundles (JSON; - is stdin) or Bulk Data NDJSON folders."),
    ],
    output: Annotated[Path | None, _OUTPUT] = None,
) -> None:
    """Print the record v2 of each patient in FHIR Bundles or Bulk Data NDJSON folders."""
    outcome = Outcome()
    results: list[ImportResult] = []
    for source in sources:
        results.extend(_imported(source, outcome))
    if output is None:
        for result in results:
            write_out(record_json(result.record), outcome.code)
        raise typer.Exit(outcome.code)
    if not outcome.code and len(results) != 1:
        outcome.report([Fault(str(output), f"-o takes one patient; found {len(results)}")])
    if not outcome.code:
        write_file(output, record_json(results[0].record))
        typer.echo(f"wrote {output}")
    raise typer.Exit(outcome.code)


def _imported(source: str, outcome: Outcome) -> list[ImportResult]:
    """The patients of one source, each reported unmapped resource on stderr."""
    try:
        if source != "-" and Path(source).is_dir():
            resources = read_source(Path(source))
        else:
            data = read_bytes(source)
            if isinstance(data, Fault):
                outcome.report([data])
                return []
            resources = resources_from_bundle(load_json(data))
        results = import_records(resources)
    except RecordError as error:
        outcome.report(Fault(source, str(problem)) for problem in error.problems)
        return []
    for result in results:
        for item in result.unmapped:
            name = f"{item.resource_type}/{item.resource_id or '(no id)'}"
            typer.echo(f"{source}: unmapped {name}: {item.reason}", err=True)
    return list(results)


@fhir_app.command()
def export(
    record: Annotated[str, typer.Argument(help="A patient record file (v1 or v2); - is stdin.")],
    as_of: Annotated[
        str,
        typer.Option("--as-of", help="Assessment date, YYYY-MM-DD (or 'today')."),
    ],
    output: Annotated[Path | None, _OUTPUT] = None,
) -> None:
    """Print the record and its assessment on --as-of as a FHIR R4 Bundle."""
    date = parse_as_of(as_of)
    outcome = Outcome()
    read = load_record(record, outcome)
    if read is None:
        raise typer.Exit(outcome.code)
    kb = knowledge()
    bundle = assessed(read, date, kb, record, lambda done: export_bundle(read, done, kb=kb))
    if isinstance(bundle, Fault):
        outcome.report([bundle])
        raise typer.Exit(outcome.code)
    text = json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        write_out(text, 0)
    else:
        write_file(output, text)
        typer.echo(f"wrote {output}")
