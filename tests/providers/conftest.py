"""Fixtures for the provider tests: a fresh stand-in with the test's adapter pointed at it.

A test module names its adapter with an `adapter` fixture (a row of `ADAPTERS`);
`test_every_adapter.py` parametrizes it over every row instead.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from registry.standin.server import StandInServer

from .adapter_cases import AdapterCase


@pytest.fixture
def server(adapter: AdapterCase, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    """A stand-in of its own for each test (nothing installed), serving the adapter's API."""
    with StandInServer() as stand_in:
        adapter.point_at(stand_in.origin, monkeypatch)
        yield stand_in


@pytest.fixture
def unreachable_origin() -> str:
    """An origin on 127.0.0.1 whose port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
