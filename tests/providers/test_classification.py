"""Which listed models count as text (and TTS) models: the shared rules of
`registry.providers.classify`, run through every adapter against its stand-in.

Each provider's small listing holds chat models and one model of each kind that is not a text
model; the test says which are kept and which rule leaves each other one out (read from the
DEBUG line every left-out model gets). The recorded listings (../shared, skipped when absent)
pin the decisions on real entries.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from registry.admin.outcomes import Outcome, outcome_of
from registry.db import Database
from registry.demo import StandInProviders, load_fixture
from registry.discovery import discover_models
from registry.providers.classify import (
    NOT_TEXT,
    ListingFacts,
    rule_table,
    text_decision,
    tts_decision,
)
from registry.standin import google as google_standin
from registry.standin.server import StandInServer
from registry.types import Category

from .adapter_cases import ADAPTERS, AdapterCase, recorded

README = Path(__file__).resolve().parents[2] / "README.md"


def _listed(
    adapter: AdapterCase,
    server: StandInServer,
    body: Any,
    caplog: pytest.LogCaptureFixture,
    category: Category | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The ids the adapter keeps, and the rule that left out each other id."""
    adapter.install(server, body)
    if adapter.provider == "google":
        google_standin.install_cloud_tts(server, {"voices": []})
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="registry.providers.classify"):
        listing = adapter.list_models(category)
    left_out = {
        str(record.args[1]): str(record.args[3]).split(":", 1)[0]
        for record in caplog.records
        if record.name == "registry.providers.classify" and record.levelno == logging.DEBUG
        if isinstance(record.args, tuple)
    }
    kept = [m.model_id for m in listing.models if m.metadata.get("service") != "cloud-tts"]
    return kept, left_out


# --- small listings in each provider's wire shape ---------------------------------------------


def _openai_like(*ids: str) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": i, "object": "model", "created": 0, "owned_by": "system"} for i in ids],
    }


def _gemini(*entries: tuple[str, list[str]]) -> dict[str, Any]:
    return {
        "models": [
            {"name": f"models/{name}", "displayName": name, "supportedGenerationMethods": methods}
            for name, methods in entries
        ]
    }


def _mistral(*entries: tuple[str, dict[str, bool]], archived: str = "") -> dict[str, Any]:
    template = load_fixture("mistral")["data"][0]
    data = []
    for model_id, flags in entries:
        entry = {**template, "id": model_id, "capabilities": {**template["capabilities"], **flags}}
        if model_id == archived:
            entry["archived"] = True
        data.append(entry)
    return {"object": "list", "data": data}


def _anthropic(*entries: tuple[str, str | None]) -> dict[str, Any]:
    data = [
        {"type": "model", "id": i, "display_name": i, "created_at": "2026-01-01T00:00:00Z"}
        | ({"lifecycle": lifecycle} if lifecycle else {})
        for i, lifecycle in entries
    ]
    return {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}


def _openrouter(*entries: tuple[str, list[str]], router: str = "") -> dict[str, Any]:
    return {
        "data": [
            {
                "id": model_id,
                "name": model_id,
                "architecture": {
                    "input_modalities": ["text"],
                    "output_modalities": outputs,
                    "tokenizer": "Router" if model_id == router else "Other",
                },
            }
            for model_id, outputs in entries
        ],
        "links": {"next": None},
    }


CHAT = ["generateContent", "countTokens"]
TEXT = ["text"]

