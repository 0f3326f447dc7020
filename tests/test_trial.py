"""Trying a model: voice facts, voice samples and a text test, through the real SDKs against
the stand-in servers (`registry.trial`)."""

from __future__ import annotations

import http.server
import io
import socket
import threading
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest

from registry import trial
from registry.db import Database
from registry.demo import StandInProviders, load_fixture
from registry.discovery import discover_models
from registry.errors import MissingKeyError, ProviderError, ProviderTimeoutError
from registry.providers.common import listing_client
from registry.standin import StandInResponse
from registry.standin.audio import SILENT_MP3
from registry.standin.server import StandInServer
from registry.store import get_model_by_provider_id
from registry.types import CatalogModel

RACHEL = "21m00Tcm4TlvDq8ikWAM"
SPEECH_PATH = f"/v1/text-to-speech/{RACHEL}"
PREVIEW_PATH = f"/previews/{RACHEL}.mp3"


@pytest.fixture(scope="module")
def standins() -> Iterator[StandInProviders]:
    with StandInProviders() as providers:
        yield providers


@pytest.fixture
def providers(
    standins: StandInProviders, monkeypatch: pytest.MonkeyPatch, sqlite_database: Database
) -> StandInProviders:
    """Every provider played by its stand-in (fresh listings, no recorded requests)."""
    for name, server in standins.servers.items():
        server.reset()
        standins.serve(name, load_fixture(name))
    for name, value in standins.environment().items():
        monkeypatch.setenv(name, value)
    trial.clear_sample_cache()
    return standins


def _voice(provider: str, model_id: str) -> CatalogModel:
    discover_models("tts", [provider], force=True)
    return get_model_by_provider_id(provider, model_id, "tts")


def _elevenlabs(providers: StandInProviders) -> StandInServer:
    return providers.servers["elevenlabs"]


# --- facts ----------------------------------------------------------------------------------


def test_voice_facts_read_each_providers_listing(providers: StandInProviders) -> None:
    rachel = trial.voice_facts(_voice("elevenlabs", RACHEL))
    assert (rachel.name, rachel.gender) == ("Rachel", "Female")
    assert rachel.labels[:3] == ("premade", "american", "calm")

    sonia = trial.voice_facts(_voice("azure", "en-GB-SoniaNeural"))
    assert (sonia.name, sonia.locale, sonia.gender) == ("Sonia", "en-GB", "Female")
    assert sonia.labels == ("Neural", "cheerful", "sad")

    achernar = trial.voice_facts(_voice("google", "en-US-Chirp3-HD-Achernar"))
    assert (achernar.name, achernar.locale, achernar.gender) == ("Achernar", "en-US", "Female")
    assert achernar.labels == ("Chirp3 HD", "24000 Hz")

    openai_tts = trial.voice_facts(get_model_by_provider_id("openai", "tts-1", "tts"))
    assert openai_tts.locale == "multilingual" and "alloy" in openai_tts.labels[-1]


# --- samples --------------------------------------------------------------------------------


def test_a_voice_with_a_preview_plays_it_without_sending_the_key(
    providers: StandInProviders,
) -> None:
    sample = trial.voice_sample(_voice("elevenlabs", RACHEL))
    assert (sample.source, sample.mime, sample.audio) == ("preview", "audio/mpeg", SILENT_MP3)
    (fetched,) = _elevenlabs(providers).requests_to(PREVIEW_PATH)
    assert "xi-api-key" not in fetched.headers and "authorization" not in fetched.headers
    assert not _elevenlabs(providers).requests_to(SPEECH_PATH)


def test_samples_are_cached_per_voice(providers: StandInProviders) -> None:
    rachel = _voice("elevenlabs", RACHEL)
    first = trial.voice_sample(rachel)
    assert trial.voice_sample(rachel) is first
    assert len(_elevenlabs(providers).requests_to(PREVIEW_PATH)) == 1


def test_a_voice_without_a_preview_is_synthesised_with_the_stored_key(
    providers: StandInProviders,
) -> None:
    sample = trial.voice_sample(_voice("azure", "en-GB-SoniaNeural"))
    assert (sample.source, sample.audio) == ("synthesis", SILENT_MP3)
    (request,) = providers.servers["azure"].requests_to("/cognitiveservices/v1")
    assert request.headers["ocp-apim-subscription-key"] == "demo-azure-key-0000"
    assert b'<voice name="en-GB-SoniaNeural">' in request.body
    assert b'xml:lang="en-GB"' in request.body


