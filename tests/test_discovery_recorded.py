"""Discovery over the providers' real recorded listings (../shared), served by stand-ins.

Skipped when ../shared is absent; in CI it is present. Counts are those the recordings hold
(see shared/fixtures/providers/SOURCES.md), after each provider's classification rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from registry.db import Database, get_database
from registry.demo import StandInProviders
from registry.discovery import discover_models
from registry.schema import AIModel
from registry.store import ModelFilter, count_models, get_model_by_provider_id, list_models
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
        "google": 21,
        "anthropic": 11,
        "mistral": 40,
        "xai": 11,
        "openrouter": 398,
    }
    assert count_models(ModelFilter(provider="openrouter", category="text")) >= 398
    gemini = get_model_by_provider_id("google", "gemini-2.5-flash-lite", "text")
    assert gemini.context_window == 1_048_576 and gemini.status is ModelStatus.ENABLED
    _assert_recorded_metadata()


def _assert_recorded_metadata() -> None:
    """The normalized metadata of a few real entries, as the recordings state it."""
    gemini = get_model_by_provider_id("google", "gemini-2.5-flash-lite", "text")
    assert gemini.max_output_tokens == 65_536 and gemini.capabilities == ["reasoning"]
    assert get_model_by_provider_id("google", "gemini-2.0-flash", "text").capabilities is None
    gpt4o = get_model_by_provider_id("openrouter", "openai/gpt-4o", "text")
    assert (gpt4o.input_price_per_mtok, gpt4o.output_price_per_mtok) == (2.5, 10.0)
    assert gpt4o.max_output_tokens == 16_384
    assert gpt4o.capabilities == ["vision", "tools", "structured_output"]
    assert gpt4o.metadata_sources and gpt4o.metadata_sources["input_price_per_mtok"] == "listing"
    flash = get_model_by_provider_id("openrouter", "google/gemini-2.5-flash", "text")
    assert flash.capabilities == [
        "vision",
        "audio_input",
        "tools",
        "structured_output",
        "reasoning",
    ]
    # The router's "-1" means "depends on the model it picks": no price, not a negative one.
    router = get_model_by_provider_id("openrouter", "openrouter/auto", "text")
    assert router.input_price_per_mtok is None and router.output_price_per_mtok is None
    large = get_model_by_provider_id("mistral", "mistral-large-latest", "text")
    assert large.capabilities == ["vision", "tools"] and large.replacement_model_id is None
    # The May 2025 recording predates Anthropic's capabilities and max_tokens: unknown.
    opus = get_model_by_provider_id("anthropic", "claude-opus-4-20250514", "text")
    assert opus.capabilities is None and opus.max_output_tokens is None
    with get_database().read() as session:
        priced = session.scalar(
            select(func.count()).where(
                AIModel.provider == "openrouter", AIModel.input_price_per_mtok.is_not(None)
            )
        )
    assert priced == 393  # all 398 but the five routers (auto, auto-beta, fusion, pareto-code …)


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
    # Nine of Anthropic's eleven 2025 models are gone, all still pending: never approved,
    # nothing serves them, so they retire whatever the share; the approved ones stay.
    anthropic = text["anthropic"]
    assert len(anthropic.deprecated) == 9 and "claude-2.0" in anthropic.deprecated
    assert anthropic.held_back == [] and not anthropic.warnings, anthropic.warnings
    enabled = ModelFilter(provider="anthropic", status=ModelStatus.ENABLED)
    assert "claude-opus-4-6" in {m.model_id for m in list_models(enabled)}
    assert tts.errors == [] and len(tts.deprecated) == 8
