"""Integration fixtures: real SQLite and PostgreSQL databases and a live server
(see ``tests/conftest_server.py``; browser tests import the same fixtures), and ``api_client``,
the server's HTTP clients by account, ``clinician`` and ``admin``, a module's clients with
those accounts' tokens, and ``cli``, the command line run in this process."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.cli_runner import cli
from tests.conftest_server import LiveServer, backend, database, live_server

__all__ = ["admin", "api_client", "backend", "cli", "clinician", "database", "live_server"]


@pytest.fixture(scope="module")
def api_client(live_server: LiveServer) -> Iterator[Callable[[str | None], httpx.Client]]:
    """``api_client(username)``: one HTTP client of the module's server with that account's
    bearer token (None: without a token), closed when the module ends."""
    clients: dict[str | None, httpx.Client] = {}

    def client(username: str | None) -> httpx.Client:
        if username not in clients:
            clients[username] = live_server.client(username)
        return clients[username]

    yield client
    for opened in clients.values():
        opened.close()


@pytest.fixture(scope="module")
def clinician(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client("clinician") as client:
        yield client


@pytest.fixture(scope="module")
def admin(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client("admin") as client:
        yield client
