"""OpenAI: text and TTS models, both filtered from one `GET /v1/models` listing.

The listing carries only `id`, `created`, `owned_by` (and, on some entries, `shutdown_date`),
so the category is read from the id by the shared rules of `registry.providers.classify`
(README, "Which listed models count as text models"); for fine-tuned models
(`ft:<base>:<org>:<name>:<job>[:ckpt-step-N]`) from the base model's id:

**text** — a model that generates text through Chat Completions, Responses or the legacy
Completions API:
- its id names a text family: `gpt-…`, `chatgpt-…`, the o-series (`o1`, `o3-mini`, `o4-mini…`),
  `codex-…`, `davinci-002`, `babbage-002`; `-gpt-` inside the id (custom deployments such as
  `acme-gpt-4.1-mini-…`) counts too;
- and no not-text rule matches it: embeddings, moderation, image (`gpt-image-1`, `dall-e`,
  `chatgpt-image-latest`), video (`sora`), speech (`tts`), transcription (`transcribe`,
  `whisper`, `diarize`), realtime, audio-native chat (`gpt-audio`, `gpt-4o-audio-preview`
  require audio in or out), computer use, and deep research (which refuses a request without
  a search tool).
- Search (`…-search-preview`, `gpt-5-search-api`), Codex, `-pro` and fine-tuned text models
  are text: they answer in text.
- Any other id (a new family the rules do not know) is left out rather than guessed.

**tts** — `tts-1`, `tts-1-hd` and their dated snapshots, and every `…-tts` model
(`gpt-4o-mini-tts`, `gpt-4o-mini-tts-2025-12-15`), never a realtime or audio-chat model.

Other fields: display_name is derived from the id (OpenAI gives none); no description or
context window is listed; `shutdown_date`, when present, becomes `retires_at`; streaming is
assumed except for `o1-pro`/`o3-pro`, which OpenAI serves without streaming. `metadata` is
the entry as sent. Ids the listing repeats keep their first entry.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import openai

from registry.config import PROVIDER_KEY_ENV, provider_base_url
from registry.providers.base import AudioSample, Credentials, ProviderListing
from registry.providers.classify import Decision, kept_entries, text_decision, tts_decision
from registry.providers.common import (
    AdapterBase,
    chat_answer,
    first_wins,
    readable_name,
    sdk_entries,
    stainless_client,
    utc_datetime,
)
from registry.types import Category, DiscoveredModel

logger = logging.getLogger(__name__)

PROVIDER = "openai"
PUBLIC_BASE_URL = "https://api.openai.com/v1"

TEXT_FAMILY = re.compile(r"(?:^|[-:])(?:gpt|chatgpt|o\d+|codex|davinci|babbage)(?:-|$)")
_NO_STREAMING = re.compile(r"^o[13]-pro(?:-|$)")


def base_model_id(model_id: str) -> str:
    """The id a fine-tuned model was trained from (`ft:gpt-4o-mini:org::abc` → `gpt-4o-mini`)."""
    if model_id.startswith("ft:"):
        return model_id.split(":", 2)[1]
    return model_id


def classify(category: Category, model_id: str) -> Decision:
    """Whether the listing's `model_id` is a model of `category` (the rules above)."""
    base = base_model_id(model_id)
    if category is Category.TTS:
        return tts_decision(PROVIDER, base)
    return text_decision(PROVIDER, base, family=TEXT_FAMILY)


def fetch_openai_compatible_models(
    provider: str,
    *,
    key_env: str,
    public_base_url: str,
    credentials: Credentials,
    timeout: float,
    send_openai_account_headers: bool = True,
) -> list[dict[str, Any]]:
    """`GET {base_url}/models` through the `openai` SDK; the raw entries, in listing order.

    Shared by every OpenAI-compatible API (OpenAI itself, xAI); `REGISTRY_<PROVIDER>_BASE_URL`
    replaces the public origin. The endpoint is not paginated. Every failure is raised as a
    `ProviderError` with the key redacted.
    """
    with openai_compatible_client(
        provider,
        key_env=key_env,
        public_base_url=public_base_url,
        credentials=credentials,
        timeout=timeout,
        send_openai_account_headers=send_openai_account_headers,
    ) as client:
        return sdk_entries(provider, client.models.list(), openai.BaseModel)


