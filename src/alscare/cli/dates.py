"""The ``--as-of`` option shared by the commands: an ISO date, or ``today`` said explicitly.

The engine never reads the clock; ``today`` is the one place the command line does, and only
when the user asks for it.
"""

from __future__ import annotations

import datetime as dt
import re

import typer

__all__ = ["parse_as_of"]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_as_of(value: str) -> dt.date:
    """The date an ``--as-of`` value names; a clear usage error otherwise."""
    if value == "today":
        return dt.date.today()
    if _ISO_DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise typer.BadParameter(
        f"{value!r} is not a date: give YYYY-MM-DD or 'today'", param_hint="'--as-of'"
    )
