"""What the adapters share beyond `base`: the call, normalising and fetching a listing.

- The call: `AdapterBase`, which every adapter extends. It checks the category and the key,
  hides the key from logs and holds the listing to its limits (`ListingGuard`); the adapter's
  `_list` does the rest.
- Normalisation: `readable_name`, `utc_datetime`, `positive_int`, `text_or_none`,
  `first_wins`.
- Fetching: `get_json` and `send` (plain httpx), `expect`, `entries_with_ids`,
  `stainless_client` and `sdk_entries` (the `openai` and `anthropic` SDKs), `PageCursors`
  (every paginated listing), `chat_answer` (an OpenAI-style chat answer), and the wordings for
  a body of the wrong shape (`shape_error`, `not_json`).
- Trying a model: `AdapterBase.synthesize` / `complete` run the adapter's `_synthesize` /
  `_complete` under a `ListingGuard` of their own (`MAX_SAMPLE_BYTES` for audio).

Every failure leaves as a `ProviderError` subclass whose message went through `redact`,
raised `from None` so the transport exception (which holds the request and its key header) is
not chained into tracebacks or logs.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from datetime import UTC, date, datetime
from types import ModuleType
from typing import Any, Protocol, TypeVar

import httpcore
import httpx
import httpx2

from registry.config import discovery_timeout
from registry.errors import (
    InvalidInputError,
    MalformedResponseError,
    MissingKeyError,
    ProviderError,
    ProviderTimeoutError,
    missing_key_message,
)
from registry.providers.base import (
    DEFAULT_TIMEOUT_SECONDS,
    AudioSample,
    Credentials,
    ProviderListing,
    error_for_status,
    redact,
    secrets_hidden_from_logs,
    shared_ssl_context,
    snippet,
    timeout_error,
    transport_error,
    unreachable_error,
)
from registry.providers.classify import collecting_left_out
from registry.text import inert
from registry.types import Category, DiscoveredModel, clean_token_count, parse_category

logger = logging.getLogger(__name__)

# --- the call ---------------------------------------------------------------------------------


class AdapterBase:
    """What every adapter does around its own listing code (`_list`).

    Subclasses set `provider`, `categories` and `key_env` (the `ProviderAdapter` Protocol) and
    implement `_list`, which runs with a category the adapter lists and a non-blank key, inside
    a `ListingGuard` (`REGISTRY_DISCOVERY_TIMEOUT`, byte and entry limits, same-origin
    redirects only) that every HTTP client it builds joins through `guard_hooks()` (or
    `listing_client()`); oversized metadata is trimmed on the way out (`capped_metadata`).
    """

    provider: str
    categories: frozenset[Category]
    key_env: str

    def list_models(
        self,
        category: Category,
        credentials: Credentials,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> ProviderListing:
        parsed = parse_category(category)
        if parsed not in self.categories:
            raise InvalidInputError(f"{self.provider} does not list {parsed.value} models")
        self._require_key(credentials)
        seconds = discovery_timeout()
        with collecting_left_out() as left_out:
            listing = guarded(
                lambda: self._list(parsed, credentials, min(timeout, seconds)),
                ListingGuard(self.provider, seconds),
                credentials.api_key,
            )
        listing.left_out.update(left_out)
        return capped_metadata(listing)

    def _list(
        self, category: Category, credentials: Credentials, timeout: float
    ) -> ProviderListing:
        raise NotImplementedError

    # Trying a model (`registry.trial`): one short call, under the same guard, smaller limits.

    def synthesize(
        self,
        model_id: str,
        metadata: Mapping[str, Any],
        credentials: Credentials,
        *,
        text: str,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> AudioSample:
        self._check_trial(Category.TTS, credentials)
        return guarded(
            lambda: self._synthesize(model_id, metadata, credentials, text, timeout),
            ListingGuard(self.provider, timeout, max_bytes=MAX_SAMPLE_BYTES, what="the sample"),
            credentials.api_key,
        )

    def complete(
        self,
        model_id: str,
        credentials: Credentials,
        *,
        prompt: str,
        max_tokens: int,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> str:
        self._check_trial(Category.TEXT, credentials)
        return guarded(
            lambda: self._complete(model_id, credentials, prompt, max_tokens, timeout),
            ListingGuard(self.provider, timeout, what="the answer"),
            credentials.api_key,
        )

    def _check_trial(self, category: Category, credentials: Credentials) -> None:
        if category not in self.categories:
            raise InvalidInputError(f"{self.provider} has no {category.value} models to try")
        self._require_key(credentials)

    def _require_key(self, credentials: Credentials) -> None:
        if not credentials.api_key or not credentials.api_key.strip():
            raise MissingKeyError(self.provider, missing_key_message(self.provider, self.key_env))

    def _synthesize(
        self,
        model_id: str,
        metadata: Mapping[str, Any],
        credentials: Credentials,
        text: str,
        timeout: float,
    ) -> AudioSample:
        raise NotImplementedError

    def _complete(
        self, model_id: str, credentials: Credentials, prompt: str, max_tokens: int, timeout: float
    ) -> str:
        raise NotImplementedError


Result = TypeVar("Result")


def guarded(call: Callable[[], Result], guard: ListingGuard, secret: str = "") -> Result:
    """Run one provider call inside `guard`, the key hidden from logs; a limit hit wins."""
    # Transport libraries log response headers at DEBUG; a 401 may echo the key there.
    with secrets_hidden_from_logs(secret), guard:
        try:
            result = call()
        except Exception:
            fault = guard.error()
            if fault is not None:
                raise fault from None
            raise
        # A limit hit on a secondary source (Cloud TTS) still fails the whole call.
        fault = guard.error()
        if fault is not None:
            raise fault from None
    return result


# --- the limits of one listing ----------------------------------------------------------------

# DESIGN.md's safety limits, for one listing with all its pages together.
MAX_LISTING_BYTES = 32 * 1024 * 1024
MAX_LISTING_ENTRIES = 25_000
# A voice sample (a preview or a short synthesis) is a few seconds of audio: 2 MB is plenty.
MAX_SAMPLE_BYTES = 2 * 1024 * 1024
# An entry's `provider_metadata` above this (compact JSON, UTF-8) keeps only small scalars.
MAX_METADATA_BYTES = 64 * 1024
MAX_KEPT_STRING = 1000  # characters of a string field kept in trimmed metadata
TRIMMED_MARKER = "_registry_trimmed"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_current_guard: ContextVar[ListingGuard | None] = ContextVar("listing_guard", default=None)


class ListingGuard:
    """Holds one listing to its deadline and its byte and entry budgets, and keeps its key home.

    Every HTTP client an adapter builds carries `guard_hooks()`; the hooks find the guard of
    the listing in progress (a context variable, so parallel listings on other threads keep
    their own) and:
    - cap every request's timeouts at the time left, and refuse new requests once it is over;
    - refuse a redirect to another origin (scheme, host, port) before any client follows it;
    - count the bytes and the entries of each body between chunks as it streams in, so an SDK
      that reads the whole body is stopped at the limit, not after it buffered everything;
    - at the deadline, a timer shuts the listing's sockets down (the transport reports each
      new connection through the `trace` extension): a blocked read returns at once, whatever
      its own timeout, so headers or a body that trickle or never end are stopped.
    The first limit hit is kept in `fault`; the adapter call raises it whatever the SDK made
    of the exception in between.
    """

    def __init__(
        self,
        provider: str,
        seconds: float,
        *,
        max_bytes: int = MAX_LISTING_BYTES,
        what: str = "the listing",
    ) -> None:
        self.provider = provider
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.what = what  # what the messages call the body: "the listing", "the sample" …
        self.deadline = time.monotonic() + seconds
        self.bytes = 0
        self.entries = 0
        self.fault: ProviderError | None = None
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> ListingGuard:
        self._token = _current_guard.set(self)
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _current_guard.reset(self._token)
        with self._lock:
            self._sockets.clear()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def fail(self, error: ProviderError) -> ProviderError:
        """Record the first limit hit; returns the one recorded (to raise)."""
        with self._lock:
            if self.fault is None:
                self.fault = error
            return self.fault

    def error(self) -> ProviderError | None:
        """A fresh copy of the recorded fault, to raise with no SDK exception chained to it."""
        if self.fault is None and self.remaining() <= 0:
            # A read timed out at the deadline just before the timer thread got to run.
            self._timed_out()
        fault = self.fault
        return None if fault is None else type(fault)(fault.provider, fault.detail)

    def _timed_out(self) -> ProviderError:
        return self.fail(
            ProviderTimeoutError(
                self.provider,
                f"no complete answer within {self.seconds:g} s"
                + (" (REGISTRY_DISCOVERY_TIMEOUT)" if self.what == "the listing" else "")
                + "; the connection was closed",
            )
        )

    def _expire(self) -> None:
        self._timed_out()
        with self._lock:
            self._expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut_down(sock)

    def _watch(self, sock: socket.socket) -> None:
        with self._lock:
            if not self._expired:
                self._sockets.append(sock)
                return
        _shut_down(sock)

    # the hooks -------------------------------------------------------------------------------

    def on_request(self, request: Any) -> None:
        left = self.remaining()
        if left <= 0:
            raise self._timed_out()
        timeouts = request.extensions.get("timeout")
        if isinstance(timeouts, dict):
            request.extensions["timeout"] = {
                name: left if value is None else min(value, left)
                for name, value in timeouts.items()
            }
        # Ask for the body as it is; one compressed anyway is decoded (and counted) by the guard.
        request.headers["Accept-Encoding"] = "identity"
        # The transport reports each new connection here, so the deadline can close it even
        # while the answer's headers are still trickling in.
        previous = request.extensions.get("trace")

        def trace(event: str, info: dict[str, Any]) -> Any:
            if event.endswith((".connect_tcp.complete", ".start_tls.complete")):
                stream = info.get("return_value")
                sock = stream.get_extra_info("socket") if stream is not None else None
                if isinstance(sock, socket.socket):
                    self._watch(sock)
            return previous(event, info) if previous is not None else None

        request.extensions["trace"] = trace

    def on_response(self, response: Any) -> None:
        if response.status_code in _REDIRECTS and "location" in response.headers:
            self._check_redirect(response)
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        decoder = None
        if encoding not in ("", "identity"):
            if encoding not in ("gzip", "x-gzip", "deflate"):
                raise self.fail(
                    MalformedResponseError(
                        self.provider,
                        f"{self.what} arrived with Content-Encoding {inert(encoding, 40)}, which "
                        "was not asked for; refused",
                    )
                )
            # Decoded here, chunk by chunk, so the budget counts what a bomb expands to.
            decoder = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)
            del response.headers["content-encoding"]
        else:
            length = response.headers.get("content-length", "")
            if length.isdigit() and self.bytes + int(length) > self.max_bytes:
                raise self._too_large()
        counter = _EntryCounter() if 200 <= response.status_code < 300 else None
        response.stream = _GuardedStream(response.stream, self, counter, decoder)

    def _check_redirect(self, response: Any) -> None:
        source = response.request.url
        try:
            target = source.join(response.headers["location"])
        except Exception:  # an unparsable Location goes nowhere either
            target = None
        if target is not None and (target.scheme, target.host, target.port) == (
            source.scheme,
            source.host,
            source.port,
        ):
            return  # same origin: the client may follow it
        where = "an unreadable address"
        if target is not None:
            where = target.host + (f":{target.port}" if target.port else "")
        raise self.fail(
            MalformedResponseError(
                self.provider,
                f"the provider redirected {self.what} to another host ({inert(where, 80)}); "
                "not followed, so the API key was not sent there",
            )
        )

    def _too_large(self) -> ProviderError:
        return self.fail(
            MalformedResponseError(
                self.provider,
                f"{self.what} is larger than {self.max_bytes // (1024 * 1024)} MB; refused, "
                "nothing was changed",
            )
        )

    def took(self, size: int, counter: _EntryCounter | None, chunk: bytes) -> None:
        """Account for one chunk of a body; raises the fault once a limit is passed."""
        if self.remaining() <= 0:
            raise self._timed_out()
        self.bytes += size
        if self.bytes > self.max_bytes:
            raise self._too_large()
        if counter is not None:
            before = counter.entries
            counter.feed(chunk)
            self.entries += counter.entries - before
            if self.entries > MAX_LISTING_ENTRIES:
                raise self.fail(
                    MalformedResponseError(
                        self.provider,
                        f"the listing has more than {MAX_LISTING_ENTRIES:,} entries; refused, "
                        "nothing was changed",
                    )
                )


def _shut_down(sock: socket.socket) -> None:
    with suppress(OSError):  # already closed: nothing left to stop
        sock.shutdown(socket.SHUT_RDWR)


def _on_request(request: Any) -> None:
    guard = _current_guard.get()
    if guard is not None:
        guard.on_request(request)


def _on_response(response: Any) -> None:
    guard = _current_guard.get()
    if guard is not None:
        guard.on_response(response)


def guard_hooks(
    extra_response_hooks: Iterable[Callable[[Any], None]] = (),
) -> dict[str, list[Callable[[Any], None]]]:
    """The `event_hooks` of every HTTP client (httpx or httpx2) an adapter builds.

    `extra_response_hooks` run after the guard's, so they read a body already held to limits.
    """
    return {"request": [_on_request], "response": [_on_response, *extra_response_hooks]}


class _GuardedStream(httpx.SyncByteStream, httpx2.SyncByteStream):
    """A response body that checks the listing's limits between chunks."""

    def __init__(
        self,
        inner: Any,
        guard: ListingGuard,
        counter: _EntryCounter | None,
        decoder: Any = None,
    ) -> None:
        self._inner = inner
        self._guard = guard
        self._counter = counter
        self._decoder = decoder

    def _decoded(self) -> Iterator[bytes]:
        for raw in self._inner:
            if self._decoder is None:
                yield raw
                continue
            try:
                piece = self._decoder.decompress(raw, _DECODED_PIECE)
                while piece:
                    yield piece
                    piece = self._decoder.decompress(self._decoder.unconsumed_tail, _DECODED_PIECE)
            except zlib.error:
                raise self._guard.fail(
                    MalformedResponseError(self._guard.provider, "the compressed body is corrupt")
                ) from None

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._decoded():
                self._guard.took(len(chunk), self._counter, chunk)
                yield chunk
        except ProviderError:
            self.close()
            raise
        except Exception:
            # A read the deadline timer cut short fails as a broken connection: say why.
            if self._guard.fault is not None:
                self.close()
                raise self._guard.fault from None
            raise

    def close(self) -> None:
        self._inner.close()


