"""Anthropic: text models from `GET /v1/models`, paginated, read with the `anthropic` SDK's pager.

The listing is cursor-paginated: each page carries `data`, `has_more`, `first_id` and
`last_id`, and the next page is asked for with `?after_id=<last_id>`. The adapter asks for
`limit=1000` (the API's maximum) and follows the SDK's pager until `has_more` is false; a
page that fails, or a page that says more follow without giving a cursor, fails the whole
listing (never a partial list).

**text** — every entry (`type: "model"`): Anthropic's API serves only Claude models, and every
Claude model answers in text; the shared rules of `registry.providers.classify` still look at
each id, as for every provider. Entries whose `lifecycle` is `retired` are left out (requests
naming them fail); the default listing already omits them. `deprecated` models are kept,
since they still answer for existing users; their `retires_at` is carried over.

Anthropic lists no TTS models.

Other fields: display_name is Anthropic's `display_name` (else derived from the id);
context_window is `max_input_tokens` when given (older listings omit it); `retires_at` is
the scheduled retirement date; max_output_tokens is `max_tokens`; capabilities come from
`capabilities.image_input` → vision, `structured_outputs` → structured_output, `thinking` →
reasoning (each `{"supported": true}`); Anthropic lists no prices. Streaming is supported by
every Claude model. `metadata` is the entry as sent. Ids the listing repeats keep their first
entry.
"""

from __future__ import annotations

import logging
from typing import Any

import anthropic

from registry.config import PROVIDER_KEY_ENV, provider_base_url
from registry.errors import MalformedResponseError
from registry.providers.base import Credentials, ProviderListing
from registry.providers.classify import Decision, ListingFacts, kept_entries, text_decision
from registry.providers.common import (
    AdapterBase,
    PageCursors,
    first_wins,
    positive_int,
    readable_name,
    sdk_entries,
    stainless_client,
    text_or_none,
    utc_datetime,
)
from registry.types import Category, DiscoveredModel, clean_capabilities

logger = logging.getLogger(__name__)

PROVIDER = "anthropic"
PUBLIC_BASE_URL = "https://api.anthropic.com"
PAGE_LIMIT = 1000  # the API's maximum page size: one request covers today's listing


def _fetch_entries(
    base_url: str, credentials: Credentials, key_env: str, timeout: float
) -> tuple[list[dict[str, Any]], int]:
    with stainless_client(
        PROVIDER,
        anthropic,
        anthropic.Anthropic,
        key=credentials.api_key,
        key_env=key_env,
        base_url=base_url,
        timeout=timeout,
    ) as client:
        page = client.models.list(limit=PAGE_LIMIT)
        entries: list[dict[str, Any]] = []
        cursors = PageCursors(PROVIDER)
        while True:
            page_entries = sdk_entries(PROVIDER, page, anthropic.BaseModel)
            entries.extend(page_entries)
            if page.has_more and (not page.last_id or not page_entries):
                # The SDK would stop here and hand back a partial list.
                raise MalformedResponseError(
                    PROVIDER, f"page {cursors.pages} says more follow but gives no cursor"
                )
            if not page.has_next_page():
                return entries, cursors.pages
            cursors.follow(page.last_id or "")
            page = page.get_next_page()


_CAPABILITY_FLAGS = {
    "image_input": "vision",
    "structured_outputs": "structured_output",
    "thinking": "reasoning",
}


def classify(entry: dict[str, Any]) -> Decision:
    """Whether a listing entry is a text model (the rules above)."""
    retired = entry.get("lifecycle") == "retired"
    facts = ListingFacts(
        generates_text=entry.get("type", "model") == "model",
        no_text_because="its `type` is not `model`",
        withdrawn="its `lifecycle` is `retired`" if retired else None,
    )
    return text_decision(PROVIDER, entry["id"], facts)


def _discovered(entry: dict[str, Any]) -> DiscoveredModel:
    model_id: str = entry["id"]
    return DiscoveredModel(
        model_id=model_id,
        display_name=text_or_none(entry.get("display_name")) or readable_name(model_id),
        description=None,
        context_window=positive_int(entry.get("max_input_tokens")),
        supports_streaming=True,
        retires_at=utc_datetime(entry.get("retires_at")),
        metadata=entry,
        max_output_tokens=positive_int(entry.get("max_tokens")),
        capabilities=_capabilities(entry.get("capabilities")),
    )


def _capabilities(flags: Any) -> list[str] | None:
    """`capabilities.{image_input,structured_outputs,thinking}.supported` in our vocabulary;
    None for listings (before 2026) that carry no capabilities object."""
    if not isinstance(flags, dict):
        return None
    return clean_capabilities(
        [
            ours
            for theirs, ours in _CAPABILITY_FLAGS.items()
            if isinstance(flags.get(theirs), dict) and flags[theirs].get("supported") is True
        ]
    )


class AnthropicAdapter(AdapterBase):
    """Lists Anthropic's Claude models through the `anthropic` SDK, following every page."""

    provider = PROVIDER
    categories = frozenset({Category.TEXT})
    key_env = PROVIDER_KEY_ENV[PROVIDER]

    def _list(
        self, category: Category, credentials: Credentials, timeout: float
    ) -> ProviderListing:
        base_url = provider_base_url(PROVIDER) or PUBLIC_BASE_URL
        entries, pages = _fetch_entries(base_url, credentials, self.key_env, timeout)
        kept = kept_entries(PROVIDER, category.value, entries, lambda e: (e["id"], classify(e)))
        models = first_wins(_discovered(e) for e in kept)
        logger.info(
            "%s: %d text models in %d entries over %d page(s)",
            PROVIDER,
            len(models),
            len(entries),
            pages,
        )
        return ProviderListing(provider=PROVIDER, category=category, models=models, pages=pages)

    # --- trying a model (registry.trial) ---------------------------------------------------

    def _complete(
        self, model_id: str, credentials: Credentials, prompt: str, max_tokens: int, timeout: float
    ) -> str:
        with stainless_client(
            PROVIDER,
            anthropic,
            anthropic.Anthropic,
            key=credentials.api_key,
            key_env=self.key_env,
            base_url=provider_base_url(PROVIDER) or PUBLIC_BASE_URL,
            timeout=timeout,
        ) as client:
            message = client.messages.create(
                model=model_id,
                max_tokens=max_tokens,
                messages=[{"role": "user", "content": prompt}],
            )
            return "".join(getattr(block, "text", "") for block in message.content)
