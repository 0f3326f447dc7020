"""The admin's day in Debian's chromium at 1024 and 1440 px: the view survives a reload and
Back through the URL, the status strip's link opens the view where a problem is fixed, and the
default chooser finds a model by words ("mistral medium")."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from registry.db import Database, set_database
from registry.store import set_default_model, upsert_discovered_models
from registry.types import DiscoveredModel
from tests.dashboard_support import WAIT_MS, Ui, migrated_sqlite, streamlit_server

pytestmark = pytest.mark.browser

VIEWPORTS = [
    pytest.param({"width": 1024, "height": 768}, id="1024"),
    pytest.param({"width": 1440, "height": 900}, id="1440"),
]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory, chromium: Any) -> Iterator[str]:
    """A catalog whose openai default retired three days ago."""
    data = tmp_path_factory.mktemp("admin-day")
    database_url = migrated_sqlite(data)
    database = Database(database_url)
    set_database(database)
    try:
        past = datetime.now(UTC) - timedelta(days=3)
        upsert_discovered_models(
            "openai", "text", [DiscoveredModel("gpt-4.1", "GPT-4.1", retires_at=past)]
        )
        set_default_model("openai", "text", "gpt-4.1")
    finally:
        set_database(None)
        database.dispose()
    with streamlit_server(data, {"REGISTRY_DATABASE_URL": database_url}) as url:
        yield url


def query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_view_lives_in_the_url_through_reload_and_back(
    dashboard: str, chromium: Any, viewport: dict[str, int]
) -> None:
    page = chromium.new_page(viewport=viewport)
    ui = Ui(page)
    page.goto(f"{dashboard}/text_models")
    ui.heading("Text models")
    ui.choose("Provider", "mistral")
    ui.search("mistral medium")
    ui.see("Enabled (2)")  # mistral-medium-latest and magistral-medium-latest
    assert query(page)["text-provider"] == ["mistral"]
    assert query(page)["text-search"] == ["mistral medium"]
    started = time.perf_counter()
    page.reload()
    ui.see("Enabled (2)")
    reload_s = time.perf_counter() - started
    assert page.get_by_label("Search models", exact=True).input_value() == "mistral medium"
    # Elsewhere and Back: the same view again.
    page.get_by_role("link", name="Settings").first.click()
    ui.heading("Settings")
    page.go_back()
    ui.see("Enabled (2)")
    assert page.get_by_label("Search models", exact=True).input_value() == "mistral medium"
    print(f"\n[{viewport['width']}px] reload back to the filtered view: {reload_s:.2f} s")
    page.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_strip_links_to_the_fix_and_the_chooser_finds_words(
    dashboard: str, chromium: Any, viewport: dict[str, int]
) -> None:
    page = chromium.new_page(viewport=viewport)
    ui = Ui(page)
    page.goto(f"{dashboard}/settings")
    ui.heading("Settings")
    strip = page.locator(".st-key-registry-status-strip")
    link = strip.get_by_role("link", name="openai/gpt-4.1 retired 3 days ago", exact=False)
    box = strip.bounding_box()
    assert box is not None and box["y"] < viewport["height"] / 2  # at the top, not 3,000 px down
    link.click()
    ui.heading("Text models")
    page.get_by_text("Enabled (2)").first.wait_for(timeout=WAIT_MS)  # gpt-4.1, gpt-4.1-mini
    assert query(page)["text-provider"] == ["openai"]
    assert page.get_by_label("Search models", exact=True).input_value() == "gpt-4.1"
    # The default chooser of mistral: two words find Mistral Medium.
    ui.choose("Provider", "mistral")
    ui.search("")
    chooser = page.get_by_test_id("stSelectbox").filter(has_text="Default text model of mistral")
    chooser.first.click()
    page.keyboard.type("mistral medium")
    option = page.get_by_role("option", name="Mistral Medium — mistral/mistral-medium-latest")
    option.wait_for(timeout=WAIT_MS)
    page.keyboard.press("Escape")
    page.close()
