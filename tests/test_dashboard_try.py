"""Listen and Test on the model pages, driven through AppTest against the OpenAI stand-in.

The browser tests (tests/test_browser_try.py) prove the audio plays and the answer shows; these
cover the rest of the behaviour: several models tested after a count confirmation, voice
columns in the grid, a failure shown in words.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from registry import trial
from registry.admin import ui_try
from registry.db import Database
from registry.standin.server import StandInServer
from tests.dashboard_support import (
    assert_clean,
    click,
    grid_frame,
    messages,
    open_app,
    plain,
    select_models,
)

pytestmark = pytest.mark.usefixtures("loopback", "fresh_budget")


@pytest.fixture
def fresh_budget(monkeypatch: pytest.MonkeyPatch) -> Iterator[trial.CallBudget]:
    """Each test starts with its admin's full allowance of test calls."""
    budget = trial.CallBudget(trial.TEST_CALLS_PER_MINUTE)
    monkeypatch.setattr(ui_try, "TEST_BUDGET", budget)
    yield budget


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


FOUR = ["openai/gpt-4.1", "openai/gpt-4.1-mini", "openai/gpt-4o", "openai/gpt-4o-mini"]


def test_test_selected_tests_every_model_at_once_within_one_deadline(
    sqlite_database: Database, openai_server: StandInServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    openai_server.latency = 1.0  # every answer takes a second
    monkeypatch.setattr(trial, "TEST_BATCH_SECONDS", 2.5)  # less than four answers in a row
    at = open_app("text_models")
    at.selectbox(key="text-provider").set_value("openai").run()
    select_models(at, "text", "enabled", FOUR)
    click(at, "text-enabled-try-test-many")
    assert_clean(at)
    (table,) = [d.value for d in at.dataframe if "latency (ms)" in d.value.columns]
    assert list(table["error"]) == [""] * 4
    assert all(1000 <= latency < 2500 for latency in table["latency (ms)"])

    openai_server.latency = 4.0  # now no answer comes in time: each is cut off at the deadline
    select_models(at, "text", "enabled", FOUR[:2])
    click(at, "text-enabled-try-test-many")
    (table,) = [d.value for d in at.dataframe if "latency (ms)" in d.value.columns]
    assert all("within 2.5 s" in error for error in table["error"]), list(table["error"])


def test_test_calls_are_capped_per_admin_and_the_count_shows_before_it_runs(
    sqlite_database: Database,
    openai_server: StandInServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ui_try, "TEST_BUDGET", trial.CallBudget(3))
    at = open_app("text_models")
    at.selectbox(key="text-provider").set_value("openai").run()
    select_models(at, "text", "enabled", FOUR[:2])
    assert "Test 2 models?" in [str(m.value) for m in at.markdown]
    click(at, "text-enabled-try-test-many")
    select_models(at, "text", "enabled", FOUR)
    # One call is left of the three: the confirmation says so before anything runs.
    assert "Test 1 model? (the first 1)" in [str(m.value) for m in at.markdown]
    click(at, "text-enabled-try-test-many")
    assert messages(at, "success") == [
        "GPT-4.1 — openai/gpt-4.1 answered in "
        + (messages(at, "success")[0].split(" answered in ")[1])
    ]
    # No more calls this minute: the buttons are off and the page says when the next is possible.
    select_models(at, "text", "enabled", FOUR[:2])
    assert at.button(key="text-enabled-try-test-many").disabled
    assert any(
        "The test limit is 3 calls a minute per admin" in plain(str(c.value)) for c in at.caption
    )
    assert len(openai_server.requests_to("/v1/chat/completions")) == 3


def test_the_call_budget_is_counted_at_each_click_per_admin() -> None:
    budget = trial.CallBudget(3)
    # Clicks faster than the page redraws its buttons still cannot pass the limit.
    assert [budget.take("a@x.org", 2) for _ in range(10)] == [2, 1] + [0] * 8
    assert budget.left("a@x.org")[0] == 0 and 59 < budget.left("a@x.org")[1] <= 60
    assert budget.take("b@x.org", 5) == 3  # another admin has an allowance of their own
