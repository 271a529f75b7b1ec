"""``alscare topic``: the ALS topic in the terminal, as markdown or as JSON.

``alscare topic [SECTION] [--format text|markdown|json] [--as-of DATE]``

SECTION is one of factors, risk-factors, investigations, differentials, treatment, guidelines,
sources, about; without it the whole topic is shown. ``--as-of`` takes a date (YYYY-MM-DD) or the
word ``today``: the topic then says whether its review is overdue on that date. Without it the
review status is not computed (``review_overdue`` is null in JSON): the command never reads the
clock unless asked to, so its output depends only on the knowledge base and the arguments.

Exit codes: 0 on success; 2 for a bad argument (unknown section, malformed date); 1 when the
knowledge base is invalid (reported in one line naming file, item and field).
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from alscare.cli.app import app
from alscare.cli.dates import parse_as_of
from alscare.cli.topic_page import topic_page
from alscare.errors import KnowledgeError, NotFoundError
from alscare.knowledge import default_knowledge
from alscare.knowledge.document import TOPIC_SECTIONS, topic_document, topic_markdown

__all__ = ["TopicFormat", "topic"]

INVALID_INPUT = 2
INVALID_KNOWLEDGE = 1


class TopicFormat(StrEnum):
    """How ``topic`` prints the topic."""

    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"


def _as_of(value: str | None) -> dt.date | None:
    return None if value is None else parse_as_of(value)


@app.command()
def topic(
    section: Annotated[
        str | None,
        typer.Argument(
            help=f"One section: {', '.join(TOPIC_SECTIONS)}. Without it, the whole topic.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        TopicFormat, typer.Option("--format", "-f", help="text (terminal), markdown or json.")
    ] = TopicFormat.TEXT,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Date (YYYY-MM-DD or 'today') on which to check whether the review is overdue; "
            "without it the review status is not computed.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Show the ALS topic: diagnostic and risk factors, investigations, differentials,
    treatment, guidelines, sources and editorial metadata, every statement with its sources."""
    on = _as_of(as_of)
    try:
        kb = default_knowledge()
    except KnowledgeError as error:
        typer.echo(f"alscare: invalid knowledge base: {error}", err=True)
        raise typer.Exit(INVALID_KNOWLEDGE) from None
    try:
        if output is TopicFormat.MARKDOWN:
            typer.echo(topic_markdown(kb, as_of=on, section=section), nl=False)
            return
        document = topic_document(kb, as_of=on, section=section)
    except NotFoundError as error:
        typer.echo(f"alscare topic: {error}", err=True)
        raise typer.Exit(INVALID_INPUT) from None
    if output is TopicFormat.JSON:
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        Console(highlight=False).print(topic_page(document))
