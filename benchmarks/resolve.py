"""Resolution benchmark: the cached snapshot against a per-call SELECT and a bare dict lookup,
and how fast a change made by one process reaches another.

Run with `make bench` (or `python benchmarks/resolve.py`). One run measures, side by side:

- `resolve()` answered from the in-process snapshot (an enabled model; also a fallback answer,
  which is counted and rate-limit logged, and a story config);
- the same lookup as the original plan did it: one indexed SELECT per call (the most favourable
  form: a Core statement on a connection that stays open, by the UNIQUE(provider, category,
  model_id) index), on SQLite and on PostgreSQL;
- a bare dict lookup of the same key (the floor for any in-process cache);
- cross-process freshness: another Python process resolves in a loop while this one commits a
  status change; the delay from commit to the other process's changed answer;
- the retirement-date rule (README "Retirement and successors"): `resolve()` with the rule on
  (three in ten padded models dated, a third of those past) against the same catalog with
  `registry.retire_by_date` false, in alternating rounds (goal ≤ 1.05×), and the snapshot
  load with and without it.

The catalog is padded to several thousand models (an OpenRouter-sized text listing, an
ElevenLabs-sized voice library) so reload time counts. Sub-microsecond calls are timed in
batches of 50 (per-call time = batch time / 50, loop included); SELECTs one by one.
PostgreSQL: a scratch database beside REGISTRY_TEST_POSTGRES_URL (see registry.scratch),
default postgresql+psycopg://postgres@127.0.0.1:5432/test.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from registry.db import Database, set_database
from registry.migrate import upgrade as migrate_database
from registry.resolution import get_ai_config_for_story, reset_snapshot, resolve
from registry.retirement import set_retire_by_date
from registry.schema import AIModel, utcnow
from registry.scratch import create_postgres_database, drop_postgres_database, postgres_url
from registry.snapshot import load_snapshot
from registry.store import (
    ModelFilter,
    bulk_update_models,
    get_model_by_provider_id,
    list_models,
    update_model_status,
    upsert_discovered_models,
)
from registry.types import DiscoveredModel

BATCH = 50
SAMPLES = 4000  # batches: 200,000 calls per in-process measurement
SELECT_CALLS = 3000
FRESHNESS_TRIALS = 40
TEXT_PADDING = 3000  # openrouter-like listing
VOICE_PADDING = 2500  # elevenlabs-like voice library
WATCHED = "bench/watched-model"
RULE_ROUNDS = 3  # alternating rule-on / rule-off measurements

KEY = ("text", "openai", "gpt-4o")  # enabled: resolve answers with itself

CHILD = """
import logging, sys, time
from registry.resolution import resolve

logging.getLogger("registry").setLevel(logging.ERROR)

last = resolve("text", "openrouter", sys.argv[1]).fallback
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    now = resolve("text", "openrouter", sys.argv[1]).fallback
    if now != last:
        print("flip", time.monotonic(), flush=True)
        last = now
    time.sleep(0.001)