def test_each_tts_provider_synthesises_a_playable_sample(providers: StandInProviders) -> None:
    cloud = trial.voice_sample(_voice("google", "en-US-Chirp3-HD-Achernar"))
    assert (cloud.source, cloud.audio) == ("synthesis", SILENT_MP3)
    gemini = trial.voice_sample(
        get_model_by_provider_id("google", "gemini-2.5-flash-preview-tts", "tts")
    )
    with wave.open(io.BytesIO(gemini.audio)) as played:
        assert (gemini.mime, played.getframerate(), played.getnframes()) == (
            "audio/wav",
            24000,
            4800,
        )
    openai_tts = trial.voice_sample(get_model_by_provider_id("openai", "tts-1", "tts"))
    assert (openai_tts.mime, openai_tts.audio) == ("audio/mpeg", SILENT_MP3)


def test_a_preview_on_a_foreign_origin_is_not_fetched(providers: StandInProviders) -> None:
    rachel = _voice("elevenlabs", RACHEL)
    with StandInServer() as foreign:
        foreign.route(PREVIEW_PATH, lambda _r: StandInResponse(body=SILENT_MP3))
        moved = (rachel.provider_metadata or {}) | {
            "preview_url": f"{foreign.origin}{PREVIEW_PATH}"
        }
        sample = trial.voice_sample(replace(rachel, provider_metadata=moved))
        assert not foreign.requests  # plain http to another host: refused before any request
    assert sample.source == "synthesis"
    (spoken,) = _elevenlabs(providers).requests_to(SPEECH_PATH)
    assert spoken.headers["xi-api-key"] == "demo-elevenlabs-key-0000"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http(s)"),
        ("https://127.0.0.1:9/x.mp3", "not a public address"),
        ("https://169.254.169.254/latest", "not a public address"),
        ("http://example.invalid/x.mp3", "only https"),
    ],
)
def test_preview_urls_that_could_reach_inside_are_refused(url: str, reason: str) -> None:
    refusal = trial.preview_refusal("elevenlabs", url)
    assert refusal is not None and reason in refusal


def test_a_preview_redirect_to_another_host_is_not_followed(providers: StandInProviders) -> None:
    with StandInServer() as foreign:
        foreign.route(PREVIEW_PATH, lambda _r: StandInResponse(body=SILENT_MP3))
        moved = StandInResponse(302, headers={"Location": f"{foreign.origin}{PREVIEW_PATH}"})
        _elevenlabs(providers).fail(PREVIEW_PATH, moved)
        with pytest.raises(ProviderError, match="redirected the preview to another host"):
            trial.fetch_preview(
                "elevenlabs", f"{_elevenlabs(providers).origin}{PREVIEW_PATH}", timeout=5
            )
        assert not foreign.requests


