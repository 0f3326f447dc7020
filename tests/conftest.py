"""Shared fixtures: a migrated database on SQLite and on PostgreSQL for every data-layer test.

Each test gets its own database: a copy of a migrated SQLite file, or a PostgreSQL database
cloned from a migrated template (CREATE DATABASE … TEMPLATE), so tests never see each other.
Each test also gets its own default `Registry` (as Flask tests get their own app): one on the
test's database with the `database` fixtures, else one built from the test's hermetic
environment; it is closed when the test ends, so no snapshot or thread outlives its test.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry import migrate
from registry.client import Registry
from registry.config import PROVIDER_KEY_ENV
from registry.db import Database
from registry.scratch import (
    BACKENDS,
    create_postgres_database,
    drop_postgres_database,
    postgres_url,
)
from registry.testing import as_default

# Fixtures shared by the dashboard test modules.
pytest_plugins = ["tests.dashboard_support"]

SHARED_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "providers"


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


@pytest.fixture(autouse=True)
def registry_instance(hermetic_environment: None) -> Iterator[Registry]:
    """This test's default registry, from its hermetic environment (the `database` fixtures
    put one on their database in its place). Whatever default the test leaves is closed."""
    with Registry.from_environment() as registry, as_default(registry):
        yield registry


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


@pytest.fixture(params=list(BACKENDS))
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """This test's database, on each backend in turn, with the default registry on it."""
    db = make_database(request.param, tmp_path, request)
    with Registry(database=db) as registry, as_default(registry):
        yield db


@pytest.fixture
def sqlite_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """For tests about behaviour that does not depend on the backend (pages, CLI output)."""
    db = make_database("sqlite", tmp_path, request)
    with Registry(database=db) as registry, as_default(registry):
        yield db


@pytest.fixture
def undated_catalog(database: Database) -> Database:
    """The test's database as if an admin had cleared every date and successor the lifecycle
    data gave it (so no discovery fills them again), for tests about a catalog nobody dated:
    the bundled dates are real, and the calendar moves on."""
    from sqlalchemy import select, update

    from registry.lifecycle import FIELDS, dataset
    from registry.schema import AIModel
    from registry.types import SOURCE_ADMIN

    prefix = f"dataset {dataset().name} "
    with database.write() as session:
        for row in session.execute(select(AIModel.id, AIModel.metadata_sources)).all():
            sources = dict(row.metadata_sources or {})
            dated = [f for f in FIELDS if sources.get(f, "").startswith(prefix)]
            if dated:
                values = dict.fromkeys(dated) | {
                    "metadata_sources": sources | dict.fromkeys(dated, SOURCE_ADMIN)
                }
                session.execute(update(AIModel).where(AIModel.id == row.id).values(**values))
    return database


# The dashboard's page logic (AppTest) reads and writes through the data layer, which the
# data-layer modules test on both backends; the pages run on SQLite only, which keeps CI within
# its ten minutes.
ONE_BACKEND_MODULES = "test_dashboard_"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("database") == "postgresql"
        page_logic = item.path.name.startswith(ONE_BACKEND_MODULES)
        (dropped if on_postgres and page_logic else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
