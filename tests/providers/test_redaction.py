"""Redaction: a key echoed by a provider never survives, whatever the cut, case or excerpt."""

from __future__ import annotations

import logging
import time

import pytest

from registry.errors import KeyRejectedError
from registry.providers.base import error_for_status, redact, secrets_hidden_from_logs

from .adapter_cases import LONG_KEY, key_runs


def test_the_long_key_is_long() -> None:
    assert len(LONG_KEY) == 164


@pytest.mark.parametrize("filler", [150, 190, 199, 37])
def test_key_echo_straddling_the_cut_is_redacted(filler: int) -> None:
    body = "x" * filler + " invalid key " + LONG_KEY
    error = error_for_status("openai", 401, key_env="OPENAI_API_KEY", body=body, secret=LONG_KEY)
    assert isinstance(error, KeyRejectedError)
    assert key_runs(str(error), LONG_KEY) == []


@pytest.mark.parametrize(
    "echo",
    [LONG_KEY.upper(), LONG_KEY[:-1], LONG_KEY[1:], LONG_KEY[40:48], LONG_KEY.swapcase()],
    ids=["upper-cased", "minus its last character", "minus its first", "8 characters", "swapped"],
)
def test_case_variants_and_partial_echoes_are_redacted(echo: str) -> None:
    text = f"Incorrect API key provided: {echo}. See the docs."
    redacted = redact(text, LONG_KEY)
    assert key_runs(redacted, LONG_KEY) == []
    assert redacted.startswith("Incorrect API key provided: [redacted]")
    assert redacted.endswith(". See the docs.")


def test_seven_key_characters_are_not_taken_for_the_key() -> None:
    text = f"request {LONG_KEY[10:17]} failed"
    assert redact(text, LONG_KEY) == text


def test_a_short_key_is_redacted_in_any_case() -> None:
    assert redact("key abCD12 rejected", "ABcd12") == "key [redacted] rejected"


def test_redaction_is_linear_on_a_large_body() -> None:
    body = ("a" * 7 + LONG_KEY[:7].upper() + " ") * 400_000  # ~6 MB of near misses
    started = time.monotonic()
    error_for_status("openai", 401, key_env="OPENAI_API_KEY", body=body, secret=LONG_KEY)
    redact(body[:200_000], LONG_KEY)
    assert time.monotonic() - started < 2.0


def test_log_records_with_a_partial_or_upper_cased_key_are_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("httpx")
    with secrets_hidden_from_logs(LONG_KEY):
        log.debug("header x-echo: %s", LONG_KEY.upper())
        log.debug("body %s", LONG_KEY[:-1])
    assert caplog.records
    assert key_runs(caplog.text, LONG_KEY) == []
