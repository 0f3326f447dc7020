"""Keyboard only, in Debian's chromium at 1024×768: approve, make default and disable a model
each take at most 10 key presses (the words typed into the search box not counted), by the
path README "Dashboard" documents: Tab, Enter ("Skip to main content"), Tab past the title's
help to Quick actions, the words, Enter, Tab to the model's action, Enter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from registry.db import Database, set_database
from registry.store import get_default_models, get_model_by_provider_id, upsert_discovered_models
from registry.types import DiscoveredModel, ModelStatus
from tests.dashboard_support import WAIT_MS, Ui, migrated_sqlite, streamlit_server

pytestmark = pytest.mark.browser

MOST_PRESSES = 10
QUICK_READY = """() => { const box = document.querySelector('input[aria-label^="Quick actions"]');
  return box !== null && !box.disabled; }"""
FOCUSED = """() => { const e = document.activeElement;
  return e ? (e.getAttribute('aria-label') || e.innerText || '').trim() : ''; }"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, chromium: Any) -> Iterator[tuple[str, str]]:
    """Three new OpenAI models waiting for approval."""
    data = tmp_path_factory.mktemp("keyboard")
    database_url = migrated_sqlite(data)
    database = Database(database_url)
    set_database(database)
    try:
        new = [DiscoveredModel(f"gpt-kb-{n}", f"GPT keyboard {n}") for n in ("alpha", "beta")]
        upsert_discovered_models("openai", "text", new)
    finally:
        set_database(None)
        database.dispose()
    with streamlit_server(data, {"REGISTRY_DATABASE_URL": database_url}) as url:
        yield url, database_url


class Keyboard:
    """Presses keys and counts them; typed words are counted apart."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.presses = 0
        self.ui = Ui(page)

    def press(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.page.keyboard.press(key)
            self.presses += 1

    def type(self, words: str) -> None:
        self.page.keyboard.type(words)

    def focused(self) -> str:
        text: str = self.page.evaluate(FOCUSED)
        return text

    def tab_to(self, name: str, most: int = 4) -> None:
        """Tab until the focused element is named `name` (at most `most` presses)."""
        for _ in range(most):
            self.press("Tab")
            if self.focused() == name:
                return
        raise AssertionError(f"{name!r} not reached; focus on {self.focused()!r}")

    def to_quick_actions(self) -> None:
        """On a page just opened: Tab to "Skip to main content", Enter, Tab past the title's help
        to the search box."""
        self.press("Tab")
        assert self.focused() == "Skip to main content"
        self.press("Enter")
        self.press("Tab")
        if self.focused() == "Help":  # the title's (?) beside which the box sits
            self.press("Tab")
        assert self.focused().startswith("Quick actions: find a model"), self.focused()


def _status(database_url: str, model_id: str) -> ModelStatus:
    database = Database(database_url)
    set_database(database)
    try:
        return get_model_by_provider_id("openai", model_id, "text").status
    finally:
        set_database(None)
        database.dispose()


def test_approve_make_default_and_disable_by_keyboard_in_ten_presses_each(
    served: tuple[str, str], chromium: Any
) -> None:
    url, database_url = served
    page = chromium.new_page(viewport={"width": 1024, "height": 768})
    keys = Keyboard(page)
    counts: dict[str, int] = {}

    def job(name: str, words: str, action: str, done: str) -> None:
        """One job from a page just opened (the longest way: from the top)."""
        page.goto(f"{url}/text_models")
        keys.ui.heading("Text models")
        # Streamlit keeps widgets disabled until its connection is up: wait, pressing nothing.
        page.wait_for_function(QUICK_READY, timeout=WAIT_MS)
        keys.presses = 0
        keys.to_quick_actions()
        keys.type(words)
        keys.press("Enter")
        keys.ui.see(action, exact=True)
        keys.tab_to(action)
        keys.press("Enter")
        page.get_by_text(done).first.wait_for(timeout=WAIT_MS)
        keys.ui.settle()
        counts[name] = keys.presses

    job("approve", "kb alpha", "Approve openai/gpt-kb-alpha", "is enabled now")
    assert _status(database_url, "gpt-kb-alpha") is ModelStatus.ENABLED
    job(
        "make default",
        "kb alpha",
        "Make default openai/gpt-kb-alpha",
        "openai/gpt-kb-alpha is now the text default",
    )
    job("approve another", "kb beta", "Approve openai/gpt-kb-beta", "gpt-kb-beta is enabled now")
    job("disable", "kb beta", "Disable openai/gpt-kb-beta", "is disabled now")
    assert _status(database_url, "gpt-kb-beta") is ModelStatus.DISABLED
    database = Database(database_url)
    set_database(database)
    try:
        assert get_default_models()[("text", "openai")] == "gpt-kb-alpha"
    finally:
        set_database(None)
        database.dispose()
    print(f"\n[1024px] key presses per job (words typed not counted): {counts}")
    assert max(counts.values()) <= MOST_PRESSES, counts
    page.close()


def test_no_two_visible_buttons_of_a_section_share_a_label(
    served: tuple[str, str], chromium: Any
) -> None:
    """Buttons say their model: a screen reader's list of buttons tells them apart."""
    url, _ = served
    page = chromium.new_page(viewport={"width": 1024, "height": 768})
    sections = {
        "Text models": '[class*="st-key-text-section-"]',
        "Overview": "[data-testid=stMain]",
    }
    for path, heading in (("text_models", "Text models"), ("", "Overview")):
        page.goto(f"{url}/{path}")
        ui = Ui(page)
        ui.heading(heading)
        if path:
            page.get_by_label("Quick actions: find a model", exact=False).fill("gpt")
            page.keyboard.press("Enter")
            ui.see("Disable openai/gpt", exact=False)
        labels: list[list[str]] = page.evaluate(
            """selector => [...document.querySelectorAll(selector)].map(section =>
                 [...section.querySelectorAll('button')]
                   .filter(b => b.offsetParent !== null
                     // an element's own toolbar, a picker's "Open": named by their element
                     && !b.closest('[data-testid=stElementToolbar], [data-testid=stSelectbox]'))
                   .map(b => (b.getAttribute('aria-label') || b.innerText).trim())
                   .filter(n => n && n !== 'Help'))""",
            sections[heading],
        )
        assert sum(map(len, labels)) >= 4, labels  # the page's own buttons were read
        for names in labels:
            repeated = {n for n in names if names.count(n) > 1}
            assert not repeated, (heading, repeated)
    page.close()
