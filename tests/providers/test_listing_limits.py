"""The limits every listing is held to, whichever adapter reads it (see `ListingGuard`)."""

from __future__ import annotations

import gzip
import json
import time

import pytest

from registry.errors import MalformedResponseError, ProviderTimeoutError
from registry.providers.common import MAX_METADATA_BYTES, TRIMMED_MARKER, _EntryCounter
from registry.standin import google, hostile
from registry.standin.server import StandInResponse, StandInServer
from registry.types import Category

from .adapter_cases import ADAPTERS, AdapterCase

# One adapter on each HTTP stack: the openai SDK (httpx2) and plain httpx.
sdk_and_httpx = pytest.mark.parametrize(
    "adapter", [ADAPTERS["openai"], ADAPTERS["openrouter"]], ids=lambda case: case.provider
)


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 64, 100_000])
def test_entries_are_counted_across_any_chunking(chunk_size: int) -> None:
    body = json.dumps(
        {
            "object": "list",
            "data": [
                {"id": 'a"[{', "nested": [{"x": 1}, {"y": ["{", "\\"]}]},
                {"id": "b\\\\", "tricky": '\\"}]'},
                {"id": "c"},
            ],
            "other": {"not": [{"an": "entry"}]},
        }
    ).encode()
    counter = _EntryCounter()
    for start in range(0, len(body), chunk_size):
        counter.feed(body[start : start + chunk_size])
    assert counter.entries == 3


def test_a_bare_array_counts_its_objects() -> None:
    counter = _EntryCounter()
    counter.feed(b'[{"ShortName": "a", "StyleList": ["x"]}, {"ShortName": "b"}]')
    assert counter.entries == 2


@sdk_and_httpx
def test_a_compressed_listing_is_read(adapter: AdapterCase, server: StandInServer) -> None:
    body = gzip.compress(json.dumps(adapter.sample).encode())
    server.fail(adapter.path, StandInResponse(200, body, {"Content-Encoding": "gzip"}))
    assert adapter.list_models().models


@sdk_and_httpx
def test_a_compression_bomb_is_refused_at_the_byte_limit(
    adapter: AdapterCase, server: StandInServer
) -> None:
    bomb = gzip.compress(b'{"data": [{"id": "x", "pad": "' + b" " * (40 * 1024 * 1024) + b'"}]}')
    assert len(bomb) < 100_000
    server.fail(adapter.path, StandInResponse(200, bomb, {"Content-Encoding": "gzip"}))
    with pytest.raises(MalformedResponseError, match="larger than 32 MB"):
        adapter.list_models()


@sdk_and_httpx
def test_a_declared_length_over_the_limit_is_refused_before_reading(
    adapter: AdapterCase, server: StandInServer
) -> None:
    server.fail(
        adapter.path,
        StandInResponse(200, b"x" * 10, {"Content-Length": str(40 * 1024 * 1024)}),
    )
    with pytest.raises(MalformedResponseError, match="larger than 32 MB"):
        adapter.list_models()


@pytest.mark.parametrize(
    "adapter", [ADAPTERS["openai"], ADAPTERS["mistral"]], ids=lambda case: case.provider
)
def test_a_same_origin_redirect_is_followed(adapter: AdapterCase, server: StandInServer) -> None:
    moved = "/moved" + adapter.path
    server.route(moved, lambda _request: StandInResponse(200, adapter.sample))
    server.fail(adapter.path, StandInResponse(307, b"", {"Location": moved}))
    assert adapter.list_models().models
    assert server.requests_to(moved)


@sdk_and_httpx
def test_headers_that_trickle_are_cut_off_at_the_deadline(
    adapter: AdapterCase, server: StandInServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_DISCOVERY_TIMEOUT", "1")
    server.fail(adapter.path, hostile.trickling_headers(adapter.envelope))
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError, match="no complete answer within 1 s"):
        adapter.list_models(timeout=30)  # the per-request timeout alone would wait 30 s
    assert time.monotonic() - started < 6


@pytest.mark.parametrize("adapter", [ADAPTERS["openrouter"]], ids=lambda case: case.provider)
def test_oversized_metadata_is_trimmed_to_its_small_fields(
    adapter: AdapterCase, server: StandInServer
) -> None:
    body = json.loads(json.dumps(adapter.sample))
    huge = body["data"][0]
    huge["pricing_history"] = [{"price": "0.000001"}] * 20_000  # ~400 KB of JSON
    huge["blurb"] = "y" * 5000
    adapter.install(server, body)
    listing = adapter.list_models()
    model = next(m for m in listing.models if m.model_id == huge["id"])
    assert len(json.dumps(model.metadata)) <= MAX_METADATA_BYTES
    assert model.metadata["id"] == huge["id"]
    assert "pricing_history" not in model.metadata and "blurb" not in model.metadata
    assert "only its small scalar fields are kept" in model.metadata[TRIMMED_MARKER]
    assert any(huge["id"] in warning for warning in listing.warnings)
    others = [m for m in listing.models if m.model_id != huge["id"]]
    assert others and all(TRIMMED_MARKER not in m.metadata for m in others)


@pytest.mark.parametrize("adapter", [ADAPTERS["google"]], ids=lambda case: case.provider)
def test_a_redirect_of_the_cloud_tts_voices_fails_the_whole_listing(
    adapter: AdapterCase, server: StandInServer, unreachable_origin: str
) -> None:
    # Cloud TTS failing otherwise leaves a partial listing; a key sent elsewhere must not.
    adapter.install(server, adapter.sample)
    google.install_cloud_tts(server, {"voices": []})
    server.fail(google.CLOUD_TTS_VOICES_PATH, hostile.redirect(unreachable_origin, "/v1/voices"))
    with pytest.raises(MalformedResponseError, match="redirected the listing to another host"):
        adapter.list_models(Category.TTS)
