"""The one Protocol every provider adapter implements, and what keeps its calls safe.

- The contract: `ProviderAdapter`, `Credentials`, `ProviderListing`, `AudioSample`.
- Redaction: `redact` for messages (`snippet` for an excerpt of a body),
  `secrets_hidden_from_logs` for log records.
- Error mapping: `error_for_status` (an HTTP answer), `transport_error` (no answer),
  `timeout_error`, `unreachable_error`; every message an adapter raises comes from here.
- `shared_ssl_context`: the one SSL context every HTTP client is built with.

Helpers for normalising listings and fetching them live in `common`. An adapter fetches and
normalises a provider's listing, and tries one model on request (a voice sample, a short
answer). It never touches the database: discovery decides what a listing means for the catalog.
"""

from __future__ import annotations

import json
import logging
import os
import re
import ssl
import threading
import traceback
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any, Protocol
from urllib.parse import unquote

from registry.errors import (
    KeyRejectedError,
    MalformedResponseError,
    ProviderError,
    ProviderRateLimitedError,
    ProviderServerError,
    ProviderTimeoutError,
    ProviderUnreachableError,
)
from registry.text import inert
from registry.types import Category, DiscoveredModel

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class Credentials:
    """What an adapter needs to authenticate. `repr` never shows the key."""

    api_key: str = field(repr=False)
    region: str | None = None  # Azure Speech only


@dataclass(frozen=True, slots=True)
class ProviderListing:
    """A provider's answer for one category. `complete` is False when a page was missing.

    `warnings` says, for an admin, why a listing is incomplete (e.g. one of two sources
    failed); the texts are already redacted. `left_out`: the listed models that are not of
    `category`, each with the rule that says so (`registry.providers.classify`).
    """

    provider: str
    category: Category
    models: list[DiscoveredModel]
    complete: bool = True
    pages: int = 1
    warnings: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AudioSample:
    """A few seconds of a voice: the encoded audio and its MIME type (`audio/mpeg` …)."""

    audio: bytes = field(repr=False)
    mime: str


class ProviderAdapter(Protocol):
    """One provider's listing API. `categories` are those it can list through the API.

    `synthesize` (TTS) and `complete` (text) try one model with one short call, so an admin
    can hear a voice or read an answer before approving it; a provider without that
    category raises `InvalidInputError`.
    """

    provider: str
    categories: frozenset[Category]
    key_env: str

    def list_models(
        self, category: Category, credentials: Credentials, *, timeout: float
    ) -> ProviderListing: ...

    def synthesize(
        self,
        model_id: str,
        metadata: Mapping[str, Any],
        credentials: Credentials,
        *,
        text: str,
        timeout: float,
    ) -> AudioSample: ...

    def complete(
        self,
        model_id: str,
        credentials: Credentials,
        *,
        prompt: str,
        max_tokens: int,
        timeout: float,
    ) -> str: ...


_KEYISH = re.compile(
    r"(?i)(bearer\s+|api[_-]?key[=:]\s*|key=|x-api-key[=:]\s*|xi-api-key[=:]\s*)[^\s&\"',;]+"
)
REDACTED = "[redacted]"
# Any run of this many consecutive characters of a key, in any case, counts as the key: a
# provider that echoes the key minus a character, upper-cased, or cut by a snippet still
# hands most of it out.
KEY_RUN = 8
# Shorter strings are not keys (and would redact half of every message).
MIN_SECRET = 4
# An error quotes at most this much of a provider's body; `snippet` redacts before it cuts.
SNIPPET_CHARS = 200


def _fold(text: str) -> str:
    """`text` lower-cased character by character, so positions still match the original."""
    folded = text.lower()
    if len(folded) == len(text):
        return folded
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


@lru_cache(maxsize=32)
def _key_pattern(secret: str) -> tuple[re.Pattern[str], frozenset[str]]:
    """Runs of the key's own characters (a cheap C-speed filter), and the key's 8-grams."""
    folded = _fold(secret)
    alphabet = "".join(sorted(set(folded)))
    grams = frozenset(folded[i : i + KEY_RUN] for i in range(len(folded) - KEY_RUN + 1))
    return re.compile(f"[{re.escape(alphabet)}]{{{KEY_RUN},}}"), grams


