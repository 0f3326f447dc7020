"""Keeps a database's snapshot (`registry.snapshot`) fresh within a second, and outage-proof.

A `SnapshotKeeper` belongs to one `Database` object. It loads the catalog's statuses,
successors and every app setting into plain dicts (`Snapshot`), and a daemon thread keeps them
fresh:

- every read after the first builds on the snapshot: the rows changed since its change stamp
  (`registry.snapshot.read_changes`, nothing at all when the stamp has not moved), a full read
  only when that cannot tell (a deleted model) or every `SNAPSHOT_TTL`. Notices that arrive
  while a read runs are taken together afterwards: a burst costs one read, however long;
- on PostgreSQL it LISTENs on the change channel (`NOTIFY registry_stamp` is sent in the same
  transaction as every write through `Database.write()`, by any process, so it arrives exactly
  on commit) and reads the changes when notified. One connection does it all while idle: the
  LISTEN, a liveness ping every `PING_INTERVAL` (a protocol Sync: no transaction), the snapshot
  reads, a backstop read every `PUSH_BACKSTOP` seconds (a lost notification). At start a
  notification sent to itself from another connection must arrive within `PROBE_WAIT`: behind
  a transaction-pooling proxy (PgBouncer) LISTEN is accepted and nothing arrives, so it warns
  once, polls, and turns off server-side prepared statements (`Database.use_pooler`).
  `REGISTRY_PUSH_NOTIFICATIONS=off` or a LISTEN the server refuses also turns this into
  polling;
- otherwise (SQLite, push off) every `POLL_INTERVAL` seconds it reads the one-row change stamp
  (`registry_stamp.version`) and reloads when it moved; every `SNAPSHOT_TTL` seconds it reloads
  anyway (backstop). On SQLite the stamp is read only when `PRAGMA data_version` on a connection
  kept open says that something was committed since the last check;
- a commit made by *this* process marks the keeper dirty, and the next lookup reads the changes
  first (on a thread of its own, waited for at most `STALL_LIMIT`; not at all during an
  outage), so a process sees its own changes and a lookup never waits longer than that;
- when the database cannot be reached, the last snapshot (or, if none was ever loaded, the
  curated catalog) keeps serving; one warning is logged per outage, checks go on every
  `OUTAGE_RETRY_MIN`…`OUTAGE_RETRY_MAX` seconds (short enough that a change made right after
  recovery is still seen within a second), and recovery (logged once) reloads by itself;
- every check runs on a thread of its own and is waited for at most `STALL_LIMIT` seconds from
  when that thread got to run (at most twice that when busy threads hold the GIL): a database
  that keeps the connection open but never answers is an outage like any other. Reads and pings
  on the listening connection run on the keeper's own thread instead, in one statement each,
  under a watchdog that shuts the socket after the limit: every thread hand-off and round trip
  waits for the GIL, which busy application threads hold for milliseconds at a time;
- the first lookup waits at most `FIRST_LOAD_WAIT` for the first load, then the curated catalog
  answers while the load goes on in the background;
- when the snapshot's next retirement instant comes (`Snapshot.next_retirement`), the thread
  decides the snapshot again at that instant (`Snapshot.at`), without reading the database.

Lookups never do I/O, never wait longer than `STALL_LIMIT` (right after a local commit) or
`FIRST_LOAD_WAIT` (the first one), and never raise on database faults.
A configuration mistake (bad URL, unwritable data folder) is logged once at ERROR and the
curated catalog serves (`unconfigured_keeper`).

Each `registry.Registry` owns one keeper and starts it on its first lookup; closing the
registry stops it. Importing this module starts nothing: the at-fork and at-exit hooks (drop
every keeper in a forked child, whose owner then starts a new one; write the fallback counts
at exit) are registered when the first keeper starts.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import secrets
import socket
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

from sqlalchemy import event

from registry.db import CHANGE_CHANNEL, STATEMENT_TIMEOUT_OPTION, Database, push_wanted
from registry.errors import RegistryError
from registry.snapshot import (
    STATEMENT_TIMEOUT,
    Snapshot,
    curated_snapshot,
    load_changes,
    load_snapshot,
    read_changes_at_once,
)
from registry.text import inert
from registry.usage import NOT_A_CATALOG_CHANGE, Fallback, FallbackRecorder

logger = logging.getLogger(__name__)
# Fallback lines come from the module the application calls.
fallback_logger = logging.getLogger("registry.resolution")

# Tunables (seconds). Read when a keeper starts.
POLL_INTERVAL = 0.25  # stamp check: freshness is this plus the reload time
PUSH_BACKSTOP = 15.0  # listening: the stamp is still read this often, in case a notice was lost
PING_INTERVAL = 1.0  # listening: an idle connection is checked for life this often …
PING_LIMIT = 1.5  # … and a ping without an answer by then is an outage (hung: within 2.5 s)
SNAPSHOT_TTL = 300.0  # full reload even when the stamp did not move (the original plan's TTL)
OUTAGE_RETRY_MIN = 0.25  # first re-check after a failure; doubles up to …
OUTAGE_RETRY_MAX = 0.5  # … this: with the reload, a change after recovery is seen within 1 s
STALL_LIMIT = 2.0  # a check without an answer by then counts as an outage
FIRST_LOAD_WAIT = 0.75  # the first lookup waits this long at most for the first load
PROBE_WAIT = 1.0  # push: a notification sent to ourselves must arrive within this, or we poll
QUIET_NOTICE_PAUSE = 0.05  # push: after a notice that announced nothing, notices wait this long
WATCHDOG_TICK = 0.1  # push: how often a read on the listening connection is checked for time
FLUSH_INTERVAL = 10.0  # fallback counts → database
LOG_INTERVAL = 300.0  # one log line per (requested model, reason) per interval
LOG_KEYS_LIMIT = 8192  # (model, reason) keys the log limit tracks; past it, one summary line


_WROTE = "registry_committed_catalog_change"


class ListenRefused(RegistryError):
    """The server (or a proxy in front of it) refused LISTEN: the keeper polls instead."""


class ListenDeaf(RegistryError):
    """LISTEN was accepted but a notification sent to ourselves never arrived (a
    transaction-pooling proxy such as PgBouncer): the keeper polls instead."""


class _Listener:
    """The keeper's one PostgreSQL connection while pushing: it LISTENs for the change
    notification, answers the liveness ping and serves every snapshot read, so an idle process
    keeps exactly one connection open. Used by one thread at a time."""

    def __init__(self, database: Database) -> None:
        self.connection = database.engine.connect().execution_options(
            isolation_level="REPEATABLE READ", **{STATEMENT_TIMEOUT_OPTION: STATEMENT_TIMEOUT}
        )
        self.driver: Any = self.connection.connection.driver_connection
        assert self.driver is not None
        import psycopg  # only here: PostgreSQL is in use

        self.pipeline = psycopg.Pipeline.is_supported()
        try:
            self._outside_transaction(f"LISTEN {CHANGE_CHANNEL}")
        except Exception as exc:
            if self.driver.closed or self.driver.broken:
                raise
            self.discard(None)
            raise ListenRefused(one_line(exc)) from None

    def _outside_transaction(self, statement: str) -> Any:
        # Autocommit for this statement only: LISTEN takes effect at once, and the stamp read
        # costs no BEGIN/COMMIT (the snapshot reads keep their transaction).
        self.driver.autocommit = True
        try:
            return self.driver.execute(statement)
        finally:
            self.driver.autocommit = False

    def wait(self, timeout: float) -> bool:
        """True when a change was announced (also one that arrived during a read). Every notice
        waiting is taken at once: a burst (or a flood of forged notices) costs one read."""
        announced = False
        for _ in self.driver.notifies(timeout=timeout, stop_after=1):
            announced = True
        if announced:
            for _ in self.driver.notifies(timeout=0.0):
                pass
        return announced

    def probe(self, database: Database, limit: float) -> tuple[bool, bool]:
        """Whether notifications reach this connection: one sent from another connection
        must arrive within `limit` seconds (behind a transaction-pooling proxy LISTEN is
        accepted and nothing ever arrives); and whether other notices came meanwhile."""
        payload = f"probe {secrets.token_hex(8)}"
        with database.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT", **{NOT_A_CATALOG_CHANGE: True}
        ) as other:
            other.exec_driver_sql(
                "SELECT pg_notify(%(channel)s, %(payload)s)",
                {"channel": CHANGE_CHANNEL, "payload": payload},
            )
            other.invalidate()  # closed, not pooled: an idle process keeps one connection
        arrived = others = False
        deadline = time.monotonic() + limit
        while not arrived and time.monotonic() < deadline:
            for notice in self.driver.notifies(
                timeout=max(deadline - time.monotonic(), 0.0), stop_after=1
            ):
                arrived = arrived or notice.payload == payload
                others = others or notice.payload != payload
        return arrived, others

    def ping(self) -> None:
        # A bare protocol Sync: the server answers without starting a transaction. It needs
        # libpq 14's pipeline mode; with an older libpq an empty query (one transaction).
        if not self.pipeline:
            self._outside_transaction("")
            return
        with self.driver.pipeline() as pipeline:
            pipeline.sync()

    def load(self, base: Snapshot | None) -> Snapshot | None:
        """The changes since `base` (None: a full read), in one round trip."""
        self.driver.autocommit = True
        try:
            return read_changes_at_once(self.driver, self.connection.dialect, base)
        finally:
            self.driver.autocommit = False

    def shut(self) -> None:
        """Wake whatever waits on the socket (a read of a hung database): it fails at once."""
        with contextlib.suppress(Exception):
            sock = socket.socket(fileno=os.dup(self.driver.pgconn.socket))
            with sock:
                sock.shutdown(socket.SHUT_RDWR)

    def discard(self, busy: _Job | None) -> None:
        """Drop the connection without waiting: `busy` (a job on it) may be stuck on a hung
        socket. Shutting the socket down wakes that job; the connection is closed once the job
        has let go of it (never under it: libpq is not thread-safe per connection)."""
        self.shut()
        connection = self.connection

        def close() -> None:
            if busy is None or busy.done.wait(10):
                with contextlib.suppress(Exception):
                    connection.invalidate()

        _Job(close, "registry-snapshot-close")


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


class _DataVersion:
    """SQLite: `PRAGMA data_version` on a connection kept open moves whenever another connection
    (of any process) commits. Reading it touches no table and waits for no lock, so an idle
    process's poll costs microseconds; the stamp is read only once it moved."""

    def __init__(self, database: Database) -> None:
        self.connection = database.engine.raw_connection()
        self.seen: object = None

    def moved(self) -> bool:
        cursor = self.connection.cursor()
        try:
            cursor.execute("PRAGMA data_version")
            value = cursor.fetchone()
        finally:
            cursor.close()
        moved, self.seen = value != self.seen, value
        return moved

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.close()


