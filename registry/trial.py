"""Trying a model before relying on it: who a voice is, how it sounds, what a text model answers.

- `voice_facts(model)`: a voice as people pick one — name, locale, gender, labels — read from
  the listing metadata each provider sends (ElevenLabs `labels`, Azure `Locale`/`Gender`/
  `VoiceType`/`StyleList`, Cloud TTS `languageCodes`/`ssmlGender`/`naturalSampleRateHertz`;
  OpenAI's TTS models, which list nothing, from a small curated table).
- `voice_sample(model)`: a few seconds of the voice. The listing's `preview_url` when it has
  one, else one short sentence synthesised through the provider's TTS API with the stored key.
  Samples are cached in memory per voice (bounded, `SAMPLE_CACHE_BYTES`).
- `test_text_model(model)`: one short prompt with a small `max_tokens`; the answer and how
  long it took. `test_text_models(models)` tests several at once, all of them within one
  deadline (`TEST_BATCH_SECONDS`); `TEST_BUDGET` caps the paid calls each admin makes per
  minute (`TEST_CALLS_PER_MINUTE`), whatever the number of clicks or sessions.

Safety. Every call is bounded in time and size (`MAX_SAMPLE_BYTES`) by the adapters'
`ListingGuard`, and never follows a redirect to another origin. A preview URL is provider
text, so it is fetched without any key, only over http(s), and only from the provider's
configured base URL or an https host whose addresses are all public (no loopback, private or
link-local targets), connecting to the address that was checked (DNS rebinding). Every error
is a `RegistryError` whose message has the key redacted.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from registry.config import provider_base_url
from registry.errors import (
    InvalidInputError,
    MalformedResponseError,
    MissingKeyError,
    ProviderError,
    ProviderTimeoutError,
    RegistryError,
    missing_key_message,
)
from registry.providers.base import (
    DEFAULT_TIMEOUT_SECONDS,
    AudioSample,
    Credentials,
    ProviderAdapter,
    redact,
)
from registry.text import inert
from registry.types import CatalogModel, Category

logger = logging.getLogger(__name__)
T = TypeVar("T")

SAMPLE_TEXT = "Hello! This is how I sound. Thank you for listening."
TEST_PROMPT = "In one short sentence: which model are you?"
TEST_MAX_TOKENS = 64
SAMPLE_CACHE_BYTES = 16 * 1024 * 1024  # a few dozen samples; the oldest go first
LABEL_CHARS = 40  # one label in a grid cell
MAX_LABELS = 6

__all__ = [
    "TEST_MAX_TOKENS",
    "TEST_PROMPT",
    "TestResult",
    "VoiceFacts",
    "VoiceSample",
    "clear_sample_cache",
    "test_text_model",
    "voice_facts",
    "voice_sample",
]


# --- facts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VoiceFacts:
    """A voice as a person picks it; every text inert and one line."""

    name: str
    locale: str | None = None
    gender: str | None = None
    labels: tuple[str, ...] = ()


# OpenAI lists its TTS models without any detail; what its documentation says of them.
_OPENAI_TTS = {
    "tts-1": ("fast",),
    "tts-1-hd": ("high quality",),
    "gpt-4o-mini-tts": ("steerable",),
}
_OPENAI_VOICES = "voices: alloy, ash, coral, echo, fable, nova, onyx, sage, shimmer"
_GENDERS = {"female": "Female", "male": "Male", "neutral": "Neutral"}


def _text(value: Any) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
        return inert(" ".join(str(value).split()), LABEL_CHARS)
    return None


def _labels(values: Any) -> tuple[str, ...]:
    """Distinct non-empty labels, in order, at most `MAX_LABELS`."""
    seen: list[str] = []
    for value in values:
        text = _text(value)
        if text and text.lower() not in (s.lower() for s in seen):
            seen.append(text)
    return tuple(seen[:MAX_LABELS])


def _gender(value: Any) -> str | None:
    text = _text(value)
    return _GENDERS.get(text.lower(), text) if text else None


def voice_facts(model: CatalogModel) -> VoiceFacts:
    """Name, locale, gender and labels of a TTS entry, from its listing metadata."""
    metadata: Mapping[str, Any] = model.provider_metadata or {}
    name = inert(" ".join(model.display_name.split()), 80) or model.model_id
    if model.provider == "elevenlabs":
        return _elevenlabs_facts(metadata, name)
    if model.provider == "azure":
        return _azure_facts(metadata, name)
    if model.provider == "google":
        return _google_facts(model.model_id, metadata, name)
    if model.provider == "openai":
        extra = _OPENAI_TTS.get(model.model_id, ())
        return VoiceFacts(name, "multilingual", None, _labels([*extra, _OPENAI_VOICES]))
    return VoiceFacts(name)


def _elevenlabs_facts(metadata: Mapping[str, Any], name: str) -> VoiceFacts:
    labels = metadata.get("labels")
    labels = labels if isinstance(labels, dict) else {}
    languages = metadata.get("verified_languages")
    locale = None
    if isinstance(languages, list):
        locale = next(
            (_text(entry.get("locale")) for entry in languages if isinstance(entry, dict)), None
        )
    locale = locale or _text(labels.get("locale")) or _text(labels.get("language"))
    described = [v for k, v in labels.items() if k not in ("gender", "language", "locale")]
    return VoiceFacts(
        _text(metadata.get("name")) or name,
        locale,
        _gender(labels.get("gender")),
        _labels([metadata.get("category"), *described]),
    )


def _azure_facts(metadata: Mapping[str, Any], name: str) -> VoiceFacts:
    styles = metadata.get("StyleList")
    status = _text(metadata.get("Status"))
    return VoiceFacts(
        _text(metadata.get("LocalName")) or _text(metadata.get("DisplayName")) or name,
        _text(metadata.get("Locale")),
        _gender(metadata.get("Gender")),
        _labels(
            [
                metadata.get("VoiceType"),
                status if status and status.upper() != "GA" else None,
                *(styles if isinstance(styles, list) else []),
            ]
        ),
    )


def _google_facts(model_id: str, metadata: Mapping[str, Any], name: str) -> VoiceFacts:
    if metadata.get("service") != "cloud-tts":
        return VoiceFacts(name, None, None, ("Gemini TTS",))
    codes = [c for c in metadata.get("languageCodes") or () if isinstance(c, str)]
    locale = codes[0] if codes else None
    voice = model_id.removeprefix(f"{locale}-") if locale else model_id
    family, _, short = voice.rpartition("-")
    rate = metadata.get("naturalSampleRateHertz")
    return VoiceFacts(
        _text(short or voice) or name,
        _text(locale),
        _gender(metadata.get("ssmlGender")),
        _labels([family.replace("-", " "), f"{rate} Hz" if isinstance(rate, int) else None]),
    )


# --- samples -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VoiceSample:
    """What to play: the audio, its MIME type, and where it came from."""

    audio: bytes = field(repr=False)
    mime: str
    source: str  # "preview" (the provider's own sample) or "synthesis"


class _SampleCache:
    """Samples per (provider, voice), least recently used first out past `limit` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, str], VoiceSample] = OrderedDict()

    def get(self, key: tuple[str, str]) -> VoiceSample | None:
        with self._lock:
            sample = self._items.get(key)
            if sample is not None:
                self._items.move_to_end(key)
            return sample

    def put(self, key: tuple[str, str], sample: VoiceSample) -> None:
        with self._lock:
            self._items[key] = sample
            self._items.move_to_end(key)
            while sum(len(s.audio) for s in self._items.values()) > self.limit:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = _SampleCache(SAMPLE_CACHE_BYTES)


