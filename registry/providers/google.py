"""Google: Gemini API models (text and TTS) plus Cloud Text-to-Speech voices (TTS).

Sources
- Gemini API, `GET /v1beta/models` through the google-genai SDK pager (`pageSize`=1000,
  `pageToken`/`nextPageToken` followed to the end). Ids are stored without the `models/`
  prefix (`gemini-2.5-flash`).
- Cloud Text-to-Speech, `GET /v1/voices` over httpx at `REGISTRY_GOOGLE_TTS_BASE_URL` or
  https://texttospeech.googleapis.com, with the same key in the `X-Goog-Api-Key` header (never
  in the URL). One body, no pagination.

Classification
By the shared rules of `registry.providers.classify` (README, "Which listed models count as
text models"):
- text: the model lists `generateContent` and no not-text rule matches its id. So Gemini,
  Gemma and LearnLM models count as text generators; Imagen, Veo, Nano Banana (image
  output), Lyria (music), embeddings, AQA, native-audio/Live (bidirectional audio), TTS,
  computer-use, Robotics-ER and deep-research (Interactions API only) models do not.
- tts: Gemini models with `generateContent` whose id has the token `tts`, plus every Cloud
  TTS voice (model_id = the voice name, e.g. `en-US-Chirp3-HD-Achernar`). The first of a
  repeated id wins. When the Cloud TTS call fails (often: the key's project has not enabled
  the Text-to-Speech API), the Gemini TTS models are still returned, with `complete=False`
  and the reason in `warnings`, so discovery deprecates nothing on a half listing. A failing
  Gemini listing fails the whole call.

Normalisation
- Gemini: display name = `displayName`; description; context window = `inputTokenLimit`;
  streaming = True (every `generateContent` model also streams); max_output_tokens =
  `outputTokenLimit`; capabilities = `["reasoning"]` when `thinking` is true, `[]` when false,
  None when absent (Gemini lists no prices). The listing gives no retirement dates.
  metadata = the entry in its wire field names (as the SDK parsed it; the SDK keeps every
  field the API documents) plus `"service": "gemini-api"`.
- Cloud TTS: display name `"{voice} ({language}, {Gender})"` with the locale prefix removed
  from the voice, e.g. `Chirp3 HD Achernar (en-US, Female)`; streaming = True only for Chirp 3
  HD / Chirp HD voices (the ones Cloud TTS streams); metadata = the raw entry plus
  `"service": "cloud-tts"`.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import re
import wave
from collections.abc import Mapping
from typing import Any

import httpx
import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from registry.config import PROVIDER_KEY_ENV, provider_base_url
from registry.errors import MalformedResponseError, ProviderError
from registry.providers.base import (
    AudioSample,
    Credentials,
    ProviderListing,
    error_for_status,
    redact,
    shared_ssl_context,
    transport_error,
)
from registry.providers.classify import (
    Decision,
    ListingFacts,
    id_tokens,
    kept_entries,
    text_decision,
    tts_decision,
)
from registry.providers.common import (
    AdapterBase,
    PageCursors,
    decoded_json,
    expect,
    first_wins,
    get_json,
    guard_hooks,
    listing_client,
    positive_int,
    readable_name,
    send,
    shape_error,
    text_or_none,
)
from registry.types import Category, DiscoveredModel

logger = logging.getLogger(__name__)

PROVIDER = "google"
KEY_ENV = PROVIDER_KEY_ENV[PROVIDER]
CLOUD_TTS_DEFAULT_ORIGIN = "https://texttospeech.googleapis.com"
CLOUD_TTS_SYNTHESIS_PATH = "/v1/text:synthesize"
GEMINI_PAGE_SIZE = 1000  # the API's maximum: one request for today's ~50 models

_STREAMING_VOICE_FAMILIES = ("-Chirp3-HD-", "-Chirp-HD-")
_GENDERS = {"FEMALE": "Female", "MALE": "Male", "NEUTRAL": "Neutral"}

# The SDK renames wire fields; these put back the ones `to_camel` does not restore.
_WIRE_NAMES = {"supportedActions": "supportedGenerationMethods"}


def classify(category: Category, entry: dict[str, Any]) -> Decision:
    """Whether a Gemini entry is a model of `category` (the rules above)."""
    facts = ListingFacts(
        generates_text="generateContent" in entry["_methods"],
        no_text_because="`supportedGenerationMethods` has no `generateContent`",
    )
    if category is Category.TTS:
        return tts_decision(PROVIDER, entry["_id"], facts)
    return text_decision(PROVIDER, entry["_id"], facts)


def _kept(category: Category, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return kept_entries(
        PROVIDER, category.value, entries, lambda e: (e["_id"], classify(category, e))
    )


class GoogleAdapter(AdapterBase):
    """Lists Gemini models (text, TTS) and Cloud Text-to-Speech voices (TTS)."""

    provider = PROVIDER
    categories = frozenset({Category.TEXT, Category.TTS})
    key_env = KEY_ENV

    def _list(
        self, category: Category, credentials: Credentials, timeout: float
    ) -> ProviderListing:
        api_key = credentials.api_key
        entries, pages = _fetch_gemini(api_key, timeout)
        if category is Category.TEXT:
            models = [_gemini_model(e) for e in _kept(category, entries)]
            logger.info("google: %d text models of %d entries", len(models), len(entries))
            return ProviderListing(PROVIDER, category, first_wins(models), pages=pages)

        gemini_tts = [_gemini_model(e) for e in _kept(category, entries)]
        try:
            voices = _fetch_cloud_tts_voices(api_key, timeout)
        except ProviderError as exc:
            warning = redact(
                f"Cloud Text-to-Speech voices could not be listed ({exc.detail}); only the "
                f"{len(gemini_tts)} Gemini TTS models are included and nothing is deprecated",
                api_key,
            )
            logger.warning("google: %s", warning)
            return ProviderListing(
                PROVIDER,
                category,
                first_wins(gemini_tts),
                complete=False,
                pages=pages,
                warnings=[warning],
            )
        models = first_wins(gemini_tts + voices)
        logger.info(
            "google: %d TTS entries (%d Gemini TTS models, %d Cloud TTS voices)",
            len(models),
            len(gemini_tts),
            len(voices),
        )
        return ProviderListing(PROVIDER, category, models, pages=pages + 1)

    # --- trying a model (registry.trial) ---------------------------------------------------

    def _synthesize(
        self,
        model_id: str,
        metadata: Mapping[str, Any],
        credentials: Credentials,
        text: str,
        timeout: float,
    ) -> AudioSample:
        if is_cloud_tts_voice(model_id, metadata):
            return _cloud_tts_sample(model_id, metadata, credentials.api_key, text, timeout)
        config = genai_types.GenerateContentConfig(
            response_modalities=["AUDIO"],
            speech_config=genai_types.SpeechConfig(
                voice_config=genai_types.VoiceConfig(
                    prebuilt_voice_config=genai_types.PrebuiltVoiceConfig(
                        voice_name=GEMINI_SAMPLE_VOICE
                    )
                )
            ),
        )
        response = _generate(model_id, credentials.api_key, text, config, timeout)
        try:
            blob = response.candidates[0].content.parts[0].inline_data  # type: ignore[index,union-attr]
        except (TypeError, IndexError, AttributeError):
            blob = None
        if blob is None or not blob.data:
            raise MalformedResponseError(PROVIDER, "the answer carried no audio")
        return AudioSample(wav_from_pcm(blob.data, _pcm_rate(blob.mime_type)), "audio/wav")

    def _complete(
        self, model_id: str, credentials: Credentials, prompt: str, max_tokens: int, timeout: float
    ) -> str:
        config = genai_types.GenerateContentConfig(max_output_tokens=max_tokens)
        response = _generate(model_id, credentials.api_key, prompt, config, timeout)
        try:
            return response.text or ""
        except ValueError:  # the SDK's way of saying the answer has no text part
            return ""


GEMINI_SAMPLE_VOICE = "Kore"  # one of the prebuilt voices every Gemini TTS model speaks
PCM_RATE = re.compile(r"rate=(\d+)")


def is_cloud_tts_voice(model_id: str, metadata: Mapping[str, Any]) -> bool:
    """A Cloud Text-to-Speech voice, not a Gemini TTS model (curated rows carry no metadata)."""
    service = metadata.get("service")
    if service is not None:
        return bool(service == "cloud-tts")
    return "tts" not in id_tokens(model_id)


def _generate(
    model_id: str,
    api_key: str,
    contents: str,
    config: genai_types.GenerateContentConfig,
    timeout: float,
) -> genai_types.GenerateContentResponse:
    client = _gemini_client(api_key, timeout)
    try:
        return client.models.generate_content(model=model_id, contents=contents, config=config)
    except ProviderError:
        raise
    except _SDK_FAILURES as exc:
        raise _translate_sdk_error(exc, api_key, timeout) from None
    finally:
        client.close()


def _pcm_rate(mime: str | None) -> int:
    match = PCM_RATE.search(mime or "")
    return int(match.group(1)) if match else 24_000  # what Gemini TTS sends


def wav_from_pcm(pcm: bytes, rate: int) -> bytes:
    """16-bit mono PCM (what Gemini TTS answers) in a WAV container a browser plays."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buffer.getvalue()


