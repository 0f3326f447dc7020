"""Scratch databases for benchmarks: a migrated SQLite file or PostgreSQL database per run."""

from __future__ import annotations

import os
import statistics
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from registry import migrate
from registry.db import Database, set_database

POSTGRES_ADMIN_URL = os.environ.get(
    "REGISTRY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")


def _admin() -> psycopg.Connection:
    url = make_url(POSTGRES_ADMIN_URL)
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database,
        autocommit=True,
    )


@contextmanager
def scratch_database(backend: str) -> Iterator[Database]:
    """A freshly migrated database, set as the process-wide one, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            db = Database(f"sqlite:///{Path(folder) / 'bench.db'}")
            migrate.upgrade(db)
            set_database(db)
            try:
                yield db
            finally:
                set_database(None)
                db.dispose()
        return
    name = f"mr_bench_{uuid.uuid4().hex[:10]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db = Database(make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False))
    try:
        migrate.upgrade(db)
        set_database(db)
        yield db
    finally:
        set_database(None)
        db.dispose()
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def median(samples: list[float]) -> float:
    return statistics.median(samples)
