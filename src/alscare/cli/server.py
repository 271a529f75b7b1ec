"""``alscare serve``, ``alscare user add`` and ``alscare db upgrade|import|export``.

Settings come from ``ALSCARE_*`` variables (``alscare.settings``); every command that touches the
database first brings its schema up to date, so a new database needs no extra step. Records are
read as v1 or v2 and stored and exported as v2.

Exit codes, as the other commands: 0 done; 2 invalid input or settings (a bad record, a taken id,
an unknown patient, a missing secret key), reported one line per problem on stderr, nothing
stored; 1 the database could not be used or an output cannot be written.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from alscare import __version__
from alscare.cli.app import app
from alscare.errors import AlscareError, Problem, RecordError
from alscare.schemas.patient import PatientRecord
from alscare.schemas.records import load_json, parse_record

if TYPE_CHECKING:  # the web extra; imported when a command runs, so `alscare assess` needs none
    from alscare.settings import Settings
    from alscare.storage.database import Database
    from alscare.storage.security import Actor

__all__ = [
    "DATABASE_FAILED",
    "INVALID_INPUT",
    "OUTPUT_FAILED",
    "AccountRole",
    "db_app",
    "db_export",
    "db_import",
    "db_upgrade",
    "serve",
    "user_add",
    "user_app",
]

INVALID_INPUT: Final = 2
DATABASE_FAILED: Final = 1
OUTPUT_FAILED: Final = 1  # as the record commands: an output that cannot be written

user_app = typer.Typer(help="Accounts of the clinic app.", no_args_is_help=True)
db_app = typer.Typer(
    help="The clinic database: schema, import, export, backup, restore.", no_args_is_help=True
)
app.add_typer(user_app, name="user")
app.add_typer(db_app, name="db")


class AccountRole(StrEnum):
    """The roles of ``storage.security.Role``, named here so the CLI loads without the extra."""

    ADMIN = "admin"
    CLINICIAN = "clinician"
    VIEWER = "viewer"


def _fail(message: str, code: int = INVALID_INPUT) -> typer.Exit:
    typer.echo(f"alscare: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def _reported_errors(label: str = "alscare") -> Iterator[None]:
    """alscare errors and database failures as one line each and an exit code."""
    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:
        raise _fail(
            "the server and database commands need the web extra: pip install 'alscare[web]'"
        ) from None
    try:
        yield
    except RecordError as error:
        for problem in error.problems:
            typer.echo(f"{label}: {problem}", err=True)
        raise typer.Exit(INVALID_INPUT) from None
    except AlscareError as error:
        raise _fail(str(error)) from None
    except SQLAlchemyError as error:
        first_line = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise _fail(f"the database failed: {first_line}", DATABASE_FAILED) from None


def _cli_actor() -> Actor:
    """Whoever runs the command, acting with full rights (they hold the database URL)."""
    from alscare.storage.security import Actor, Channel, Role

    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        name = "unknown"
    return Actor(username=f"{name}@cli"[:64], role=Role.ADMIN, channel=Channel.CLI)


def _settings() -> Settings:
    """Settings for commands that sign nothing, so need no secret key."""
    from alscare.settings import load_settings

    return load_settings(require_secret_key=False)


def _open_database(settings: Settings) -> Database:
    from alscare.storage.database import Database

    database = Database(settings.database_url)
    database.upgrade()
    return database


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="development mode with the example patients (dated lately) and a demo "
            "clinician and admin account (printed)",
        ),
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="server processes (one per CPU core at most)")
    ] = 1,
) -> None:
    """Start the clinic web app (pages at /, JSON API at /api/v1, API docs at /docs)."""
    with _reported_errors():
        import uvicorn

        from alscare import services
        from alscare.demo import seed_demo
        from alscare.settings import load_settings
        from alscare.storage.security import Role
        from alscare.web.app import create_app

        settings = load_settings(env="development") if demo else load_settings()
        database = _open_database(settings)
        accounts = (
            seed_demo(
                database,
                today=services.today(),
                clinician_password=secrets.token_urlsafe(12),
                admin_password=secrets.token_urlsafe(12),
            )
            if demo
            else ()
        )
        web_app = create_app(settings, database=database) if workers == 1 else None
    where = database.url.render_as_string(hide_password=True)
    typer.echo(f"alscare {__version__} ({settings.env}) on http://{host}:{port}  database {where}")
    for account in accounts:
        typer.echo(
            f"demo {account.role} account: {account.username}  password: {account.password}"
            + ("  (sees the audit trail at /audit)" if account.role is Role.ADMIN else "")
        )
    if settings.development:
        typer.echo("development mode: do not use with real patients")
    options: dict[str, Any] = {"host": host, "port": port, "access_log": False}
    try:
        if web_app is not None:
            uvicorn.run(web_app, log_level="info", **options)
        else:
            # Each worker process builds its app from the environment: hand it these settings,
            # including a development key made here, so every worker signs with the same key.
            os.environ.update(_environment(settings))
            uvicorn.run(
                "alscare.web.app:app_from_environment", factory=True, workers=workers, **options
            )
    finally:
        database.dispose()


def _environment(settings: Settings) -> dict[str, str]:
    return {
        "ALSCARE_ENV": settings.env,
        "ALSCARE_DATABASE_URL": settings.database_url,
        "ALSCARE_SECRET_KEY": settings.signing_key(),
    }


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="the login name")],
    role: Annotated[AccountRole, typer.Option(help="what the account may do")],
) -> None:
    """Add an account; the password is read from standard input (asked for on a terminal)."""
    password = _read_password()
    with _reported_errors():
        from alscare import services
        from alscare.storage.security import Role

        database = _open_database(_settings())
        try:
            user = services.add_user(database, _cli_actor(), name, password, Role(role.value))
        finally:
            database.dispose()
    typer.echo(f"added {user.role} account {user.username}")


def _read_password() -> str:
    if sys.stdin.isatty():
        return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().removesuffix("\n").removesuffix("\r")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date (every other command does this too)."""
    with _reported_errors():
        database = _open_database(_settings())
        revision = database.revision()
        database.dispose()
    typer.echo(f"database schema at revision {revision}")


