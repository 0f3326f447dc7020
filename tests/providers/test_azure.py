"""The Azure Speech adapter (httpx) against a stand-in `/cognitiveservices/voices/list`."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from registry.errors import InvalidInputError, MissingKeyError, ProviderRateLimitedError
from registry.errors import ProviderServerError as ServerError
from registry.providers.azure import AzureAdapter, voices_origin
from registry.providers.base import Credentials, ProviderListing
from registry.standin import azure as standin
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
VOICES_PATH = "/cognitiveservices/voices/list"


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
REGION = "westeurope"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    with StandInServer() as stand_in:
        monkeypatch.setenv("REGISTRY_AZURE_BASE_URL", stand_in.origin)
        yield stand_in


def _listing(timeout: float = 5.0) -> ProviderListing:
    return AzureAdapter().list_models(Category.TTS, Credentials(KEY, REGION), timeout=timeout)


def test_azure_every_voice_is_a_tts_entry_keyed_by_short_name(server: StandInServer) -> None:
    standin.install(server, LISTING)
    listing = _listing()
    assert [m.model_id for m in listing.models] == VOICE_IDS
    assert listing.complete and listing.pages == 1


def test_azure_voices_get_readable_names_and_keep_the_raw_entry(server: StandInServer) -> None:
    standin.install(server, LISTING)
    by_id = {m.model_id: m for m in _listing().models}
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
    by_id = {m.model_id: m for m in _listing().models}
    mia = by_id["en-GB-MiaNeural"]
    assert mia.metadata["Status"] == "Deprecated" and mia.metadata["deprecated"] is True
    assert mia.description == "English (United Kingdom), Neural voice, Deprecated"
    assert "deprecated" not in by_id["en-US-JennyNeural"].metadata


def test_azure_sends_the_key_in_the_subscription_header(server: StandInServer) -> None:
    standin.install(server, LISTING)
    _listing()
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


def test_azure_empty_voice_list_returns_an_empty_listing(server: StandInServer) -> None:
    standin.install(server, [])
    listing = _listing()
    assert listing.models == [] and listing.complete


@pytest.mark.parametrize("name", list(fault_cases(LISTING)))
def test_azure_faults_raise_the_right_error_without_the_key(
    server: StandInServer, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    capture_everything(caplog)
    fault = fault_cases(LISTING)[name]
    standin.install(server, LISTING)
    server.fail(VOICES_PATH, fault.response)
    with pytest.raises(fault.error) as caught:
        _listing(timeout=FAULT_TIMEOUT)
    assert caught.value.provider == "azure"
    if isinstance(caught.value, ProviderRateLimitedError):
        assert caught.value.retry_after == 7
    assert_key_hidden(caught.value, caplog)


def test_azure_unreachable_host_is_a_server_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    capture_everything(caplog)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("REGISTRY_AZURE_BASE_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(ServerError) as caught:
        _listing(timeout=FAULT_TIMEOUT)
    assert_key_hidden(caught.value, caplog)


def test_azure_without_a_key_asks_for_one(server: StandInServer) -> None:
    standin.install(server, LISTING)
    with pytest.raises(MissingKeyError, match="AZURE_SPEECH_KEY"):
        AzureAdapter().list_models(Category.TTS, Credentials("", REGION), timeout=5)
    assert server.requests == []


def test_azure_lists_no_text_models() -> None:
    with pytest.raises(InvalidInputError):
        AzureAdapter().list_models(Category.TEXT, Credentials(KEY, REGION), timeout=5)


def test_azure_stand_in_rejects_requests_without_a_key(server: StandInServer) -> None:
    import httpx

    standin.install(server, LISTING)
    assert httpx.get(f"{server.origin}{VOICES_PATH}").status_code == 401


def test_azure_recorded_voices_are_all_listed(server: StandInServer) -> None:
    path = SHARED / "azure_voices.json"
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    body = json.loads(path.read_text(encoding="utf-8"))
    standin.install(server, body)
    models = _listing().models
    # Counted by reading the file: 600 voices with unique ShortNames in 154 locales;
    # Neural 565, NeuralHD 35; Status GA 554, Preview 45, Deprecated 1 (en-GB-MiaNeural).
    assert len(models) == 600
    assert len({m.metadata["Locale"] for m in models}) == 154
    assert [m.model_id for m in models if m.metadata.get("deprecated")] == ["en-GB-MiaNeural"]
    assert sum(m.metadata["VoiceType"] == "NeuralHD" for m in models) == 35
    by_id = {m.model_id: m for m in models}
    assert by_id["af-ZA-AdriNeural"].display_name == "Adri (af-ZA, Female)"
