"""Refresh outcomes, Preview refresh and the API keys page, driven through AppTest.

The providers are the stand-in servers of registry/standin (real SDK code, real HTTP on
127.0.0.1); each test runs on SQLite and PostgreSQL (`database` fixture).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from registry.admin.outcomes import Outcome, outcome_of, summarize_report
from registry.audit import list_audit_entries
from registry.config import PROVIDER_KEY_ENV
from registry.db import Database
from registry.demo import StandInProviders
from registry.discovery import DiscoveryReport, ProviderResult, get_discovery_state
from registry.standin import json_response
from registry.store import (
    ModelFilter,
    bulk_update_models,
    count_models,
    list_model_ids,
    upsert_discovered_models,
)
from registry.types import Category, DiscoveredModel, ModelStatus
from tests.dashboard_support import assert_clean, click, everything, messages, open_app, plain
from tests.test_notify import Webhook

pytestmark = pytest.mark.usefixtures("loopback")

NO_KEY_PROVIDERS = ("google", "openrouter")


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInProviders]:
    with StandInProviders() as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        yield standins


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhook]:
    """A listener at REGISTRY_NOTIFY_URL that records every notification."""
    hook = Webhook()
    monkeypatch.setenv("REGISTRY_NOTIFY_URL", hook.url + "/hook")
    yield hook
    hook.close()


def alerts(at: AppTest, kind: str) -> list[str]:
    """Each `st.<kind>` as the page shows it: its icon (Streamlit lifts a leading emoji into
    it), then its text."""
    return [
        f"{e.icon} {plain(str(e.value))}" if e.icon else plain(str(e.value))
        for e in getattr(at, kind)
    ]


def pending(provider: str) -> int:
    return count_models(
        ModelFilter(category=Category.TEXT, provider=provider, status=ModelStatus.PENDING)
    )


def seed_missing_models(provider: str, count: int) -> None:
    """Approved models the provider once listed (API-sourced) and lists no more (the guard
    keeps only approved ones: a never-approved pending model is simply deprecated)."""
    upsert_discovered_models(
        provider, "text", [DiscoveredModel(f"gone-{i}", f"Gone {i}") for i in range(count)]
    )
    gone = ModelFilter(provider=provider, category=Category.TEXT, search="gone-")
    bulk_update_models(list_model_ids(gone), "enabled")


# --- outcomes (pure) ---------------------------------------------------------------------------


def notice_links(at: AppTest) -> list[str]:
    """The page's links but the Overview's provider cards (each opens its models page)."""
    return [
        link.proto.label
        for link in at.get("page_link")
        if not link.proto.help.startswith("Open the ")
    ]


def test_a_summary_is_a_success_only_when_every_provider_is_done() -> None:
    done = ProviderResult("openai", Category.TEXT, discovered=10, new=["a", "b"])
    failed = ProviderResult("xai", Category.TEXT, errors=["xai: the key was rejected"])
    held = ProviderResult("mistral", Category.TEXT, discovered=3, held_back=["m-1"])
    waiting = ProviderResult("google", Category.TEXT, rate_limited=True, warnings=["later"])
    keyless = ProviderResult("anthropic", Category.TEXT, errors=["no key"], missing_key=True)
    assert [outcome_of(r) for r in (done, failed, held, waiting, keyless)] == [
        Outcome.DONE,
        Outcome.FAILED,
        Outcome.PARTIAL,
        Outcome.RATE_LIMITED,
        Outcome.NO_KEY,
    ]
    summary = summarize_report(DiscoveryReport([done, failed, held, waiting, keyless]))
    assert summary.kind == "error"
    assert summary.headline == (
        "Refreshed 2 of 5 provider(s): 2 new, 0 deprecated · 1 with warnings, 1 failed, "
        "1 rate-limited, 1 without an API key. New models wait in Pending for approval"
    )
    assert [line.text for line in summary.lines] == [
        "✓ openai: 10 listed, 2 new, 0 deprecated",
        "✗ xai: failed — the key was rejected",
        "⚠ mistral: 3 listed, 0 new, 0 deprecated, 1 held back by the guard",
        "⏸ google: rate-limited — later",
        "🔑 anthropic: not refreshed — no API key configured",
    ]
    assert summary.missing_keys == ["anthropic"]
    # A refresh skipped by the 5-minute limit is not "✓ Refreshed 0 of 1".
    assert summarize_report(DiscoveryReport([waiting])).kind == "warning"
    assert summarize_report(DiscoveryReport([keyless])).kind == "info"
    assert summarize_report(DiscoveryReport([done])).kind == "success"


# --- the models page ---------------------------------------------------------------------------


def test_mixed_outcomes_show_each_provider_with_its_mark_and_the_time_left(
    database: Database, providers: StandInProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    for env in ("GEMINI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(env)
    providers.servers["anthropic"].fail("/v1/models", json_response({"error": "down"}, 500))
    providers.servers["mistral"].fail(
        "/v1/models", json_response({"error": "slow down"}, 429, headers={"Retry-After": "150"})
    )
    seed_missing_models("xai", 40)  # the listing lacks all of them: the guard holds them back
    at = click(open_app("text_models"), "text-refresh")
    assert_clean(at)
    errors, warnings = alerts(at, "error"), alerts(at, "warning")
    assert errors[0].startswith("Refreshed 2 of 6 provider(s):")
    assert "1 failed, 1 rate-limited, 2 without an API key" in errors[0]
    assert any(e.startswith("✗ anthropic: failed — the provider's server failed") for e in errors)
    assert any(
        w.startswith("⏸ mistral: rate-limited by the provider, next refresh in 3 min")
        for w in warnings
    )
    (guard,) = [w for w in warnings if "xai" in w]
    assert guard.startswith("⚠ xai:") and "40 held back by the guard" in guard
    assert "deprecated nothing: it would deprecate 40 of 40 known models" in guard
    assert "✓ openai: 11 listed" in everything(at)
    # The two providers without a key: one calm note with a link, not two failures.
    (note,) = [m for m in messages(at, "info") if m.startswith("No API key for")]
    assert "google" in note and "openrouter" in note
    assert notice_links(at) == ["Open API keys"]
    assert not any(p in e for e in errors for p in NO_KEY_PROVIDERS)
    # Only the admin's approval: the guard deprecated nothing.
    assert len(list_audit_entries(model="gone-1", action="status_change")) == 1


def test_without_any_key_the_overview_explains_once_instead_of_error_boxes(
    database: Database,
) -> None:
    at = click(open_app("text_models"), "text-refresh")  # the first refresh of a fresh install
    assert messages(at, "error") == []
    at.switch_page("pages/overview.py").run()
    assert_clean(at)
    assert messages(at, "error") == []
    (note,) = messages(at, "info")
    assert note.startswith("No API key for openai, google, anthropic")
    assert notice_links(at) == ["Open API keys"]
    assert "No API key configured: add one on the API keys page" in everything(at)


def test_preview_writes_nothing_and_apply_applies(
    database: Database,
    providers: StandInProviders,
    webhook: Webhook,
) -> None:
    seed_missing_models("openai", 2)
    at = open_app("text_models")
    at.selectbox(key="text-provider").set_value("openai").run()
    before = pending("openai")
    audit_before = len(list_audit_entries(limit=1000))
    at = click(at, "text-preview-refresh")
    assert_clean(at)
    text = everything(at)
    assert "Preview — nothing was written" in text
    assert "New (pending approval) (3): gpt-5.4-nano, o3, o4-mini" in text
    # What classification left out is a caption, not a warning.
    assert "left out 8 listed models that are not text models (embedding 1" in text
    assert not [w for w in messages(at, "warning") if "left out" in w]
    held = [w for w in messages(at, "warning") if w.startswith("Held back by the guard")]
    assert held == ["Held back by the guard (missing, but kept) (2): gone-0, gone-1"]
    assert "Would refresh 1 of 1 provider(s): 3 new, 0 deprecated · 1 with warnings" in (
        messages(at, "info")
    )
    # Nothing written: no new rows, no state, no audit entry, no notification.
    assert pending("openai") == before
    (state,) = [s for s in get_discovery_state("text") if s.provider == "openai"]
    assert state.last_attempt_at is None
    assert len(list_audit_entries(limit=1000)) == audit_before
    assert webhook.posts == []
    # Apply: the refresh runs for real, once, and says what it did.
    at = click(at, "text-apply-refresh")
    assert_clean(at)
    assert pending("openai") == before + 3
    assert "Preview — nothing was written" not in everything(at)
    assert any(w.startswith("⚠ openai: 11 listed, 3 new") for w in alerts(at, "warning"))
    assert len(webhook.posts) == 1
    assert len(providers.servers["openai"].requests_to("/v1/models")) == 2


def test_a_preview_without_any_key_offers_no_apply(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in PROVIDER_KEY_ENV.values():
        monkeypatch.delenv(variable, raising=False)
    at = click(open_app("text_models"), "text-preview-refresh")
    assert_clean(at)
    assert "Would refresh 0 of 6 provider(s): 0 new, 0 deprecated · 6 without an API key" in (
        messages(at, "info")
    )
    assert at.button(key="text-apply-refresh").disabled


def test_one_webhook_per_dashboard_refresh_run(
    database: Database,
    providers: StandInProviders,
    webhook: Webhook,
) -> None:
    at = click(open_app("text_models"), "text-refresh")  # six providers, one run
    assert_clean(at)
    assert len(webhook.posts) == 1
    path, payload = webhook.posts[0]
    assert path == "/hook"
    assert {c["provider"] for c in payload["changes"]} >= {"openai", "anthropic", "mistral"}
    at.run()  # a rerun of the page is not a refresh
    assert len(webhook.posts) == 1


# --- the API keys page -------------------------------------------------------------------------


def _refused_origin() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"  # closed again: connection refused


def test_testing_a_typed_key_keeps_it_and_tells_a_network_failure_from_a_bad_key(
    database: Database, providers: StandInProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    typed = "sk-typed-key-for-test-4242"
    monkeypatch.setenv("REGISTRY_OPENAI_BASE_URL", _refused_origin())
    at = open_app("api_keys")
    at.selectbox(key="keys-provider").set_value("openai").run()
    at.text_input(key="keys-new-key").input(typed)
    at.button(key="FormSubmitter:key-form-Test this key").click().run()
    assert_clean(at)
    assert at.text_input(key="keys-new-key").value == typed  # still there to save
    assert messages(at, "error") == []
    (warning,) = messages(at, "warning")
    assert warning.startswith("Could not reach openai, so the key was not tested")
    assert typed not in everything(at)
    # The provider answers 401: now the key itself is at fault.
    monkeypatch.setenv("REGISTRY_OPENAI_BASE_URL", providers.servers["openai"].origin)
    providers.servers["openai"].fail("/v1/models", json_response({"error": "bad key"}, 401))
    at.button(key="FormSubmitter:key-form-Test this key").click().run()
    (error,) = messages(at, "error")
    assert error.startswith("The key did not work: openai: the API key was rejected (HTTP 401)")
    # Saving it asks again (the verdict was not "works"); saving anyway clears the field.
    at.button(key="FormSubmitter:key-form-Save key").click().run()
    at = click(at, "keys-save-anyway")
    assert messages(at, "success") == ["Saved the openai key (…4242)."]
    assert at.text_input(key="keys-new-key").value == ""


def test_apply_refreshes_the_previewed_providers_even_after_the_selector_changed(
    database: Database, providers: StandInProviders
) -> None:
    at = open_app("text_models")
    at.selectbox(key="text-provider").set_value("openai").run()
    at = click(at, "text-preview-refresh")
    at.selectbox(key="text-provider").set_value("all").run()
    at = click(at, "text-apply-refresh")
    assert_clean(at)
    refreshed = [s.provider for s in get_discovery_state("text") if s.last_attempt_at]
    assert refreshed == ["openai"]
    assert len(providers.servers["anthropic"].requests_to("/v1/models")) == 0
