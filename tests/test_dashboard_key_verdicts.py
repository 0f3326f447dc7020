"""API keys page: a key the provider does not know is "rejected", whatever status it answers
with (Google and xAI say HTTP 400, others 401/403), and Save asks again after such a verdict."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from registry.db import Database
from registry.demo import StandInProviders
from registry.discovery import KeyVerdict, check_api_key
from registry.keys import list_key_status
from registry.standin import google as google_standin
from registry.standin import json_response
from registry.standin import xai as xai_standin
from tests.dashboard_support import assert_clean, click, everything, messages, open_app

pytestmark = pytest.mark.usefixtures("loopback")

SAVE = "FormSubmitter:key-form-Save key"
TEST = "FormSubmitter:key-form-Test this key"


def stored_key(provider: str) -> str | None:
    """The masked key stored in the database (the stand-ins' keys come from the environment)."""
    status = next(s for s in list_key_status() if s.provider == provider)
    return status.masked if status.source == "stored" else None


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInProviders]:
    with StandInProviders() as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        yield standins


def test_google_and_xai_answer_an_unknown_key_with_400_and_that_is_rejected(
    providers: StandInProviders,
) -> None:
    providers.servers["google"].fail(google_standin.GEMINI_MODELS_PATH, google_standin.invalid_key)
    providers.servers["xai"].fail(xai_standin.MODELS_PATH, xai_standin.invalid_key)
    google = check_api_key("google", "text", "AIzaSy-not-a-real-key-0001")
    xai = check_api_key("xai", "text", "xai-not-a-real-key-0002")
    assert (google.verdict, xai.verdict) == (KeyVerdict.REJECTED, KeyVerdict.REJECTED)
    assert "the API key was rejected (HTTP 400)" in google.message
    assert "API key not valid" in google.message
    assert "Incorrect API key provided: xa***02" in xai.message
    # Cloud TTS (the other Google listing) answers the same way.
    providers.servers["google"].fail(
        google_standin.CLOUD_TTS_VOICES_PATH, google_standin.invalid_key
    )
    assert check_api_key("google", "tts", "AIzaSy-not-a-real-key-0003").verdict is (
        KeyVerdict.REJECTED
    )


def test_a_400_that_is_not_about_the_key_is_not_judged_a_rejection(
    providers: StandInProviders,
) -> None:
    providers.servers["google"].fail(
        google_standin.GEMINI_MODELS_PATH,
        json_response(
            {
                "error": {
                    "code": 400,
                    "message": "Invalid page token.",
                    "status": "INVALID_ARGUMENT",
                }
            },
            400,
        ),
    )
    providers.servers["xai"].fail(
        xai_standin.MODELS_PATH,
        json_response({"code": "Client specified an invalid argument", "error": "bad page"}, 400),
    )
    assert check_api_key("google", "text", "AIzaSy-key-0004").verdict is KeyVerdict.FAILED
    assert check_api_key("xai", "text", "xai-key-0005").verdict is KeyVerdict.FAILED
    for status in (401, 403):
        providers.servers["xai"].fail(xai_standin.MODELS_PATH, json_response({}, status))
        assert check_api_key("xai", "text", "xai-key-0006").verdict is KeyVerdict.REJECTED


@pytest.mark.parametrize("provider", ["google", "xai"])
def test_the_page_calls_an_invalid_key_rejected_and_save_asks_again(
    database: Database, providers: StandInProviders, provider: str
) -> None:
    path = google_standin.GEMINI_MODELS_PATH if provider == "google" else xai_standin.MODELS_PATH
    answer = google_standin.invalid_key if provider == "google" else xai_standin.invalid_key
    providers.servers[provider].fail(path, answer)
    typed = f"{provider}-typed-invalid-key-4242"
    at = open_app("api_keys")
    at.selectbox(key="keys-provider").set_value(provider).run()
    at.text_input(key="keys-new-key").input(typed)
    at.button(key=TEST).click().run()
    assert_clean(at)
    (error,) = messages(at, "error")
    assert error.startswith(
        f"The key did not work: {provider}: the API key was rejected (HTTP 400)"
    )
    assert "not judged" not in everything(at)
    # Save does not save yet: it asks again, naming the verdict.
    at.button(key=SAVE).click().run()
    assert stored_key(provider) is None
    (question,) = messages(at, "warning")
    assert question.startswith('The last test of this key said "rejected"')
    assert question.endswith("Save it anyway?")
    assert typed not in everything(at)
    # Cancel leaves it unsaved; asking again and confirming saves it.
    at = click(at, "keys-save-cancel")
    assert stored_key(provider) is None and not messages(at, "warning")
    at.button(key=SAVE).click().run()
    at = click(at, "keys-save-anyway")
    assert messages(at, "success") == [f"Saved the {provider} key (…4242)."]
    assert stored_key(provider) == "…4242"


def test_a_key_that_works_is_saved_at_once(database: Database, providers: StandInProviders) -> None:
    at = open_app("api_keys")
    at.selectbox(key="keys-provider").set_value("xai").run()
    at.text_input(key="keys-new-key").input("xai-typed-good-key-7777")
    at.button(key=TEST).click().run()
    assert messages(at, "success")[0].startswith("The key works: xai listed")
    at.button(key=SAVE).click().run()
    assert messages(at, "success") == ["Saved the xai key (…7777)."]
