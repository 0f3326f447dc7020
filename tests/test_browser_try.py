"""Try before approving, in a real browser at two widths: Listen to a voice, Test a text model.

`streamlit run app.py` on a scratch SQLite database, every provider played by its stand-in
(`registry.demo.StandInProviders`, made-up keys): the sample and the answer come through the
real SDKs from the stand-ins' canned audio and text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from registry.demo import StandInProviders
from tests.dashboard_support import WAIT_MS, Ui, migrated_sqlite, streamlit_server

pytestmark = pytest.mark.browser

VIEWPORTS = [{"width": 1024, "height": 768}, {"width": 1440, "height": 900}]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("browser-try")
    env = {"REGISTRY_DATABASE_URL": migrated_sqlite(data)}
    with (
        StandInProviders() as providers,
        streamlit_server(data, providers.environment() | env) as url,
    ):
        yield url


def _narrow_to_one(ui: Ui, provider: str, search: str) -> None:
    ui.choose("Provider", provider)
    ui.search(search)
    ui.heading("Enabled (1)")
    ui.tick("Select all on this page")
    ui.see("1 selected")


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v['width']}px")
def test_listen_plays_a_sample_of_the_selected_voice(
    dashboard: str, chromium: Any, viewport: dict[str, int]
) -> None:
    page = chromium.new_page(viewport=viewport)
    ui = Ui(page)
    page.goto(f"{dashboard}/tts_models")
    ui.heading("TTS models")
    _narrow_to_one(ui, "elevenlabs", "Rachel")
    listen = page.get_by_role("button", name="Listen", exact=True)
    listen.scroll_into_view_if_needed()
    listen.click()
    audio = page.locator("audio").first
    audio.wait_for(state="attached", timeout=WAIT_MS)
    ui.settle()
    assert audio.get_attribute("src"), "the audio element has no source"
    ui.see("Rachel — elevenlabs/21m00T…")
    page.close()


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v['width']}px")
def test_test_shows_a_text_models_answer_and_latency(
    dashboard: str, chromium: Any, viewport: dict[str, int]
) -> None:
    page = chromium.new_page(viewport=viewport)
    ui = Ui(page)
    page.goto(f"{dashboard}/text_models")
    ui.heading("Text models")
    _narrow_to_one(ui, "anthropic", "claude-sonnet-4-6")
    test = page.get_by_role("button", name="Test", exact=True)
    test.scroll_into_view_if_needed()
    test.click()
    ui.see("Hello from the Anthropic stand-in, speaking as claude-sonnet-4-6.")
    ui.see("answered in")
    page.close()
