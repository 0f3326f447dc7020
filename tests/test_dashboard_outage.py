"""A database outage: every page shows one calm banner with Retry (and keeps the navigation),
never Streamlit's exception box, whether the database was down from the start or went away
while the admin was working."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from registry.admin import outage
from registry.db import Database, get_database, set_database
from registry.store import get_model_by_provider_id
from registry.types import ModelStatus
from tests.dashboard_support import (
    assert_clean,
    click,
    everything,
    messages,
    open_app,
    select_models,
    toasts,
)

pytestmark = pytest.mark.usefixtures("loopback")

PAGES = ("overview", "text_models", "tts_models", "api_keys", "settings", "activity")


@pytest.fixture
def unreachable() -> Iterator[Database]:
    """A PostgreSQL address nobody listens on (port 1 refuses at once)."""
    database = Database("postgresql+psycopg://registry@127.0.0.1:1/registry")
    yield database
    database.dispose()


def assert_calm_outage(at: AppTest) -> None:
    assert_clean(at)
    (banner,) = [m for m in messages(at, "warning") if m.startswith(outage.OUTAGE_TITLE)]
    assert "Nothing was changed" in banner
    assert "Could not sign you in" not in everything(at)
    assert [b.label for b in at.button if b.label == "Retry"] == ["Retry"]


def test_with_the_database_down_from_the_start_every_page_shows_the_banner(
    unreachable: Database,
) -> None:
    set_database(unreachable)
    try:
        at = open_app()
        assert_calm_outage(at)
        for page in PAGES:  # the navigation still leads everywhere
            at.switch_page(f"pages/{page}.py").run()
            assert_calm_outage(at)
    finally:
        set_database(None)


def test_retry_finds_the_database_back_and_the_page_returns(
    database: Database, unreachable: Database
) -> None:
    working = get_database()
    set_database(unreachable)
    try:
        at = open_app("text_models")
        assert_calm_outage(at)
    finally:
        set_database(working)
    at = click(at, "registry-outage-retry-page")
    assert_clean(at)
    assert not [m for m in messages(at, "warning") if m.startswith(outage.OUTAGE_TITLE)]
    assert "Text models" in [str(t.value) for t in at.title]


def test_losing_the_database_mid_session_shows_the_banner_on_every_page(
    database: Database, unreachable: Database
) -> None:
    at = open_app("text_models")
    assert_clean(at)
    working = get_database()
    # The database was fine when this session started, then went away: same state as a
    # server that checked it once and has since lost it.
    outage.ready_databases.add(unreachable.url)
    set_database(unreachable)
    try:
        at.run()
        assert_calm_outage(at)
        for page in PAGES:
            at.switch_page(f"pages/{page}.py").run()
            assert_calm_outage(at)
    finally:
        set_database(working)
        outage.ready_databases.discard(unreachable.url)


def test_ticking_a_row_while_the_database_is_down_is_calm(
    database: Database, unreachable: Database
) -> None:
    at = open_app("text_models")
    working = get_database()
    outage.ready_databases.add(unreachable.url)
    set_database(unreachable)
    try:
        at = select_models(at, "text", "enabled", ["openai/gpt-4.1"])
        assert_calm_outage(at)
    finally:
        set_database(working)
        outage.ready_databases.discard(unreachable.url)


def test_a_button_pressed_while_the_database_is_down_says_so_calmly(
    database: Database, unreachable: Database
) -> None:
    at = select_models(open_app("text_models"), "text", "enabled", ["openai/gpt-4.1"])
    working = get_database()
    outage.ready_databases.add(unreachable.url)
    set_database(unreachable)
    try:
        at = click(at, "text-disable")  # its callback reads the defaults first
        assert_calm_outage(at)
        (said,) = [t for t in toasts(at) if t.startswith(outage.OUTAGE_TITLE)]
        assert "Nothing was changed" in said
    finally:
        set_database(working)
        outage.ready_databases.discard(unreachable.url)
    assert get_model_by_provider_id("openai", "gpt-4.1", "text").status is ModelStatus.ENABLED
