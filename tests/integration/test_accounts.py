"""Account management, audited, on SQLite and PostgreSQL: the use cases
(``storage/accounts.py``), the ``alscare user`` commands, and the admins' account pages."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from alscare import services
from alscare.cli.app import app
from alscare.errors import NotFoundError
from alscare.services import AccountError, PermissionDeniedError
from alscare.storage import accounts
from alscare.storage.audit import AuditAction, audit_events
from alscare.storage.database import Database
from alscare.storage.security import (
    Actor,
    AuthenticationError,
    Channel,
    Role,
    authenticate,
)
from tests.conftest_server import ADMIN_ACTOR, PASSWORD, Backend, LiveServer, postgres_schema
from tests.integration.test_pages import PageClient

NEW_PASSWORD = "another long passphrase"


def _add(database: Database, name: str, role: Role = Role.CLINICIAN) -> None:
    services.add_user(database, ADMIN_ACTOR, name, PASSWORD, role)


def _details(database: Database, action: AuditAction) -> list[str]:
    with database.transaction(write=False) as session:
        return [event.detail for event in audit_events(session, action=action, limit=500)]


def _account(database: Database, name: str) -> accounts.Account:
    (found,) = [a for a in accounts.list_accounts(database, ADMIN_ACTOR) if a.username == name]
    return found


# --- the use cases ---------------------------------------------------------------------------


def test_accounts_are_listed_by_name_with_role_status_and_open_sessions(
    database: Database,
) -> None:
    _add(database, "list-b", Role.VIEWER)
    _add(database, "list-a")
    listed = [a.username for a in accounts.list_accounts(database, ADMIN_ACTOR)]
    assert listed == sorted(listed) and {"list-a", "list-b"} <= set(listed)
    account = _account(database, "list-b")
    assert (account.role, account.active, account.must_change_password) == (
        Role.VIEWER,
        True,
        False,
    )
    assert account.open_sessions == 0


def test_disable_refuses_login_and_enable_allows_it_again_audited(database: Database) -> None:
    _add(database, "toggled")
    accounts.set_active(database, ADMIN_ACTOR, "toggled", active=False)
    with pytest.raises(AuthenticationError):
        authenticate(database, "toggled", PASSWORD, channel=Channel.API)
    assert not _account(database, "toggled").active
    accounts.set_active(database, ADMIN_ACTOR, "toggled", active=True)
    assert authenticate(database, "toggled", PASSWORD, channel=Channel.API).active
    assert "toggled" in _details(database, AuditAction.ACCOUNT_DISABLED)
    assert "toggled" in _details(database, AuditAction.ACCOUNT_ENABLED)


def test_role_change_is_audited_with_before_and_after(database: Database) -> None:
    _add(database, "promoted", Role.VIEWER)
    assert accounts.set_role(database, ADMIN_ACTOR, "promoted", Role.CLINICIAN).role is (
        Role.CLINICIAN
    )
    assert "promoted: viewer to clinician" in _details(database, AuditAction.ROLE_CHANGED)


def test_password_reset_and_required_change_are_audited(database: Database) -> None:
    _add(database, "forgetful")
    services.set_password(database, ADMIN_ACTOR, "forgetful", NEW_PASSWORD, must_change=True)
    user = authenticate(database, "forgetful", NEW_PASSWORD, channel=Channel.API)
    assert user.must_change_password
    changed = accounts.change_own_password(
        database, user, NEW_PASSWORD, "my very own passphrase", Channel.API
    )
    assert not changed.must_change_password
    accounts.require_password_change(database, ADMIN_ACTOR, "forgetful")
    assert _account(database, "forgetful").must_change_password
    assert "forgetful (must change it at the next login)" in _details(
        database, AuditAction.PASSWORD_SET
    )
    assert "forgetful" in _details(database, AuditAction.PASSWORD_CHANGED)
    assert "forgetful" in _details(database, AuditAction.PASSWORD_CHANGE_REQUIRED)


def test_no_admin_can_disable_or_demote_their_own_account(database: Database) -> None:
    _add(database, "self-admin", Role.ADMIN)
    _add(database, "other-admin", Role.ADMIN)
    me = Actor("self-admin", Role.ADMIN, Channel.PAGES)
    with pytest.raises(AccountError, match="your own account"):
        accounts.set_active(database, me, "self-admin", active=False)
    with pytest.raises(AccountError, match="your own account"):
        accounts.set_role(database, me, "self-admin", Role.VIEWER)
    assert _account(database, "self-admin").active


@pytest.fixture
def empty_database(backend: Backend, tmp_path: Path) -> Iterator[Database]:
    """A database of its own, with no account yet, on the module's backend."""
    urls: Iterable[str] = (
        [f"sqlite:///{tmp_path / 'empty.db'}"] if backend.name == "sqlite" else postgres_schema()
    )
    for url in urls:
        database = Database(url)
        database.upgrade()
        yield database
        database.dispose()


