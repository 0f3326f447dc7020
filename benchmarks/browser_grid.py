"""Browser benchmark of the model grids: click → updated page, in Debian's chromium.

Run with `make bench` (or `python benchmarks/browser_grid.py`). A `streamlit run app.py` server
on a SQLite catalog of 3,000 text models (benchmarks/dashboard.py's seed: 2,000 OpenRouter
models pending, Mistral's enabled/disabled/deprecated) is driven by Playwright at 1024×768.
Each figure is the time from the click (or Enter) until the page shows the result and Streamlit
is idle again, read off the page's own clock:

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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from benchmarks.common import median  # noqa: E402
from benchmarks.dashboard import seed  # noqa: E402
from registry.db import Database, set_database  # noqa: E402
from registry.store import ModelFilter, count_models  # noqa: E402
from tests.dashboard_support import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    WAIT_MS,
    Ui,
    migrated_sqlite,
    streamlit_server,
)

TICK_GOAL = 0.3
ACTION_GOAL = 0.8
ROUNDS = 5
ROW_HEIGHT = 35
TOP_BAR = 70  # pixels: the navigation bar stays on top of the page's upper edge
PENDING = ".st-key-text-section-pending"


# The clock runs inside the page: from the input event (a pointer press or a key) until a run
# started after it has finished and `text` is on the page. Playwright's own waits poll at
# intervals of up to 100 ms, which would add to every figure.
TIMER = """
window.__bench = {text: null};
window.__arm = (text) => { window.__bench = {text, input: null, ran: false, done: null}; };
const inputSeen = () => {
  const b = window.__bench;
  if (b.text !== null && b.input === null) b.input = performance.now();
};
window.addEventListener('pointerdown', inputSeen, true);
window.addEventListener('keydown', inputSeen, true);
const check = () => {
  const b = window.__bench;
  if (b.input === null || b.done !== null) return;
  const app = document.querySelector('[data-testid=stApp]');
  const state = app && app.getAttribute('data-test-script-state');
  if (state === 'running') b.ran = true;
  else if (b.ran && state === 'notRunning' && document.body.textContent.includes(b.text))
    b.done = performance.now();
};
window.addEventListener('DOMContentLoaded', () => new MutationObserver(check).observe(
  document.body, {subtree: true, childList: true, characterData: true, attributes: true}));
"""


def arm(ui: Ui, text: str) -> None:
    """Start the page's clock at the next input; it stops once `text` shows after a run."""
    ui.page.evaluate("text => window.__arm(text)", text)


def measured(ui: Ui) -> float:
    """Seconds from the armed input until the page showed its text, read off the page's clock."""
    ui.page.wait_for_function("() => window.__bench.done !== null", timeout=WAIT_MS)
    seconds: float = ui.page.evaluate("() => (window.__bench.done - window.__bench.input) / 1000")
    return seconds


def open_page(browser: Any, url: str, provider: str | None = None) -> Ui:
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.add_init_script(TIMER)
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
    if box["y"] < TOP_BAR:  # its top is under the navigation bar (a click below scrolled)
        ui.page.mouse.move(box["x"] + 5, 200)
        ui.page.mouse.wheel(0, box["y"] - TOP_BAR - 20)
        ui.page.wait_for_timeout(200)
        box = grid.bounding_box()
        assert box is not None
    return box["x"] + 37, box["y"] + ROW_HEIGHT * row + ROW_HEIGHT / 2


def bench_tick(ui: Ui) -> list[float]:
    ui.settle()
    samples = []
    for n in range(1, ROUNDS + 1):
        x, y = row_point(ui, n)
        arm(ui, f"· {n} selected")
        ui.page.mouse.click(x, y)
        samples.append(measured(ui))
        ui.settle()
    return samples


def bench_search(ui: Ui) -> list[float]:
    samples = []
    box = ui.page.get_by_label("Search models", exact=True)
    for i in range(ROUNDS):
        box.fill(f"vendor bench 0004{i}")
        arm(ui, "Pending approval (1)")
        box.press("Enter")
        samples.append(measured(ui))
        ui.settle()
    box.fill("")
    box.press("Enter")
    ui.settle()
    return samples


