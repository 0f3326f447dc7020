"""Helpers shared by the adapters that list models through a vendor SDK.

- `readable_name`: a display name derived from a model id when the provider gives none.
- `utc_datetime`: provider dates (ISO strings, dates, Unix seconds) as tz-aware UTC.
- `first_wins`: drop ids a listing repeats, keeping the first entry.
- `secrets_hidden_from_logs`: while a listing runs, every log record that would carry the
  API key has it redacted. The transport libraries log response headers at DEBUG level, and a
  provider that echoes the key in a 401 header would otherwise put it into the logs.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from typing import Any

from registry.providers.base import redact
from registry.types import DiscoveredModel

logger = logging.getLogger(__name__)

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


def positive_int(value: Any) -> int | None:
    """A token count from a listing, or None for absent, zero, negative or non-numeric values."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = int(value)
    return number if number > 0 else None


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
        if any(secret in message for secret in secrets):
            record.msg = redact(message, *secrets)
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            text = "".join(traceback.format_exception(*record.exc_info))
            if any(secret in text for secret in secrets):
                record.exc_info = None
                record.exc_text = None
                record.msg = f"{record.msg} [traceback withheld: it contained an API key]"

    @contextmanager
    def hidden(self, secret: str) -> Iterator[None]:
        if len(secret) < 4:  # same threshold as redact(): shorter strings are not keys
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
    """Context manager: log records made while it is active never contain `secret`."""
    return _redactor.hidden(secret)