def test_the_last_active_admin_stays_an_active_admin(empty_database: Database) -> None:
    _add(empty_database, "only-admin", Role.ADMIN)
    _add(empty_database, "disabled-admin", Role.ADMIN)
    accounts.set_active(empty_database, ADMIN_ACTOR, "disabled-admin", active=False)
    for change in (
        lambda: accounts.set_active(empty_database, ADMIN_ACTOR, "only-admin", active=False),
        lambda: accounts.set_role(empty_database, ADMIN_ACTOR, "only-admin", Role.CLINICIAN),
    ):
        with pytest.raises(AccountError, match="last active admin"):
            change()
    _add(empty_database, "second-admin", Role.ADMIN)
    accounts.set_role(empty_database, ADMIN_ACTOR, "only-admin", Role.CLINICIAN)
    assert _account(empty_database, "only-admin").role is Role.CLINICIAN


def test_accounts_are_managed_by_admins_only(database: Database) -> None:
    _add(database, "target")
    clinician = Actor("some-clinician", Role.CLINICIAN, Channel.PAGES)
    for change in (
        lambda: accounts.list_accounts(database, clinician),
        lambda: accounts.set_active(database, clinician, "target", active=False),
        lambda: accounts.set_role(database, clinician, "target", Role.ADMIN),
        lambda: accounts.require_password_change(database, clinician, "target"),
        lambda: services.set_password(database, clinician, "target", NEW_PASSWORD),
    ):
        with pytest.raises(PermissionDeniedError):
            change()
    assert _account(database, "target").role is Role.CLINICIAN


@pytest.mark.parametrize("name", ["nobody-here", "a\x00b", "x" * 100])
def test_changing_an_unknown_account_is_not_found(database: Database, name: str) -> None:
    with pytest.raises(NotFoundError):
        accounts.set_active(database, ADMIN_ACTOR, name, active=False)


# --- the CLI ---------------------------------------------------------------------------------


@pytest.fixture
def on_database(
    backend: Backend, database: Database, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    for name in list(os.environ):
        if name.startswith("ALSCARE_") and name not in ("ALSCARE_REQUIRE_ALL",):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ALSCARE_DATABASE_URL", backend.url)
    yield database


def _run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, ["user", *args], input=stdin)


