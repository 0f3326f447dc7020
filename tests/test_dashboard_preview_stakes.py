"""Preview refresh names what the application relies on among the models a refresh would
deprecate or hold back, and applies one provider at a time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from registry.admin.outcomes import stake_note
from registry.db import Database
from registry.demo import StandInProviders, load_fixture
from registry.discovery import ProviderResult, discover_models, get_discovery_state
from registry.settings import set_global_config
from registry.store import set_default_model
from registry.types import Category
from tests.dashboard_support import assert_clean, click, messages, open_app

pytestmark = pytest.mark.usefixtures("loopback")


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInProviders]:
    with StandInProviders() as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        yield standins


def test_the_stake_names_the_default_the_global_model_and_enabled_ones() -> None:
    result = ProviderResult(
        "openai", Category.TEXT, deprecated=["gpt-4.1", "gpt-4o"], held_back=["gpt-4.1-mini"]
    )
    note = stake_note(
        result,
        default="gpt-4.1",
        global_model="gpt-4.1-mini",
        enabled=frozenset({"gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-5"}),
    )
    assert note == (
        "In use among them — openai/gpt-4.1 is the text default of openai; openai/gpt-4.1-mini "
        "is the global text model (Settings); 1 enabled: openai/gpt-4o."
    )
    nothing = ProviderResult("openai", Category.TEXT, deprecated=["gpt-3"])
    assert stake_note(nothing, default="gpt-5", global_model=None, enabled=frozenset()) is None


def test_the_preview_warns_about_the_default_and_applies_one_provider(
    database: Database, providers: StandInProviders
) -> None:
    discover_models("text", ["openai"])
    set_default_model("openai", "text", "gpt-4.1")
    set_global_config("text", "openai", "gpt-4o")
    body = load_fixture("openai")
    body["data"] = [m for m in body["data"] if m["id"] not in ("gpt-4.1", "gpt-4o")]
    providers.serve("openai", body)
    at = click(open_app("text_models"), "text-preview-refresh")
    assert_clean(at)
    (stake,) = [m for m in messages(at, "warning") if m.startswith("In use among them")]
    assert "openai/gpt-4.1 is the text default of openai" in stake
    assert "openai/gpt-4o is the global text model (Settings)" in stake
    mistral_listings = len(providers.servers["mistral"].requests_to("/v1/models"))
    at = click(at, "text-apply-one-openai")
    assert_clean(at)
    refreshed = {s.provider for s in get_discovery_state("text") if s.last_attempt_at}
    assert refreshed == {"openai"}
    assert len(providers.servers["mistral"].requests_to("/v1/models")) == mistral_listings