class _Watchdog:
    """One thread that ends a listener read running past its deadline by shutting the socket
    down. The keeper reads on its own thread under it: a thread started per read, and every
    hand-off to and from another thread, waits for the GIL, which busy application threads
    hold for milliseconds at a time. So arming is an attribute write (no lock, no wake-up),
    and the watchdog looks every `WATCHDOG_TICK` seconds."""

    def __init__(self) -> None:
        self._armed: tuple[float, Callable[[], None]] | None = None
        self._thread: threading.Thread | None = None

    def bounded(self, work: Callable[[], object], limit: float, shut: Callable[[], None]) -> object:
        fired = threading.Event()

        def overdue() -> None:
            fired.set()
            shut()

        if self._thread is None or not self._thread.is_alive():  # first use, or after a fork
            self._thread = threading.Thread(
                target=self._run, name="registry-snapshot-watchdog", daemon=True
            )
            self._thread.start()
        self._armed = (time.monotonic() + limit, overdue)
        try:
            return work()
        except Exception:
            if fired.is_set():
                raise TimeoutError(f"no answer from the database for {limit:g} s") from None
            raise
        finally:
            self._armed = None

    def _run(self) -> None:
        while True:
            time.sleep(WATCHDOG_TICK)
            armed = self._armed
            if armed is not None and time.monotonic() >= armed[0] and self._armed is armed:
                armed[1]()