_DECODED_PIECE = 256 * 1024
_COMPLETE_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPEN_OBJECT, _OPEN_ARRAY = ord("{"), ord("[")


class _EntryCounter:
    """Counts a JSON listing's entries while its bytes stream in, without decoding it.

    An entry is an object directly inside an array that is the body itself (Azure) or a
    member of the body's top-level object (`data`, `models`, `voices`). Strings are skipped
    in C (`re.sub`), so the Python loop sees only brackets.
    """

    def __init__(self) -> None:
        self.entries = 0
        self._depth = 0
        self._arrays: list[bool] = []  # is the container an array, for the first two levels
        self._in_string = False
        self._escaped = False

    def feed(self, chunk: bytes) -> None:
        position = 0
        if self._in_string:
            if self._escaped:
                position, self._escaped = 1, False
            end = _STRING_REST.match(chunk, position)
            position = end.end() if end else position
            if position >= len(chunk):
                return
            if chunk[position] == ord("\\"):  # the chunk ends inside an escape
                self._escaped = True
                return
            position += 1
            self._in_string = False
        rest = chunk[position:]
        outside = _COMPLETE_STRING.sub(b"", rest)
        quote = outside.find(b'"')
        if quote >= 0:  # a string opens and runs past this chunk
            outside = outside[:quote]
            self._in_string = True
            self._escaped = (len(rest) - len(rest.rstrip(b"\\"))) % 2 == 1
        for bracket in outside.translate(None, _NOT_BRACKETS):
            if bracket in (_OPEN_OBJECT, _OPEN_ARRAY):
                if (
                    bracket == _OPEN_OBJECT
                    and 1 <= self._depth <= 2
                    and self._arrays[self._depth - 1]
                ):
                    self.entries += 1
                self._depth += 1
                if self._depth <= 2:
                    self._arrays.append(bracket == _OPEN_ARRAY)
            elif self._depth > 0:
                if self._depth <= 2:
                    self._arrays.pop()
                self._depth -= 1


