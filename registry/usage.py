"""Fallback usage: how often the application asked for a model and got another one, per day.

The hot path adds one to a counter per answer handed out (answers are memoised per snapshot;
a dict entry under a lock held for a dict update, no I/O): memory grows with the number of
different answers, never with the number of calls. A background thread (or
`flush_fallback_counts()`) swaps the counters out in one step, so no call is lost however fast
callers are, and adds them to `fallback_counts` in upserts of at most `FLUSH_BATCH` rows. The
flush runs in a plain transaction, *not* through `Database.write()`: counting usage is not a
catalog change and must not make every process reload its snapshot.

Requested ids come from the application, so they are made storable before they are counted
(cut to the column's 255 characters, NUL removed, unencodable characters replaced); a row the
database still refuses is dropped alone, never blocking the others. Memory stays bounded: at
most `MAX_PENDING_KEYS` distinct requests are counted between two flushes, and as many rows wait
for the database; answers past that are counted as dropped (and logged, once per interval).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Table, select

from registry.db import Database, dialect_insert
from registry.errors import DatabaseUnavailableError
from registry.schema import FallbackCount
from registry.text import inert
from registry.types import Category, display_id, parse_category, parse_provider

# Execution option that marks the flush transaction: snapshot keepers ignore its commit.
NOT_A_CATALOG_CHANGE = "registry_not_a_catalog_change"
# Distinct (day, request, reason) rows kept while the database cannot take them.
MAX_PENDING_KEYS = 10_000
# Rows per upsert: a flush writes what it drained in statements of bounded size.
FLUSH_BATCH = 500
# Full counter tables the hot path sets aside for the next drain before it drops answers.
MAX_SET_ASIDE = 4

_TABLE = cast(Table, FallbackCount.__table__)
_KEY_COLUMNS = ("day", "category", "requested_provider", "requested_model", "reason")


class Fallback(Protocol):
    """What the counter needs to know about one answer (a `ResolvedModel`)."""

    @property
    def category(self) -> Category: ...
    @property
    def provider(self) -> str: ...
    @property
    def model_id(self) -> str: ...
    @property
    def requested_provider(self) -> str | None: ...
    @property
    def requested(self) -> str | None: ...
    @property
    def reason(self) -> str | None: ...


class _RequestedAndResolved:
    """`provider/model` of what the application asked for and of what it got."""

    __slots__ = ()
    requested_provider: str
    requested_model: str
    resolved_provider: str
    resolved_model: str

    @property
    def requested_display(self) -> str:
        return display_id(self.requested_provider, self.requested_model)

    @property
    def resolved_display(self) -> str:
        return display_id(self.resolved_provider, self.resolved_model)


@dataclass(frozen=True, slots=True)
class FallbackUsage(_RequestedAndResolved):
    """One row of `fallback_counts`: on `day`, the app asked for `requested_*` `count` times and
    got `resolved_*` (the latest answer) because of `reason`."""

    day: date
    category: Category
    requested_provider: str
    requested_model: str  # "" when no model was named (e.g. the global config had none)
    reason: str
    resolved_provider: str
    resolved_model: str
    count: int
    last_at: datetime


_PendingKey = tuple[date, str, str, str, str]


def _storable(text: str, column: str) -> str:
    """`text` as the column can hold it on both backends: no NUL, valid UTF-8, cut to length."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    limit: int | None = getattr(_TABLE.c[column].type, "length", None)
    return text[:limit] if limit is not None else text


@dataclass(slots=True)
class _Pending:
    count: int
    resolved_provider: str
    resolved_model: str
    last_at: datetime


