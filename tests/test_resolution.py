"""Resolution: the application always gets a working model, with the reason, on both backends."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from registry.audit import SYSTEM
from registry.catalog import CURATED
from registry.cli import main as cli_main
from registry.db import Database, set_database
from registry.errors import InvalidInputError, ModelNotEnabledError, NoAvailableModelError
from registry.keeper import SnapshotKeeper
from registry.keys import set_api_key
from registry.migrate import upgrade as migrate_database
from registry.resolution import (
    FallbackReason,
    ResolutionRule,
    ResolvedConfig,
    flush_fallback_counts,
    get_ai_config,
    get_ai_config_for_story,
    get_ai_model,
    get_fallback_counts,
    get_provider_status,
    get_tts_config,
    get_tts_config_for_story,
    get_tts_model,
    preview_resolve,
    resolve,
    snapshot_summary,
)
from registry.schema import AIModel, DiscoveryState, RegistryStamp, utcnow
from registry.settings import GlobalConfig, set_global_config
from registry.snapshot import load_snapshot
from registry.store import (
    get_model_by_provider_id,
    set_default_model,
    set_successor,
    update_model_status,
    upsert_discovered_model,
    upsert_setting,
)
from registry.types import Category, DiscoveredModel

OPENAI_DEFAULT = CURATED[(Category.TEXT, "openai")].default  # gpt-5.4-mini
ANTHROPIC_DEFAULT = CURATED[(Category.TEXT, "anthropic")].default
OPENAI_TTS_DEFAULT = CURATED[(Category.TTS, "openai")].default


def _set_status(provider: str, model_id: str, status: str, category: str = "text") -> None:
    update_model_status(get_model_by_provider_id(provider, model_id, category).id, status)


def _retire_behind_the_rules(db: Database, provider: str, model_id: str, status: str) -> None:
    """What discovery does when a provider stops listing its default: no lifecycle check."""
    with db.write() as session:
        session.execute(
            update(AIModel)
            .where(AIModel.provider == provider, AIModel.model_id == model_id)
            .values(status=status)
        )


def _stamp(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(RegistryStamp.version)) or 0)


# --- the rules -------------------------------------------------------------------------------


def test_enabled_model_resolves_to_itself(database: Database) -> None:
    answer = resolve("text", "openai", "gpt-4o")
    assert (answer.provider, answer.model_id, answer.requested) == ("openai", "gpt-4o", "gpt-4o")
    assert answer.fallback is False and answer.reason is None
    assert answer.rule is ResolutionRule.REQUESTED
    assert answer.display_id == "openai/gpt-4o"


def test_approving_a_pending_model_makes_it_resolve_to_itself(database: Database) -> None:
    upsert_discovered_model("openai", "text", DiscoveredModel("gpt-9", "GPT-9"))
    before = resolve("text", "openai", "gpt-9")
    assert (before.model_id, before.fallback, before.reason) == (
        OPENAI_DEFAULT,
        True,
        FallbackReason.PENDING,
    )
    _set_status("openai", "gpt-9", "enabled")
    after = resolve("text", "openai", "gpt-9")
    assert (after.model_id, after.fallback, after.reason) == ("gpt-9", False, None)


def test_deprecated_story_model_falls_back_to_default(database: Database) -> None:
    _set_status("openai", "gpt-4o", "deprecated")
    cfg = get_ai_config_for_story("openai", "gpt-4o", 0.3)
    assert isinstance(cfg, ResolvedConfig)
    assert (cfg.provider, cfg.model_id) == ("openai", OPENAI_DEFAULT)
    assert (cfg.requested_provider, cfg.requested) == ("openai", "gpt-4o")
    assert cfg.fallback is True and cfg.reason is FallbackReason.DEPRECATED
    assert cfg.reason == "deprecated"  # a plain, stable string too
    assert cfg.rule is ResolutionRule.PROVIDER_DEFAULT
    assert cfg.temperature == 0.3 and cfg.max_tokens == 4096
    assert cfg.describe() == (
        "text model openai/gpt-4o is deprecated; using the provider default openai/gpt-5.4-mini"
    )


def test_unknown_and_disabled_models_fall_back_with_their_reason(database: Database) -> None:
    _set_status("openai", "gpt-4o", "disabled")
    disabled = resolve("text", "openai", "gpt-4o")
    unknown = resolve("text", "openai", "gpt-2")
    assert (disabled.model_id, disabled.reason) == (OPENAI_DEFAULT, FallbackReason.DISABLED)
    assert (unknown.model_id, unknown.reason) == (OPENAI_DEFAULT, FallbackReason.NOT_FOUND)


def test_provider_default_is_used_when_the_provider_is_activated(database: Database) -> None:
    set_default_model("anthropic", "text", "claude-opus-4-6")
    # A story switched to the provider without naming a model: its default, not a fallback.
    chosen = get_ai_config_for_story("anthropic", None, None)
    assert (chosen.model_id, chosen.fallback, chosen.rule) == (
        "claude-opus-4-6",
        False,
        ResolutionRule.PROVIDER_DEFAULT,
    )
    # A model the provider does not know: the new default too.
    stale = get_ai_config_for_story("anthropic", "claude-2.1", None)
    assert (stale.model_id, stale.reason) == ("claude-opus-4-6", FallbackReason.NOT_FOUND)
    # The application switched its config to the provider.
    assert get_ai_model(config_override={"provider": "anthropic"}).model_id == "claude-opus-4-6"
    set_global_config("text", "anthropic", "claude-haiku-4-5-20251001")
    assert get_ai_model().model_id == "claude-haiku-4-5-20251001"


def test_override_naming_a_pending_or_disabled_model_raises(database: Database) -> None:
    upsert_discovered_model("openai", "text", DiscoveredModel("gpt-9", "GPT-9"))
    with pytest.raises(ModelNotEnabledError, match=r"openai/gpt-9 is pending"):
        get_ai_model(model_override="gpt-9")
    _set_status("openai", "gpt-4o", "disabled")
    with pytest.raises(ModelNotEnabledError, match=r"openai/gpt-4o is disabled"):
        get_ai_model(config_override=GlobalConfig(Category.TEXT, "openai", "gpt-4o"))
    upsert_discovered_model("elevenlabs", "tts", DiscoveredModel("voice-x", "Voice X"))
    with pytest.raises(ModelNotEnabledError):
        get_tts_model(config_override={"provider": "elevenlabs", "model": "voice-x"})
    # An enabled override is used as is; a deprecated one falls back like any other request.
    assert get_ai_model(model_override="gpt-4.1").model_id == "gpt-4.1"
    _set_status("openai", "gpt-4.1", "deprecated")
    deprecated = get_ai_model(model_override="gpt-4.1")
    assert (deprecated.model_id, deprecated.reason) == (OPENAI_DEFAULT, FallbackReason.DEPRECATED)


def test_deprecated_default_falls_back_to_the_curated_default(database: Database) -> None:
    set_default_model("openai", "text", "gpt-4.1")
    _retire_behind_the_rules(database, "openai", "gpt-4.1", "deprecated")
    answer = resolve("text", "openai", "gpt-2")
    assert (answer.model_id, answer.reason, answer.rule) == (
        OPENAI_DEFAULT,
        FallbackReason.NOT_FOUND,
        ResolutionRule.CURATED_DEFAULT,
    )


def test_disabled_curated_default_is_skipped_and_a_story_gets_the_global_config(
    database: Database,
) -> None:
    set_default_model("anthropic", "text", "claude-opus-4-6")
    _set_status("anthropic", ANTHROPIC_DEFAULT, "disabled")
    _retire_behind_the_rules(database, "anthropic", "claude-opus-4-6", "deprecated")
    _set_status("anthropic", "claude-opus-4-5-20251101", "deprecated")

    story = get_ai_config_for_story("anthropic", "claude-opus-4-5-20251101", 1.1)
    assert (story.provider, story.model_id) == ("openai", OPENAI_DEFAULT)
    assert (story.requested_provider, story.requested) == ("anthropic", "claude-opus-4-5-20251101")
    assert story.reason is FallbackReason.DEPRECATED
    assert story.rule is ResolutionRule.GLOBAL_CONFIG
    assert story.temperature == 1.1

    no_model = get_ai_config_for_story("anthropic", None, None)
    assert no_model.reason is FallbackReason.PROVIDER_UNAVAILABLE and no_model.fallback

    # Outside a story there is no global-config step: a clear error naming what was tried.
    with pytest.raises(NoAvailableModelError) as error:
        resolve("text", "anthropic", "claude-opus-4-5-20251101")
    message = str(error.value)
    assert "anthropic/claude-opus-4-6 is deprecated" in message
    assert f"anthropic/{ANTHROPIC_DEFAULT} is disabled" in message


def test_successor_is_preferred_to_the_provider_default(database: Database) -> None:
    retired = get_model_by_provider_id("openai", "gpt-4o", "text")
    _set_status("openai", "gpt-4o", "deprecated")
    set_successor(retired.id, "gpt-4.1")
    answer = resolve("text", "openai", "gpt-4o")
    assert (answer.model_id, answer.reason, answer.rule) == (
        "gpt-4.1",
        FallbackReason.DEPRECATED,
        ResolutionRule.SUCCESSOR,
    )
    assert answer.describe().endswith("using its successor openai/gpt-4.1")
    # Successors chain through deprecated models to the first enabled one.
    _set_status("openai", "gpt-4.1", "deprecated")
    set_successor(get_model_by_provider_id("openai", "gpt-4.1", "text").id, "gpt-5")
    assert resolve("text", "openai", "gpt-4o").model_id == "gpt-5"
    # A successor that is not enabled is skipped: the provider default serves.
    _set_status("openai", "gpt-5", "disabled")
    assert resolve("text", "openai", "gpt-4o").rule is ResolutionRule.PROVIDER_DEFAULT


def test_dashboard_shows_what_every_deprecated_model_falls_back_to(database: Database) -> None:
    _set_status("openai", "gpt-4o", "deprecated")
    _set_status("openai", "gpt-4o-mini", "deprecated")
    set_successor(get_model_by_provider_id("openai", "gpt-4o", "text").id, "gpt-4.1")
    status = get_provider_status("openai", "text")
    assert status.deprecated_fallbacks == {
        "gpt-4o": "openai/gpt-4.1",
        "gpt-4o-mini": f"openai/{OPENAI_DEFAULT}",
    }
    # The preview gives the same answer without counting it as application usage.
    assert preview_resolve("text", "openai", "gpt-4o").display_id == "openai/gpt-4.1"
    assert get_fallback_counts() == []


# --- configs -----------------------------------------------------------------------------


def test_global_config_is_checked_against_the_catalog(database: Database) -> None:
    set_global_config("text", "openai", "gpt-4o", temperature=0.2, max_tokens=1000)
    config = get_ai_config()
    assert (config.model_id, config.fallback, config.temperature, config.max_tokens) == (
        "gpt-4o",
        False,
        0.2,
        1000,
    )
    _set_status("openai", "gpt-4o", "disabled")  # an admin disables the configured model
    model = get_ai_model()
    assert (model.model_id, model.reason) == (OPENAI_DEFAULT, FallbackReason.DISABLED)
    assert get_ai_config().model_id == OPENAI_DEFAULT


def test_unreadable_global_config_falls_back_to_the_built_in_one(database: Database) -> None:
    with database.write() as session:
        upsert_setting(session, "ai.provider", "cohere", SYSTEM, utcnow())
        upsert_setting(session, "ai.temperature", "warm", SYSTEM, utcnow())
    config = get_ai_config()
    assert (config.provider, config.model_id) == ("openai", OPENAI_DEFAULT)
    assert config.reason is FallbackReason.NOT_CONFIGURED and config.temperature == 0.7


def test_story_temperature_is_used_when_valid_else_the_global_one(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    set_global_config("text", "openai", "gpt-4o", temperature=0.9, max_tokens=2048)
    assert get_ai_config_for_story("openai", "gpt-4o", 1.5).temperature == 1.5
    assert get_ai_config_for_story("openai", "gpt-4o", None).temperature == 0.9
    with caplog.at_level(logging.WARNING, logger="registry"):
        out_of_range = get_ai_config_for_story("openai", "gpt-4o", 7)
    assert (out_of_range.temperature, out_of_range.max_tokens) == (0.9, 2048)
    assert "temperature must be between 0 and 2" in caplog.text
    # A story without a provider uses the global config, with its own temperature.
    plain = get_ai_config_for_story(None, None, 0.1)
    assert (plain.model_id, plain.fallback, plain.temperature) == ("gpt-4o", False, 0.1)


def test_tts_mirrors_text(database: Database) -> None:
    assert get_tts_model().model_id == OPENAI_TTS_DEFAULT
    config = get_tts_config()
    assert (config.temperature, config.max_tokens) == (None, None)
    _set_status("elevenlabs", "EXAVITQu4vr4xnSDxMaL", "deprecated", "tts")
    story = get_tts_config_for_story("elevenlabs", "EXAVITQu4vr4xnSDxMaL")
    assert (story.category, story.model_id, story.reason) == (
        Category.TTS,
        CURATED[(Category.TTS, "elevenlabs")].default,
        FallbackReason.DEPRECATED,
    )
    assert resolve(Category.TTS, "azure", "en-US-GuyNeural").fallback is False


def test_caller_mistakes_raise_invalid_input(database: Database) -> None:
    with pytest.raises(InvalidInputError, match="unknown category"):
        resolve("video", "openai", "gpt-4o")
    with pytest.raises(InvalidInputError, match="unknown provider 'elevenlabs'"):
        resolve("text", "elevenlabs", "x")
    with pytest.raises(InvalidInputError, match="unknown provider"):
        get_ai_model(config_override={"provider": "cohere", "model": "command-r"})
    with pytest.raises(InvalidInputError, match="without its provider"):
        get_ai_config_for_story(None, "gpt-4o", None)
    with pytest.raises(InvalidInputError):
        get_ai_model(config_override=GlobalConfig(Category.TTS, "openai", "tts-1"))
    with pytest.raises(InvalidInputError):
        resolve("text", "openai", ["gpt-4o"])  # type: ignore[arg-type]


# --- fallback usage ------------------------------------------------------------------------


def test_fallbacks_are_logged_once_per_interval_and_counted(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    _set_status("openai", "gpt-4o", "deprecated")
    with caplog.at_level(logging.WARNING, logger="registry.resolution"):
        for _ in range(40):
            resolve("text", "openai", "gpt-4o")
        for _ in range(2):
            get_ai_config_for_story("openai", "gpt-4o", None)
        resolve("text", "openai", "gpt-3")
        resolve("text", "openai", "gpt-4.1")  # enabled: neither logged nor counted
    lines = [r.getMessage() for r in caplog.records if r.name == "registry.resolution"]
    assert lines == [
        "model registry: text model openai/gpt-4o is deprecated; using the provider default "
        f"openai/{OPENAI_DEFAULT}",
        "model registry: text model openai/gpt-3 is not in the catalog; using the provider "
        f"default openai/{OPENAI_DEFAULT}",
    ]
    assert flush_fallback_counts() == 2
    counts = {(c.requested_display, c.reason): c for c in get_fallback_counts()}
    assert set(counts) == {("openai/gpt-4o", "deprecated"), ("openai/gpt-3", "not_found")}
    usage = counts[("openai/gpt-4o", "deprecated")]
    assert (usage.count, usage.resolved_display, usage.day) == (
        42,
        f"openai/{OPENAI_DEFAULT}",
        datetime.now(UTC).date(),
    )
    # Later flushes add to the same day's row.
    resolve("text", "openai", "gpt-4o")
    flush_fallback_counts()
    assert {c.requested_model: c.count for c in get_fallback_counts()}["gpt-4o"] == 43


def test_flushing_fallback_counts_does_not_bump_the_change_stamp(database: Database) -> None:
    _set_status("openai", "gpt-4o", "deprecated")
    resolve("text", "openai", "gpt-4o")
    before = _stamp(database)
    assert flush_fallback_counts() == 1
    assert _stamp(database) == before


# --- snapshot behaviour ----------------------------------------------------------------------


def test_change_by_any_writer_in_this_process_is_seen_by_the_next_call(database: Database) -> None:
    assert resolve("text", "openai", "gpt-4o").fallback is False
    _retire_behind_the_rules(database, "openai", "gpt-4o", "disabled")
    assert resolve("text", "openai", "gpt-4o").reason is FallbackReason.DISABLED
    assert snapshot_summary().version == _stamp(database)


def test_snapshot_follows_set_database(
    sqlite_database: Database, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _set_status("openai", "gpt-4o", "disabled")
    assert resolve("text", "openai", "gpt-4o").fallback is True
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    request.addfinalizer(other.dispose)
    migrate_database(other)
    set_database(other)
    assert resolve("text", "openai", "gpt-4o").fallback is False
    set_database(sqlite_database)
    assert resolve("text", "openai", "gpt-4o").fallback is True


def test_a_read_that_began_earlier_never_replaces_a_newer_snapshot(database: Database) -> None:
    """The listener's reload for an earlier change can finish after the reload a caller made
    for its own write; the caller's change must stay visible (seen once in CI as a lookup that
    answered from before the caller's last write)."""
    keeper = SnapshotKeeper(database)
    earlier = load_snapshot(database)  # the listener's read, begun before the write
    _set_status("openai", "gpt-4o", "disabled")
    later = load_snapshot(database)  # the caller's read for its own write
    keeper._install(later)
    keeper._install(earlier)  # the listener finishes last
    assert keeper.snapshot is later
    assert keeper.snapshot.status("text", "openai", "gpt-4o") == "disabled"


