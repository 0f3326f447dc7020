"""The Mistral adapter against a stand-in `/v1/models`, driven through the `mistralai` SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from registry.errors import InvalidInputError, MissingKeyError, ProviderRateLimitedError
from registry.providers.base import Credentials
from registry.providers.mistral import MistralAdapter
from registry.standin import mistral as standin
from registry.standin.server import StandInServer
from registry.types import Category

from .sdk_fault_checks import (
    FAULT_TIMEOUT,
    KEY,
    assert_key_hidden,
    capture_everything,
    fault_cases,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "providers"
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


@pytest.fixture(scope="module")
def running_server() -> Iterator[StandInServer]:
    # One server per module: stopping one takes half a second (its shutdown poll).
    with StandInServer() as stand_in:
        yield stand_in


@pytest.fixture
def server(running_server: StandInServer, monkeypatch: pytest.MonkeyPatch) -> StandInServer:
    running_server.clear_faults()
    running_server.requests.clear()
    monkeypatch.setenv("REGISTRY_MISTRAL_BASE_URL", running_server.origin)
    return running_server


def _listing(timeout: float = 5.0) -> Any:
    return MistralAdapter().list_models(Category.TEXT, Credentials(KEY), timeout=timeout)


def test_mistral_text_listing_keeps_chat_models_only(server: StandInServer) -> None:
    standin.install(server, LISTING)
    assert [m.model_id for m in _listing().models] == TEXT_IDS


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
    assert model_id not in [m.model_id for m in _listing().models]


def test_mistral_repeated_id_keeps_its_first_entry(server: StandInServer) -> None:
    standin.install(server, LISTING)
    voxtral = [m for m in _listing().models if m.model_id == "voxtral-mini-latest"]
    assert len(voxtral) == 1
    assert voxtral[0].metadata == LISTING["data"][3]


def test_mistral_entries_are_normalised_and_keep_the_raw_entry(server: StandInServer) -> None:
    standin.install(server, LISTING)
    by_id = {m.model_id: m for m in _listing().models}
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
    (model,) = _listing().models
    assert model.metadata == sparse
    assert model.context_window is None  # the SDK would have invented 32768
    assert model.display_name == "Mistral Tiny"


def test_mistral_request_goes_to_v1_models_with_the_key(server: StandInServer) -> None:
    standin.install(server, LISTING)
    _listing()
    (request,) = server.requests
    assert request.path == "/v1/models"
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_mistral_empty_listing_returns_an_empty_listing(server: StandInServer) -> None:
    standin.install(server, {"object": "list", "data": []})
    assert _listing().models == []


@pytest.mark.parametrize("name", list(fault_cases(LISTING)))
def test_mistral_faults_raise_the_right_error_without_the_key(
    server: StandInServer, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    capture_everything(caplog)
    fault = fault_cases(LISTING)[name]
    standin.install(server, LISTING)
    server.fail("/v1/models", fault.response)
    with pytest.raises(fault.error) as caught:
        _listing(timeout=FAULT_TIMEOUT)
    assert caught.value.provider == "mistral"
    if isinstance(caught.value, ProviderRateLimitedError):
        assert caught.value.retry_after == 7
    assert_key_hidden(caught.value, caplog)


def test_mistral_without_a_key_asks_for_mistral_api_key(server: StandInServer) -> None:
    with pytest.raises(MissingKeyError, match="MISTRAL_API_KEY"):
        MistralAdapter().list_models(Category.TEXT, Credentials(""), timeout=5)


def test_mistral_lists_no_tts_models() -> None:
    with pytest.raises(InvalidInputError):
        MistralAdapter().list_models(Category.TTS, Credentials(KEY), timeout=5)


def test_mistral_recorded_listing_has_forty_text_models(server: StandInServer) -> None:
    path = SHARED / "mistral_models.json"
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    body = json.loads(path.read_text())
    standin.install(server, body)
    models = _listing().models
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