class FallbackRecorder:
    """Counts fallbacks handed out by one process and adds them to the database in batches."""

    def __init__(self, max_keys: int | None = None) -> None:
        # Per answer object (id): [times handed out since the last drain, the answer].
        self._counts: dict[int, list[Any]] = {}
        self._set_aside: list[dict[int, list[Any]]] = []
        self._count_lock = threading.Lock()
        self._pending: dict[_PendingKey, _Pending] = {}
        self._lock = threading.Lock()
        self.max_keys = max_keys if max_keys is not None else MAX_PENDING_KEYS
        # Fallbacks not counted: new requests past `max_keys`, and rows the database refused.
        self.dropped = 0
        self.refused: list[str] = []  # the requested ids of refused rows (inert), latest last

    def count(self, answer: Fallback) -> None:
        """The hot path: one more `answer` handed out. Answers are shared per snapshot, so the
        counter is keyed by the object (a cheap hash); `drain` folds them per request."""
        # acquire/release rather than `with`: cheaper, and nothing in between can raise.
        lock = self._count_lock
        lock.acquire()
        entry = self._counts.get(id(answer))
        if entry is not None:
            entry[0] += 1
            lock.release()
            return
        if len(self._counts) < self.max_keys:
            self._counts[id(answer)] = [1, answer]  # holds it: its id stays unique
            lock.release()
            return
        # As many different answers as requests wait (rare: answers are memoised): set them
        # aside for the next drain, which a flush may hold, so never waited for here; past
        # `MAX_SET_ASIDE` batches answers are dropped (and counted as dropped).
        if len(self._set_aside) < MAX_SET_ASIDE:
            self._set_aside.append(self._counts)
            self._counts = {id(answer): [1, answer]}
        else:
            self.dropped += 1
        lock.release()

    def drain(self) -> None:
        """Fold the counted answers into per-day rows (kept until a flush succeeds)."""
        with self._lock:
            self._drain_locked()

    def _drain_locked(self) -> None:
        with self._count_lock:  # one swap: a call after it counts in the next drain
            batches = [*self._set_aside, self._counts]
            self._set_aside, self._counts = [], {}
        now = datetime.now(UTC)
        day = now.date()
        pending = self._pending
        for number, answer in itertools.chain.from_iterable(b.values() for b in batches):
            key = (
                day,
                answer.category.value,
                _storable(answer.requested_provider or "", "requested_provider"),
                _storable(answer.requested or "", "requested_model"),
                str(answer.reason or ""),
            )
            entry = pending.get(key)
            if entry is None:
                if len(pending) >= self.max_keys:
                    self.dropped += number
                    continue
                pending[key] = _Pending(number, answer.provider, answer.model_id, now)
            else:
                entry.count += number
                entry.resolved_provider, entry.resolved_model = answer.provider, answer.model_id
                entry.last_at = now

    def pending_count(self) -> int:
        """Answers counted but not yet in the database (after folding the recorded ones in)."""
        with self._lock:
            self._drain_locked()
            return sum(entry.count for entry in self._pending.values())

    def flush(self, database: Database) -> int:
        """Add the counts drained now to `fallback_counts`, `FLUSH_BATCH` rows per statement;
        returns the rows written. Raises on a database fault, keeping the counts not written
        yet for the next attempt."""
        with self._lock:
            self._drain_locked()
            written = 0
            while self._pending:
                keys = list(itertools.islice(self._pending, FLUSH_BATCH))
                rows = [self._row(key, self._pending[key]) for key in keys]
                try:
                    _upsert(database, rows)
                except DatabaseUnavailableError:
                    raise  # the database, not a row: keep the counts for the next attempt
                except Exception:
                    written += self._upsert_one_by_one(database, rows)
                else:
                    written += len(rows)
                for key in keys:
                    del self._pending[key]
            return written

    def _row(self, key: _PendingKey, entry: _Pending) -> dict[str, Any]:
        return dict(zip(_KEY_COLUMNS, key, strict=True)) | {
            "resolved_provider": entry.resolved_provider,
            "resolved_model": _storable(entry.resolved_model, "resolved_model"),
            "count": entry.count,
            "last_at": entry.last_at,
        }

    def _upsert_one_by_one(self, database: Database, rows: list[dict[str, Any]]) -> int:
        """After a refused batch: every row on its own, so one bad row blocks no other."""
        written = 0
        for row in rows:
            try:
                _upsert(database, [row])
            except DatabaseUnavailableError:
                raise
            except Exception:
                self.dropped += row["count"]
                self.refused = [*self.refused[-9:], inert(row["requested_model"], 80)]
            else:
                written += 1
        return written


def _upsert(database: Database, rows: list[dict[str, Any]]) -> None:
    with database.transaction(**{NOT_A_CATALOG_CHANGE: True}) as connection:
        statement = dialect_insert(connection)(_TABLE).values(rows)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[_TABLE.c[name] for name in _KEY_COLUMNS],
                set_={
                    "count": _TABLE.c.count + statement.excluded.count,
                    "resolved_provider": statement.excluded.resolved_provider,
                    "resolved_model": statement.excluded.resolved_model,
                    "last_at": statement.excluded.last_at,
                },
            )
        )


def read_fallback_counts(
    database: Database,
    since: date | None = None,
    *,
    category: Category | str | None = None,
    provider: str | None = None,
) -> list[FallbackUsage]:
    """The rows of `fallback_counts` from `since` (default: today, UTC), most frequent first."""
    day = since or datetime.now(UTC).date()
    query = (
        select(FallbackCount)
        .where(FallbackCount.day >= day)
        .order_by(FallbackCount.day.desc(), FallbackCount.count.desc())
    )
    cat = parse_category(category) if category else None
    if cat is not None:
        query = query.where(FallbackCount.category == cat.value)
    if provider:
        query = query.where(FallbackCount.requested_provider == parse_provider(provider, cat))
    with database.read() as session:
        return [
            FallbackUsage(
                day=row.day,
                category=Category(row.category),
                requested_provider=row.requested_provider,
                requested_model=row.requested_model,
                reason=row.reason,
                resolved_provider=row.resolved_provider,
                resolved_model=row.resolved_model,
                count=row.count,
                last_at=row.last_at,
            )
            for row in session.scalars(query)
        ]


@dataclass(frozen=True, slots=True)
class FallbackSummary(_RequestedAndResolved):
    """One requested model across days: what it got lately, why, and how often."""

    category: Category
    requested_provider: str
    requested_model: str
    reason: str  # of the latest answer
    resolved_provider: str  # the latest answer
    resolved_model: str
    count_today: int  # the current UTC day
    count_7d: int  # the last 7 UTC days, today included
    last_at: datetime


def summarize_fallbacks(usages: Iterable[FallbackUsage], today: date) -> list[FallbackSummary]:
    """Per requested (category, provider, model): counts for today and the 7 days ending
    today, the latest answer and reason; most requests in 7 days first."""
    first_day = today - timedelta(days=6)
    groups: dict[tuple[Category, str, str], list[FallbackUsage]] = {}
    for usage in usages:
        if first_day <= usage.day <= today:
            key = (usage.category, usage.requested_provider, usage.requested_model)
            groups.setdefault(key, []).append(usage)
    summaries = []
    for (category, provider, model), rows in groups.items():
        latest = max(rows, key=lambda u: u.last_at)
        summaries.append(
            FallbackSummary(
                category=category,
                requested_provider=provider,
                requested_model=model,
                reason=latest.reason,
                resolved_provider=latest.resolved_provider,
                resolved_model=latest.resolved_model,
                count_today=sum(u.count for u in rows if u.day == today),
                count_7d=sum(u.count for u in rows),
                last_at=latest.last_at,
            )
        )
    return sorted(summaries, key=lambda s: (-s.count_7d, -s.last_at.timestamp()))
