"""OpenRouter: `GET /api/v1/models` over httpx with `Authorization: Bearer <key>`.

Source
- The default listing (OpenRouter's text-output models, one page today). If a body carries
  `links.next`, it is followed until it is null; a next link to another host is refused (it
  would receive the key), and a repeated link stops the listing as malformed.

Classification (text only; OpenRouter has no TTS catalog here), by the shared rules of
`registry.providers.classify` (README, "Which listed models count as text models")
- text: `architecture.output_modalities` is `["text"]` and no not-text rule matches the id
  (the part after the vendor's `/`). So image, video, speech, transcription, rerank and
  embedding models are left out, and so are those that answer with text *and* images or
  audio (`openai/gpt-5-image`, `google/gemini-2.5-flash-image`, `openai/gpt-audio`,
  `google/lyria-…`), as they are on OpenAI and Gemini; and safety classifiers that answer in
  text (`llama-guard-…`, `gpt-oss-safeguard-…`, Nemotron content safety). Routers
  (`tokenizer: "Router"`: `openrouter/auto` …) are kept: they list image output because they
  may pick an image model, but a text prompt goes to a text model. Without
  `output_modalities` the output side of `architecture.modality` (`"text+image->text"`) is
  used; with neither, the entry counts as text because the default listing only returns
  text-output models.

Normalisation
- display name = `name`; description; context window = `context_length` (else
  `top_provider.context_length`); streaming = True; retires_at = `expiration_date`
  (a date, taken as midnight UTC); metadata = the raw entry. The first of a repeated id wins.
- prices: `pricing.prompt` / `pricing.completion` are USD per token as strings, ×1e6 → USD per
  1M tokens (the router's "-1", "unknown", is dropped); max_output_tokens =
  `top_provider.max_completion_tokens`; capabilities: `supported_parameters` `tools` → tools,
  `structured_outputs` → structured_output, `reasoning` → reasoning;
  `architecture.input_modalities` `image` → vision, `audio` → audio_input.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from registry.config import PROVIDER_KEY_ENV, provider_base_url
from registry.errors import MalformedResponseError
from registry.providers.base import Credentials, ProviderListing
from registry.providers.classify import Decision, ListingFacts, kept_entries, text_decision
from registry.providers.common import (
    AdapterBase,
    PageCursors,
    chat_answer,
    decoded_json,
    expect,
    first_wins,
    get_json,
    listing_client,
    positive_int,
    readable_name,
    send,
    text_or_none,
    utc_datetime,
)
from registry.types import Category, DiscoveredModel, clean_capabilities, clean_price

# supported_parameters / input_modalities → the registry's capability vocabulary
_PARAMETER_CAPABILITIES = {
    "tools": "tools",
    "structured_outputs": "structured_output",
    "reasoning": "reasoning",
}
_INPUT_CAPABILITIES = {"image": "vision", "audio": "audio_input"}

logger = logging.getLogger(__name__)

PROVIDER = "openrouter"
KEY_ENV = PROVIDER_KEY_ENV[PROVIDER]
DEFAULT_ORIGIN = "https://openrouter.ai"
MODELS_PATH = "/api/v1/models"
CHAT_PATH = "/api/v1/chat/completions"


def output_modalities(entry: dict[str, Any]) -> list[str] | None:
    """What a model answers with, from `architecture`; None when the entry does not say."""
    architecture = entry.get("architecture")
    if not isinstance(architecture, dict):
        return None
    outputs = architecture.get("output_modalities")
    if isinstance(outputs, list):
        return [str(o).lower() for o in outputs]
    modality = architecture.get("modality")
    if isinstance(modality, str) and "->" in modality:
        return [m.strip().lower() for m in modality.split("->", 1)[1].split("+") if m.strip()]
    return None


def classify(entry: dict[str, Any]) -> Decision:
    """Whether a listing entry is a text model (the rules above)."""
    outputs = output_modalities(entry)
    architecture = entry.get("architecture")
    tokenizer = architecture.get("tokenizer") if isinstance(architecture, dict) else None
    facts = ListingFacts(
        outputs=frozenset(outputs) if outputs is not None else None, router=tokenizer == "Router"
    )
    return text_decision(PROVIDER, str(entry.get("id", "")), facts)


class OpenRouterAdapter(AdapterBase):
    """Lists OpenRouter's text-generating models."""

    provider = PROVIDER
    categories = frozenset({Category.TEXT})
    key_env = KEY_ENV

    def _list(
        self, category: Category, credentials: Credentials, timeout: float
    ) -> ProviderListing:
        entries, pages = _fetch(credentials.api_key, timeout)
        for entry in entries:
            if not isinstance(entry, dict):
                raise MalformedResponseError(PROVIDER, "a model entry is not a JSON object")
        kept = kept_entries(
            PROVIDER, category.value, entries, lambda e: (str(e.get("id")), classify(e))
        )
        models = first_wins(m for m in map(_model, kept) if m is not None)
        logger.info(
            "openrouter: %d text models of %d entries in %d pages", len(models), len(entries), pages
        )
        return ProviderListing(PROVIDER, category, models, pages=pages)

    # --- trying a model (registry.trial) ---------------------------------------------------

    def _complete(
        self, model_id: str, credentials: Credentials, prompt: str, max_tokens: int, timeout: float
    ) -> str:
        origin = httpx.URL(provider_base_url(PROVIDER) or DEFAULT_ORIGIN)
        with listing_client() as client:
            response = send(
                client,
                "POST",
                origin.join(CHAT_PATH),
                provider=PROVIDER,
                key_env=KEY_ENV,
                secret=credentials.api_key,
                timeout=timeout,
                headers={"Authorization": f"Bearer {credentials.api_key}"},
                body={
                    "model": model_id,
                    "messages": [{"role": "user", "content": prompt}],
                    "max_tokens": max_tokens,
                },
            )
        return chat_answer(PROVIDER, decoded_json(PROVIDER, response))


