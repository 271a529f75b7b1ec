"""Real databases and a real server for integration and browser tests.

Import the fixtures into a ``conftest.py`` (``tests/integration/conftest.py`` does)::

    from tests.conftest_server import backend, database, live_server  # noqa: F401

* ``backend`` (module scope) is parametrised ``sqlite`` | ``postgres``: a URL of a fresh, empty
  database. SQLite is a file under pytest's tmp dir. PostgreSQL is a new schema in the ``test``
  database at 127.0.0.1:5432 (``ALSCARE_TEST_POSTGRES`` overrides the server URL), dropped at
  the end, so parallel runs never share tables. Without a reachable server the PostgreSQL
  variant is skipped with the reason (CI, with ALSCARE_REQUIRE_ALL=1, fails instead).
* ``database`` (module scope): a :class:`~alscare.storage.Database` on that URL, upgraded.
* ``live_server`` (module scope): ``alscare.web.app.create_app`` served by uvicorn in a thread
  on a free loopback port, with three accounts (``admin``, ``clinician``, ``viewer``, all with
  password :data:`PASSWORD`). ``live_server.url``, ``.token(name)``, ``.client(name)`` (an
  ``httpx.Client`` with that account's bearer token; ``None`` for no token), ``.database``,
  ``.settings``. Login failures lock an account after :data:`MAX_FAILURES` tries here.

Tests share a module's server and database: give each test its own patient ids.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from sqlalchemy import make_url

from alscare import KnowledgeBase, services
from alscare.settings import Settings, load_settings
from alscare.storage.database import Database
from alscare.storage.security import Actor, Channel, Role

__all__ = [
    "ACCOUNTS",
    "MAX_FAILURES",
    "PASSWORD",
    "SECRET_KEY",
    "Backend",
    "LiveServer",
    "backend",
    "database",
    "live_server",
    "postgres_schema",
    "serve_in_thread",
    "server_settings",
]

PASSWORD: Final = "correct horse battery staple"
SECRET_KEY: Final = "test-secret-key-that-is-long-enough-0123456789"
MAX_FAILURES: Final = 3
ACCOUNTS: Final = {"admin": Role.ADMIN, "clinician": Role.CLINICIAN, "viewer": Role.VIEWER}
POSTGRES: Final = os.environ.get(
    "ALSCARE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
ADMIN_ACTOR: Final = Actor(username="test-setup", role=Role.ADMIN, channel=Channel.CLI)


@dataclass(frozen=True)
class Backend:
    name: str  # sqlite | postgres
    url: str


_schemas = iter(range(1_000_000))


def postgres_schema() -> Iterator[str]:
    """A generator fixture body: a fresh PostgreSQL schema's URL, dropped afterwards."""
    import psycopg

    server = make_url(POSTGRES)
    conninfo = (
        f"host={server.host or '127.0.0.1'} port={server.port or 5432} "
        f"user={server.username or 'postgres'} dbname={server.database or 'test'}"
    )
    try:
        admin = psycopg.connect(conninfo, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as error:
        reason = " ".join(str(error).split())
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES}: {reason}")
    schema = f"alscare_test_{os.getpid()}_{next(_schemas)}"
    with admin:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            url = server.set(drivername="postgresql+psycopg").render_as_string(False)
            yield f"{url}?options={quote(f'-csearch_path={schema}')}"
        finally:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "alscare.db"
        yield Backend("sqlite", f"sqlite:///{path}")
        return
    for url in postgres_schema():
        yield Backend("postgres", url)


@pytest.fixture(scope="module")
def database(backend: Backend) -> Iterator[Database]:
    db = Database(backend.url)
    db.upgrade()
    yield db
    db.dispose()


def server_settings(url: str, **overrides: Any) -> Settings:
    """Production settings for tests: a known secret key and a short lockout threshold."""
    values: dict[str, Any] = {
        "env": "production",
        "database_url": url,
        "secret_key": SECRET_KEY,
        "login_max_failures": MAX_FAILURES,
        "login_lockout_minutes": 15,
    }
    values.update(overrides)
    return load_settings(**values)


@dataclass
class LiveServer:
    url: str
    database: Database
    settings: Settings
    _tokens: dict[str, str] = field(default_factory=dict)

    def token(self, username: str, password: str = PASSWORD) -> str:
        """A bearer token for the account, from the real token endpoint (cached)."""
        if username not in self._tokens:
            response = httpx.post(
                f"{self.url}/api/v1/auth/token",
                data={"username": username, "password": password},
                timeout=30,  # as the clients: a login hashes slowly on a busy machine
            )
            response.raise_for_status()
            self._tokens[username] = response.json()["access_token"]
        return self._tokens[username]

    def client(self, username: str | None = None) -> httpx.Client:
        """An HTTP client on the server, with the account's bearer token (None: no token)."""
        headers = {"Authorization": f"Bearer {self.token(username)}"} if username else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def serve_in_thread(app: object) -> Iterator[str]:
    """A generator: serve an ASGI app with uvicorn in a thread, yield its base URL, stop it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        log_level="warning",
        access_log=False,
        lifespan="on",
        ws="none",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


@pytest.fixture(scope="module")
def live_server(backend: Backend, database: Database, kb: KnowledgeBase) -> Iterator[LiveServer]:
    from alscare.web.app import create_app

    settings = server_settings(backend.url)
    for username, role in ACCOUNTS.items():
        services.add_user(database, ADMIN_ACTOR, username, PASSWORD, role)
    app = create_app(settings, database=database, kb=kb)
    for url in serve_in_thread(app):
        yield LiveServer(url=url, database=database, settings=settings)
