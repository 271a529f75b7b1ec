"""Storage: SQLAlchemy 2 tables, Alembic migrations, accounts and the audit trail.

``database`` (engine, transactions, schema upgrade), ``tables`` (the schema), ``repository``
(records as append-only revisions of their JSON), ``security`` (accounts, login, tokens),
``audit`` (who did what, when), ``cache`` (records and assessments by revision).
Use cases that combine them live in :mod:`alscare.services`.
"""

from __future__ import annotations

from alscare.storage.database import Database

__all__ = ["Database"]
