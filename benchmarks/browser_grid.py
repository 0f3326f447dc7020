"""Browser benchmark of the model grids: click → updated page, in Debian's chromium.

Run with `make bench` (or `python benchmarks/browser_grid.py`). A `streamlit run app.py` server
on a SQLite catalog of 3,000 text models (benchmarks/dashboard.py's seed: 2,000 OpenRouter
models pending, Mistral's enabled/disabled/deprecated) is driven by Playwright at 1024×768.
Each figure is the wall time from the click (or Enter) until the page shows the result and
Streamlit is idle again:

- tick: one Select box in the Pending grid → "N selected" (the section's fragment reruns);
- search: "vendor bench 00042" + Enter → the Pending heading shows the match count;
- approve: Approve selected (one ticked row) → "Approved 1 model(s)" and the page redrawn;
- set default: a new default in Mistral's default picker → "… is now the default".

Goals: tick ≤ 0.3 s; search, approve, set default ≤ 0.8 s. A before/after comparison is not
possible (the old page had no fragment and no multi-word search), so the measured times are
printed against the goals. Medians of several runs (max in brackets).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import median  # noqa: E402
from benchmarks.dashboard import seed  # noqa: E402
from registry.db import Database, set_database  # noqa: E402
from registry.store import ModelFilter, count_models  # noqa: E402
from tests.dashboard_support import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    IDLE,
    WAIT_MS,
    Ui,
    migrated_sqlite,
    streamlit_server,
)

TICK_GOAL = 0.3
ACTION_GOAL = 0.8
ROUNDS = 5
ROW_HEIGHT = 35
PENDING = ".st-key-text-section-pending"


def until_shown(ui: Ui, text: str, started: float) -> float:
    """Seconds from `started` until `text` is on the page and the run has finished."""
    ui.page.get_by_text(text).first.wait_for(timeout=WAIT_MS)
    ui.page.wait_for_selector(IDLE, timeout=WAIT_MS)
    return time.perf_counter() - started


def open_page(browser: Any, url: str, provider: str | None = None) -> Ui:
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.goto(f"{url}/text_models")
    ui = Ui(page)
    ui.heading("Text models")
    if provider:
        ui.choose("Provider", provider)
        ui.settle()
    return ui


def row_point(ui: Ui, row: int) -> tuple[float, float]:
    """Where the Select box of the Pending grid's `row` is on the screen (scrolled into view)."""
    grid = ui.page.locator(f"{PENDING} [data-testid=stDataFrame]")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    if box["y"] < 0:  # its top is above the window (a click further down scrolled): scroll back
        ui.page.mouse.move(box["x"] + 5, 200)
        ui.page.mouse.wheel(0, box["y"] - 20)
        ui.page.wait_for_timeout(200)
        box = grid.bounding_box()
        assert box is not None
    return box["x"] + 37, box["y"] + ROW_HEIGHT * row + ROW_HEIGHT / 2


def bench_tick(ui: Ui) -> list[float]:
    ui.settle()
    samples = []
    for n in range(1, ROUNDS + 1):
        x, y = row_point(ui, n)
        started = time.perf_counter()
        ui.page.mouse.click(x, y)
        samples.append(until_shown(ui, f"· {n} selected", started))
        ui.settle()
    return samples


def bench_search(ui: Ui) -> list[float]:
    samples = []
    box = ui.page.get_by_label("Search models", exact=True)
    for i in range(ROUNDS):
        box.fill(f"vendor bench 0004{i}")
        started = time.perf_counter()
        box.press("Enter")
        samples.append(until_shown(ui, "Pending approval (1)", started))
        ui.settle()
    box.fill("")
    box.press("Enter")
    ui.settle()
    return samples


def bench_approve(ui: Ui) -> list[float]:
    samples = []
    for _ in range(ROUNDS):
        ui.settle()
        ui.page.mouse.click(*row_point(ui, 1))
        ui.see("· 1 selected")
        started = time.perf_counter()
        ui.click("Approve selected")
        samples.append(until_shown(ui, "Approved 1 model(s)", started))
        ui.settle()
    return samples


def bench_default(ui: Ui) -> list[float]:
    samples = []
    for i in range(ROUNDS):
        started_at: list[float] = []
        ui.page.get_by_test_id("stSelectbox").filter(has_text="Default text model of").first.click()
        option = f"mistral/mistral-bench-{i:05d}"
        ui.page.keyboard.type(option)
        started_at.append(time.perf_counter())
        # Options read "Name — provider/model_id".
        ui.page.get_by_role("option").filter(has_text=option).first.click()
        samples.append(until_shown(ui, f"{option} is now the default", started_at[0]))
        ui.settle()
    return samples


def report(label: str, samples: list[float], goal: float) -> str:
    verdict = "ok" if median(samples) <= goal else "OVER GOAL"
    return (
        f"  {label:<44} {median(samples):6.3f} s  (max {max(samples):.3f})  "
        f"goal ≤ {goal:.1f} s  {verdict}"
    )


def main() -> int:
    logging.disable(logging.WARNING)
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} is not installed")
        return 0
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="grid-bench-") as folder:
        data = Path(folder)
        url = migrated_sqlite(data)
        database = Database(url)
        set_database(database)
        seed()
        total = count_models(ModelFilter(category="text"))
        set_database(None)
        database.dispose()
        load = os.getloadavg()[0]
        lines = [
            f"sqlite: {total} text models in the catalog, chromium at 1024×768 "
            f"(load average {load:.1f} on {os.cpu_count()} cores: browser and server share them)"
        ]
        with (
            streamlit_server(data, {"REGISTRY_DATABASE_URL": url}) as base,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            open_page(browser, base).page.close()  # warm up the server's imports
            ui = open_page(browser, base)
            lines.append(report("tick a Select box (section reruns)", bench_tick(ui), TICK_GOAL))
            ui.page.close()
            ui = open_page(browser, base)
            lines.append(report('search "vendor bench 0004N"', bench_search(ui), ACTION_GOAL))
            lines.append(report("approve 1 selected", bench_approve(ui), ACTION_GOAL))
            ui.page.close()
            ui = open_page(browser, base, "mistral")
            lines.append(report("set default (Mistral picker)", bench_default(ui), ACTION_GOAL))
            ui.page.close()
            browser.close()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
