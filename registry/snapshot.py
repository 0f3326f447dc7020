"""The snapshot that resolution answers from: one consistent in-memory view of every model's
status and successor and every app setting, read from a database in one transaction (or built
from the curated catalog when there is none). `registry.keeper` keeps it fresh.

Retirement dates (rule 4 of `registry.rules`) are decided when a snapshot is built: `models`
holds the statuses resolution reads (an enabled model past its date shows as `retired`),
`stored` the statuses as read; `next_retirement` is when the keeper must decide again (`at`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, select

from registry.catalog import CURATED, DEFAULT_GLOBAL_SETTINGS, default_setting_key
from registry.db import STATEMENT_TIMEOUT_OPTION, Database
from registry.rules import curated_dates, retirement_view
from registry.schema import AIModel, AppSetting, RegistryStamp
from registry.types import ModelStatus
from registry.usage import NOT_A_CATALOG_CHANGE

STATEMENT_TIMEOUT = 2.0  # PostgreSQL: the server ends a snapshot read stuck behind a lock
MEMO_LIMIT = 8192  # answers memoised per snapshot (bounded: keys come from callers)

ModelKey = tuple[str, str, str]  # (category, provider, model_id)
ModelEntry = tuple[str, str | None]  # (status, successor_model_id)
# The models with a retirement date: key → (retires_at, replacement_model_id).
ModelDates = dict[ModelKey, tuple[datetime, str | None]]

_STAMP = cast(Table, RegistryStamp.__table__)
_MODELS = cast(Table, AIModel.__table__)
_SETTINGS = cast(Table, AppSetting.__table__)


class Snapshot:
    """One consistent view of the catalog and settings; never mutated except its memo dicts."""

    __slots__ = (
        "dated",
        "loaded_at",
        "loaded_wall",
        "memo",
        "models",
        "next_retirement",
        "read_started",
        "resolved",
        "retired",
        "settings",
        "stored",
        "version",
    )

    def __init__(
        self,
        version: int | None,
        models: dict[ModelKey, ModelEntry],
        settings: dict[str, str],
        read_started: float | None = None,
        *,
        dated: ModelDates | None = None,
        now: datetime | None = None,
    ) -> None:
        self.version = version  # None: the curated catalog, not read from a database
        self.settings = settings
        self.loaded_at = time.monotonic()
        # When the read began (monotonic): of two reads, the later one saw the newer database.
        self.read_started = self.loaded_at if read_started is None else read_started
        self.loaded_wall = datetime.now(UTC)
        self.stored = models  # the statuses as read
        self.dated = dated or {}
        view = retirement_view(models, self.dated, settings, now or self.loaded_wall)
        self.models = view.models  # what resolution reads: rule 4 applied
        self.retired = view.retired
        self.next_retirement = view.next_retirement
        # Answers computed from this snapshot; a new snapshot starts empty.
        self.resolved: dict[object, Any] = {}
        self.memo: dict[object, Any] = {}

    @property
    def from_database(self) -> bool:
        return self.version is not None

    def status(self, category: str, provider: str, model_id: str) -> str | None:
        entry = self.models.get((category, provider, model_id))
        return entry[0] if entry is not None else None

    def at(self, now: datetime) -> Snapshot:
        """The same data decided again at `now` (the keeper, at `next_retirement`)."""
        again = Snapshot(
            self.version, self.stored, self.settings, self.read_started, dated=self.dated, now=now
        )
        again.loaded_at, again.loaded_wall = self.loaded_at, self.loaded_wall
        return again

    def remember(self, table: dict[object, Any], key: object, answer: Any) -> None:
        if len(table) >= MEMO_LIMIT:
            table.clear()
        table[key] = answer


def curated_snapshot() -> Snapshot:
    """What resolution knows without a database: the curated catalog, all enabled, with its
    retirement dates and successors."""
    models: dict[ModelKey, ModelEntry] = {}
    dated: ModelDates = {}
    settings = dict(DEFAULT_GLOBAL_SETTINGS)
    for (category, provider), curated in CURATED.items():
        settings[default_setting_key(category, provider)] = curated.default
        for model in curated.models:
            models[(category.value, provider, model.model_id)] = (ModelStatus.ENABLED.value, None)
        for model_id, found in curated_dates(curated.models).items():
            dated[(category.value, provider, model_id)] = found
    return Snapshot(None, models, settings, dated=dated)


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
        models: dict[ModelKey, ModelEntry] = {}
        dated: ModelDates = {}
        for (
            category,
            provider,
            model_id,
            status,
            successor,
            retires,
            replacement,
        ) in connection.execute(
            select(
                _MODELS.c.category,
                _MODELS.c.provider,
                _MODELS.c.model_id,
                _MODELS.c.status,
                _MODELS.c.successor_model_id,
                _MODELS.c.retires_at,
                _MODELS.c.replacement_model_id,
            )
        ):
            models[(category, provider, model_id)] = (status, successor)
            if retires is not None:
                dated[(category, provider, model_id)] = (retires, replacement)
        settings = {
            key: value
            for key, value in connection.execute(select(_SETTINGS.c.key, _SETTINGS.c.value))
        }
    return Snapshot(version, models, settings, read_started=started, dated=dated)