def test_lookups_stay_consistent_while_admins_write(database: Database) -> None:
    failures: list[BaseException] = []
    seen: set[str] = set()
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                answer = resolve("text", "openai", "gpt-4o")
                assert answer.model_id in {"gpt-4o", OPENAI_DEFAULT}
                assert answer.fallback is (answer.model_id != "gpt-4o")
                seen.add(answer.model_id)
                time.sleep(0)  # like an application thread doing other work
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for status in ["disabled", "enabled"] * 5:
            _set_status("openai", "gpt-4o", status)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert seen == {"gpt-4o", OPENAI_DEFAULT}
    assert resolve("text", "openai", "gpt-4o").fallback is False


# --- provider status and CLI ---------------------------------------------------------------


def test_provider_status_has_what_the_provider_card_shows(database: Database) -> None:
    upsert_discovered_model("openai", "text", DiscoveredModel("gpt-9", "GPT-9"))
    upsert_discovered_model("openai", "text", DiscoveredModel("gpt-10", "GPT-10"))
    _set_status("openai", "gpt-4o", "disabled")
    set_api_key("openai", "sk-test-0123456789abcdef")
    finished = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    with database.write() as session:
        session.add(
            DiscoveryState(
                provider="openai",
                category="text",
                last_attempt_at=finished,
                last_success_at=finished,
                outcome="ok",
                errors=[],
            )
        )
    status = get_provider_status("openai", "text")
    assert status.pending_count == 2 and status.disabled_count == 1
    assert "gpt-4o" not in status.enabled_models and OPENAI_DEFAULT in status.enabled_models
    assert status.default_model == status.effective_default == OPENAI_DEFAULT
    assert (status.last_refresh, status.last_outcome) == (finished, "ok")
    assert (status.key_configured, status.key_source, status.key_masked) == (
        True,
        "stored",
        "…cdef",
    )
    never = get_provider_status("mistral", "text")
    assert (never.last_refresh, never.key_configured, never.pending_count) == (None, False, 0)


def test_cli_resolve_prints_the_documented_json(
    sqlite_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _set_status("openai", "gpt-4o", "deprecated")
    args = ["resolve", "--category", "text", "--provider", "openai", "--model", "gpt-4o"]
    assert cli_main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "provider": "openai",
        "model_id": OPENAI_DEFAULT,
        "requested": "gpt-4o",
        "fallback": True,
        "reason": "deprecated",
        "temperature": 0.7,  # the global parameters a story would be generated with
        "max_tokens": 4096,
    }
    assert cli_main(args) == 0
    assert "is deprecated; using the provider default" in capsys.readouterr().out
    bad = ["resolve", "--category", "text", "--provider", "cohere", "--model", "x"]
    assert cli_main(bad) == 1
    assert capsys.readouterr().err.startswith("error: unknown provider 'cohere'")
    assert get_fallback_counts() == []  # the CLI's answers are not application usage
