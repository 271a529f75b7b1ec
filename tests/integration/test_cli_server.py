"""``alscare user add``, ``alscare db upgrade|import|export``, ``alscare serve`` and the
settings they read, on real databases (and a real server process for ``serve --demo``)."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from alscare import ConfigError, parse_record, parse_record_json
from alscare.cli.app import app
from alscare.cli.server import AccountRole
from alscare.demo import LATEST_ENTRY_DAYS_AGO, demo_records
from alscare.schemas.records import parse_record_v1
from alscare.schemas.upgrade import upgrade
from alscare.settings import MIN_SECRET_KEY_LENGTH, load_settings
from alscare.storage.database import Database, head_revision
from alscare.storage.security import Channel, Role, authenticate
from tests.conftest_server import SECRET_KEY, Backend
from tests.integration.strategies import FULL_RECORD_V1

_KEPT = ("ALSCARE_REQUIRE_ALL", "ALSCARE_TEST_POSTGRES")
EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.json"))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Results never depend on the developer's shell."""
    for name in list(os.environ):
        if name.startswith("ALSCARE_") and name not in (
            "ALSCARE_REQUIRE_ALL",
            "ALSCARE_TEST_POSTGRES",
        ):
            monkeypatch.delenv(name)


@pytest.fixture
def on_backend(backend: Backend, database: Database, monkeypatch: pytest.MonkeyPatch) -> Backend:
    monkeypatch.setenv("ALSCARE_DATABASE_URL", backend.url)
    return backend


def _run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin)


def test_user_add_reads_the_password_from_stdin(on_backend: Backend, database: Database) -> None:
    result = _run("user", "add", "cli-alice", "--role", "clinician", stdin="s3cret-pass\n")
    assert result.exit_code == 0, result.output
    assert "added clinician account cli-alice" in result.stdout
    user = authenticate(database, "cli-alice", "s3cret-pass", channel=Channel.CLI)
    assert user.role is Role.CLINICIAN


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("cli-dup", "--role", "viewer"), "long-enough-1\n", "already exists"),
        (("cli-short", "--role", "viewer"), "short\n", "a password needs"),
        (("bad name", "--role", "viewer"), "long-enough-1\n", "a username is"),
    ],
    ids=["duplicate", "short-password", "bad-name"],
)
def test_user_add_refuses_bad_accounts_with_exit_2(
    on_backend: Backend, args: tuple[str, ...], stdin: str, message: str
) -> None:
    _run("user", "add", "cli-dup", "--role", "viewer", stdin="long-enough-0\n")
    result = _run("user", "add", *args, stdin=stdin)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_user_add_unknown_role_is_a_usage_error() -> None:
    result = _run("user", "add", "someone", "--role", "overlord", stdin="long-enough-1\n")
    assert result.exit_code == 2


def test_cli_roles_are_the_account_roles() -> None:
    assert [role.value for role in AccountRole] == [role.value for role in Role][::-1]


def test_db_import_then_export_gives_the_same_records(on_backend: Backend, tmp_path: Path) -> None:
    imported = _run("db", "import", *map(str, EXAMPLES))
    assert imported.exit_code == 0, imported.output
    assert "imported 4 new" in imported.stdout
    out = tmp_path / "all.json"
    exported = _run("db", "export", "-o", str(out))
    assert exported.exit_code == 0, exported.output
    by_id = {record["id"]: record for record in json.loads(out.read_text(encoding="utf-8"))}
    for path in EXAMPLES:
        record = parse_record_json(path.read_text(encoding="utf-8"))
        assert by_id[record.id] == record.to_json_dict()
    one = _run("db", "export", "P-0002")
    assert json.loads(one.stdout) == by_id["P-0002"]


def test_db_import_of_a_record_v1_exports_it_as_v2(on_backend: Backend, tmp_path: Path) -> None:
    path = tmp_path / "v1.jsonl"
    path.write_text(json.dumps({**FULL_RECORD_V1, "id": "CLI-V1"}) + "\n", encoding="utf-8")
    assert _run("db", "import", str(path)).exit_code == 0
    exported = json.loads(_run("db", "export", "CLI-V1").stdout)
    assert exported == upgrade(parse_record_v1({**FULL_RECORD_V1, "id": "CLI-V1"})).to_json_dict()
    assert exported["schema"] == "alscare.patient/v2" and "exam" not in exported


def test_db_import_invalid_file_reports_pointers_and_stores_nothing(
    on_backend: Backend, tmp_path: Path
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps([{"id": "CLI-GOOD"}]), encoding="utf-8")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "CLI-OK"}\n\n{"id": "CLI-BAD", "sex": "robot"}\n', encoding="utf-8")
    result = _run("db", "import", str(good), str(bad))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"{bad}: line 3: /sex: unknown id 'robot'"
    missing = _run("db", "export", "CLI-GOOD")
    assert missing.exit_code == 2
    assert "no patient with id 'CLI-GOOD'" in missing.stderr


