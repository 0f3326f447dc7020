"""The Anthropic adapter against a stand-in that pages `/v1/models` the way Anthropic does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from registry.errors import (
    InvalidInputError,
    MalformedResponseError,
    MissingKeyError,
    ProviderRateLimitedError,
    ProviderServerError,
)
from registry.providers.anthropic import AnthropicAdapter
from registry.providers.base import Credentials
from registry.standin import anthropic as standin
from registry.standin.server import StandInResponse, StandInServer
from registry.types import Category

from .sdk_fault_checks import (
    FAULT_TIMEOUT,
    KEY,
    assert_key_hidden,
    capture_everything,
    fault_cases,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "providers"
PATH = "/v1/models"


def _entry(model_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model_id,
        "display_name": name,
        "created_at": "2025-10-01T00:00:00Z",
        **extra,
    }


ENTRIES: list[dict[str, Any]] = [
    _entry(
        "claude-sonnet-4-6",
        "Claude Sonnet 4.6",
        max_input_tokens=1000000,
        max_tokens=128000,
        capabilities={"batch": {"supported": True}, "thinking": {"supported": True}},
    ),
    _entry("claude-opus-4-6", "Claude Opus 4.6", max_input_tokens=1000000),
    _entry("claude-haiku-4-5-20251001", "Claude Haiku 4.5", max_input_tokens=200000),
    _entry(
        "claude-3-7-sonnet-20250219",
        "Claude Sonnet 3.7",
        lifecycle="deprecated",
        deprecated_at="2025-10-28T00:00:00Z",
        retires_at="2026-02-19T00:00:00Z",
    ),
    _entry("claude-3-haiku-20240307", "Claude Haiku 3"),
    _entry("claude-2.0", "Claude 2.0", lifecycle="retired"),
    _entry("claude-sonnet-4-6", "Claude Sonnet 4.6 (repeated)"),
]
LISTING: dict[str, Any] = {
    "data": ENTRIES,
    "has_more": False,
    "first_id": ENTRIES[0]["id"],
    "last_id": ENTRIES[-1]["id"],
}
TEXT_IDS = [
    "claude-sonnet-4-6",
    "claude-opus-4-6",
    "claude-haiku-4-5-20251001",
    "claude-3-7-sonnet-20250219",
    "claude-3-haiku-20240307",
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
    monkeypatch.setenv("REGISTRY_ANTHROPIC_BASE_URL", running_server.origin)
    return running_server


def _listing(timeout: float = 5.0) -> Any:
    return AnthropicAdapter().list_models(Category.TEXT, Credentials(KEY), timeout=timeout)


def test_anthropic_lists_every_claude_model_but_retired_ones(server: StandInServer) -> None:
    standin.install(server, LISTING)
    assert [m.model_id for m in _listing().models] == TEXT_IDS


def test_anthropic_adapter_fetches_every_page(server: StandInServer) -> None:
    standin.install(server, LISTING, page_size=2)
    listing = _listing()
    assert [m.model_id for m in listing.models] == TEXT_IDS
    assert listing.pages == 4 and listing.complete
    requests = server.requests_to(PATH)
    assert [r.param("after_id") for r in requests] == [
        None,
        "claude-opus-4-6",
        "claude-3-7-sonnet-20250219",
        "claude-2.0",
    ]
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in requests)
    assert all(r.headers.get("anthropic-version") for r in requests)


def test_anthropic_entries_are_normalised_and_keep_the_raw_entry(server: StandInServer) -> None:
    standin.install(server, LISTING)
    by_id = {m.model_id: m for m in _listing().models}
    sonnet = by_id["claude-sonnet-4-6"]
    assert sonnet.display_name == "Claude Sonnet 4.6"  # the first entry wins
    assert sonnet.context_window == 1000000
    assert sonnet.supports_streaming and sonnet.retires_at is None
    assert sonnet.metadata == ENTRIES[0]
    json.dumps(sonnet.metadata)
    old = by_id["claude-3-7-sonnet-20250219"]
    assert old.retires_at == datetime(2026, 2, 19, tzinfo=UTC)
    assert old.context_window is None  # older entries carry no token limits


def test_anthropic_empty_listing_returns_an_empty_listing(server: StandInServer) -> None:
    standin.install(server, {"data": [], "has_more": False, "first_id": None, "last_id": None})
    listing = _listing()
    assert listing.models == [] and listing.pages == 1


@pytest.mark.parametrize("name", list(fault_cases(LISTING)))
def test_anthropic_faults_raise_the_right_error_without_the_key(
    server: StandInServer, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    capture_everything(caplog)
    fault = fault_cases(LISTING)[name]
    standin.install(server, LISTING)
    server.fail(PATH, fault.response)
    with pytest.raises(fault.error) as caught:
        _listing(timeout=FAULT_TIMEOUT)
    assert caught.value.provider == "anthropic"
    if isinstance(caught.value, ProviderRateLimitedError):
        assert caught.value.retry_after == 7
    assert_key_hidden(caught.value, caplog)


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (
            StandInResponse(500, {"type": "error", "error": {"type": "api_error"}}),
            ProviderServerError,
        ),
        (StandInResponse(200, "{not json"), MalformedResponseError),
    ],
)
def test_anthropic_second_page_failing_fails_the_whole_listing(
    server: StandInServer,
    caplog: pytest.LogCaptureFixture,
    failure: StandInResponse,
    error: type[Exception],
) -> None:
    capture_everything(caplog)
    standin.install(server, LISTING, page_size=2)
    server.fail(PATH, failure, after=1)
    with pytest.raises(error) as caught:
        _listing(timeout=FAULT_TIMEOUT)
    assert len(server.requests_to(PATH)) == 2
    assert_key_hidden(caught.value, caplog)


def test_anthropic_page_promising_more_without_a_cursor_is_malformed(
    server: StandInServer,
) -> None:
    standin.install(server, LISTING)
    server.fail(
        PATH, StandInResponse(200, {"data": ENTRIES[:2], "has_more": True, "last_id": None})
    )
    with pytest.raises(MalformedResponseError, match="more follow"):
        _listing()


def test_anthropic_cursor_loop_is_malformed_not_endless(server: StandInServer) -> None:
    standin.install(server, LISTING)
    looping = {"data": ENTRIES[:2], "has_more": True, "first_id": "a", "last_id": "claude-x"}
    server.fail(PATH, StandInResponse(200, looping))
    with pytest.raises(MalformedResponseError, match="does not end"):
        _listing()
    assert len(server.requests_to(PATH)) == 2


def test_anthropic_without_a_key_asks_for_anthropic_api_key(server: StandInServer) -> None:
    with pytest.raises(MissingKeyError, match="ANTHROPIC_API_KEY"):
        AnthropicAdapter().list_models(Category.TEXT, Credentials(""), timeout=5)


def test_anthropic_lists_no_tts_models() -> None:
    with pytest.raises(InvalidInputError):
        AnthropicAdapter().list_models(Category.TTS, Credentials(KEY), timeout=5)


def test_anthropic_stand_in_pages_backwards_with_before_id(server: StandInServer) -> None:
    import httpx

    standin.install(server, LISTING, page_size=2)
    answer = httpx.get(
        f"{server.origin}{PATH}",
        params={"before_id": "claude-3-haiku-20240307"},
        headers={"x-api-key": KEY},
    ).json()
    assert [e["id"] for e in answer["data"]] == [
        "claude-haiku-4-5-20251001",
        "claude-3-7-sonnet-20250219",
    ]
    assert answer["has_more"] is True
    assert answer["first_id"] == "claude-haiku-4-5-20251001"
    unknown = httpx.get(
        f"{server.origin}{PATH}", params={"after_id": "nope"}, headers={"x-api-key": KEY}
    )
    assert unknown.status_code == 400
    assert httpx.get(f"{server.origin}{PATH}").status_code == 401


@pytest.mark.parametrize(
    ("fixture", "count"),
    [("anthropic_models.json", 8), ("anthropic_models_2025-05.json", 11)],
)
def test_anthropic_recorded_listings_are_all_text_over_every_page(
    server: StandInServer, fixture: str, count: int
) -> None:
    path = SHARED / fixture
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    standin.install(server, json.loads(path.read_text()), page_size=3)
    listing = _listing()
    # Every recorded entry is a Claude model that answers in text.
    assert len(listing.models) == count
    assert listing.pages == -(-count // 3)
    assert all(m.display_name.startswith("Claude") for m in listing.models)
