"""Helpers every adapter shares: names, dates, de-duplication, paging, log redaction."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

from registry.errors import MalformedResponseError
from registry.providers.base import secrets_hidden_from_logs
from registry.providers.common import (
    MAX_PAGES,
    PageCursors,
    entries_with_ids,
    first_wins,
    positive_int,
    readable_name,
    shape_error,
    text_or_none,
    utc_datetime,
)
from registry.types import DiscoveredModel


@pytest.mark.parametrize(
    ("model_id", "name"),
    [
        ("gpt-4o-mini-2024-07-18", "GPT-4o Mini (2024-07-18)"),
        ("gpt-3.5-turbo-16k", "GPT-3.5 Turbo 16K"),
        ("chatgpt-4o-latest", "ChatGPT-4o Latest"),
        ("o3-mini", "o3 Mini"),
        ("tts-1-hd", "TTS-1 HD"),
        ("gpt-4o-mini-tts", "GPT-4o Mini TTS"),
        ("grok-4-1-fast-reasoning", "Grok 4.1 Fast Reasoning"),
        ("grok-4.20-0309-reasoning", "Grok 4.20 0309 Reasoning"),
        ("ministral-8b-latest", "Ministral 8B Latest"),
        ("ft:gpt-4o-mini:acme::9UhSsUFR", "Fine-tuned GPT-4o Mini (acme::9UhSsUFR)"),
    ],
)
def test_model_ids_read_as_names(model_id: str, name: str) -> None:
    assert readable_name(model_id) == name


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-31T12:00:00Z", datetime(2026, 3, 31, 12, tzinfo=UTC)),
        ("2026-03-31T14:00:00+02:00", datetime(2026, 3, 31, 12, tzinfo=UTC)),
        ("2026-03-31T12:00:00", datetime(2026, 3, 31, 12, tzinfo=UTC)),
        ("2026-10-28", datetime(2026, 10, 28, tzinfo=UTC)),
        (date(2026, 10, 28), datetime(2026, 10, 28, tzinfo=UTC)),
        (1_700_000_000, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        (None, None),
        ("", None),
        ("soon", None),
        (True, None),
    ],
)
def test_provider_dates_become_utc_datetimes(value: object, expected: datetime | None) -> None:
    result = utc_datetime(value)
    assert result == expected
    if result is not None:
        assert result.tzinfo is not None


def test_repeated_ids_keep_the_first_entry() -> None:
    models = [
        DiscoveredModel("a", "A", metadata={"n": 1}),
        DiscoveredModel("b", "B"),
        DiscoveredModel("a", "A again", metadata={"n": 2}),
    ]
    assert [(m.model_id, m.display_name) for m in first_wins(models)] == [("a", "A"), ("b", "B")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (8192, 8192),
        (0, None),
        (-1, None),
        ("8k", None),
        (True, None),
        (float("nan"), None),
        (float("inf"), None),
        (2**31, None),  # would overflow PostgreSQL's INTEGER and fail the whole refresh
    ],
)
def test_token_counts_must_be_positive_numbers(value: object, expected: int | None) -> None:
    assert positive_int(value) == expected


def test_a_key_logged_during_a_listing_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key = "sk-live-redactme-0123"
    third_party = logging.getLogger("some_sdk.transport.created_late")
    with secrets_hidden_from_logs(key):
        third_party.debug("response headers: %s", {"x-echo": key})
        try:
            raise RuntimeError(f"bad key {key}")
        except RuntimeError:
            third_party.exception("request failed")
    assert key not in caplog.text
    assert "[redacted]" in caplog.text
    assert "traceback withheld" in caplog.text


def test_redaction_ends_with_the_last_listing_using_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    key = "sk-live-nested-4567"
    log = logging.getLogger("some_sdk")
    with secrets_hidden_from_logs(key):
        with secrets_hidden_from_logs(key):
            pass
        log.debug("still hidden %s", key)  # the outer listing is still running
    log.debug("after %s", "the listing")
    assert key not in caplog.text
    assert "after the listing" in caplog.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [(" Jenny ", "Jenny"), ("", None), ("   ", None), (None, None), (7, None)],
)
def test_text_fields_are_stripped_and_blank_ones_dropped(
    value: object, expected: str | None
) -> None:
    assert text_or_none(value) == expected


def test_page_cursors_count_pages_and_stop_a_repeated_cursor() -> None:
    cursors = PageCursors("test", first="page-1")
    cursors.follow("page-2")
    cursors.follow("page-3")
    assert cursors.pages == 3
    with pytest.raises(MalformedResponseError, match="page 3 points back"):
        cursors.follow("page-1")


def test_page_cursors_stop_a_listing_that_never_ends() -> None:
    cursors = PageCursors("test", "the voice listing")
    for n in range(MAX_PAGES - 1):
        cursors.follow(f"token-{n}")
    assert cursors.pages == MAX_PAGES
    with pytest.raises(MalformedResponseError, match="the voice listing does not end"):
        cursors.follow("one-more")


def test_entries_need_an_id() -> None:
    assert entries_with_ids("test", [{"id": "a"}]) == [{"id": "a"}]
    for data in (None, {"id": "a"}, ["a"], [{"id": ""}], [{"name": "a"}]):
        with pytest.raises(MalformedResponseError):
            entries_with_ids("test", data)


def test_a_shape_error_names_the_cause_without_the_key() -> None:
    key = "sk-secret-1234"
    error = shape_error("test", exc=KeyError(f"data for {key}"), secret=key)
    assert "KeyError" in str(error)
    assert key not in str(error)