def test_db_import_existing_id_needs_replace(on_backend: Backend, tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"id": "CLI-REPL", "sex": "female"}), encoding="utf-8")
    assert _run("db", "import", str(path)).exit_code == 0
    path.write_text(json.dumps({"id": "CLI-REPL", "sex": "male"}), encoding="utf-8")
    conflict = _run("db", "import", str(path))
    assert conflict.exit_code == 2
    assert "already exists" in conflict.stderr
    replaced = _run("db", "import", "--replace", str(path))
    assert "replaced 1" in replaced.stdout
    assert json.loads(_run("db", "export", "CLI-REPL").stdout)["sex"] == "male"


def test_db_upgrade_creates_the_schema_of_a_new_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default database is a file in the working directory
    result = _run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"database schema at revision {head_revision()}"
    assert (tmp_path / "alscare.db").is_file()


def test_db_command_on_unreachable_database_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALSCARE_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = _run("db", "upgrade")
    assert result.exit_code == 1
    assert result.stderr.startswith("alscare: the database failed:")


def test_serve_in_production_without_secret_key_exits_2_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = _run("serve", "--port", "1")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "ALSCARE_SECRET_KEY is required" in result.stderr
    assert not (tmp_path / "alscare.db").exists()


def test_settings_defaults_are_production_with_a_local_sqlite_file() -> None:
    settings = load_settings(require_secret_key=False)
    assert settings.env == "production"
    assert settings.database_url == "sqlite:///alscare.db"
    assert settings.secret_key is None


def test_settings_without_a_key_cannot_sign() -> None:
    with pytest.raises(ConfigError):
        load_settings(require_secret_key=False).signing_key()


def test_settings_development_makes_a_throwaway_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALSCARE_ENV", "development")
    first, second = load_settings(), load_settings()
    assert len(first.signing_key()) >= MIN_SECRET_KEY_LENGTH
    assert first.signing_key() != second.signing_key()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ALSCARE_ENV", "staging", "ALSCARE_ENV: "),
        ("ALSCARE_SECRET_KEY", "too-short", "ALSCARE_SECRET_KEY: must be at least 32 characters"),
        ("ALSCARE_LOGIN_MAX_FAILURES", "0", "ALSCARE_LOGIN_MAX_FAILURES: "),
    ],
)
def test_settings_invalid_variable_is_a_one_line_config_error(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALSCARE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("ALSCARE_TOKEN_MINUTES", "5")
    settings = load_settings()
    assert settings.signing_key() == SECRET_KEY
    assert settings.token_minutes == 5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """``alscare serve --demo`` as a process in an empty directory; its URL and first lines."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALSCARE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "alscare", "serve", "--demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
        yield url, lines
    finally:
        process.terminate()
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()


def test_serve_demo_seeds_examples_and_prints_a_working_account(
    demo_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, lines = demo_server
    assert lines[0].startswith("alscare ")
    assert f"on {url}" in lines[0]
    clinician, admin = lines[1].split(), lines[2].split()
    assert clinician[:5] == ["demo", "clinician", "account:", "demo", "password:"]
    assert admin[:5] == ["demo", "admin", "account:", "demo-admin", "password:"]
    assert lines[2].rstrip().endswith("(sees the audit trail at /audit)")
    token = _token(url, clinician[3], clinician[5])
    listed = httpx.get(f"{url}/api/v1/patients", headers={"Authorization": f"Bearer {token}"})
    assert [p["id"] for p in listed.json()] == sorted(r.id for r in demo_records())
    admin_token = _token(url, admin[3], admin[5])
    audit = httpx.get(f"{url}/api/v1/audit", headers={"Authorization": f"Bearer {admin_token}"})
    assert audit.status_code == 200 and any(
        e["username"] == "alscare-demo-seed" for e in audit.json()
    )
    assert (tmp_path / "alscare.db").is_file()


def test_serve_demo_patients_were_seen_three_weeks_ago(demo_server: tuple[str, list[str]]) -> None:
    url, lines = demo_server
    clinician = lines[1].split()
    token = _token(url, clinician[3], clinician[5])
    seen = dt.date.today() - dt.timedelta(days=LATEST_ENTRY_DAYS_AGO)
    for original in demo_records():
        response = httpx.get(
            f"{url}/api/v1/patients/{original.id}", headers={"Authorization": f"Bearer {token}"}
        )
        record = parse_record(response.json())
        assert max(when for _, when in record.dated_entries()) == seen
        assert record.birth_date is None or record.birth_date != original.birth_date


def _token(url: str, username: str, password: str) -> str:
    response = httpx.post(
        f"{url}/api/v1/auth/token", data={"username": username, "password": password}, timeout=30
    )
    return str(response.json()["access_token"])
