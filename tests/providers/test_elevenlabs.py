"""The ElevenLabs adapter, through the real elevenlabs SDK, against a stand-in `/v2/voices`."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest

from registry.errors import MalformedResponseError
from registry.standin import elevenlabs as standin
from registry.standin.server import StandInServer, json_response

from .adapter_cases import ADAPTERS, KEY, AdapterCase, recorded

ELEVENLABS = ADAPTERS["elevenlabs"]
VOICES_PATH = "/v2/voices"


@pytest.fixture
def adapter() -> AdapterCase:
    return ELEVENLABS


def _voice(
    voice_id: str,
    name: str | None,
    category: str = "premade",
    labels: dict[str, str] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    return {
        "voice_id": voice_id,
        "name": name,
        "samples": None,
        "category": category,
        "fine_tuning": {"is_allowed_to_fine_tune": False, "state": {}},
        "labels": labels if labels is not None else {},
        "description": description,
        "preview_url": f"https://storage.example/{voice_id}.mp3",
        "available_for_tiers": [],
        "settings": None,
        "sharing": None,
        "high_quality_base_model_ids": [],
        "verified_languages": [],
        "safety_control": None,
        "permission_on_resource": None,
        "is_owner": False,
        "is_legacy": category == "premade",
        "is_mixed": False,
        "created_at_unix": None,
    }


RACHEL_LABELS = {
    "accent": "american",
    "description": "calm",
    "age": "young",
    "gender": "female",
    "use_case": "narration",
}
LISTING: dict[str, Any] = {
    "voices": [
        _voice("21m00Tcm4TlvDq8ikWAM", "Rachel", labels=RACHEL_LABELS),
        _voice("AZnzlk1XvdvUeBnXmlld", "Domi", labels={"accent": "american"}),
        _voice("pro00000000000000001", "Narrator Pro", "professional", description="Warm, slow"),
        _voice("cln00000000000000001", "My Clone", "cloned"),
        _voice("gen00000000000000001", None, "generated"),
        _voice("21m00Tcm4TlvDq8ikWAM", "Rachel (repeated)"),
    ]
}
VOICE_IDS = [
    "21m00Tcm4TlvDq8ikWAM",
    "AZnzlk1XvdvUeBnXmlld",
    "pro00000000000000001",
    "cln00000000000000001",
    "gen00000000000000001",
]


def test_elevenlabs_every_voice_of_every_category_is_a_tts_entry(server: StandInServer) -> None:
    standin.install(server, LISTING)
    listing = ELEVENLABS.list_models()
    assert [m.model_id for m in listing.models] == VOICE_IDS
    assert listing.complete and listing.pages == 1


def test_elevenlabs_voices_are_normalised_and_keep_the_raw_voice(server: StandInServer) -> None:
    standin.install(server, LISTING)
    by_id = {m.model_id: m for m in ELEVENLABS.list_models().models}
    rachel = by_id["21m00Tcm4TlvDq8ikWAM"]
    assert rachel.display_name == "Rachel"  # the first of the repeated id
    assert rachel.description == "Premade voice: american, calm, young, female, narration"
    assert rachel.supports_streaming is True
    assert rachel.context_window is None and rachel.retires_at is None
    assert rachel.metadata == LISTING["voices"][0]
    assert rachel.metadata["labels"]["accent"] == "american"
    assert rachel.metadata["category"] == "premade"
    json.dumps(rachel.metadata)
    assert by_id["pro00000000000000001"].description == "Warm, slow"
    assert by_id["cln00000000000000001"].description == "Cloned voice"
    assert by_id["gen00000000000000001"].display_name == "gen00000000000000001"


def test_elevenlabs_asks_for_the_largest_pages_with_the_key_header(
    server: StandInServer,
) -> None:
    standin.install(server, LISTING)
    ELEVENLABS.list_models()
    (request,) = server.requests
    assert request.path == VOICES_PATH
    assert request.param("page_size") == "100"
    assert request.headers["xi-api-key"] == KEY
    assert KEY not in json.dumps(request.query)


def test_elevenlabs_listing_follows_every_next_page_token(server: StandInServer) -> None:
    standin.install(server, LISTING, page_size=2)
    listing = ELEVENLABS.list_models()
    assert [m.model_id for m in listing.models] == VOICE_IDS
    requests = server.requests_to(VOICES_PATH)
    pages = math.ceil(len(LISTING["voices"]) / 2)
    assert listing.pages == len(requests) == pages
    assert requests[0].param("next_page_token") is None
    assert len({r.param("next_page_token") for r in requests[1:]}) == pages - 1


def test_elevenlabs_account_with_5000_voices_is_listed_completely(server: StandInServer) -> None:
    voices = [_voice(f"v{i:019d}", f"Voice {i}", "generated") for i in range(5000)]
    standin.install(server, {"voices": voices})
    listing = ELEVENLABS.list_models()
    assert len(listing.models) == 5000 and listing.complete
    assert listing.pages == len(server.requests) == 50  # 100 voices a page, the API's maximum
    assert listing.models[-1].model_id == f"v{4999:019d}"


def test_elevenlabs_has_more_without_a_token_is_malformed(server: StandInServer) -> None:
    body = {"voices": LISTING["voices"][:2], "has_more": True, "total_count": 9}
    server.route(VOICES_PATH, lambda _r: json_response({**body, "next_page_token": None}))
    with pytest.raises(MalformedResponseError, match="next_page_token"):
        ELEVENLABS.list_models()


def test_elevenlabs_repeated_page_token_is_malformed(server: StandInServer) -> None:
    body = {"voices": [], "has_more": True, "total_count": 9, "next_page_token": "same"}
    server.route(VOICES_PATH, lambda _r: json_response(body))
    with pytest.raises(MalformedResponseError):
        ELEVENLABS.list_models()
    assert len(server.requests) == 2


def test_elevenlabs_stand_in_answers_like_the_v2_api(server: StandInServer) -> None:
    standin.install(server, LISTING)
    assert httpx.get(f"{server.origin}{VOICES_PATH}").status_code == 401
    headers = {"xi-api-key": KEY}
    too_big = httpx.get(f"{server.origin}{VOICES_PATH}?page_size=101", headers=headers)
    assert too_big.status_code == 422
    first = httpx.get(f"{server.origin}{VOICES_PATH}", headers=headers).json()
    assert len(first["voices"]) == 6 and first["has_more"] is False  # default page size 10
    assert first["total_count"] == 6 and first["next_page_token"] is None


@pytest.mark.parametrize(
    ("fixture", "count", "categories"),
    [
        ("elevenlabs_voices.json", 52, {"premade": 52}),
        ("elevenlabs_voices_2025-04.json", 28, {"premade": 20, "professional": 7, "cloned": 1}),
    ],
)
def test_elevenlabs_recorded_voices_are_all_listed_with_their_raw_entries(
    server: StandInServer, fixture: str, count: int, categories: dict[str, int]
) -> None:
    body = recorded(fixture)
    standin.install(server, body, page_size=25)
    listing = ELEVENLABS.list_models()
    # Counted by reading the files: 52 premade voices (32 legacy); 28 voices in 3 categories.
    assert len(listing.models) == count and listing.pages == math.ceil(count / 25)
    seen: dict[str, int] = {}
    for model in listing.models:
        seen[model.metadata["category"]] = seen.get(model.metadata["category"], 0) + 1
    assert seen == categories
    # The SDK round trip gives back each voice exactly as recorded.
    assert [m.metadata for m in listing.models] == body["voices"]