def clear_sample_cache() -> None:
    _cache.clear()


def voice_sample(model: CatalogModel, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> VoiceSample:
    """A few seconds of the voice: its preview when the listing has one, else a synthesis.

    A preview that cannot be fetched (refused address, error, not audio) falls back to the
    synthesis, which needs the provider's key. Cached per voice.
    """
    if model.category is not Category.TTS:
        raise InvalidInputError(f"{model.display_id} is not a voice (TTS model)")
    key = (model.provider, model.model_id)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    sample: VoiceSample | None = None
    preview = (model.provider_metadata or {}).get("preview_url")
    if isinstance(preview, str) and preview.strip():
        try:
            audio = fetch_preview(model.provider, preview.strip(), timeout=timeout)
            sample = VoiceSample(audio.audio, audio.mime, "preview")
        except RegistryError as exc:
            logger.warning("%s: preview not used, synthesising instead: %s", model.display_id, exc)
    if sample is None:
        adapter, credentials = _ready(model)
        audio = _call(
            credentials,
            model.provider,
            lambda: adapter.synthesize(
                model.model_id,
                model.provider_metadata or {},
                credentials,
                text=SAMPLE_TEXT,
                timeout=timeout,
            ),
        )
        sample = VoiceSample(audio.audio, audio.mime, "synthesis")
    _cache.put(key, sample)
    return sample


def preview_refusal(provider: str, url: str) -> str | None:
    """Why a preview URL may not be fetched, or None when it may (see the module docstring)."""
    return _checked_preview(provider, url)[0]


def _checked_preview(provider: str, url: str) -> tuple[str | None, tuple[str, str] | None]:
    """(why not, None), or (None, the (host, address) the fetch must connect to: the address
    checked here, so a name that resolves elsewhere a moment later is not followed), or
    (None, None) for the provider's own configured origin."""
    import httpx  # the discovery extra; kept out of `import registry`

    from registry.providers.common import is_public_address

    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return "it is not a valid URL", None
    if target.scheme not in ("http", "https") or not target.host:
        return "only http(s) addresses are fetched", None
    configured = provider_base_url(provider)
    if configured:
        home = httpx.URL(configured)
        if (home.scheme, home.host, home.port) == (target.scheme, target.host, target.port):
            return None, None  # the provider's own (configured) origin
    if target.scheme != "https":
        return "only https addresses are fetched outside the provider's base URL", None
    try:
        found = socket.getaddrinfo(target.host, target.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return "its host does not resolve", None
    addresses = [str(info[4][0]) for info in found]
    if not addresses or not all(is_public_address(a) for a in addresses):
        return "its host is not a public address", None
    return None, (target.host, addresses[0])


def fetch_preview(provider: str, url: str, *, timeout: float) -> AudioSample:
    """GET a listing's preview URL: no key, bounded in time and size, same-origin redirects."""
    from registry.providers.common import (
        MAX_SAMPLE_BYTES,
        ListingGuard,
        guarded,
        listing_client,
        send,
    )

    refusal, pinned = _checked_preview(provider, url)
    if refusal is not None:
        raise MalformedResponseError(provider, f"the preview URL was not fetched: {refusal}")

    def fetch() -> AudioSample:
        with listing_client(timeout=timeout, pinned=pinned) as client:
            response = send(
                client, "GET", url, provider=provider, key_env="", secret=None, timeout=timeout
            )
        mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if mime == "application/octet-stream" and url.lower().split("?")[0].endswith(".mp3"):
            mime = "audio/mpeg"
        if not mime.startswith("audio/"):
            raise MalformedResponseError(
                provider, f"the preview is not audio (Content-Type {inert(mime, 60) or 'none'})"
            )
        return AudioSample(response.content, mime)

    guard = ListingGuard(provider, timeout, max_bytes=MAX_SAMPLE_BYTES, what="the preview")
    return guarded(fetch, guard)


# --- text ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TestResult:
    """A text model's answer to `TEST_PROMPT` (inert) and how long the call took."""

    __test__: ClassVar[bool] = False  # not a pytest class, whatever its name

    answer: str
    latency_ms: int


def test_text_model(model: CatalogModel, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> TestResult:
    """Ask the model `TEST_PROMPT` with at most `TEST_MAX_TOKENS` tokens."""
    if model.category is not Category.TEXT:
        raise InvalidInputError(f"{model.display_id} is not a text model")
    adapter, credentials = _ready(model)  # outside the timing: the first use imports the SDK
    started = time.perf_counter()
    answer = _call(
        credentials,
        model.provider,
        lambda: adapter.complete(
            model.model_id,
            credentials,
            prompt=TEST_PROMPT,
            max_tokens=TEST_MAX_TOKENS,
            timeout=timeout,
        ),
    )
    latency = round((time.perf_counter() - started) * 1000)
    return TestResult(inert(answer.strip(), 2000), latency)


test_text_model.__test__ = False  # type: ignore[attr-defined]  # not a pytest test either


TEST_CALLS_PER_MINUTE = 20  # paid test calls one admin may make in any 60 s
TEST_BATCH_SECONDS = 30.0  # one run of several tests: every answer within this, together
TEST_PARALLEL = 8  # calls in flight at once in one run


class CallBudget:
    """At most `limit` calls per `window` seconds for each admin (a sliding window), shared by
    every session of that admin in this process."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, who: str, now: float) -> deque[float]:
        calls = self._calls.setdefault(who, deque())
        while calls and calls[0] <= now - self.window:
            calls.popleft()
        return calls

    def left(self, who: str) -> tuple[int, float]:
        """Calls `who` may make now, and seconds until the oldest counted call frees one."""
        now = time.monotonic()
        with self._lock:
            calls = self._recent(who, now)
            frees_in = calls[0] + self.window - now if calls else 0.0
            return max(self.limit - len(calls), 0), max(frees_in, 0.0)

    def take(self, who: str, wanted: int) -> int:
        """Count up to `wanted` calls for `who` now; returns how many it may make."""
        now = time.monotonic()
        with self._lock:
            calls = self._recent(who, now)
            granted = max(min(wanted, self.limit - len(calls)), 0)
            calls.extend([now] * granted)
            return granted


TEST_BUDGET = CallBudget(TEST_CALLS_PER_MINUTE)


def test_text_models(
    models: Sequence[CatalogModel], *, deadline: float | None = None
) -> list[TestResult | RegistryError]:
    """Test `models` concurrently; one result or error per model, in order, all within
    `deadline` seconds (default `TEST_BATCH_SECONDS`): a call still running then is cut off
    (its connection closed) and reported as a timeout."""
    if not models:
        return []
    deadline = TEST_BATCH_SECONDS if deadline is None else deadline
    ends = time.monotonic() + deadline

    def one(model: CatalogModel) -> TestResult:
        left = ends - time.monotonic()
        if left <= 0.5:  # queued behind slow calls until the time was up
            raise ProviderTimeoutError(model.provider, f"not tested within {deadline:g} s")
        try:
            return test_text_model(model, timeout=left)
        except ProviderTimeoutError:
            raise ProviderTimeoutError(
                model.provider, f"no answer within {deadline:g} s; the connection was closed"
            ) from None

    pool = ThreadPoolExecutor(max_workers=min(len(models), TEST_PARALLEL), thread_name_prefix="try")
    try:
        futures = [pool.submit(one, model) for model in models]
        wait_for(futures, timeout=deadline + 1.0)  # each call holds itself to the time left
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    results: list[TestResult | RegistryError] = []
    for model, future in zip(models, futures, strict=True):
        if not future.done() or future.cancelled():
            results.append(ProviderTimeoutError(model.provider, f"no answer within {deadline:g} s"))
            continue
        error = future.exception()
        results.append(error if isinstance(error, RegistryError) else future.result())
    return results


test_text_models.__test__ = False  # type: ignore[attr-defined]


def _ready(model: CatalogModel) -> tuple[ProviderAdapter, Credentials]:
    """The model's adapter (its SDK imported) and the provider's credentials."""
    from registry.keys import get_credentials
    from registry.providers import get_adapter

    adapter = get_adapter(model.provider)
    credentials = get_credentials(model.provider)
    if credentials is None:
        raise MissingKeyError(model.provider, missing_key_message(model.provider, adapter.key_env))
    return adapter, credentials


def _call(credentials: Credentials, provider: str, call: Callable[[], T]) -> T:
    """`call()`, any failure a registry error with the key redacted."""
    try:
        return call()
    except RegistryError:
        raise  # already worded for an admin, the key redacted
    except Exception as exc:  # an SDK surprise: keep its words, never the key
        detail = redact(f"{type(exc).__name__}: {exc}", credentials.api_key)
        raise ProviderError(provider, inert(detail, 300)) from None
