"""Dashboard benchmark: server time of the Text models page and of approving 500 models.

Run with `make bench` (or `python benchmarks/dashboard.py`). On a catalog seeded with 3,000 text
models (plus the curated ones) on SQLite and on PostgreSQL, it measures with Streamlit's AppTest
(the real script, no browser; so the figures are the server's work plus AppTest's own parsing
of the page, an upper bound of what a browser waits for the server):

- opening the Text models page, all providers (four sections, 50 rows each);
- the same right after a catalog change (resolution's snapshot, which the "Falls back to" column
  reads, reloads then);
- opening it filtered to one provider with 2,000 models;
- approving 500 selected models: 500 rows per page, "Select all on this page", Approve selected
  (one `bulk_update_models` call, then the page drawn again with fresh rows);
- for comparison, the library call alone (`bulk_update_models` of 500 ids);
- the Overview as a new session's first page, and switching to it from Text models;
- the status strip at the top of every page, its reads and decisions alone.

Goal: at most 1 s each. Figures are medians of several runs (max in brackets).
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402
from streamlit.testing.v1.util import patch_config_options  # noqa: E402

from benchmarks.common import BACKENDS, median, scratch_database  # noqa: E402
from registry.admin.status_strip import current_items  # noqa: E402
from registry.admin.timefmt import now_utc  # noqa: E402
from registry.store import (  # noqa: E402
    ModelFilter,
    bulk_update_models,
    count_models,
    list_models,
    upsert_discovered_models,
)
from registry.types import DiscoveredModel  # noqa: E402
from tests.dashboard_support import toasts  # noqa: E402

APP = ROOT / "app.py"
GOAL_SECONDS = 1.0
ROUNDS = 5


def seed() -> None:
    """3,000 text models: 2,000 OpenRouter (pending), 1,000 spread over the others."""

    def models(prefix: str, n: int) -> list[DiscoveredModel]:
        return [
            DiscoveredModel(
                model_id=f"{prefix}-{i:05d}",
                display_name=f"{prefix.title()} model {i}",
                description="A benchmark model with a description of ordinary length.",
                context_window=8192 * (1 + i % 16),
                metadata={"created": 1_700_000_000 + i, "owned_by": prefix, "tier": i % 3},
            )
            for i in range(n)
        ]

    upsert_discovered_models("openrouter", "text", models("vendor/bench", 2000))
    for provider in ("openai", "google", "anthropic", "mistral"):
        upsert_discovered_models(provider, "text", models(f"{provider}-bench", 250))
    # Some of each status, so every section has rows.
    mistral = [m.id for m in list_models(ModelFilter(provider="mistral", status="pending"))]
    bulk_update_models(mistral[:150], "enabled")
    bulk_update_models(mistral[150:200], "disabled")
    bulk_update_models(mistral[200:], "deprecated")


def timed_run(at: AppTest) -> float:
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise RuntimeError([e.value for e in at.exception])
    return elapsed


def open_text_models(provider: str | None) -> tuple[AppTest, float]:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("pages/text_models.py")
    seconds = timed_run(at)
    if provider:
        at.selectbox(key="text-provider").set_value(provider)
        seconds = timed_run(at)
    return at, seconds


def after_a_change() -> float:
    """The deprecated section's "Falls back to" reloads resolution's snapshot after a write."""
    (model,) = list_models(ModelFilter(provider="anthropic", status="pending"), limit=1)
    bulk_update_models([model.id], "disabled")
    seconds = open_text_models(None)[1]
    bulk_update_models([model.id], "pending")
    return seconds


def approve_500() -> float:
    at, _ = open_text_models("openrouter")
    at.selectbox(key="text-page-size").set_value(500)
    timed_run(at)
    grid = next(e.key for e in at.data_editor if str(e.key).startswith("text-pending-grid"))
    at.checkbox(key=f"{grid}-all").check()
    timed_run(at)
    at.button(key="text-approve").click()
    seconds = timed_run(at)
    said = toasts(at)  # feedback is a toast beside the button
    assert any(text.startswith("Approved 500 model(s)") for text in said), said
    return seconds


def open_overview() -> float:
    """A new session's first page: the gate, the status strip, then the Overview."""
    return timed_run(AppTest.from_file(str(APP), default_timeout=60))


