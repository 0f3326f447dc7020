"""The curated catalog: models known to work today for each (provider, category), with defaults.

It is seeded as `enabled` by a migration, stays the last-resort fallback of resolution, and is the
list used for providers or categories whose API cannot be listed (or when no key is configured).
Editing this file changes what *new* databases get and what resolution falls back to; existing
catalogs change only through discovery and admins.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.types import Category


@dataclass(frozen=True, slots=True)
class CuratedModel:
    model_id: str
    display_name: str
    context_window: int | None = None
    description: str | None = None
    retires_at: str | None = None  # ISO date (YYYY-MM-DD): resolution stops using it then
    successor: str | None = None  # the model id that replaces it (same provider, category)


@dataclass(frozen=True, slots=True)
class CuratedProvider:
    default: str
    models: tuple[CuratedModel, ...]


M = CuratedModel

CURATED: dict[tuple[Category, str], CuratedProvider] = {
    (Category.TEXT, "openai"): CuratedProvider(
        default="gpt-5.4-mini",
        models=(
            M("gpt-5.4", "GPT-5.4"),
            M("gpt-5.4-mini", "GPT-5.4 mini", 400_000),
            M("gpt-5", "GPT-5", 400_000),
            M("gpt-5-mini", "GPT-5 mini", 400_000),
            M("gpt-4.1", "GPT-4.1", 1_047_576),
            M("gpt-4.1-mini", "GPT-4.1 mini", 1_047_576),
            M("gpt-4o", "GPT-4o", 128_000),
            M("gpt-4o-mini", "GPT-4o mini", 128_000),
        ),
    ),
    (Category.TEXT, "google"): CuratedProvider(
        default="gemini-2.5-flash",
        models=(
            M("gemini-2.5-pro", "Gemini 2.5 Pro", 1_048_576),
            M("gemini-2.5-flash", "Gemini 2.5 Flash", 1_048_576),
            M("gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite", 1_048_576),
            M("gemini-3-pro-preview", "Gemini 3 Pro Preview", 1_048_576),
            M("gemini-3-flash-preview", "Gemini 3 Flash Preview", 1_048_576),
        ),
    ),
    (Category.TEXT, "anthropic"): CuratedProvider(
        default="claude-sonnet-4-6",
        models=(
            M("claude-opus-4-6", "Claude Opus 4.6", 1_000_000),
            M("claude-sonnet-4-6", "Claude Sonnet 4.6", 1_000_000),
            M("claude-opus-4-5-20251101", "Claude Opus 4.5", 200_000),
            M("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", 1_000_000),
            M("claude-haiku-4-5-20251001", "Claude Haiku 4.5", 200_000),
        ),
    ),
    (Category.TEXT, "mistral"): CuratedProvider(
        default="mistral-medium-latest",
        models=(
            M("mistral-large-latest", "Mistral Large", 262_144),
            M("mistral-medium-latest", "Mistral Medium", 131_072),
            M("mistral-small-latest", "Mistral Small", 131_072),
            M("magistral-medium-latest", "Magistral Medium", 131_072),
            M("codestral-latest", "Codestral", 256_000),
            M("ministral-8b-latest", "Ministral 8B", 262_144),
        ),
    ),
    (Category.TEXT, "xai"): CuratedProvider(
        default="grok-4-1-fast-non-reasoning",
        models=(
            M("grok-4-0709", "Grok 4", 256_000),
            M("grok-4-1-fast-reasoning", "Grok 4.1 Fast (reasoning)", 2_000_000),
            M("grok-4-1-fast-non-reasoning", "Grok 4.1 Fast", 2_000_000),
            M("grok-3", "Grok 3", 131_072),
            M("grok-3-mini", "Grok 3 mini", 131_072),
            M("grok-code-fast-1", "Grok Code Fast 1", 256_000),
        ),
    ),
    (Category.TEXT, "openrouter"): CuratedProvider(
        default="openai/gpt-4o-mini",
        models=(
            M("openai/gpt-4o-mini", "OpenAI: GPT-4o-mini", 128_000),
            M("openai/gpt-5-mini", "OpenAI: GPT-5 Mini", 400_000),
            M("anthropic/claude-sonnet-4.5", "Anthropic: Claude Sonnet 4.5", 1_000_000),
            M("google/gemini-2.5-flash", "Google: Gemini 2.5 Flash", 1_048_576),
            M("meta-llama/llama-3.3-70b-instruct", "Meta: Llama 3.3 70B Instruct", 131_072),
            M("deepseek/deepseek-chat-v3.1", "DeepSeek: DeepSeek V3.1", 163_840),
        ),
    ),
    (Category.TTS, "openai"): CuratedProvider(
        default="gpt-4o-mini-tts",
        models=(
            M("gpt-4o-mini-tts", "GPT-4o mini TTS"),
            M("tts-1", "TTS-1"),
            M("tts-1-hd", "TTS-1 HD"),
        ),
    ),
    (Category.TTS, "google"): CuratedProvider(
        default="gemini-2.5-flash-preview-tts",
        models=(
            M("gemini-2.5-flash-preview-tts", "Gemini 2.5 Flash Preview TTS", 8_192),
            M("gemini-2.5-pro-preview-tts", "Gemini 2.5 Pro Preview TTS", 8_192),
        ),
    ),
    (Category.TTS, "elevenlabs"): CuratedProvider(
        default="21m00Tcm4TlvDq8ikWAM",
        models=(
            M("21m00Tcm4TlvDq8ikWAM", "Rachel"),
            M("9BWtsMINqrJLrRacOk9x", "Aria"),
            M("EXAVITQu4vr4xnSDxMaL", "Sarah"),
            M("CwhRBWXzGAHq8TQ4Fs17", "Roger"),
            M("FGY2WhTYpPnrIDTdsKH5", "Laura"),
        ),
    ),
    (Category.TTS, "azure"): CuratedProvider(
        default="en-US-JennyNeural",
        models=(
            M("en-US-JennyNeural", "Jenny (en-US, Female)"),
            M("en-US-AriaNeural", "Aria (en-US, Female)"),
            M("en-US-GuyNeural", "Guy (en-US, Male)"),
            M("en-GB-SoniaNeural", "Sonia (en-GB, Female)"),
            M("en-US-AvaMultilingualNeural", "Ava Multilingual (en-US, Female)"),
            M("en-US-AndrewMultilingualNeural", "Andrew Multilingual (en-US, Male)"),
        ),
    ),
}

# The global configuration a new database starts with (DESIGN.md's keys `ai.*` and `tts.*`).
DEFAULT_GLOBAL_SETTINGS: dict[str, str] = {
    "ai.provider": "openai",
    "ai.model": CURATED[(Category.TEXT, "openai")].default,
    "ai.temperature": "0.7",
    "ai.max_tokens": "4096",
    "tts.provider": "openai",
    "tts.model": CURATED[(Category.TTS, "openai")].default,
}


def curated_provider(category: Category, provider: str) -> CuratedProvider | None:
    return CURATED.get((category, provider))


def curated_default(category: Category, provider: str) -> str | None:
    entry = CURATED.get((category, provider))
    return entry.default if entry else None


def default_setting_key(category: Category, provider: str) -> str:
    """`ai.{provider}.default_model` for text, `tts.{provider}.default_model` for TTS."""
    prefix = "ai" if category is Category.TEXT else "tts"
    return f"{prefix}.{provider}.default_model"