def capped_metadata(listing: ProviderListing) -> ProviderListing:
    """The listing with every entry's metadata held to `MAX_METADATA_BYTES` (see README).

    An oversized entry keeps its numbers, booleans, nulls and strings of up to
    `MAX_KEPT_STRING` characters, plus `TRIMMED_MARKER` saying how large it was; the listing
    says which entries were trimmed.
    """
    trimmed: list[str] = []
    for model in listing.models:
        size = len(json.dumps(model.metadata, separators=(",", ":"), default=str).encode())
        if size <= MAX_METADATA_BYTES:
            continue
        kept = {
            key: value
            for key, value in model.metadata.items()
            if value is None
            or isinstance(value, bool | int | float)
            or (isinstance(value, str) and len(value) <= MAX_KEPT_STRING)
        }
        kept[TRIMMED_MARKER] = (
            f"provider metadata of {size:,} bytes (over {MAX_METADATA_BYTES // 1024} KB); "
            "only its small scalar fields are kept"
        )
        model.metadata.clear()
        model.metadata.update(kept)
        trimmed.append(model.model_id)
    if trimmed:
        shown = ", ".join(inert(model_id, 80) for model_id in trimmed[:3])
        more = f" and {len(trimmed) - 3} more" if len(trimmed) > 3 else ""
        warning = (
            f"metadata over {MAX_METADATA_BYTES // 1024} KB was trimmed to its small fields for "
            f"{len(trimmed)} model(s): {shown}{more}"
        )
        logger.warning("%s: %s", listing.provider, warning)
        listing.warnings.append(warning)
    return listing


