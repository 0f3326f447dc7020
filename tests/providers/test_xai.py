"""The xAI adapter against a stand-in `/v1/models`, through the `openai` SDK xAI is read with."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from registry.errors import InvalidInputError, MissingKeyError, ProviderRateLimitedError
from registry.providers.base import Credentials
from registry.providers.xai import XAIAdapter
from registry.standin import xai as standin
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


def _entry(model_id: str, created: int = 1752019200) -> dict[str, Any]:
    return {"id": model_id, "created": created, "object": "model", "owned_by": "xai"}


LISTING: dict[str, Any] = {
    "data": [
        _entry("grok-3"),
        _entry("grok-4-1-fast-reasoning"),
        _entry("grok-4.20-multi-agent-0309"),
        _entry("grok-code-fast-1"),
        _entry("grok-2-vision-1212"),
        _entry("grok-imagine-image"),
        _entry("grok-imagine-video"),
        _entry("grok-2-image-1212"),
        _entry("grok-3", created=1),
    ],
    "object": "list",
}
TEXT_IDS = [
    "grok-3",
    "grok-4-1-fast-reasoning",
    "grok-4.20-multi-agent-0309",
    "grok-code-fast-1",
    "grok-2-vision-1212",
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
    monkeypatch.setenv("REGISTRY_XAI_BASE_URL", running_server.origin)
    return running_server


def _list(timeout: float = 5.0) -> list[str]:
    listing = XAIAdapter().list_models(Category.TEXT, Credentials(KEY), timeout=timeout)
    return [m.model_id for m in listing.models]


def test_xai_text_listing_keeps_grok_text_models(server: StandInServer) -> None:
    standin.install(server, LISTING)
    assert _list() == TEXT_IDS


def test_xai_grok_imagine_image_and_video_models_are_not_listed_as_text(
    server: StandInServer,
) -> None:
    standin.install(server, LISTING)
    text = _list()
    assert "grok-imagine-image" not in text
    assert "grok-imagine-video" not in text
    assert "grok-2-image-1212" not in text


def test_xai_entries_are_normalised_and_keep_the_raw_entry(server: StandInServer) -> None:
    standin.install(server, LISTING)
    listing = XAIAdapter().list_models(Category.TEXT, Credentials(KEY), timeout=5)
    fast = next(m for m in listing.models if m.model_id == "grok-4-1-fast-reasoning")
    assert fast.display_name == "Grok 4.1 Fast Reasoning"
    assert fast.metadata == _entry("grok-4-1-fast-reasoning")
    assert fast.supports_streaming and fast.retires_at is None
    grok3 = next(m for m in listing.models if m.model_id == "grok-3")
    assert grok3.metadata["created"] == 1752019200  # the first of the two grok-3 entries


def test_xai_request_goes_to_v1_models_with_the_key_and_no_openai_account_headers(
    server: StandInServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-should-not-travel")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-should-not-travel")
    standin.install(server, LISTING)
    _list()
    (request,) = server.requests
    assert request.path == "/v1/models"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert "openai-organization" not in request.headers
    assert "openai-project" not in request.headers


def test_xai_empty_listing_returns_an_empty_listing(server: StandInServer) -> None:
    standin.install(server, {"data": [], "object": "list"})
    assert _list() == []


@pytest.mark.parametrize("name", list(fault_cases(LISTING)))
def test_xai_faults_raise_the_right_error_without_the_key(
    server: StandInServer, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    capture_everything(caplog)
    fault = fault_cases(LISTING)[name]
    standin.install(server, LISTING)
    server.fail("/v1/models", fault.response)
    with pytest.raises(fault.error) as caught:
        XAIAdapter().list_models(Category.TEXT, Credentials(KEY), timeout=FAULT_TIMEOUT)
    assert caught.value.provider == "xai"
    if isinstance(caught.value, ProviderRateLimitedError):
        assert caught.value.retry_after == 7
    assert_key_hidden(caught.value, caplog)


def test_xai_without_a_key_asks_for_xai_api_key(server: StandInServer) -> None:
    with pytest.raises(MissingKeyError, match="XAI_API_KEY"):
        XAIAdapter().list_models(Category.TEXT, Credentials(""), timeout=5)


def test_xai_lists_no_tts_models() -> None:
    assert XAIAdapter().categories == frozenset({Category.TEXT})
    with pytest.raises(InvalidInputError):
        XAIAdapter().list_models(Category.TTS, Credentials(KEY), timeout=5)


def test_xai_recorded_listing_has_eleven_text_models(server: StandInServer) -> None:
    path = SHARED / "xai_models.json"
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    standin.install(server, json.loads(path.read_text()))
    text = _list()
    # 14 entries: 11 Grok text models, 3 grok-imagine image/video generators.
    assert len(text) == 11
    assert not [model_id for model_id in text if "imagine" in model_id]
    assert "grok-4.20-0309-reasoning" in text
