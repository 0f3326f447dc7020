"""The status strip at the top of every page: failed providers, retired models still in use,
defaults that cannot serve — each a link to the page (and view) where it is fixed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from registry.db import Database
from registry.demo import StandInProviders, load_fixture
from registry.discovery import discover_models
from registry.standin import json_response
from registry.store import set_default_model, upsert_discovered_models
from registry.types import DiscoveredModel
from tests.dashboard_support import assert_clean, open_app, plain

pytestmark = pytest.mark.usefixtures("loopback")

PAGES = ("overview", "text_models", "tts_models", "api_keys", "settings", "activity")


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInProviders]:
    with StandInProviders() as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        yield standins


def strip(at: AppTest) -> list[tuple[str, str, str]]:
    """(label, page, query string) of each link in the strip."""
    return [
        (plain(link.proto.label), link.proto.page, link.proto.query_string)
        for link in at.get("page_link")
        if link.proto.label != "Open API keys"  # the Overview's own no-key note
        and not link.proto.help.startswith("Open the ")  # the Overview's provider cards
    ]


def test_nothing_to_fix_draws_no_strip(database: Database) -> None:
    at = open_app()
    assert_clean(at)
    assert strip(at) == []


def test_failed_providers_link_to_their_models_page_or_to_the_keys(
    database: Database, providers: StandInProviders
) -> None:
    providers.servers["anthropic"].fail("/v1/models", json_response({"error": "down"}, 500))
    providers.servers["mistral"].fail("/v1/models", json_response({"message": "no"}, 401))
    discover_models("text", ["anthropic", "mistral", "openai"])
    for page in PAGES:
        at = open_app(page)
        assert_clean(at)
        links = strip(at)
        assert [link[1:] for link in links] == [
            ("text_models", "text-provider=anthropic"),
            ("api_keys", ""),  # a rejected key is fixed on the API keys page
        ], page
        assert links[0][0].startswith(
            "anthropic (text): the last refresh failed — anthropic: the provider's server failed"
        )
        assert links[1][0].startswith("mistral (text): the last refresh failed")


def test_a_provider_without_a_key_is_not_a_failure(
    database: Database, providers: StandInProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XAI_API_KEY")
    discover_models("text", ["xai"])
    assert strip(open_app()) == []


def test_a_retired_default_and_a_default_that_cannot_serve_are_named(
    database: Database, providers: StandInProviders
) -> None:
    past = datetime.now(UTC) - timedelta(days=3)
    upsert_discovered_models(
        "openai", "text", [DiscoveredModel("gpt-4.1", "GPT-4.1", retires_at=past)]
    )
    set_default_model("openai", "text", "gpt-4.1")
    # Mistral drops its default from the listing: it becomes deprecated, still the default.
    discover_models("text", ["mistral"])
    set_default_model("mistral", "text", "mistral-small-latest")
    body = load_fixture("mistral")
    body["data"] = [m for m in body["data"] if m["id"] != "mistral-small-latest"]
    providers.serve("mistral", body)
    discover_models("text", ["mistral"], force=True)
    at = open_app("settings")
    assert_clean(at)
    assert strip(at) == [
        (
            "openai/gpt-4.1 retired 3 days ago (the default, still enabled): name a successor "
            "or disable it",
            "text_models",
            "text-provider=openai&text-search=gpt-4.1",
        ),
        (
            "The text default of mistral, mistral/mistral-small-latest, cannot serve: it is "
            "deprecated. Choose another default",
            "text_models",
            "text-provider=mistral",
        ),
    ]
