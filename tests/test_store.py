"""The data layer and its lifecycle rules, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select

from registry.audit import Actor, ensure_user, list_audit_entries
from registry.catalog import CURATED
from registry.db import Database
from registry.errors import (
    AmbiguousModelError,
    DatabaseError,
    InvalidInputError,
    LifecycleError,
    ModelNotFoundError,
)
from registry.schema import AIModel, AuditEntry, RegistryStamp
from registry.store import (
    EditsRejectedError,
    ModelEdit,
    ModelFilter,
    apply_model_edits,
    archive_model,
    bulk_update_models,
    count_models,
    edit_model,
    get_default_model_for_provider,
    get_enabled_models_for_provider,
    get_model_by_provider_id,
    list_models,
    set_default_model,
    set_successor,
    update_model_status,
    upsert_discovered_model,
    upsert_discovered_models,
)
from registry.types import Category, DiscoveredModel, ModelStatus

ADMIN = Actor("admin@example.com")


def _statuses(db: Database) -> dict[uuid.UUID, str]:
    with db.read() as session:
        return {i: status for i, status in session.execute(select(AIModel.id, AIModel.status))}


def _audit_count(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_fresh_catalog_has_an_enabled_default_for_each_of_the_ten_pairs(database: Database) -> None:
    for (category, provider), curated in CURATED.items():
        default = get_default_model_for_provider(provider, category)
        assert default == curated.default
        enabled = {m.model_id for m in get_enabled_models_for_provider(provider, category)}
        assert default in enabled
        assert len(enabled) == len(curated.models)


def test_approving_a_pending_model_enables_it_with_timestamp_and_audit(database: Database) -> None:
    model = upsert_discovered_model("openai", "text", DiscoveredModel("gpt-9", "GPT-9"))
    assert model.status is ModelStatus.PENDING and model.enabled_at is None
    approved = update_model_status(model.id, "enabled", actor=ADMIN)
    assert approved.status is ModelStatus.ENABLED
    assert approved.enabled_at is not None and approved.enabled_at.tzinfo is not None
    [entry] = list_audit_entries(model="gpt-9")
    assert (entry.actor, entry.action, entry.old_value, entry.new_value) == (
        ADMIN.label,
        "status_change",
        "pending",
        "enabled",
    )


def test_disabling_the_current_default_is_refused_and_changes_nothing(database: Database) -> None:
    default = get_model_by_provider_id("anthropic", "claude-sonnet-4-6", "text")
    before, audits = _statuses(database), _audit_count(database)
    with pytest.raises(LifecycleError, match="pick another default first"):
        update_model_status(default.id, "disabled")
    assert _statuses(database) == before
    assert _audit_count(database) == audits


def test_default_must_be_enabled(database: Database) -> None:
    upsert_discovered_model("mistral", "text", DiscoveredModel("mistral-new", "New"))
    with pytest.raises(LifecycleError, match="only an enabled model can be the default"):
        set_default_model("mistral", "text", "mistral-new")
    assert get_default_model_for_provider("mistral", "text") == "mistral-medium-latest"


def test_set_default_then_the_old_default_can_be_disabled(database: Database) -> None:
    set_default_model("openai", "text", "gpt-4.1", actor=ADMIN)
    assert get_default_model_for_provider("openai", "text") == "gpt-4.1"
    old = get_model_by_provider_id("openai", "gpt-5.4-mini", "text")
    assert update_model_status(old.id, "disabled").status is ModelStatus.DISABLED
    actions = {e.action for e in list_audit_entries(provider="openai")}
    assert actions == {"default_change", "status_change"}


def test_bulk_update_with_one_unknown_id_changes_nothing(database: Database) -> None:
    ids = [m.id for m in list_models(ModelFilter(provider="xai"))]
    before = _statuses(database)
    with pytest.raises(ModelNotFoundError, match="nothing was changed"):
        bulk_update_models([*ids, uuid.uuid4()], "disabled")
    assert _statuses(database) == before


def test_bulk_update_that_touches_a_default_changes_nothing(database: Database) -> None:
    ids = [m.id for m in list_models(ModelFilter(provider="xai", category="text"))]
    before = _statuses(database)
    with pytest.raises(LifecycleError, match="grok-4-1-fast-non-reasoning"):
        bulk_update_models(ids, "deprecated")
    assert _statuses(database) == before


def test_bulk_update_changes_all_rows_in_one_go_and_counts_them(database: Database) -> None:
    new = [DiscoveredModel(f"m-{i}", f"M {i}") for i in range(25)]
    upsert_discovered_models("openrouter", "text", new)
    pending = list_models(ModelFilter(provider="openrouter", status="pending"))
    assert bulk_update_models([m.id for m in pending], "enabled", actor=ADMIN) == 25
    assert bulk_update_models([m.id for m in pending], "enabled", actor=ADMIN) == 0
    assert count_models(ModelFilter(provider="openrouter", status="enabled")) == 25 + 6


def test_notes_on_models_already_in_the_status_keep_their_timestamps(database: Database) -> None:
    model = get_model_by_provider_id("openai", "gpt-4o", "text")
    assert bulk_update_models([model.id], "enabled", notes="house favourite") == 0
    after = get_model_by_provider_id("openai", "gpt-4o", "text")
    assert after.admin_notes == "house favourite"
    assert after.enabled_at == model.enabled_at
    [entry] = list_audit_entries(model="gpt-4o")
    assert (entry.action, entry.field, entry.new_value) == (
        "edit",
        "admin_notes",
        "house favourite",
    )


def test_unknown_status_provider_and_category_are_rejected(database: Database) -> None:
    model = get_model_by_provider_id("openai", "gpt-4o", "text")
    with pytest.raises(InvalidInputError, match="unknown status 'approved'"):
        update_model_status(model.id, "approved")
    with pytest.raises(InvalidInputError, match="unknown provider 'azure' for category 'text'"):
        list_models(ModelFilter(category="text", provider="azure"))
    with pytest.raises(InvalidInputError, match="unknown category"):
        list_models(ModelFilter(category="image"))
    with pytest.raises(InvalidInputError, match="not a model id"):
        update_model_status("not-a-uuid", "enabled")


def test_constraint_violations_give_a_clear_error_and_leave_data_unchanged(
    database: Database,
) -> None:
    before = _statuses(database)
    with pytest.raises(DatabaseError, match="refused"), database.write() as session:
        session.add(
            AIModel(provider="openai", category="text", model_id="gpt-4o", display_name="dup")
        )
    with pytest.raises(DatabaseError, match="refused"), database.write() as session:
        session.add(
            AIModel(
                provider="openai",
                category="text",
                model_id="x",
                display_name="x",
                status="approved",
            )
        )
    assert _statuses(database) == before


def test_a_failed_write_does_not_bump_the_change_stamp(database: Database) -> None:
    stamp = database.stamp()
    with pytest.raises(LifecycleError):
        bulk_update_models([get_model_by_provider_id("azure", "en-US-JennyNeural").id], "disabled")
    assert database.stamp() == stamp
    set_default_model("azure", "tts", "en-US-GuyNeural")
    assert database.stamp() == stamp + 1


def test_admin_edits_survive_later_discovery(database: Database) -> None:
    model = upsert_discovered_model(
        "google", "text", DiscoveredModel("gemini-x", "Gemini X", "from api")
    )
    edit_model(model.id, display_name="Our story model", admin_notes="good for kids", actor=ADMIN)
    upsert_discovered_model(
        "google", "text", DiscoveredModel("gemini-x", "Gemini X v2", "new api text", 2048)
    )
    again = get_model_by_provider_id("google", "gemini-x", "text")
    assert again.display_name == "Our story model"
    assert again.admin_notes == "good for kids"
    assert again.description == "new api text"  # not edited, so the provider's text is current
    assert again.context_window == 2048


def test_a_listing_without_context_window_keeps_the_curated_one(database: Database) -> None:
    upsert_discovered_model("openai", "text", DiscoveredModel("gpt-4.1", "GPT-4.1 (api)"))
    model = get_model_by_provider_id("openai", "gpt-4.1", "text")
    assert model.context_window == 1_047_576 and model.display_name == "GPT-4.1 (api)"


def test_search_treats_percent_and_underscore_as_plain_characters(database: Database) -> None:
    upsert_discovered_models(
        "openrouter", "text", [DiscoveredModel("a_b", "x"), DiscoveredModel("axb", "y")]
    )
    found = list_models(ModelFilter(provider="openrouter", search="a_b"))
    assert [m.model_id for m in found] == ["a_b"]
    assert list_models(ModelFilter(search="100%")) == []


def test_grid_edits_are_all_or_nothing_with_a_report_per_row(database: Database) -> None:
    gpt4o = get_model_by_provider_id("openai", "gpt-4o", "text")
    default = get_model_by_provider_id("openai", "gpt-5.4-mini", "text")
    with pytest.raises(EditsRejectedError) as rejected:
        apply_model_edits(
            [
                ModelEdit(gpt4o.id, display_name="Renamed"),
                ModelEdit(default.id, status="disabled"),
                ModelEdit(gpt4o.id, display_name="   "),
            ],
            actor=ADMIN,
        )
    assert set(rejected.value.errors) == {"openai/gpt-5.4-mini", "openai/gpt-4o"}
    assert get_model_by_provider_id("openai", "gpt-4o", "text").display_name == "GPT-4o"
    report = apply_model_edits(
        [ModelEdit(gpt4o.id, display_name="Renamed", status="disabled")], actor=ADMIN
    )
    assert report.changed == 1
    saved = get_model_by_provider_id("openai", "gpt-4o", "text")
    assert (saved.display_name, saved.status) == ("Renamed", ModelStatus.DISABLED)


def test_archive_only_deprecated_models_and_hide_them_from_lists(database: Database) -> None:
    model = get_model_by_provider_id("openai", "gpt-4o", "text")
    with pytest.raises(LifecycleError, match="only deprecated"):
        archive_model(model.id)
    update_model_status(model.id, "deprecated", actor=ADMIN)
    archive_model(model.id, actor=ADMIN)
    assert model.id not in {m.id for m in list_models(ModelFilter(provider="openai"))}
    assert model.id in {
        m.id for m in list_models(ModelFilter(provider="openai", include_archived=True))
    }
    assert get_model_by_provider_id("openai", "gpt-4o", "text").archived_at is not None


def test_successor_must_be_a_model_of_the_same_provider_and_category(database: Database) -> None:
    old = get_model_by_provider_id("openai", "gpt-4o", "text")
    with pytest.raises(ModelNotFoundError):
        set_successor(old.id, "claude-sonnet-4-6")
    with pytest.raises(InvalidInputError, match="its own successor"):
        set_successor(old.id, "gpt-4o")
    assert set_successor(old.id, "gpt-4.1").successor_model_id == "gpt-4.1"
    assert set_successor(old.id, None).successor_model_id is None


def test_a_provider_model_naming_text_and_tts_entries_needs_the_category(
    database: Database,
) -> None:
    upsert_discovered_model("openai", "tts", DiscoveredModel("gpt-4o", "tts twin"))
    with pytest.raises(AmbiguousModelError, match="give the category"):
        get_model_by_provider_id("openai", "gpt-4o")
    assert get_model_by_provider_id("openai", "gpt-4o", "tts").display_name == "tts twin"


def test_admins_are_recorded_as_users_once(database: Database) -> None:
    first = ensure_user("Admin@Example.com")
    second = ensure_user("admin@example.com")
    assert first.user_id == second.user_id and first.label == "admin@example.com"
    model = get_model_by_provider_id("openai", "gpt-4o", "text")
    assert update_model_status(model.id, "disabled", actor=first).updated_by == first.user_id
    with pytest.raises(InvalidInputError):
        ensure_user("not an email")


def test_concurrent_default_changes_and_disables_end_consistent(database: Database) -> None:
    """Two sessions race: one moves the default between two models, one disables them."""
    a = get_model_by_provider_id("anthropic", "claude-opus-4-6", "text")
    b = get_model_by_provider_id("anthropic", "claude-haiku-4-5-20251001", "text")
    errors: list[BaseException] = []

    def move_default() -> None:
        for i in range(15):
            try:
                set_default_model("anthropic", "text", [a, b][i % 2].model_id)
            except LifecycleError:
                pass
            except BaseException as exc:
                errors.append(exc)

    def toggle() -> None:
        for i in range(15):
            try:
                bulk_update_models([[a, b][i % 2].id], "disabled" if i % 4 < 2 else "enabled")
            except LifecycleError:
                pass
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=move_default), threading.Thread(target=toggle)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    default = get_default_model_for_provider("anthropic", "text")
    assert get_model_by_provider_id("anthropic", default, "text").status is ModelStatus.ENABLED


def test_concurrent_bulk_updates_do_not_deadlock_and_end_in_one_state(database: Database) -> None:
    upsert_discovered_models(
        "openrouter", "text", [DiscoveredModel(f"r{i}", f"R{i}") for i in range(60)]
    )
    ids = [m.id for m in list_models(ModelFilter(provider="openrouter", status="pending"))]
    errors: list[BaseException] = []

    def run(status: str, order: list[uuid.UUID]) -> None:
        for _ in range(5):
            try:
                bulk_update_models(order, status)
            except BaseException as exc:
                errors.append(exc)

    threads = [
        threading.Thread(target=run, args=("enabled", ids)),
        threading.Thread(target=run, args=("disabled", list(reversed(ids)))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = {m.status for m in list_models(ModelFilter(provider="openrouter")) if m.id in set(ids)}
    assert len(final) == 1  # every bulk update was atomic: no mix of the two


def test_every_write_bumps_the_change_stamp_once(database: Database) -> None:
    with database.read() as session:
        before = session.scalar(select(RegistryStamp.version))
    upsert_discovered_model("xai", "text", DiscoveredModel("grok-9", "Grok 9"))
    set_default_model("xai", "text", "grok-3")
    assert database.stamp() == (before or 0) + 2
    assert Category.TEXT.value == "text"
