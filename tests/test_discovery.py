"""Discovery end to end: real adapters and SDKs against stand-in servers, on both backends."""

from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from registry.cli import main as cli_main
from registry.db import Database
from registry.demo import StandInProviders, load_fixture
from registry.discovery import CURATED_NO_KEY_NOTE, discover_models, get_discovery_state
from registry.keys import set_api_key
from registry.standin import StandInRequest, StandInResponse, json_response
from registry.store import (
    ModelFilter,
    get_model_by_provider_id,
    list_models,
    update_model_status,
)
from registry.types import ModelSource, ModelStatus

# Where each provider's listing lives on its stand-in, for fault injection.
LISTING_PATHS = {
    "openai": "/v1/models",
    "google": "/v1beta/models",
    "anthropic": "/v1/models",
    "mistral": "/v1/models",
    "xai": "/v1/models",
    "openrouter": "/api/v1/models",
    "elevenlabs": "/v2/voices",
    "azure": "/cognitiveservices/voices/list",
}
TEXT = ["openai", "google", "anthropic", "mistral", "xai", "openrouter"]
TTS = ["openai", "google", "elevenlabs", "azure"]


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInProviders]:
    with StandInProviders(page_size=3) as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        yield standins


def _ids(provider: str, category: str, status: str | None = None) -> set[str]:
    return {
        m.model_id
        for m in list_models(ModelFilter(provider=provider, category=category, status=status))
    }


def _without(name: str, model_id: str) -> Any:
    body = copy.deepcopy(load_fixture(name))
    key = "data" if "data" in body else "models"
    body[key] = [
        e for e in body[key] if e.get("id") != model_id and e.get("name") != f"models/{model_id}"
    ]
    return body


def test_first_text_refresh_adds_only_text_generators_as_pending(
    database: Database, providers: StandInProviders
) -> None:
    report = discover_models("text")
    assert [r.provider for r in report.results] == TEXT
    assert report.total_errors == 0, report.to_json()
    assert all(r.source is ModelSource.API for r in report.results)
    pending = _ids("openai", "text", "pending")
    assert {"o3", "o4-mini", "gpt-5.4-nano"} <= pending
    everything = _ids("openai", "text")
    for not_text in (
        "text-embedding-3-small",
        "dall-e-3",
        "whisper-1",
        "tts-1",
        "omni-moderation-latest",
    ):
        assert not_text not in everything
    gemini = _ids("google", "text")
    assert "gemini-embedding-001" not in gemini and "imagen-4.0-generate-001" not in gemini
    assert "gemini-2.5-flash-preview-tts" not in gemini
    # Curated models the API lists stay enabled (an admin's catalog is never downgraded).
    assert get_model_by_provider_id("openai", "gpt-4o", "text").status is ModelStatus.ENABLED
    assert get_model_by_provider_id("openai", "gpt-4o", "text").source is ModelSource.API
    # Every page was fetched: the Anthropic stand-in serves 3 per page.
    assert len(providers.servers["anthropic"].requests_to("/v1/models")) >= 3
    assert _ids("anthropic", "text") >= {m["id"] for m in load_fixture("anthropic")["data"]}


def test_tts_refresh_lists_voices_and_speech_models(
    database: Database, providers: StandInProviders
) -> None:
    report = discover_models("tts")
    assert report.total_errors == 0, report.to_json()
    assert "29vD33N1CtxCmqQRPOHJ" in _ids("elevenlabs", "tts", "pending")  # Drew
    assert "de-DE-KatjaNeural" in _ids("azure", "tts", "pending")
    assert _ids("openai", "tts") == {"gpt-4o-mini-tts", "tts-1", "tts-1-hd"}
    google = _ids("google", "tts")
    assert "gemini-2.5-flash-preview-tts" in google
    assert any(voice.startswith("en-US-Chirp3-HD-") for voice in google)
    drew = get_model_by_provider_id("elevenlabs", "29vD33N1CtxCmqQRPOHJ", "tts")
    assert drew.display_name == "Drew" and drew.provider_metadata


