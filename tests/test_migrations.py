"""One Alembic chain for both backends: up, down, up again, and no drift from the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from registry import migrate
from registry.db import Database
from registry.schema import AIModel
from registry.scratch import create_postgres_database, drop_postgres_database, postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        request.addfinalizer(db.dispose)
        return db
    name = create_postgres_database()
    db = Database(postgres_url(name))

    def cleanup() -> None:
        db.dispose()
        drop_postgres_database(name)

    request.addfinalizer(cleanup)
    return db


def test_upgrade_downgrade_upgrade_leaves_a_seeded_schema_without_drift(
    empty_database: Database,
) -> None:
    assert not migrate.is_up_to_date(empty_database)
    migrate.upgrade(empty_database)
    migrate.check(empty_database)  # raises when the ORM and the migrations disagree
    migrate.downgrade(empty_database)
    tables = set(inspect(empty_database.engine).get_table_names())
    assert tables <= {"registry_alembic_version"}
    migrate.upgrade(empty_database)
    migrate.check(empty_database)
    assert migrate.is_up_to_date(empty_database)
    with empty_database.read() as session:
        statuses = set(session.scalars(select(AIModel.status)))
    assert statuses == {"enabled"}


def test_json_metadata_is_jsonb_on_postgresql(empty_database: Database) -> None:
    migrate.upgrade(empty_database)
    columns = {c["name"]: c for c in inspect(empty_database.engine).get_columns("ai_models")}
    kind = type(columns["provider_metadata"]["type"]).__name__
    assert kind == ("JSONB" if empty_database.dialect == "postgresql" else "JSON")


def test_the_registry_keeps_its_own_version_table(empty_database: Database) -> None:
    migrate.upgrade(empty_database)
    tables = set(inspect(empty_database.engine).get_table_names())
    assert "registry_alembic_version" in tables
    assert "alembic_version" not in tables  # the main application's own chain stays free
