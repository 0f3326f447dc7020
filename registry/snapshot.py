"""The in-process snapshot that resolution answers from: fresh within a second, outage-proof.

A `SnapshotKeeper` belongs to one `Database` object. It loads the catalog's statuses,
successors and every app setting into plain dicts (`Snapshot`), and a daemon thread keeps them
fresh:

- every `POLL_INTERVAL` seconds it reads the one-row change stamp (`registry_stamp.version`,
  bumped in the same transaction as every write through `Database.write()`, by any process) and
  reloads when it moved; every `SNAPSHOT_TTL` seconds it reloads anyway (backstop);
- a commit made by *this* process marks the keeper dirty, and the next lookup re-checks the
  stamp first, so a process always sees its own changes;
- when the database cannot be reached, the last snapshot (or, if none was ever loaded, the
  curated catalog) keeps serving; one warning is logged per outage, checks back off to every
  `OUTAGE_RETRY_MAX` seconds, and recovery (logged once) reloads by itself.

Lookups never do I/O except right after a local commit, and never raise on database faults.
The keeper follows `registry.db.set_database()`: a lookup against another `Database` object
starts a new keeper, and the old one's thread stops.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, event, select

from registry import db as _db
from registry.catalog import CURATED, DEFAULT_GLOBAL_SETTINGS, default_setting_key
from registry.db import Database, get_database
from registry.schema import AIModel, AppSetting, RegistryStamp
from registry.types import ModelStatus
from registry.usage import NOT_A_CATALOG_CHANGE, Fallback, FallbackRecorder

logger = logging.getLogger(__name__)
# Fallback lines come from the module the application calls.
fallback_logger = logging.getLogger("registry.resolution")

# Tunables (seconds). Read when a keeper starts.
POLL_INTERVAL = 0.25  # stamp check: freshness is this plus the reload time
SNAPSHOT_TTL = 300.0  # full reload even when the stamp did not move (the original plan's TTL)
OUTAGE_RETRY_MIN = 1.0  # first re-check after a failure; doubles up to …
OUTAGE_RETRY_MAX = 5.0
FLUSH_INTERVAL = 10.0  # fallback counts → database
LOG_INTERVAL = 300.0  # one log line per (requested model, reason) per interval
MEMO_LIMIT = 8192  # answers memoised per snapshot (bounded: keys come from callers)

ModelKey = tuple[str, str, str]  # (category, provider, model_id)
ModelEntry = tuple[str, str | None]  # (status, successor_model_id)

_WROTE = "registry_committed_catalog_change"
_STAMP = cast(Table, RegistryStamp.__table__)
_MODELS = cast(Table, AIModel.__table__)
_SETTINGS = cast(Table, AppSetting.__table__)


class Snapshot:
    """One consistent view of the catalog and settings; never mutated except its memo dicts."""

    __slots__ = ("loaded_at", "loaded_wall", "memo", "models", "resolved", "settings", "version")

    def __init__(
        self, version: int | None, models: dict[ModelKey, ModelEntry], settings: dict[str, str]
    ) -> None:
        self.version = version  # None: the curated catalog, not read from a database
        self.models = models
        self.settings = settings
        self.loaded_at = time.monotonic()
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


def read_stamp(database: Database) -> int:
    with database.engine.connect() as connection:
        value = connection.scalar(select(_STAMP.c.version).where(_STAMP.c.id == 1))
    return int(value or 0)


def load_snapshot(database: Database) -> Snapshot:
    """Stamp, statuses and settings from one transaction snapshot (SQLite's read transaction,
    REPEATABLE READ on PostgreSQL), so a change that touched both a status and a default is
    never half-seen."""
    with database.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
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
    return Snapshot(version, models, settings)


def one_line(exc: BaseException) -> str:
    """A driver error as one line, without SQL or parameters."""
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:300]


class SnapshotKeeper:
    """Keeps one database's snapshot fresh; lookups read `snapshot` without I/O."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.snapshot = curated_snapshot()
        # Set (after the commit) when this process committed a change; see refresh_local().
        self.dirty = False
        self.recorder = FallbackRecorder()
        self._record = self.recorder.events.append
        self._logged: dict[object, float] = {}
        self._outage = False
        self._state_lock = threading.Lock()
        self._local_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: list[tuple[str, Callable[..., None]]] = []
        self.poll_interval = POLL_INTERVAL
        self.ttl = SNAPSHOT_TTL
        self.retry_min = OUTAGE_RETRY_MIN
        self.retry_max = OUTAGE_RETRY_MAX
        self.flush_interval = FLUSH_INTERVAL
        self.log_interval = LOG_INTERVAL

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._attach()
        try:
            self._install(load_snapshot(self.database))
        except Exception as exc:
            self._failed(exc)
        self._thread = threading.Thread(target=self._run, name="registry-snapshot", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._detach()

    @property
    def in_outage(self) -> bool:
        return self._outage

    def _attach(self) -> None:
        def on_commit(connection: Any) -> None:
            if not connection.get_execution_options().get(NOT_A_CATALOG_CHANGE):
                connection.info[_WROTE] = True

        def on_checkin(_dbapi_connection: Any, record: Any) -> None:
            # Checked in after the transaction ended: the change is visible to a re-read.
            if record is not None and record.info.pop(_WROTE, False):
                self.dirty = True

        self._listeners = [("commit", on_commit), ("checkin", on_checkin)]
        for name, listener in self._listeners:
            event.listen(self.database.engine, name, listener)

    def _detach(self) -> None:
        listeners, self._listeners = self._listeners, []
        for name, listener in listeners:
            with contextlib.suppress(Exception):  # already removed, or the engine is gone
                event.remove(self.database.engine, name, listener)

    # freshness ---------------------------------------------------------------------------

    def _install(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def _check(self) -> None:
        """Reload when the stamp moved, or the snapshot is older than the TTL."""
        current = self.snapshot
        version = read_stamp(self.database)
        if version != current.version or time.monotonic() - current.loaded_at >= self.ttl:
            self._install(load_snapshot(self.database))

    def refresh_local(self) -> None:
        """After this process committed a change: re-check before answering (read your writes)."""
        with self._local_lock:
            if not self.dirty:
                return
            self.dirty = False
            try:
                self._check()
            except Exception as exc:
                self._failed(exc)
            else:
                self._recovered()

    def refresh(self) -> bool:
        """Re-read the stamp now (reloading if needed); False when the database is unreachable."""
        try:
            self._check()
        except Exception as exc:
            self._failed(exc)
            return False
        self._recovered()
        return True

    def _run(self) -> None:
        wait = self.poll_interval
        next_flush = time.monotonic() + self.flush_interval
        while not self._stop.wait(wait):
            if _db._default is not self.database:
                break  # the process switched databases: a new keeper takes over
            try:
                self._check()
            except Exception as exc:
                self._failed(exc)
                wait = self.retry_min if wait < self.retry_min else min(wait * 2, self.retry_max)
                self.recorder.drain()
                continue
            self._recovered()
            wait = self.poll_interval
            if time.monotonic() >= next_flush:
                next_flush = time.monotonic() + self.flush_interval
                self.flush_quietly()
        self._detach()

    def _failed(self, exc: BaseException) -> None:
        if _db._default is not self.database:
            return  # an abandoned keeper (the process switched databases): nothing to report
        with self._state_lock:
            if self._outage:
                return
            self._outage = True
        snapshot = self.snapshot
        serving = (
            f"the snapshot loaded at {snapshot.loaded_wall:%Y-%m-%d %H:%M:%S} UTC"
            if snapshot.from_database
            else "the curated catalog"
        )
        logger.warning(
            "model registry: cannot read the catalog from %s (%s); resolution answers from %s "
            "and retries every few seconds",
            self.database.safe_url,
            one_line(exc),
            serving,
        )

    def _recovered(self) -> None:
        if not self._outage:
            return
        with self._state_lock:
            if not self._outage:
                return
            self._outage = False
        logger.warning(
            "model registry: the database is reachable again; resolution answers from a fresh "
            "snapshot (version %s)",
            self.snapshot.version,
        )

    # fallbacks ---------------------------------------------------------------------------

    def note(self, answer: Fallback, describe: Callable[[], str]) -> None:
        """Count a fallback handed out; log it once per (requested, reason) per interval."""
        self._record(answer)
        key = (answer.category, answer.requested_provider, answer.requested, answer.reason)
        now = time.monotonic()
        last = self._logged.get(key)
        if last is None or now - last >= self.log_interval:
            if len(self._logged) >= MEMO_LIMIT:
                self._logged.clear()
            self._logged[key] = now
            fallback_logger.warning("model registry: %s", describe())

    def note_once(self, key: object, message: str) -> None:
        """Log a message once per interval (e.g. an unusable story temperature)."""
        now = time.monotonic()
        last = self._logged.get(key)
        if last is None or now - last >= self.log_interval:
            self._logged[key] = now
            fallback_logger.warning("model registry: %s", message)

    def flush(self) -> int:
        return self.recorder.flush(self.database)

    def flush_quietly(self) -> int:
        try:
            return self.recorder.flush(self.database)
        except Exception as exc:
            logger.debug("fallback counts not flushed yet: %s", one_line(exc))
            return 0


current: SnapshotKeeper | None = None
_lock = threading.Lock()


def keeper() -> SnapshotKeeper:
    """The keeper of the process's current database (started on first use)."""
    global current
    database = get_database()
    found = current
    if found is None or found.database is not database:
        with _lock:
            found = current
            if found is None or found.database is not database:
                if found is not None:
                    found.close()
                found = SnapshotKeeper(database)
                found.start()
                current = found
    if found.dirty:
        found.refresh_local()
    return found


@dataclass(frozen=True, slots=True)
class SnapshotSummary:
    """What the process answers from (for a health line on the dashboard, and tests)."""

    version: int | None  # the change stamp it was loaded at; None: the curated catalog
    loaded_at: datetime
    models: int
    outage: bool  # True while the database cannot be read


def snapshot_summary() -> SnapshotSummary:
    found = keeper()
    snapshot = found.snapshot
    return SnapshotSummary(
        snapshot.version, snapshot.loaded_wall, len(snapshot.models), found.in_outage
    )


def reset_snapshot() -> None:
    """Forget the snapshot (tests, tools): the next lookup loads a fresh one."""
    global current
    with _lock:
        found, current = current, None
    if found is not None:
        found.close()


def _after_fork_in_child() -> None:
    global current, _lock
    _lock = threading.Lock()
    found, current = current, None
    if found is not None:
        # The parent's thread did not survive the fork, and its pooled connections belong to
        # the parent: let the child open its own (SQLAlchemy's documented fork recipe).
        found._stop.set()
        found._detach()
        found.database.engine.dispose(close=False)


def _flush_at_exit() -> None:
    found = current
    if found is not None and not found.in_outage:
        found.flush_quietly()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_flush_at_exit)
