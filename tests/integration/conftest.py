"""Integration fixtures: real SQLite and PostgreSQL databases and a live server
(see ``tests/conftest_server.py``; browser tests import the same fixtures)."""

from __future__ import annotations

from tests.conftest_server import backend, database, live_server

__all__ = ["backend", "database", "live_server"]
