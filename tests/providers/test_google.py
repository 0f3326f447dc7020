"""The Google adapter: Gemini models through the real google-genai SDK pager, plus Cloud TTS
voices over httpx, both against stand-ins on 127.0.0.1."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest

from registry.errors import KeyRejectedError
from registry.providers.base import ProviderListing
from registry.standin import google as standin
from registry.standin.server import StandInResponse, StandInServer
from registry.types import Category

from .adapter_cases import ADAPTERS, FAULT_TIMEOUT, KEY, AdapterCase, capture_everything, recorded

GOOGLE = ADAPTERS["google"]
MODELS_PATH = "/v1beta/models"
VOICES_PATH = "/v1/voices"


@pytest.fixture
def adapter() -> AdapterCase:
    return GOOGLE


def _model(name: str, methods: list[str], display: str | None = None, limit: int = 1048576) -> Any:
    return {
        "name": f"models/{name}",
        "version": "001",
        "displayName": display or name,
        "description": f"Description of {name}",
        "inputTokenLimit": limit,
        "outputTokenLimit": 8192,
        "supportedGenerationMethods": methods,
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
    }


CHAT = ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]
LISTING: dict[str, Any] = {
    "models": [
        _model("gemini-2.5-flash", CHAT, "Gemini 2.5 Flash"),
        _model("gemini-2.5-pro", CHAT, "Gemini 2.5 Pro"),
        _model("gemma-3-27b-it", ["generateContent", "countTokens"], "Gemma 3 27B", 131072),
        _model("gemini-2.0-flash-exp", ["generateContent", "countTokens", "bidiGenerateContent"]),
        _model("gemini-2.5-flash-preview-tts", ["countTokens", "generateContent"], limit=8192),
        _model("gemini-2.5-pro-preview-tts", ["countTokens", "generateContent"], limit=8192),
        _model("gemini-2.5-flash-image", ["generateContent", "countTokens"], "Nano Banana"),
        _model("nano-banana-pro-preview", ["generateContent", "countTokens"], "Nano Banana Pro"),
        _model("gemini-2.0-flash-exp-image-generation", ["generateContent", "countTokens"]),
        _model("gemini-embedding-001", ["embedContent", "countTokens"], limit=2048),
        _model("text-embedding-004", ["embedContent"], limit=2048),
        _model("aqa", ["generateAnswer"], limit=7168),
        _model("imagen-4.0-generate-001", ["predict"], limit=480),
        _model("veo-3.0-generate-001", ["predictLongRunning"], limit=480),
        _model("gemini-2.5-flash-native-audio-latest", ["countTokens", "bidiGenerateContent"]),
        _model("gemini-live-2.5-flash-preview", ["bidiGenerateContent", "countTokens"]),
        _model("gemini-2.5-flash", CHAT, "Gemini 2.5 Flash (repeated)"),
    ]
}
TEXT_IDS = ["gemini-2.5-flash", "gemini-2.5-pro", "gemma-3-27b-it", "gemini-2.0-flash-exp"]
GEMINI_TTS_IDS = ["gemini-2.5-flash-preview-tts", "gemini-2.5-pro-preview-tts"]
VOICES: dict[str, Any] = {
    "voices": [
        {
            "languageCodes": ["en-US"],
            "name": "Achernar",
            "ssmlGender": "FEMALE",
            "naturalSampleRateHertz": 24000,
        },
        {
            "languageCodes": ["en-US"],
            "name": "en-US-Chirp3-HD-Achernar",
            "ssmlGender": "FEMALE",
            "naturalSampleRateHertz": 24000,
        },
        {
            "languageCodes": ["de-DE"],
            "name": "de-DE-Wavenet-B",
            "ssmlGender": "MALE",
            "naturalSampleRateHertz": 24000,
        },
        {
            "languageCodes": ["cmn-CN"],
            "name": "cmn-CN-Standard-A",
            "ssmlGender": "FEMALE",
            "naturalSampleRateHertz": 24000,
        },
    ]
}
VOICE_IDS = [v["name"] for v in VOICES["voices"]]


def _listing(category: Category, timeout: float = 5.0) -> ProviderListing:
    return GOOGLE.list_models(category, timeout=timeout)


def _ids(category: Category) -> list[str]:
    return [m.model_id for m in _listing(category).models]


# --- classification -------------------------------------------------------------------------


def test_gemini_text_listing_keeps_only_text_generators(server: StandInServer) -> None:
    standin.install(server, LISTING)
    assert _ids(Category.TEXT) == TEXT_IDS


@pytest.mark.parametrize(
    "model_id",
    [
        "gemini-embedding-001",
        "text-embedding-004",
        "aqa",
        "imagen-4.0-generate-001",
        "veo-3.0-generate-001",
        "gemini-2.5-flash-image",
        "nano-banana-pro-preview",
        "gemini-2.0-flash-exp-image-generation",
        "gemini-2.5-flash-native-audio-latest",
        "gemini-live-2.5-flash-preview",
        "gemini-2.5-flash-preview-tts",
    ],
)
def test_gemini_non_text_models_are_not_listed_as_text(
    server: StandInServer, model_id: str
) -> None:
    standin.install(server, LISTING)
    assert model_id not in _ids(Category.TEXT)


def test_gemini_embedding_models_are_not_listed_as_text(server: StandInServer) -> None:
    standin.install(server, LISTING)
    ids = _ids(Category.TEXT) + _ids(Category.TTS)
    assert not [i for i in ids if "embedding" in i]


def test_tts_listing_is_gemini_tts_models_then_cloud_tts_voices(server: StandInServer) -> None:
    standin.install(server, LISTING)
    standin.install_cloud_tts(server, VOICES)
    listing = _listing(Category.TTS)
    assert [m.model_id for m in listing.models] == GEMINI_TTS_IDS + VOICE_IDS
    assert listing.complete and listing.warnings == []
    assert listing.pages == 2  # one Gemini page, one Cloud TTS body


# --- normalisation --------------------------------------------------------------------------


def test_gemini_ids_drop_the_models_prefix_and_metadata_keeps_the_wire_entry(
    server: StandInServer,
) -> None:
    standin.install(server, LISTING)
    by_id = {m.model_id: m for m in _listing(Category.TEXT).models}
    gemma = by_id["gemma-3-27b-it"]
    assert gemma.display_name == "Gemma 3 27B"
    assert gemma.description == "Description of gemma-3-27b-it"
    assert gemma.context_window == 131072
    assert gemma.supports_streaming is True and gemma.retires_at is None
    assert gemma.metadata["name"] == "models/gemma-3-27b-it"
    assert gemma.metadata["supportedGenerationMethods"] == ["generateContent", "countTokens"]
    assert gemma.metadata["inputTokenLimit"] == 131072
    assert gemma.metadata["service"] == "gemini-api"
    assert "tunedModelInfo" not in gemma.metadata and "_id" not in gemma.metadata
    json.dumps(gemma.metadata)


def test_gemini_repeated_ids_keep_the_first_entry(server: StandInServer) -> None:
    standin.install(server, LISTING)
    flash = [m for m in _listing(Category.TEXT).models if m.model_id == "gemini-2.5-flash"]
    assert len(flash) == 1 and flash[0].display_name == "Gemini 2.5 Flash"


def test_cloud_tts_voices_get_readable_names_and_raw_metadata(server: StandInServer) -> None:
    standin.install(server, LISTING)
    standin.install_cloud_tts(server, VOICES)
    by_id = {m.model_id: m for m in _listing(Category.TTS).models}
    assert by_id["Achernar"].display_name == "Achernar (en-US, Female)"
    assert by_id["en-US-Chirp3-HD-Achernar"].display_name == "Chirp3 HD Achernar (en-US, Female)"
    assert by_id["de-DE-Wavenet-B"].display_name == "Wavenet B (de-DE, Male)"
    assert by_id["de-DE-Wavenet-B"].description == "Cloud Text-to-Speech voice for de-DE, 24000 Hz"
    # Cloud TTS streams Chirp 3 HD voices only.
    assert by_id["en-US-Chirp3-HD-Achernar"].supports_streaming is True
    assert by_id["de-DE-Wavenet-B"].supports_streaming is False
    assert by_id["cmn-CN-Standard-A"].metadata == {
        **VOICES["voices"][3],
        "service": "cloud-tts",
    }
    assert by_id["gemini-2.5-pro-preview-tts"].context_window == 8192


# --- requests -------------------------------------------------------------------------------


def test_gemini_listing_follows_every_page_token(server: StandInServer) -> None:
    standin.install(server, LISTING, page_size=3)
    listing = _listing(Category.TEXT)
    assert [m.model_id for m in listing.models] == TEXT_IDS
    requests = server.requests_to(MODELS_PATH)
    pages = math.ceil(len(LISTING["models"]) / 3)
    assert listing.pages == len(requests) == pages
    assert requests[0].param("pageToken") is None
    assert all(r.param("pageToken") for r in requests[1:])
    assert len({r.param("pageToken") for r in requests[1:]}) == pages - 1


def test_google_keys_travel_in_headers_never_in_urls(server: StandInServer) -> None:
    standin.install(server, LISTING)
    standin.install_cloud_tts(server, VOICES)
    _listing(Category.TTS)
    assert [r.path for r in server.requests] == [MODELS_PATH, VOICES_PATH]
    for request in server.requests:
        assert request.headers["x-goog-api-key"] == KEY
        assert "key" not in request.query
        assert KEY not in json.dumps(request.query)


def test_cloud_tts_empty_body_adds_no_voices(server: StandInServer) -> None:
    standin.install(server, LISTING)
    standin.install_cloud_tts(server, {})
    listing = _listing(Category.TTS)
    assert [m.model_id for m in listing.models] == GEMINI_TTS_IDS and listing.complete


# --- faults ---------------------------------------------------------------------------------


def test_gemini_failing_tts_listing_raises_even_when_cloud_tts_works(
    server: StandInServer,
) -> None:
    standin.install(server, LISTING)
    standin.install_cloud_tts(server, VOICES)
    server.fail(MODELS_PATH, StandInResponse(401, {"error": {"message": f"bad key {KEY}"}}))
    with pytest.raises(KeyRejectedError, match="GEMINI_API_KEY"):
        _listing(Category.TTS, timeout=FAULT_TIMEOUT)


@pytest.mark.parametrize(
    "response",
    [
        StandInResponse(
            403,
            {"error": {"code": 403, "message": f"Cloud TTS API disabled for key {KEY}"}},
            {"X-Echoed-Key": KEY},
        ),
        StandInResponse(500, {"error": {"message": "boom"}}),
        StandInResponse(200, {"voices": []}, delay=FAULT_TIMEOUT + 0.6),
        StandInResponse(200, "{not json"),
    ],
    ids=["403 echoing the key", "500", "timeout", "malformed JSON"],
)
def test_cloud_tts_failure_keeps_gemini_tts_models_but_marks_the_listing_incomplete(
    server: StandInServer, caplog: pytest.LogCaptureFixture, response: StandInResponse
) -> None:
    capture_everything(caplog)
    standin.install(server, LISTING)
    standin.install_cloud_tts(server, VOICES)
    server.fail(VOICES_PATH, response)
    listing = _listing(Category.TTS, timeout=FAULT_TIMEOUT)
    assert [m.model_id for m in listing.models] == GEMINI_TTS_IDS
    assert listing.complete is False
    (warning,) = listing.warnings
    assert "Cloud Text-to-Speech" in warning and "nothing is deprecated" in warning
    assert KEY not in warning and KEY not in repr(listing)
    assert KEY not in caplog.text


def test_google_stand_ins_reject_requests_without_a_key(server: StandInServer) -> None:
    standin.install(server, LISTING)
    standin.install_cloud_tts(server, VOICES)
    for path in (MODELS_PATH, VOICES_PATH):
        answer = httpx.get(f"{server.origin}{path}")
        assert answer.status_code == 403
        assert answer.json()["error"]["status"] == "PERMISSION_DENIED"


def test_gemini_stand_in_rejects_an_unknown_page_token(server: StandInServer) -> None:
    standin.install(server, LISTING, page_size=2)
    answer = httpx.get(
        f"{server.origin}{MODELS_PATH}",
        params={"pageToken": "bogus"},
        headers={"x-goog-api-key": KEY},
    )
    assert answer.status_code == 400


# --- recorded listings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "text_count"),
    [("gemini_models.json", 21), ("gemini_models_page1.json", 33)],
)
def test_gemini_recorded_listings_split_into_text_and_tts(
    server: StandInServer, fixture: str, text_count: int
) -> None:
    body = recorded(fixture)
    standin.install(server, body, page_size=20)
    standin.install_cloud_tts(server, {})
    text = _ids(Category.TEXT)
    tts = _ids(Category.TTS)
    # Counted by reading the files. gemini_models.json: 44 entries = 21 text generators
    # (Gemini 2.0-3.1, Gemma), 2 TTS, and 21 others (5 image incl. nano-banana-pro-preview,
    # 1 embedding, aqa, 3 Imagen, 5 Veo, 3 native audio, robotics-ER, computer-use,
    # deep-research). gemini_models_page1.json (the first page only: its recorded
    # nextPageToken is not served): 50 = 33 text, 2 TTS, 15 others (6 embedding, 2 image,
    # aqa, 4 Imagen, robotics-ER, computer-use).
    assert len(text) == text_count
    assert tts == ["gemini-2.5-flash-preview-tts", "gemini-2.5-pro-preview-tts"]
    assert not set(text) & set(tts)
    assert "gemini-2.5-flash" in text and "aqa" not in text
    assert not [i for i in text if "image" in i or "embedding" in i or "banana" in i]


def test_cloud_tts_recorded_voices_are_all_listed_quickly(server: StandInServer) -> None:
    body = recorded("google_tts_voices.json")
    standin.install(server, recorded("gemini_models.json"))
    standin.install_cloud_tts(server, body)
    listing = _listing(Category.TTS)
    voices = [m for m in listing.models if m.metadata.get("service") == "cloud-tts"]
    # 2006 voices with unique names; 1508 Chirp3-HD and 30 Chirp-HD stream.
    assert len(voices) == 2006
    assert len(listing.models) == 2008 and listing.complete
    assert sum(m.supports_streaming for m in voices) == 1508 + 30
    by_id = {m.model_id: m for m in voices}
    assert by_id["Achernar"].display_name == "Achernar (en-US, Female)"
