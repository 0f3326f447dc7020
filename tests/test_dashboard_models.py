"""The Text models and TTS models pages (one component), driven through AppTest.

Each test runs on SQLite and PostgreSQL (`database` fixture). Grid edits are seeded through the
editor's session state, as the browser sends them; everything else is clicked.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from registry.audit import list_audit_entries
from registry.db import Database
from registry.demo import load_fixture
from registry.resolution import flush_fallback_counts, resolve
from registry.standin import openai as openai_standin
from registry.standin.server import StandInServer
from registry.store import (
    ModelFilter,
    count_models,
    get_default_model_for_provider,
    get_model_by_provider_id,
    set_default_model,
    set_successor,
    update_model_status,
    upsert_discovered_models,
)
from registry.types import Category, DiscoveredModel, ModelStatus
from tests.dashboard_support import (
    assert_clean,
    click,
    edit_grid,
    everything,
    grid_frame,
    grid_key,
    grid_models,
    headings,
    messages,
    open_app,
    select_models,
    toasts,
)

pytestmark = pytest.mark.usefixtures("loopback")


def seed_pending(provider: str, ids: list[str], category: str = "text", **extra: object) -> None:
    upsert_discovered_models(
        provider,
        category,
        [DiscoveredModel(model_id=i, display_name=i.upper(), **extra) for i in ids],  # type: ignore[arg-type]
    )


def text_page(provider: str | None = None) -> AppTest:
    at = open_app("text_models")
    assert_clean(at)
    if provider:
        at.selectbox(key="text-provider").set_value(provider).run()
        assert_clean(at)
    return at


def enabled(provider: str, category: str = "text") -> int:
    return count_models(ModelFilter(category=category, provider=provider, status="enabled"))


def status_of(provider: str, model_id: str, category: str = "text") -> ModelStatus:
    return get_model_by_provider_id(provider, model_id, category).status


# --- what the page shows -----------------------------------------------------------------------


def test_sections_show_counts_and_models_as_provider_slash_id(database: Database) -> None:
    seed_pending("mistral", ["mistral-new-1", "mistral-new-2"])
    at = text_page()
    total_enabled = count_models(ModelFilter(category="text", status="enabled"))
    assert headings(at) == [
        "Pending approval (2)",
        f"Enabled ({total_enabled})",
        "Disabled (0)",
        "Deprecated (0)",
    ]
    assert grid_models(at, "text", "pending") == ["mistral/mistral-new-1", "mistral/mistral-new-2"]
    pending = grid_frame(at, "text", "pending")
    # Nothing was listed beyond the id: the table says so rather than showing blanks.
    assert list(pending["metadata"]) == ["No metadata", "No metadata"]
    assert "All providers (2 pending)" in at.selectbox(key="text-provider").options[0]


def test_metadata_and_context_window_are_in_the_table(database: Database) -> None:
    upsert_discovered_models(
        "openrouter",
        "text",
        [
            DiscoveredModel(
                "acme/model-x",
                "Acme X",
                context_window=131_072,
                metadata={"created": 1_700_000_000, "pricing": {"prompt": "0.000001"}},
            )
        ],
    )
    at = text_page("openrouter")
    row = grid_frame(at, "text", "pending").iloc[0]
    assert row["model"] == "openrouter/acme/model-x"
    assert row["context_window"] == "131,072"
    assert "created: 2023-11-14" in row["metadata"]
    assert "pricing: prompt=0.000001" in row["metadata"]


def test_provider_text_stays_plain(database: Database) -> None:
    """Names are data: shown cell by cell, and escaped wherever Markdown would render them."""
    hostile = "**Bold** [click](http://evil.example) <b>x</b> :red[alarm] $x$"
    upsert_discovered_models("xai", "text", [DiscoveredModel("grok-x", hostile)])
    at = text_page("xai")
    assert grid_frame(at, "text", "pending").iloc[0]["display_name"] == hostile
    at = select_models(at, "text", "pending", ["xai/grok-x"])
    at = click(at, "text-approve")
    raw = [str(t.value) for t in at.toast]
    assert raw == ["Approved 1 model\\(s\\)\\: xai\\/grok\\-x"]  # every mark escaped
    picker = next(r for r in at.selectbox if r.label.startswith("Default"))
    # Plain text, not escaped (a selectbox renders no Markdown); a long name is cut, the id kept.
    [option] = [o for o in picker.options if o.endswith(" — xai/grok-x")]
    assert option.startswith("**Bold** [click](http://evil.example) <b>x</b>")


def test_search_filters_every_section(database: Database) -> None:
    seed_pending("google", ["gemini-zeta-1", "gemini-zeta-2", "gemini-other"])
    at = text_page()
    at.text_input(key="text-search").input("ZETA").run()
    assert_clean(at)
    assert headings(at) == [
        "Pending approval (2)",
        "Enabled (0)",
        "Disabled (0)",
        "Deprecated (0)",
    ]
    at.text_input(key="text-search").input("100% _weird_ 'quote\\").run()
    assert_clean(at)
    assert "No enabled models here. (search is on)" in everything(at)


def test_thousands_of_rows_are_paginated(database: Database) -> None:
    seed_pending("openrouter", [f"vendor/model-{i:04d}" for i in range(120)])
    at = text_page("openrouter")
    assert headings(at)[0] == "Pending approval (120)"
    assert len(grid_models(at, "text", "pending")) == 50
    assert "Rows 1–50 of 120 · 0 selected" in everything(at)
    pager = next(p for p in at.pagination if "pending" in str(p.key))
    pager.set_value(3).run()
    assert_clean(at)
    assert grid_models(at, "text", "pending")[0] == "openrouter/vendor/model-0100"
    assert "Rows 101–120 of 120 · 0 selected" in everything(at)


# --- refresh -----------------------------------------------------------------------------------


def test_refresh_shows_progress_then_new_models_wait_in_pending(
    database: Database, openai_server: StandInServer
) -> None:
    at = text_page("openai")
    assert "Never refreshed" in everything(at)
    at = click(at, "text-refresh")
    assert_clean(at)
    assert messages(at, "success")[0].startswith("Refreshed 1 of 1 provider(s): 3 new")
    assert "✓ openai: 11 listed, 3 new, 0 deprecated" in everything(at)
    assert headings(at)[0] == "Pending approval (3)"
    assert grid_models(at, "text", "pending") == [
        "openai/gpt-5.4-nano",
        "openai/o3",
        "openai/o4-mini",
    ]
    assert "Refreshed just now — next refresh in 5 min" in everything(at)
    assert len(openai_server.requests_to("/v1/models")) == 1


def test_within_five_minutes_refresh_is_skipped_and_force_refresh_runs(
    database: Database, openai_server: StandInServer
) -> None:
    at = click(text_page("openai"), "text-refresh")
    at = click(at, "text-refresh")
    assert_clean(at)
    # Not a success: a warning, with the time left.
    assert messages(at, "success") == []
    assert messages(at, "warning")[0] == (
        "Refreshed 0 of 1 provider(s): 0 new, 0 deprecated · 1 rate-limited"
    )
    assert messages(at, "warning")[1] == (
        "openai: rate-limited — refreshed less than 5 minutes ago; next refresh in 5 min "
        "(or force a refresh)"
    )
    assert at.warning[1].icon == "⏸"
    assert len(openai_server.requests_to("/v1/models")) == 1
    # The provider drops a model; a forced refresh sees it and deprecates it.
    body = load_fixture("openai")
    body["data"] = [m for m in body["data"] if m["id"] != "gpt-4o"]
    openai_standin.install(openai_server, body)
    at = click(at, "text-force-refresh")
    assert_clean(at)
    assert len(openai_server.requests_to("/v1/models")) == 2
    assert headings(at)[-1] == "Deprecated (1)"
    assert grid_models(at, "text", "deprecated") == ["openai/gpt-4o"]
    assert "Falls back to: openai/gpt-5.4-mini — openai/gpt-4o" in everything(at)
    (entry,) = list_audit_entries(model="gpt-4o", action="status_change")
    assert (entry.old_value, entry.new_value, entry.actor) == (
        "enabled",
        "deprecated",
        "discovery via local-admin@localhost",
    )


def test_refresh_without_any_key_gives_one_calm_note_not_six_failures(
    database: Database,
) -> None:
    at = click(text_page(), "text-refresh")
    assert_clean(at)
    assert messages(at, "error") == []
    notes = [m for m in messages(at, "info") if m.startswith("No API key for")]
    assert len(notes) == 1 and "openai" in notes[0] and "anthropic" in notes[0]
    assert "Refreshed 0 of 6 provider(s)" in messages(at, "info")[0]


def test_curated_providers_say_they_use_the_curated_list(database: Database) -> None:
    at = open_app("tts_models")
    at.selectbox(key="tts-provider").set_value("openai").run()
    at = click(at, "tts-refresh")
    assert_clean(at)
    text = everything(at)
    # openai can list voices; only the missing key makes the curated list serve.
    assert "Using curated list (no API key to list the provider's models" in text
    assert "doesn't support discovery" not in text


# --- pending -----------------------------------------------------------------------------------


def test_approve_and_reject_selected(database: Database) -> None:
    seed_pending("mistral", ["m-a", "m-b", "m-c"])
    before = enabled("mistral")
    at = text_page("mistral")
    at = select_models(at, "text", "pending", ["mistral/m-a", "mistral/m-c"])
    assert "Rows 1–3 of 3 · 2 selected" in everything(at)
    at = click(at, "text-approve")
    assert toasts(at) == ["Approved 2 model(s): mistral/m-a, mistral/m-c"]
    assert enabled("mistral") == before + 2
    assert headings(at)[0] == "Pending approval (1)"
    at = select_models(at, "text", "pending", ["mistral/m-b"])
    at = click(at, "text-reject")
    assert toasts(at) == ["Rejected 1 model(s): mistral/m-b"]
    assert status_of("mistral", "m-b") is ModelStatus.DISABLED
    assert headings(at)[2] == "Disabled (1)"
    # The acting admin is recorded.
    entries = list_audit_entries(model="m-a", action="status_change")
    assert [e.actor for e in entries] == ["local-admin@localhost"]


def test_select_all_on_the_page_and_nothing_selected(database: Database) -> None:
    seed_pending("xai", ["x-1", "x-2"])
    at = text_page("xai")
    at = click(at, "text-approve")
    assert toasts(at) == ["Select at least one model to approve (tick Select in the table)."]
    at.checkbox(key=f"{grid_key(at, 'text', 'pending')}-all").check().run()
    assert "Rows 1–2 of 2 · 2 selected" in everything(at)
    # Unticking one row in the grid overrides "select all" for that row.
    at = edit_grid(at, "text", "pending", {1: {"select": False}})
    at = click(at, "text-approve")
    assert toasts(at) == ["Approved 1 model(s): xai/x-1"]
    assert status_of("xai", "x-2") is ModelStatus.PENDING


def test_approve_all_covers_every_page(database: Database) -> None:
    seed_pending("openrouter", [f"v/m-{i:03d}" for i in range(70)])
    seed_pending("mistral", ["not-this-provider"])
    at = text_page("openrouter")
    at = click(at, "text-approve-all")
    assert toasts(at) == ["Approved all 70 pending model(s)"]
    assert headings(at)[0] == "Pending approval (0)"
    assert status_of("mistral", "not-this-provider") is ModelStatus.PENDING


# --- enabled -----------------------------------------------------------------------------------


def _row(at: AppTest, section: str, model: str) -> int:
    return grid_models(at, "text", section).index(model)


def test_grid_edits_are_saved_together(database: Database) -> None:
    at = text_page("anthropic")
    opus = _row(at, "enabled", "anthropic/claude-opus-4-6")
    haiku = _row(at, "enabled", "anthropic/claude-haiku-4-5-20251001")
    at = edit_grid(
        at,
        "text",
        "enabled",
        {
            opus: {"display_name": "Opus (house name)", "admin_notes": "for long stories"},
            haiku: {"status": "disabled"},
        },
    )
    assert "2 unsaved change(s)" in everything(at)
    at = click(at, "text-enabled-save")
    assert toasts(at) == ["Saved changes to 2 model(s)."]
    opus_model = get_model_by_provider_id("anthropic", "claude-opus-4-6", "text")
    assert (opus_model.display_name, opus_model.admin_notes) == (
        "Opus (house name)",
        "for long stories",
    )
    assert status_of("anthropic", "claude-haiku-4-5-20251001") is ModelStatus.DISABLED
    assert headings(at)[2] == "Disabled (1)"
    assert {e.field for e in list_audit_entries(model="claude-opus-4-6", action="edit")} == {
        "display_name",
        "admin_notes",
    }


def test_a_bad_row_rejects_the_whole_grid_edit_with_a_report(database: Database) -> None:
    at = text_page("anthropic")
    default = get_default_model_for_provider("anthropic", "text")
    at = edit_grid(
        at,
        "text",
        "enabled",
        {
            _row(at, "enabled", "anthropic/claude-opus-4-6"): {"admin_notes": "fine"},
            _row(at, "enabled", f"anthropic/{default}"): {"status": "disabled"},
            _row(at, "enabled", "anthropic/claude-haiku-4-5-20251001"): {"display_name": " "},
        },
    )
    at = click(at, "text-enabled-save")
    assert messages(at, "error") == [
        "2 row(s) rejected, nothing was saved. Fix them or discard the changes:"
    ]
    report = at.dataframe[0].value
    assert dict(zip(report["model"], report["problem"], strict=True)) == {
        f"anthropic/{default}": (
            f"anthropic/{default} is the text default of anthropic; pick another default "
            "first, then set it to disabled"
        ),
        "anthropic/claude-haiku-4-5-20251001": "display name cannot be empty",
    }
    assert get_model_by_provider_id("anthropic", "claude-opus-4-6", "text").admin_notes is None
    # The edits stay in the grid to be fixed; Discard drops them.
    assert "3 unsaved change(s)" in everything(at)
    at = click(at, "text-enabled-discard")
    assert toasts(at) == ["Changes discarded."]
    assert "unsaved" not in everything(at)


def test_the_default_picker_sets_the_default(database: Database) -> None:
    at = text_page("google")
    picker = next(r for r in at.selectbox if r.label == "Default text model of google")
    assert picker.value == "gemini-3.5-flash-lite"
    picker.set_value("gemini-3.8-flash").run()
    assert_clean(at)
    assert toasts(at) == ["google/gemini-3.8-flash is now the default text model of google."]
    assert get_default_model_for_provider("google", "text") == "gemini-3.8-flash"
    grid = grid_frame(at, "text", "enabled")
    assert list(grid.loc[grid["default"] != "", "model"]) == ["google/gemini-3.8-flash"]


def test_disabling_the_default_asks_for_a_new_default_first(database: Database) -> None:
    at = text_page("mistral")
    at = select_models(
        at, "text", "enabled", ["mistral/mistral-medium-latest", "mistral/codestral-latest"]
    )
    at = click(at, "text-disable")
    assert messages(at, "warning")[1] == (
        "mistral/mistral-medium-latest is the default text model of mistral. Choose a new "
        "default first; then the selection is disabled."
    )
    # Confirming without a choice changes nothing.
    at = click(at, "text-disable-confirm")
    assert toasts(at) == ["Choose the new default first."]
    assert status_of("mistral", "mistral-medium-latest") is ModelStatus.ENABLED
    choice = next(s for s in at.selectbox if s.label == "New default")
    # Every other enabled mistral model, by name and id; not the ones being disabled.
    assert not [o for o in choice.options if o.endswith("mistral/codestral-latest")]
    choice.set_value("mistral-large-latest").run()
    at = click(at, "text-disable-confirm")
    assert toasts(at) == [
        "mistral/mistral-large-latest is the new default; disabled 2 model(s) including "
        "mistral/mistral-medium-latest."
    ]
    assert get_default_model_for_provider("mistral", "text") == "mistral-large-latest"
    assert status_of("mistral", "mistral-medium-latest") is ModelStatus.DISABLED
    assert status_of("mistral", "codestral-latest") is ModelStatus.DISABLED


def test_disable_and_cancel(database: Database) -> None:
    at = text_page("xai")
    at = select_models(at, "text", "enabled", ["xai/grok-3"])
    at = click(at, "text-disable")
    at = click(at, "text-disable-confirm")
    assert toasts(at) == ["Disabled 1 model(s): xai/grok-3"]
    at = select_models(at, "text", "enabled", ["xai/grok-4-1-fast-non-reasoning"])
    at = click(at, "text-disable")
    at = click(at, "text-disable-cancel")
    assert not messages(at, "warning")
    assert status_of("xai", "grok-4-1-fast-non-reasoning") is ModelStatus.ENABLED


# --- disabled and deprecated -------------------------------------------------------------------


def test_disabled_models_can_be_enabled_again(database: Database) -> None:
    update_model_status(get_model_by_provider_id("openai", "gpt-4o", "text").id, "disabled")
    at = text_page("openai")
    assert grid_models(at, "text", "disabled") == ["openai/gpt-4o"]
    assert grid_frame(at, "text", "disabled").iloc[0]["falls_back_to"] == "openai/gpt-5.4-mini"
    at = select_models(at, "text", "disabled", ["openai/gpt-4o"])
    at = click(at, "text-enable-disabled")
    assert toasts(at) == ["Enabled 1 model(s): openai/gpt-4o"]
    assert status_of("openai", "gpt-4o") is ModelStatus.ENABLED


def test_deprecated_models_fall_back_get_a_successor_and_archive(database: Database) -> None:
    gpt4o = get_model_by_provider_id("openai", "gpt-4o", "text")
    update_model_status(gpt4o.id, "deprecated")
    at = text_page("openai")
    assert "Falls back to: openai/gpt-5.4-mini — openai/gpt-4o" in everything(at)
    # Name a successor: resolution now answers with it.
    next(s for s in at.selectbox if s.label == "Deprecated model").set_value(str(gpt4o.id)).run()
    next(s for s in at.selectbox if s.label == "Replaced by").set_value("gpt-4.1").run()
    at = click(at, "text-successor-set")
    assert toasts(at) == ["openai/gpt-4.1 now replaces openai/gpt-4o."]
    assert "Falls back to: openai/gpt-4.1 — openai/gpt-4o" in everything(at)
    assert grid_frame(at, "text", "deprecated").iloc[0]["successor"] == "openai/gpt-4.1"
    # Archive: hidden from the list, back with the toggle, then unarchived.
    at = select_models(at, "text", "deprecated", ["openai/gpt-4o"])
    at = click(at, "text-archive")
    assert toasts(at) == ["Archived 1 model(s): openai/gpt-4o"]
    assert headings(at)[-1] == "Deprecated (0)"
    at.toggle(key="text-show-archived").set_value(True).run()
    assert headings(at)[-1] == "Deprecated (1)"
    assert bool(grid_frame(at, "text", "deprecated").iloc[0]["archived"])
    at = select_models(at, "text", "deprecated", ["openai/gpt-4o"])
    at = click(at, "text-unarchive")
    assert toasts(at) == ["Unarchived 1 model(s): openai/gpt-4o"]
    assert get_model_by_provider_id("openai", "gpt-4o", "text").archived_at is None


def test_only_deprecated_models_can_be_archived_and_reenabled(database: Database) -> None:
    gpt4o = get_model_by_provider_id("openai", "gpt-4o", "text")
    update_model_status(gpt4o.id, "deprecated")
    at = text_page("openai")
    at = select_models(at, "text", "deprecated", ["openai/gpt-4o"])
    at = click(at, "text-enable-deprecated")
    assert toasts(at) == ["Enabled 1 model(s): openai/gpt-4o"]
    assert status_of("openai", "gpt-4o") is ModelStatus.ENABLED


def test_fallback_counts_are_shown_for_deprecated_models(database: Database) -> None:
    model = get_model_by_provider_id("openai", "gpt-4o", "text")
    update_model_status(model.id, "deprecated")
    set_successor(model.id, None)
    for _ in range(3):
        assert resolve("text", "openai", "gpt-4o").model_id == "gpt-5.4-mini"
    flush_fallback_counts()
    at = text_page("openai")
    row = grid_frame(at, "text", "deprecated").iloc[0]
    assert (row["model"], row["falls_back_to"], row["fallbacks"]) == (
        "openai/gpt-4o",
        "openai/gpt-5.4-mini",
        3,
    )


# --- TTS ---------------------------------------------------------------------------------------


def test_tts_page_is_the_same_component_for_voices(database: Database) -> None:
    seed_pending("elevenlabs", [f"voice-{i}" for i in range(3)], category="tts")
    at = open_app("tts_models")
    assert_clean(at)
    assert at.title[0].value == "TTS models"
    assert headings(at)[0] == "Pending approval (3)"
    at.selectbox(key="tts-provider").set_value("elevenlabs").run()
    at = select_models(at, "tts", "pending", ["elevenlabs/voice-0"])
    at = click(at, "tts-approve")
    assert toasts(at) == ["Approved 1 model(s): elevenlabs/voice-0"]
    picker = next(r for r in at.selectbox if r.label == "Default tts model of elevenlabs")
    picker.set_value("voice-0").run()
    assert get_default_model_for_provider("elevenlabs", Category.TTS) == "voice-0"
    set_default_model("elevenlabs", "tts", "21m00Tcm4TlvDq8ikWAM")


def test_notes_of_disabled_and_deprecated_models_and_clearing_a_successor(
    database: Database,
) -> None:
    gpt4o = get_model_by_provider_id("openai", "gpt-4o", "text")
    update_model_status(get_model_by_provider_id("openai", "gpt-4.1", "text").id, "disabled")
    update_model_status(gpt4o.id, "deprecated")
    set_successor(gpt4o.id, "gpt-5")
    at = text_page("openai")
    at = edit_grid(at, "text", "disabled", {0: {"admin_notes": "too slow for us"}})
    at = click(at, "text-disabled-save")
    assert toasts(at) == ["Saved changes to 1 model(s)."]
    at = edit_grid(at, "text", "deprecated", {0: {"admin_notes": "replaced in May"}})
    at = click(at, "text-deprecated-save")
    assert toasts(at) == ["Saved changes to 1 model(s)."]
    assert get_model_by_provider_id("openai", "gpt-4.1", "text").admin_notes == "too slow for us"
    assert get_model_by_provider_id("openai", "gpt-4o", "text").admin_notes == "replaced in May"
    assert "Falls back to: openai/gpt-5 — openai/gpt-4o" in everything(at)
    next(s for s in at.selectbox if s.label == "Deprecated model").set_value(str(gpt4o.id)).run()
    at = click(at, "text-successor-clear")
    assert toasts(at) == ["Cleared the successor of openai/gpt-4o."]
    assert "Falls back to: openai/gpt-5.4-mini — openai/gpt-4o" in everything(at)


def test_changing_the_page_size_starts_again_at_page_one(database: Database) -> None:
    seed_pending("openrouter", [f"vendor/model-{i:04d}" for i in range(120)])
    at = text_page("openrouter")
    next(p for p in at.pagination if "pending" in str(p.key)).set_value(2).run()
    assert grid_models(at, "text", "pending")[0] == "openrouter/vendor/model-0050"
    at.selectbox(key="text-page-size").set_value(100).run()
    assert_clean(at)
    assert grid_models(at, "text", "pending")[0] == "openrouter/vendor/model-0000"
    assert "Rows 1–100 of 120 · 0 selected" in everything(at)


def test_choosing_a_default_keeps_unsaved_grid_edits(database: Database) -> None:
    at = text_page("google")
    at = edit_grid(at, "text", "enabled", {0: {"admin_notes": "draft"}})
    picker = next(r for r in at.selectbox if r.label == "Default text model of google")
    picker.set_value("gemini-3.8-flash").run()
    assert "1 unsaved change(s)" in everything(at)
    assert get_default_model_for_provider("google", "text") == "gemini-3.8-flash"
    at = click(at, "text-enabled-save")
    assert toasts(at)[-1] == "Saved changes to 1 model(s)."
