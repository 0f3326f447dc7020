"""The listing fetch of a refresh: the key read at call time, the adapter's listing, and the
errors an SDK may raise that our adapters did not map, as a `ProviderError`."""

from __future__ import annotations

from registry import keys
from registry.errors import MissingKeyError, ProviderError, missing_key_message
from registry.providers import get_adapter
from registry.providers.base import ProviderListing, redact
from registry.types import Category

# Categories a provider cannot list without a key but whose curated list is good enough.
CURATED_WHEN_NO_KEY: frozenset[tuple[Category, str]] = frozenset(
    {(Category.TTS, "openai"), (Category.TTS, "google")}
)


CURATED_SOURCE_NOTE = "Using curated list (provider API doesn't support discovery)"
CURATED_NO_KEY_NOTE = (
    "Using curated list (no API key to list the provider's models: add one on the API keys page)"
)


def fetch_listing(provider: str, category: Category, timeout: float) -> ProviderListing | str:
    """The provider's listing of `category`; or, when the curated list stands in for it, the
    note saying why (the API cannot list the category, or no key is configured where the
    curated list is enough).

    Raises `MissingKeyError` without a key otherwise, and any failure as a `ProviderError`
    (`ProviderRateLimitedError` with the provider's Retry-After).
    """
    adapter = get_adapter(provider)
    if category not in adapter.categories:
        return CURATED_SOURCE_NOTE
    credentials = keys.get_credentials(provider)
    if credentials is None:
        if (category, provider) in CURATED_WHEN_NO_KEY:
            return CURATED_NO_KEY_NOTE
        raise MissingKeyError(provider, missing_key_message(provider, adapter.key_env))
    try:
        return adapter.list_models(category, credentials, timeout=timeout)
    except ProviderError:
        raise
    except Exception as exc:
        # SDK errors we did not map: keep only the type and a redacted first line.
        detail = redact(str(exc).splitlines()[0] if str(exc) else "", credentials.api_key)[:200]
        raise ProviderError(provider, f"listing failed ({type(exc).__name__}: {detail})") from None
