"""Overview, API keys, Settings and Activity pages, driven through AppTest on both backends."""

from __future__ import annotations

import pytest

from registry.admin.views import activity_csv
from registry.audit import list_audit_entries
from registry.catalog import CURATED
from registry.db import Database
from registry.demo import load_fixture
from registry.discovery import discover_models
from registry.keys import get_api_key, list_key_status, set_api_key
from registry.settings import get_global_config
from registry.standin import openai as openai_standin
from registry.standin.server import StandInServer, json_response
from registry.store import (
    get_model_by_provider_id,
    set_default_model,
    update_model_status,
    upsert_discovered_models,
)
from registry.types import Category, DiscoveredModel
from tests.dashboard_support import (
    assert_clean,
    click,
    everything,
    messages,
    open_app,
)

pytestmark = pytest.mark.usefixtures("loopback")


# --- overview ----------------------------------------------------------------------------------


def test_overview_has_a_card_per_provider_and_category(
    undated_catalog: Database, openai_server: StandInServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-overview-test-4321")
    upsert_discovered_models("mistral", "text", [DiscoveredModel("m-new", "M new")])
    discover_models("text", ["openai", "anthropic"])
    at = open_app()
    assert_clean(at)
    assert [h.value for h in at.header] == ["Fallbacks", "Text models", "TTS models (voices)"]
    text = everything(at)
    # Each card's title links to its provider's models page.
    links = {e.proto.label: (e.proto.page, e.proto.query_string) for e in at.get("page_link")}
    curated = len(CURATED[(Category.TEXT, "openai")].models)
    # New ones are pending, not enabled.
    assert f"**openai** · {curated + 3} enabled (3 pending approval)" not in links
    openai_card = links[f"**openai** · {curated} enabled (3 pending approval)"]
    assert openai_card == ("text_models", "text-provider=openai")
    assert links["**mistral** · 6 enabled (1 pending approval)"][1] == "text-provider=mistral"
    assert any(name.startswith("**elevenlabs** · ") for name in links)
    assert "Default: openai/gpt-5.4-mini" in text
    assert "Refreshed just now — next refresh in 5 min" in text
    assert "API key configured (…4321, from the environment)" in text
    assert "No API key configured" in text
    # The last refresh of anthropic failed for want of a key: its card says so calmly.
    assert messages(at, "error") == []
    assert "No API key configured: add one on the API keys page to list its models" in text
    assert len(at.get("vega_lite_chart")) == 2  # models by status, per category


def test_overview_says_when_the_default_is_not_used(
    database: Database, openai_server: StandInServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-overview-test-4321")
    set_default_model("openai", "text", "gpt-4.1")
    discover_models("text", ["openai"])
    body = load_fixture("openai")
    body["data"] = [m for m in body["data"] if m["id"] != "gpt-4.1"]
    openai_standin.install(openai_server, body)
    discover_models("text", ["openai"], force=True)  # the provider dropped the default
    at = open_app()
    assert "Default: openai/gpt-4.1 — resolution uses openai/gpt-5.4-mini" in everything(at)


# --- API keys ----------------------------------------------------------------------------------


def test_set_replace_and_remove_a_key_never_showing_it(database: Database) -> None:
    at = open_app("api_keys")
    at.selectbox(key="keys-provider").set_value("mistral").run()
    secret = "mistral-secret-key-abcdef-1234"
    at.text_input(key="keys-new-key").input(secret)
    at.button(key="FormSubmitter:key-form-Save key").click().run()
    assert_clean(at)
    assert messages(at, "success") == ["Saved the mistral key (…1234)."]
    assert get_api_key("mistral") == secret
    assert secret not in everything(at)
    table = at.dataframe[0].value
    row = table[table["provider"] == "mistral"].iloc[0]
    assert (row["key"], row["source"]) == ("…1234", "stored here")
    # Replace it.
    at.text_input(key="keys-new-key").input("mistral-second-key-zzzz-9999")
    at.button(key="FormSubmitter:key-form-Save key").click().run()
    assert messages(at, "success") == ["Saved the mistral key (…9999)."]
    # Remove it.
    at = click(at, "keys-remove")
    assert messages(at, "success") == ["Removed the stored mistral key."]
    assert get_api_key("mistral") is None
    actions = [e.action for e in list_audit_entries(provider="mistral")]
    assert actions == ["key_delete", "key_set", "key_set"]
    assert {e.actor for e in list_audit_entries(provider="mistral")} == {"local-admin@localhost"}


def test_bad_keys_are_refused_with_a_reason(database: Database) -> None:
    at = open_app("api_keys")
    at.selectbox(key="keys-provider").set_value("openai").run()
    at.button(key="FormSubmitter:key-form-Save key").click().run()
    assert messages(at, "error") == ["The key was not saved: the API key is empty"]
    at.text_input(key="keys-new-key").input("two words")
    at.button(key="FormSubmitter:key-form-Save key").click().run()
    assert messages(at, "error") == [
        "The key was not saved: the API key must be one line without spaces (at most 4096 chars)"
    ]
    at.selectbox(key="keys-provider").set_value("azure").run()
    at.text_input(key="keys-new-key").input("azure-key-1234567890")
    at.text_input(key="keys-region").input("West Europe!")
    at.button(key="FormSubmitter:key-form-Save key").click().run()
    assert messages(at, "error") == [
        "The key was not saved: not an Azure region name: 'West Europe!' (e.g. westeurope)"
    ]
    assert [k.configured for k in list_key_status()] == [False] * 8


def test_test_key_lists_models_once_and_changes_nothing(
    database: Database, openai_server: StandInServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")  # no key configured: only the typed one is tried
    at = open_app("api_keys")
    at.selectbox(key="keys-provider").set_value("openai").run()
    at.text_input(key="keys-new-key").input("sk-typed-not-saved-5555")
    at.button(key="FormSubmitter:key-form-Test this key").click().run()
    assert_clean(at)
    assert messages(at, "success") == [
        "The key works: openai listed 11 model(s). Nothing was changed."
    ]
    assert get_api_key("openai") is None
    assert len(openai_server.requests_to("/v1/models")) == 1
    assert at.text_input(key="keys-new-key").value == "sk-typed-not-saved-5555"  # kept
    at.text_input(key="keys-new-key").input("")
    at.button(key="FormSubmitter:key-form-Test this key").click().run()  # nothing typed
    assert messages(at, "warning") == ["Paste a key to test it, or use Test saved key below."]
    # The saved key (none yet): the button is disabled; store one and test it.
    assert at.button(key="keys-test-saved").disabled
    set_api_key("openai", "sk-stored-key-7777")
    at.run()
    at = click(at, "keys-test-saved")
    assert messages(at, "success")[-1].startswith("The key works: openai listed 11 model(s)")


def test_a_rejected_key_reads_clearly_and_is_not_echoed(
    database: Database, openai_server: StandInServer
) -> None:
    openai_server.fail(
        "/v1/models",
        json_response({"error": {"message": "Incorrect API key provided: sk-bad***9999"}}, 401),
    )
    at = open_app("api_keys")
    at.selectbox(key="keys-provider").set_value("openai").run()
    at.text_input(key="keys-new-key").input("sk-bad-key-000009999")
    at.button(key="FormSubmitter:key-form-Test this key").click().run()
    errors = messages(at, "error")
    assert len(errors) == 1 and errors[0].startswith("The key did not work: openai:")
    assert "sk-bad-key-000009999" not in everything(at)


# --- settings ----------------------------------------------------------------------------------


def test_global_settings_offer_enabled_models_only_and_save(database: Database) -> None:
    upsert_discovered_models("google", "text", [DiscoveredModel("gemini-pending", "P")])
    at = open_app("settings")
    assert_clean(at)
    at.selectbox(key="settings-text-provider").set_value("google").run()
    models = at.selectbox(key="settings-text-model")
    assert not [o for o in models.options if o.endswith("google/gemini-pending")]
    assert "Gemini 3.8 Flash — google/gemini-3.8-flash" in models.options  # labelled by name
    models.set_value("gemini-3.8-flash").run()
    at.number_input(key="settings-text-temperature").set_value(1.1).run()
    at.number_input(key="settings-text-max-tokens").set_value(8000).run()
    at = click(at, "settings-text-save")
    assert_clean(at)
    assert messages(at, "success") == ["Saved the text settings: google/gemini-3.8-flash."]
    saved = get_global_config("text")
    assert (saved.provider, saved.model, saved.temperature, saved.max_tokens) == (
        "google",
        "gemini-3.8-flash",
        1.1,
        8000,
    )
    assert [e.field for e in list_audit_entries(action="setting")][:1] == ["ai.max_tokens"]
    # TTS has no temperature or max tokens.
    assert [n.key for n in at.number_input] == [
        "settings-text-temperature",
        "settings-text-max-tokens",
    ]
    at.selectbox(key="settings-tts-provider").set_value("azure").run()
    at.selectbox(key="settings-tts-model").set_value("en-US-JennyNeural").run()
    at = click(at, "settings-tts-save")
    assert messages(at, "success") == ["Saved the tts settings: azure/en-US-JennyNeural."]


def test_settings_warn_when_the_saved_model_is_no_longer_enabled(database: Database) -> None:
    from registry.settings import set_global_config

    set_global_config("text", "openai", "gpt-4.1", temperature=0.5, max_tokens=1000)
    update_model_status(get_model_by_provider_id("openai", "gpt-4.1", "text").id, "disabled")
    at = open_app("settings")
    assert_clean(at)
    assert "Saved: openai/gpt-4.1 · temperature 0.5 · max tokens 1000" in everything(at)
    assert messages(at, "warning") == [
        "The saved model openai/gpt-4.1 is not enabled any more; the application falls back "
        "to the provider's default. Choose an enabled model and save."
    ]
    assert at.selectbox(key="settings-text-model").value is None
    at = click(at, "settings-text-save")
    assert messages(at, "warning")[-1] == "Choose a model first."


def test_out_of_range_numbers_are_refused_by_the_widget(database: Database) -> None:
    at = open_app("settings")
    at.number_input(key="settings-text-temperature").set_value(5.0).run()
    assert_clean(at)
    assert at.number_input(key="settings-text-temperature").value == 0.7  # kept, not 5.0
    at = click(at, "settings-text-save")
    assert get_global_config("text").temperature == 0.7


# --- activity ----------------------------------------------------------------------------------


def test_activity_filters_and_exports(database: Database) -> None:
    upsert_discovered_models("xai", "text", [DiscoveredModel("grok-z", "Z")])
    model = get_model_by_provider_id("xai", "grok-z", "text")
    update_model_status(model.id, "enabled")
    set_api_key("openai", "sk-activity-key-0000")
    at = open_app("activity")
    assert_clean(at)
    table = at.dataframe[0].value
    assert list(table["action"])[:2] == ["key_set", "status_change"]
    at.selectbox(key="activity-action").set_value("status_change").run()
    table = at.dataframe[0].value
    assert list(table["model"]) == ["xai/grok-z"]
    assert (table.iloc[0]["old"], table.iloc[0]["new"]) == ("pending", "enabled")
    at.selectbox(key="activity-action").set_value("any").run()
    at.text_input(key="activity-model").input("no-such-model").run()
    assert "No activity matches these filters." in everything(at)
    assert at.get("download_button")[0].proto.disabled
    csv = activity_csv(list_audit_entries(provider="xai")).decode()
    assert csv.splitlines()[0].startswith('"id","time","actor","action","provider"')
    assert '","status_change","xai","text","grok-z","status","pending","enabled"' in csv
