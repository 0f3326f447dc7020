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
  curated catalog) keeps serving; one warning is logged per outage, checks go on every
  `OUTAGE_RETRY_MIN`…`OUTAGE_RETRY_MAX` seconds (short enough that a change made right after
  recovery is still seen within a second), and recovery (logged once) reloads by itself;
- every check runs on a thread of its own and is waited for at most `STALL_LIMIT` seconds: a
  database that keeps the connection open but never answers is an outage like any other;
- the first lookup waits at most `FIRST_LOAD_WAIT` for the first load, then the curated catalog
  answers while the load goes on in the background.

Lookups never do I/O except right after a local commit, and never raise on database faults.
A configuration mistake (bad URL, unwritable data folder) is logged once at ERROR and the
curated catalog serves. The keeper follows `registry.db.set_database()`: a lookup against
another `Database` object starts a new keeper, and the old one's thread stops.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, event, select

from registry import db as _db
from registry.catalog import CURATED, DEFAULT_GLOBAL_SETTINGS, default_setting_key
from registry.db import STATEMENT_TIMEOUT_OPTION, Database, get_database
from registry.errors import RegistryError
from registry.schema import AIModel, AppSetting, RegistryStamp
from registry.text import inert
from registry.types import ModelStatus
from registry.usage import NOT_A_CATALOG_CHANGE, Fallback, FallbackRecorder

logger = logging.getLogger(__name__)
# Fallback lines come from the module the application calls.
fallback_logger = logging.getLogger("registry.resolution")

# Tunables (seconds). Read when a keeper starts.
POLL_INTERVAL = 0.25  # stamp check: freshness is this plus the reload time
SNAPSHOT_TTL = 300.0  # full reload even when the stamp did not move (the original plan's TTL)
OUTAGE_RETRY_MIN = 0.25  # first re-check after a failure; doubles up to …
OUTAGE_RETRY_MAX = 0.5  # … this: with the reload, a change after recovery is seen within 1 s
STALL_LIMIT = 2.0  # a check without an answer by then counts as an outage
FIRST_LOAD_WAIT = 0.75  # the first lookup waits this long at most for the first load
STATEMENT_TIMEOUT = 2.0  # PostgreSQL: the server ends a snapshot read stuck behind a lock
FLUSH_INTERVAL = 10.0  # fallback counts → database
LOG_INTERVAL = 300.0  # one log line per (requested model, reason) per interval
MEMO_LIMIT = 8192  # answers memoised per snapshot (bounded: keys come from callers)
LOG_KEYS_LIMIT = 8192  # (model, reason) keys the log limit tracks; past it, one summary line

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


class LogLimiter:
    """Once per key per interval, for at most `capacity` keys at a time (keys come from
    callers). Past the capacity new keys are counted, not logged: `take_unlogged()`."""

    def __init__(self, interval: float, capacity: int) -> None:
        self.interval = interval
        self.capacity = capacity
        self.last_logged: OrderedDict[object, float] = OrderedDict()  # oldest first
        self._unlogged = 0
        self._lock = threading.Lock()

    def allow(self, key: object) -> bool:
        now = time.monotonic()
        last = self.last_logged.get(key)
        if last is not None and now - last < self.interval:
            return False  # the common case, without the lock
        with self._lock:
            entries = self.last_logged
            entries.pop(key, None)
            while entries:
                oldest = next(iter(entries.values()))
                if now - oldest < self.interval:
                    break
                entries.popitem(last=False)
            if len(entries) >= self.capacity:
                self._unlogged += 1
                return False
            entries[key] = now
            return True

    def take_unlogged(self) -> int:
        with self._lock:
            count, self._unlogged = self._unlogged, 0
            return count


