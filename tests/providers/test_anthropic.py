"""The Anthropic adapter against a stand-in that pages `/v1/models` the way Anthropic does."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from registry.errors import MalformedResponseError
from registry.standin import anthropic as standin
from registry.standin.server import StandInResponse, StandInServer

from .adapter_cases import ADAPTERS, KEY, AdapterCase, recorded

ANTHROPIC = ADAPTERS["anthropic"]
PATH = "/v1/models"


@pytest.fixture
def adapter() -> AdapterCase:
    return ANTHROPIC


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


def test_anthropic_lists_every_claude_model_but_retired_ones(server: StandInServer) -> None:
    standin.install(server, LISTING)
    assert [m.model_id for m in ANTHROPIC.list_models().models] == TEXT_IDS


def test_anthropic_adapter_fetches_every_page(server: StandInServer) -> None:
    standin.install(server, LISTING, page_size=2)
    listing = ANTHROPIC.list_models()
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
    by_id = {m.model_id: m for m in ANTHROPIC.list_models().models}
    sonnet = by_id["claude-sonnet-4-6"]
    assert sonnet.display_name == "Claude Sonnet 4.6"  # the first entry wins
    assert sonnet.context_window == 1000000
    assert sonnet.supports_streaming and sonnet.retires_at is None
    assert sonnet.metadata == ENTRIES[0]
    json.dumps(sonnet.metadata)
    old = by_id["claude-3-7-sonnet-20250219"]
    assert old.retires_at == datetime(2026, 2, 19, tzinfo=UTC)
    assert old.context_window is None  # older entries carry no token limits


def test_anthropic_page_promising_more_without_a_cursor_is_malformed(
    server: StandInServer,
) -> None:
    standin.install(server, LISTING)
    server.fail(
        PATH, StandInResponse(200, {"data": ENTRIES[:2], "has_more": True, "last_id": None})
    )
    with pytest.raises(MalformedResponseError, match="more follow"):
        ANTHROPIC.list_models()


def test_anthropic_cursor_loop_is_malformed_not_endless(server: StandInServer) -> None:
    standin.install(server, LISTING)
    looping = {"data": ENTRIES[:2], "has_more": True, "first_id": "a", "last_id": "claude-x"}
    server.fail(PATH, StandInResponse(200, looping))
    with pytest.raises(MalformedResponseError, match="does not end"):
        ANTHROPIC.list_models()
    assert len(server.requests_to(PATH)) == 2


def test_anthropic_stand_in_pages_backwards_with_before_id(server: StandInServer) -> None:
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
    standin.install(server, recorded(fixture), page_size=3)
    listing = ANTHROPIC.list_models()
    # Every recorded entry is a Claude model that answers in text.
    assert len(listing.models) == count
    assert listing.pages == -(-count // 3)
    assert all(m.display_name.startswith("Claude") for m in listing.models)
