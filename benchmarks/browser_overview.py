"""Browser benchmark of the Overview: first load in a warm browser, a switch to it, its height.

Run with `make bench` (or `python benchmarks/browser_overview.py`). A `streamlit run app.py`
server on a SQLite catalog of 3,000 text models (benchmarks/dashboard.py's seed) plus failed
refreshes of two providers and fallbacks of ten requested models, driven by Playwright in
Debian's chromium at 1024×768:

- first load: a new tab of an already running browser (its cache warm) opens the Overview;
  from the start of the navigation until the page's last section is drawn and Streamlit is
  idle, read off the page's own clock;
- switch: Text models → the Overview link in the navigation bar, from the click until the
  Overview is drawn and idle;
- height: the page's scroll height at 1024 px once it is drawn.

Goals: first load < 1.5 s, switch < 0.5 s. Medians of several runs (max in brackets).
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

from benchmarks.browser_grid import TIMER, arm, measured  # noqa: E402
from benchmarks.common import median  # noqa: E402
from benchmarks.dashboard import seed  # noqa: E402
from registry.db import Database, set_database  # noqa: E402
from registry.discovery import discover_models  # noqa: E402
from registry.keys import set_api_key  # noqa: E402
from registry.resolution import flush_fallback_counts, resolve  # noqa: E402
from registry.store import ModelFilter, count_models, list_models  # noqa: E402
from tests.dashboard_support import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    WAIT_MS,
    Ui,
    free_port,
    migrated_sqlite,
    streamlit_server,
)

LOAD_GOAL = 1.5
SWITCH_GOAL = 0.5
ROUNDS = 5
VIEWPORT = {"width": 1024, "height": 768}
LAST_SECTION = "TTS models (voices)"  # the Overview's last header
# From the start of the navigation (performance.now() counts from there) until a run has
# finished with the Overview's last header on the page.
LOAD_TIMER = """
window.__load = null;
const loaded = () => {
  if (window.__load !== null) return;
  const app = document.querySelector('[data-testid=stApp]');
  if (app && app.getAttribute('data-test-script-state') === 'notRunning'
      && document.body.textContent.includes('LAST_SECTION')) window.__load = performance.now();
};
window.addEventListener('DOMContentLoaded', () => new MutationObserver(loaded).observe(
  document.body, {subtree: true, childList: true, characterData: true, attributes: true}));
""".replace("LAST_SECTION", LAST_SECTION)
HEIGHT = """() => Math.max(...[...document.querySelectorAll(
  '[data-testid=stMain], [data-testid=stAppViewContainer], html')].map(e => e.scrollHeight))"""


def failures_and_fallbacks() -> None:
    """Two providers whose refresh failed (their API unreachable), and fallbacks of ten
    deprecated models the application asked for."""
    closed = f"http://127.0.0.1:{free_port()}"
    for provider in ("mistral", "anthropic"):
        os.environ[f"REGISTRY_{provider.upper()}_BASE_URL"] = closed
        set_api_key(provider, f"sk-bench-{provider}-0000")
    discover_models("text", ["mistral", "anthropic"], force=True)
    for model in list_models(ModelFilter(provider="mistral", status="deprecated"))[:10]:
        for _ in range(3):
            resolve("text", "mistral", model.model_id)
    flush_fallback_counts()


def first_load(browser: Any, url: str) -> tuple[float, int]:
    page = browser.new_page(viewport=VIEWPORT)
    page.add_init_script(LOAD_TIMER)
    page.goto(url)
    page.wait_for_function("() => window.__load !== null", timeout=WAIT_MS)
    seconds: float = page.evaluate("() => window.__load / 1000")
    Ui(page).settle()
    height: int = page.evaluate(HEIGHT)
    page.close()
    return seconds, height


def switches(browser: Any, url: str) -> list[float]:
    page = browser.new_page(viewport=VIEWPORT)
    page.add_init_script(TIMER)
    ui = Ui(page)
    samples = []
    for _ in range(ROUNDS):
        page.goto(f"{url}/text_models")
        ui.heading("Text models")
        arm(ui, LAST_SECTION)
        page.get_by_role("link", name="Overview").first.click()
        samples.append(measured(ui))
        ui.settle()
    page.close()
    return samples


def main() -> int:
    logging.disable(logging.WARNING)
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} is not installed")
        return 0
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="overview-bench-") as folder:
        data = Path(folder)
        os.environ["REGISTRY_DATA_DIR"] = folder  # where set_api_key keeps its secret
        url = migrated_sqlite(data)
        database = Database(url)
        set_database(database)
        seed()
        failures_and_fallbacks()
        total = count_models(ModelFilter(category="text"))
        set_database(None)
        database.dispose()
        with (
            streamlit_server(data, {"REGISTRY_DATABASE_URL": url}) as base,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            first_load(browser, base)  # the server's imports and the browser's cache, warm
            loads = [first_load(browser, base) for _ in range(ROUNDS)]
            switch = switches(browser, base)
            browser.close()
    load_s = [s for s, _ in loads]
    height = loads[-1][1]
    print(
        f"sqlite: {total} text models, 2 failed refreshes, 10 fallbacks; chromium at "
        f"1024×768 (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)\n"
        f"medians of {ROUNDS} (max in brackets)"
    )
    for name, samples, goal in (
        ("Overview, first load in a warm browser", load_s, LOAD_GOAL),
        ("switch Text models → Overview", switch, SWITCH_GOAL),
    ):
        verdict = "ok" if median(samples) < goal else "OVER GOAL"
        print(f"  {name:<40} {median(samples):6.3f} s ({max(samples):.2f})  < {goal} s {verdict}")
    print(f"  {'Overview height at 1024 px':<40} {height:>6,} px")
    return 0


if __name__ == "__main__":
    sys.exit(main())
