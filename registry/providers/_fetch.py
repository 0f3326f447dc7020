"""Plain-HTTP fetching shared by the httpx-based adapters (OpenRouter, Azure, Cloud TTS).

Normalisation helpers (names, dates, de-duplication, log redaction) live in `sdk_support`.

Every failure leaves here as a `ProviderError` subclass whose message went through `redact`,
raised `from None` so the httpx exception (which holds the request and its key header) is not
chained into tracebacks or logs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import httpx

from registry.errors import (
    InvalidInputError,
    MalformedResponseError,
    MissingKeyError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
)
from registry.providers.base import error_for_status, redact
from registry.types import Category, parse_category

logger = logging.getLogger(__name__)

# A listing with more pages than this is taken for a server that keeps handing out cursors.
MAX_PAGES = 1000


def transport_error(
    provider: str, exc: Exception, *, timeout: float, secret: str | None
) -> ProviderError:
    """Map an httpx/httpx2 transport failure (no HTTP answer) to the error an admin acts on.

    Works for both `httpx` and the `httpx2` fork by class name, so adapters on either stack
    share one wording.
    """
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "TimeoutException" in names:
        return ProviderTimeoutError(
            provider, f"no answer within {timeout:g} s; try again later or raise the timeout"
        )
    detail = redact(str(exc), secret) or type(exc).__name__
    return ProviderServerError(
        provider, f"could not reach the provider ({detail}); check the network or the base URL"
    )


def get_json(
    client: httpx.Client,
    url: str | httpx.URL,
    *,
    provider: str,
    key_env: str,
    secret: str | None,
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """GET `url` and return its decoded JSON body, or raise the matching `ProviderError`."""
    try:
        response = client.get(url, headers=dict(headers or {}), timeout=timeout)
    except httpx.TransportError as exc:
        raise transport_error(provider, exc, timeout=timeout, secret=secret) from None
    if response.status_code != 200:
        raise error_for_status(
            provider,
            response.status_code,
            key_env=key_env,
            headers=response.headers,
            body=response.text,
            secret=secret,
        ) from None
    try:
        return json.loads(response.content)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise MalformedResponseError(
            provider, "the provider answered HTTP 200 with a body that is not JSON"
        ) from None


def expect(provider: str, value: Any, kind: type, what: str) -> Any:
    """Check a part of a response has the documented JSON type, else MalformedResponseError."""
    if not isinstance(value, kind):
        raise MalformedResponseError(
            provider, f"{what} should be a JSON {_JSON_NAMES.get(kind, kind.__name__)}"
        )
    return value


_JSON_NAMES: dict[type, str] = {dict: "object", list: "array", str: "string"}


def checked_category(
    provider: str,
    categories: frozenset[Category],
    category: Category | str,
    api_key: str,
    key_env: str,
) -> Category:
    """The category as a `Category`, once the adapter can list it and a key is configured."""
    parsed = parse_category(category)
    if parsed not in categories:
        raise InvalidInputError(f"{provider} does not list {parsed.value} models")
    if not api_key or not api_key.strip():
        raise MissingKeyError(
            provider, f"no API key is configured; add one on the API keys page or set {key_env}"
        )
    return parsed
