"""Alembic environment: one chain for SQLite and PostgreSQL, in its own version table."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from registry import config as registry_config
from registry.db import Database
from registry.migrate import VERSION_TABLE, migration_transaction
from registry.schema import Base

alembic_config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        # SQLite cannot ALTER constraints in place; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_offline() -> None:
    url = alembic_config.get_main_option("sqlalchemy.url") or registry_config.database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = alembic_config.attributes.get("connection")
    if connection is not None:  # registry.migrate holds the migration lock already
        _run_on(connection)
        return
    # The alembic command line: the same engine settings and migration lock as `migrate`.
    url = alembic_config.get_main_option("sqlalchemy.url") or registry_config.database_url()
    database = Database(url)
    try:
        with migration_transaction(database) as locked:
            _run_on(locked)
    finally:
        database.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
