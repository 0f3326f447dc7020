"""What every adapter does alike, run once per adapter against its stand-in: the fault matrix
(each fault the right `ProviderError`, the echoed key nowhere), failing later pages, an
unreachable host, a missing key, an empty listing and categories the provider cannot list."""

from __future__ import annotations

from typing import Any

import pytest

from registry.errors import InvalidInputError, MissingKeyError, ProviderRateLimitedError
from registry.errors import ProviderServerError as ServerError
from registry.providers import get_adapter
from registry.standin.server import StandInServer
from registry.types import Category

from .adapter_cases import (
    ADAPTERS,
    FAULT_TIMEOUT,
    PAGED_ADAPTERS,
    AdapterCase,
    assert_key_hidden,
    capture_everything,
    fault_cases,
)

every_adapter = pytest.mark.parametrize(
    "adapter", list(ADAPTERS.values()), ids=lambda case: case.provider
)
paged_adapter = pytest.mark.parametrize("adapter", PAGED_ADAPTERS, ids=lambda case: case.provider)


def _fault_matrix() -> list[Any]:
    """(adapter, fault, pages answered before it): every fault on the first page, and on the
    second page of each paged adapter every fault but the timeout."""
    return [
        pytest.param(case, name, before, id=f"{case.provider}-{name}-page {before + 1}")
        for before, cases in ((0, ADAPTERS.values()), (1, PAGED_ADAPTERS))
        for case in cases
        for name in fault_cases(case)
        if not (before and name == "timeout")
    ]


@pytest.mark.parametrize(("adapter", "fault_name", "pages_before"), _fault_matrix())
def test_a_fault_on_any_page_raises_the_right_error_without_the_key(
    adapter: AdapterCase,
    server: StandInServer,
    caplog: pytest.LogCaptureFixture,
    fault_name: str,
    pages_before: int,
) -> None:
    capture_everything(caplog)
    fault = fault_cases(adapter)[fault_name]
    adapter.install(server, adapter.sample, page_size=adapter.page_size)
    server.fail(adapter.path, fault.response, after=pages_before)
    with pytest.raises(fault.error) as caught:
        adapter.list_models(timeout=FAULT_TIMEOUT)
    assert caught.value.provider == adapter.provider
    if isinstance(caught.value, ProviderRateLimitedError):
        assert caught.value.retry_after == 7
    assert_key_hidden(caught.value, caplog)
    # SDK retries are off, and a failed page ends the listing: no partial result.
    assert len(server.requests) == pages_before + 1


@paged_adapter
def test_the_sample_listing_spans_several_pages(
    adapter: AdapterCase, server: StandInServer
) -> None:
    # What makes the second-page faults above reach a second page.
    adapter.install(server, adapter.sample, page_size=adapter.page_size)
    listing = adapter.list_models()
    assert listing.complete and listing.pages > 2
    assert listing.pages == len(server.requests_to(adapter.path))


@every_adapter
def test_an_unreachable_host_is_a_server_error(
    adapter: AdapterCase,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    unreachable_origin: str,
) -> None:
    capture_everything(caplog)
    adapter.point_at(unreachable_origin, monkeypatch)
    with pytest.raises(ServerError) as caught:
        adapter.list_models(timeout=FAULT_TIMEOUT)
    assert caught.value.provider == adapter.provider
    assert_key_hidden(caught.value, caplog)


@pytest.mark.parametrize("key", ["", "   "], ids=["empty key", "blank key"])
@every_adapter
def test_a_missing_key_names_its_variable_and_sends_no_request(
    adapter: AdapterCase, server: StandInServer, key: str
) -> None:
    adapter.install(server, adapter.sample)
    with pytest.raises(MissingKeyError, match=adapter.key_env):
        adapter.list_models(key=key)
    assert server.requests == []


@every_adapter
def test_an_empty_listing_is_empty_and_complete(
    adapter: AdapterCase, server: StandInServer
) -> None:
    adapter.install(server, adapter.empty_body)
    listing = adapter.list_models()
    assert listing.provider == adapter.provider and listing.category == adapter.category
    assert listing.models == []
    assert listing.complete and listing.pages == 1 and listing.warnings == []


@every_adapter
def test_categories_the_provider_cannot_list_are_refused_before_any_request(
    adapter: AdapterCase, monkeypatch: pytest.MonkeyPatch, unreachable_origin: str
) -> None:
    adapter.point_at(unreachable_origin, monkeypatch)  # a request would fail as a server error
    listed = frozenset(Category) - frozenset(adapter.refuses)
    assert get_adapter(adapter.provider).categories == listed
    for category in [*adapter.refuses, "image"]:
        with pytest.raises(InvalidInputError):
            adapter.list_models(category)  # type: ignore[arg-type]
