"""The Mistral adapter against a stand-in `/v1/models`, driven through the `mistralai` SDK."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from registry.standin import mistral as standin
from registry.standin.server import StandInServer

from .adapter_cases import ADAPTERS, KEY, AdapterCase, recorded

MISTRAL = ADAPTERS["mistral"]


@pytest.fixture
def adapter() -> AdapterCase:
    return MISTRAL


FLAGS = (
    "completion_chat",
    "function_calling",
    "completion_fim",
    "fine_tuning",
    "vision",
    "ocr",
    "classification",
    "moderation",
    "audio",
    "audio_transcription",
)


def _entry(model_id: str, *on: str, name: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": 1772778306,
        "owned_by": "mistralai",
        "capabilities": {flag: flag in on for flag in FLAGS},
        "name": name or model_id,
        "description": extra.pop("description", f"About {model_id}."),
        "max_context_length": extra.pop("max_context_length", 131072),
        "aliases": [],
        "deprecation": None,
        "deprecation_replacement_model": None,
        "default_model_temperature": 0.3,
        "type": "base",
        **extra,
    }


LISTING: dict[str, Any] = {
    "object": "list",
    "data": [
        _entry("mistral-medium-2508", "completion_chat", "function_calling", "vision"),
        _entry("mistral-medium-latest", "completion_chat", name="mistral-medium-2508"),
        _entry("codestral-2508", "completion_chat", "completion_fim", max_context_length=256000),
        _entry("voxtral-mini-latest", "completion_chat", "audio", name="voxtral-mini-2507"),
        _entry("voxtral-small-2507", "function_calling", "audio"),
        _entry("mistral-embed", max_context_length=8192),
        _entry("mistral-moderation-latest", "classification", "moderation"),
        _entry("mistral-ocr-latest", "function_calling", "vision", "ocr"),
        _entry(
            "mistral-large-2407",
            "completion_chat",
            deprecation="2026-03-31T12:00:00Z",
            deprecation_replacement_model="mistral-large-latest",
        ),
        _entry("voxtral-mini-latest", "audio_transcription", name="voxtral-mini-2602"),
        _entry("voxtral-mini-transcribe-2507", "audio_transcription"),
    ],
}
TEXT_IDS = [
    "mistral-medium-2508",
    "mistral-medium-latest",
    "codestral-2508",
    "voxtral-mini-latest",
    "mistral-large-2407",
]


def test_mistral_text_listing_keeps_chat_models_only(server: StandInServer) -> None:
    standin.install(server, LISTING)
    assert [m.model_id for m in MISTRAL.list_models().models] == TEXT_IDS


@pytest.mark.parametrize(
    "model_id",
    [
        "mistral-embed",
        "mistral-moderation-latest",
        "mistral-ocr-latest",
        "voxtral-mini-transcribe-2507",
        "voxtral-small-2507",
    ],
)
def test_mistral_models_without_chat_completion_are_not_listed_as_text(
    server: StandInServer, model_id: str
) -> None:
    standin.install(server, LISTING)
    assert model_id not in [m.model_id for m in MISTRAL.list_models().models]


def test_mistral_repeated_id_keeps_its_first_entry(server: StandInServer) -> None:
    standin.install(server, LISTING)
    voxtral = [m for m in MISTRAL.list_models().models if m.model_id == "voxtral-mini-latest"]
    assert len(voxtral) == 1
    assert voxtral[0].metadata == LISTING["data"][3]


def test_mistral_entries_are_normalised_and_keep_the_raw_entry(server: StandInServer) -> None:
    standin.install(server, LISTING)
    by_id = {m.model_id: m for m in MISTRAL.list_models().models}
    codestral = by_id["codestral-2508"]
    assert codestral.context_window == 256000
    assert codestral.description == "About codestral-2508."
    assert codestral.display_name == "Codestral 2508"
    assert codestral.metadata == LISTING["data"][2]
    json.dumps(codestral.metadata)
    alias = by_id["mistral-medium-latest"]
    assert alias.display_name == "Mistral Medium Latest (mistral-medium-2508)"
    deprecated = by_id["mistral-large-2407"]
    assert deprecated.retires_at == datetime(2026, 3, 31, 12, tzinfo=UTC)
    assert deprecated.supports_streaming


def test_mistral_metadata_is_the_entry_as_sent_not_the_sdk_defaults(
    server: StandInServer,
) -> None:
    sparse = {"id": "mistral-tiny", "capabilities": {"completion_chat": True}, "type": "base"}
    standin.install(server, {"object": "list", "data": [sparse]})
    (model,) = MISTRAL.list_models().models
    assert model.metadata == sparse
    assert model.context_window is None  # the SDK would have invented 32768
    assert model.display_name == "Mistral Tiny"


def test_mistral_request_goes_to_v1_models_with_the_key(server: StandInServer) -> None:
    standin.install(server, LISTING)
    MISTRAL.list_models()
    (request,) = server.requests
    assert request.path == "/v1/models"
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_mistral_recorded_listing_has_forty_text_models(server: StandInServer) -> None:
    body = recorded("mistral_models.json")
    standin.install(server, body)
    models = MISTRAL.list_models().models
    ids = [m.model_id for m in models]
    # 56 entries, 54 distinct ids; 40 entries flag completion_chat, all distinct: the repeated
    # voxtral-mini-2507 / voxtral-mini-latest are listed first as chat models, then again as
    # transcription models (not text). Left out: embeddings, moderation, OCR, transcription
    # and voxtral-small-2507 (the API does not flag it for chat completion).
    assert len(body["data"]) == 56
    assert len(models) == 40 == len(set(ids))
    assert "voxtral-mini-latest" in ids and "voxtral-small-2507" not in ids
    assert not [i for i in ids if "embed" in i or "ocr" in i or "moderation" in i]
    voxtral = next(m for m in models if m.model_id == "voxtral-mini-latest")
    assert voxtral.metadata["capabilities"]["completion_chat"] is True