# --- normalisation ----------------------------------------------------------------------------

_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2})$")
_UPPER_TOKENS = {
    "gpt": "GPT",
    "chatgpt": "ChatGPT",
    "tts": "TTS",
    "hd": "HD",
    "ocr": "OCR",
    "ai": "AI",
    "api": "API",
    "fim": "FIM",
}
# Family names glued to the version that follows them, as the providers write them: "GPT-4o".
_HYPHEN_JOINED = {"GPT", "ChatGPT", "TTS"}


def readable_name(model_id: str) -> str:
    """`gpt-4o-mini-2024-07-18` → `GPT-4o Mini (2024-07-18)`; `grok-4-1-fast` → `Grok 4.1 Fast`.

    Only used when the provider's listing carries no display name of its own.
    """
    if model_id.startswith("ft:"):
        # ft:<base>:<org>:<suffix>:<job>[:ckpt-step-N]; the base says what it is, the rest
        # tells fine-tunes apart.
        _, _, rest = model_id.partition(":")
        base, _, tail = rest.partition(":")
        label = f"Fine-tuned {readable_name(base)}"
        return f"{label} ({tail})" if tail else label
    suffix = ""
    match = _DATE_SUFFIX.search(model_id)
    if match:
        suffix = f" ({match.group(1)})"
        model_id = model_id[: match.start()]
    words: list[str] = []
    for token in (t for t in model_id.split("-") if t):
        if token.lower() in _UPPER_TOKENS:
            word = _UPPER_TOKENS[token.lower()]
        elif re.fullmatch(r"\d+(?:\.\d+)?[bkm]", token, re.IGNORECASE):
            word = token.upper()  # sizes: "3b" → "3B", "16k" → "16K"
        elif token[0].isdigit() or re.fullmatch(r"o\d+", token):
            word = token  # versions ("4o", "3.5", "0613") and o-series names keep their case
        else:
            word = token[0].upper() + token[1:]
        if words and len(word) == 1 and word.isdigit() and re.fullmatch(r"\d+", words[-1]):
            # "4-1" is how ids spell version 4.1 (grok-4-1-fast, claude-opus-4-1)
            words[-1] = f"{words[-1]}.{word}"
        elif words and words[-1] in _HYPHEN_JOINED and word[0].isdigit():
            words[-1] = f"{words[-1]}-{word}"
        else:
            words.append(word)
    return " ".join(words) + suffix if words else model_id + suffix