"""


@dataclass
class Stats:
    median_ns: float
    p99_ns: float

    @classmethod
    def of(cls, samples: list[float]) -> Stats:
        ordered = sorted(samples)
        return cls(statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1])


def _batched(call: Callable[[], object]) -> Stats:
    """Per-call ns, from SAMPLES batches of BATCH calls."""
    loop = range(BATCH)
    for _ in range(2000):
        call()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(SAMPLES):
        start = clock()
        for _ in loop:
            call()
        samples.append((clock() - start) / BATCH)
    return Stats.of(samples)


@dataclass
class BackendResult:
    cached: Stats
    per_call: Stats
    freshness: Stats
    rule_on: Stats
    rule_off: Stats


def _dict_lookup() -> Stats:
    table = {KEY: "gpt-4o", **{("text", "x", str(i)): str(i) for i in range(5000)}}
    category, provider, model = KEY
    loop = range(BATCH)
    samples = []
    clock = time.perf_counter_ns
    for _ in range(SAMPLES):
        start = clock()
        for _ in loop:
            table[(category, provider, model)]
        samples.append((clock() - start) / BATCH)
    return Stats.of(samples)


def _per_call_select(database: Database) -> Stats:
    """The original plan: look the model up in the database on every call."""
    statement = select(AIModel.status).where(
        AIModel.provider == KEY[1], AIModel.category == KEY[0], AIModel.model_id == KEY[2]
    )
    samples = []
    clock = time.perf_counter_ns
    with database.engine.connect() as connection:
        for _ in range(200):
            connection.execute(statement).scalar_one()
        for _ in range(SELECT_CALLS):
            start = clock()
            connection.execute(statement).scalar_one()
            samples.append(float(clock() - start))
    return Stats.of(samples)


def _pad_catalog() -> None:
    upsert_discovered_models(
        "openrouter",
        "text",
        [DiscoveredModel(f"bench/model-{i:05d}", f"Bench model {i}") for i in range(TEXT_PADDING)]
        + [DiscoveredModel(WATCHED, "Watched model")],
    )
    upsert_discovered_models(
        "elevenlabs",
        "tts",
        [DiscoveredModel(f"voice{i:05d}", f"Voice {i}") for i in range(VOICE_PADDING)],
    )
    pending = list_models(ModelFilter(status="pending"))
    bulk_update_models([m.id for m in pending[::2]], "enabled")
    bulk_update_models([get_model_by_provider_id("openrouter", WATCHED, "text").id], "enabled")


def _date_catalog(database: Database) -> None:
    """Date three in ten padded models (one in ten past: retired) and the measured one (ahead:
    still served), as a dataset with retirement dates would."""
    now = utcnow()
    with database.write() as session:
        for index, days in enumerate((-30, 45, 200)):
            session.execute(
                update(AIModel)
                .where(
                    AIModel.provider == "openrouter",
                    AIModel.model_id.like(f"bench/model-%{index}"),
                )
                .values(retires_at=now + timedelta(days=days))
            )
        session.execute(
            update(AIModel)
            .where(AIModel.provider == KEY[1], AIModel.model_id == KEY[2])
            .values(retires_at=now + timedelta(days=90))
        )


def _with_rule(on: bool) -> Stats:
    set_retire_by_date(on)
    resolve(*KEY)  # the commit marked the snapshot stale: this call reloads it
    return _batched(lambda: resolve("text", "openai", "gpt-4o"))


def _date_rule(database: Database) -> tuple[Stats, Stats]:
    """resolve() with the retirement-date rule on and off, alternating rounds (shared noise):
    the median of each side's round medians, and the worst p99."""
    _date_catalog(database)
    on_rounds, off_rounds = [], []
    for _ in range(RULE_ROUNDS):
        on_rounds.append(_with_rule(True))
        off_rounds.append(_with_rule(False))
    set_retire_by_date(True)
    loads: dict[str, list[float]] = {}
    for label in ("on", "off", "on", "off"):
        set_retire_by_date(label == "on")
        started = time.perf_counter()
        load_snapshot(database)
        loads.setdefault(label, []).append((time.perf_counter() - started) * 1000)
    set_retire_by_date(True)
    print(
        f"    snapshot load with the rule {min(loads['on']):.1f} ms, "
        f"without {min(loads['off']):.1f} ms"
    )

    def merged(rounds: list[Stats]) -> Stats:
        return Stats(statistics.median(r.median_ns for r in rounds), max(r.p99_ns for r in rounds))

    return merged(on_rounds), merged(off_rounds)


def _freshness(database: Database, workdir: Path) -> tuple[Stats, float]:
    """Commit → seen by another process, over FRESHNESS_TRIALS status flips."""
    watched = get_model_by_provider_id("openrouter", WATCHED, "text").id
    env = dict(os.environ, REGISTRY_DATABASE_URL=database.url)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, WATCHED, str(FRESHNESS_TRIALS * 3 + 30)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=workdir,
    )
    lines: queue.Queue[str] = queue.Queue()

    def reader() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line)

    threading.Thread(target=reader, daemon=True).start()
    delays = []
    try:
        if lines.get(timeout=60).strip() != "ready":
            raise RuntimeError("freshness probe did not start")
        status = "enabled"
        for _ in range(FRESHNESS_TRIALS):
            time.sleep(random.uniform(0.1, 0.5))  # land anywhere in the poll interval
            status = "disabled" if status == "enabled" else "enabled"
            update_model_status(watched, status)
            committed = time.monotonic()
            seen = float(lines.get(timeout=30).split()[1])
            delays.append((seen - committed) * 1e9)
    finally:
        child.kill()
        child.wait()
    started = time.perf_counter()
    loaded = load_snapshot(database)
    reload_ms = (time.perf_counter() - started) * 1000
    print(f"    snapshot reload: {reload_ms:.1f} ms for {len(loaded.models):,} models")
    return Stats.of(delays), reload_ms