def test_cli_manages_accounts_and_each_change_is_audited_as_the_cli(
    on_database: Database,
) -> None:
    _add(on_database, "cli-managed")
    assert _run("disable", "cli-managed").exit_code == 0
    listed = _run("list")
    assert listed.exit_code == 0
    assert re.search(r"^cli-managed\s+clinician\s+disabled", listed.output, re.MULTILINE)
    assert _run("enable", "cli-managed").exit_code == 0
    assert _run("role", "cli-managed", "--role", "viewer").exit_code == 0
    reset = _run("reset-password", "cli-managed", stdin=f"{NEW_PASSWORD}\n")
    assert reset.exit_code == 0, reset.output
    user = authenticate(on_database, "cli-managed", NEW_PASSWORD, channel=Channel.CLI)
    assert (user.role, user.must_change_password) == (Role.VIEWER, True)
    kept = _run("reset-password", "cli-managed", "--no-must-change", stdin=f"{PASSWORD}\n")
    assert kept.exit_code == 0
    assert not _account(on_database, "cli-managed").must_change_password
    assert _run("require-password-change", "cli-managed").exit_code == 0
    assert _account(on_database, "cli-managed").must_change_password
    with on_database.transaction(write=False) as session:
        rows = [e for e in audit_events(session, limit=500) if "cli-managed" in e.detail]
    assert {e.action for e in rows} >= {
        AuditAction.ACCOUNT_DISABLED,
        AuditAction.ACCOUNT_ENABLED,
        AuditAction.ROLE_CHANGED,
        AuditAction.PASSWORD_SET,
        AuditAction.PASSWORD_CHANGE_REQUIRED,
    }
    by_cli = [e for e in rows if e.action is not AuditAction.USER_ADDED]  # added by the test
    assert all(e.username.endswith("@cli") and e.channel == "cli" for e in by_cli)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("disable", "no-such-account"), None, "no account named 'no-such-account'"),
        (("reset-password", "cli-refused"), "short\n", "a password needs 8"),
        (("role", "cli-refused", "--role", "overlord"), None, "overlord"),
    ],
)
def test_cli_refusals_are_one_line_and_exit_2(
    on_database: Database, args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    if "cli-refused" not in {a.username for a in accounts.list_accounts(on_database, ADMIN_ACTOR)}:
        _add(on_database, "cli-refused")
    result = _run(*args, stdin=stdin)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_user_add_refuses_system_and_upper_case_names(on_database: Database) -> None:
    for name in ("Admin1", "root@cli", "alscare-migration"):
        result = _run("add", name, "--role", "admin", stdin=f"{PASSWORD}\n")
        assert result.exit_code == 2 and "lower-case letters" in result.output


# --- the pages -------------------------------------------------------------------------------


@pytest.fixture
def admin_pages(live_server: LiveServer) -> Iterator[PageClient]:
    pages = PageClient(live_server)
    assert pages.log_in("admin").status_code == 303
    yield pages
    pages.http.close()


def test_accounts_page_lists_accounts_for_admins_only(
    live_server: LiveServer, admin_pages: PageClient
) -> None:
    page = admin_pages.get("/accounts")
    assert page.status_code == 200
    assert 'href="/accounts" aria-current="page"' in page.text
    assert 'id="account-clinician"' in page.text
    for name in ("clinician", "viewer"):
        other = PageClient(live_server)
        other.log_in(name)
        assert other.get("/accounts").status_code == 403
        assert 'href="/accounts"' not in other.get("/patients").text
        other.http.close()


def test_accounts_page_actions_change_the_account(
    live_server: LiveServer, admin_pages: PageClient
) -> None:
    _add(live_server.database, "page-managed")
    for action, form in (
        ("disable", {}),
        ("enable", {}),
        ("role", {"role": "viewer"}),
        ("require-password-change", {}),
        ("password", {"password": NEW_PASSWORD}),
    ):
        response = admin_pages.post(f"/accounts/page-managed/{action}", form)
        assert response.status_code == 303, (action, response.text)
        assert "page-managed" in admin_pages.get("/accounts").text
    account = _account(live_server.database, "page-managed")
    assert (account.role, account.active, account.must_change_password) == (
        Role.VIEWER,
        True,
        False,  # the password form's box was not ticked
    )
    assert authenticate(live_server.database, "page-managed", NEW_PASSWORD, channel=Channel.API)


@pytest.mark.parametrize(
    ("target", "action", "form", "status", "message"),
    [
        ("admin", "disable", {}, 422, "you cannot disable your own account"),
        ("clinician", "password", {"password": "short"}, 422, "a password needs 8"),
        ("clinician", "role", {"role": "overlord"}, 422, "role: one of"),
        ("nobody-at-all", "disable", {}, 404, "no account named"),
        ("clinician", "delete", {}, 404, "No account action"),
    ],
)
def test_accounts_page_refusals_say_why_and_change_nothing(
    live_server: LiveServer,
    admin_pages: PageClient,
    target: str,
    action: str,
    form: dict[str, str],
    status: int,
    message: str,
) -> None:
    response = admin_pages.post(f"/accounts/{target}/{action}", form)
    assert response.status_code == status
    assert message in response.text.replace("&#39;", "'")
    assert _account(live_server.database, "clinician").active
    assert _account(live_server.database, "admin").active


def test_accounts_page_post_without_csrf_token_is_refused(
    live_server: LiveServer, admin_pages: PageClient
) -> None:
    response = admin_pages.post("/accounts/viewer/disable", {}, csrf=False)
    assert response.status_code == 403
    assert _account(live_server.database, "viewer").active
