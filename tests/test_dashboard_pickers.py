"""Pickers name what they offer: a voice by its name, locale and gender before its opaque id,
a text model by its name before `provider/id`."""

from __future__ import annotations

import pytest

from registry.db import Database
from registry.store import change_model_statuses, get_model_by_provider_id, upsert_discovered_models
from registry.types import DiscoveredModel, ModelStatus
from tests.dashboard_support import assert_clean, open_app

pytestmark = pytest.mark.usefixtures("loopback")

RACHEL = "21m00Tcm4TlvDq8ikWAM"


def test_voice_options_carry_name_locale_and_gender(database: Database) -> None:
    upsert_discovered_models(
        "elevenlabs",
        "tts",
        [
            DiscoveredModel(
                RACHEL,
                "Rachel",
                metadata={
                    "name": "Rachel",
                    "labels": {"gender": "female", "accent": "american"},
                    "verified_languages": [{"language": "en", "locale": "en-US"}],
                },
            )
        ],
    )
    rachel = get_model_by_provider_id("elevenlabs", RACHEL, "tts")
    change_model_statuses([str(rachel.id)], ModelStatus.ENABLED)
    at = open_app("settings")
    at.selectbox(key="settings-tts-provider").set_value("elevenlabs").run()
    assert_clean(at)
    assert (
        "Rachel — en-US, female — elevenlabs/21m00T…"
        in at.selectbox(key="settings-tts-model").options
    )
    # The TTS models page's default chooser labels it the same way.
    at.switch_page("pages/tts_models.py").run()
    at.selectbox(key="tts-provider").set_value("elevenlabs").run()
    chooser = next(s for s in at.selectbox if str(s.key).startswith("tts-default-elevenlabs"))
    assert "Rachel — en-US, female — elevenlabs/21m00T…" in chooser.options
