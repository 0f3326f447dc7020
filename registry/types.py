"""Domain vocabulary shared by every layer: categories, statuses, providers and value types."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from registry.errors import InvalidInputError
from registry.text import has_unsafe_characters

# Longer search texts are refused: nobody types them, and a 100,000-character LIKE pattern
# makes the database give up ("pattern too complex") instead of answering.
MAX_SEARCH_LENGTH = 200


class Category(StrEnum):
    TEXT = "text"
    TTS = "tts"


class ModelStatus(StrEnum):
    PENDING = "pending"
    ENABLED = "enabled"
    DISABLED = "disabled"
    DEPRECATED = "deprecated"


class ModelSource(StrEnum):
    """Where a catalog entry came from: a provider's listing API or the curated catalog."""

    API = "api"
    CURATED = "curated"


TEXT_PROVIDERS: tuple[str, ...] = ("openai", "google", "anthropic", "mistral", "xai", "openrouter")
TTS_PROVIDERS: tuple[str, ...] = ("openai", "google", "elevenlabs", "azure")
PROVIDERS: dict[Category, tuple[str, ...]] = {
    Category.TEXT: TEXT_PROVIDERS,
    Category.TTS: TTS_PROVIDERS,
}
ALL_PROVIDERS: tuple[str, ...] = tuple(dict.fromkeys(TEXT_PROVIDERS + TTS_PROVIDERS))


def parse_category(value: str | Category) -> Category:
    try:
        return Category(str(value).strip().lower())
    except ValueError:
        raise InvalidInputError(
            f"unknown category {value!r}: expected one of {', '.join(c.value for c in Category)}"
        ) from None


def parse_status(value: str | ModelStatus) -> ModelStatus:
    try:
        return ModelStatus(str(value).strip().lower())
    except ValueError:
        raise InvalidInputError(
            f"unknown status {value!r}: expected one of {', '.join(s.value for s in ModelStatus)}"
        ) from None


def parse_provider(value: str, category: Category | None = None) -> str:
    """Normalise a provider id; with a category, also check the provider serves it."""
    provider = str(value).strip().lower()
    allowed = PROVIDERS[category] if category is not None else ALL_PROVIDERS
    if provider not in allowed:
        where = f" for category {category.value!r}" if category is not None else ""
        raise InvalidInputError(
            f"unknown provider {value!r}{where}: expected one of {', '.join(allowed)}"
        )
    return provider


def parse_search(value: str | None, what: str = "search text") -> str | None:
    """A search text trimmed, None when blank; too long or with control characters is refused."""
    text = (value or "").strip()
    if len(text) > MAX_SEARCH_LENGTH:
        raise InvalidInputError(
            f"{what} is {len(text)} characters long; the limit is {MAX_SEARCH_LENGTH}"
        )
    if has_unsafe_characters(text):
        raise InvalidInputError(f"{what} contains a control character; type it without")
    return text or None


def display_id(provider: str, model_id: str) -> str:
    """The one way a model is named in the UI: `{provider}/{model_id}`."""
    return f"{provider}/{model_id}"


@dataclass(frozen=True, slots=True)
class DiscoveredModel:
    """One entry of a provider listing, normalised; `metadata` keeps the raw entry."""

    model_id: str
    display_name: str
    description: str | None = None
    context_window: int | None = None
    supports_streaming: bool = True
    retires_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CatalogModel:
    """A read-only view of one `ai_models` row, safe to hand to pages and callers."""

    id: uuid.UUID
    provider: str
    category: Category
    model_id: str
    display_name: str
    description: str | None
    context_window: int | None
    supports_streaming: bool
    status: ModelStatus
    source: ModelSource
    discovered_at: datetime | None
    enabled_at: datetime | None
    deprecated_at: datetime | None
    deprecated_by_admin: bool
    archived_at: datetime | None
    last_seen_at: datetime | None
    retires_at: datetime | None
    successor_model_id: str | None
    provider_metadata: dict[str, Any] | None
    admin_notes: str | None
    created_at: datetime
    updated_at: datetime
    updated_by: uuid.UUID | None

    @property
    def display_id(self) -> str:
        return display_id(self.provider, self.model_id)