# provider → (listing, ids kept as text, {id left out: rule})
TEXT_CASES: dict[str, tuple[Any, list[str], dict[str, str]]] = {
    "openai": (
        _openai_like(
            "gpt-5.4-mini",
            "o3",
            "gpt-5-search-api",
            "ft:gpt-4o-mini:acme::abc123",
            "text-embedding-3-small",
            "gpt-image-1",
            "sora-2",
            "tts-1",
            "gpt-4o-transcribe",
            "gpt-audio",
            "gpt-realtime",
            "omni-moderation-latest",
            "computer-use-preview",
            "o4-mini-deep-research",
            "whisper-1",
            "brand-new-family-1",
        ),
        ["gpt-5.4-mini", "o3", "gpt-5-search-api", "ft:gpt-4o-mini:acme::abc123"],
        {
            "text-embedding-3-small": "embedding",
            "gpt-image-1": "image",
            "sora-2": "video",
            "tts-1": "speech",
            "gpt-4o-transcribe": "transcription",
            "gpt-audio": "audio",
            "gpt-realtime": "realtime",
            "omni-moderation-latest": "moderation",
            "computer-use-preview": "computer-use",
            "o4-mini-deep-research": "needs-tools",
            "whisper-1": "transcription",
            "brand-new-family-1": "unknown-family",
        },
    ),
    "xai": (
        _openai_like(
            "grok-4-1-fast-reasoning",
            "grok-code-fast-1",
            "grok-imagine-image",
            "grok-imagine-video",
            "aurora-2",
        ),
        ["grok-4-1-fast-reasoning", "grok-code-fast-1"],
        {
            "grok-imagine-image": "image",
            "grok-imagine-video": "video",
            "aurora-2": "unknown-family",
        },
    ),
    "google": (
        _gemini(
            ("gemini-2.5-flash", CHAT),
            ("gemma-3-27b-it", CHAT),
            ("gemini-2.5-flash-preview-tts", CHAT),
            ("gemini-2.5-flash-image", CHAT),
            ("lyria-3-pro-preview", CHAT),
            ("gemini-2.5-computer-use-preview-10-2025", CHAT),
            ("gemini-robotics-er-1.5-preview", CHAT),
            ("deep-research-pro-preview-12-2025", CHAT),
            ("gemini-live-2.5-flash-preview", ["bidiGenerateContent"]),
            ("gemini-embedding-001", ["embedContent"]),
            ("aqa", ["generateAnswer"]),
            ("imagen-4.0-generate-001", ["predict"]),
            ("some-future-model", ["predict"]),
        ),
        ["gemini-2.5-flash", "gemma-3-27b-it"],
        {
            "gemini-2.5-flash-preview-tts": "speech",
            "gemini-2.5-flash-image": "image",
            "lyria-3-pro-preview": "music",
            "gemini-2.5-computer-use-preview-10-2025": "computer-use",
            "gemini-robotics-er-1.5-preview": "robotics",
            "deep-research-pro-preview-12-2025": "needs-tools",
            "gemini-live-2.5-flash-preview": "realtime",
            "gemini-embedding-001": "embedding",
            "aqa": "attribution",
            "imagen-4.0-generate-001": "image",
            "some-future-model": "no-text-output",
        },
    ),
    "mistral": (
        _mistral(
            ("mistral-large-latest", {}),
            ("voxtral-mini-2507", {"audio": True}),
            ("mistral-ocr-latest", {"ocr": True}),
            ("mistral-moderation-latest", {"classification": True}),
            ("voxtral-mini-transcribe-2507", {"audio_transcription": True}),
            ("mistral-embed", {"completion_chat": False}),
            ("voxtral-small-2507", {"completion_chat": False}),
            ("ft:open-mistral-7b:acme", {}),
            archived="ft:open-mistral-7b:acme",
        ),
        ["mistral-large-latest", "voxtral-mini-2507"],
        {
            "mistral-ocr-latest": "ocr",
            "mistral-moderation-latest": "moderation",
            "voxtral-mini-transcribe-2507": "transcription",
            "mistral-embed": "embedding",
            "voxtral-small-2507": "no-text-output",
            "ft:open-mistral-7b:acme": "withdrawn",
        },
    ),
    "anthropic": (
        _anthropic(
            ("claude-sonnet-4-6", None),
            ("claude-3-5-sonnet", "deprecated"),
            ("claude-2.0", "retired"),
        ),
        ["claude-sonnet-4-6", "claude-3-5-sonnet"],
        {"claude-2.0": "withdrawn"},
    ),
    "openrouter": (
        _openrouter(
            ("qwen/qwen3-27b", TEXT),
            ("perplexity/sonar-deep-research", TEXT),
            ("openrouter/auto", ["text", "image"]),
            ("openai/gpt-5-image", ["image", "text"]),
            ("google/lyria-3-pro-preview", ["text", "audio"]),
            ("openai/gpt-audio", ["text", "audio"]),
            ("meta-llama/llama-guard-4-12b", TEXT),
            ("openai/gpt-oss-safeguard-20b", TEXT),
            ("nvidia/nemotron-3.5-content-safety:free", TEXT),
            ("acme/doc-ocr-1", TEXT),
            ("acme/painter", ["image"]),
            ("acme/drawing-chat", ["text", "image"]),
            ("fish-audio/s1", ["speech"]),
            ("cohere/rerank-v3.5", ["rerank"]),
            router="openrouter/auto",
        ),
        ["qwen/qwen3-27b", "perplexity/sonar-deep-research", "openrouter/auto"],
        {
            "openai/gpt-5-image": "image",
            "google/lyria-3-pro-preview": "music",
            "openai/gpt-audio": "audio",
            "meta-llama/llama-guard-4-12b": "moderation",
            "openai/gpt-oss-safeguard-20b": "moderation",
            "nvidia/nemotron-3.5-content-safety:free": "moderation",
            "acme/doc-ocr-1": "ocr",
            "acme/painter": "no-text-output",
            "acme/drawing-chat": "image",
            "fish-audio/s1": "no-text-output",
            "cohere/rerank-v3.5": "rerank",
        },
    ),
}


