"""Domain vocabulary shared by every layer: categories, statuses, providers and value types."""

from __future__ import annotations

import math
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


# The one vocabulary of `capabilities` (README "Normalized metadata"); providers map their own
# flags onto it and anything else is left out. Streaming has its own column.
CAPABILITIES: tuple[str, ...] = ("vision", "audio_input", "tools", "structured_output", "reasoning")

# The normalized metadata columns; `metadata_sources` says where each value came from.
METADATA_FIELDS: tuple[str, ...] = (
    "input_price_per_mtok",
    "output_price_per_mtok",
    "price_per_mchar",
    "max_output_tokens",
    "capabilities",
    "retires_at",
    "replacement_model_id",
)
PRICE_FIELDS: tuple[str, ...] = ("input_price_per_mtok", "output_price_per_mtok", "price_per_mchar")
SOURCE_LISTING = "listing"
SOURCE_ADMIN = "admin"

# No real model costs more: a larger value is a unit mix-up or a hostile listing.
MAX_PRICE_PER_MILLION = 10_000.0
# The largest value an INTEGER column holds on PostgreSQL.
MAX_TOKEN_COUNT = 2**31 - 1


def clean_price(value: Any, scale: float = 1.0) -> float | None:
    """A price as USD per million units (`value × scale`), or None when absent or absurd.

    Accepts numbers and numeric strings (OpenRouter sends "0.00000075" per token); negative,
    NaN, infinite, non-numeric and implausibly large (> $10,000) values are None.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    try:
        price = float(value) * scale
    except OverflowError:
        return None
    if not math.isfinite(price) or price < 0 or price > MAX_PRICE_PER_MILLION:
        return None
    # Float noise of the per-token conversion (0.75000000001) is not a price anyone set.
    return round(price, 6)


def clean_token_count(value: Any) -> int | None:
    """A token count, or None for absent, non-numeric, non-finite, zero, negative or huge."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    number = int(value)
    return number if 0 < number <= MAX_TOKEN_COUNT else None


def clean_capabilities(values: Any) -> list[str] | None:
    """Capabilities in the vocabulary's order; unknown names dropped; None when not a list."""
    if not isinstance(values, list | tuple | set | frozenset):
        return None
    given = {v for v in values if isinstance(v, str)}
    return [c for c in CAPABILITIES if c in given]


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
    input_price_per_mtok: float | None = None
    output_price_per_mtok: float | None = None
    price_per_mchar: float | None = None
    max_output_tokens: int | None = None
    capabilities: list[str] | None = None  # from CAPABILITIES; None when the listing is silent
    replacement_model_id: str | None = None
    # Where a metadata value came from when not the listing (a dataset, see registry.prices).
    metadata_sources: dict[str, str] = field(default_factory=dict)


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
    input_price_per_mtok: float | None = None
    output_price_per_mtok: float | None = None
    price_per_mchar: float | None = None
    max_output_tokens: int | None = None
    capabilities: list[str] | None = None
    replacement_model_id: str | None = None
    metadata_sources: dict[str, str] | None = None  # field -> "listing" | "admin" | "dataset …"

    @property
    def display_id(self) -> str:
        return display_id(self.provider, self.model_id)
