"""Metadata enrichment: what filling prices and dates from the datasets adds to a refresh.

A full refresh (both categories, every provider) over stand-in servers in a child process,
with and without enrichment, side by side in one run. "Without" swaps discovery's two
enrichment hooks for pass-throughs. Two measurements per listing set:

- steady state, on SQLite and on PostgreSQL: the second refresh of a fresh database, with the
  dataset loaded (every model looked up again: there is no cache of lookups). Whole-refresh
  times on a shared 2-core machine vary by more than the effect, so the time spent inside the
  enrichment hooks is also summed and set against the refresh: that share is the verdict.
- the first refresh of a fresh process (SQLite), as `discover --all` from cron: dataset import
  included.

Listings: the stand-in fixtures at benchmarks/discovery.py's realistic sizes, and the recorded
real listings of ../shared when present (2,000 Google voices, 400 OpenRouter models …).
- a hostile listing: 24,000 OpenRouter entries without prices, none in the dataset (rotating
  ids), priced by walking every rule of the dataset (its own `find_model`, as before the
  index) and through the index (`fill_missing_metadata`), side by side.
Goal: enrichment adds ≤ 10% to a full refresh; the 24,000 entries take well under
REGISTRY_DISCOVERY_TIMEOUT (default 60 s).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import BACKENDS, median, scratch_database
from benchmarks.discovery import realistic_bodies
from registry import discovery, prices
from registry.config import DEFAULT_DISCOVERY_TIMEOUT
from registry.demo import StandInProviders
from registry.discovery import discover_models
from registry.types import Category, DiscoveredModel

REPEATS = 3
GOAL = 0.10
LATENCY = 0.0  # no made-up network time: the ratio is enrichment against our own work only


def listings(kind: str) -> dict[str, Any]:
    if kind == "fixtures":
        return realistic_bodies()
    from tests.test_discovery_recorded import RECORDED, recorded

    return {name: recorded(file) for name, file in RECORDED.items()}


def recordings_present() -> bool:
    from tests.conftest import SHARED_FIXTURES

    return SHARED_FIXTURES.is_dir()


@contextmanager
def standins_in_child(kind: str) -> Iterator[dict[str, str]]:
    """The stand-ins in their own process, so their JSON encoding does not share our GIL."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind],
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


def serve(kind: str) -> None:
    with StandInProviders(listings(kind), latency=LATENCY) as standins:
        print(json.dumps(standins.environment()), flush=True)
        sys.stdin.read()  # until the parent closes our stdin


# Seconds spent inside the enrichment hooks during the measured refresh (summed over the
# provider threads): the added cost on its own, apart from the noise of the whole refresh.
inside: list[float] = []


def _timed(hook: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return hook(*args, **kwargs)
        finally:
            inside.append(time.perf_counter() - started)

    return timed


@contextmanager
def enrichment(enabled: bool) -> Iterator[None]:
    saved: tuple[Callable[..., Any], Callable[..., Any]] = (
        discovery.fill_missing_metadata,
        discovery.fill_catalog_metadata,
    )
    if enabled:
        discovery.fill_missing_metadata = _timed(saved[0])
        discovery.fill_catalog_metadata = _timed(saved[1])
    else:
        discovery.fill_missing_metadata = lambda provider, category, models, **_: list(models)
        discovery.fill_catalog_metadata = lambda session, provider, category: 0
    try:
        yield
    finally:
        discovery.fill_missing_metadata, discovery.fill_catalog_metadata = saved


def full_refresh(backend: str, enabled: bool) -> tuple[float, float]:
    """(seconds of the refresh, seconds inside enrichment)."""
    with scratch_database(backend), enrichment(enabled):
        for category in Category:
            discover_models(category, force=True)
        inside.clear()
        started = time.perf_counter()
        reports = [discover_models(category, force=True) for category in Category]
        elapsed = time.perf_counter() - started
    failed = [r.to_json() for r in reports if r.total_errors]
    if failed:
        raise SystemExit(f"benchmark refresh failed: {failed}")
    return elapsed, sum(inside)


def dataset_load_seconds() -> float:
    probe = (
        "import time; import registry.discovery; from registry.prices import dataset; "
        "t = time.perf_counter(); dataset(); print(time.perf_counter() - t)"
    )
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", probe], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(REPEATS)
    ]
    return median(samples)


