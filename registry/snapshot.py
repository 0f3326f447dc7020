"""The snapshot that resolution answers from: one consistent in-memory view of every model's
status and successor and every app setting, read from a database in one transaction (or built
from the curated catalog when there is none). `registry.keeper` keeps it fresh.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, select

from registry.catalog import CURATED, DEFAULT_GLOBAL_SETTINGS, default_setting_key
from registry.db import STATEMENT_TIMEOUT_OPTION, Database
from registry.schema import AIModel, AppSetting, RegistryStamp
from registry.types import ModelStatus
from registry.usage import NOT_A_CATALOG_CHANGE

STATEMENT_TIMEOUT = 2.0  # PostgreSQL: the server ends a snapshot read stuck behind a lock
MEMO_LIMIT = 8192  # answers memoised per snapshot (bounded: keys come from callers)

ModelKey = tuple[str, str, str]  # (category, provider, model_id)
ModelEntry = tuple[str, str | None]  # (status, successor_model_id)

_STAMP = cast(Table, RegistryStamp.__table__)
_MODELS = cast(Table, AIModel.__table__)
_SETTINGS = cast(Table, AppSetting.__table__)


class Snapshot:
    """One consistent view of the catalog and settings; never mutated except its memo dicts."""

    __slots__ = (
        "loaded_at",
        "loaded_wall",
        "memo",
        "models",
        "read_started",
        "resolved",
        "settings",
        "version",
    )

    def __init__(
        self,
        version: int | None,
        models: dict[ModelKey, ModelEntry],
        settings: dict[str, str],
        read_started: float | None = None,
    ) -> None:
        self.version = version  # None: the curated catalog, not read from a database
        self.models = models
        self.settings = settings
        self.loaded_at = time.monotonic()
        # When the read began (monotonic): of two reads, the later one saw the newer database.
        self.read_started = self.loaded_at if read_started is None else read_started
        self.loaded_wall = datetime.now(UTC)
        # Answers computed from this snapshot; a new snapshot starts empty.
        self.resolved: dict[object, Any] = {}
        self.memo: dict[object, Any] = {}

    @property
    def from_database(self) -> bool:
        return self.version is not None

    def status(self, category: str, provider: str, model_id: str) -> str | None:
        entry = self.models.get((category, provider, model_id))
        return entry[0] if entry is not None else None

    def remember(self, table: dict[object, Any], key: object, answer: Any) -> None:
        if len(table) >= MEMO_LIMIT:
            table.clear()
        table[key] = answer


def curated_snapshot() -> Snapshot:
    """What resolution knows without a database: the curated catalog, all enabled."""
    models: dict[ModelKey, ModelEntry] = {}
    settings = dict(DEFAULT_GLOBAL_SETTINGS)
    for (category, provider), curated in CURATED.items():
        settings[default_setting_key(category, provider)] = curated.default
        for model in curated.models:
            models[(category.value, provider, model.model_id)] = (ModelStatus.ENABLED.value, None)
    return Snapshot(None, models, settings)


def _short_read(database: Database) -> Connection:
    return database.engine.connect().execution_options(
        **{STATEMENT_TIMEOUT_OPTION: STATEMENT_TIMEOUT}
    )


def read_stamp(database: Database) -> int:
    with _short_read(database) as connection:
        value = connection.scalar(select(_STAMP.c.version).where(_STAMP.c.id == 1))
    return int(value or 0)


def load_snapshot(database: Database) -> Snapshot:
    """Stamp, statuses and settings from one transaction snapshot (SQLite's read transaction,
    REPEATABLE READ on PostgreSQL), so a change that touched both a status and a default is
    never half-seen."""
    with _short_read(database) as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        return read_snapshot(connection)


def read_snapshot(connection: Connection) -> Snapshot:
    """`load_snapshot` on a connection the caller holds (one transaction, committed)."""
    # Committing a read is no catalog change: it must not mark the keeper stale.
    connection = connection.execution_options(**{NOT_A_CATALOG_CHANGE: True})
    started = time.monotonic()
    with connection.begin():
        version = int(connection.scalar(select(_STAMP.c.version).where(_STAMP.c.id == 1)) or 0)
        models: dict[ModelKey, ModelEntry] = {
            (category, provider, model_id): (status, successor)
            for category, provider, model_id, status, successor in connection.execute(
                select(
                    _MODELS.c.category,
                    _MODELS.c.provider,
                    _MODELS.c.model_id,
                    _MODELS.c.status,
                    _MODELS.c.successor_model_id,
                )
            )
        }
        settings = {
            key: value
            for key, value in connection.execute(select(_SETTINGS.c.key, _SETTINGS.c.value))
        }
    return Snapshot(version, models, settings, read_started=started)
