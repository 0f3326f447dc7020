"""ElevenLabs: the account's voices, through the elevenlabs SDK's paginated v2 search.

Source
- `GET /v2/voices` (`client.voices.search`) with `page_size=100` (the API's maximum),
  following `next_page_token` while `has_more` is true, so accounts with thousands of voices
  are listed completely. The key goes in the `xi-api-key` header.

Classification (tts only)
- Every voice is a TTS entry: premade, cloned, generated and professional voices alike.
  Models (`/v1/models`) are not listed: the catalog's TTS entries for ElevenLabs are voices.

Normalisation
- model_id = `voice_id`; display name = `name` (the id when unnamed); description = the
  voice's own description, else its category and labels (`Premade voice: american, calm,
  young, female, narration`); streaming = True; no retirement dates; metadata = the raw
  voice object (with `category`, `labels`, `is_legacy` …). The first of a repeated id wins.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any

import httpx
from elevenlabs.client import ElevenLabs
from elevenlabs.core.api_error import ApiError

from registry.config import PROVIDER_KEY_ENV, provider_base_url
from registry.errors import MalformedResponseError, ProviderError
from registry.providers.base import (
    AudioSample,
    Credentials,
    ProviderListing,
    error_for_status,
    transport_error,
)
from registry.providers.common import (
    AdapterBase,
    PageCursors,
    first_wins,
    listing_client,
    not_json,
    shape_error,
    text_or_none,
)
from registry.types import Category, DiscoveredModel

logger = logging.getLogger(__name__)

PROVIDER = "elevenlabs"
KEY_ENV = PROVIDER_KEY_ENV[PROVIDER]
PAGE_SIZE = 100  # the v2 search's maximum
SAMPLE_MODEL = "eleven_multilingual_v2"  # speaks every voice, in the voice's own language


class ElevenLabsAdapter(AdapterBase):
    """Lists the voices an ElevenLabs account can speak with."""

    provider = PROVIDER
    categories = frozenset({Category.TTS})
    key_env = KEY_ENV

    def _list(
        self, category: Category, credentials: Credentials, timeout: float
    ) -> ProviderListing:
        voices, pages = _fetch_voices(credentials.api_key, timeout)
        models = first_wins([m for m in map(_voice_model, voices) if m is not None])
        logger.info("elevenlabs: %d voices in %d pages", len(models), pages)
        return ProviderListing(PROVIDER, category, models, pages=pages)

    # --- trying a model (registry.trial) ---------------------------------------------------

    def _synthesize(
        self,
        model_id: str,
        metadata: Mapping[str, Any],
        credentials: Credentials,
        text: str,
        timeout: float,
    ) -> AudioSample:
        """A short sentence in the voice (`registry.trial` plays `preview_url` first)."""
        api_key = credentials.api_key
        with listing_client(timeout=timeout) as http:
            try:
                chunks = _sdk_client(http, api_key, timeout).text_to_speech.convert(
                    model_id,
                    text=text,
                    model_id=SAMPLE_MODEL,
                    output_format="mp3_44100_128",
                    request_options={"max_retries": 0, "timeout_in_seconds": math.ceil(timeout)},
                )
                return AudioSample(b"".join(chunks), "audio/mpeg")
            except (ApiError, httpx.TransportError, ValueError, TypeError) as exc:
                raise _translate(exc, api_key, timeout) from None


def _translate(exc: Exception, api_key: str, timeout: float) -> ProviderError:
    if isinstance(exc, ApiError):
        status = exc.status_code or 0
        if 200 <= status < 300:
            # The SDK raises ApiError with the success status when the body is not JSON.
            return not_json(PROVIDER, status)
        body = exc.body if isinstance(exc.body, str) else repr(exc.body)
        return error_for_status(
            PROVIDER, status, key_env=KEY_ENV, headers=exc.headers, body=body, secret=api_key
        )
    if isinstance(exc, httpx.TransportError):
        return transport_error(PROVIDER, exc, timeout=timeout, secret=api_key)
    return shape_error(PROVIDER, "the voice listing", exc, api_key)


def _sdk_client(http: httpx.Client, api_key: str, timeout: float) -> ElevenLabs:
    return ElevenLabs(
        api_key=api_key,
        base_url=provider_base_url(PROVIDER),  # None → the SDK's public host
        timeout=timeout,
        httpx_client=http,
    )


def _fetch_voices(api_key: str, timeout: float) -> tuple[list[dict[str, Any]], int]:
    voices: list[dict[str, Any]] = []
    token: str | None = None
    cursors = PageCursors(PROVIDER, "the voice listing")
    # The SDK's models re-dumped per voice cost half the listing time for a 5,000-voice
    # account; the raw page bodies are captured as they arrive instead.
    raw_pages: list[Any] = []

    def keep_raw_body(response: httpx.Response) -> None:
        if response.is_success:
            response.read()
            try:
                raw_pages.append(json.loads(response.content))
            except ValueError:
                raw_pages.append(None)  # the SDK reports the malformed body itself

    with listing_client(timeout=timeout, response_hooks=[keep_raw_body]) as http:
        client = _sdk_client(http, api_key, timeout)
        while True:
            try:
                page = client.voices.search(
                    page_size=PAGE_SIZE,
                    next_page_token=token,
                    # No SDK retries: a 429/500/timeout must surface at once.
                    request_options={"max_retries": 0, "timeout_in_seconds": timeout},
                )
            except (ApiError, httpx.TransportError, ValueError, TypeError) as exc:
                raise _translate(exc, api_key, timeout) from None
            raw = raw_pages[-1] if raw_pages else None
            entries = raw.get("voices") if isinstance(raw, dict) else None
            if not isinstance(entries, list) or not all(isinstance(v, dict) for v in entries):
                raise MalformedResponseError(PROVIDER, "`voices` should be a JSON array of objects")
            voices.extend(entries)
            if not getattr(page, "has_more", False):
                return voices, cursors.pages
            token = getattr(page, "next_page_token", None)
            if not isinstance(token, str) or not token:
                raise MalformedResponseError(
                    PROVIDER, "`has_more` is true but no `next_page_token` was given"
                )
            cursors.follow(token)


def _voice_model(entry: dict[str, Any]) -> DiscoveredModel | None:
    voice_id = entry.get("voice_id")
    if not isinstance(voice_id, str) or not voice_id.strip():
        logger.warning("elevenlabs: skipped a voice without a voice_id")
        return None
    return DiscoveredModel(
        model_id=voice_id,
        display_name=text_or_none(entry.get("name")) or voice_id,
        description=_description(entry),
        context_window=None,
        supports_streaming=True,
        retires_at=None,
        metadata=entry,
    )


def _description(entry: dict[str, Any]) -> str | None:
    own = text_or_none(entry.get("description"))
    if own:
        return own
    category = entry.get("category")
    labels = entry.get("labels")
    words = (
        [str(v) for v in labels.values() if isinstance(v, str | int | float) and str(v).strip()]
        if isinstance(labels, dict)
        else []
    )
    if not isinstance(category, str) and not words:
        return None
    kind = f"{category.capitalize()} voice" if isinstance(category, str) else "Voice"
    return f"{kind}: {', '.join(words)}" if words else kind
