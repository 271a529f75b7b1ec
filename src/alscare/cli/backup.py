"""``alscare db backup FILE`` and ``alscare db restore FILE [--replace]``.

Exit codes as the other database commands: 0 done; 2 a file that is not a sound backup, or a
restore refused (nothing changed); 1 the database could not be used, or the backup file could
not be written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alscare.cli.server import (
    OUTPUT_FAILED,
    _cli_actor,
    _fail,
    _open_database,
    _reported_errors,
    _settings,
    db_app,
)

__all__ = ["db_backup", "db_restore"]


@db_app.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(help="the backup file to write (gzip JSON Lines)")],
) -> None:
    """Back up the whole database to FILE while the app runs: one consistent snapshot, with a
    checksum and every table's row count. Sessions and API tokens are not kept."""
    with _reported_errors():
        from alscare.storage.backup import write_backup

        database = _open_database(_settings())
        try:
            summary = write_backup(database, file, _cli_actor())
        except OSError as error:
            raise _fail(
                f"{file}: cannot write ({error.strerror or error})", OUTPUT_FAILED
            ) from None
        finally:
            database.dispose()
    typer.echo(f"backed up {summary.describe()} to {file} (sha256 {summary.sha256})")


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="a backup made by alscare db backup")],
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="delete everything in the database (patients, accounts, audit, sessions) and "
            "put the backup in its place; stop the server first",
        ),
    ] = False,
) -> None:
    """Restore a backup into an empty database (or, with --replace, in place of everything in
    it): checked first, then loaded and verified against the backup's checksum, row counts and
    revisions in one transaction, so the database is restored whole or left as it was."""
    with _reported_errors():
        from alscare.storage.backup import restore_backup

        database = _open_database(_settings())
        try:
            summary = restore_backup(database, file, _cli_actor(), replace=replace)
        finally:
            database.dispose()
    typer.echo(
        f"restored {summary.describe()} from {file} (made {summary.created_at}); verified: "
        "checksum, row counts and revisions equal to the backup's. Every session has ended."
    )
