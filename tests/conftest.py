"""Shared fixtures: a migrated database on SQLite and on PostgreSQL for every data-layer test.

Each test gets its own database: a copy of a migrated SQLite file, or a PostgreSQL database
cloned from a migrated template (CREATE DATABASE … TEMPLATE), so tests never see each other.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from registry import migrate
from registry.config import PROVIDER_KEY_ENV
from registry.db import Database, set_database

POSTGRES_ADMIN_URL = os.environ.get(
    "REGISTRY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SHARED_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "providers"
BACKENDS = ["sqlite", "postgresql"]


def _pg_admin() -> psycopg.Connection:
    url = make_url(POSTGRES_ADMIN_URL)
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database,
        autocommit=True,
    )


def postgres_url(name: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def create_postgres_database(template: str | None = None) -> str:
    name = f"mr_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        suffix = f' TEMPLATE "{template}"' if template else ""
        admin.execute(f'CREATE DATABASE "{name}"{suffix}')
    return name


def drop_postgres_database(name: str) -> None:
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "registry.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    name = create_postgres_database()
    db = Database(postgres_url(name))
    migrate.upgrade(db)
    db.dispose()
    yield name
    drop_postgres_database(name)


@pytest.fixture(autouse=True)
def hermetic_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's keys, base URLs or data folder."""
    for name in list(os.environ):
        if name.startswith("REGISTRY_") and name != "REGISTRY_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    for env in [*PROVIDER_KEY_ENV.values(), "AZURE_SPEECH_REGION"]:
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(tmp_path / "data"))


def make_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Database:
    """A fresh migrated database of the backend, dropped when the test ends."""
    if backend == "sqlite":
        path = tmp_path / f"registry-{uuid.uuid4().hex[:6]}.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
        request.addfinalizer(db.dispose)
        return db
    name = create_postgres_database(template=request.getfixturevalue("postgres_template"))
    db = Database(postgres_url(name))

    def cleanup() -> None:
        db.dispose()
        drop_postgres_database(name)

    request.addfinalizer(cleanup)
    return db


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The process-wide database for this test, on each backend in turn."""
    db = make_database(request.param, tmp_path, request)
    set_database(db)
    yield db
    set_database(None)


@pytest.fixture
def sqlite_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """For tests about behaviour that does not depend on the backend (pages, CLI output)."""
    db = make_database("sqlite", tmp_path, request)
    set_database(db)
    yield db
    set_database(None)