@contextmanager
def openai_compatible_client(
    provider: str,
    *,
    key_env: str,
    public_base_url: str,
    credentials: Credentials,
    timeout: float,
    send_openai_account_headers: bool = True,
) -> Iterator[openai.OpenAI]:
    """The `openai` SDK client of an OpenAI-compatible API, at `REGISTRY_<PROVIDER>_BASE_URL`."""
    origin = provider_base_url(provider)
    base_url = f"{origin}/v1" if origin else public_base_url
    with stainless_client(
        provider,
        openai,
        openai.OpenAI,
        key=credentials.api_key,
        key_env=key_env,
        base_url=base_url,
        timeout=timeout,
    ) as client:
        if not send_openai_account_headers:
            # OPENAI_ORG_ID / OPENAI_PROJECT_ID from the environment mean nothing to
            # another vendor; do not hand them over.
            client.organization = None
            client.project = None
        yield client


def _discovered(entry: dict[str, Any]) -> DiscoveredModel:
    model_id: str = entry["id"]
    return DiscoveredModel(
        model_id=model_id,
        display_name=readable_name(model_id),
        description=None,
        context_window=None,
        supports_streaming=not _NO_STREAMING.search(base_model_id(model_id).lower()),
        retires_at=utc_datetime(entry.get("shutdown_date")),
        metadata=entry,
    )


class OpenAIAdapter(AdapterBase):
    """Lists OpenAI's text and TTS models through the `openai` SDK."""

    provider = PROVIDER
    categories = frozenset({Category.TEXT, Category.TTS})
    key_env = PROVIDER_KEY_ENV[PROVIDER]

    def _list(
        self, category: Category, credentials: Credentials, timeout: float
    ) -> ProviderListing:
        entries = fetch_openai_compatible_models(
            PROVIDER,
            key_env=self.key_env,
            public_base_url=PUBLIC_BASE_URL,
            credentials=credentials,
            timeout=timeout,
        )
        kept = kept_entries(
            PROVIDER, category.value, entries, lambda e: (e["id"], classify(category, e["id"]))
        )
        models = first_wins(_discovered(e) for e in kept)
        logger.info(
            "%s: %d %s models in a listing of %d entries",
            PROVIDER,
            len(models),
            category.value,
            len(entries),
        )
        return ProviderListing(provider=PROVIDER, category=category, models=models, pages=1)

    # --- trying a model (registry.trial) ---------------------------------------------------

    def _synthesize(
        self,
        model_id: str,
        metadata: Mapping[str, Any],
        credentials: Credentials,
        text: str,
        timeout: float,
    ) -> AudioSample:
        with self._client(credentials, timeout) as client:
            speech = client.audio.speech.create(
                model=model_id, voice=SAMPLE_VOICE, input=text, response_format="mp3"
            )
            return AudioSample(speech.content, "audio/mpeg")

    def _complete(
        self, model_id: str, credentials: Credentials, prompt: str, max_tokens: int, timeout: float
    ) -> str:
        with self._client(credentials, timeout) as client:
            completion = client.chat.completions.create(
                model=model_id,
                messages=[{"role": "user", "content": prompt}],
                # o-series and GPT-5 models refuse the older `max_tokens`.
                max_completion_tokens=max_tokens,
            )
            return chat_answer(PROVIDER, completion)

    def _client(
        self, credentials: Credentials, timeout: float
    ) -> AbstractContextManager[openai.OpenAI]:
        return openai_compatible_client(
            PROVIDER,
            key_env=self.key_env,
            public_base_url=PUBLIC_BASE_URL,
            credentials=credentials,
            timeout=timeout,
        )


SAMPLE_VOICE = "alloy"  # one of the built-in voices every OpenAI TTS model offers
