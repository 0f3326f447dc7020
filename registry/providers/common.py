"""What the adapters share beyond `base`: the call, normalising and fetching a listing.

- The call: `AdapterBase`, which every adapter extends. It checks the category and the key
  and hides the key from logs; the adapter's `_list` does the rest.
- Normalisation: `readable_name`, `utc_datetime`, `positive_int`, `text_or_none`,
  `first_wins`.
- Fetching: `get_json` (plain httpx), `expect`, `entries_with_ids`, `stainless_client` and
  `sdk_entries` (the `openai` and `anthropic` SDKs), `PageCursors` (every paginated listing),
  and the wordings for a body of the wrong shape (`shape_error`, `not_json`).

Every failure leaves as a `ProviderError` subclass whose message went through `redact`,
raised `from None` so the transport exception (which holds the request and its key header) is
not chained into tracebacks or logs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from types import ModuleType
from typing import Any, Protocol, TypeVar

import httpx

from registry.errors import (
    InvalidInputError,
    MalformedResponseError,
    MissingKeyError,
    ProviderError,
)
from registry.providers.base import (
    DEFAULT_TIMEOUT_SECONDS,
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
from registry.types import Category, DiscoveredModel, parse_category

# --- the call ---------------------------------------------------------------------------------


class AdapterBase:
    """What every adapter does around its own listing code (`_list`).

    Subclasses set `provider`, `categories` and `key_env` (the `ProviderAdapter` Protocol) and
    implement `_list`, which runs with a category the adapter lists and a non-blank key.
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
        if not credentials.api_key or not credentials.api_key.strip():
            raise MissingKeyError(
                self.provider,
                f"no API key is configured; add one on the API keys page or set {self.key_env}",
            )
        # Transport libraries log response headers at DEBUG; a 401 may echo the key there.
        with secrets_hidden_from_logs(credentials.api_key):
            return self._list(parsed, credentials, timeout)

    def _list(
        self, category: Category, credentials: Credentials, timeout: float
    ) -> ProviderListing:
        raise NotImplementedError


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


def positive_int(value: Any) -> int | None:
    """A token count from a listing, or None for absent, zero, negative or non-numeric values."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = int(value)
    return number if number > 0 else None


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
    try:
        response = client.get(url, headers=dict(headers or {}), timeout=timeout)
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
    try:
        return json.loads(response.content)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise not_json(provider) from None


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
            http_client=sdk.DefaultHttpxClient(verify=shared_ssl_context()),
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
