"""Provider adapters: one small module per provider behind the `ProviderAdapter` Protocol.

Modules are imported on first use so that importing `registry` (the main application's hot
path) does not load six SDKs.
"""

from __future__ import annotations

import importlib
from functools import cache

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


@cache
def get_adapter(provider: str) -> ProviderAdapter:
    module_name, _, class_name = _ADAPTER_CLASSES[parse_provider(provider)].partition(":")
    adapter: ProviderAdapter = getattr(importlib.import_module(module_name), class_name)()
    return adapter


__all__ = ["Credentials", "ProviderAdapter", "ProviderListing", "get_adapter"]