def cold_refresh(enabled: bool) -> float:
    """A fresh process's first full refresh (`discover --all` from cron), dataset load included."""
    mode = "on" if enabled else "off"
    done = subprocess.run(
        [sys.executable, __file__, "--cold", mode], capture_output=True, text=True, check=True
    )
    return float(done.stdout)


def first_refresh(mode: str) -> None:
    with scratch_database("sqlite"), enrichment(mode == "on"):
        started = time.perf_counter()
        for category in Category:
            discover_models(category, force=True)
        print(time.perf_counter() - started)


def compare(kind: str) -> None:
    with standins_in_child(kind) as environment:
        os.environ.update(environment)
        for backend in BACKENDS:
            runs: dict[bool, list[float]] = {True: [], False: []}
            own: list[float] = []
            for _ in range(REPEATS):
                for enabled in (False, True):  # interleaved: drift hits both alike
                    elapsed, enriching = full_refresh(backend, enabled)
                    runs[enabled].append(elapsed)
                    own += [enriching] if enabled else []
            without, with_ = median(runs[False]), median(runs[True])
            share = median(own) / without
            print(
                f"{backend:<10} {kind:<8} steady: without {without:.3f}s, with {with_:.3f}s "
                f"(ratio {with_ / without:.3f}×); inside enrichment {median(own):.3f}s = "
                f"{share:.1%} of the refresh (goal ≤ {GOAL:.0%}: {_verdict(share)})"
            )
        cold: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(REPEATS):
            for enabled in (False, True):
                cold[enabled].append(cold_refresh(enabled))
        without, with_ = median(cold[False]), median(cold[True])
        # Each pair ran back to back: the median of the pairs' ratios shrugs off load swings.
        added = median([w / wo - 1 for wo, w in zip(cold[False], cold[True], strict=True)])
        print(
            f"{'sqlite':<10} {kind:<8} first refresh of a fresh process: without {without:.3f}s, "
            f"with {with_:.3f}s; added (median of pairs) {added:+.1%} "
            f"(goal ≤ +{GOAL:.0%}: {_verdict(added)})"
        )


HOSTILE_ENTRIES = 24_000


def hostile_listing() -> None:
    """24,000 unpriced entries: the dataset's own walk of every rule against the index."""
    from genai_prices.data import providers

    data = prices.dataset()
    assert data is not None, "genai-prices belongs to the discovery extra"
    listing = [
        DiscoveredModel(f"vendor/rotating-model-{i:05}", f"Model {i}")
        for i in range(HOSTILE_ENTRIES)
    ]
    source = next(p for p in providers if p.id == prices.DATASET_PROVIDERS["openrouter"])
    started = time.perf_counter()
    for model in listing:
        source.find_model(model.model_id, all_providers=providers)
    walked = time.perf_counter() - started
    started = time.perf_counter()
    prices.fill_missing_metadata("openrouter", Category.TEXT, listing)
    indexed = time.perf_counter() - started
    print(
        f"{'any':<10} hostile  {HOSTILE_ENTRIES:,} unpriced OpenRouter entries: walking every "
        f"rule {walked:.2f}s, indexed {indexed:.2f}s (ratio {walked / indexed:.0f}×; "
        f"REGISTRY_DISCOVERY_TIMEOUT default {DEFAULT_DISCOVERY_TIMEOUT:g}s)"
    )


def _verdict(added: float) -> str:
    return "ok" if added <= GOAL else "OVER"


def main() -> None:
    print(
        "== Metadata enrichment: full refresh (text + tts, every provider) without and with "
        "dataset prices (median of 3, seconds) =="
    )
    compare("fixtures")
    if recordings_present():
        compare("recorded")
    else:
        print("(recorded listings of ../shared not present: skipped)")
    print(
        f"one-time dataset load per process (import + index): {dataset_load_seconds():.3f}s "
        "(median of 3 fresh interpreters)"
    )
    hostile_listing()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2])
    elif sys.argv[1:2] == ["--cold"]:
        first_refresh(sys.argv[2])
    else:
        main()
