"""Discovery over the providers' real recorded listings (../shared), served by stand-ins.

Skipped when ../shared is absent; in CI it is present. Counts are those the recordings hold
(see shared/fixtures/providers/SOURCES.md), after each provider's classification rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from registry.db import Database
from registry.demo import StandInProviders
from registry.discovery import discover_models
from registry.store import ModelFilter, count_models, get_model_by_provider_id
from registry.types import ModelStatus
from tests.conftest import SHARED_FIXTURES

pytestmark = pytest.mark.skipif(
    not SHARED_FIXTURES.is_dir(), reason="../shared/fixtures/providers is not present"
)


def recorded(name: str) -> Any:
    return json.loads((SHARED_FIXTURES / name).read_text(encoding="utf-8-sig"))


RECORDED = {
    "openai": "openai_models.json",
    "google": "gemini_models.json",
    "google_tts": "google_tts_voices.json",
    "anthropic": "anthropic_models_2025-05.json",
    "mistral": "mistral_models.json",
    "xai": "xai_models.json",
    "openrouter": "openrouter_models.json",
    "elevenlabs": "elevenlabs_voices_2025-04.json",
    "azure": "azure_voices.json",
}


@pytest.fixture
def recorded_providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInProviders]:
    bodies = {name: recorded(file) for name, file in RECORDED.items()}
    with StandInProviders(bodies) as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        yield standins


def test_recorded_text_listings_are_classified_and_ingested(
    database: Database, recorded_providers: StandInProviders
) -> None:
    report = discover_models("text")
    assert report.total_errors == 0, report.to_json()
    listed = {r.provider: r.discovered for r in report.results}
    assert listed == {
        "openai": 56,
        "google": 24,
        "anthropic": 11,
        "mistral": 40,
        "xai": 11,
        "openrouter": 414,
    }
    assert count_models(ModelFilter(provider="openrouter", category="text")) >= 414
    gemini = get_model_by_provider_id("google", "gemini-2.5-flash", "text")
    assert gemini.context_window == 1_048_576 and gemini.status is ModelStatus.ENABLED


def test_recorded_tts_listings_are_classified_and_ingested(
    database: Database, recorded_providers: StandInProviders
) -> None:
    report = discover_models("tts")
    assert report.total_errors == 0, report.to_json()
    listed = {r.provider: r.discovered for r in report.results}
    assert listed == {"openai": 5, "google": 2 + 2006, "elevenlabs": 28, "azure": 600}
    jenny = get_model_by_provider_id("azure", "en-US-JennyNeural", "tts")
    assert jenny.status is ModelStatus.ENABLED and jenny.provider_metadata
    assert jenny.provider_metadata["Locale"] == "en-US"


def test_a_year_of_provider_changes_deprecates_what_was_dropped(
    database: Database, recorded_providers: StandInProviders
) -> None:
    """May 2025 → April 2026 for OpenAI; 2025 → 2026 for Anthropic and ElevenLabs."""
    discover_models("text", ["openai", "anthropic"])
    discover_models("tts", ["elevenlabs"])
    recorded_providers.serve("openai", recorded("openai_models_data_2026-04.json"))
    recorded_providers.serve("anthropic", recorded("anthropic_models.json"))
    recorded_providers.serve("elevenlabs", recorded("elevenlabs_voices.json"))
    text = {
        r.provider: r for r in discover_models("text", ["openai", "anthropic"], force=True).results
    }
    tts = discover_models("tts", ["elevenlabs"], force=True).results[0]

    openai = text["openai"]
    assert "o1-preview" in openai.deprecated and "gpt-5.4-nano" in openai.new
    assert get_model_by_provider_id("openai", "o1-preview", "text").status is ModelStatus.DEPRECATED
    assert get_model_by_provider_id("openai", "gpt-4o", "text").status is ModelStatus.ENABLED
    # Nine of Anthropic's eleven 2025 models are gone: too many to trust, so nothing retires.
    anthropic = text["anthropic"]
    assert anthropic.deprecated == []
    assert any("would deprecate 9 of 11" in w for w in anthropic.warnings), anthropic.warnings
    assert tts.errors == [] and len(tts.deprecated) == 8
