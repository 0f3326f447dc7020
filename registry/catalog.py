"""The curated catalog: models known to work today for each (provider, category), with defaults.

It is seeded as `enabled` by a migration, stays the last-resort fallback of resolution, and is the
list used for providers or categories whose API cannot be listed (or when no key is configured).
The list is package data, `registry/datasets/catalog.json`, written by `scripts/catalog_data.py`
from the datasets (README "The curated catalog"): no model in it is past its retirement date on
the day it was generated, and no default retires within two weeks of it. A new list reaches
existing databases at `migrate` (`registry.catalog_sync`: models new to it arrive `pending`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from registry.types import Category

DATA_FILE = "catalog.json"


@dataclass(frozen=True, slots=True)
class CuratedModel:
    model_id: str
    display_name: str
    context_window: int | None = None
    description: str | None = None
    retires_at: str | None = None  # ISO date, from the lifecycle data
    successor: str | None = None  # the lifecycle data's successor, an id of the same provider
    input_price_per_mtok: float | None = None
    output_price_per_mtok: float | None = None
    price_per_mchar: float | None = None


@dataclass(frozen=True, slots=True)
class CuratedProvider:
    default: str
    models: tuple[CuratedModel, ...]


@dataclass(frozen=True, slots=True)
class CatalogData:
    """The generated file: the curated list and the datasets it was made from."""

    providers: dict[tuple[Category, str], CuratedProvider]
    generated_on: str
    lifecycle_source: str  # "dataset litellm VERSION DATE"
    price_source: str  # "dataset genai-prices VERSION DATE"

    @property
    def version(self) -> str:
        """Changes whenever the file is regenerated from other data (see registry.catalog_sync)."""
        return f"catalog {self.generated_on} ({self.price_source})"


_MODEL_FIELDS = frozenset(CuratedModel.__slots__)


def parse_catalog(document: dict[str, Any]) -> CatalogData:
    providers = {
        (Category(group["category"]), str(group["provider"])): CuratedProvider(
            default=str(group["default"]),
            models=tuple(
                CuratedModel(**{k: v for k, v in model.items() if k in _MODEL_FIELDS})
                for model in group["models"]
            ),
        )
        for group in document["providers"]
    }
    generated = document["generated"]
    return CatalogData(
        providers, str(generated["as_of"]), str(generated["lifecycle"]), str(generated["prices"])
    )


def _load() -> CatalogData:
    text = resources.files("registry").joinpath("datasets", DATA_FILE).read_text("utf-8")
    return parse_catalog(json.loads(text))


CATALOG = _load()
CURATED: dict[tuple[Category, str], CuratedProvider] = CATALOG.providers

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
