"""``alscare topic``: the ALS topic in the terminal, as markdown or as JSON."""

from __future__ import annotations

from alscare.cli.app import app

__all__ = ["topic"]


@app.command()
def topic() -> None:
    """Show the ALS topic."""