class _Job:
    """Work on a daemon thread of its own, so a database that never answers cannot hold the
    thread that waits for it (or the process at exit)."""

    __slots__ = ("done", "error", "result", "running", "started")

    def __init__(self, work: Callable[[], object], name: str) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.result: object = None
        self.started = time.monotonic()
        self.running: float | None = None  # when the thread got to run (None: not yet)
        threading.Thread(target=self._run, args=(work,), name=name, daemon=True).start()

    def wait_running(self, limit: float) -> bool:
        """Done within `limit` seconds of running: a thread that waited for the GIL behind
        busy application threads is not a database without an answer (at most 2 × limit)."""
        if self.done.wait(limit):
            return True
        running = self.running
        extra = limit if running is None else limit - (time.monotonic() - running)
        return extra > 0 and self.done.wait(extra)

    def _run(self, work: Callable[[], object]) -> None:
        self.running = time.monotonic()
        try:
            self.result = work()
        except BaseException as exc:
            self.error = exc
        finally:
            self.done.set()


class SnapshotKeeper:
    """Keeps one database's snapshot fresh; lookups read `snapshot` without I/O."""

    def __init__(self, database: Database | None, feed: ChangeFeed | None = None) -> None:
        # None: the configuration names no usable database; the curated catalog serves.
        self.database = database
        self.snapshot = curated_snapshot()
        # Told of every snapshot installed with a new version (Registry.subscribe).
        self.feed = feed
        # Set (after the commit) when this process committed a change; see refresh_local().
        self.dirty = False
        self.recorder = FallbackRecorder()
        self._count = self.recorder.count
        self._full_at = 0.0  # when the last full read was installed (monotonic)
        self.full_reads = 0  # snapshots installed from a read of the whole catalog …
        self.change_reads = 0  # … and from the previous one and the rows changed since
        self._confirmed_at: float | None = None  # the last time the database confirmed it
        self.log_interval = LOG_INTERVAL
        self._log_limit = LogLimiter(LOG_INTERVAL, LOG_KEYS_LIMIT)
        self._last_logged = self._log_limit.last_logged
        self._outage = False
        self._state_lock = threading.Lock()
        self._local_lock = threading.Lock()
        self._install_lock = threading.Lock()
        self._stop = threading.Event()
        self._first_load = threading.Event()
        self._thread: threading.Thread | None = None
        self._check_job: _Job | None = None
        self._flush_job: _Job | None = None
        self._flush_warned_at: float | None = None
        self._dropped_reported = 0
        self._probed = False
        self._watchdog = _Watchdog()
        self._listeners: list[tuple[str, Callable[..., None]]] = []
        self.poll_interval = POLL_INTERVAL
        self.backstop = PUSH_BACKSTOP
        self.ping_interval = PING_INTERVAL
        self.ping_limit = PING_LIMIT
        self.ttl = SNAPSHOT_TTL
        self.retry_min = OUTAGE_RETRY_MIN
        self.retry_max = OUTAGE_RETRY_MAX
        self.stall_limit = STALL_LIMIT
        self.flush_interval = FLUSH_INTERVAL
        self._next_flush = 0.0
        # True while changes arrive by LISTEN/NOTIFY (PostgreSQL), False while polled.
        self.pushed = False
        # Set by close() (also in a forked child): the owner starts a new keeper.
        self.closed = False

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start keeping fresh; waits at most `FIRST_LOAD_WAIT` for the first load."""
        if self.database is None:
            return
        _track(self)
        self._attach()
        self._thread = threading.Thread(target=self._run, name="registry-snapshot", daemon=True)
        self._thread.start()
        self._first_load.wait(FIRST_LOAD_WAIT)

    def close(self) -> None:
        self.closed = True
        self._stop.set()
        self._detach()
        _live.discard(self)

    def _after_fork_in_child(self) -> None:
        """In a forked child: the parent's thread did not survive the fork, and its pooled
        connections belong to the parent; let the child open its own (SQLAlchemy's documented
        fork recipe). The owner starts a new keeper on the next lookup."""
        self.close()
        if self.database is not None:
            self.database.engine.dispose(close=False)

    @property
    def in_outage(self) -> bool:
        return self._outage

    def summary(self) -> SnapshotSummary:
        snapshot = self.snapshot
        return SnapshotSummary(
            snapshot.version, snapshot.loaded_wall, len(snapshot.models), self._outage
        )

    def health(self) -> RegistryHealth:
        snapshot = self.snapshot
        confirmed = self._confirmed_at
        mode = "none" if self.database is None else "push" if self.pushed else "poll"
        return RegistryHealth(
            outage=self._outage,
            source="database" if snapshot.from_database else "curated",
            mode=mode,
            snapshot_age=None if confirmed is None else time.monotonic() - confirmed,
            version=snapshot.version,
            models=len(snapshot.models),
            loaded_at=snapshot.loaded_wall,
            pooler=self.database is not None and self.database.pooler,
            full_reads=self.full_reads,
            change_reads=self.change_reads,
        )

    def final_flush(self, timeout: float = STALL_LIMIT) -> None:
        """Write the fallback counts (closing, exiting), waiting at most `timeout` seconds: a
        database that stopped answering must not hold its caller."""
        job = self._start_final_flush()
        if job is not None:
            job.done.wait(timeout)

    def _start_final_flush(self) -> _Job | None:
        if self.database is None or self._outage:
            return None
        return _Job(self.flush_quietly, "registry-usage-flush")

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

    def _install(self, snapshot: Snapshot | None) -> None:
        """Answer from `snapshot` (None: the database confirmed that nothing changed)."""
        # Two threads may load at once (the listener on a notice, a caller after its own
        # write): a read that began earlier must not replace one that began later, or the
        # caller's own change would vanish until the next notice.
        with self._install_lock:
            self._confirmed_at = time.monotonic()
            current = self.snapshot
            if snapshot is None or snapshot.read_started < current.read_started:
                return
            self.snapshot = snapshot
            if snapshot.full:
                self._full_at = snapshot.loaded_at
                self.full_reads += 1
            else:
                self.change_reads += 1
        self._first_load.set()
        if self.feed is not None and snapshot.version != current.version:
            self.feed.publish(self.summary())

    def _base(self) -> Snapshot | None:
        """What the next read builds on: the snapshot, or None for a full read (none from the
        database yet, or the TTL passed: a change made without the stamp is found then)."""
        current = self.snapshot
        if not current.from_database or time.monotonic() - self._full_at >= self.ttl:
            return None
        return current

    def _check(self) -> None:
        """Bring the snapshot up to date: the rows changed since its stamp, if it moved."""
        assert self.database is not None
        base = self._base()
        if base is None:
            self._install(load_snapshot(self.database))
        else:
            self._install(load_changes(self.database, base))

    def _check_and_recover(self) -> None:
        # The outage ends together with the install: no answer from a fresh snapshot while the
        # keeper still reports an outage.
        self._check()
        self._recovered()

    def refresh_local(self) -> None:
        """After this process committed a change: bring the snapshot up to date before
        answering (read your writes), on a thread of its own, waited for at most `stall_limit`
        seconds in all; during an outage not at all (the background retries catch up)."""
        if self._outage:
            self.dirty = False
            return
        deadline = time.monotonic() + self.stall_limit
        if not self._local_lock.acquire(timeout=self.stall_limit):
            return  # another caller's refresh hangs: answer from the snapshot
        try:
            if not self.dirty:
                return
            self.dirty = False
            job = _Job(self._check_and_recover, "registry-snapshot-local")
            if not job.done.wait(max(deadline - time.monotonic(), 0.0)):
                self._failed(
                    TimeoutError(f"no answer from the database for {self.stall_limit:g} s")
                )
            elif job.error is not None:
                self._failed(job.error)
        finally:
            self._local_lock.release()

    def _in_time(self, work: Callable[[], object], limit: float) -> object:
        """`work` on a thread of its own, waited for at most `limit` seconds; while an earlier
        one still hangs (up to `stall_limit` in all), no second one starts: TimeoutError."""
        stale = self._check_job
        if stale is not None:
            remaining = self.stall_limit - (time.monotonic() - stale.started)
            if not stale.done.wait(max(remaining, 0.0)):
                raise TimeoutError(f"no answer from the database for {self.stall_limit:g} s")
            self._check_job = None
            if isinstance(stale.result, _Listener):
                stale.result.discard(None)  # connected after its caller gave up waiting
        job = self._check_job = _Job(work, "registry-snapshot-check")
        if not job.wait_running(limit):
            raise TimeoutError(f"no answer from the database for {limit:g} s")
        self._check_job = None
        if job.error is not None:
            raise job.error
        return job.result

    def _run(self) -> None:
        self._next_flush = time.monotonic() + self.flush_interval
        database = self.database
        if database is not None and database.dialect == "postgresql":
            if not push_wanted():
                database.use_pooler()  # push off: what a transaction-pooling proxy needs
            if not database.pooler:
                self._listen()
        self._poll()
        self._detach()

    def _running(self) -> bool:
        return not self._stop.is_set()

    def _backoff(self, wait: float) -> float:
        return self.retry_min if wait < self.retry_min else min(wait * 2, self.retry_max)

    def _poll(self) -> None:
        wait = 0.0  # the first load starts at once
        watch: _DataVersion | None = None
        while not self._stop.wait(wait) and self._running():
            if self.database is not None and self.database.dialect == "sqlite":
                watch = watch or self._data_version()
                if watch is not None and self._quiet(watch):
                    self._confirmed_at = time.monotonic()
                    wait = self.poll_interval
                    self._housekeeping()
                    continue
            try:
                self._in_time(self._check_and_recover, self.stall_limit)
            except Exception as exc:
                self._failed(exc)
                wait = self._backoff(wait)
            else:
                wait = self.poll_interval
            self._first_load.set()
            self._housekeeping()
        if watch is not None:
            watch.close()

    def _data_version(self) -> _DataVersion | None:
        assert self.database is not None
        try:
            return _DataVersion(self.database)
        except Exception:
            return None  # the full check reports what is wrong

    def _quiet(self, watch: _DataVersion) -> bool:
        """SQLite: nothing was committed anywhere since the last check, and no reload is due."""
        current = self.snapshot
        if self._outage or not current.from_database:
            return False
        if time.monotonic() - self._full_at >= self.ttl:
            return False
        try:
            return not watch.moved()
        except Exception:
            return False

    def _listen(self) -> None:
        """Push: reload when notified. Returns when the keeper stops, or when LISTEN is refused
        (then `_poll` takes over)."""
        listener: _Listener | None = None
        retry = 0.0
        next_check = 0.0
        while self._running():
            try:
                if listener is None:
                    listener = cast(
                        _Listener, self._in_time(self._open, self.stall_limit + PROBE_WAIT)
                    )
                    self.pushed = True
                    next_check = time.monotonic() + self.backstop
                elif listener.wait(max(min(self.ping_interval, next_check - time.monotonic()), 0)):
                    if not self._on(listener, partial(self._reload, listener), self.stall_limit):
                        # A notice that announced nothing (anyone may send one): a flood of
                        # them costs at most one stamp read per pause, not one per notice.
                        self._stop.wait(QUIET_NOTICE_PAUSE)
                elif time.monotonic() >= next_check:
                    self._on(listener, partial(self._reload, listener), self.stall_limit)
                    next_check = time.monotonic() + self.backstop
                else:
                    self._on(listener, listener.ping, self.ping_limit)
                    self._confirmed_at = time.monotonic()
                retry = 0.0
            except ListenRefused as exc:
                self.pushed = False
                logger.warning(
                    "model registry: the database refused LISTEN (%s); changes are polled every "
                    "%g s instead",
                    inert(str(exc)),
                    self.poll_interval,
                )
                return
            except ListenDeaf:
                self.pushed = False
                assert self.database is not None
                self.database.use_pooler()
                logger.warning(
                    "model registry: LISTEN is accepted but notifications do not arrive (a "
                    "transaction-pooling proxy such as PgBouncer?); changes are polled every %g s "
                    "and statements are not prepared on the server. Set "
                    "REGISTRY_PUSH_NOTIFICATIONS=off to skip this check",
                    self.poll_interval,
                )
                return
            except Exception as exc:
                self._failed(exc)
                if listener is not None:
                    listener.discard(self._check_job)
                    listener = None
                retry = self._backoff(retry)
                self._stop.wait(retry)
            self._first_load.set()
            self._housekeeping()
        if listener is not None:
            listener.discard(self._check_job)

    def _on(self, listener: _Listener, work: Callable[[], object], limit: float) -> object:
        """`work` on the listener, on this thread, ended after `limit` seconds."""
        return self._watchdog.bounded(work, limit, listener.shut)

    def _open(self) -> _Listener:
        """LISTEN first, then load: a change committed in between is announced, not missed.
        The first time, a notification sent to ourselves proves that notices arrive."""
        assert self.database is not None
        listener = _Listener(self.database)
        try:
            self._reload(listener)
            if not self._probed:
                arrived, others = listener.probe(self.database, PROBE_WAIT)
                if not arrived:
                    raise ListenDeaf("no notification arrived")
                self._probed = True
                if others:  # taken by the probe: read what they may have announced
                    self._reload(listener)
        except BaseException:
            listener.discard(None)
            raise
        return listener

    def _reload(self, listener: _Listener) -> bool:
        """On a notice, and as the backstop for a lost one: the rows changed since the
        snapshot's stamp (nothing when the stamp has not moved: a forged or probe notice).
        Returns whether it had moved."""
        snapshot = listener.load(self._base())
        self._install(snapshot)
        self._recovered()
        return snapshot is not None

    def _housekeeping(self) -> None:
        self._retire_due()
        if time.monotonic() < self._next_flush:
            return
        self._next_flush = time.monotonic() + self.flush_interval
        self.report_unlogged()
        self.report_dropped()
        if self._outage:
            self.recorder.drain()
        elif self._flush_job is None or self._flush_job.done.is_set():
            self._flush_job = _Job(self.flush_quietly, "registry-usage-flush")

    def _retire_due(self) -> None:
        """At a model's retirement instant the snapshot is decided again from the data it holds
        (no read: it works in an outage too), so lookups never read a clock (rules, rule 4)."""
        current = self.snapshot
        due = current.next_retirement
        if due is not None:
            now = datetime.now(UTC)
            if now >= due:
                self._install(current.at(now))

    def _failed(self, exc: BaseException) -> None:
        if self.closed:
            return  # its owner let it go (closed, or switched databases): nothing to report
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
        self._count(answer)
        key = (answer.category, answer.requested_provider, answer.requested, answer.reason)
        # LogLimiter.allow's own first test, inlined: this runs on every fallback handed out.
        last = self._last_logged.get(key)
        if last is not None and time.monotonic() - last < self.log_interval:
            return
        if self._log_limit.allow(key):
            if self.database is not None and not self.snapshot.from_database:
                # The built-in catalog stands in: "not in the catalog" would be a guess.
                fallback_logger.warning(
                    "model registry: the catalog database is unavailable (not read yet, or "
                    "unreachable), answering from the built-in catalog: %s",
                    describe().replace("is not in the catalog", "is not a built-in model"),
                )
            else:
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
        self.report_dropped()
        return written

    def report_dropped(self) -> None:
        """One line for the fallbacks not counted since the last line (called once per flush
        interval): too many different requests at once, or ids the database refused."""
        dropped = self.recorder.dropped
        if dropped > self._dropped_reported:
            logger.warning(
                "model registry: %d fallbacks not counted (more than %d different requests "
                "between two flushes, or requested ids the database refused: %s)",
                dropped - self._dropped_reported,
                self.recorder.max_keys,
                ", ".join(self.recorder.refused) or "none",
            )
            self._dropped_reported = dropped


def unconfigured_keeper(error: RegistryError) -> SnapshotKeeper:
    """The keeper that serves the curated catalog when the configuration names no usable
    database: resolution must not crash the application over a setting (logged once)."""
    found = SnapshotKeeper(None)
    found._outage = True
    logger.error(
        "model registry: %s; resolution answers from the curated catalog until the setting is "
        "fixed and the application restarted",
        error,
    )
    return found


@dataclass(frozen=True, slots=True)
class RegistryHealth:
    """`Registry.health()`: what the registry answers from, and how it learns of changes."""

    outage: bool  # True while the database cannot be read (answers come from the snapshot)
    source: str  # "database", or "curated": the built-in catalog stands in
    mode: str  # "push" (LISTEN/NOTIFY), "poll", or "none" (no usable database configured)
    snapshot_age: float | None  # seconds since the database last confirmed it; None: never
    version: int | None  # the change stamp the snapshot is at; None: the curated catalog
    models: int
    loaded_at: datetime  # when the snapshot was installed (UTC)
    pooler: bool  # a transaction-pooling proxy is configured or was detected
    full_reads: int  # snapshots installed from a read of the whole catalog, …
    change_reads: int  # … and from only the rows changed since the previous one


class ChangeFeed:
    """Calls `Registry.subscribe` callbacks with a `SnapshotSummary` after each change the
    snapshot took, on a thread of its own (never the caller's, never the keeper's): a slow
    callback delays only later callbacks, and a backlog is folded into its latest state."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[SnapshotSummary], object]] = []
        self._queue: queue.SimpleQueue[SnapshotSummary | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def subscribe(self, callback: Callable[[SnapshotSummary], object]) -> Callable[[], None]:
        with self._lock:
            self._callbacks = [*self._callbacks, callback]

        def unsubscribe() -> None:
            with self._lock:
                self._callbacks = [c for c in self._callbacks if c is not callback]

        return unsubscribe

    def publish(self, summary: SnapshotSummary) -> None:
        if not self._callbacks:
            return
        thread = self._thread
        if thread is None or not thread.is_alive():  # first use, or a forked child
            with self._lock:
                if self._thread is thread:
                    self._queue = queue.SimpleQueue()
                    self._thread = threading.Thread(
                        target=self._run, args=(self._queue,), name="registry-changes", daemon=True
                    )
                    self._thread.start()
        self._queue.put(summary)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)

    def _run(self, items: queue.SimpleQueue[SnapshotSummary | None]) -> None:
        while True:
            latest = items.get()
            with contextlib.suppress(queue.Empty):
                while latest is not None:
                    latest = items.get_nowait()
            if latest is None:
                return
            for callback in self._callbacks:
                try:
                    callback(latest)
                except Exception:
                    logger.exception("model registry: a change subscriber raised")


