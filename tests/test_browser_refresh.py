"""Preview refresh, then Apply refresh, in a real browser at two window sizes.

`streamlit run app.py` on a scratch SQLite database, OpenAI played by a local stand-in server
(REGISTRY_OPENAI_BASE_URL). Each window size adds a model of its own to the listing, so each
run has one known new model to look for: the preview names it and writes nothing; Apply makes
it pending.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from registry.db import Database, set_database
from registry.demo import load_fixture
from registry.errors import ModelNotFoundError
from registry.standin import openai as openai_standin
from registry.store import get_model_by_provider_id
from registry.types import Category, ModelStatus
from tests.dashboard_support import OpenAIDashboard as Dashboard
from tests.dashboard_support import Ui, openai_dashboard

pytestmark = pytest.mark.browser

VIEWPORTS = [(1024, 768), (1440, 900)]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    with openai_dashboard(tmp_path_factory.mktemp("browser-refresh")) as served:
        yield served


def status_of(dashboard: Dashboard, model_id: str) -> ModelStatus | None:
    """The model's status in the dashboard's database (None: not in the catalog)."""
    set_database(Database(dashboard.database_url))
    try:
        return get_model_by_provider_id("openai", model_id, Category.TEXT).status
    except ModelNotFoundError:
        return None
    finally:
        set_database(None)


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_preview_refresh_shows_the_plan_and_apply_refresh_applies_it(
    dashboard: Dashboard, chromium: Any, width: int, height: int
) -> None:
    model_id = f"gpt-window-{width}"
    body = load_fixture("openai")
    body["data"].append({"id": model_id, "object": "model", "created": 1773451123})
    openai_standin.install(dashboard.standin, body)
    page = chromium.new_page(viewport={"width": width, "height": height})
    ui = Ui(page, dashboard.screenshots)
    page.goto(f"{dashboard.url}/text_models")
    ui.heading("Text models")
    # The option reads "openai (3 pending)" once a run has added some: match its start.
    page.get_by_test_id("stSelectbox").filter(has_text="Provider").first.click()
    page.get_by_role("option").filter(has_text="openai").first.click()
    ui.settle()
    listings = len(dashboard.standin.requests_to("/v1/models"))

    ui.click("Preview refresh")
    ui.see("Preview — nothing was written")
    ui.see("Would refresh 1 of 1 provider(s)")
    preview = page.get_by_text("New (pending approval)").first.inner_text()
    assert model_id in preview
    assert status_of(dashboard, model_id) is None  # listed, but nothing written
    assert len(dashboard.standin.requests_to("/v1/models")) == listings + 1
    apply = page.get_by_role("button", name="Apply refresh", exact=True)
    apply.scroll_into_view_if_needed()
    box = apply.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    ui.shot(f"refresh-preview-{width}")

    apply.click()
    ui.see("Refreshed 1 of 1 provider(s)")
    assert page.get_by_text("Preview — nothing was written").count() == 0
    assert status_of(dashboard, model_id) is ModelStatus.PENDING
    assert len(dashboard.standin.requests_to("/v1/models")) == listings + 2
    ui.shot(f"refresh-applied-{width}")
    page.close()
