"""The bookkeeping of a refresh in `discovery_state`: its claim, heartbeat and outcome.

A refresh claims its (provider, category) atomically (at most one per `REFRESH_INTERVAL`
unless forced, never two at once, across processes); the claim names its owner (host, pid)
and a heartbeat renewed every `HEARTBEAT_SECONDS`, so the claim of a crashed process is taken
over at once (its pid is gone on this host) or after `STALE_AFTER` without a heartbeat. The
outcome (success with counts, or the errors) is recorded on the same row and releases the
claim.

Two rules keep a live claim from being taken (README "Refresh claims across hosts and
containers"):
- Every claim time is the database's clock (`database_now`), never the host's: hosts whose
  clocks disagree by more than `STALE_AFTER` would otherwise each find the other's heartbeat
  stale.
- A pid means something only in the PID namespace of the same boot: the owner recorded is
  `host#identity` (a digest of the boot id and the PID namespace), and the pid is checked only
  when the whole owner is ours. Containers sharing a host name differ in identity, so only the
  heartbeat ends their claims; so does a claim whose owner has no identity (another system, or
  an older registry).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol, cast

from sqlalchemy import ColumnElement, Connection, Table, and_, func, select, update
from sqlalchemy.orm import Session

from registry.config import discovery_timeout
from registry.db import Database, dialect_insert
from registry.errors import RegistryError
from registry.schema import DiscoveryState
from registry.text import inert
from registry.types import Category

logger = logging.getLogger("registry.discovery")

REFRESH_INTERVAL = timedelta(minutes=5)
# How long past the listing's own deadline a refresh may take to record what it found.
WRITE_GRACE_SECONDS = 10.0
# A running refresh renews its claim's heartbeat this often; a claim not renewed for
# STALE_AFTER belongs to a process that died (or hangs) and is taken over.
HEARTBEAT_SECONDS = 3.0
STALE_AFTER = timedelta(seconds=15)

_STATE = cast(Table, DiscoveryState.__table__)
# The claim columns as a finished, failed or abandoned refresh leaves them.
RELEASED: dict[str, Any] = {
    "claimed_until": None,
    "claimed_at": None,
    "heartbeat_at": None,
    "claim_token": None,
    "claim_host": None,
    "claim_pid": None,
}


class _ClaimRow(Protocol):
    claimed_until: datetime | None
    heartbeat_at: datetime | None
    claim_host: str | None
    claim_pid: int | None


@dataclass(frozen=True, slots=True)
class ClaimVerdict:
    """What a refresh finds in a claim: held by a running refresh (`live`), left behind by one
    that died (`stale_because` says how we know), or free (neither)."""

    live: bool
    stale_because: str | None = None


def database_now(connection: Connection | Session) -> datetime:
    """The database server's clock (UTC): the one clock every host's claims are judged by."""
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    if bind.dialect.name == "sqlite":
        # SQLite's clock is its host's, which is ours (the file is local): milliseconds, UTC.
        stamp = connection.scalar(select(func.strftime("%Y-%m-%d %H:%M:%f", "now")))
        return datetime.fromisoformat(str(stamp)).replace(tzinfo=UTC)
    # The time now, not the transaction's start (a row lock may have been waited for).
    moment = connection.scalar(select(func.clock_timestamp()))
    assert isinstance(moment, datetime)
    return moment.astimezone(UTC)


def _process_identity() -> str | None:
    """This boot and PID namespace, as a short digest; None where Linux's /proc does not say."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot:
            boot_id = boot.read().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None
    return hashlib.sha256(f"{boot_id}/{namespace}".encode()).hexdigest()[:16]


@cache
def _this_owner() -> str:
    """`host#identity` (or the host alone when the identity is unknown), as recorded."""
    identity = _process_identity()
    host = socket.gethostname()[: 255 - 17] or "localhost"
    return f"{host}#{identity}" if identity else host


def _host_of(owner: str) -> str:
    return owner.split("#", 1)[0]


def _pid_alive(pid: int) -> bool:
    """Whether a process of this host still runs; a zombie (killed, not yet reaped) has not."""
    if os.name != "posix":
        return True  # no cheap check there: the heartbeat decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it runs under another user
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def claim_verdict(
    row: _ClaimRow,
    now: datetime,
    *,
    host: str | None = None,
    pid_alive: Callable[[int], bool] = _pid_alive,
) -> ClaimVerdict:
    """Decide whether the claim in `row` still belongs to a running refresh, at the database's
    `now`. `host`: our owner as recorded (default: this process's `host#identity`)."""
    if row.claimed_until is None or row.claimed_until < now:
        return ClaimVerdict(live=False)
    ours = host or _this_owner()
    if (
        "#" in ours  # without a boot/namespace identity a pid proves nothing
        and row.claim_host == ours
        and row.claim_pid is not None
        and not pid_alive(row.claim_pid)
    ):
        return ClaimVerdict(live=False, stale_because="its process is no longer running")
    # Claims without a heartbeat come from a registry older than heartbeats: they expire.
    if row.heartbeat_at is not None and now - row.heartbeat_at > STALE_AFTER:
        silent = round((now - row.heartbeat_at).total_seconds())
        return ClaimVerdict(live=False, stale_because=f"no heartbeat for {silent} s")
    return ClaimVerdict(live=True)


def _claim_owner(host: str | None, pid: int | None) -> str:
    if not host or pid is None:
        return "another process"
    return f"{inert(_host_of(host), 64)}/pid {pid}"


def _seconds_since(then: datetime | None, now: datetime) -> str:
    return f"{max(0, round((now - then).total_seconds()))} s ago" if then else "a while ago"