def utc_datetime(value: Any) -> datetime | None:
    """A provider's date as a tz-aware UTC datetime; None when absent or unreadable.

    Accepts datetimes, dates (midnight UTC), ISO 8601 strings (with `Z` or an offset; naive
    ones are taken as UTC) and Unix seconds.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return utc_datetime(date.fromisoformat(text))
        try:
            return utc_datetime(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


# A token count from a listing, or None (absent, zero, negative, NaN, beyond an INTEGER column).
positive_int = clean_token_count


def text_or_none(value: Any) -> str | None:
    """A listing's string field stripped, or None when it is absent, blank or not a string."""
    return value.strip() if isinstance(value, str) and value.strip() else None


def first_wins(models: Iterable[DiscoveredModel]) -> list[DiscoveredModel]:
    """Keep the first entry of every id; providers (Mistral) list some ids twice."""
    seen: set[str] = set()
    unique: list[DiscoveredModel] = []
    for model in models:
        if model.model_id in seen:
            continue
        seen.add(model.model_id)
        unique.append(model)
    return unique


# --- fetching ---------------------------------------------------------------------------------

# A listing with more pages than this is taken for a server that keeps handing out cursors.
MAX_PAGES = 1000

_JSON_NAMES: dict[type, str] = {dict: "object", list: "array", str: "string"}


