"""Scratch databases for tests, benchmarks and demos: migrated, isolated, removed afterwards.

PostgreSQL scratch databases are created next to `REGISTRY_TEST_POSTGRES_URL` (default: the
local server's `test` database, user postgres), optionally cloned from a migrated template.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from registry.db import Database, set_database

BACKENDS = ("sqlite", "postgresql")


def postgres_admin_url() -> str:
    return os.environ.get(
        "REGISTRY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )


def _admin() -> psycopg.Connection:
    url = make_url(postgres_admin_url())
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database,
        autocommit=True,
    )


def postgres_url(name: str) -> str:
    """The SQLAlchemy URL of database `name` on the scratch server."""
    return make_url(postgres_admin_url()).set(database=name).render_as_string(hide_password=False)


def create_postgres_database(template: str | None = None, prefix: str = "mr_scratch") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    suffix = f' TEMPLATE "{template}"' if template else ""
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"{suffix}')
    return name


def postgres_activity(name: str) -> tuple[int, int]:
    """(transactions so far, connections open now) of database `name`. A backend's
    transactions are counted once it reports them: at the latest when it disconnects."""
    with _admin() as admin:
        row = admin.execute(
            "SELECT xact_commit + xact_rollback, numbackends FROM pg_stat_database "
            "WHERE datname = %s",
            (name,),
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def drop_postgres_database(name: str) -> None:
    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_database(backend: str, *, migrated: bool = True) -> Iterator[Database]:
    """A fresh database (migrated unless asked not to), set as the process-wide one."""
    from registry import migrate

    with tempfile.TemporaryDirectory() as folder:
        pg_name = create_postgres_database() if backend == "postgresql" else None
        url = postgres_url(pg_name) if pg_name else f"sqlite:///{Path(folder) / 'scratch.db'}"
        db = Database(url)
        try:
            if migrated:
                migrate.upgrade(db)
            set_database(db)
            yield db
        finally:
            set_database(None)
            db.dispose()
            if pg_name:
                drop_postgres_database(pg_name)
