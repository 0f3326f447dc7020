"""What the provider tests share: one row per adapter, the fault cases, the key-leak checks.

`ADAPTERS` says, for each adapter, where its stand-in lives and what its listing looks like;
`test_every_adapter.py` runs the shared cases over every row, and each `test_<provider>.py`
keeps only what is particular to its provider. The key used throughout is echoed by the
fault answers (body and headers), so the checks prove it never reaches an error message, a
traceback or a log record.
"""

from __future__ import annotations

import base64
import json
import logging
import traceback
from dataclasses import dataclass
from hashlib import sha512
from pathlib import Path
from typing import Any, Protocol

import pytest

from registry.demo import load_fixture
from registry.errors import (
    KeyRejectedError,
    MalformedResponseError,
    ProviderError,
    ProviderRateLimitedError,
    ProviderServerError,
    ProviderTimeoutError,
)
from registry.providers import Credentials, ProviderListing, get_adapter
from registry.standin import anthropic, azure, elevenlabs, google, mistral, openai, openrouter, xai
from registry.standin.server import StandInResponse, StandInServer
from registry.types import Category

KEY = "sk-test-LEAKCHECK-7f3a9c1e5b"
# 164 characters, like a real project key: long enough to straddle a 200-character excerpt.
LONG_KEY = "sk-proj-" + base64.urlsafe_b64encode(sha512(b"hostile").digest() * 2).decode()[:156]
FAULT_TIMEOUT = 0.4  # seconds the adapter waits in fault tests; the stand-in answers later
RECORDED = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "providers"


def recorded(name: str) -> Any:
    """A listing recorded from the real API; the test is skipped where the file is absent."""
    path = RECORDED / name
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return json.loads(path.read_text(encoding="utf-8"))


class Installer(Protocol):
    def __call__(
        self, server: StandInServer, body: Any, *, page_size: int | None = None
    ) -> None: ...


@dataclass(frozen=True)
class AdapterCase:
    """One adapter as the shared tests drive it: through its stand-in, with `KEY`."""

    provider: str
    category: Category  # what the shared cases list (Google's: its Gemini text models)
    path: str  # the request that listing sends, where faults are injected
    install: Installer
    base_url_envs: tuple[str, ...]
    key_env: str  # the variable a missing key error names
    empty_body: Any  # the provider's answer when there is nothing to list
    refuses: tuple[Category, ...] = ()  # categories the provider's API does not list
    page_size: int | None = None  # splits the sample listing into pages; None: one body
    region: str | None = None
    error_body: Any = None  # a 500 body in the provider's own error shape, where it has one
    envelope: str | None = "data"  # the member holding the entries; None: a bare array

    @property
    def listed(self) -> list[Category]:
        """Every category the adapter lists through the API."""
        return [c for c in Category if c not in self.refuses]

    @property
    def sample(self) -> Any:
        """A valid listing of a few models: the one `make demo` serves."""
        return load_fixture(self.provider)

    def list_models(
        self, category: Category | None = None, *, key: str = KEY, timeout: float = 5.0
    ) -> ProviderListing:
        return get_adapter(self.provider).list_models(
            category or self.category, Credentials(key, self.region), timeout=timeout
        )

    def point_at(self, origin: str, monkeypatch: pytest.MonkeyPatch) -> None:
        for env in self.base_url_envs:
            monkeypatch.setenv(env, origin)