def shape_error(
    provider: str,
    what: str = "the model listing",
    exc: BaseException | None = None,
    secret: str | None = None,
) -> MalformedResponseError:
    """A body that decoded but is not what the provider documents; `exc` names what broke."""
    cause = ""
    if exc is not None:
        detail = snippet(str(exc), secret, 120)
        cause = f" ({type(exc).__name__}: {detail})" if detail else f" ({type(exc).__name__})"
    return MalformedResponseError(provider, f"{what} did not have the documented shape{cause}")


def not_json(provider: str, status: int = 200) -> MalformedResponseError:
    return MalformedResponseError(
        provider, f"the provider answered HTTP {status} with a body that is not JSON"
    )


def listing_client(
    *,
    timeout: float | None = None,
    response_hooks: Iterable[Callable[[Any], None]] = (),
    pinned: tuple[str, str] | None = None,
) -> httpx.Client:
    """The plain httpx client of one listing: shared SSL context, guard hooks, no redirects.

    `pinned` = (host, address): connect to that host only, at the address checked before the
    request, whatever DNS answers by then (DNS rebinding); TLS still verifies the host's
    certificate.
    """
    return httpx.Client(
        verify=shared_ssl_context(),
        follow_redirects=False,
        timeout=timeout if timeout is not None else httpx.Timeout(DEFAULT_TIMEOUT_SECONDS),
        event_hooks=guard_hooks(response_hooks),
        transport=_pinned_transport(*pinned) if pinned else None,
    )