@pytest.mark.parametrize(
    ("adapter", "case"),
    [(ADAPTERS[provider], case) for provider, case in TEXT_CASES.items()],
    ids=list(TEXT_CASES),
)
def test_each_provider_keeps_its_chat_models_and_names_the_rule_for_the_rest(
    adapter: AdapterCase,
    server: StandInServer,
    caplog: pytest.LogCaptureFixture,
    case: tuple[Any, list[str], dict[str, str]],
) -> None:
    body, kept, left_out = case
    assert _listed(adapter, server, body, caplog, Category.TEXT) == (kept, left_out)


@pytest.mark.parametrize(
    "adapter",
    [ADAPTERS[p] for p in ("openai", "google", "anthropic", "mistral", "xai", "openrouter")],
    ids=lambda case: case.provider,
)
def test_every_text_model_of_the_demo_listings_stays_a_text_model(
    adapter: AdapterCase, server: StandInServer, caplog: pytest.LogCaptureFixture
) -> None:
    kept, left_out = _listed(adapter, server, adapter.sample, caplog, Category.TEXT)
    expected_out = {
        "openai": {"dall-e-3", "tts-1-hd", "text-embedding-3-small", "gpt-4o-realtime-preview"},
        "google": {"gemini-2.5-flash-preview-tts", "gemini-embedding-001", "aqa"},
        # voxtral-mini-latest is listed twice: as a chat model (kept) and a transcription one
        "mistral": {"mistral-embed", "mistral-moderation-latest", "mistral-ocr-2503"},
        "xai": {"grok-imagine-image", "grok-imagine-video"},
    }.get(adapter.provider, set())
    assert kept and expected_out <= set(left_out) and not expected_out & set(kept)
    if adapter.provider in ("anthropic", "openrouter"):
        assert left_out == {}  # every demo entry is a chat model


@pytest.mark.parametrize(
    ("adapter", "body", "kept", "left_out"),
    [
        (
            ADAPTERS["openai"],
            _openai_like(
                "tts-1", "tts-1-hd", "gpt-4o-mini-tts", "gpt-4o", "gpt-realtime", "gpt-audio"
            ),
            ["tts-1", "tts-1-hd", "gpt-4o-mini-tts"],
            {"gpt-4o": "not-tts", "gpt-realtime": "not-tts", "gpt-audio": "not-tts"},
        ),
        (
            ADAPTERS["google"],
            _gemini(
                ("gemini-2.5-flash-preview-tts", CHAT),
                ("gemini-2.5-flash", CHAT),
                ("gemini-2.5-flash-live-tts", ["bidiGenerateContent"]),
            ),
            ["gemini-2.5-flash-preview-tts"],
            {"gemini-2.5-flash": "not-tts", "gemini-2.5-flash-live-tts": "no-text-output"},
        ),
    ],
    ids=["openai", "google"],
)
def test_tts_listings_keep_only_speech_models(
    adapter: AdapterCase,
    server: StandInServer,
    caplog: pytest.LogCaptureFixture,
    body: Any,
    kept: list[str],
    left_out: dict[str, str],
) -> None:
    assert _listed(adapter, server, body, caplog, Category.TTS) == (kept, left_out)


