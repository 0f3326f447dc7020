"""Commit-burst benchmark: what 100 admin commits in 5 s cost an idle process, and how fresh it
stays, with a 5,000-model catalog; incremental snapshots side by side with the full-reload
baseline (every change read as the whole catalog, as before `ai_models.change_version`).

Run with `make bench` (or `python benchmarks/burst.py`). Per backend (SQLite polled, PostgreSQL
pushed), the writer is another process; the reader is this one:

- cost: the reader idles through a burst; counted are its full catalog reads and the CPU
  seconds of this process (only its keeper threads run);
- freshness: a second burst with the reader watching every changed model; commit → seen,
  p50/p99/max;
- PostgreSQL also with BUSY_THREADS threads of the reader spinning in pure Python (they hold
  the GIL; the watching thread competes for it as well), and any (false) outage reported.
"""

from __future__ import annotations

import logging
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from sqlalchemy import insert

from benchmarks.common import BACKENDS, percentile, scratch_database
from registry.client import Registry
from registry.db import Database
from registry.schema import AIModel, utcnow

CATALOG = 5_000
COMMITS = 100
SECONDS = 5.0
BUSY_THREADS = 16

WRITER = """
import sys, time
from sqlalchemy import update
from registry.db import Database
from registry.schema import AIModel

database = Database(sys.argv[1])
prefix, commits, seconds = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
started = time.monotonic()
for n in range(commits):
    time.sleep(max(started + n * seconds / commits - time.monotonic(), 0))
    with database.write() as session:
        session.execute(
            update(AIModel).where(AIModel.model_id == f"{prefix}-{n}").values(status="disabled")
        )
    print(time.monotonic(), flush=True)
"""


@dataclass
class Result:
    full_reads: int
    cpu_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float


def _fill(database: Database) -> None:
    now = utcnow()
    with database.write() as session:
        session.execute(
            insert(AIModel),
            [
                {
                    "provider": "openai",
                    "category": "text",
                    "model_id": f"{prefix}-{n}",
                    "display_name": f"{prefix}-{n}",
                    "status": "enabled",
                    "source": "api",
                    "created_at": now,
                    "updated_at": now,
                }
                for prefix in ("idle", "watch", "base-idle", "base-watch", "busy")
                for n in range(COMMITS)
            ]
            + [
                {
                    "provider": "openrouter",
                    "category": "text",
                    "model_id": f"pad/{n}",
                    "display_name": f"pad {n}",
                    "status": "enabled",
                    "source": "api",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(CATALOG - 5 * COMMITS)
            ],
        )


def _writer(database: Database, prefix: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, database.url, prefix, str(COMMITS), str(SECONDS)],
        stdout=subprocess.PIPE,
        text=True,
    )


def _burst(database: Database, baseline: bool) -> Result:
    reader_db = Database(database.url)
    try:
        with Registry(database=reader_db) as reader:
            reader.preview_resolve("text", "openai", "idle-0")
            keeper = reader.keeper()
            if baseline:
                keeper.ttl = 0.0  # every read is a full one: the old behaviour
            time.sleep(1.0)
            full = reader.health().full_reads
            prefix = "base-idle" if baseline else "idle"
            cpu = time.process_time()
            writer = _writer(database, prefix)
            writer.communicate()
            time.sleep(1.0)  # the last change's read
            cpu_s = time.process_time() - cpu
            full_reads = reader.health().full_reads - full

            lags = _watch(database, reader, "base-watch" if baseline else "watch")
    finally:
        reader_db.dispose()
    return Result(full_reads, cpu_s, *lags)


def _watch(database: Database, reader: Registry, prefix: str) -> tuple[float, float, float]:
    """A burst with `reader` watching each change: commit → seen p50/p99/max (ms)."""
    writer = _writer(database, prefix)
    committed: list[float] = []

    def collect() -> None:
        assert writer.stdout is not None
        committed.extend(float(line) for line in writer.stdout)

    collector = threading.Thread(target=collect)
    collector.start()
    lags = []
    for n in range(COMMITS):
        while len(committed) <= n:
            time.sleep(0.0005)
        while not reader.preview_resolve("text", "openai", f"{prefix}-{n}").fallback:
            time.sleep(0.0005)
        lags.append((time.monotonic() - committed[n]) * 1000)
    collector.join()
    writer.wait()
    return statistics.median(lags), percentile(lags, 0.99), max(lags)


class _Outages(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.seen += "cannot read the catalog" in record.getMessage()


def _busy(database: Database) -> tuple[tuple[float, float, float], int]:
    """`_watch` while BUSY_THREADS threads of this process spin; and the outages reported
    meanwhile (the database is healthy: each would be a false one)."""
    reader_db = Database(database.url)
    stop = threading.Event()
    outages = _Outages()
    keeper_log = logging.getLogger("registry.keeper")

    def spin() -> None:
        while not stop.is_set():
            pass

    try:
        with Registry(database=reader_db) as reader:
            reader.preview_resolve("text", "openai", "busy-0")
            time.sleep(1.0)
            keeper_log.addHandler(outages)
            spinners = [threading.Thread(target=spin) for _ in range(BUSY_THREADS)]
            for spinner in spinners:
                spinner.start()
            try:
                lags = _watch(database, reader, "busy")
            finally:
                stop.set()
                for spinner in spinners:
                    spinner.join()
                keeper_log.removeHandler(outages)
    finally:
        reader_db.dispose()
    return lags, outages.seen


def main() -> int:
    logging.getLogger("registry").setLevel(logging.ERROR)
    print(
        f"{COMMITS} commits in {SECONDS:g} s by another process, {CATALOG:,}-model catalog; "
        "an idle reader's full catalog reads and CPU, then commit → seen"
    )
    for backend in BACKENDS:
        with scratch_database(backend) as database:
            _fill(database)
            new = _burst(database, baseline=False)
            old = _burst(database, baseline=True)
        for label, result in (("full reload", old), ("incremental", new)):
            print(
                f"  {backend:<10} {label:<12} full reads {result.full_reads:3d} [≤ 15]  "
                f"CPU {result.cpu_s:5.2f} s  seen p50/p99/max "
                f"{result.p50_ms:4.0f}/{result.p99_ms:4.0f}/{result.max_ms:4.0f} ms [max < 1000]"
            )
        print(
            f"  {backend:<10} CPU incremental / full reload {new.cpu_s / max(old.cpu_s, 1e-9):.2f}×"
        )
        if backend == "postgresql":
            with scratch_database(backend) as database:
                _fill(database)
                (p50, p99, worst), outages = _busy(database)
            print(
                f"  {backend:<10} {BUSY_THREADS} busy threads: seen p50/p99/max "
                f"{p50:4.0f}/{p99:4.0f}/{worst:4.0f} ms, false outages {outages}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