def tick_first_row(ui: Ui) -> None:
    """Tick the Pending grid's first row. Right after a page run the grid's canvas can miss a
    click, so it is clicked again until the page counts the tick (this part is not timed)."""
    for _ in range(5):
        ui.settle()
        ui.page.mouse.click(*row_point(ui, 1))
        try:
            ui.page.get_by_text("· 1 selected").first.wait_for(timeout=3_000)
            ui.settle()
            return
        except PlaywrightTimeout:
            continue
    raise RuntimeError("the Pending grid did not take a tick in five clicks")


def bench_approve(ui: Ui) -> list[float]:
    samples = []
    for _ in range(ROUNDS):
        tick_first_row(ui)
        arm(ui, "Approved 1 model(s)")
        ui.click("Approve selected")
        samples.append(measured(ui))
        ui.settle()
    return samples


def bench_default(ui: Ui) -> list[float]:
    samples = []
    for i in range(ROUNDS):
        ui.page.get_by_test_id("stSelectbox").filter(has_text="Default text model of").first.click()
        option = f"mistral/mistral-bench-{i:05d}"
        ui.page.keyboard.type(option)
        arm(ui, f"{option} is now the default")
        # Options read "Name — provider/model_id".
        ui.page.get_by_role("option").filter(has_text=option).first.click()
        samples.append(measured(ui))
        ui.settle()
    return samples


ACTIONS = (
    ("tick a Select box (section reruns)", TICK_GOAL),
    ('search "vendor bench 0004N"', ACTION_GOAL),
    ("approve 1 selected", ACTION_GOAL),
    ("set default (Mistral picker)", ACTION_GOAL),
)


def bench_server(browser: Any, gc_after_each_run: bool) -> tuple[int, list[list[float]]]:
    """The four actions against a server of its own, on a freshly seeded catalog."""
    with tempfile.TemporaryDirectory(prefix="grid-bench-") as folder:
        data = Path(folder)
        url = migrated_sqlite(data)
        database = Database(url)
        set_database(database)
        seed()
        total = count_models(ModelFilter(category="text"))
        set_database(None)
        database.dispose()
        gc_option = ["--runner.postScriptGC", str(gc_after_each_run).lower()]
        with streamlit_server(data, {"REGISTRY_DATABASE_URL": url}, args=gc_option) as base:
            open_page(browser, base).page.close()  # warm up the server's imports
            ui = open_page(browser, base)
            tick = bench_tick(ui)
            ui.page.close()
            ui = open_page(browser, base)
            search, approve = bench_search(ui), bench_approve(ui)
            ui.page.close()
            ui = open_page(browser, base, "mistral")
            default = bench_default(ui)
            ui.page.close()
    return total, [tick, search, approve, default]


def main() -> int:
    logging.disable(logging.WARNING)
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} is not installed")
        return 0
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # Streamlit collects all garbage after every run by default; .streamlit/config.toml
        # turns that off. Both are measured here, one after the other.
        _, streamlit_default = bench_server(browser, gc_after_each_run=True)
        total, ours = bench_server(browser, gc_after_each_run=False)
        browser.close()
    load = os.getloadavg()[0]
    print(
        f"sqlite: {total} text models in the catalog, chromium at 1024×768 (load average "
        f"{load:.1f} on {os.cpu_count()} cores: browser and server share them)\n"
        f"medians of {ROUNDS} (max in brackets); GC = Streamlit's garbage collection after "
        "every run (its default; off in this dashboard's config)"
    )
    print(f"  {'action':<36} {'GC after each run':>15} {'dashboard config':>16}  ratio  goal")
    for (label, goal), before, after in zip(ACTIONS, streamlit_default, ours, strict=True):
        verdict = "ok" if median(after) <= goal else "OVER GOAL"
        print(
            f"  {label:<36} {median(before):6.3f} s ({max(before):.2f})"
            f" {median(after):6.3f} s ({max(after):.2f})  {median(before) / median(after):4.2f}x"
            f"  ≤ {goal:.1f} s {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
