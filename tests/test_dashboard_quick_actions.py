"""Quick actions on the models pages (the keyboard's path): words find models of the provider
in view, each with buttons named after it. AppTest on both backends."""

from __future__ import annotations

import pytest

from registry.audit import list_audit_entries
from registry.db import Database
from registry.store import get_default_models, get_model_by_provider_id, upsert_discovered_models
from registry.types import DiscoveredModel, ModelStatus
from tests.dashboard_support import assert_clean, everything, open_app, plain, toasts

pytestmark = pytest.mark.usefixtures("loopback")


def _buttons(at: object) -> list[str]:
    return [
        plain(str(b.label))
        for b in at.button  # type: ignore[attr-defined]
        if str(b.key).startswith("quick-")
    ]


def test_words_find_a_pending_model_and_approve_it(database: Database) -> None:
    upsert_discovered_models("openai", "text", [DiscoveredModel("gpt-quick-zeta", "Quick Zeta")])
    at = open_app("text_models")
    assert _buttons(at) == []  # nothing typed: no results
    at.text_input(key="text-quick").input("quick zeta").run()
    assert_clean(at)
    assert _buttons(at) == ["Approve openai/gpt-quick-zeta", "Reject openai/gpt-quick-zeta"]
    next(b for b in at.button if str(b.key).startswith("quick-approve-")).click().run()
    assert_clean(at)
    assert "Approve: openai/gpt-quick-zeta is enabled now." in toasts(at)
    model = get_model_by_provider_id("openai", "gpt-quick-zeta", "text")
    assert model.status is ModelStatus.ENABLED
    assert list_audit_entries(model="gpt-quick-zeta", action="status_change")
    # Enabled now: the same row offers Make default and Disable.
    assert [b.split(" openai/")[0] for b in _buttons(at)] == ["Make default", "Disable"]
    next(b for b in at.button if str(b.key).startswith("quick-make-default-")).click().run()
    assert get_default_models()[("text", "openai")] == "gpt-quick-zeta"
    assert [b.split(" openai/")[0] for b in _buttons(at)] == ["Disable"]


def test_the_provider_in_view_narrows_the_matches(database: Database) -> None:
    upsert_discovered_models("openai", "text", [DiscoveredModel("shared-name-1", "Shared")])
    upsert_discovered_models("mistral", "text", [DiscoveredModel("shared-name-2", "Shared")])
    at = open_app("text_models")
    at.text_input(key="text-quick").input("shared name").run()
    assert len(_buttons(at)) == 4  # two pending models, Approve and Reject each
    at.selectbox(key="text-provider").set_value("mistral").run()
    assert all("mistral/shared" in b for b in _buttons(at))
    at.text_input(key="text-quick").input("no such words").run()
    assert "No text model matches “no such words”." in everything(at)
