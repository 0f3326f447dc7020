"""One Alembic chain for both backends: up, down, up again, and no drift from the models."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import delete, func, inspect, select

from registry import migrate
from registry.catalog import CURATED
from registry.db import Database
from registry.demo import StandInProviders
from registry.discovery import discover_models
from registry.errors import DatabaseError
from registry.schema import AIModel, AppSetting
from registry.scratch import create_postgres_database, drop_postgres_database, postgres_url
from registry.settings import set_global_config
from registry.store import (
    get_default_model_for_provider,
    get_enabled_models_for_provider,
    get_model_by_provider_id,
    set_default_model,
    update_model_status,
)
from registry.types import Category, ModelSource, ModelStatus


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


def _admin_visible_state(database: Database) -> tuple[list[tuple[str | None, ...]], dict[str, str]]:
    """What an admin sees and shaped: every model with its status and notes, every setting."""
    with database.read() as session:
        models = sorted(
            tuple(row)
            for row in session.execute(
                select(
                    AIModel.provider,
                    AIModel.category,
                    AIModel.model_id,
                    AIModel.status,
                    AIModel.source,
                    AIModel.admin_notes,
                )
            )
        )
        settings = {k: v for k, v in session.execute(select(AppSetting.key, AppSetting.value))}
    return models, settings


def test_downgrading_the_seed_keeps_admin_data_and_upgrading_again_changes_nothing(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with StandInProviders() as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        discover_models("text", ["openai"])
    # The refresh re-listed curated models: the rows the seed would insert exist already.
    assert get_model_by_provider_id("openai", "gpt-4o", "text").source is ModelSource.API
    retired = get_model_by_provider_id("openai", "gpt-4.1", "text")
    update_model_status(retired.id, "disabled", notes="too slow for stories")
    set_default_model("openai", "text", "gpt-5")
    set_global_config("text", "openai", "gpt-5", temperature=0.3)
    before = _admin_visible_state(database)

    migrate.downgrade(database, "0001")
    assert _admin_visible_state(database) == before
    migrate.upgrade(database)
    assert _admin_visible_state(database) == before
    assert migrate.is_up_to_date(database)


def test_upgrading_again_seeds_only_what_is_missing(database: Database) -> None:
    migrate.downgrade(database, "0001")
    with database.engine.begin() as connection:
        connection.execute(delete(AppSetting).where(AppSetting.key == "ai.mistral.default_model"))
        connection.execute(
            delete(AIModel).where(AIModel.provider == "mistral", AIModel.category == "text")
        )
    migrate.upgrade(database)
    curated = CURATED[(Category.TEXT, "mistral")]
    assert get_default_model_for_provider("mistral", "text") == curated.default
    assert {m.model_id for m in get_enabled_models_for_provider("mistral", "text")} == {
        m.model_id for m in curated.models
    }


def test_dropping_the_schema_refuses_while_it_holds_admin_data(database: Database) -> None:
    update_model_status(get_model_by_provider_id("openai", "gpt-4o", "text").id, "disabled")
    with pytest.raises(DatabaseError, match="refusing to drop") as error:
        migrate.downgrade(database)
    assert len(str(error.value).splitlines()) == 1
    assert migrate.is_up_to_date(database)  # nothing was undone
    assert get_model_by_provider_id("openai", "gpt-4o", "text").status is ModelStatus.DISABLED


def _wait_for_text(paths: list[Path], text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(text in p.read_text() for p in paths):
        assert time.monotonic() < deadline, [p.read_text() for p in paths]
        time.sleep(0.05)


def test_two_migrate_processes_at_once_wait_for_each_other_and_both_succeed(
    empty_database: Database, tmp_path: Path
) -> None:
    env = dict(os.environ) | {"REGISTRY_DATABASE_URL": empty_database.url}
    logs = [tmp_path / f"migrate-{i}.err" for i in range(2)]
    # Hold the migration lock, so both processes must meet it rather than merely race.
    with migrate.migration_transaction(empty_database):
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "registry", "migrate"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=log.open("w"),
                text=True,
            )
            for log in logs
        ]
        _wait_for_text(logs, "waiting for another migration")
    for process, log in zip(processes, logs, strict=True):
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0, log.read_text()
        assert "newest revision" in out and "Traceback" not in log.read_text()
    assert migrate.is_up_to_date(empty_database)
    with empty_database.read() as session:
        seeded = session.scalar(select(func.count()).select_from(AIModel))
    assert seeded == sum(len(p.models) for p in CURATED.values())