def _fetch(api_key: str, timeout: float) -> tuple[list[Any], int]:
    origin = httpx.URL(provider_base_url(PROVIDER) or DEFAULT_ORIGIN)
    url = origin.join(MODELS_PATH)
    cursors = PageCursors(PROVIDER, first=str(url))
    entries: list[Any] = []
    with listing_client() as client:
        while True:
            body = get_json(
                client,
                url,
                provider=PROVIDER,
                key_env=KEY_ENV,
                secret=api_key,
                timeout=timeout,
                headers={"Authorization": f"Bearer {api_key}"},
            )
            expect(PROVIDER, body, dict, "the model listing")
            entries.extend(expect(PROVIDER, body.get("data"), list, "`data`"))
            links = body.get("links")
            next_link = links.get("next") if isinstance(links, dict) else None
            if not next_link:
                return entries, cursors.pages
            url = _next_url(url, next_link, origin)
            cursors.follow(str(url))


def _next_url(current: httpx.URL, link: Any, origin: httpx.URL) -> httpx.URL:
    if not isinstance(link, str):
        raise MalformedResponseError(PROVIDER, "`links.next` should be a URL string")
    try:
        target = current.join(link)
    except httpx.InvalidURL:
        raise MalformedResponseError(PROVIDER, "`links.next` is not a valid URL") from None
    if (target.scheme, target.host, target.port) != (origin.scheme, origin.host, origin.port):
        # Following it would hand the API key to another host.
        raise MalformedResponseError(
            PROVIDER, f"`links.next` points to another host ({target.host}); not followed"
        )
    return target


def _model(entry: dict[str, Any]) -> DiscoveredModel | None:
    model_id = entry.get("id")
    if not isinstance(model_id, str) or not model_id.strip():
        logger.warning("openrouter: skipped an entry without an id")
        return None
    name = entry.get("name")
    description = entry.get("description")
    top_provider = entry.get("top_provider")
    if not isinstance(top_provider, dict):
        top_provider = {}
    context = positive_int(entry.get("context_length")) or positive_int(
        top_provider.get("context_length")
    )
    pricing = entry.get("pricing")
    if not isinstance(pricing, dict):
        pricing = {}
    return DiscoveredModel(
        model_id=model_id,
        display_name=text_or_none(name) or readable_name(model_id),
        description=description if isinstance(description, str) and description else None,
        context_window=context,
        supports_streaming=True,
        retires_at=utc_datetime(entry.get("expiration_date")),
        metadata=entry,  # freshly decoded JSON, owned by this listing
        input_price_per_mtok=clean_price(pricing.get("prompt"), 1e6),
        output_price_per_mtok=clean_price(pricing.get("completion"), 1e6),
        max_output_tokens=positive_int(top_provider.get("max_completion_tokens")),
        capabilities=_capabilities(entry),
    )


def _capabilities(entry: dict[str, Any]) -> list[str] | None:
    parameters = entry.get("supported_parameters")
    architecture = entry.get("architecture")
    inputs = architecture.get("input_modalities") if isinstance(architecture, dict) else None
    if not isinstance(parameters, list) and not isinstance(inputs, list):
        return None
    found = {_PARAMETER_CAPABILITIES.get(p) for p in parameters or [] if isinstance(p, str)}
    found |= {_INPUT_CAPABILITIES.get(m) for m in inputs or [] if isinstance(m, str)}
    return clean_capabilities(found)
