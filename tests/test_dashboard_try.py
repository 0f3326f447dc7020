"""Listen and Test on the model pages, driven through AppTest against the OpenAI stand-in.

The browser tests (tests/test_browser_try.py) prove the audio plays and the answer shows; these
cover the rest of the behaviour: several models tested after a count confirmation, voice
columns in the grid, a failure shown in words.
"""

from __future__ import annotations

import pytest

from registry.db import Database
from registry.standin.server import StandInServer
from tests.dashboard_support import (
    assert_clean,
    click,
    grid_frame,
    messages,
    open_app,
    select_models,
)

pytestmark = pytest.mark.usefixtures("loopback")


def test_testing_several_models_asks_for_the_count_then_shows_a_table(
    sqlite_database: Database, openai_server: StandInServer
) -> None:
    at = open_app("text_models")
    at.selectbox(key="text-provider").set_value("openai").run()
    select_models(at, "text", "enabled", ["openai/gpt-4.1", "openai/gpt-4.1-mini"])
    assert_clean(at)
    assert at.button(key="text-enabled-try-test").disabled  # "Test" is for one model
    assert "Test 2 models?" in [str(m.value) for m in at.markdown]
    click(at, "text-enabled-try-test-many")
    assert_clean(at)
    (table,) = [d.value for d in at.dataframe if "latency (ms)" in d.value.columns]
    assert list(table["model"]) == [
        "GPT-4.1 — openai/gpt-4.1",
        "GPT-4.1 mini — openai/gpt-4.1-mini",
    ]
    assert all("Hello from the OpenAI stand-in" in answer for answer in table["answer"])
    assert len(openai_server.requests_to("/v1/chat/completions")) == 2


def test_voices_show_name_locale_gender_and_labels_and_a_failed_sample_says_why(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_app("tts_models")
    at.selectbox(key="tts-provider").set_value("azure").run()
    frame = grid_frame(at, "tts", "enabled")
    sonia = frame[frame["model"] == "azure/en-GB-SoniaNeural"].iloc[0]
    # The curated row has no listing metadata yet: its name, and nothing guessed.
    assert (sonia["voice"], sonia["locale"], sonia["gender"]) == ("Sonia (en-GB, Female)", "", "")
    select_models(at, "tts", "enabled", ["azure/en-GB-SoniaNeural"])
    click(at, "tts-enabled-try-listen")
    assert_clean(at)
    assert any("AZURE_SPEECH_KEY" in m for m in messages(at, "error"))
    assert not at.get("audio")
