"""Fault cases shared by the SDK-based adapter tests (OpenAI, xAI, Anthropic, Mistral).

Every case is a stand-in answer plus the `ProviderError` subclass an adapter must raise for it.
The key used in these tests is echoed by the 401 body and headers, so the checks below prove it
never reaches an error message, a traceback or a log record.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from typing import Any

import pytest

from registry.errors import (
    KeyRejectedError,
    MalformedResponseError,
    ProviderError,
    ProviderRateLimitedError,
    ProviderServerError,
    ProviderTimeoutError,
)
from registry.standin.server import StandInResponse

KEY = "sk-test-LEAKCHECK-7f3a9c1e5b"
FAULT_TIMEOUT = 0.4  # seconds the adapter waits in fault tests; the stand-in answers later


@dataclass(frozen=True)
class Fault:
    response: StandInResponse
    error: type[ProviderError]


def fault_cases(ok_body: Any) -> dict[str, Fault]:
    """The faults every adapter must turn into the right error (`ok_body`: a valid listing)."""
    return {
        "timeout": Fault(
            StandInResponse(200, ok_body, delay=FAULT_TIMEOUT + 0.6), ProviderTimeoutError
        ),
        "401 echoing the key": Fault(
            StandInResponse(
                401,
                {"error": {"message": f"Incorrect API key provided: {KEY}", "key": KEY}},
                {"X-Echoed-Key": KEY, "WWW-Authenticate": f'Bearer realm="{KEY}"'},
            ),
            KeyRejectedError,
        ),
        "403 echoing the key": Fault(
            StandInResponse(403, f"forbidden for key={KEY}", {"X-Echoed-Key": KEY}),
            KeyRejectedError,
        ),
        "429 with Retry-After": Fault(
            StandInResponse(429, {"error": {"message": "slow down"}}, {"Retry-After": "7"}),
            ProviderRateLimitedError,
        ),
        "500": Fault(StandInResponse(500, {"error": {"message": "boom"}}), ProviderServerError),
        "503 html": Fault(
            StandInResponse(503, b"<html>down</html>", {"Content-Type": "text/html"}),
            ProviderServerError,
        ),
        "malformed JSON": Fault(StandInResponse(200, '{"data": [{"id": '), MalformedResponseError),
        "JSON of the wrong shape": Fault(
            StandInResponse(200, {"models": "none here"}), MalformedResponseError
        ),
    }


def assert_key_hidden(error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    assert KEY not in str(error)
    assert KEY not in repr(error)
    assert KEY not in "".join(traceback.format_exception(error))
    for record in caplog.records:
        assert KEY not in record.getMessage(), record.name
    assert KEY not in caplog.text


def capture_everything(caplog: pytest.LogCaptureFixture) -> None:
    """DEBUG on every logger: the transport libraries log response headers at that level."""
    caplog.set_level(logging.DEBUG)
