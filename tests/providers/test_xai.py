"""The xAI adapter against a stand-in `/v1/models`, through the `openai` SDK xAI is read with."""

from __future__ import annotations

from typing import Any

import pytest

from registry.standin import xai as standin
from registry.standin.server import StandInServer

from .adapter_cases import ADAPTERS, KEY, AdapterCase, recorded

XAI = ADAPTERS["xai"]


@pytest.fixture
def adapter() -> AdapterCase:
    return XAI


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


def _list() -> list[str]:
    return [m.model_id for m in XAI.list_models().models]


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
    listing = XAI.list_models()
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


def test_xai_recorded_listing_has_eleven_text_models(server: StandInServer) -> None:
    standin.install(server, recorded("xai_models.json"))
    text = _list()
    # 14 entries: 11 Grok text models, 3 grok-imagine image/video generators.
    assert len(text) == 11
    assert not [model_id for model_id in text if "imagine" in model_id]
    assert "grok-4.20-0309-reasoning" in text
