"""The three everyday jobs on the Text models page, in Debian's chromium at 1024 and 1440 px:
approve 3 of 15 pending models, make one of 456 enabled models the default through the
searchable chooser, disable 20 of 461 (asked with the count) and undo it.

Each job prints what it cost the admin: clicks, page reruns and seconds (`pytest -s` shows
them; the README's numbers come from here).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from registry.db import Database, set_database
from registry.store import (
    ModelFilter,
    bulk_update_models,
    count_models,
    get_default_model_for_provider,
    list_model_ids,
    upsert_discovered_models,
)
from registry.types import DiscoveredModel
from tests.dashboard_support import WAIT_MS, Ui, migrated_sqlite, streamlit_server

pytestmark = pytest.mark.browser

VIEWPORTS = [
    pytest.param({"width": 1024, "height": 768}, id="1024"),
    pytest.param({"width": 1440, "height": 900}, id="1440"),
]
# Counts every rerun of the script the browser asks for (a "page reload" of a Streamlit app).
COUNT_RERUNS = """
window.__reruns = 0;
new MutationObserver((changes) => {
  for (const change of changes) {
    if (change.target.getAttribute('data-test-script-state') === 'running') window.__reruns++;
  }
}).observe(document, {
  attributes: true, subtree: true, attributeFilter: ['data-test-script-state'],
});
"""
ROW_HEIGHT = 35  # px, the grid's header and rows
SELECT_X = 40  # px from the grid's left edge: the Select checkbox


@pytest.fixture(scope="module")
def served_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """455 enabled OpenRouter models besides the curated six (20 of them "bulk/old-…"),
    15 pending Mistral models."""
    database = Database(migrated_sqlite(tmp_path_factory.mktemp("actions")))
    set_database(database)
    many = [DiscoveredModel(f"vendor/m-{i:03d}", f"Model {i}") for i in range(435)]
    many += [DiscoveredModel(f"bulk/old-{i:02d}", f"Old {i}") for i in range(20)]
    upsert_discovered_models("openrouter", "text", many)
    bulk_update_models(list_model_ids(ModelFilter(provider="openrouter")), "enabled")
    upsert_discovered_models(
        "mistral", "text", [DiscoveredModel(f"mistral-new-{i:02d}", f"New {i}") for i in range(15)]
    )
    set_database(None)
    yield database
    database.dispose()


@pytest.fixture(autouse=True)
def _checks_read_the_served_database(served_database: Database, registry_instance: object) -> None:
    """This test's default registry (which its checks read) is the one the dashboard serves."""
    set_database(served_database)


@pytest.fixture(scope="module")
def dashboard(
    tmp_path_factory: pytest.TempPathFactory, served_database: Database, chromium: Any
) -> Iterator[str]:
    env = {"REGISTRY_DATABASE_URL": served_database.url}
    with streamlit_server(tmp_path_factory.mktemp("actions-app"), env) as base:
        yield base


@dataclass
class Job:
    """What one job cost: clicks (and Enter presses), reruns, seconds."""

    name: str
    page: Any
    clicks: int = 0
    started: float = 0.0

    def __enter__(self) -> Job:
        self.page.evaluate("window.__reruns = 0")
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            seconds = time.monotonic() - self.started
            reruns = self.page.evaluate("window.__reruns")
            print(f"\nJOB {self.name}: {self.clicks} clicks / {reruns} reruns / {seconds:.1f} s")


def open_page(chromium: Any, base: str, viewport: dict[str, int]) -> tuple[Any, Ui]:
    page = chromium.new_page(viewport=viewport)
    page.add_init_script(COUNT_RERUNS)
    page.goto(f"{base}/text_models")
    ui = Ui(page)
    ui.heading("Text models")
    return page, ui


def choose_provider(job: Job, ui: Ui, provider: str) -> None:
    ui.page.get_by_test_id("stSelectbox").filter(has_text="Provider").first.click()
    ui.page.keyboard.type(provider)
    ui.page.get_by_role("option", name=re.compile(f"^{provider}")).first.click()
    job.clicks += 2
    ui.settle()


def tick_rows(job: Job, ui: Ui, section: str, rows: range) -> None:
    grid = ui.page.locator(f".st-key-text-section-{section} [data-testid='stDataFrame']")
    grid.scroll_into_view_if_needed()
    for row in rows:
        grid.click(position={"x": SELECT_X, "y": ROW_HEIGHT * (row + 1) + ROW_HEIGHT // 2})
        job.clicks += 1
        ui.settle()


def pending(provider: str) -> int:
    return count_models(ModelFilter(category="text", provider=provider, status="pending"))


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_approve_three_of_fifteen(dashboard: str, chromium: Any, viewport: dict[str, int]) -> None:
    page, ui = open_page(chromium, dashboard, viewport)
    before = pending("mistral")
    with Job("approve 3 of 15", page) as job:
        choose_provider(job, ui, "mistral")
        tick_rows(job, ui, "pending", range(3))
        ui.see("3 selected")
        ui.click("Approve selected")
        job.clicks += 1
        ui.see("Approved 3 model(s)")
    assert pending("mistral") == before - 3
    ui.heading(f"Pending approval ({before - 3})")
    # The provider selector counts after the action, not one action behind.
    provider = page.get_by_role("combobox", name="Provider")
    assert provider.input_value() == f"mistral ({before - 3} pending)"
    page.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_make_one_of_456_the_default_by_typing(
    dashboard: str, chromium: Any, viewport: dict[str, int]
) -> None:
    page, ui = open_page(chromium, dashboard, viewport)
    number = 377 if viewport["width"] == 1024 else 211
    with Job("make one the default", page) as job:
        choose_provider(job, ui, "openrouter")
        picker = page.get_by_test_id("stSelectbox").filter(has_text="Default text model of")
        picker.first.click()
        page.keyboard.type(f"m-{number}")  # the chooser filters its 456 options as you type
        option = page.get_by_role("option", name=f"Model {number} — openrouter/vendor/m-{number}")
        option.click()
        job.clicks += 2
        ui.see(f"openrouter/vendor/m-{number} is now the default text model of openrouter.")
    assert get_default_model_for_provider("openrouter", "text") == f"vendor/m-{number}"
    page.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_disable_twenty_with_confirmation_then_undo(
    dashboard: str, chromium: Any, viewport: dict[str, int]
) -> None:
    page, ui = open_page(chromium, dashboard, viewport)
    enabled = ModelFilter(category="text", provider="openrouter", status="enabled")
    assert count_models(enabled) == 461
    with Job("disable 20 of 461", page) as job:
        choose_provider(job, ui, "openrouter")
        ui.search("bulk/old")
        job.clicks += 1  # Enter
        ui.heading("Enabled (20)")
        ui.tick("Select all on this page")
        job.clicks += 1
        ui.see("20 selected")
        ui.click("Disable selected")
        ui.see("Disable 20 model(s)?")
        ui.click("Disable 20")
        job.clicks += 2
        ui.see("Disabled 20 model(s)")
    assert count_models(enabled) == 441
    # Undo floats in the corner below the toast, on screen wherever the page is scrolled.
    page.mouse.wheel(0, 3000)
    undo = page.get_by_role("button", name="Undo", exact=True)
    box = undo.bounding_box()
    assert box is not None and viewport["height"] / 2 < box["y"] < viewport["height"]
    with Job("undo the disable", page) as job:
        ui.click("Undo")
        job.clicks += 1
        ui.see("Undone: 20 model(s) back as they were.")
    assert count_models(enabled) == 461
    page.get_by_role("heading", name="Enabled (20)").first.wait_for(timeout=WAIT_MS)
    page.close()