ADAPTERS: dict[str, AdapterCase] = {
    case.provider: case
    for case in (
        AdapterCase(
            "openai",
            category=Category.TEXT,
            path=openai.MODELS_PATH,
            install=openai.install,
            base_url_envs=("REGISTRY_OPENAI_BASE_URL",),
            key_env="OPENAI_API_KEY",
            empty_body={"object": "list", "data": []},
        ),
        AdapterCase(
            "google",
            category=Category.TEXT,
            path=google.GEMINI_MODELS_PATH,
            install=google.install,
            base_url_envs=("REGISTRY_GOOGLE_BASE_URL", "REGISTRY_GOOGLE_TTS_BASE_URL"),
            key_env="GEMINI_API_KEY",
            empty_body={"models": []},  # Google then sends `{}`: no `models` at all
            page_size=5,
            envelope="models",
        ),
        AdapterCase(
            "anthropic",
            category=Category.TEXT,
            path=anthropic.MODELS_PATH,
            install=anthropic.install,
            base_url_envs=("REGISTRY_ANTHROPIC_BASE_URL",),
            key_env="ANTHROPIC_API_KEY",
            empty_body={"data": [], "has_more": False, "first_id": None, "last_id": None},
            refuses=(Category.TTS,),
            page_size=2,
            error_body={"type": "error", "error": {"type": "api_error"}},
        ),
        AdapterCase(
            "mistral",
            category=Category.TEXT,
            path=mistral.MODELS_PATH,
            install=mistral.install,
            base_url_envs=("REGISTRY_MISTRAL_BASE_URL",),
            key_env="MISTRAL_API_KEY",
            empty_body={"object": "list", "data": []},
            refuses=(Category.TTS,),
        ),
        AdapterCase(
            "xai",
            category=Category.TEXT,
            path=xai.MODELS_PATH,
            install=xai.install,
            base_url_envs=("REGISTRY_XAI_BASE_URL",),
            key_env="XAI_API_KEY",
            empty_body={"data": [], "object": "list"},
            refuses=(Category.TTS,),
        ),
        AdapterCase(
            "openrouter",
            category=Category.TEXT,
            path=openrouter.MODELS_PATH,
            install=openrouter.install,
            base_url_envs=("REGISTRY_OPENROUTER_BASE_URL",),
            key_env="OPENROUTER_API_KEY",
            empty_body={"data": [], "total_count": 0, "links": {"next": None}},
            refuses=(Category.TTS,),
            page_size=3,
        ),
        AdapterCase(
            "elevenlabs",
            category=Category.TTS,
            path=elevenlabs.VOICES_PATH,
            install=elevenlabs.install,
            base_url_envs=("REGISTRY_ELEVENLABS_BASE_URL",),
            key_env="ELEVENLABS_API_KEY",
            empty_body={"voices": []},
            refuses=(Category.TEXT,),
            page_size=2,
            error_body={"detail": "boom"},
            envelope="voices",
        ),
        AdapterCase(
            "azure",
            category=Category.TTS,
            path=azure.VOICES_PATH,
            install=azure.install,
            base_url_envs=("REGISTRY_AZURE_BASE_URL",),
            key_env="AZURE_SPEECH_KEY",
            empty_body=[],
            refuses=(Category.TEXT,),
            region="westeurope",
            envelope=None,
        ),
    )
}
PAGED_ADAPTERS = [case for case in ADAPTERS.values() if case.page_size is not None]


@dataclass(frozen=True)
class Fault:
    response: StandInResponse
    error: type[ProviderError]


def fault_cases(adapter: AdapterCase) -> dict[str, Fault]:
    """The faults every adapter must turn into the right error, by name."""
    faults = {
        "timeout": Fault(
            StandInResponse(200, adapter.sample, delay=FAULT_TIMEOUT + 0.6), ProviderTimeoutError
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
    if adapter.error_body is not None:
        faults["500 in the provider's error shape"] = Fault(
            StandInResponse(500, adapter.error_body), ProviderServerError
        )
    return faults


def assert_key_hidden(error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    assert KEY not in str(error)
    assert KEY not in repr(error)
    assert KEY not in "".join(traceback.format_exception(error))
    for record in caplog.records:
        assert KEY not in record.getMessage(), record.name
    assert KEY not in caplog.text


def key_runs(text: str, key: str, run: int = 8) -> list[str]:
    """Every run of `run` consecutive characters of `key` (in any case) found in `text`."""
    folded, key_folded = text.lower(), key.lower()
    grams = {key_folded[i : i + run] for i in range(len(key_folded) - run + 1)}
    found = (folded[i : i + run] for i in range(len(folded) - run + 1))
    return [gram for gram in found if gram in grams]


def capture_everything(caplog: pytest.LogCaptureFixture) -> None:
    """DEBUG on every logger: the transport libraries log response headers at that level."""
    caplog.set_level(logging.DEBUG)