@db_app.command("import")
def db_import(
    files: Annotated[
        list[Path], typer.Argument(help="record JSON files, v1 or v2 (object, list or .jsonl)")
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="replace stored patients with the same id")
    ] = False,
) -> None:
    """Import patient records (v1 is stored as v2). Every record is checked first, and nothing
    is stored when any is invalid; then they are stored in batches, each its own short
    transaction, so the app keeps answering. An interrupted import leaves whole batches only:
    rerun it with --replace, which skips the records already stored as they are. A replaced
    patient gets the imported record as its next revision."""
    records = _read_records(files)
    with _reported_errors():
        from alscare import services

        database = _open_database(_settings())
        try:
            result = services.import_records(database, _cli_actor(), records, replace=replace)
        finally:
            database.dispose()
    typer.echo(f"imported {len(result.created)} new, replaced {len(result.replaced)}")


def _read_records(files: list[Path]) -> list[PatientRecord]:
    records: list[PatientRecord] = []
    failed = False
    for path in files:
        try:
            records.extend(_records_in(path))
        except RecordError as error:
            failed = True
            for problem in error.problems:
                typer.echo(f"{path}: {problem}", err=True)
    if failed:
        raise typer.Exit(INVALID_INPUT)
    return records


def _records_in(path: Path) -> list[PatientRecord]:
    """The records of one file: a record object, a list of them, or JSON Lines (.jsonl)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RecordError([Problem("", f"cannot read the file: {error}")]) from None
    if path.suffix == ".jsonl":
        documents = [
            (f"line {number}", line)
            for number, line in enumerate(text.splitlines(), 1)
            if line.strip()
        ]
        return [_record(label, line) for label, line in documents]
    data = load_json(text)
    items = data if isinstance(data, list) else [data]
    return [
        _parsed(item, f"/{index}" if isinstance(data, list) else "")
        for index, item in enumerate(items)
    ]


def _record(label: str, line: str) -> PatientRecord:
    try:
        return _parsed(load_json(line), "")
    except RecordError as error:
        raise RecordError(
            Problem(f"{label}: {p.pointer}", p.reason) for p in error.problems
        ) from None


def _parsed(data: Any, prefix: str) -> PatientRecord:
    try:
        return parse_record(data)
    except RecordError as error:
        raise RecordError(Problem(prefix + p.pointer, p.reason) for p in error.problems) from None


@db_app.command("export")
def db_export(
    patient_id: Annotated[str | None, typer.Argument(help="one patient (default: all)")] = None,
    output: Annotated[
        str, typer.Option("-o", "--output", help="file to write, - for standard output")
    ] = "-",
    deidentify: Annotated[
        bool,
        typer.Option(
            "--deidentify",
            help="leave out who the patient is: no identity, an age in place of the birth date",
        ),
    ] = False,
) -> None:
    """Export record v2 JSON: one patient as an object, or every patient as a list."""
    target = None if output == "-" else _writable(Path(output))
    with _reported_errors():
        from alscare import services

        database = _open_database(_settings())
        try:
            wanted = [patient_id] if patient_id is not None else None
            records = services.export_records(database, _cli_actor(), wanted, deidentify=deidentify)
        finally:
            database.dispose()
    data: Any = (
        records[0].to_json_dict()
        if patient_id is not None
        else [record.to_json_dict() for record in records]
    )
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if target is None:
        sys.stdout.write(text)
        return
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        raise _fail(f"{target}: cannot write ({error.strerror or error})", OUTPUT_FAILED) from None
    typer.echo(f"exported {len(records)} record(s) to {output}", err=True)


def _writable(path: Path) -> Path:
    """The file ``-o`` names, checked before the export reads anything: a directory or a
    missing folder is refused in one line (they gave a traceback)."""
    if path.is_dir():
        raise _fail(f"{path}: is a directory; give a file name", OUTPUT_FAILED)
    if not path.parent.is_dir():
        raise _fail(f"{path}: the folder {path.parent} does not exist", OUTPUT_FAILED)
    return path


# The backup commands register on db_app, the account commands on user_app, when imported.
from alscare.cli import accounts, backup  # noqa: E402,F401
