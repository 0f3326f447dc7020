"""Mistral: text models from `GET /v1/models`, read with the `mistralai` SDK.

Every entry carries a `capabilities` object of flags, and the category is read from those, by
the shared rules of `registry.providers.classify` (README, "Which listed models count as text
models"):

**text** — `capabilities.completion_chat` is true, none of the flags naming another kind is
(`ocr`, `moderation`, `classification`, `audio_transcription`, `audio_transcription_realtime`,
`audio_speech`: OCR, moderation, transcription and speech models), the entry is not archived,
and no not-text rule matches the id (`embed`, `moderation`, `ocr`, `transcribe`, `tts` …).
Chat models that also take images or audio as input (Pixtral, Voxtral chat) answer in text
and are listed; `voxtral-small-2507`, which the API flags without `completion_chat`, is not.
Aliases (`mistral-medium-latest`) are listed as ids of their own, since requests may name
them.

Mistral lists no TTS models for the registry; it is a text provider here.

Ids the API repeats keep their first entry *among the text models* (the API lists
`voxtral-mini-latest` both as a chat model and as a transcription model; the chat entry is
the one kept).

Other fields: display_name is derived from the id, with the canonical model `name` in
parentheses when the id is an alias of it (`Mistral Medium Latest (mistral-medium-2508)`);
description is Mistral's; context_window is `max_context_length`; `deprecation` becomes
`retires_at` and `deprecation_replacement_model` `replacement_model_id`; capabilities from the
flags `function_calling` → tools, `vision` → vision, `audio` → audio_input (Mistral lists no
prices or output limit); streaming is supported by every chat model. `metadata` is the entry
as sent (the raw JSON, not the SDK's re-serialisation, which would add defaults the API never
sent).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
from mistralai.client import Mistral, errors
from mistralai.client.models import UserMessage

from registry.config import PROVIDER_KEY_ENV, provider_base_url
from registry.errors import MalformedResponseError, ProviderError
from registry.providers.base import (
    Credentials,
    ProviderListing,
    error_for_status,
    shared_ssl_context,
    transport_error,
)
from registry.providers.classify import Decision, ListingFacts, kept_entries, text_decision
from registry.providers.common import (
    AdapterBase,
    chat_answer,
    entries_with_ids,
    first_wins,
    guard_hooks,
    not_json,
    positive_int,
    readable_name,
    shape_error,
    text_or_none,
    utc_datetime,
)
from registry.types import Category, DiscoveredModel, clean_capabilities

logger = logging.getLogger(__name__)

PROVIDER = "mistral"
PUBLIC_BASE_URL = "https://api.mistral.ai"
MODELS_PATH = "/v1/models"

# Capability flags that make a model another kind than text, and the rule each names.
_NOT_TEXT_CAPABILITIES = {
    "ocr": "ocr",
    "moderation": "moderation",
    "classification": "moderation",
    "audio_transcription": "transcription",
    "audio_transcription_realtime": "transcription",
    "audio_speech": "speech",
}
_CAPABILITY_FLAGS = {"function_calling": "tools", "vision": "vision", "audio": "audio_input"}


def listing_facts(entry: dict[str, Any]) -> ListingFacts:
    """What an entry's `capabilities` flags and `archived` say, in the rules' terms."""
    flags = entry.get("capabilities")
    if not isinstance(flags, dict):
        flags = {}
    return ListingFacts(
        generates_text=flags.get("completion_chat") is True,
        no_text_because="`capabilities.completion_chat` is not true",
        kinds={
            rule: f"`capabilities.{flag}` is true"
            for flag, rule in _NOT_TEXT_CAPABILITIES.items()
            if flags.get(flag) is True
        },
        withdrawn="the entry is archived" if entry.get("archived") is True else None,
    )


def classify(entry: dict[str, Any]) -> Decision:
    """Whether a listing entry is a text model (the rules above)."""
    return text_decision(PROVIDER, str(entry.get("id", "")), listing_facts(entry))


def _display_name(entry: dict[str, Any]) -> str:
    model_id: str = entry["id"]
    name = text_or_none(entry.get("name"))
    readable = readable_name(model_id)
    return f"{readable} ({name})" if name and name != model_id else readable


def _discovered(entry: dict[str, Any]) -> DiscoveredModel:
    return DiscoveredModel(
        model_id=entry["id"],
        display_name=_display_name(entry),
        description=text_or_none(entry.get("description")),
        context_window=positive_int(entry.get("max_context_length")),
        supports_streaming=True,
        retires_at=utc_datetime(entry.get("deprecation")),
        metadata=entry,
        capabilities=clean_capabilities(
            [
                ours
                for flag, ours in _CAPABILITY_FLAGS.items()
                if entry["capabilities"].get(flag) is True
            ]
        ),
        replacement_model_id=text_or_none(entry.get("deprecation_replacement_model")),
    )


def _raw_entries(body: bytes | None) -> list[dict[str, Any]]:
    if body is None:
        raise MalformedResponseError(PROVIDER, "the model listing arrived without a body")
    try:
        document = json.loads(body)
    except ValueError:
        raise not_json(PROVIDER) from None
    return entries_with_ids(PROVIDER, document.get("data") if isinstance(document, dict) else None)


def _fetch_entries(
    server_url: str, credentials: Credentials, key_env: str, timeout: float
) -> list[dict[str, Any]]:
    key = credentials.api_key
    captured: dict[str, bytes] = {}

    def keep_listing_body(response: httpx2.Response) -> None:
        # The SDK parses the body into its own models and drops what they do not declare;
        # keep the bytes of a successful listing so metadata is the entry as Mistral sent it.
        if response.request.url.path.endswith(MODELS_PATH) and response.status_code == 200:
            captured["body"] = response.read()

    with _mistral_client(server_url, key, key_env, timeout, [keep_listing_body]) as client:
        # retries=None: no SDK retry, so a 429/5xx/timeout surfaces at once.
        client.models.list(retries=None)
    return _raw_entries(captured.get("body"))


@contextmanager
def _mistral_client(
    server_url: str,
    key: str,
    key_env: str,
    timeout: float,
    response_hooks: list[Callable[[httpx2.Response], None]] | None = None,
) -> Iterator[Mistral]:
    """A `mistralai` client for one call; every SDK failure in the block leaves as our error."""
    try:
        with httpx2.Client(
            verify=shared_ssl_context(),
            follow_redirects=True,
            timeout=timeout,
            event_hooks=guard_hooks(response_hooks or ()),
        ) as http:
            yield Mistral(
                api_key=key,
                server_url=server_url,
                client=http,
                # Never used (every call is synchronous), but the SDK would otherwise
                # build one with a CA bundle of its own and close it through asyncio.run.
                async_client=httpx2.AsyncClient(verify=shared_ssl_context(), follow_redirects=True),
                timeout_ms=max(1, int(timeout * 1000)),
            )
    except ProviderError:
        raise
    except (httpx2.TransportError, errors.NoResponseError) as exc:
        raise transport_error(PROVIDER, exc, timeout=timeout, secret=key) from None
    except errors.ResponseValidationError:
        raise shape_error(PROVIDER) from None
    except errors.MistralError as exc:
        if 200 <= exc.status_code < 300:
            # e.g. a 200 that is not JSON: the SDK calls it an unexpected response
            raise not_json(PROVIDER, exc.status_code) from None
        raise error_for_status(
            PROVIDER,
            exc.status_code,
            key_env=key_env,
            headers=exc.headers,
            body=exc.body or "",
            secret=key,
        ) from None


class MistralAdapter(AdapterBase):
    """Lists Mistral's chat models through the `mistralai` SDK."""

    provider = PROVIDER
    categories = frozenset({Category.TEXT})
    key_env = PROVIDER_KEY_ENV[PROVIDER]

    def _list(
        self, category: Category, credentials: Credentials, timeout: float
    ) -> ProviderListing:
        server_url = provider_base_url(PROVIDER) or PUBLIC_BASE_URL
        entries = _fetch_entries(server_url, credentials, self.key_env, timeout)
        kept = kept_entries(PROVIDER, category.value, entries, lambda e: (e["id"], classify(e)))
        models = first_wins(_discovered(e) for e in kept)
        logger.info(
            "%s: %d text models in a listing of %d entries", PROVIDER, len(models), len(entries)
        )
        return ProviderListing(provider=PROVIDER, category=category, models=models, pages=1)

    # --- trying a model (registry.trial) ---------------------------------------------------

    def _complete(
        self, model_id: str, credentials: Credentials, prompt: str, max_tokens: int, timeout: float
    ) -> str:
        server_url = provider_base_url(PROVIDER) or PUBLIC_BASE_URL
        with _mistral_client(server_url, credentials.api_key, self.key_env, timeout) as client:
            completion = client.chat.complete(
                model=model_id,
                messages=[UserMessage(content=prompt)],
                max_tokens=max_tokens,
                retries=None,
            )
            return chat_answer(PROVIDER, completion)
