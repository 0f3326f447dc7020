"""Bulk status changes: one audit entry listing their models, and an undo that puts back each
model's previous status (and the default the change moved). On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from registry.audit import Actor, list_audit_entries
from registry.db import Database
from registry.errors import RegistryError
from registry.store import (
    ModelEdit,
    ModelFilter,
    apply_model_edits,
    bulk_update_models,
    change_model_statuses,
    get_default_model_for_provider,
    get_model_by_provider_id,
    list_models,
    set_default_model,
    undo_status_change,
    upsert_discovered_models,
)
from registry.types import DiscoveredModel, ModelStatus

ADMIN = Actor("admin@example.com")


def seed_openrouter(count: int) -> list[str]:
    upsert_discovered_models(
        "openrouter", "text", [DiscoveredModel(f"v/m-{i:03d}", f"M {i}") for i in range(count)]
    )
    return [str(m.id) for m in list_models(ModelFilter(provider="openrouter", status="pending"))]


def statuses(provider: str) -> dict[str, str]:
    return {m.model_id: m.status.value for m in list_models(ModelFilter(provider=provider))}


def test_approving_many_models_writes_one_audit_entry_naming_each(database: Database) -> None:
    ids = seed_openrouter(455)
    before = len(list_audit_entries(limit=100_000))
    assert bulk_update_models(ids, "enabled", actor=ADMIN) == 455
    entries = list_audit_entries(limit=100_000)
    assert len(entries) == before + 1
    entry = entries[0]
    assert (entry.action, entry.provider, entry.category, entry.field) == (
        "status_change",
        "openrouter",
        "text",
        "status",
    )
    assert entry.model_id is None
    assert entry.old_value == "pending"
    assert entry.new_value is not None
    assert entry.new_value.startswith("enabled — 455 models: openrouter/v/m-000, ")
    assert entry.new_value.endswith("openrouter/v/m-454")
    # The Activity page's "model id contains" filter finds a model inside the list.
    assert list_audit_entries(model="v/m-123", action="status_change")[0].id == entry.id


def test_one_model_keeps_its_own_audit_entry(database: Database) -> None:
    model = get_model_by_provider_id("openai", "gpt-4o", "text")
    bulk_update_models([model.id], "disabled", actor=ADMIN)
    (entry,) = list_audit_entries(model="gpt-4o")
    assert (entry.model_id, entry.old_value, entry.new_value) == ("gpt-4o", "enabled", "disabled")


def test_status_edits_saved_from_the_grid_together_are_one_audit_entry(
    database: Database,
) -> None:
    ids = seed_openrouter(4)
    bulk_update_models(ids, "enabled", actor=ADMIN)
    before = len(list_audit_entries(limit=100_000))
    edits = [ModelEdit(i, status="disabled") for i in ids[:3]]
    edits += [ModelEdit(ids[3], status="deprecated", display_name="Renamed")]
    assert apply_model_edits(edits, actor=ADMIN).changed == 4
    after = list_audit_entries(limit=100_000)
    entries = after[: len(after) - before]  # newest first
    status = [e for e in entries if e.action == "status_change"]
    assert len(status) == 1, [e.new_value for e in status]
    assert (status[0].model_id, status[0].old_value) == (None, "enabled")
    assert status[0].new_value == (
        "disabled — 3 models: openrouter/v/m-000, openrouter/v/m-001, openrouter/v/m-002; "
        "deprecated — 1 model: openrouter/v/m-003"
    )
    # A renamed model keeps its own entry: the new name is not a status.
    (renamed,) = [e for e in entries if e.action == "edit"]
    assert (renamed.model_id, renamed.field, renamed.new_value) == (
        "v/m-003",
        "display_name",
        "Renamed",
    )


def test_one_status_edit_saved_from_the_grid_names_its_model(database: Database) -> None:
    model = get_model_by_provider_id("openai", "gpt-4o", "text")
    apply_model_edits([ModelEdit(model.id, status="disabled")], actor=ADMIN)
    (entry,) = list_audit_entries(model="gpt-4o")
    assert (entry.model_id, entry.old_value, entry.new_value) == ("gpt-4o", "enabled", "disabled")


def test_undo_of_a_bulk_disable_restores_each_previous_status_and_timestamps(
    database: Database,
) -> None:
    seed_openrouter(3)
    models = list_models(ModelFilter(provider="openrouter"))
    default = get_default_model_for_provider("openrouter", "text")
    chosen = [m for m in models if m.model_id != default]
    before = {m.model_id: (m.status, m.enabled_at) for m in chosen}
    change = change_model_statuses([m.id for m in chosen], "disabled", actor=ADMIN)
    assert len(change.changed) == len(chosen)
    assert set(statuses("openrouter").values()) == {"enabled", "disabled"}

    report = undo_status_change(change, actor=ADMIN)
    assert len(report.restored) == len(chosen) and not report.skipped
    now = list_models(ModelFilter(provider="openrouter"))
    after = {m.model_id: (m.status, m.enabled_at) for m in now if m.model_id != default}
    assert after == before  # pending ones pending again, enabled ones with their old enabled_at
    undo_entry = list_audit_entries(limit=1)[0]
    assert undo_entry.field == "status (undo)"
    assert undo_entry.old_value == "disabled"
    assert undo_entry.new_value is not None and "pending — 3 models" in undo_entry.new_value


def test_disable_with_a_new_default_is_one_change_and_its_undo_restores_the_default(
    database: Database,
) -> None:
    old = get_default_model_for_provider("mistral", "text")
    old_model = get_model_by_provider_id("mistral", old or "", "text")
    change = change_model_statuses(
        [old_model.id], "disabled", actor=ADMIN, new_default="mistral-large-latest"
    )
    assert get_default_model_for_provider("mistral", "text") == "mistral-large-latest"
    assert statuses("mistral")[old or ""] == "disabled"

    report = undo_status_change(change, actor=ADMIN)
    assert report.default_restored == f"mistral/{old}"
    assert get_default_model_for_provider("mistral", "text") == old
    assert statuses("mistral")[old or ""] == "enabled"


def test_a_new_default_outside_the_enabled_models_changes_nothing(database: Database) -> None:
    old = get_default_model_for_provider("mistral", "text") or ""
    ids = [get_model_by_provider_id("mistral", old, "text").id]
    before = statuses("mistral")
    with pytest.raises(RegistryError):
        change_model_statuses(ids, "disabled", new_default="no-such-or-disabled")
    assert statuses("mistral") == before
    assert get_default_model_for_provider("mistral", "text") == old


def test_undo_leaves_models_changed_since_and_names_them(database: Database) -> None:
    ids = seed_openrouter(2)
    change = change_model_statuses(ids, "enabled", actor=ADMIN)
    # Since then: one approved model became the default, so it cannot go back to pending.
    set_default_model("openrouter", "text", "v/m-000", actor=ADMIN)
    report = undo_status_change(change, actor=ADMIN)
    assert report.restored == ("openrouter/v/m-001",)
    assert list(report.skipped) == ["openrouter/v/m-000"]
    assert "default" in report.skipped["openrouter/v/m-000"]
    assert statuses("openrouter")["v/m-000"] == ModelStatus.ENABLED.value
    assert statuses("openrouter")["v/m-001"] == ModelStatus.PENDING.value
