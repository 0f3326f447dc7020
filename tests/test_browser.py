"""The dashboard in a real browser: Debian's chromium driven by Playwright.

The main flow runs against `streamlit run app.py` on a scratch SQLite database, with OpenAI
played by a local stand-in server: refresh → pending shown → approve two → set one default →
the stand-in drops a model → force refresh → it shows as deprecated with "Falls back to" →
`get_ai_config_for_story` on it returns the default. Screenshots of each step (and of every
page) go to `REGISTRY_SCREENSHOTS_DIR` (`docs/screenshots` to refresh the README's), else to the
test's temporary folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from registry.audit import list_audit_entries
from registry.catalog import CURATED
from registry.db import Database, set_database
from registry.demo import load_fixture
from registry.resolution import get_ai_config_for_story
from registry.standin import openai as openai_standin
from registry.types import Category
from tests.dashboard_support import WAIT_MS, Ui, openai_dashboard
from tests.dashboard_support import OpenAIDashboard as Dashboard

pytestmark = pytest.mark.browser

# The curated openai text models, all enabled by the migration.
CURATED_OPENAI = len(CURATED[(Category.TEXT, "openai")].models)


def _listing_without(model_id: str) -> Any:
    body = load_fixture("openai")
    body["data"] = [entry for entry in body["data"] if entry["id"] != model_id]
    return body


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory, chromium: Any) -> Iterator[Dashboard]:
    with openai_dashboard(tmp_path_factory.mktemp("browser")) as served:
        yield served


@pytest.fixture(scope="module")
def browser(chromium: Any) -> Any:
    return chromium


def test_refresh_approve_default_then_a_dropped_model_falls_back(
    dashboard: Dashboard, browser: Any
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    ui = Ui(page, dashboard.screenshots)
    page.goto(f"{dashboard.url}/text_models")
    ui.heading("Text models")
    ui.choose("Provider", "openai")
    ui.see("Never refreshed")

    # Refresh: the stand-in lists three models the curated catalog does not know.
    ui.click("Refresh models")
    ui.heading("Pending approval (3)")
    ui.see("Refreshed just now — next refresh in 5 min")
    ui.shot("01-refreshed")

    # Approve two of them, each found by search and ticked with "Select all on this page".
    for model in ("o3", "o4-mini"):
        ui.search(model)
        ui.heading("Pending approval (1)")
        ui.tick("Select all on this page")
        ui.see("1 selected")
        ui.click("Approve selected")
        ui.see(f"Approved 1 model(s): openai/{model}")
    ui.search("")
    ui.heading("Pending approval (1)")
    ui.heading(f"Enabled ({CURATED_OPENAI + 2})")

    # One of them becomes the default.
    ui.choose("Default text model of openai", "openai/o3")
    ui.see("openai/o3 is now the default text model of openai.")
    ui.shot("02-approved-and-default")

    # A note typed into the grid (the cell reached with the keyboard) is saved.
    grid = page.locator(".st-key-text-section-enabled [data-testid='stDataFrame']")
    # First row, Model column (read-only); Playwright scrolls it clear and waits until stable.
    # A grid that did not have the focus may take the first click for itself: click again.
    selected = page.locator("td[aria-selected='true']", has_text="openai/gpt-4.1")
    for _ in range(3):
        grid.click(position={"x": 190, "y": 52})
        try:
            selected.wait_for(state="attached", timeout=2000)
            break
        except PlaywrightTimeout:
            continue
    for _ in range(3):  # → Display name → Status → Notes
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")  # opens the cell editor
    editor = page.locator("textarea.gdg-input")
    editor.wait_for(timeout=WAIT_MS)
    editor.fill("house model for long stories")
    editor.press("Enter")
    ui.see("1 unsaved change(s)")
    ui.click("Save changes")
    ui.see("Saved changes to 1 model(s).")

    # The provider stops listing o4-mini; within 5 minutes only a forced refresh runs.
    openai_standin.install(dashboard.standin, _listing_without("o4-mini"))
    ui.click("Force refresh")
    ui.heading("Deprecated (1)")
    ui.see("Falls back to: openai/o3 — openai/o4-mini")
    ui.heading(f"Enabled ({CURATED_OPENAI + 1})")
    page.get_by_role("heading", name="Deprecated (1)").scroll_into_view_if_needed()
    ui.shot("03-deprecated-falls-back")

    # The application asking for the dropped model gets the default.
    set_database(Database(dashboard.database_url))  # a fresh default Registry on it
    try:
        config = get_ai_config_for_story("openai", "o4-mini")
        noted = list_audit_entries(action="edit")
    finally:
        set_database(None)
    assert (config.provider, config.model_id) == ("openai", "o3")
    assert [(e.model_id, e.new_value) for e in noted] == [
        ("gpt-4.1", "house model for long stories")
    ]
    assert config.fallback and config.reason is not None and config.reason.value == "deprecated"
    page.close()


def test_every_page_opens_and_the_key_never_comes_back(dashboard: Dashboard, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    ui = Ui(page, dashboard.screenshots)
    page.goto(dashboard.url)
    ui.heading("Overview")
    ui.see("API key configured (…0000, from the environment)")
    ui.shot("00-overview")

    page.goto(f"{dashboard.url}/api_keys")
    ui.heading("API keys")
    ui.choose("Provider", "mistral")
    ui.heading("Set or replace the mistral key")
    secret = "mistral-browser-secret-key-9876"
    page.get_by_label("API key", exact=True).fill(secret)
    ui.click("Save key")
    ui.see("Saved the mistral key (…9876).")
    assert secret not in page.content()
    assert page.get_by_label("API key", exact=True).input_value() == ""
    ui.shot("04-api-keys")

    page.goto(f"{dashboard.url}/settings")
    ui.heading("Settings")
    ui.see("Saved: openai/gpt-5.4-mini", exact=False)
    ui.shot("05-settings")

    page.goto(f"{dashboard.url}/activity")
    ui.heading("Activity")
    ui.see("entries")
    ui.shot("06-activity")

    page.goto(f"{dashboard.url}/tts_models")
    ui.heading("TTS models")
    ui.shot("07-tts-models")
    page.close()
