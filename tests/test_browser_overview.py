"""The Overview in Debian's chromium at 1024×768: a provider card opens its models page with
that provider chosen, and a fallback fixed with one click moves into the "✓ fixed" list."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from registry.admin.ui_overview import row_key
from registry.db import Database, set_database
from registry.resolution import flush_fallback_counts, get_ai_config_for_story
from tests.dashboard_support import WAIT_MS, Ui, migrated_sqlite, streamlit_server

pytestmark = pytest.mark.browser

ASKED = "gpt-5.9-mini-preview"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, chromium: Any) -> Iterator[str]:
    """The application asked three times for an id the catalog does not hold."""
    data = tmp_path_factory.mktemp("overview")
    database_url = migrated_sqlite(data)
    database = Database(database_url)
    set_database(database)
    try:
        for _ in range(3):
            get_ai_config_for_story("openai", ASKED)
        flush_fallback_counts()
    finally:
        set_database(None)
        database.dispose()
    with streamlit_server(data, {"REGISTRY_DATABASE_URL": database_url}) as url:
        yield url


def test_a_fixed_fallback_moves_to_the_fixed_list_and_a_card_opens_its_provider(
    served: str, chromium: Any
) -> None:
    page = chromium.new_page(viewport={"width": 1024, "height": 768})
    ui = Ui(page)
    page.goto(served)
    ui.heading("Fallbacks")
    row = page.locator(f".st-key-fallback-{row_key('text', 'openai', ASKED)}")
    row.get_by_role("button", name=f"Name successor for openai/{ASKED}").click()
    row.get_by_text(f"Saved: requests for openai/{ASKED} now get openai/gpt-5.4-mini.").wait_for(
        timeout=WAIT_MS
    )
    ui.settle()
    page.reload()
    ui.heading("Fallbacks")
    page.get_by_text("✓ 1 fixed").first.wait_for(timeout=WAIT_MS)
    assert row.count() == 0  # no longer among the open ones
    page.get_by_role("link", name="mistral ·").first.click()
    ui.heading("Text models")
    assert page.url.endswith("/text_models?text-provider=mistral")
    page.close()