def _is_pair(provider: str, category: Category) -> ColumnElement[bool]:
    return and_(_STATE.c.provider == provider, _STATE.c.category == category.value)


@dataclass(frozen=True, slots=True)
class ClaimAttempt:
    """The outcome of `take_claim`: our `token`, or why not and when to try again."""

    token: str | None = None
    refused_because: str | None = None
    retry_at: datetime | None = None
    took_over: str | None = None  # a dead refresh's claim was taken over: the warning


def take_claim(
    database: Database, provider: str, category: Category, *, force: bool, timeout: float
) -> ClaimAttempt:
    """Atomically take the refresh of (provider, category), or say why it is not allowed."""
    # The heartbeat is what ends a dead owner's claim; this bound only has to outlast the
    # longest listing (the whole-listing deadline) and the write after it.
    longest = discovery_timeout() + WRITE_GRACE_SECONDS
    lasting = timedelta(seconds=max(60.0, timeout * 6, 2 * longest))
    with database.transaction() as connection:
        connection.execute(
            dialect_insert(connection)(_STATE)
            .values(
                provider=provider,
                category=category.value,
                discovered_count=0,
                new_count=0,
                deprecated_count=0,
            )
            .on_conflict_do_nothing()
        )
        # The row lock (PostgreSQL) or the write lock taken at BEGIN (SQLite) makes the
        # read, the decision and the update one atomic step across processes.
        row = connection.execute(
            select(_STATE).where(_is_pair(provider, category)).with_for_update()
        ).one()
        now = database_now(connection)
        verdict = claim_verdict(row, now)
        waiting = not force and row.next_allowed_at is not None and row.next_allowed_at > now
        if not verdict.live and not waiting:
            token = uuid.uuid4().hex
            connection.execute(
                update(_STATE)
                .where(_is_pair(provider, category))
                .values(
                    claimed_until=now + lasting,
                    claimed_at=now,
                    heartbeat_at=now,
                    claim_token=token,
                    claim_host=_this_owner(),
                    claim_pid=os.getpid(),
                    last_attempt_at=now,
                )
            )
    if verdict.live:
        started = _seconds_since(row.claimed_at, now)
        return ClaimAttempt(
            refused_because=(
                f"another refresh of this provider, started {started} by "
                f"{_claim_owner(row.claim_host, row.claim_pid)}, is still running; "
                "try again shortly"
            ),
            retry_at=row.claimed_until,
        )
    if waiting:
        minutes = max(1, round((row.next_allowed_at - now).total_seconds() / 60))
        return ClaimAttempt(
            refused_because=(
                f"refreshed less than {REFRESH_INTERVAL.seconds // 60} minutes ago; next refresh "
                f"in {minutes} min (or force a refresh)"
            ),
            retry_at=row.next_allowed_at,
        )
    took_over = None
    if verdict.stale_because:
        took_over = (
            f"took over a refresh started {_seconds_since(row.claimed_at, now)} by "
            f"{_claim_owner(row.claim_host, row.claim_pid)}: {verdict.stale_because}"
        )
        logger.warning("%s %s: %s", provider, category.value, took_over)
    return ClaimAttempt(token=token, took_over=took_over)


class Heartbeat:
    """Renews a claim's heartbeat on a daemon thread until stopped or the claim is lost."""

    def __init__(self, database: Database, provider: str, category: Category, token: str) -> None:
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._beat,
            args=(database, provider, category, token),
            name=f"heartbeat-{provider}-{category.value}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _beat(self, database: Database, provider: str, category: Category, token: str) -> None:
        while not self._stopped.wait(HEARTBEAT_SECONDS):
            try:
                with database.transaction() as connection:
                    renewed = connection.execute(
                        update(_STATE)
                        .where(_is_pair(provider, category), _STATE.c.claim_token == token)
                        .values(heartbeat_at=database_now(connection))
                    ).rowcount
            except RegistryError as exc:  # a busy database: the next beat may get through
                logger.warning("%s %s: heartbeat not recorded (%s)", provider, category.value, exc)
                continue
            if not renewed:
                return  # the claim was abandoned or taken over: nothing left to keep alive


def update_state(
    database: Database, provider: str, category: Category, token: str | None = None, **values: Any
) -> None:
    """Record a failure outside the catalog transaction: no catalog change, so no stamp bump.

    With `token`, only while that claim still holds (a refresh taken over records nothing).
    """
    where = [_is_pair(provider, category)]
    if token is not None:
        where.append(_STATE.c.claim_token == token)
    try:
        with database.transaction() as connection:
            connection.execute(update(_STATE).where(*where).values(**values))
    except Exception:
        logger.warning("could not record the %s %s discovery state", provider, category.value)


def claim_token_held(session: Session, provider: str, category: Category) -> str | None:
    """The claim token on the row now, locked for the caller's write transaction."""
    token: str | None = session.scalar(
        select(DiscoveryState.claim_token)
        .where(DiscoveryState.provider == provider, DiscoveryState.category == category.value)
        .with_for_update()
    )
    return token


def record_success(
    session: Session, provider: str, category: Category, now: datetime, **counts: Any
) -> datetime:
    """Record a refresh that wrote its listing (in its transaction) and release the claim;
    returns when the next refresh is allowed (by the database's clock, which claims compare
    it with). `counts`: the outcome columns."""
    next_allowed = database_now(session) + REFRESH_INTERVAL
    session.execute(
        update(DiscoveryState)
        .where(DiscoveryState.provider == provider, DiscoveryState.category == category.value)
        .values(last_success_at=now, next_allowed_at=next_allowed, **counts, **RELEASED)
    )
    return next_allowed
