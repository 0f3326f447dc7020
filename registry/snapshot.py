"""The snapshot that resolution answers from: one consistent in-memory view of every model's
status and successor and every app setting, read from a database in one transaction (or built
from the curated catalog when there is none). `registry.keeper` keeps it fresh.

Retirement dates (rule 4 of `registry.rules`) are decided when a snapshot is built: `models`
holds the statuses resolution reads (an enabled model past its date shows as `retired`),
`stored` the statuses as read, `dated` the models' retirement instants and replacements;
`next_retirement` is when the keeper must decide again (`at`).

A fresh snapshot is usually built from the previous one (`read_changes`): the rows whose
`change_version` (the change stamp of the write that last touched them) is at least the
previous snapshot's stamp (the rows of the change it was loaded at are read again: a change
made in plain SQL marks its rows with the stamp before its own bump), plus the settings (a few
dozen rows). A change the rows cannot tell (a deleted model, a renamed key) makes it a full
read (`read_snapshot`).
"""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    CompoundSelect,
    Connection,
    Select,
    Table,
    bindparam,
    func,
    literal_column,
    null,
    select,
    sql,
    union_all,
)
from sqlalchemy.engine import Dialect

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


# What a snapshot keeps of a model row, in the order `_entry_and_date` takes them.
_ENTRY_COLUMNS = (
    _MODELS.c.status,
    _MODELS.c.successor_model_id,
    _MODELS.c.retires_at,
    _MODELS.c.replacement_model_id,
)
_KEY_COLUMNS = (_MODELS.c.category, _MODELS.c.provider, _MODELS.c.model_id)


def _entry_and_date(
    status: str, successor: str | None, retires: datetime | None, replacement: str | None
) -> tuple[ModelEntry, tuple[datetime, str | None] | None]:
    """One model's entry in the snapshot and its retirement (None without a date), from the
    row's `_ENTRY_COLUMNS`. The one-statement read passes the driver's values, which the
    column type has not made UTC-aware yet."""
    if retires is not None:
        retires = retires.replace(tzinfo=UTC) if retires.tzinfo is None else retires.astimezone(UTC)
    return (status, successor), (None if retires is None else (retires, replacement))


