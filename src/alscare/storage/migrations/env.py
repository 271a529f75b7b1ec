"""Alembic environment: runs the migrations on the connection that ``Database.upgrade`` passes.

alscare runs migrations programmatically (``alscare serve`` and every database command upgrade
the schema first); there is no alembic.ini. To write a new migration, change
``storage/tables.py`` and autogenerate against a database at head, e.g.::

    python -c "from alembic import command; from alembic.config import Config; \\
        c = Config(); c.set_main_option('script_location', 'alscare.storage:migrations'); \\
        c.set_main_option('sqlalchemy.url', 'sqlite:///head.db'); \\
        command.revision(c, 'what changed', autogenerate=True)"

then read the result, keep it working on SQLite (batch mode) and PostgreSQL, and add it to git.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from alscare.storage.tables import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    # Only for autogenerating a new revision from the command line (see the docstring).
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.begin() as own_connection:
        _run(own_connection)


_main()
