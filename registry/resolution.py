"""The module-level resolution functions: a façade over the default `Registry`.

```python
from registry import get_ai_model, get_ai_config_for_story, get_tts_model
model = get_ai_model()                     # global config, checked against the catalog
cfg = get_ai_config_for_story(story.provider, story.model, story.temperature)
if cfg.fallback: log.info("story %s: %s", story.id, cfg.reason)
```

Each function here calls the method of the same name on `registry.default_registry()` (see
`registry.client`): the process's registry, built from the environment on first use. The rules
are in `registry.rules`, the dashboard's provider report in `registry.provider_status`; both
sets of names are re-exported here, where the application and the dashboard have always
imported them. Fallback log lines come from this module's logger, `registry.resolution`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from registry.client import default_registry
from registry.keeper import RegistryHealth, SnapshotSummary
from registry.provider_status import ProviderStatus, get_provider_status
from registry.rules import FallbackReason, ResolutionRule, ResolvedConfig, ResolvedModel
from registry.settings import GlobalConfig
from registry.types import Category
from registry.usage import FallbackUsage

__all__ = [
    "FallbackReason",
    "FallbackUsage",
    "ProviderStatus",
    "ResolutionRule",
    "ResolvedConfig",
    "ResolvedModel",
    "aget_ai_config_for_story",
    "aget_ai_model",
    "aget_tts_model",
    "flush_fallback_counts",
    "get_ai_config",
    "get_ai_config_for_story",
    "get_ai_model",
    "get_fallback_counts",
    "get_provider_status",
    "get_tts_config",
    "get_tts_config_for_story",
    "get_tts_model",
    "preview_config",
    "preview_resolve",
    "registry_health",
    "reset_snapshot",
    "resolve",
    "snapshot_summary",
]


def resolve(category: Category | str, provider: str, model: str | None) -> ResolvedModel:
    """Which (provider, model_id) to really use for `provider/model`, and why.

    `model=None` asks for the provider's default. Raises `InvalidInputError` for an unknown
    category or provider, `NoAvailableModelError` when nothing of the provider is usable.
    """
    return default_registry().resolve(category, provider, model)


def preview_resolve(category: Category | str, provider: str, model: str | None) -> ResolvedModel:
    """`resolve`'s answer without counting or logging it (CLI, dashboard "Falls back to")."""
    return default_registry().preview_resolve(category, provider, model)


def preview_config(category: Category | str, provider: str, model: str | None) -> ResolvedConfig:
    """`preview_resolve`'s answer with the global generation parameters (text only)."""
    return default_registry().preview_config(category, provider, model)


def get_ai_config() -> ResolvedConfig:
    """The global text config (provider, model, temperature, max tokens), checked."""
    return default_registry().get_ai_config()


def get_ai_model(
    model_override: str | None = None,
    config_override: GlobalConfig | Mapping[str, Any] | None = None,
) -> ResolvedModel:
    """The text model to use: the global config, or the overrides (checked strictly).

    `model_override` is a model id of the override's provider (else the global provider);
    `config_override` a `GlobalConfig` or a mapping with `provider` and `model`. An override
    naming a pending or disabled model raises `ModelNotEnabledError`.
    """
    return default_registry().get_ai_model(model_override, config_override)


def get_ai_config_for_story(
    story_provider: str | None, story_model: str | None, story_temperature: float | None = None
) -> ResolvedConfig:
    """The text config for a story: its provider/model if usable, else the fallbacks down to
    the global config; its temperature when valid (0..2), else the global one."""
    return default_registry().get_ai_config_for_story(
        story_provider, story_model, story_temperature
    )


def get_tts_config() -> ResolvedConfig:
    """The global TTS config, checked (temperature and max_tokens are None)."""
    return default_registry().get_tts_config()


def get_tts_model(
    model_override: str | None = None,
    config_override: GlobalConfig | Mapping[str, Any] | None = None,
) -> ResolvedModel:
    """The TTS model (voice) to use; mirrors `get_ai_model`."""
    return default_registry().get_tts_model(model_override, config_override)


def get_tts_config_for_story(story_provider: str | None, story_model: str | None) -> ResolvedConfig:
    """The TTS config for a story; mirrors `get_ai_config_for_story` (no temperature)."""
    return default_registry().get_tts_config_for_story(story_provider, story_model)


def flush_fallback_counts() -> int:
    """Write this process's fallback counts now; returns rows written (the background thread
    does this every 10 s). Raises `DatabaseError` when the database refuses; counts are kept."""
    return default_registry().flush_fallback_counts()


def get_fallback_counts(
    since: date | None = None,
    *,
    category: Category | str | None = None,
    provider: str | None = None,
) -> list[FallbackUsage]:
    """What the application asked for and got instead, per day since `since` (default: today,
    UTC), most frequent first. This process's unflushed counts are written first."""
    return default_registry().get_fallback_counts(since, category=category, provider=provider)


def snapshot_summary() -> SnapshotSummary:
    """What the process answers from: the snapshot's version and age, or an outage."""
    return default_registry().snapshot_summary()


def reset_snapshot() -> None:
    """Forget the snapshot (tests, tools): the next lookup loads a fresh one."""
    default_registry().reset_snapshot()


async def aget_ai_model(
    model_override: str | None = None,
    config_override: GlobalConfig | Mapping[str, Any] | None = None,
) -> ResolvedModel:
    """`get_ai_model` for an event loop: never blocks it (see `Registry.aget_ai_model`)."""
    return await default_registry().aget_ai_model(model_override, config_override)


async def aget_ai_config_for_story(
    story_provider: str | None, story_model: str | None, story_temperature: float | None = None
) -> ResolvedConfig:
    """`get_ai_config_for_story` for an event loop: never blocks it."""
    return await default_registry().aget_ai_config_for_story(
        story_provider, story_model, story_temperature
    )


async def aget_tts_model(
    model_override: str | None = None,
    config_override: GlobalConfig | Mapping[str, Any] | None = None,
) -> ResolvedModel:
    """`get_tts_model` for an event loop: never blocks it."""
    return await default_registry().aget_tts_model(model_override, config_override)


def registry_health() -> RegistryHealth:
    """The default registry's `health()`: outage, snapshot age, push or poll, catalog source."""
    return default_registry().health()