class Snapshot:
    """One consistent view of the catalog and settings; never mutated except its memo dicts."""

    __slots__ = (
        "dated",
        "full",
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
        full: bool = True,
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
        # False: built from the previous snapshot and the rows changed since (`read_changes`).
        self.full = full
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
            self.version,
            self.stored,
            self.settings,
            self.read_started,
            full=self.full,
            dated=self.dated,
            now=now,
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


def load_snapshot(database: Database) -> Snapshot:
    """Stamp, statuses and settings from one transaction snapshot (SQLite's read transaction,
    REPEATABLE READ on PostgreSQL), so a change that touched both a status and a default is
    never half-seen."""
    with _short_read(database) as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        return read_snapshot(connection)


def load_changes(database: Database, base: Snapshot) -> Snapshot | None:
    """`read_changes` on a short connection of the database's pool (polling)."""
    with _short_read(database) as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        return read_changes(connection, base)


def read_snapshot(connection: Connection) -> Snapshot:
    """`load_snapshot` on a connection the caller holds (one transaction, committed)."""
    # Committing a read is no catalog change: it must not mark the keeper stale.
    connection = connection.execution_options(**{NOT_A_CATALOG_CHANGE: True})
    started = time.monotonic()
    with connection.begin():
        version = _version(connection)
        models, dates = _models(connection, select(*_KEY_COLUMNS, *_ENTRY_COLUMNS))
        settings = _settings(connection)
    return Snapshot(version, models, settings, read_started=started, dated=_only_dated(dates))


def read_changes(connection: Connection, base: Snapshot) -> Snapshot | None:
    """`base` brought up to date from one transaction: None when the stamp has not moved (a
    notification that announced nothing), else a snapshot built from `base` and the rows changed
    since its stamp; a full read when the changed rows cannot tell (a model deleted)."""
    if base.version is None:
        return read_snapshot(connection)
    connection = connection.execution_options(**{NOT_A_CATALOG_CHANGE: True})
    started = time.monotonic()
    with connection.begin():
        version = _version(connection)
        if version == base.version:
            return None
        changed = _models(
            connection,
            select(*_KEY_COLUMNS, *_ENTRY_COLUMNS).where(_MODELS.c.change_version >= base.version),
        )
        models, dated = _merged(base, *changed)
        # Rows are never deleted by the registry itself; one that was (plain SQL, a test) or a
        # changed key leaves an entry behind, which the count shows: read everything.
        if connection.scalar(select(func.count()).select_from(_MODELS)) != len(models):
            models, dates = _models(connection, select(*_KEY_COLUMNS, *_ENTRY_COLUMNS))
            dated = _only_dated(dates)
        settings = _settings(connection)
    return Snapshot(version, models, settings, read_started=started, full=False, dated=dated)


def read_changes_at_once(driver: Any, dialect: Dialect, base: Snapshot | None) -> Snapshot | None:
    """`read_changes` (`base` None: `read_snapshot`) in one statement, so one round trip, on a
    psycopg connection in autocommit: a single statement sees one consistent snapshot of the
    database. A process whose threads keep the GIL busy waits for it after every round trip
    (each costs it tens of milliseconds then), so the listener reads this way."""
    started = time.monotonic()
    since = -1 if base is None else base.version
    version, count = 0, 0
    changed: dict[ModelKey, ModelEntry] = {}
    changed_dates: dict[ModelKey, tuple[datetime, str | None] | None] = {}
    settings: dict[str, str] = {}
    for part, number, first, second, third, *entry in driver.execute(
        _changes_sql(dialect), {"since": since}
    ):
        if part == 0:
            key = (first, second, third)
            changed[key], changed_dates[key] = _entry_and_date(*entry)
        elif part == 1:
            settings[first] = second
        elif part == 2:
            version = int(number)
        else:
            count = int(number)
    if base is None:
        dated = _only_dated(changed_dates)
        return Snapshot(version, changed, settings, read_started=started, dated=dated)
    if version == base.version:
        return None
    models, dated = _merged(base, changed, changed_dates)
    if len(models) != count:  # a model deleted, or a key changed: see `read_changes`
        return read_changes_at_once(driver, dialect, None)
    return Snapshot(version, models, settings, read_started=started, full=False, dated=dated)


def _only_dated(dates: dict[ModelKey, tuple[datetime, str | None] | None]) -> ModelDates:
    return {key: found for key, found in dates.items() if found is not None}


def _merged(
    base: Snapshot,
    changed: dict[ModelKey, ModelEntry],
    changed_dates: dict[ModelKey, tuple[datetime, str | None] | None],
) -> tuple[dict[ModelKey, ModelEntry], ModelDates]:
    """`base`'s stored statuses and dates with the changed rows' in their place (a row whose
    date was cleared loses its entry in the dates)."""
    dated = dict(base.dated)
    for key, found in changed_dates.items():
        if found is None:
            dated.pop(key, None)
        else:
            dated[key] = found
    return base.stored | changed, dated


@functools.cache
def _changes_sql(dialect: Dialect) -> str:
    """Tagged rows of one statement: 0 the models changed since `since` (key and entry
    columns), 1 the settings, 2 the stamp, 3 the number of models."""
    entry = (*_KEY_COLUMNS, *_ENTRY_COLUMNS)
    # Typed: PostgreSQL matches the branches' types pair by pair, an untyped NULL as text.
    nothing = [sql.cast(null(), column.type) for column in entry]
    number = sql.cast(null(), BigInteger)
    since = bindparam("since", type_=BigInteger)
    stamp_row = _STAMP.c.id == literal_column("1")
    statement: CompoundSelect[Any] = union_all(
        select(literal_column("0"), number, *entry).where(_MODELS.c.change_version >= since),
        select(literal_column("1"), number, _SETTINGS.c.key, _SETTINGS.c.value, *nothing[2:]),
        select(literal_column("2"), _STAMP.c.version, *nothing).where(stamp_row),
        select(literal_column("3"), func.count(), *nothing).select_from(_MODELS),
    )
    return str(statement.compile(dialect=dialect))


def _version(connection: Connection) -> int:
    return int(connection.scalar(select(_STAMP.c.version).where(_STAMP.c.id == 1)) or 0)


def _models(
    connection: Connection, query: Select[Any]
) -> tuple[dict[ModelKey, ModelEntry], dict[ModelKey, tuple[datetime, str | None] | None]]:
    """The rows' entries, and their retirement by key (None for a row without a date)."""
    models: dict[ModelKey, ModelEntry] = {}
    dates: dict[ModelKey, tuple[datetime, str | None] | None] = {}
    for category, provider, model_id, *columns in connection.execute(query):
        key = (category, provider, model_id)
        models[key], dates[key] = _entry_and_date(*columns)
    return models, dates


def _settings(connection: Connection) -> dict[str, str]:
    return {
        key: value for key, value in connection.execute(select(_SETTINGS.c.key, _SETTINGS.c.value))
    }
