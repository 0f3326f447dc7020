"""The OpenAI adapter against a stand-in `/v1/models`, driven through the real `openai` SDK."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from registry.standin import openai as standin
from registry.standin.server import StandInServer
from registry.types import Category

from .adapter_cases import ADAPTERS, KEY, AdapterCase, recorded

OPENAI = ADAPTERS["openai"]


@pytest.fixture
def adapter() -> AdapterCase:
    return OPENAI


def _entry(model_id: str, owned_by: str = "system", **extra: Any) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 1721172741, "owned_by": owned_by, **extra}


LISTING: dict[str, Any] = {
    "object": "list",
    "data": [
        _entry("gpt-4o-mini"),
        _entry("gpt-4o-mini-2024-07-18"),
        _entry("o3-mini"),
        _entry("gpt-3.5-turbo-instruct"),
        _entry("gpt-4o-search-preview"),
        _entry("ft:gpt-4o-mini-2024-07-18:acme:stories:9UhSsUFR", owned_by="user-abc"),
        _entry("text-embedding-3-small"),
        _entry("omni-moderation-latest"),
        _entry("dall-e-3"),
        _entry("gpt-image-1"),
        _entry("sora-2"),
        _entry("whisper-1", owned_by="openai-internal"),
        _entry("gpt-4o-transcribe"),
        _entry("gpt-realtime"),
        _entry("gpt-4o-audio-preview"),
        _entry("tts-1", owned_by="openai-internal"),
        _entry("tts-1-hd"),
        _entry("gpt-4o-mini-tts"),
        _entry("gpt-4o-mini-tts-2025-12-15"),
        _entry("gpt-4o-mini", owned_by="system-duplicate"),
        _entry("babbage-002", shutdown_date="2026-10-28"),
    ],
}
TEXT_IDS = [
    "gpt-4o-mini",
    "gpt-4o-mini-2024-07-18",
    "o3-mini",
    "gpt-3.5-turbo-instruct",
    "gpt-4o-search-preview",
    "ft:gpt-4o-mini-2024-07-18:acme:stories:9UhSsUFR",
    "babbage-002",
]
TTS_IDS = ["tts-1", "tts-1-hd", "gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-12-15"]


def _list(category: Category) -> list[str]:
    return [m.model_id for m in OPENAI.list_models(category).models]


def test_openai_text_listing_keeps_only_text_generators(server: StandInServer) -> None:
    standin.install(server, LISTING)
    assert _list(Category.TEXT) == TEXT_IDS


def test_openai_tts_listing_keeps_only_speech_models(server: StandInServer) -> None:
    standin.install(server, LISTING)
    assert _list(Category.TTS) == TTS_IDS


@pytest.mark.parametrize(
    "model_id",
    [
        "text-embedding-3-small",
        "omni-moderation-latest",
        "dall-e-3",
        "gpt-image-1",
        "sora-2",
        "whisper-1",
        "gpt-4o-transcribe",
        "gpt-realtime",
        "gpt-4o-audio-preview",
        "gpt-4o-mini-tts",
    ],
)
def test_openai_non_text_models_are_not_listed_as_text(
    server: StandInServer, model_id: str
) -> None:
    standin.install(server, LISTING)
    assert model_id not in _list(Category.TEXT)


def test_openai_listing_sends_the_key_as_bearer_to_the_real_path(server: StandInServer) -> None:
    standin.install(server, LISTING)
    _list(Category.TEXT)
    (request,) = server.requests
    assert request.path == "/v1/models"
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_openai_entries_are_normalised_and_keep_the_raw_entry(server: StandInServer) -> None:
    standin.install(server, LISTING)
    listing = OPENAI.list_models(Category.TEXT)
    by_id = {m.model_id: m for m in listing.models}
    mini = by_id["gpt-4o-mini-2024-07-18"]
    assert mini.display_name == "GPT-4o Mini (2024-07-18)"
    assert mini.context_window is None and mini.description is None
    assert mini.supports_streaming is True
    assert mini.metadata == _entry("gpt-4o-mini-2024-07-18")
    json.dumps(mini.metadata)  # stored as JSON
    assert by_id["babbage-002"].retires_at == datetime(2026, 10, 28, tzinfo=UTC)
    assert by_id["ft:gpt-4o-mini-2024-07-18:acme:stories:9UhSsUFR"].display_name.startswith(
        "Fine-tuned GPT-4o Mini"
    )
    assert listing.complete and listing.pages == 1


def test_openai_repeated_ids_keep_the_first_entry(server: StandInServer) -> None:
    standin.install(server, LISTING)
    listing = OPENAI.list_models(Category.TEXT)
    minis = [m for m in listing.models if m.model_id == "gpt-4o-mini"]
    assert len(minis) == 1 and minis[0].metadata["owned_by"] == "system"


def test_openai_bare_data_array_is_served_in_its_envelope(server: StandInServer) -> None:
    standin.install(server, LISTING["data"])
    assert _list(Category.TTS) == TTS_IDS


def test_openai_stand_in_rejects_requests_without_a_key(server: StandInServer) -> None:
    standin.install(server, LISTING)
    answer = httpx.get(f"{server.origin}/v1/models")
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("fixture", "text_count", "tts_count"),
    [("openai_models.json", 56, 5), ("openai_models_data_2026-04.json", 72, 7)],
)
def test_openai_recorded_listings_split_into_text_and_tts(
    server: StandInServer, fixture: str, text_count: int, tts_count: int
) -> None:
    standin.install(server, recorded(fixture))
    text = _list(Category.TEXT)
    tts = _list(Category.TTS)
    # Counted by reading the files: of 82 entries, 56 generate text (including 6 fine-tunes
    # and the search/instruct models), 5 are TTS and 21 are realtime, audio-chat, image,
    # embedding, moderation or transcription models; of 122, 72 text, 7 TTS, 43 other (the
    # two deep-research models among them: they refuse a request without a search tool).
    assert len(text) == text_count
    assert len(tts) == tts_count
    assert not set(text) & set(tts)
    assert "gpt-4o-realtime-preview" not in text and "whisper-1" not in text
    assert {"tts-1", "tts-1-hd", "gpt-4o-mini-tts"} <= set(tts)
