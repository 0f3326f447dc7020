"""Every adapter's HTTP clients reuse the process's one SSL context.

Loading a CA bundle costs ~23 ms of CPU under the GIL; a listing that builds its own context
(or lets an SDK build one or two) serialises the parallel provider threads of a refresh.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from registry.config import PROVIDER_KEY_ENV
from registry.demo import StandInProviders
from registry.providers import get_adapter
from registry.providers.base import Credentials, shared_ssl_context
from registry.types import PROVIDERS, Category


@pytest.fixture(scope="module")
def standins() -> Iterator[StandInProviders]:
    with StandInProviders() as providers:
        yield providers


def _list_everything() -> None:
    for category in Category:
        for provider in PROVIDERS[category]:
            key = os.environ[PROVIDER_KEY_ENV[provider]]
            region = os.environ.get("AZURE_SPEECH_REGION")
            listing = get_adapter(provider).list_models(
                category, Credentials(key, region), timeout=10
            )
            assert listing.models, (provider, category)


def test_the_context_is_built_once_and_verifies_certificates() -> None:
    context = shared_ssl_context()
    assert context is shared_ssl_context()
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0


def test_no_listing_builds_an_ssl_context_of_its_own(
    standins: StandInProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in standins.environment().items():
        monkeypatch.setenv(name, value)
    _list_everything()  # imports and the shared context are in place from here on

    built: list[str] = []
    original_new = ssl.SSLContext.__new__

    def counting_new(cls: type[ssl.SSLContext], *args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(cls.__qualname__)
        return original_new(cls, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "__new__", counting_new)
    _list_everything()
    assert built == []
