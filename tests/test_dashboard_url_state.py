"""The models pages keep their view in the URL (`st.query_params`): provider, search, sort,
filters and page come back from a shared or reloaded link, and survive leaving the page."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from registry.db import Database
from registry.store import upsert_discovered_models
from registry.types import DiscoveredModel
from tests.dashboard_support import APP, TIMEOUT, assert_clean, grid_models, open_app

pytestmark = pytest.mark.usefixtures("loopback")


def open_url(page: str, params: dict[str, str]) -> AppTest:
    """A fresh browser session opening `page` with `params` in its URL."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params = dict(params)
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert_clean(at)
    return at


def test_text_models_restore_provider_and_search_from_the_url(database: Database) -> None:
    at = open_url("text_models", {"text-provider": "openai", "text-search": "gpt 4.1"})
    assert at.selectbox(key="text-provider").value == "openai"
    assert at.text_input(key="text-search").value == "gpt 4.1"
    assert grid_models(at, "text", "enabled") == ["openai/gpt-4.1", "openai/gpt-4.1-mini"]
    # The URL keeps them while the admin works on the page and after a visit elsewhere.
    assert at.query_params["text-provider"] == "openai"
    assert at.query_params["text-search"] == "gpt 4.1"
    at.switch_page("pages/settings.py").run()
    at.switch_page("pages/text_models.py").run()
    assert at.selectbox(key="text-provider").value == "openai"
    assert at.text_input(key="text-search").value == "gpt 4.1"
    assert grid_models(at, "text", "enabled") == ["openai/gpt-4.1", "openai/gpt-4.1-mini"]


def test_sort_filters_and_page_come_back_from_the_url(database: Database) -> None:
    upsert_discovered_models(
        "openrouter", "text", [DiscoveredModel(f"vendor/model-{i:02}", f"M {i}") for i in range(60)]
    )
    at = open_url(
        "text_models",
        {
            "text-provider": "openrouter",
            "text-sort": "Name",
            "text-sort-direction": "↓ desc",
            "text-page-size": "25",
            "text-pending-page": "2",
        },
    )
    assert at.selectbox(key="text-sort").value == "Name"
    assert at.selectbox(key="text-page-size").value == 25
    # Names descending, 25 a page, the second page shown.
    by_name = sorted(range(60), key=lambda i: f"M {i}", reverse=True)
    assert grid_models(at, "text", "pending") == [
        f"openrouter/vendor/model-{i:02}" for i in by_name[25:50]
    ]
    pager = next(p for p in at.pagination if "pending" in str(p.key))
    assert pager.value == 2


def test_a_url_with_values_the_page_does_not_offer_is_ignored(database: Database) -> None:
    at = open_url("text_models", {"text-provider": "nobody", "text-page-size": "7"})
    assert at.selectbox(key="text-provider").value == "all"
    assert at.selectbox(key="text-page-size").value == 50


def test_tts_models_keep_their_own_view(database: Database) -> None:
    at = open_url("tts_models", {"tts-provider": "azure", "tts-search": "jenny"})
    assert at.selectbox(key="tts-provider").value == "azure"
    assert grid_models(at, "tts", "enabled") == ["azure/en-US-JennyNeural"]
    at = open_app("tts_models")  # another session, no URL: the defaults
    assert at.selectbox(key="tts-provider").value == "all"