def _secret_spans(text: str, secrets: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where `text` holds a secret: the whole (short) secret, or runs of its 8-grams, any case.

    Linear in the text: only runs made of the key's characters are looked at, each position
    once, with a set lookup.
    """
    folded = _fold(text)
    spans: list[tuple[int, int]] = []
    for secret in secrets:
        if len(secret) < KEY_RUN:
            needle = _fold(secret)
            start = folded.find(needle)
            while start >= 0:
                spans.append((start, start + len(needle)))
                start = folded.find(needle, start + 1)
            continue
        candidates, grams = _key_pattern(secret)
        for run in candidates.finditer(folded):
            begin = end = -1
            for i in range(run.start(), run.end() - KEY_RUN + 1):
                if folded[i : i + KEY_RUN] in grams:
                    if i > end:
                        if end >= 0:
                            spans.append((begin, end))
                        begin = i
                    end = i + KEY_RUN
            if end >= 0:
                spans.append((begin, end))
    return spans


def _usable(secrets: tuple[str | None, ...]) -> tuple[str, ...]:
    return tuple(s for s in secrets if s and len(s) >= MIN_SECRET)


def contains_secret(text: str, *secrets: str | None) -> bool:
    """True when `redact` would hide something of a secret in `text`."""
    usable = _usable(secrets)
    return bool(usable) and bool(_secret_spans(text, usable))


def redact(text: str, *secrets: str | None) -> str:
    """Remove every given secret (and anything that looks like a key parameter) from text.

    Providers echo keys back in 401 bodies and in URLs, so every message that leaves an
    adapter passes through here. A secret counts as present in any case, and so does any run
    of `KEY_RUN` or more of its consecutive characters. Redact before cutting a text short
    (`snippet` does): a cut through the key leaves a part this could no longer recognise.
    """
    usable = _usable(secrets)
    if usable:
        spans = sorted(_secret_spans(text, usable))
        if spans:
            pieces: list[str] = []
            position = 0
            for begin, end in spans:
                if end <= position:
                    continue
                if begin > position:
                    pieces.append(text[position:begin])
                    pieces.append(REDACTED)
                elif not pieces or pieces[-1] != REDACTED:
                    pieces.append(REDACTED)
                position = end
            pieces.append(text[position:])
            text = "".join(pieces)
    return _KEYISH.sub(lambda m: m.group(1) + REDACTED, text)


def snippet(text: str, secret: str | None, limit: int = SNIPPET_CHARS) -> str:
    """A one-line, inert excerpt of a provider's text, the key redacted BEFORE it is cut.

    Only a bounded prefix is looked at, so a 100 MB body costs no more than a short one; a key
    the prefix cuts through is still redacted up to the cut, and the excerpt ends long before.
    """
    head = redact(text[: limit * 8], secret)
    return inert(" ".join(head.split()), limit)


class _SecretRedactor:
    """Wraps the process's log record factory; redacts the secrets of listings in progress.

    A record factory (rather than a logger filter) is used because filters are not inherited by
    child loggers, and the transport libraries create theirs lazily on first use.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._active: tuple[str, ...] = ()
        self._installed = False

    def _install(self) -> None:
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            secrets = self._active
            if secrets:
                self._scrub(record, secrets)
            return record

        logging.setLogRecordFactory(factory)
        self._installed = True

    @staticmethod
    def _scrub(record: logging.LogRecord, secrets: tuple[str, ...]) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's business, not ours
            return
        if contains_secret(message, *secrets):
            record.msg = redact(message, *secrets)
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            text = "".join(traceback.format_exception(*record.exc_info))
            if contains_secret(text, *secrets):
                record.exc_info = None
                record.exc_text = None
                record.msg = f"{record.msg} [traceback withheld: it contained an API key]"

    @contextmanager
    def hidden(self, secret: str) -> Iterator[None]:
        if len(secret) < MIN_SECRET:  # as in redact(): shorter strings are not keys
            yield
            return
        with self._lock:
            if not self._installed:
                self._install()
            self._counts[secret] = self._counts.get(secret, 0) + 1
            self._active = tuple(self._counts)
        try:
            yield
        finally:
            with self._lock:
                remaining = self._counts[secret] - 1
                if remaining:
                    self._counts[secret] = remaining
                else:
                    del self._counts[secret]
                self._active = tuple(self._counts)


_redactor = _SecretRedactor()


def secrets_hidden_from_logs(secret: str) -> AbstractContextManager[None]:
    """Context manager: log records made while it is active never contain `secret`.

    The transport libraries log response headers at DEBUG level, and a provider that echoes
    the key in a 401 header would otherwise put it into the logs.
    """
    return _redactor.hidden(secret)


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    value = headers.get("retry-after") or headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


# Google (Gemini API, Cloud TTS) answers a key it does not know with HTTP 400
# `INVALID_ARGUMENT`, the reason in an `ErrorInfo` detail:
# {"error": {"code": 400, "status": "INVALID_ARGUMENT", "details": [{"@type":
# "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", …}]}}.
_KEY_INVALID_REASONS = frozenset({"API_KEY_INVALID"})
# xAI answers HTTP 400 {"code": "Client specified an invalid argument", "error": "Incorrect API
# key provided: xa***yz. You can obtain an API key from https://console.x.ai."}; some gateways
# pass that text on percent-encoded.
_KEY_INVALID_PHRASE = "incorrect api key provided"


def rejects_key(status_code: int, body: str = "", payload: Any = None) -> bool:
    """Whether an HTTP error answer says the key itself is bad (README, "The admin dashboard").

    401 and 403 always do; a 400 does only in the shapes Google and xAI use for an unknown key.
    `payload` is the answer's JSON where an SDK already decoded it (else `body` is decoded).
    """
    if status_code in (401, 403):
        return True
    if status_code != 400:
        return False
    if payload is None:
        try:
            payload = json.loads(body[: SNIPPET_CHARS * 64])
        except ValueError:
            return False
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, str):
        return _KEY_INVALID_PHRASE in unquote(error).lower()
    if not isinstance(error, dict):
        return False
    details = error.get("details")
    return isinstance(details, list) and any(
        isinstance(d, dict) and d.get("reason") in _KEY_INVALID_REASONS for d in details
    )


