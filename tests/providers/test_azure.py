"""The Azure Speech adapter (httpx) against a stand-in `/cognitiveservices/voices/list`."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from registry.errors import MissingKeyError
from registry.providers.azure import AzureAdapter, voices_origin
from registry.providers.base import Credentials
from registry.standin import azure as standin
from registry.standin.server import StandInServer
from registry.types import Category

from .adapter_cases import ADAPTERS, KEY, AdapterCase, recorded

AZURE = ADAPTERS["azure"]
VOICES_PATH = "/cognitiveservices/voices/list"


@pytest.fixture
def adapter() -> AdapterCase:
    return AZURE


def _voice(short: str, display: str, gender: str, status: str = "GA", **extra: Any) -> Any:
    locale = "-".join(short.split("-")[:2])
    return {
        "Name": f"Microsoft Server Speech Text to Speech Voice ({locale}, {short[6:]})",
        "DisplayName": display,
        "LocalName": display,
        "ShortName": short,
        "Gender": gender,
        "Locale": locale,
        "LocaleName": {"en-US": "English (United States)", "en-GB": "English (United Kingdom)"}.get(
            locale, locale
        ),
        "SampleRateHertz": "24000",
        "VoiceType": "Neural",
        "Status": status,
        **extra,
    }


LISTING: list[Any] = [
    _voice(
        "en-US-JennyNeural",
        "Jenny",
        "Female",
        StyleList=["assistant", "chat"],
        WordsPerMinute="152",
    ),
    _voice("en-US-GuyNeural", "Guy", "Male", status="Preview"),
    _voice("en-GB-MiaNeural", "Mia", "Female", status="Deprecated"),
    {
        **_voice("de-DE-Florian:DragonHDLatestNeural", "Florian Dragon HD Latest", "Male"),
        "Locale": "de-DE",
        "LocaleName": "German (Germany)",
        "VoiceType": "NeuralHD",
        "SecondaryLocaleList": ["en-US", "fr-FR"],
    },
    _voice("en-US-JennyNeural", "Jenny again", "Female"),
]
VOICE_IDS = [
    "en-US-JennyNeural",
    "en-US-GuyNeural",
    "en-GB-MiaNeural",
    "de-DE-Florian:DragonHDLatestNeural",
]


def test_azure_every_voice_is_a_tts_entry_keyed_by_short_name(server: StandInServer) -> None:
    standin.install(server, LISTING)
    listing = AZURE.list_models()
    assert [m.model_id for m in listing.models] == VOICE_IDS
    assert listing.complete and listing.pages == 1


def test_azure_voices_get_readable_names_and_keep_the_raw_entry(server: StandInServer) -> None:
    standin.install(server, LISTING)
    by_id = {m.model_id: m for m in AZURE.list_models().models}
    jenny = by_id["en-US-JennyNeural"]
    assert jenny.display_name == "Jenny (en-US, Female)"  # the first of the repeated id
    assert jenny.description == "English (United States), Neural voice"
    assert jenny.supports_streaming is True
    assert jenny.context_window is None and jenny.retires_at is None
    assert jenny.metadata == LISTING[0]
    assert {"Locale", "Gender", "VoiceType", "Status"} <= set(jenny.metadata)
    json.dumps(jenny.metadata)
    assert by_id["en-US-GuyNeural"].description == "English (United States), Neural voice, Preview"
    florian = by_id["de-DE-Florian:DragonHDLatestNeural"]
    assert florian.display_name == "Florian Dragon HD Latest (de-DE, Male)"
    assert florian.metadata["VoiceType"] == "NeuralHD"


def test_azure_deprecated_voice_stays_listed_and_is_flagged_in_metadata(
    server: StandInServer,
) -> None:
    standin.install(server, LISTING)
    by_id = {m.model_id: m for m in AZURE.list_models().models}
    mia = by_id["en-GB-MiaNeural"]
    assert mia.metadata["Status"] == "Deprecated" and mia.metadata["deprecated"] is True
    assert mia.description == "English (United Kingdom), Neural voice, Deprecated"
    assert "deprecated" not in by_id["en-US-JennyNeural"].metadata


def test_azure_sends_the_key_in_the_subscription_header(server: StandInServer) -> None:
    standin.install(server, LISTING)
    AZURE.list_models()
    (request,) = server.requests
    assert request.path == VOICES_PATH
    assert request.headers["ocp-apim-subscription-key"] == KEY
    assert request.query == {}


def test_azure_default_host_is_the_regions_tts_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGISTRY_AZURE_BASE_URL", raising=False)
    assert voices_origin("westeurope") == "https://westeurope.tts.speech.microsoft.com"
    assert voices_origin(" EastUS2 ") == "https://eastus2.tts.speech.microsoft.com"


@pytest.mark.parametrize("region", [None, "", "   "])
def test_azure_without_a_region_says_to_set_azure_speech_region(
    monkeypatch: pytest.MonkeyPatch, region: str | None
) -> None:
    monkeypatch.delenv("REGISTRY_AZURE_BASE_URL", raising=False)
    with pytest.raises(MissingKeyError, match="AZURE_SPEECH_REGION") as caught:
        AzureAdapter().list_models(Category.TTS, Credentials(KEY, region), timeout=5)
    assert KEY not in str(caught.value)


@pytest.mark.parametrize("region", ["evil.example/x", "west europe", "a:1", "x@y"])
def test_azure_region_that_is_not_a_region_name_is_refused(
    monkeypatch: pytest.MonkeyPatch, region: str
) -> None:
    monkeypatch.delenv("REGISTRY_AZURE_BASE_URL", raising=False)
    with pytest.raises(MissingKeyError, match="AZURE_SPEECH_REGION"):
        AzureAdapter().list_models(Category.TTS, Credentials(KEY, region), timeout=5)


def test_azure_base_url_makes_the_region_optional(server: StandInServer) -> None:
    standin.install(server, LISTING)
    listing = AzureAdapter().list_models(Category.TTS, Credentials(KEY), timeout=5)
    assert len(listing.models) == len(VOICE_IDS)


def test_azure_stand_in_rejects_requests_without_a_key(server: StandInServer) -> None:
    standin.install(server, LISTING)
    assert httpx.get(f"{server.origin}{VOICES_PATH}").status_code == 401


def test_azure_recorded_voices_are_all_listed(server: StandInServer) -> None:
    standin.install(server, recorded("azure_voices.json"))
    models = AZURE.list_models().models
    # Counted by reading the file: 600 voices with unique ShortNames in 154 locales;
    # Neural 565, NeuralHD 35; Status GA 554, Preview 45, Deprecated 1 (en-GB-MiaNeural).
    assert len(models) == 600
    assert len({m.metadata["Locale"] for m in models}) == 154
    assert [m.model_id for m in models if m.metadata.get("deprecated")] == ["en-GB-MiaNeural"]
    assert sum(m.metadata["VoiceType"] == "NeuralHD" for m in models) == 35
    by_id = {m.model_id: m for m in models}
    assert by_id["af-ZA-AdriNeural"].display_name == "Adri (af-ZA, Female)"