def _cloud_tts_sample(
    voice: str, metadata: Mapping[str, Any], api_key: str, text: str, timeout: float
) -> AudioSample:
    codes = [c for c in metadata.get("languageCodes") or () if isinstance(c, str)]
    language = codes[0] if codes else "-".join(voice.split("-")[:2])
    origin = provider_base_url("google_tts") or CLOUD_TTS_DEFAULT_ORIGIN
    with listing_client() as client:
        response = send(
            client,
            "POST",
            f"{origin}{CLOUD_TTS_SYNTHESIS_PATH}",
            provider=PROVIDER,
            key_env=KEY_ENV,
            secret=api_key,
            timeout=timeout,
            headers={"X-Goog-Api-Key": api_key},
            body={
                "input": {"text": text},
                "voice": {"languageCode": language, "name": voice},
                "audioConfig": {"audioEncoding": "MP3"},
            },
        )
    body = expect(PROVIDER, decoded_json(PROVIDER, response), dict, "the synthesis answer")
    try:
        audio = base64.b64decode(body.get("audioContent") or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        audio = b""
    if not audio:
        raise MalformedResponseError(PROVIDER, "the synthesis answer carried no audioContent")
    return AudioSample(audio, "audio/mpeg")


def _gemini_client(api_key: str, timeout: float) -> genai.Client:
    ssl_context = shared_ssl_context()
    options = genai_types.HttpOptions(
        base_url=provider_base_url(PROVIDER),
        api_version="v1beta",
        timeout=max(1, int(timeout * 1000)),  # the SDK takes milliseconds
        # One attempt: a 429/500/timeout must surface at once, within the caller's timeout.
        retry_options=genai_types.HttpRetryOptions(attempts=1),
        # Without these the SDK builds two contexts per client (httpx, websockets), each
        # loading the CA bundle. `verify` reaches both httpx clients; `ssl` is what the SDK
        # reads for websockets (and drops from the httpx arguments).
        client_args={"verify": ssl_context, "event_hooks": guard_hooks()},
        async_client_args={"verify": ssl_context, "ssl": ssl_context},
    )
    # vertexai=False so an ambient GOOGLE_GENAI_USE_VERTEXAI cannot redirect the key.
    return genai.Client(api_key=api_key, vertexai=False, http_options=options)


def _translate_sdk_error(exc: Exception, api_key: str, timeout: float) -> ProviderError:
    if isinstance(exc, genai_errors.APIError):
        response = exc.response
        headers = getattr(response, "headers", None)
        body = str(exc.message or exc.details or "")
        return error_for_status(
            PROVIDER,
            exc.code or 0,
            key_env=KEY_ENV,
            headers=dict(headers) if headers is not None else None,
            body=body,
            secret=api_key,
            payload=exc.details,
        )
    if isinstance(exc, httpx2.TransportError | httpx.TransportError):
        return transport_error(PROVIDER, exc, timeout=timeout, secret=api_key)
    return shape_error(PROVIDER, exc=exc, secret=api_key)


# What the SDK may raise while fetching or parsing a page: API errors, transport errors, and
# ValueError/TypeError/KeyError/AttributeError from JSON decoding and pydantic validation.
_SDK_FAILURES = (
    genai_errors.APIError,
    httpx2.TransportError,
    httpx.TransportError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
)


def _fetch_gemini(api_key: str, timeout: float) -> tuple[list[dict[str, Any]], int]:
    """Every Gemini model entry (wire field names, plus `_id` and `_methods`), and the pages."""
    client = _gemini_client(api_key, timeout)  # kept referenced while the pager runs
    entries: list[dict[str, Any]] = []
    cursors = PageCursors(PROVIDER)
    try:
        pager = client.models.list(config={"page_size": GEMINI_PAGE_SIZE, "query_base": True})
        while True:
            for model in pager.page:
                entry = _wire_entry(model)
                if entry is not None:
                    entries.append(entry)
            token = pager.config.get("page_token")
            if not token:
                return entries, cursors.pages
            cursors.follow(token)
            pager.next_page()
    except ProviderError:
        raise
    except _SDK_FAILURES as exc:
        raise _translate_sdk_error(exc, api_key, timeout) from None
    finally:
        client.close()


def _wire_entry(model: genai_types.Model) -> dict[str, Any] | None:
    if not isinstance(model, genai_types.Model):
        raise MalformedResponseError(PROVIDER, "a model entry is not a JSON object")
    entry = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    for sdk_name, wire_name in _WIRE_NAMES.items():
        if sdk_name in entry:
            entry[wire_name] = entry.pop(sdk_name)
    # The SDK parses each whole entry into `tuned_model_info` as well; for base models that
    # is an empty object the API never sent.
    if not entry.get("tunedModelInfo"):
        entry.pop("tunedModelInfo", None)
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        logger.warning("google: skipped a model entry without a name")
        return None
    methods = entry.get("supportedGenerationMethods") or []
    entry["_id"] = name.removeprefix("models/")
    entry["_methods"] = [m for m in methods if isinstance(m, str)]
    return entry


def _gemini_model(entry: dict[str, Any]) -> DiscoveredModel:
    model_id: str = entry.pop("_id")
    entry.pop("_methods")
    entry["service"] = "gemini-api"
    description = entry.get("description")
    return DiscoveredModel(
        model_id=model_id,
        display_name=text_or_none(entry.get("displayName")) or readable_name(model_id),
        description=description if isinstance(description, str) and description else None,
        context_window=positive_int(entry.get("inputTokenLimit")),
        supports_streaming=True,
        retires_at=None,
        metadata=entry,
        max_output_tokens=positive_int(entry.get("outputTokenLimit")),
        capabilities=_capabilities(entry.get("thinking")),
    )


def _capabilities(thinking: Any) -> list[str] | None:
    if isinstance(thinking, bool):
        return ["reasoning"] if thinking else []
    return None


def _fetch_cloud_tts_voices(api_key: str, timeout: float) -> list[DiscoveredModel]:
    origin = provider_base_url("google_tts") or CLOUD_TTS_DEFAULT_ORIGIN
    with listing_client() as client:
        body = get_json(
            client,
            f"{origin}/v1/voices",
            provider=PROVIDER,
            key_env=KEY_ENV,
            secret=api_key,
            timeout=timeout,
            headers={"X-Goog-Api-Key": api_key},
        )
    expect(PROVIDER, body, dict, "the Cloud TTS voice listing")
    # Google omits empty repeated fields: no "voices" key means no voices.
    voices = expect(PROVIDER, body.get("voices", []), list, "Cloud TTS `voices`")
    models: list[DiscoveredModel] = []
    for entry in voices:
        model = _voice_model(entry)
        if model is not None:
            models.append(model)
    return models


def _voice_model(entry: Any) -> DiscoveredModel | None:
    if not isinstance(entry, dict):
        raise MalformedResponseError(PROVIDER, "a Cloud TTS voice is not a JSON object")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        logger.warning("google: skipped a Cloud TTS voice without a name")
        return None
    codes = [c for c in entry.get("languageCodes") or () if isinstance(c, str)]
    language = codes[0] if codes else None
    voice = name
    if language and name.startswith(language + "-"):
        voice = name[len(language) + 1 :]
    gender = _GENDERS.get(str(entry.get("ssmlGender") or ""))
    details = ", ".join(part for part in (language, gender) if part)
    voice = voice.replace("-", " ")
    display = f"{voice} ({details})" if details else voice
    rate = positive_int(entry.get("naturalSampleRateHertz"))
    description = "Cloud Text-to-Speech voice"
    if codes:
        description += f" for {', '.join(codes)}"
    if rate:
        description += f", {rate} Hz"
    entry["service"] = "cloud-tts"  # the entry is freshly decoded JSON: no copy needed
    return DiscoveredModel(
        model_id=name,
        display_name=display,
        description=description,
        context_window=None,
        supports_streaming=any(f in f"-{name}-" for f in _STREAMING_VOICE_FAMILIES),
        retires_at=None,
        metadata=entry,
    )
