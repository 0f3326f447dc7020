"""Provider adapters: one small module per provider behind the `ProviderAdapter` Protocol.

Modules are imported on first use so that importing `registry` (the main application's hot
path) does not load six SDKs.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache

from registry.errors import RegistryError
from registry.providers.base import Credentials, ProviderAdapter, ProviderListing
from registry.types import ALL_PROVIDERS, parse_provider

_ADAPTER_CLASSES: dict[str, str] = {
    "openai": "registry.providers.openai:OpenAIAdapter",
    "google": "registry.providers.google:GoogleAdapter",
    "anthropic": "registry.providers.anthropic:AnthropicAdapter",
    "mistral": "registry.providers.mistral:MistralAdapter",
    "xai": "registry.providers.xai:XAIAdapter",
    "openrouter": "registry.providers.openrouter:OpenRouterAdapter",
    "elevenlabs": "registry.providers.elevenlabs:ElevenLabsAdapter",
    "azure": "registry.providers.azure:AzureAdapter",
}
assert set(_ADAPTER_CLASSES) == set(ALL_PROVIDERS)

# What the adapters import, installed by the `discovery` extra (the core install leaves them out).
_DISCOVERY_MODULES = (
    "httpx",
    "httpx2",
    "openai",
    "anthropic",
    "google.genai",
    "mistralai",
    "elevenlabs",
)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a missing parent package (`google`)
        return False


def require_discovery_extra() -> None:
    """Raise one clear error, before any work, when the provider SDKs are not installed."""
    missing = [module for module in _DISCOVERY_MODULES if not _installed(module)]
    if missing:
        raise RegistryError(
            f"discovery needs the provider SDKs ({', '.join(missing)} not installed): "
            "pip install 'model-catalog-registry[discovery]'"
        )


@cache
def get_adapter(provider: str) -> ProviderAdapter:
    require_discovery_extra()
    module_name, _, class_name = _ADAPTER_CLASSES[parse_provider(provider)].partition(":")
    adapter: ProviderAdapter = getattr(importlib.import_module(module_name), class_name)()
    return adapter


__all__ = [
    "Credentials",
    "ProviderAdapter",
    "ProviderListing",
    "get_adapter",
    "require_discovery_extra",
]
