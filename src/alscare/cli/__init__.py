"""The ``alscare`` command line (Typer + rich).

Each command group lives in its own module and registers itself on ``app``; errors reach the
user as one line per problem and an exit code, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

# The packages of the 'cli' extra: only their absence is a missing extra; any other failed
# import is a bug and shows as one.
_CLI_EXTRA = frozenset({"typer", "rich", "click"})


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``alscare`` console script; ``argv`` (default: the process's own
    arguments) runs the command as the shell would, ending in ``SystemExit`` with its code."""
    try:
        from alscare.cli.app import app
    except ImportError as error:
        if error.name not in _CLI_EXTRA:
            raise
        print(  # noqa: T201 - the CLI's own output channel
            f"alscare: the command line needs the 'cli' extra ({error.name} is missing): "
            "pip install 'alscare[cli]'",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    app(args=None if argv is None else list(argv), prog_name="alscare")