# --- the rules themselves ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "rule"),
    [
        ("computer-use-preview", "computer-use"),
        ("llama-guard-4-12b", "moderation"),
        ("lyria-3-clip-preview", "music"),
        ("mistral-ocr-latest", "ocr"),
        ("gemini-live-2.5-flash", "realtime"),
        ("gpt-4o-mini-tts", "speech"),
        ("text-embedding-3-large", "embedding"),
    ],
)
@pytest.mark.parametrize("provider", ["openai", "google", "mistral", "openrouter", "anthropic"])
def test_a_kind_of_model_is_left_out_by_the_same_rule_on_every_provider(
    provider: str, model_id: str, rule: str
) -> None:
    decision = text_decision(provider, model_id)
    assert not decision.keep and decision.rule == rule
    assert decision.reason.startswith(f"{rule}: the id says")


def test_a_vendor_prefix_is_not_read_as_a_marker() -> None:
    assert text_decision(
        "openrouter", "fish-audio/chat-1", ListingFacts(outputs=frozenset(TEXT))
    ).keep
    assert not text_decision("openrouter", "acme/fish-audio", ListingFacts()).keep


def test_markers_match_whole_tokens_not_parts_of_words() -> None:
    for model_id in ("gpt-4o-livelier", "claude-stts", "vanguardia-7b"):
        assert text_decision("openrouter", model_id).keep, model_id
    assert not text_decision("openrouter", "acme-safeguard-2").keep


def test_deep_research_counts_as_text_where_it_answers_a_plain_prompt() -> None:
    assert text_decision("openrouter", "openai/o4-mini-deep-research").keep
    assert text_decision("openai", "o4-mini-deep-research").rule == "needs-tools"


def test_tts_decision_refuses_a_realtime_or_transcription_model_that_says_tts() -> None:
    assert tts_decision("openai", "gpt-4o-mini-tts").keep
    assert tts_decision("openai", "gpt-realtime-tts").rule == "realtime"
    assert tts_decision("openai", "gpt-4o-transcribe-tts").rule == "transcription"


def test_every_rule_is_stated_in_the_readme_table() -> None:
    readme = README.read_text(encoding="utf-8")
    assert rule_table() in readme
    for rule in NOT_TEXT:
        assert re.search(rf"\| `{re.escape(rule.name)}` \|", readme)


# --- the recorded listings --------------------------------------------------------------------

