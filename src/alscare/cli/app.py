"""The Typer application; the command modules imported at the bottom register on it."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(
    name="alscare",
    help="Point-of-care decision support for ALS (motor neurone disease).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules register themselves on ``app`` when imported.
from alscare.cli import cohort, fhir, records, report, server, topic  # noqa: E402,F401
