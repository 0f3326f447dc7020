"""Azure AI Speech: the neural voices of one region, `GET /cognitiveservices/voices/list`.

Source
- `https://{region}.tts.speech.microsoft.com/cognitiveservices/voices/list` (or
  `REGISTRY_AZURE_BASE_URL`), key in the `Ocp-Apim-Subscription-Key` header, region from
  the stored credentials or `AZURE_SPEECH_REGION`. One body, no pagination.

Classification (tts only)
- Every voice is a TTS entry, GA, Preview and Deprecated alike. A voice Microsoft marks
  `Status: "Deprecated"` stays listed (it still speaks) and carries `"deprecated": true` in
  its metadata, so admins see it before Microsoft removes it; the listing gives no date.

Normalisation
- model_id = `ShortName` (`en-US-JennyNeural`); display name = `"{DisplayName} ({Locale},
  {Gender})"`, e.g. `Jenny (en-US, Female)`; description = locale name, voice type and a
  non-GA status (`English (United States), Neural voice, Preview`); streaming = True;
  metadata = the raw entry (Locale, Gender, VoiceType, Status, StyleList …). The first of a
  repeated ShortName wins.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from registry.config import AZURE_REGION_ENV, PROVIDER_KEY_ENV, provider_base_url
from registry.errors import MalformedResponseError, MissingKeyError
from registry.providers.base import AudioSample, Credentials, ProviderListing
from registry.providers.common import (
    AdapterBase,
    expect,
    first_wins,
    get_json,
    listing_client,
    send,
    text_or_none,
)
from registry.types import Category, DiscoveredModel

logger = logging.getLogger(__name__)

PROVIDER = "azure"
KEY_ENV = PROVIDER_KEY_ENV[PROVIDER]
VOICES_PATH = "/cognitiveservices/voices/list"
SYNTHESIS_PATH = "/cognitiveservices/v1"
_REGION = re.compile(r"[a-z0-9]{2,40}")  # e.g. westeurope, eastus2: never a host of its own


def voices_origin(region: str | None) -> str:
    """The origin to ask: `REGISTRY_AZURE_BASE_URL`, else the region's public TTS host."""
    configured = provider_base_url(PROVIDER)
    if configured:
        return configured
    if not region or not region.strip():
        raise MissingKeyError(
            PROVIDER,
            f"no Azure Speech region is configured; set {AZURE_REGION_ENV} (e.g. westeurope) "
            "or store the region with the key",
        )
    normalised = region.strip().lower()
    if not _REGION.fullmatch(normalised):
        raise MissingKeyError(
            PROVIDER,
            f"{AZURE_REGION_ENV} must be an Azure region name like westeurope or eastus2",
        )
    return f"https://{normalised}.tts.speech.microsoft.com"


class AzureAdapter(AdapterBase):
    """Lists the Azure Speech voices of the configured region."""

    provider = PROVIDER
    categories = frozenset({Category.TTS})
    key_env = KEY_ENV

    def _list(
        self, category: Category, credentials: Credentials, timeout: float
    ) -> ProviderListing:
        origin = voices_origin(credentials.region)
        with listing_client() as client:
            body = get_json(
                client,
                f"{origin}{VOICES_PATH}",
                provider=PROVIDER,
                key_env=KEY_ENV,
                secret=credentials.api_key,
                timeout=timeout,
                headers={"Ocp-Apim-Subscription-Key": credentials.api_key},
            )
        entries = expect(PROVIDER, body, list, "the voice listing")
        found: list[DiscoveredModel] = []
        for entry in entries:
            model = _voice_model(entry)
            if model is not None:
                found.append(model)
        models = first_wins(found)
        deprecated = sum(1 for m in models if m.metadata.get("deprecated"))
        logger.info("azure: %d voices (%d marked deprecated by Microsoft)", len(models), deprecated)
        return ProviderListing(PROVIDER, category, models)

    # --- trying a model (registry.trial) ---------------------------------------------------

    def _synthesize(
        self,
        model_id: str,
        metadata: Mapping[str, Any],
        credentials: Credentials,
        text: str,
        timeout: float,
    ) -> AudioSample:
        locale = text_or_none(metadata.get("Locale")) or "-".join(model_id.split("-")[:2])
        ssml = (
            f"<speak version='1.0' xml:lang={quoteattr(locale)}>"
            f"<voice name={quoteattr(model_id)}>{escape(text)}</voice></speak>"
        )
        with listing_client() as client:
            response = send(
                client,
                "POST",
                f"{voices_origin(credentials.region)}{SYNTHESIS_PATH}",
                provider=PROVIDER,
                key_env=KEY_ENV,
                secret=credentials.api_key,
                timeout=timeout,
                headers={
                    "Ocp-Apim-Subscription-Key": credentials.api_key,
                    "Content-Type": "application/ssml+xml",
                    "X-Microsoft-OutputFormat": "audio-24khz-48kbitrate-mono-mp3",
                    "User-Agent": "model-registry",
                },
                content=ssml.encode(),
            )
        return AudioSample(response.content, "audio/mpeg")


def _voice_model(entry: Any) -> DiscoveredModel | None:
    if not isinstance(entry, dict):
        raise MalformedResponseError(PROVIDER, "a voice entry is not a JSON object")
    short_name = text_or_none(entry.get("ShortName"))
    if short_name is None:
        logger.warning("azure: skipped a voice without a ShortName")
        return None
    locale = text_or_none(entry.get("Locale"))
    gender = text_or_none(entry.get("Gender"))
    name = (
        text_or_none(entry.get("DisplayName")) or text_or_none(entry.get("LocalName")) or short_name
    )
    details = ", ".join(p for p in (locale, gender) if p)
    status = text_or_none(entry.get("Status"))
    if status is not None and status.lower() == "deprecated":
        entry["deprecated"] = True  # freshly decoded JSON, owned by this listing
    voice_type = text_or_none(entry.get("VoiceType"))
    description_parts = [
        text_or_none(entry.get("LocaleName")),
        f"{voice_type} voice" if voice_type else None,
        status if status is not None and status.upper() != "GA" else None,
    ]
    description = ", ".join(p for p in description_parts if p) or None
    return DiscoveredModel(
        model_id=short_name,
        display_name=f"{name} ({details})" if details else name,
        description=description,
        context_window=None,
        supports_streaming=True,
        retires_at=None,
        metadata=entry,
    )
