"""The admin actions of the models pages (AppTest, SQLite and PostgreSQL): the default chooser
over every enabled model, unsaved grid edits that survive other actions and leaving the page,
bulk disable that asks with the count and can be undone, toasts as feedback."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from registry.audit import list_audit_entries
from registry.db import Database
from registry.store import (
    ModelFilter,
    bulk_update_models,
    get_default_model_for_provider,
    get_model_by_provider_id,
    list_model_ids,
    upsert_discovered_models,
)
from registry.types import DiscoveredModel, ModelStatus
from tests.dashboard_support import (
    assert_clean,
    click,
    edit_grid,
    everything,
    grid_frame,
    grid_models,
    messages,
    open_app,
    select_models,
    toasts,
)

pytestmark = pytest.mark.usefixtures("loopback")


def seed(provider: str, ids: list[str], *, enable: bool = False) -> None:
    upsert_discovered_models(provider, "text", [DiscoveredModel(i, f"Name {i}") for i in ids])
    if enable:
        pending = list_model_ids(ModelFilter(provider=provider, status="pending"))
        bulk_update_models(pending, "enabled")


def page(provider: str) -> AppTest:
    at = open_app("text_models")
    at.selectbox(key="text-provider").set_value(provider).run()
    assert_clean(at)
    return at


def status_of(provider: str, model_id: str) -> str:
    return get_model_by_provider_id(provider, model_id, "text").status.value


def test_default_chooser_offers_every_enabled_model_by_name_and_id(database: Database) -> None:
    seed("openrouter", [f"vendor/m-{i:03d}" for i in range(450)], enable=True)
    at = page("openrouter")
    assert len(grid_models(at, "text", "enabled")) == 50  # the grid shows one page
    picker = next(s for s in at.selectbox if s.label == "Default text model of openrouter")
    assert len(picker.options) == 456  # … the chooser every enabled model (6 curated)
    assert "Name vendor/m-377 — openrouter/vendor/m-377" in picker.options  # plain text
    picker.set_value("vendor/m-377").run()
    assert toasts(at) == ["openrouter/vendor/m-377 is now the default text model of openrouter."]
    assert get_default_model_for_provider("openrouter", "text") == "vendor/m-377"


def test_default_chooser_follows_models_enabled_or_disabled_elsewhere(database: Database) -> None:
    seed("openrouter", ["vendor/late"])
    at = page("openrouter")

    def offered() -> list[str]:
        picker = next(s for s in at.selectbox if s.label == "Default text model of openrouter")
        return list(picker.options)

    before = offered()
    assert "Name vendor/late — openrouter/vendor/late" not in before
    # Another admin (or the command line) enables one and disables another: the chooser,
    # kept between runs for speed, follows the catalog's change stamp.
    bulk_update_models(
        list_model_ids(ModelFilter(provider="openrouter", status="pending")), "enabled"
    )
    gone = get_model_by_provider_id("openrouter", "openai/gpt-5-mini", "text")
    bulk_update_models([gone.id], "disabled")
    at.run()
    now = offered()
    assert "Name vendor/late — openrouter/vendor/late" in now
    assert not [o for o in now if o.endswith("openrouter/openai/gpt-5-mini")]
    assert len(now) == len(before)


def test_unsaved_edits_survive_an_approval_elsewhere_on_the_page(database: Database) -> None:
    seed("xai", ["grok-new"])
    at = page("xai")
    row = grid_models(at, "text", "enabled").index("xai/grok-3")
    at = edit_grid(at, "text", "enabled", {row: {"admin_notes": "draft note"}})
    at = select_models(at, "text", "pending", ["xai/grok-new"])
    at = click(at, "text-approve")
    assert toasts(at) == ["Approved 1 model(s): xai/grok-new"]
    # The grids were redrawn with the new model; the typed note is still there, unsaved.
    grid = grid_frame(at, "text", "enabled")
    assert grid.set_index("model").loc["xai/grok-3", "admin_notes"] == "draft note"
    assert messages(at, "warning")[0].startswith("1 unsaved change(s) in the grids below")
    at = click(at, "text-enabled-save")
    assert toasts(at) == ["Saved changes to 1 model(s)."]
    assert get_model_by_provider_id("xai", "grok-3", "text").admin_notes == "draft note"
    assert "unsaved" not in everything(at)


def test_unsaved_edits_are_waiting_after_leaving_the_page(database: Database) -> None:
    at = page("google")
    model = grid_models(at, "text", "enabled")[0]
    at = edit_grid(at, "text", "enabled", {0: {"display_name": "House Flash"}})
    at.switch_page("pages/overview.py").run()
    assert_clean(at)
    at.switch_page("pages/text_models.py").run()
    assert messages(at, "warning")[0].startswith("1 unsaved change(s)")
    at.selectbox(key="text-provider").set_value("google").run()
    names = grid_frame(at, "text", "enabled").set_index("model")["display_name"]
    assert names[model] == "House Flash"
    at = click(at, "text-unsaved-discard")
    assert toasts(at) == ["Changes discarded."]
    assert "unsaved" not in everything(at)
    names = grid_frame(at, "text", "enabled").set_index("model")["display_name"]
    assert names[model] != "House Flash"


def test_bulk_disable_asks_with_the_count_and_one_undo_restores_them(database: Database) -> None:
    at = page("openai")
    chosen = ["openai/gpt-4o", "openai/gpt-4.1", "openai/gpt-4o-mini"]
    at = select_models(at, "text", "enabled", chosen)
    at = click(at, "text-disable")
    assert messages(at, "warning")[0].startswith("Disable 3 model(s)?")
    assert all(status_of("openai", m.split("/")[1]) == "enabled" for m in chosen)
    at = click(at, "text-disable-confirm")
    assert toasts(at)[0].startswith("Disabled 3 model(s): ")
    assert all(status_of("openai", m.split("/")[1]) == "disabled" for m in chosen)
    (entry,) = list_audit_entries(action="status_change", provider="openai")
    assert entry.new_value == (
        "disabled — 3 models: openai/gpt-4.1, openai/gpt-4o, openai/gpt-4o-mini"
    )
    at = click(at, "text-undo")
    assert toasts(at) == ["Undone: 3 model(s) back as they were."]
    assert all(status_of("openai", m.split("/")[1]) == "enabled" for m in chosen)
    undo = list_audit_entries(action="status_change", provider="openai")[0]
    assert (undo.field, undo.old_value) == ("status (undo)", "disabled")
    assert not [b for b in at.button if b.key == "text-undo"]  # one undo per action


def test_undo_of_disabling_the_default_brings_the_default_back(database: Database) -> None:
    at = page("mistral")
    at = select_models(at, "text", "enabled", ["mistral/mistral-medium-latest"])
    at = click(at, "text-disable")
    next(s for s in at.selectbox if s.label == "New default").set_value(
        "mistral-large-latest"
    ).run()
    at = click(at, "text-disable-confirm")
    assert get_default_model_for_provider("mistral", "text") == "mistral-large-latest"
    at = click(at, "text-undo")
    assert toasts(at) == [
        "Undone: 1 model(s) back as they were; mistral/mistral-medium-latest is the default again."
    ]
    assert get_default_model_for_provider("mistral", "text") == "mistral-medium-latest"
    assert status_of("mistral", "mistral-medium-latest") == "enabled"


def test_deprecate_selected_asks_first_and_can_be_undone(database: Database) -> None:
    at = page("xai")
    at = select_models(at, "text", "enabled", ["xai/grok-3"])
    at = click(at, "text-deprecate")
    assert messages(at, "warning")[0].startswith("Deprecate 1 model(s)?")
    at = click(at, "text-disable-confirm")
    assert status_of("xai", "grok-3") == ModelStatus.DEPRECATED.value
    at = click(at, "text-undo")
    assert status_of("xai", "grok-3") == "enabled"


def test_approve_all_is_one_audit_entry_and_the_counts_follow_at_once(database: Database) -> None:
    seed("openrouter", [f"v/m-{i:03d}" for i in range(455)])
    at = page("openrouter")
    provider = at.selectbox(key="text-provider")
    assert "openrouter (455 pending)" in provider.options
    at = click(at, "text-approve-all")
    assert toasts(at) == ["Approved all 455 pending model(s)"]
    assert "openrouter" in at.selectbox(key="text-provider").options  # no count left behind
    entries = list_audit_entries(action="status_change", provider="openrouter")
    assert len(entries) == 1 and entries[0].new_value is not None
    assert entries[0].new_value.startswith("enabled — 455 models: openrouter/v/m-000, ")