def test_a_model_the_provider_dropped_becomes_deprecated_and_returns_as_pending(
    database: Database, providers: StandInProviders
) -> None:
    discover_models("text", ["openai"])
    providers.serve("openai", _without("openai", "gpt-4o"))
    report = discover_models("text", ["openai"], force=True)
    assert report.results[0].deprecated == ["gpt-4o"]
    gone = get_model_by_provider_id("openai", "gpt-4o", "text")
    assert gone.status is ModelStatus.DEPRECATED and gone.deprecated_at is not None
    providers.serve("openai", load_fixture("openai"))
    again = discover_models("text", ["openai"], force=True)
    assert again.results[0].returned == ["gpt-4o"]
    assert get_model_by_provider_id("openai", "gpt-4o", "text").status is ModelStatus.PENDING


def test_a_model_an_admin_retired_stays_deprecated_when_listed_again(
    database: Database, providers: StandInProviders
) -> None:
    discover_models("text", ["mistral"])
    retired = get_model_by_provider_id("mistral", "codestral-latest", "text")
    update_model_status(retired.id, "deprecated")
    discover_models("text", ["mistral"], force=True)
    assert get_model_by_provider_id("mistral", "codestral-latest", "text").status is (
        ModelStatus.DEPRECATED
    )


def test_disabled_models_stay_disabled_whether_listed_or_dropped(
    database: Database, providers: StandInProviders
) -> None:
    discover_models("text", ["xai"])
    grok3 = get_model_by_provider_id("xai", "grok-3", "text")
    update_model_status(grok3.id, "disabled")
    discover_models("text", ["xai"], force=True)
    assert get_model_by_provider_id("xai", "grok-3", "text").status is ModelStatus.DISABLED
    providers.serve("xai", _without("xai", "grok-3"))
    discover_models("text", ["xai"], force=True)
    assert get_model_by_provider_id("xai", "grok-3", "text").status is ModelStatus.DISABLED


def test_an_empty_listing_deprecates_nothing_and_says_why(
    database: Database, providers: StandInProviders
) -> None:
    discover_models("text", ["openai"])
    before = _ids("openai", "text", "enabled")
    providers.serve("openai", {"object": "list", "data": []})
    result = discover_models("text", ["openai"], force=True).results[0]
    assert result.deprecated == [] and result.errors == []
    assert any("the provider listed no models" in w for w in result.warnings)
    assert _ids("openai", "text", "enabled") == before


def test_a_listing_that_would_deprecate_most_models_is_not_trusted(
    database: Database, providers: StandInProviders
) -> None:
    discover_models("text", ["anthropic"])
    body = load_fixture("anthropic")
    body["data"] = body["data"][:1]
    providers.serve("anthropic", body)
    result = discover_models("text", ["anthropic"], force=True).results[0]
    assert result.deprecated == []
    assert any("more than 50%" in w for w in result.warnings)
    assert "claude-opus-4-6" in _ids("anthropic", "text", "enabled")


def test_a_failing_second_page_fails_that_provider_only_and_writes_nothing(
    database: Database, providers: StandInProviders
) -> None:
    providers.servers["anthropic"].fail(
        "/v1/models", json_response({"error": "boom"}, 500), after=1
    )
    report = discover_models("text")
    by_provider = {r.provider: r for r in report.results}
    assert by_provider["anthropic"].errors and "500" in by_provider["anthropic"].errors[0]
    assert _ids("anthropic", "text", "pending") == set()
    assert all(not r.errors for p, r in by_provider.items() if p != "anthropic")
    state = {s.provider: s for s in get_discovery_state("text")}
    assert state["anthropic"].outcome == "error" and state["anthropic"].last_success_at is None
    assert state["openai"].outcome in {"ok", "warning"} and state["openai"].last_success_at


def test_refresh_is_rate_limited_for_five_minutes_unless_forced(
    database: Database, providers: StandInProviders
) -> None:
    server = providers.servers["mistral"]
    first = discover_models("text", ["mistral"]).results[0]
    assert not first.rate_limited and first.next_refresh_at is not None
    calls = len(server.requests_to("/v1/models"))
    second = discover_models("text", ["mistral"]).results[0]
    assert second.rate_limited and "next refresh in" in second.warnings[0]
    assert len(server.requests_to("/v1/models")) == calls
    forced = discover_models("text", ["mistral"], force=True).results[0]
    assert not forced.rate_limited
    assert len(server.requests_to("/v1/models")) == calls + 1


