"""The ``alscare`` command line (Typer + rich).

Each command group lives in its own module and registers itself on ``app``; errors reach the
user as one line per problem and an exit code, never a traceback.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Entry point of the ``alscare`` console script."""
    try:
        from alscare.cli.app import app
    except ImportError as error:  # the CLI extra is not installed
        print(  # noqa: T201 - the CLI's own output channel
            f"alscare: the command line needs the 'cli' extra ({error.name} is missing): "
            "pip install 'alscare[cli]'",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    app()
