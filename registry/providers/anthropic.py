"""Anthropic: text models from `GET /v1/models`, paginated, read with the `anthropic` SDK's pager.

The listing is cursor-paginated: each page carries `data`, `has_more`, `first_id` and
`last_id`, and the next page is asked for with `?after_id=<last_id>`. The adapter asks for
`limit=1000` (the API's maximum) and follows the SDK's pager until `has_more` is false; a
page that fails, or a page that says more follow without giving a cursor, fails the whole
listing (never a partial list).

**text** — every entry (`type: "model"`): Anthropic's API serves only Claude models, and every
Claude model answers in text. Entries whose `lifecycle` is `retired` are left out (requests
naming them fail); the default listing already omits them. `deprecated` models are kept,
since they still answer for existing users; their `retires_at` is carried over.

Anthropic lists no TTS models.

Other fields: display_name is Anthropic's `display_name` (else derived from the id);
context_window is `max_input_tokens` when given (older listings omit it); `retires_at` is
the scheduled retirement date; streaming is supported by every Claude model. `metadata` is
the entry as sent (capabilities, `max_tokens`, `created_at` …). Ids the listing repeats
keep their first entry.
"""

from __future__ import annotations

import logging
from typing import Any

import anthropic

from registry.config import PROVIDER_KEY_ENV, provider_base_url
from registry.errors import (
    InvalidInputError,
    MalformedResponseError,
    MissingKeyError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
)
from registry.providers.base import (
    Credentials,
    ProviderListing,
    error_for_status,
    redact,
    shared_ssl_context,
)
from registry.providers.sdk_support import (
    first_wins,
    positive_int,
    readable_name,
    secrets_hidden_from_logs,
    utc_datetime,
)
from registry.types import Category, DiscoveredModel

logger = logging.getLogger(__name__)

PROVIDER = "anthropic"
PUBLIC_BASE_URL = "https://api.anthropic.com"
PAGE_LIMIT = 1000  # the API's maximum page size: one request covers today's listing
MAX_PAGES = 200  # a cursor loop (a broken server repeating a page) ends here, as an error


def _page_entries(page: Any) -> list[dict[str, Any]]:
    data = getattr(page, "data", None)
    if not isinstance(data, list):
        raise MalformedResponseError(PROVIDER, "a page of the model listing has no `data` array")
    entries: list[dict[str, Any]] = []
    for item in data:
        if not isinstance(item, anthropic.BaseModel):
            raise MalformedResponseError(PROVIDER, "an entry of the model listing is not an object")
        entry = item.to_dict(mode="json")
        if not isinstance(entry.get("id"), str) or not entry["id"]:
            raise MalformedResponseError(PROVIDER, "an entry of the model listing has no `id`")
        entries.append(entry)
    return entries


def _fetch_entries(
    base_url: str, credentials: Credentials, key_env: str, timeout: float
) -> tuple[list[dict[str, Any]], int]:
    key = credentials.api_key
    if not key:
        raise MissingKeyError(PROVIDER, f"no API key configured; set {key_env} or store one")
    with secrets_hidden_from_logs(key):
        try:
            with anthropic.Anthropic(
                api_key=key,
                base_url=base_url,
                max_retries=0,
                timeout=timeout,
                # The SDK's own client defaults, minus the CA bundle it would load per client.
                http_client=anthropic.DefaultHttpxClient(verify=shared_ssl_context()),
            ) as client:
                page = client.models.list(limit=PAGE_LIMIT)
                entries: list[dict[str, Any]] = []
                cursors: set[str] = set()
                pages = 1
                while True:
                    page_entries = _page_entries(page)
                    entries.extend(page_entries)
                    if page.has_more and (not page.last_id or not page_entries):
                        # The SDK would stop here and hand back a partial list.
                        raise MalformedResponseError(
                            PROVIDER, f"page {pages} says more follow but gives no cursor"
                        )
                    if not page.has_next_page():
                        break
                    cursor = page.last_id or ""
                    if cursor in cursors or pages >= MAX_PAGES:
                        raise MalformedResponseError(
                            PROVIDER, f"the listing does not end (page {pages} repeats a cursor)"
                        )
                    cursors.add(cursor)
                    page = page.get_next_page()
                    pages += 1
                return entries, pages
        except ProviderError:
            raise
        except anthropic.APITimeoutError:
            raise ProviderTimeoutError(
                PROVIDER, f"no answer within {timeout:g} s; try again later"
            ) from None
        except anthropic.APIConnectionError:
            raise ProviderServerError(
                PROVIDER, f"could not reach {redact(base_url, key)}; check the network or base URL"
            ) from None
        except anthropic.APIStatusError as exc:
            raise error_for_status(
                PROVIDER,
                exc.status_code,
                key_env=key_env,
                headers=exc.response.headers,
                body=_safe_text(exc),
                secret=key,
            ) from None
        except anthropic.APIResponseValidationError:
            raise MalformedResponseError(
                PROVIDER, "the model listing did not match the documented shape"
            ) from None
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            # The SDK raises these when a body is not JSON or not an object with `data`.
            raise MalformedResponseError(
                PROVIDER,
                f"the model listing could not be read ({type(exc).__name__}: "
                f"{redact(str(exc)[:120], key)})",
            ) from None


def _safe_text(exc: anthropic.APIStatusError) -> str:
    try:
        return exc.response.text
    except Exception:  # a streamed or undecodable body; the status code says enough
        return ""


def is_text_model(entry: dict[str, Any]) -> bool:
    return entry.get("type", "model") == "model" and entry.get("lifecycle") != "retired"


def _discovered(entry: dict[str, Any]) -> DiscoveredModel:
    model_id: str = entry["id"]
    name = entry.get("display_name")
    if not isinstance(name, str) or not name.strip():
        name = readable_name(model_id)
    return DiscoveredModel(
        model_id=model_id,
        display_name=name.strip(),
        description=None,
        context_window=positive_int(entry.get("max_input_tokens")),
        supports_streaming=True,
        retires_at=utc_datetime(entry.get("retires_at")),
        metadata=entry,
    )


class AnthropicAdapter:
    """Lists Anthropic's Claude models through the `anthropic` SDK, following every page."""

    provider = PROVIDER
    categories = frozenset({Category.TEXT})
    key_env = PROVIDER_KEY_ENV[PROVIDER]

    def list_models(
        self, category: Category, credentials: Credentials, *, timeout: float
    ) -> ProviderListing:
        if category not in self.categories:
            raise InvalidInputError(f"{PROVIDER} does not list {category} models")
        base_url = provider_base_url(PROVIDER) or PUBLIC_BASE_URL
        entries, pages = _fetch_entries(base_url, credentials, self.key_env, timeout)
        models = first_wins(_discovered(e) for e in entries if is_text_model(e))
        logger.info(
            "%s: %d text models in %d entries over %d page(s)",
            PROVIDER,
            len(models),
            len(entries),
            pages,
        )
        return ProviderListing(provider=PROVIDER, category=category, models=models, pages=pages)
