"""What the main application imports and relies on: the package's names, complete JSON, and
stored stories that name a provider the registry no longer supports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import registry
from registry.db import Database
from registry.errors import InvalidInputError
from registry.resolution import (
    FallbackReason,
    ResolutionRule,
    flush_fallback_counts,
    get_ai_config,
    get_ai_config_for_story,
    get_ai_model,
    get_fallback_counts,
    get_tts_config,
    get_tts_config_for_story,
    get_tts_model,
    resolve,
)
from registry.settings import GlobalConfig, set_global_config
from registry.types import Category

README = Path(__file__).resolve().parents[1] / "README.md"


def test_resolution_rule_is_exported_beside_the_reasons() -> None:
    from registry import ResolutionRule as exported

    assert exported is ResolutionRule
    assert "ResolutionRule" in registry.__all__


def _documented_public_names() -> set[str]:
    """The names in the README's table of the public surface (first column, in backticks)."""
    lines = README.read_text(encoding="utf-8").split("### The public names", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    return {
        name
        for line in lines[start + 2 : end]
        for name in re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", line.split("|")[2])
    }


def test_the_public_surface_is_exactly_what_the_readme_documents() -> None:
    assert set(registry.__all__) == _documented_public_names()


def test_every_public_name_imports_and_discovery_internals_are_not_public() -> None:
    for name in registry.__all__:
        assert getattr(registry, name) is not None, name
    for internal in ("upsert_discovered_models", "DiscoveredModel", "CURATED", "list_model_ids"):
        assert internal not in registry.__all__
        with pytest.raises(AttributeError):
            getattr(registry, internal)


def test_config_json_carries_temperature_and_max_tokens(sqlite_database: Database) -> None:
    set_global_config("text", "openai", "gpt-4o", temperature=0.3, max_tokens=1234)
    story = get_ai_config_for_story("openai", "gpt-4.1", 1.1).to_json()
    assert story["temperature"] == 1.1
    assert story["max_tokens"] == 1234
    assert story["model_id"] == "gpt-4.1"
    assert get_ai_config().to_json() | {"temperature": 0.3} == get_ai_config().to_json()


def test_speech_config_json_has_no_generation_parameters(sqlite_database: Database) -> None:
    answer = get_tts_config().to_json()
    assert "temperature" not in answer and "max_tokens" not in answer
    assert set(answer) == {"provider", "model_id", "requested", "fallback", "reason"}


def test_a_model_answer_keeps_the_documented_json_shape(sqlite_database: Database) -> None:
    assert set(get_ai_model().to_json()) == {
        "provider",
        "model_id",
        "requested",
        "fallback",
        "reason",
    }


@pytest.mark.parametrize(
    ("story_provider", "story_model"),
    [("cohere", "command-r"), ("elevenlabs", "some-voice"), ("  ", None), ("cohere", None)],
)
def test_a_stored_story_of_an_unsupported_provider_gets_the_global_config(
    sqlite_database: Database, story_provider: str, story_model: str | None
) -> None:
    set_global_config("text", "anthropic", "claude-sonnet-4-6", temperature=0.2)
    answer = get_ai_config_for_story(story_provider, story_model, 0.9)
    assert answer.display_id == "anthropic/claude-sonnet-4-6"
    assert answer.temperature == 0.9
    if story_provider.strip():
        assert answer.fallback is True
        assert answer.reason is FallbackReason.UNSUPPORTED_PROVIDER
        assert answer.rule is ResolutionRule.GLOBAL_CONFIG
        assert answer.requested == story_model
        assert "not supported" in answer.describe()
    else:  # no provider at all: the global config, as documented (not a fallback)
        assert answer.fallback is False


def test_a_stored_speech_story_of_an_unsupported_provider_gets_the_global_voice(
    sqlite_database: Database,
) -> None:
    answer = get_tts_config_for_story("anthropic", "claude-voice")
    assert answer.display_id == get_tts_model().display_id
    assert answer.reason is FallbackReason.UNSUPPORTED_PROVIDER
    assert answer.to_json()["reason"] == "unsupported_provider"


def test_an_unsupported_provider_from_stored_data_is_shown_inert(
    sqlite_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="registry.resolution"):
        answer = get_ai_config_for_story("evil\nINFO forged line\x1b[2J", "m")
    assert answer.reason is FallbackReason.UNSUPPORTED_PROVIDER
    line = answer.describe()
    assert "\n" not in line and "\x1b" not in line
    assert all("\n" not in r.getMessage() for r in caplog.records)


def test_a_literal_unsupported_provider_from_the_caller_still_raises(
    sqlite_database: Database,
) -> None:
    with pytest.raises(InvalidInputError, match="cohere"):
        resolve("text", "cohere", "command-r")
    with pytest.raises(InvalidInputError, match="cohere"):
        get_ai_model(config_override={"provider": "cohere", "model": "command-r"})
    with pytest.raises(InvalidInputError, match="elevenlabs"):
        get_ai_model(config_override=GlobalConfig(Category.TEXT, "elevenlabs", "voice"))


def test_fallbacks_for_unsupported_providers_are_counted_on_both_backends(
    database: Database,
) -> None:
    long_gone = "a-provider-name-far-longer-than-the-column-allows-" * 3
    for provider in ("cohere", long_gone, "nul\x00provider"):
        assert get_ai_config_for_story(provider, "m").reason is FallbackReason.UNSUPPORTED_PROVIDER
    assert flush_fallback_counts() == 3
    rows = get_fallback_counts()
    assert {r.reason for r in rows} == {"unsupported_provider"}
    assert "cohere" in {r.requested_provider for r in rows}