class _PinnedBackend(httpcore.SyncBackend):
    """httpcore's network backend that reaches one host, only at one address."""

    def __init__(self, host: str, address: str) -> None:
        self.host = host
        self.address = address

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if host != self.host:
            raise httpcore.ConnectError(f"only {self.host} may be reached here")
        return super().connect_tcp(self.address, port, timeout, local_address, socket_options)


# NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits; the local-use prefix
# (RFC 8215) routes only inside one network, so nothing under it counts as public.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


def is_public_address(address: str) -> bool:
    """Whether a resolved address reaches the public internet: globally routable, and so is
    any IPv4 address it carries (IPv4-mapped or -compatible, NAT64, 6to4, Teredo), which is
    what a gateway would connect to."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if not ip.is_global:
        return False
    if ip.version == 4:
        return True
    assert isinstance(ip, ipaddress.IPv6Address)
    if ip in _LOCAL_NAT64:
        return False
    embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
    if embedded is None and (ip in _NAT64 or int(ip) >> 32 == 0):  # NAT64, or ::a.b.c.d
        embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return embedded is None or embedded.is_global


def _pinned_transport(host: str, address: str) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(verify=shared_ssl_context())
    # httpx offers no public hook for name resolution: its connection pool (built exactly as
    # HTTPTransport builds it, with our SSL context) is given a backend that connects to the
    # checked address. httpx is held at 0.28 by the lock file.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=shared_ssl_context(), network_backend=_PinnedBackend(host, address)
    )
    return transport


def get_json(
    client: httpx.Client,
    url: str | httpx.URL,
    *,
    provider: str,
    key_env: str,
    secret: str | None,
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """GET `url` and return its decoded JSON body, or raise the matching `ProviderError`."""
    response = send(
        client,
        "GET",
        url,
        provider=provider,
        key_env=key_env,
        secret=secret,
        timeout=timeout,
        headers=headers,
    )
    return decoded_json(provider, response)


def decoded_json(provider: str, response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise not_json(provider) from None


def send(
    client: httpx.Client,
    method: str,
    url: str | httpx.URL,
    *,
    provider: str,
    key_env: str,
    secret: str | None,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    content: bytes | None = None,
) -> httpx.Response:
    """One request (`body` sent as JSON, or raw `content`); a 200 answer, else the matching
    `ProviderError` with the key redacted."""
    try:
        response = client.request(
            method, url, headers=dict(headers or {}), json=body, content=content, timeout=timeout
        )
    except httpx.TransportError as exc:
        raise transport_error(provider, exc, timeout=timeout, secret=secret) from None
    if response.status_code != 200:
        raise error_for_status(
            provider,
            response.status_code,
            key_env=key_env,
            headers=response.headers,
            body=response.text,
            secret=secret,
        ) from None
    return response


def expect(provider: str, value: Any, kind: type, what: str) -> Any:
    """Check a part of a response has the documented JSON type, else MalformedResponseError."""
    if not isinstance(value, kind):
        raise MalformedResponseError(
            provider, f"{what} should be a JSON {_JSON_NAMES.get(kind, kind.__name__)}"
        )
    return value


def entries_with_ids(provider: str, data: Any) -> list[dict[str, Any]]:
    """A listing's `data`, checked to be JSON objects that each carry a non-empty string `id`.

    For the listings whose entries are useless without an id (the SDK-read model lists); the
    voice listings skip such entries instead.
    """
    if not isinstance(data, list):
        raise MalformedResponseError(provider, "the model listing has no `data` array")
    for entry in data:
        if not isinstance(entry, dict):
            raise MalformedResponseError(provider, "an entry of the model listing is not an object")
        if not isinstance(entry.get("id"), str) or not entry["id"]:
            raise MalformedResponseError(provider, "an entry of the model listing has no `id`")
    return data


def sdk_entries(provider: str, page: Any, model_type: type[Any]) -> list[dict[str, Any]]:
    """The `data` of an SDK's listing page as the JSON objects it was parsed from.

    `model_type` is the SDK's model base class (`openai.BaseModel`, `anthropic.BaseModel`),
    whose `to_dict(mode="json")` gives back the entry in its wire field names, with the
    fields the SDK does not declare.
    """
    data = getattr(page, "data", None)
    if isinstance(data, list):
        data = [
            item.to_dict(mode="json") if isinstance(item, model_type) else item for item in data
        ]
    return entries_with_ids(provider, data)


class _Closable(Protocol):
    def close(self) -> None: ...


SDKClient = TypeVar("SDKClient", bound=_Closable)


@contextmanager
def stainless_client(
    provider: str,
    sdk: ModuleType,
    client_class: Callable[..., SDKClient],
    *,
    key: str,
    key_env: str,
    base_url: str,
    timeout: float,
) -> Iterator[SDKClient]:
    """A client of a Stainless-generated SDK (`openai`, `anthropic`) for one listing.

    No SDK retries (a 429/5xx/timeout surfaces at once), the shared SSL context, closed on
    exit; and every SDK failure inside the block leaves as our `ProviderError`. Both SDKs
    raise the same exception classes, each from its own module, hence `sdk`.
    """
    try:
        client = client_class(
            api_key=key,
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            # The SDK's own client defaults, minus the CA bundle it would load per client.
            http_client=sdk.DefaultHttpxClient(
                verify=shared_ssl_context(), event_hooks=guard_hooks()
            ),
        )
        try:
            yield client
        finally:
            client.close()
    except ProviderError:
        raise
    except sdk.APITimeoutError:  # a subclass of APIConnectionError: caught first
        raise timeout_error(provider, timeout) from None
    except sdk.APIConnectionError:
        raise unreachable_error(provider, redact(base_url, key)) from None
    except sdk.APIStatusError as exc:
        raise error_for_status(
            provider,
            exc.status_code,
            key_env=key_env,
            headers=exc.response.headers,
            body=_response_text(exc.response),
            secret=key,
        ) from None
    except sdk.APIResponseValidationError:
        raise shape_error(provider) from None
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        # The SDKs raise these when a body is not JSON or not an object with `data`.
        raise shape_error(provider, exc=exc, secret=key) from None


def _response_text(response: Any) -> str:
    try:
        return str(response.text)
    except Exception:  # a streamed or undecodable body; the status code says enough
        return ""


class PageCursors:
    """The cursors a paginated listing followed, so a server that never ends cannot loop us.

    Call `follow` before asking for each further page: a cursor seen before, or more than
    `MAX_PAGES` pages, fails the listing as malformed (never a partial list). `pages` counts
    the pages read, the first included.
    """

    def __init__(self, provider: str, what: str = "the model listing", first: str = "") -> None:
        self._provider = provider
        self._what = what
        # `first` is the first page's own address where it has one (OpenRouter's URL), so a
        # link back to it counts as a repeat too.
        self._seen = {first} if first else set()
        self.pages = 1

    def follow(self, cursor: str) -> None:
        if cursor in self._seen:
            raise MalformedResponseError(
                self._provider,
                f"{self._what} does not end: page {self.pages} points back to a page already "
                "read; stopped",
            )
        if self.pages >= MAX_PAGES:
            raise MalformedResponseError(
                self._provider, f"{self._what} does not end: over {MAX_PAGES} pages; stopped"
            )
        self._seen.add(cursor)
        self.pages += 1


def chat_answer(provider: str, completion: Any) -> str:
    """The text of an OpenAI-style chat completion: an SDK object (OpenAI, xAI, Mistral) or
    decoded JSON (OpenRouter). An answer without text (all tokens spent thinking) is ""."""
    choices = _field(completion, "choices")
    if not isinstance(choices, list) or not choices:
        raise MalformedResponseError(provider, "the answer has no `choices`")
    content = _field(_field(choices[0], "message"), "content")
    return content if isinstance(content, str) else ""


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)
