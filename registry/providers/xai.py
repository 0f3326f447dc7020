"""xAI: text models from `GET /v1/models`, an OpenAI-compatible API read with the `openai` SDK.

`/v1/models` carries only `id`, `created`, `owned_by`, so the category is read from the id by
the shared rules of `registry.providers.classify` (README, "Which listed models count as text
models"):

**text** — every `grok-…` model that no not-text rule matches: image and video generators
(`grok-imagine-image`, `grok-imagine-image-pro`, `grok-imagine-video`, `grok-2-image-1212`),
and embeddings, speech, transcription or realtime models, should xAI list any, are left out.
Vision-input models (`grok-2-vision-1212`), reasoning / non-reasoning variants, `grok-code-…`
and `…-multi-agent-…` models answer in text and are listed.
Ids outside the `grok` family are left out rather than guessed.

xAI lists no TTS models here; the registry takes xAI for text only.

Other fields: display_name is derived from the id (`grok-4-1-fast-reasoning` →
`Grok 4.1 Fast Reasoning`); no description or context window is listed; streaming is
assumed. `metadata` is the entry as sent. Ids the listing repeats keep their first entry.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from registry.config import PROVIDER_KEY_ENV
from registry.providers.base import Credentials, ProviderListing
from registry.providers.classify import Decision, kept_entries, text_decision
from registry.providers.common import AdapterBase, chat_answer, first_wins, readable_name
from registry.providers.openai import fetch_openai_compatible_models, openai_compatible_client
from registry.types import Category, DiscoveredModel

logger = logging.getLogger(__name__)

PROVIDER = "xai"
PUBLIC_BASE_URL = "https://api.x.ai/v1"

TEXT_FAMILY = re.compile(r"^grok(?:-|$)")


def classify(model_id: str) -> Decision:
    """Whether the listing's `model_id` is a text model (the rules above)."""
    return text_decision(PROVIDER, model_id, family=TEXT_FAMILY)


def _discovered(entry: dict[str, Any]) -> DiscoveredModel:
    model_id: str = entry["id"]
    return DiscoveredModel(
        model_id=model_id,
        display_name=readable_name(model_id),
        description=None,
        context_window=None,
        supports_streaming=True,
        retires_at=None,
        metadata=entry,
    )


class XAIAdapter(AdapterBase):
    """Lists xAI's Grok text models through the OpenAI-compatible `/v1/models`."""

    provider = PROVIDER
    categories = frozenset({Category.TEXT})
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
            send_openai_account_headers=False,
        )
        kept = kept_entries(
            PROVIDER, category.value, entries, lambda e: (e["id"], classify(e["id"]))
        )
        models = first_wins(_discovered(e) for e in kept)
        logger.info(
            "%s: %d text models in a listing of %d entries", PROVIDER, len(models), len(entries)
        )
        return ProviderListing(provider=PROVIDER, category=category, models=models, pages=1)

    # --- trying a model (registry.trial) ---------------------------------------------------

    def _complete(
        self, model_id: str, credentials: Credentials, prompt: str, max_tokens: int, timeout: float
    ) -> str:
        with openai_compatible_client(
            PROVIDER,
            key_env=self.key_env,
            public_base_url=PUBLIC_BASE_URL,
            credentials=credentials,
            timeout=timeout,
            send_openai_account_headers=False,
        ) as client:
            completion = client.chat.completions.create(
                model=model_id,
                messages=[{"role": "user", "content": prompt}],
                max_tokens=max_tokens,
            )
            return chat_answer(PROVIDER, completion)