@dataclass(frozen=True, slots=True)
class SnapshotSummary:
    """What the process answers from (for a health line on the dashboard, and tests)."""

    version: int | None  # the change stamp it was loaded at; None: the curated catalog
    loaded_at: datetime
    models: int
    outage: bool  # True while the database cannot be read


# Process hooks, registered when the first keeper starts (importing registers nothing): in a
# forked child (gunicorn --preload) every keeper is dropped, and at exit the fallback counts of
# every running keeper are written, bounded in time.
_live: weakref.WeakSet[SnapshotKeeper] = weakref.WeakSet()
_hooks_lock = threading.Lock()
_hooks_registered = False


def _track(found: SnapshotKeeper) -> None:
    global _hooks_registered
    with _hooks_lock:
        _live.add(found)
        if not _hooks_registered:
            os.register_at_fork(after_in_child=_after_fork_in_child)
            atexit.register(_flush_at_exit)
            _hooks_registered = True


def _after_fork_in_child() -> None:
    global _hooks_lock
    _hooks_lock = threading.Lock()  # a parent thread may have held it at the fork
    for found in list(_live):
        found._after_fork_in_child()


def _flush_at_exit() -> None:
    # Bounded: a database that stopped answering must not hold the process at exit.
    jobs = [job for found in list(_live) if (job := found._start_final_flush()) is not None]
    deadline = time.monotonic() + STALL_LIMIT
    for job in jobs:
        job.done.wait(max(deadline - time.monotonic(), 0.0))