def switch_to_overview() -> float:
    at, _ = open_text_models(None)
    at.switch_page("pages/overview.py")
    return timed_run(at)


def status_strip_alone() -> float:
    """What the strip at the top of every page reads and decides (no drawing)."""
    started = time.perf_counter()
    current_items(now_utc())
    return time.perf_counter() - started


def report(label: str, samples: list[float]) -> str:
    verdict = "ok" if median(samples) <= GOAL_SECONDS else "OVER GOAL"
    return f"  {label:<58} {median(samples):6.3f} s  (max {max(samples):.3f})  {verdict}"


def bench(backend: str) -> list[str]:
    lines = []
    with scratch_database(backend):
        seed()
        total = count_models(ModelFilter(category="text"))
        lines.append(f"{backend}: {total} text models in the catalog")
        open_text_models(None)  # warm up imports and the page's modules
        lines.append(
            report(
                "open Text models (all providers)",
                [open_text_models(None)[1] for _ in range(ROUNDS)],
            )
        )
        lines.append(
            report(
                "open Text models right after a catalog change",
                [after_a_change() for _ in range(ROUNDS)],
            )
        )
        lines.append(
            report(
                "open Text models (openrouter: 2,000 pending)",
                [open_text_models("openrouter")[1] for _ in range(ROUNDS)],
            )
        )
        lines.append(
            report(
                "approve 500 selected (click → page drawn again)", [approve_500() for _ in range(3)]
            )
        )
        library = []
        for _ in range(3):
            ids = [
                m.id
                for m in list_models(ModelFilter(provider="openai", status="pending"), limit=250)
            ] + [
                m.id
                for m in list_models(ModelFilter(provider="google", status="pending"), limit=250)
            ]
            started = time.perf_counter()
            bulk_update_models(ids, "enabled")
            library.append(time.perf_counter() - started)
            bulk_update_models(ids, "pending")
        lines.append(report("bulk_update_models(500 ids) alone", library))
        lines.append(
            report(
                "Overview, a new session (server time)", [open_overview() for _ in range(ROUNDS)]
            )
        )
        lines.append(
            report("switch Text models → Overview", [switch_to_overview() for _ in range(ROUNDS)])
        )
        lines.append(
            report("status strip (every page)", [status_strip_alone() for _ in range(ROUNDS)])
        )
        lines.append(voices_rerun())
    return lines


def voices_rerun() -> str:
    """A rerun of TTS models with Google's 5,000 enabled voices chosen (what a tick in its
    Enabled grid costs): the default chooser read afresh, as before, and kept until the
    catalog's change stamp moves, side by side."""
    voices = [
        DiscoveredModel(f"en-US-Bench{i:05d}", f"Bench {i}", metadata={"ssml_gender": "FEMALE"})
        for i in range(5000)
    ]
    upsert_discovered_models("google", "tts", voices)
    bulk_update_models(
        [
            m.id
            for m in list_models(ModelFilter(provider="google", category="tts", status="pending"))
        ],
        "enabled",
    )
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("pages/tts_models.py")
    at.run()
    at.selectbox(key="tts-provider").set_value("google")
    timed_run(at)
    afresh, kept = [], []
    for _ in range(ROUNDS):
        del at.session_state["tts-enabled-choices-google"]  # what every run did before
        afresh.append(timed_run(at))
        kept.append(timed_run(at))
    before, after = median(afresh), median(kept)
    verdict = "ok" if after <= GOAL_SECONDS else "OVER GOAL"
    return (
        f"  {'TTS models, 5,000 enabled Google voices: a rerun':<58} {after:6.3f} s "
        f"(chooser read afresh {before:.3f} s: {before / after:.1f}×)  {verdict}"
    )


def main() -> int:
    logging.disable(logging.WARNING)
    os.environ.setdefault("REGISTRY_DATA_DIR", str(Path("/tmp") / f"dash-bench-{uuid.uuid4().hex}"))
    out: list[str] = []
    with patch_config_options({"server.address": "127.0.0.1"}):
        for backend in BACKENDS:
            out += bench(backend)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