class _Answering(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.hits += 1  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(len(SILENT_MP3)))
        self.end_headers()
        self.wfile.write(SILENT_MP3)

    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def _loopback_pair() -> Iterator[tuple[Any, Any]]:
    """Two servers on one port: the address the check approved (127.0.0.2) and the one a
    rebinding name points to a moment later (127.0.0.1)."""
    for _ in range(20):
        checked = http.server.ThreadingHTTPServer(("127.0.0.2", 0), _Answering)
        try:
            inside = http.server.ThreadingHTTPServer(
                ("127.0.0.1", checked.server_address[1]), _Answering
            )
        except OSError:  # that port is taken on 127.0.0.1: try another
            checked.server_close()
            continue
        break
    servers = (checked, inside)
    for server in servers:
        server.hits = 0  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield servers
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_a_preview_fetch_connects_to_the_checked_address_not_a_rebound_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the name now resolves inside, but the fetch goes where the check looked."""
    real = socket.getaddrinfo

    def rebound(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == "voices.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebound)
    with _loopback_pair() as (checked, inside):
        url = f"http://voices.example:{checked.server_address[1]}/preview.mp3"
        with listing_client(timeout=5, pinned=("voices.example", "127.0.0.2")) as client:
            assert client.get(url).content == SILENT_MP3
        assert (checked.hits, inside.hits) == (1, 0)
        with listing_client(timeout=5) as client:  # unpinned, the rebound name is followed
            client.get(url)
        assert inside.hits == 1
        with (
            listing_client(timeout=5, pinned=("voices.example", "127.0.0.2")) as client,
            pytest.raises(httpx.ConnectError, match=r"only voices\.example"),
        ):
            client.get(f"http://elsewhere.example:{checked.server_address[1]}/")


def test_an_oversized_sample_is_refused(providers: StandInProviders) -> None:
    huge = StandInResponse(body=b"\xff" * (3 * 1024 * 1024), headers={"Content-Type": "audio/mpeg"})
    providers.servers["azure"].fail("/cognitiveservices/v1", huge, method="POST")
    with pytest.raises(ProviderError, match="the sample is larger than 2 MB"):
        trial.voice_sample(_voice("azure", "en-GB-SoniaNeural"))


def test_a_slow_sample_is_given_up_in_time(providers: StandInProviders) -> None:
    slow = StandInResponse(
        chunks=[SILENT_MP3] * 50, chunk_delay=0.2, headers={"Content-Type": "audio/mpeg"}
    )
    providers.servers["azure"].fail("/cognitiveservices/v1", slow, method="POST")
    with pytest.raises(ProviderTimeoutError, match="within 1 s"):
        trial.voice_sample(_voice("azure", "en-GB-SoniaNeural"), timeout=1)


def test_a_rejected_key_is_reported_without_the_key(providers: StandInProviders) -> None:
    echo = StandInResponse(401, body='{"detail": "bad key demo-azure-key-0000"}')
    providers.servers["azure"].fail("/cognitiveservices/v1", echo, method="POST")
    with pytest.raises(ProviderError) as caught:
        trial.voice_sample(_voice("azure", "en-GB-SoniaNeural"))
    assert "API key was rejected" in str(caught.value)
    assert "demo-azure-key" not in str(caught.value)


def test_a_voice_without_preview_or_key_says_which_key_is_missing(
    providers: StandInProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    sonia = _voice("azure", "en-GB-SoniaNeural")
    monkeypatch.delenv("AZURE_SPEECH_KEY")
    with pytest.raises(MissingKeyError, match="AZURE_SPEECH_KEY"):
        trial.voice_sample(sonia)


# --- text -----------------------------------------------------------------------------------

CURATED_TEXT = {
    "openai": "gpt-5.4-mini",
    "google": "gemini-3.5-flash-lite",
    "anthropic": "claude-sonnet-4-6",
    "mistral": "mistral-medium-latest",
    "xai": "grok-4-1-fast-non-reasoning",
    "openrouter": "openai/gpt-4o-mini",
}


@pytest.mark.parametrize("provider", list(CURATED_TEXT))
def test_each_text_provider_answers_a_short_prompt_with_its_latency(
    providers: StandInProviders, provider: str
) -> None:
    model = get_model_by_provider_id(provider, CURATED_TEXT[provider], "text")
    result = trial.test_text_model(model)
    assert "stand-in" in result.answer and CURATED_TEXT[provider] in result.answer
    assert 0 <= result.latency_ms < 10_000


def test_the_text_test_asks_for_few_tokens(providers: StandInProviders) -> None:
    trial.test_text_model(get_model_by_provider_id("anthropic", "claude-sonnet-4-6", "text"))
    (request,) = providers.servers["anthropic"].requests_to("/v1/messages")
    body = request.json()
    assert body["max_tokens"] == trial.TEST_MAX_TOKENS
    assert body["messages"] == [{"role": "user", "content": trial.TEST_PROMPT}]


def test_a_text_test_that_times_out_says_so(providers: StandInProviders) -> None:
    stalled = StandInResponse(
        chunks=[b"{"], then_stall=True, headers={"Content-Type": "application/json"}
    )
    providers.servers["openrouter"].fail("/api/v1/chat/completions", stalled, method="POST")
    model = get_model_by_provider_id("openrouter", "openai/gpt-4o-mini", "text")
    with pytest.raises(ProviderTimeoutError):
        trial.test_text_model(model, timeout=1)
