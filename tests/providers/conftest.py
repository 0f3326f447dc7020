"""Fixtures for the provider tests: a stand-in in a fresh state, the test's adapter pointed at it.

A test module names its adapter with an `adapter` fixture (a row of `ADAPTERS`);
`test_every_adapter.py` parametrizes it over every row instead.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from registry.standin.server import StandInServer

from .adapter_cases import AdapterCase


@pytest.fixture(scope="session")
def running_stand_in() -> Iterator[StandInServer]:
    stand_in = StandInServer()
    with stand_in:
        yield stand_in


@pytest.fixture
def server(
    running_stand_in: StandInServer, adapter: AdapterCase, monkeypatch: pytest.MonkeyPatch
) -> StandInServer:
    """The stand-in with nothing installed, serving the adapter's API."""
    running_stand_in.reset()
    adapter.point_at(running_stand_in.origin, monkeypatch)
    return running_stand_in


@pytest.fixture
def unreachable_origin() -> str:
    """An origin on 127.0.0.1 whose port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
