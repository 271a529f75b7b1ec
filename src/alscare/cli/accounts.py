"""``alscare user list|disable|enable|role|reset-password|require-password-change``.

The account commands beside ``alscare user add`` (``cli/server.py``), acting as admin like
every database command (whoever holds the database URL may manage accounts), each audited under
``<login name>@cli``. A password is read from standard input, never from the command line
(where other users of the machine could see it in the process list). Disabling an account or
giving it a new password ends every session and API token it holds at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from alscare.cli.server import (
    AccountRole,
    _cli_actor,
    _open_database,
    _read_password,
    _reported_errors,
    _settings,
    user_app,
)

if TYPE_CHECKING:  # the web extra; imported when a command runs
    from alscare.storage.accounts import Account
    from alscare.storage.database import Database

__all__ = [
    "user_disable",
    "user_enable",
    "user_list",
    "user_require_password_change",
    "user_reset_password",
    "user_role",
]

_T = TypeVar("_T")
Name = Annotated[str, typer.Argument(help="the account's username")]


def _on_database(work: Callable[[Database], _T]) -> _T:
    """Run ``work`` on the configured database (call it within ``_reported_errors``)."""
    database = _open_database(_settings())
    try:
        return work(database)
    finally:
        database.dispose()


def _line(account: Account) -> str:
    status = "active" if account.active else "disabled"
    if account.must_change_password:
        status += ", must change password"
    return (
        f"{account.username:<24} {account.role.value:<10} {status:<32} "
        f"{account.open_sessions:>8}  {account.created_at:%Y-%m-%d %H:%M}"
    )


@user_app.command("list")
def user_list() -> None:
    """List the accounts: role, status, open sessions and tokens, when created (UTC)."""
    with _reported_errors():
        from alscare.storage import accounts

        listed = _on_database(lambda database: accounts.list_accounts(database, _cli_actor()))
    typer.echo(f"{'username':<24} {'role':<10} {'status':<32} {'sessions':>8}  created")
    for account in listed:
        typer.echo(_line(account))


@user_app.command("disable")
def user_disable(name: Name) -> None:
    """Disable an account: it cannot log in, and its sessions and tokens end at once."""
    with _reported_errors():
        from alscare.storage import accounts

        _on_database(lambda db: accounts.set_active(db, _cli_actor(), name, active=False))
    typer.echo(f"disabled {name}; its sessions and tokens have ended")


@user_app.command("enable")
def user_enable(name: Name) -> None:
    """Enable a disabled account again."""
    with _reported_errors():
        from alscare.storage import accounts

        _on_database(lambda db: accounts.set_active(db, _cli_actor(), name, active=True))
    typer.echo(f"enabled {name}")


@user_app.command("role")
def user_role(
    name: Name, role: Annotated[AccountRole, typer.Option(help="what the account may do")]
) -> None:
    """Give an account another role (from its next request)."""
    with _reported_errors():
        from alscare.storage import accounts
        from alscare.storage.security import Role

        _on_database(lambda db: accounts.set_role(db, _cli_actor(), name, Role(role.value)))
    typer.echo(f"{name} is now {role.value}")


@user_app.command("reset-password")
def user_reset_password(
    name: Name,
    must_change: Annotated[
        bool,
        typer.Option(
            "--must-change/--no-must-change",
            help="make the holder choose another password at the next login",
        ),
    ] = True,
) -> None:
    """Give an account a new password, read from standard input (asked for on a terminal);
    its sessions and tokens end."""
    password = _read_password()
    with _reported_errors():
        from alscare import services

        _on_database(
            lambda db: services.set_password(
                db, _cli_actor(), name, password, must_change=must_change
            )
        )
    then = "; it must be changed at the next login" if must_change else ""
    typer.echo(f"new password set for {name}{then}")


@user_app.command("require-password-change")
def user_require_password_change(name: Name) -> None:
    """Make an account choose a new password before it does anything else."""
    with _reported_errors():
        from alscare.storage import accounts

        _on_database(lambda db: accounts.require_password_change(db, _cli_actor(), name))
    typer.echo(f"{name} must choose a new password at the next login")
