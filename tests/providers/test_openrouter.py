"""The OpenRouter adapter (httpx) against a stand-in `GET /api/v1/models`."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from registry.errors import MalformedResponseError
from registry.providers.base import ProviderListing
from registry.standin import openrouter as standin
from registry.standin.server import StandInResponse, StandInServer, json_response

from .adapter_cases import ADAPTERS, KEY, AdapterCase, capture_everything, recorded

OPENROUTER = ADAPTERS["openrouter"]
MODELS_PATH = "/api/v1/models"


@pytest.fixture
def adapter() -> AdapterCase:
    return OPENROUTER


def _entry(
    model_id: str,
    outputs: list[str] | None,
    *,
    context: int | None = 131072,
    expires: str | None = None,
    modality: str | None = None,
    tokenizer: str = "Other",
) -> dict[str, Any]:
    architecture: dict[str, Any] = {
        "modality": modality or f"text->{'+'.join(outputs or ['text'])}",
        "input_modalities": ["text"],
        "tokenizer": tokenizer,
        "instruct_type": None,
    }
    if outputs is not None:
        architecture["output_modalities"] = outputs
    return {
        "id": model_id,
        "canonical_slug": f"{model_id}-20260101",
        "name": f"Vendor: {model_id.split('/')[-1]}",
        "created": 1767225600,
        "description": f"About {model_id}...",
        "context_length": context,
        "architecture": architecture,
        "pricing": {"prompt": "0.0000001", "completion": "0.0000004"},
        "top_provider": {"context_length": context, "max_completion_tokens": 8192},
        "per_request_limits": None,
        "supported_parameters": ["max_tokens", "temperature"],
        "expiration_date": expires,
        "links": {"details": f"/api/v1/models/{model_id}/endpoints"},
    }


LISTING: dict[str, Any] = {
    "data": [
        _entry("qwen/qwen3-27b", ["text"]),
        _entry("z-ai/glm-4.5", ["text"], expires="2026-12-31"),
        _entry("openai/gpt-5-image", ["image", "text"]),
        _entry("openai/gpt-audio", ["text", "audio"]),
        _entry("openrouter/auto", ["text", "image"], tokenizer="Router"),
        _entry("legacy/only-modality-string", None, modality="text+image->text"),
        _entry("meta-llama/llama-guard-4-12b", ["text"]),
        _entry("openai/text-embedding-3-small", ["embeddings"]),
        _entry("voyageai/voyage-odd", ["text", "embeddings"]),
        _entry("openai/gpt-image-1", ["image"]),
        _entry("google/veo-3.1", ["video"]),
        _entry("openai/whisper-1", ["transcription"]),
        _entry("hexgrad/kokoro-82m", ["speech"]),
        _entry("cohere/rerank-v3.5", ["rerank"]),
        _entry("legacy/embedder", None, modality="text->embeddings"),
        _entry("qwen/qwen3-27b", ["text"], context=1),
    ],
    "total_count": 17,
    "links": {"next": None},
}
TEXT_IDS = [
    "qwen/qwen3-27b",
    "z-ai/glm-4.5",
    "openrouter/auto",
    "legacy/only-modality-string",
]


def _listing() -> ProviderListing:
    return OPENROUTER.list_models()


def _ids() -> list[str]:
    return [m.model_id for m in _listing().models]


def test_openrouter_text_listing_keeps_models_that_answer_with_text(
    server: StandInServer,
) -> None:
    standin.install(server, LISTING)
    assert _ids() == TEXT_IDS


@pytest.mark.parametrize(
    "model_id",
    [
        "openai/gpt-5-image",
        "openai/gpt-audio",
        "meta-llama/llama-guard-4-12b",
        "openai/text-embedding-3-small",
        "voyageai/voyage-odd",
        "openai/gpt-image-1",
        "google/veo-3.1",
        "openai/whisper-1",
        "hexgrad/kokoro-82m",
        "cohere/rerank-v3.5",
        "legacy/embedder",
    ],
)
def test_openrouter_non_text_models_are_not_listed_as_text(
    server: StandInServer, model_id: str
) -> None:
    standin.install(server, LISTING)
    assert model_id not in _ids()


def test_openrouter_entries_are_normalised_and_keep_the_raw_entry(server: StandInServer) -> None:
    standin.install(server, LISTING)
    listing = _listing()
    by_id = {m.model_id: m for m in listing.models}
    glm = by_id["z-ai/glm-4.5"]
    assert glm.display_name == "Vendor: glm-4.5"
    assert glm.description == "About z-ai/glm-4.5..."
    assert glm.context_window == 131072
    assert glm.supports_streaming is True
    assert glm.retires_at == datetime(2026, 12, 31, tzinfo=UTC)
    assert glm.metadata == LISTING["data"][1]
    json.dumps(glm.metadata)
    assert by_id["qwen/qwen3-27b"].retires_at is None
    # The repeated id keeps its first entry.
    assert by_id["qwen/qwen3-27b"].context_window == 131072
    assert listing.complete and listing.pages == 1


def test_openrouter_sends_the_key_as_bearer_to_the_real_path(server: StandInServer) -> None:
    standin.install(server, LISTING)
    _ids()
    (request,) = server.requests
    assert request.path == MODELS_PATH
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.query == {}


def test_openrouter_listing_follows_links_next_to_the_last_page(server: StandInServer) -> None:
    standin.install(server, LISTING, page_size=3)
    listing = _listing()
    assert [m.model_id for m in listing.models] == TEXT_IDS
    requests = server.requests_to(MODELS_PATH)
    pages = math.ceil(len(LISTING["data"]) / 3)
    assert listing.pages == len(requests) == pages
    assert requests[0].param("cursor") is None
    assert len({r.param("cursor") for r in requests[1:]}) == pages - 1
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in requests)


def test_openrouter_absolute_next_links_on_the_same_host_are_followed(
    server: StandInServer,
) -> None:
    def handler(request: Any) -> StandInResponse:
        if request.param("page") == "2":
            return json_response({"data": LISTING["data"][3:], "links": {"next": None}})
        nxt = f"{server.origin}{MODELS_PATH}?page=2"
        return json_response({"data": LISTING["data"][:3], "links": {"next": nxt}})

    server.route(MODELS_PATH, handler)
    assert _ids() == TEXT_IDS


def test_openrouter_next_link_to_another_host_is_refused(
    server: StandInServer, caplog: pytest.LogCaptureFixture
) -> None:
    capture_everything(caplog)
    body = {"data": LISTING["data"][:2], "links": {"next": "https://elsewhere.example/steal"}}
    server.route(MODELS_PATH, lambda _r: json_response(body))
    with pytest.raises(MalformedResponseError, match="another host"):
        _listing()
    assert len(server.requests) == 1


def test_openrouter_next_link_that_loops_is_malformed(server: StandInServer) -> None:
    body = {"data": LISTING["data"][:2], "links": {"next": f"{MODELS_PATH}?cursor=same"}}
    server.route(MODELS_PATH, lambda _r: json_response(body))
    with pytest.raises(MalformedResponseError):
        _listing()
    assert len(server.requests) == 2


@pytest.mark.parametrize("fixture", ["openrouter_models.json", "openrouter_models_all.json"])
def test_openrouter_recorded_listings_yield_the_398_text_models(
    server: StandInServer, fixture: str
) -> None:
    standin.install(server, recorded(fixture))
    listing = _listing()
    ids = [m.model_id for m in listing.models]
    # Counted by reading the files: the default listing has 414 entries, all answering with
    # text (399 text only, 9 image+text, 2 text+image, 4 text+audio). Left out: the 9 image
    # generators and 4 audio (2 Lyria, 2 gpt-audio) that also answer in text, and 3 safety
    # classifiers that answer only in text; the 2 text+image routers stay. The `all` listing
    # adds 135 entries whose outputs lack text (34 image, 34 embeddings, 23 video,
    # 19 transcription, 18 speech, 7 rerank), so the same 398 remain.
    assert len(ids) == 398 == len(set(ids))
    assert "openai/text-embedding-3-small" not in ids and "openai/whisper-1" not in ids
    assert "openrouter/auto" in ids
    retiring = {m.model_id: m.retires_at for m in listing.models if m.retires_at is not None}
    assert retiring == {
        "z-ai/glm-5v-turbo": datetime(2098, 12, 31, tzinfo=UTC),
        "z-ai/glm-5-turbo": datetime(2098, 12, 31, tzinfo=UTC),
        "nvidia/nemotron-nano-12b-v2-vl:free": datetime(2026, 8, 24, tzinfo=UTC),
        "z-ai/glm-4.5": datetime(2026, 12, 31, tzinfo=UTC),
    }


def test_openrouter_recorded_listing_is_complete_across_small_pages(
    server: StandInServer,
) -> None:
    standin.install(server, recorded("openrouter_models_all.json"), page_size=100)
    listing = _listing()
    assert len(listing.models) == 398 and listing.pages == 6  # 549 entries, 100 a page