def test_two_concurrent_refreshes_call_the_provider_once(
    database: Database, providers: StandInProviders
) -> None:
    server = providers.servers["xai"]
    body = load_fixture("xai")
    server.route("/v1/models", lambda _r: StandInResponse(200, body, delay=0.5))
    results = []
    threads = [
        threading.Thread(
            target=lambda: results.append(discover_models("text", ["xai"], force=True))
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(server.requests_to("/v1/models")) == 1
    skipped = [r.results[0] for r in results if r.results[0].rate_limited]
    assert len(skipped) == 1 and "another refresh" in skipped[0].warnings[0]


def test_missing_key_names_the_variable_and_openai_tts_uses_the_curated_list(
    database: Database, providers: StandInProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MISTRAL_API_KEY")
    monkeypatch.delenv("OPENAI_API_KEY")
    text = discover_models("text", ["mistral"]).results[0]
    assert "MISTRAL_API_KEY" in text.errors[0] and "API keys page" in text.errors[0]
    tts = discover_models("tts", ["openai"]).results[0]
    assert tts.source is ModelSource.CURATED and not tts.errors
    assert CURATED_NO_KEY_NOTE in tts.warnings
    assert providers.servers["openai"].requests_to("/v1/models") == []


def test_a_key_stored_between_refreshes_is_used_on_the_next_one(
    database: Database, providers: StandInProviders
) -> None:
    discover_models("text", ["openai"])
    set_api_key("openai", "sk-rotated-key-9876543210")
    discover_models("text", ["openai"], force=True)
    last = providers.servers["openai"].requests_to("/v1/models")[-1]
    assert last.headers["authorization"] == "Bearer sk-rotated-key-9876543210"


def test_admin_edits_survive_a_refresh(database: Database, providers: StandInProviders) -> None:
    from registry.store import edit_model

    discover_models("text", ["google"])
    model = get_model_by_provider_id("google", "gemma-3-27b-it", "text")
    edit_model(model.id, display_name="Gemma for drafts", description="ours")
    discover_models("text", ["google"], force=True)
    after = get_model_by_provider_id("google", "gemma-3-27b-it", "text")
    assert (after.display_name, after.description) == ("Gemma for drafts", "ours")


def test_discover_cli_prints_the_documented_json(
    database: Database, providers: StandInProviders, capsys: pytest.CaptureFixture[str]
) -> None:
    os.environ["REGISTRY_DATABASE_URL"] = database.url
    assert cli_main(["discover", "--category", "tts", "--provider", "azure", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"results", "total_new", "total_errors"}
    [result] = payload["results"]
    assert {
        "provider",
        "category",
        "source",
        "discovered",
        "new",
        "deprecated",
        "errors",
        "rate_limited",
    } <= set(result)
    assert result["provider"] == "azure" and result["source"] == "api"
    assert "de-DE-KatjaNeural" in result["new"] and payload["total_errors"] == 0
    assert cli_main(["discover", "--category", "text", "--provider", "azure"]) == 1
    assert "unknown provider 'azure' for category 'text'" in capsys.readouterr().err


# --- the fault matrix: every adapter × every way a provider can fail -----------------------

LEAKED_KEY = "sk-live-LEAK-ME-0123456789abcdef"


def _echo_key_401(request: StandInRequest) -> StandInResponse:
    """A 401 that echoes every credential it received, as real providers sometimes do."""
    echoed = {
        k: v
        for k, v in request.headers.items()
        if k
        in {
            "authorization",
            "x-api-key",
            "xi-api-key",
            "x-goog-api-key",
            "ocp-apim-subscription-key",
        }
    }
    echoed |= {k: v[0] for k, v in request.query.items()}
    return StandInResponse(
        401,
        {"error": {"message": f"Incorrect API key provided: {echoed}"}},
        headers={"x-echo": json.dumps(echoed)},
    )


# Generous enough for the healthy providers of the same run on a busy two-core machine.
MATRIX_TIMEOUT = 1.5
FAULTS: dict[str, Any] = {
    "timeout": StandInResponse(200, {}, delay=MATRIX_TIMEOUT + 1),
    "401 echoing the key": _echo_key_401,
    "429": StandInResponse(429, {"error": "slow down"}, headers={"Retry-After": "30"}),
    "500": StandInResponse(500, {"error": "internal"}),
    "malformed JSON": StandInResponse(
        200, b"{not json", headers={"Content-Type": "application/json"}
    ),
    "failing second page": "second-page",
    "empty list": "empty",
}
PAGINATED = {"google", "anthropic", "elevenlabs", "openrouter"}
EXPECTED = {
    "timeout": f"no answer within {MATRIX_TIMEOUT} s",
    "401 echoing the key": "rejected",
    "429": "rate limited",
    "500": "500",
    "malformed JSON": "",
    "failing second page": "",
}
MATRIX = [
    (category, provider, fault)
    for category, names in (("text", TEXT), ("tts", TTS))
    for provider in names
    for fault in FAULTS
    if not (fault == "failing second page" and provider not in PAGINATED)
    and not (
        category == "tts" and provider in {"openai", "google"} and fault != "401 echoing the key"
    )
]


@pytest.mark.parametrize(("category", "provider", "fault"), MATRIX)
def test_fault_matrix(
    sqlite_database: Database,
    providers: StandInProviders,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    category: str,
    provider: str,
    fault: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    key_env = {
        "openai": "OPENAI_API_KEY",
        "google": "GEMINI_API_KEY",
        "anthropic": "ANTHROPIC_API_KEY",
        "mistral": "MISTRAL_API_KEY",
        "xai": "XAI_API_KEY",
        "openrouter": "OPENROUTER_API_KEY",
        "elevenlabs": "ELEVENLABS_API_KEY",
        "azure": "AZURE_SPEECH_KEY",
    }[provider]
    monkeypatch.setenv(key_env, LEAKED_KEY)
    server = providers.servers[provider]
    path = LISTING_PATHS[provider]
    before = {
        m.model_id: m.status for m in list_models(ModelFilter(provider=provider, category=category))
    }
    if fault == "empty list":
        providers.serve(provider, _empty_like(provider))
    elif fault == "failing second page":
        server.fail(path, json_response({"error": "boom"}, 500), after=1)
    else:
        server.fail(path, FAULTS[fault])

    report = discover_models(category, timeout=MATRIX_TIMEOUT)
    result = next(r for r in report.results if r.provider == provider)
    others = [r for r in report.results if r.provider != provider]

    everything = json.dumps(report.to_json()) + caplog.text + repr(report)
    assert LEAKED_KEY not in everything
    assert all(not r.errors for r in others), [r.errors for r in others]
    after = {
        m.model_id: m.status for m in list_models(ModelFilter(provider=provider, category=category))
    }
    assert after == before  # nothing written for the failed (or empty) provider
    if fault == "empty list":
        assert result.errors == [] and result.deprecated == []
        return
    assert len(result.errors) == 1, result.to_json()
    assert result.errors[0].startswith(f"{provider}: ")
    assert EXPECTED[fault] in result.errors[0].lower()
    if fault == "429":
        assert result.rate_limited and "30" in result.errors[0]


def _empty_like(provider: str) -> Any:
    body = load_fixture(provider)
    if isinstance(body, list):
        return []
    key = "data" if "data" in body else ("models" if "models" in body else "voices")
    return body | {key: []}


# --- two processes -------------------------------------------------------------------------


def test_two_processes_refreshing_at_once_call_the_provider_once(
    tmp_path: Path, providers: StandInProviders, sqlite_template: Path
) -> None:
    db_file = tmp_path / "shared.db"
    db_file.write_bytes(sqlite_template.read_bytes())
    server = providers.servers["openrouter"]
    body = load_fixture("openrouter")
    server.route("/api/v1/models", lambda _r: StandInResponse(200, body, delay=1.0))
    env = dict(os.environ) | {"REGISTRY_DATABASE_URL": f"sqlite:///{db_file}"}
    command = [
        sys.executable,
        "-m",
        "registry",
        "discover",
        "--category",
        "text",
        "--provider",
        "openrouter",
        "--json",
    ]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [json.loads(run.communicate(timeout=60)[0]) for run in runs]
    assert len(server.requests_to("/api/v1/models")) == 1
    limited = sorted(o["results"][0]["rate_limited"] for o in outputs)
    assert limited == [False, True]