def error_for_status(
    provider: str,
    status_code: int,
    *,
    key_env: str,
    headers: Mapping[str, str] | None = None,
    body: str = "",
    secret: str | None = None,
    payload: Any = None,
) -> ProviderError:
    """Turn an HTTP error status into the error an admin can act on, with the key redacted.

    `payload`: the answer's JSON when an SDK has already decoded it (see `rejects_key`).
    """
    excerpt = snippet(body, secret)
    suffix = f" ({excerpt})" if excerpt else ""
    if rejects_key(status_code, body, payload):
        return KeyRejectedError(
            provider,
            f"the API key was rejected (HTTP {status_code}); replace it on the API keys page "
            f"or in {key_env}{suffix}",
        )
    if status_code == 429:
        retry_after = parse_retry_after(headers)
        when = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return ProviderRateLimitedError(
            provider, f"rate limited by the provider (HTTP 429){when}", retry_after
        )
    if status_code >= 500:
        return ProviderServerError(
            provider, f"the provider's server failed (HTTP {status_code}); try again later"
        )
    return MalformedResponseError(
        provider, f"unexpected answer from the provider (HTTP {status_code}){suffix}"
    )


def timeout_error(provider: str, timeout: float) -> ProviderTimeoutError:
    return ProviderTimeoutError(
        provider, f"no answer within {timeout:g} s; try again later or raise the timeout"
    )


def unreachable_error(provider: str, detail: str) -> ProviderUnreachableError:
    """No HTTP answer at all; `detail` (already redacted) says where or why."""
    return ProviderUnreachableError(
        provider, f"could not reach the provider ({detail}); check the network or the base URL"
    )


def transport_error(
    provider: str, exc: Exception, *, timeout: float, secret: str | None
) -> ProviderError:
    """Map an httpx/httpx2 transport failure (no HTTP answer) to the error an admin acts on.

    Works for both `httpx` and the `httpx2` fork by class name, so adapters on either stack
    share one wording without this module importing either.
    """
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "TimeoutException" in names:
        return timeout_error(provider, timeout)
    return unreachable_error(provider, redact(str(exc), secret) or type(exc).__name__)


_SSL_CONTEXT_LOCK = threading.Lock()


def shared_ssl_context() -> ssl.SSLContext:
    """The one certificate-verifying SSL context every adapter's HTTP client uses.

    Building a context costs ~23 ms of CPU (`load_verify_locations` parses the whole CA
    bundle while holding the GIL), and the SDKs build one or two per client, so with a fresh
    client per listing that CPU work dominated a refresh and serialised the parallel
    provider threads. The context holds no key or URL, so one per process is safe to share.

    Clients handed it must stay on HTTP/1.1 (the default everywhere here): httpcore sets the
    ALPN protocols on the context for each connection, so a client asking for HTTP/2 would
    change what the others offer.
    """
    # The lock keeps the parallel threads of a first refresh from each building a context.
    with _SSL_CONTEXT_LOCK:
        return _build_ssl_context()


@cache
def _build_ssl_context() -> ssl.SSLContext:
    # SSL_CERT_FILE / SSL_CERT_DIR replace the defaults, as they do for httpx and httpx2.
    # They are read once per process, like the context itself.
    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = os.environ.get("SSL_CERT_DIR") or None
    if cafile or capath:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    # Otherwise trust both stores the clients used before sharing a context: the system
    # store (the httpx2-based SDKs) and certifi's bundle (the plain httpx clients), so that
    # no host reachable before becomes unreachable.
    import certifi  # httpx's own dependency; imported here so `registry` stays light

    context = ssl.create_default_context()
    context.load_verify_locations(cafile=certifi.where())
    return context