class _Job:
    """Work on a daemon thread of its own, so a database that never answers cannot hold the
    thread that waits for it (or the process at exit)."""

    __slots__ = ("done", "error", "started")

    def __init__(self, work: Callable[[], object], name: str) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.started = time.monotonic()
        threading.Thread(target=self._run, args=(work,), name=name, daemon=True).start()

    def _run(self, work: Callable[[], object]) -> None:
        try:
            work()
        except BaseException as exc:
            self.error = exc
        finally:
            self.done.set()


class SnapshotKeeper:
    """Keeps one database's snapshot fresh; lookups read `snapshot` without I/O."""

    def __init__(self, database: Database | None) -> None:
        # None: the configuration names no usable database; the curated catalog serves.
        self.database = database
        self.snapshot = curated_snapshot()
        # Set (after the commit) when this process committed a change; see refresh_local().
        self.dirty = False
        self.recorder = FallbackRecorder()
        self._record = self.recorder.events.append
        self.log_interval = LOG_INTERVAL
        self._log_limit = LogLimiter(LOG_INTERVAL, LOG_KEYS_LIMIT)
        self._last_logged = self._log_limit.last_logged
        self._outage = False
        self._state_lock = threading.Lock()
        self._local_lock = threading.Lock()
        self._stop = threading.Event()
        self._first_load = threading.Event()
        self._thread: threading.Thread | None = None
        self._check_job: _Job | None = None
        self._flush_job: _Job | None = None
        self._flush_warned_at: float | None = None
        self._dropped_reported = 0
        self._listeners: list[tuple[str, Callable[..., None]]] = []
        self.poll_interval = POLL_INTERVAL
        self.ttl = SNAPSHOT_TTL
        self.retry_min = OUTAGE_RETRY_MIN
        self.retry_max = OUTAGE_RETRY_MAX
        self.stall_limit = STALL_LIMIT
        self.flush_interval = FLUSH_INTERVAL

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start keeping fresh; waits at most `FIRST_LOAD_WAIT` for the first load."""
        if self.database is None:
            return
        self._attach()
        self._thread = threading.Thread(target=self._run, name="registry-snapshot", daemon=True)
        self._thread.start()
        self._first_load.wait(FIRST_LOAD_WAIT)

    def close(self) -> None:
        self._stop.set()
        self._detach()

    @property
    def in_outage(self) -> bool:
        return self._outage

    def _attach(self) -> None:
        assert self.database is not None

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
                event.remove(self.database.engine, name, listener)  # type: ignore[union-attr]

    # freshness ---------------------------------------------------------------------------

    def _install(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def _check(self) -> None:
        """Reload when the stamp moved, or the snapshot is older than the TTL."""
        assert self.database is not None
        current = self.snapshot
        version = read_stamp(self.database)
        if version != current.version or time.monotonic() - current.loaded_at >= self.ttl:
            self._install(load_snapshot(self.database))

    def _check_and_recover(self) -> None:
        # The outage ends together with the install: no answer from a fresh snapshot while the
        # keeper still reports an outage.
        self._check()
        self._recovered()

    def refresh_local(self) -> None:
        """After this process committed a change: re-check before answering (read your writes)."""
        with self._local_lock:
            if not self.dirty:
                return
            self.dirty = False
            try:
                self._check_and_recover()
            except Exception as exc:
                self._failed(exc)

    def _check_in_time(self) -> None:
        """`_check` on a thread of its own, waited for at most `stall_limit` seconds in all;
        while it hangs, every call raises TimeoutError and no second check is started."""
        job = self._check_job
        if job is None:
            job = self._check_job = _Job(self._check_and_recover, "registry-snapshot-check")
        remaining = self.stall_limit - (time.monotonic() - job.started)
        if not job.done.wait(max(remaining, 0.0)):
            raise TimeoutError(f"no answer from the database for {self.stall_limit:g} s")
        self._check_job = None
        if job.error is not None:
            raise job.error

    def _run(self) -> None:
        wait = 0.0  # the first load starts at once
        next_flush = time.monotonic() + self.flush_interval
        while not self._stop.wait(wait):
            if _db._default is not self.database:
                break  # the process switched databases: a new keeper takes over
            try:
                self._check_in_time()
            except Exception as exc:
                self._failed(exc)
                wait = self.retry_min if wait < self.retry_min else min(wait * 2, self.retry_max)
            else:
                wait = self.poll_interval
            self._first_load.set()
            if time.monotonic() >= next_flush:
                next_flush = time.monotonic() + self.flush_interval
                self.report_unlogged()
                if self._outage:
                    self.recorder.drain()
                elif self._flush_job is None or self._flush_job.done.is_set():
                    self._flush_job = _Job(self.flush_quietly, "registry-usage-flush")
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
            "and retries in the background",
            self.database.safe_url if self.database is not None else "?",
            inert(one_line(exc)),
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
        # LogLimiter.allow's own first test, inlined: this runs on every fallback handed out.
        last = self._last_logged.get(key)
        if last is not None and time.monotonic() - last < self.log_interval:
            return
        if self._log_limit.allow(key):
            fallback_logger.warning("model registry: %s", describe())

    def note_once(self, key: object, message: str) -> None:
        """Log a message once per interval (e.g. an unusable story temperature)."""
        if self._log_limit.allow(key):
            fallback_logger.warning("model registry: %s", inert(message, 500))

    def report_unlogged(self) -> None:
        """One line for the fallbacks the log limit had no room to log individually."""
        count = self._log_limit.take_unlogged()
        if count:
            fallback_logger.warning(
                "model registry: %d more fallbacks not logged (more than %d different requests "
                "within %g s)",
                count,
                self._log_limit.capacity,
                self._log_limit.interval,
            )

    def flush(self) -> int:
        if self.database is None:
            return 0
        return self.recorder.flush(self.database)

    def flush_quietly(self) -> int:
        """`flush`, with failures logged (WARNING, once per log interval) instead of raised."""
        try:
            written = self.flush()
        except Exception as exc:
            now = time.monotonic()
            warned = self._flush_warned_at
            if warned is None or now - warned >= self.log_interval:
                self._flush_warned_at = now
                logger.warning(
                    "model registry: fallback counts not saved yet (kept, retried every %g s): %s",
                    self.flush_interval,
                    inert(one_line(exc)),
                )
            else:
                logger.debug("fallback counts not saved yet: %s", inert(one_line(exc)))
            return 0
        dropped = self.recorder.dropped
        if dropped > self._dropped_reported:
            logger.warning(
                "model registry: %d fallbacks not counted (too many different requests, or "
                "requested ids the database refused: %s)",
                dropped - self._dropped_reported,
                ", ".join(self.recorder.refused) or "none",
            )
            self._dropped_reported = dropped
        return written


current: SnapshotKeeper | None = None
_lock = threading.Lock()


def keeper() -> SnapshotKeeper:
    """The keeper of the process's current database (started on first use)."""
    global current
    try:
        database: Database | None = get_database()
    except RegistryError as exc:
        return _unconfigured(exc)
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


def _unconfigured(error: RegistryError) -> SnapshotKeeper:
    """The keeper that serves the curated catalog when the configuration names no usable
    database: resolution must not crash the application over a setting (logged once)."""
    global current
    with _lock:
        found = current
        if found is None or found.database is not None:
            if found is not None:
                found.close()
            found = current = SnapshotKeeper(None)
            found._outage = True
            logger.error(
                "model registry: %s; resolution answers from the curated catalog until the "
                "setting is fixed and the application restarted",
                error,
            )
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
        if found.database is not None:
            found.database.engine.dispose(close=False)


def _flush_at_exit() -> None:
    found = current
    if found is not None and found.database is not None and not found.in_outage:
        # Bounded: a database that stopped answering must not hold the process at exit.
        _Job(found.flush_quietly, "registry-usage-flush").done.wait(STALL_LIMIT)


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_flush_at_exit)