# (adapter, file, category, ids kept, {id left out: rule})
RECORDED_CASES = [
    (
        "openai",
        "openai_models_data_2026-04.json",
        Category.TEXT,
        {
            "gpt-5.4",
            "gpt-5.4-mini",
            "gpt-5-codex",
            "gpt-5-search-api",
            "o3",
            "gpt-4o-mini-search-preview",
        },
        {
            "o4-mini-deep-research": "needs-tools",
            "gpt-audio": "audio",
            "gpt-realtime": "realtime",
            "chatgpt-image-latest": "image",
            "sora-2": "video",
            "gpt-4o-transcribe-diarize": "transcription",
            "omni-moderation-latest": "moderation",
            "text-embedding-3-large": "embedding",
            "gpt-4o-mini-tts": "speech",
        },
    ),
    (
        "openai",
        "openai_models.json",
        Category.TTS,
        {"tts-1", "tts-1-hd", "gpt-4o-mini-tts"},
        {"gpt-4o-mini-realtime-preview": "not-tts", "gpt-4o": "not-tts"},
    ),
    (
        "google",
        "gemini_models.json",
        Category.TEXT,
        {"gemini-2.5-flash", "gemini-3.1-pro-preview", "gemma-3n-e4b-it", "gemini-flash-latest"},
        {
            "gemini-2.5-computer-use-preview-10-2025": "computer-use",
            "gemini-robotics-er-1.5-preview": "robotics",
            "deep-research-pro-preview-12-2025": "needs-tools",
            "nano-banana-pro-preview": "image",
            "gemini-2.5-flash-native-audio-latest": "audio",
            "veo-3.1-generate-preview": "video",
            "aqa": "attribution",
            "gemini-embedding-001": "embedding",
            "gemini-2.5-pro-preview-tts": "speech",
        },
    ),
    (
        "mistral",
        "mistral_models.json",
        Category.TEXT,
        {
            "mistral-large-latest",
            "magistral-medium-latest",
            "codestral-latest",
            "voxtral-mini-2507",
        },
        {
            "mistral-ocr-2512": "ocr",
            "mistral-moderation-latest": "moderation",
            "voxtral-mini-transcribe-2507": "transcription",
            "codestral-embed": "embedding",
            "voxtral-small-latest": "no-text-output",
        },
    ),
    (
        "xai",
        "xai_models.json",
        Category.TEXT,
        {"grok-4.20-multi-agent-0309", "grok-code-fast-1", "grok-3-mini"},
        {"grok-imagine-image-pro": "image", "grok-imagine-video": "video"},
    ),
    (
        "anthropic",
        "anthropic_models.json",
        Category.TEXT,
        {"claude-sonnet-4-6", "claude-opus-4-1-20250805"},
        {},
    ),
    (
        "openrouter",
        "openrouter_models_all.json",
        Category.TEXT,
        {
            "openrouter/auto",
            "perplexity/sonar-deep-research",
            "openai/gpt-4o",
            "x-ai/grok-4.20-multi-agent",
            "nvidia/nemotron-3-nano-omni-30b-a3b-reasoning:free",
        },
        {
            "google/lyria-3-pro-preview": "music",
            "meta-llama/llama-guard-4-12b": "moderation",
            "openai/gpt-oss-safeguard-20b": "moderation",
            "nvidia/nemotron-3.5-content-safety:free": "moderation",
            "openai/gpt-5-image": "image",
            "openai/gpt-audio": "audio",
            "google/veo-3.1": "video",
            "cohere/rerank-v3.5": "rerank",
            "openai/whisper-1": "transcription",
            "openai/text-embedding-3-small": "embedding",
        },
    ),
]


@pytest.mark.parametrize(
    ("adapter", "file", "category", "kept", "left_out"),
    [(ADAPTERS[provider], *rest) for provider, *rest in RECORDED_CASES],
    ids=[f"{c[0]}-{c[1]}-{c[2].value}" for c in RECORDED_CASES],
)
def test_recorded_listings_keep_real_chat_models_and_leave_out_the_rest(
    adapter: AdapterCase,
    server: StandInServer,
    caplog: pytest.LogCaptureFixture,
    file: str,
    category: Category,
    kept: set[str],
    left_out: dict[str, str],
) -> None:
    listed, rules = _listed(adapter, server, recorded(file), caplog, category)
    assert kept <= set(listed)
    assert {model_id: rules.get(model_id) for model_id in left_out} == left_out
    assert not set(left_out) & set(listed)


# --- what the left-out models become ----------------------------------------------------------


@pytest.mark.parametrize("adapter", [ADAPTERS["openai"]], ids=["openai"])
def test_the_listing_carries_each_left_out_model_with_its_reason(
    adapter: AdapterCase, server: StandInServer
) -> None:
    adapter.install(server, _openai_like("gpt-5", "gpt-image-1", "whisper-1"))
    listing = adapter.list_models(Category.TEXT)
    assert listing.left_out == {
        "gpt-image-1": "image: the id says `imag*`",
        "whisper-1": "transcription: the id says `whisper*`",
    }


def test_a_dry_run_says_what_classification_left_out(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with StandInProviders() as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        result = discover_models("text", ["openai"], dry_run=True).results[0]
    assert result.discovered == 11
    note = (
        "left out 8 listed models that are not text models (embedding 1, image 1, "
        "moderation 1, realtime 1, speech 3, transcription 1)"
    )
    # A note, not a warning: leaving an embedding model out is no fault, the provider reads ✓.
    assert (result.notes, result.warnings) == ([note], [])
    assert outcome_of(result) is Outcome.DONE
    assert result.to_json()["notes"] == [note]
