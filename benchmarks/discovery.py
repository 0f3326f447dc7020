"""Discovery speed: a full refresh vs its slowest provider, and catalog ingest rows/s.

Stand-in servers on 127.0.0.1, in a child process, serve realistic sizes: OpenRouter 400
models, Azure 600 voices, ElevenLabs 5,000 voices (50 pages of the v2 search); the others their
demo listings. Each measurement starts from a freshly migrated database, on SQLite and on
PostgreSQL, and times a refresh in the steady state (the second one on the same engine).
Goals: full refresh ≤ 1.3× the slowest single provider; ingest ≥ 10k rows/s (SQLite),
≥ 5k rows/s (PostgreSQL).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import BACKENDS, median, scratch_database
from registry.audit import DISCOVERY
from registry.demo import StandInProviders, load_fixture
from registry.discovery import discover_models
from registry.schema import utcnow
from registry.store import ingest_discovered
from registry.types import PROVIDERS, Category, DiscoveredModel

REPEATS = 3


def _scaled(entries: list[dict[str, Any]], count: int, key: str) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        entry = copy.deepcopy(entries[i % len(entries)])
        entry[key] = f"{entry[key]}-{i:05d}"
        out.append(entry)
    return out


def realistic_bodies() -> dict[str, Any]:
    openrouter = load_fixture("openrouter")
    openrouter["data"] = _scaled(openrouter["data"], 400, "id")
    openrouter["total_count"] = 400
    voices = load_fixture("elevenlabs")
    return {
        "openrouter": openrouter,
        "azure": _scaled(load_fixture("azure"), 600, "ShortName"),
        "elevenlabs": {"voices": _scaled(voices["voices"], 5000, "voice_id")},
    }


def timed_refresh(backend: str, category: Category, providers: list[str] | None) -> float:
    with scratch_database(backend):
        # Steady state, as in a running dashboard: the first refresh of a new engine compiles
        # its statements and opens its pool; the measured one finds them ready (and, as most
        # real refreshes, finds most models already known).
        discover_models(category, providers, force=True)
        started = time.perf_counter()
        report = discover_models(category, providers, force=True)
        elapsed = time.perf_counter() - started
    if report.total_errors:
        raise SystemExit(f"benchmark refresh failed: {report.to_json()}")
    return elapsed


def ingest_rate(backend: str, rows: int = 5000) -> tuple[float, float]:
    models = [
        DiscoveredModel(f"voice-{i:05d}", f"Voice {i}", "a voice", None, True, None, {"i": i})
        for i in range(rows)
    ]
    with scratch_database(backend) as db:
        started = time.perf_counter()
        with db.write() as session:
            ingest_discovered(
                session, "elevenlabs", Category.TTS, models, utcnow(), actor=DISCOVERY
            )
        insert = rows / (time.perf_counter() - started)
        started = time.perf_counter()
        with db.write() as session:
            ingest_discovered(
                session, "elevenlabs", Category.TTS, models, utcnow(), actor=DISCOVERY
            )
        update = rows / (time.perf_counter() - started)
    return insert, update


@contextmanager
def standins_in_child(latency: float) -> Iterator[dict[str, str]]:
    """The stand-ins in their own process, so their JSON encoding does not share our GIL."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        yield json.loads(child.stdout.readline())
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def serve(latency: float) -> None:
    with StandInProviders(realistic_bodies(), latency=latency) as standins:
        print(json.dumps(standins.environment()), flush=True)
        sys.stdin.read()  # until the parent closes our stdin


def compare_refreshes(latency: float) -> None:
    with standins_in_child(latency) as environment:
        os.environ.update(environment)
        for backend in BACKENDS:
            for category in Category:
                singles = {
                    p: median([timed_refresh(backend, category, [p]) for _ in range(REPEATS)])
                    for p in PROVIDERS[category]
                }
                total = median([timed_refresh(backend, category, None) for _ in range(REPEATS)])
                slowest = max(singles, key=lambda p: singles[p])
                ratio = total / singles[slowest]
                parts = ", ".join(f"{p} {t:.3f}" for p, t in singles.items())
                print(
                    f"{backend:<10} {category.value:<4} full {total:.3f}s; slowest {slowest} "
                    f"{singles[slowest]:.3f}s; ratio {ratio:.2f}× (goal ≤ 1.3×)  [{parts}]"
                )


def main() -> None:
    for latency in (0.15, 0.0):
        print(
            f"== Discovery: full refresh vs the slowest provider, {latency * 1000:.0f} ms per "
            "provider answer (median of 3, seconds) =="
        )
        compare_refreshes(latency)
    print("== Ingest of 5,000 discovered rows (median of 3, rows/s) ==")
    for backend in BACKENDS:
        samples = [ingest_rate(backend) for _ in range(REPEATS)]
        insert = median([s[0] for s in samples])
        update = median([s[1] for s in samples])
        goal = 10_000 if backend == "sqlite" else 5_000
        print(
            f"{backend:<10} insert {insert:,.0f} rows/s, refresh {update:,.0f} rows/s "
            f"(goal ≥ {goal:,}): {insert / goal:.1f}× / {update / goal:.1f}× the goal"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(float(sys.argv[2]))
    else:
        main()