@contextmanager
def _sqlite(workdir: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{workdir / 'bench.db'}")
    try:
        yield database
    finally:
        database.dispose()


@contextmanager
def _postgres() -> Iterator[Database | None]:
    try:
        name = create_postgres_database(prefix="mr_bench")
    except Exception as exc:
        print(f"  PostgreSQL unavailable ({str(exc).splitlines()[0]}): skipped")
        yield None
        return
    database = Database(postgres_url(name))
    try:
        yield database
    finally:
        database.dispose()
        drop_postgres_database(name)


def _us(ns: float) -> str:
    return f"{ns / 1000:8.3f} µs"


def _run_backend(
    database: Database, label: str, workdir: Path, results: dict[str, BackendResult]
) -> None:
    print(f"\n== {label} ==")
    migrate_database(database)
    set_database(database)
    reset_snapshot()
    _pad_catalog()
    update_model_status(get_model_by_provider_id("openai", "gpt-4o-mini", "text").id, "deprecated")
    assert resolve(*KEY).model_id == "gpt-4o"

    cached = _batched(lambda: resolve("text", "openai", "gpt-4o"))
    fallback = _batched(lambda: resolve("text", "openai", "gpt-4o-mini"))
    story = _batched(lambda: get_ai_config_for_story("openai", "gpt-4o", 0.7))
    per_call = _per_call_select(database)
    print(
        f"  resolve (cached, enabled)      median {_us(cached.median_ns)}  p99 {_us(cached.p99_ns)}"
    )
    print(
        f"  resolve (cached, fallback)     median {_us(fallback.median_ns)}  "
        f"p99 {_us(fallback.p99_ns)}"
    )
    print(
        f"  story config (cached)          median {_us(story.median_ns)}  p99 {_us(story.p99_ns)}"
    )
    print(
        f"  per-call indexed SELECT        median {_us(per_call.median_ns)}  "
        f"p99 {_us(per_call.p99_ns)}"
    )
    print(
        f"  → resolve is {per_call.median_ns / cached.median_ns:,.0f}× faster (median), "
        f"{per_call.p99_ns / cached.p99_ns:,.0f}× (p99)"
    )
    print(f"  retirement-date rule ({RULE_ROUNDS} alternating rounds each):")
    rule_on, rule_off = _date_rule(database)
    print(
        f"    resolve, rule on            median {_us(rule_on.median_ns)}  "
        f"p99 {_us(rule_on.p99_ns)}"
    )
    print(
        f"    resolve, rule off           median {_us(rule_off.median_ns)}  "
        f"p99 {_us(rule_off.p99_ns)}"
    )
    print(f"  cross-process freshness ({FRESHNESS_TRIALS} commits seen by another process):")
    fresh, _ = _freshness(database, workdir)
    results[label] = BackendResult(cached, per_call, fresh, rule_on, rule_off)
    print(
        f"    commit → seen: median {fresh.median_ns / 1e6:6.1f} ms  "
        f"p99 {fresh.p99_ns / 1e6:6.1f} ms"
    )
    reset_snapshot()
    set_database(None)


def main() -> int:
    random.seed(7)
    # The benchmark's own fallbacks would otherwise print their (once per 5 min) warnings.
    logging.getLogger("registry").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        workdir = Path(tmp)
        os.environ["REGISTRY_DATA_DIR"] = str(workdir / "data")
        print("Resolution benchmark (one run; batches of 50 calls for in-process timings)")
        bare = _dict_lookup()
        print(
            f"  bare dict lookup               median {_us(bare.median_ns)}  p99 {_us(bare.p99_ns)}"
        )
        results: dict[str, BackendResult] = {}
        with _sqlite(workdir) as sqlite_db:
            _run_backend(sqlite_db, "SQLite", workdir, results)
        with _postgres() as postgres_db:
            if postgres_db is not None:
                _run_backend(postgres_db, "PostgreSQL", workdir, results)

    print("\n== Summary (goals in brackets) ==")
    ok = True
    for label, goal in (("PostgreSQL", 100), ("SQLite", 40)):
        if label not in results:
            continue
        result = results[label]
        ratio = result.per_call.median_ns / result.cached.median_ns
        dict_ratio = result.cached.median_ns / bare.median_ns
        fresh = result.freshness
        rule_ratio = result.rule_on.median_ns / result.rule_off.median_ns
        met = ratio >= goal and dict_ratio <= 10 and fresh.p99_ns <= 1e9 and rule_ratio <= 1.05
        ok &= met
        print(
            f"  {label:<10} resolve vs per-call SELECT {ratio:7,.0f}× [≥ {goal}×]   "
            f"vs bare dict {dict_ratio:4.1f}× slower [≤ 10×]   "
            f"freshness p99 {fresh.p99_ns / 1e6:5.0f} ms [≤ 1000 ms]   "
            f"date rule on/off {rule_ratio:4.2f}× [≤ 1.05×]   "
            f"{'met' if met else 'NOT MET'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
