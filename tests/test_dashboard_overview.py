"""The Overview's Fallbacks and Retiring soon panels, driven through AppTest on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from registry.admin.ui_overview import row_key
from registry.admin.views import escape_markdown
from registry.audit import list_audit_entries
from registry.db import Database
from registry.resolution import (
    FallbackReason,
    ResolutionRule,
    flush_fallback_counts,
    get_ai_config_for_story,
    resolve,
)
from registry.retirement import FALLBACK_DAYS
from registry.schema import utcnow
from registry.store import edit_model, get_model_by_provider_id, update_model_status
from tests.dashboard_support import assert_clean, click, everything, messages, open_app

pytestmark = pytest.mark.usefixtures("loopback")


def _ask(provider: str, model: str, times: int) -> None:
    """The application asking for `provider/model` `times` times (counted, then saved)."""
    for _ in range(times):
        get_ai_config_for_story(provider, model)
    flush_fallback_counts()


def test_an_unknown_id_asked_for_888_times_is_fixed_from_the_overview_in_one_click(
    database: Database,
) -> None:
    _ask("openai", "gpt-5.9-mini-preview", 888)
    at = open_app()
    assert_clean(at)
    assert [h.value for h in at.header][:1] == ["Fallbacks"]  # first on the page
    text = everything(at)
    assert "**openai/gpt-5.9-mini-preview** → openai/gpt-5.4-mini" in text
    assert (
        f"text · not in the catalog · 888 today · 888 in {FALLBACK_DAYS} days · last seen just now"
    ) in text
    key = row_key("text", "openai", "gpt-5.9-mini-preview")
    # Preset to the suggested successor (its family's newest enabled model): one click saves.
    assert at.selectbox(key=f"fallback-choice-{key}").value == "gpt-5.4-mini"
    click(at, f"fallback-name-{key}")
    assert_clean(at)
    assert messages(at, "success") == [
        "Saved: requests for openai/gpt-5.9-mini-preview now get openai/gpt-5.4-mini."
    ]
    assert "successor openai/gpt-5.4-mini" in everything(at)
    answer = resolve("text", "openai", "gpt-5.9-mini-preview")
    assert (answer.model_id, answer.rule) == ("gpt-5.4-mini", ResolutionRule.SUCCESSOR)
    assert {e.action for e in list_audit_entries(model="gpt-5.9-mini-preview")} == {
        "status_change",
        "successor",
    }


def test_a_disabled_model_gets_the_successor_the_admin_picks(database: Database) -> None:
    update_model_status(get_model_by_provider_id("openai", "gpt-4o", "text").id, "disabled")
    _ask("openai", "gpt-4o", 3)
    at = open_app()
    key = row_key("text", "openai", "gpt-4o")
    assert "text · disabled · 3 today" in everything(at)
    at.selectbox(key=f"fallback-choice-{key}").set_value("gpt-4.1")
    click(at, f"fallback-name-{key}")
    assert messages(at, "success") == ["Saved: requests for openai/gpt-4o now get openai/gpt-4.1."]
    answer = resolve("text", "openai", "gpt-4o")
    assert (answer.model_id, answer.reason) == ("gpt-4.1", FallbackReason.DISABLED)


def test_a_pending_model_has_no_successor_action_but_says_what_to_do(database: Database) -> None:
    from registry.store import upsert_discovered_models
    from registry.types import DiscoveredModel

    upsert_discovered_models("openai", "text", [DiscoveredModel("o3", "o3")])
    _ask("openai", "o3", 2)
    at = open_app()
    assert "text · pending approval · 2 today" in everything(at)
    assert "Approve it on the models page, or disable it." in everything(at)
    assert f"fallback-name-{row_key('text', 'openai', 'o3')}" not in [b.key for b in at.button]


def test_no_fallbacks_says_so_and_no_retirement_panel_without_dates(
    undated_catalog: Database,
) -> None:
    at = open_app()
    assert_clean(at)
    text = everything(at)
    assert f"No fallbacks in the last {FALLBACK_DAYS} days" in text
    assert "Retiring soon" not in [h.value for h in at.header]


def test_a_model_retiring_soon_shows_days_left_and_its_successor_is_accepted(
    undated_catalog: Database,
) -> None:
    model = get_model_by_provider_id("openai", "gpt-4o-mini", "text")
    edit_model(model.id, metadata={"retires_at": (utcnow() + timedelta(days=12)).isoformat()})
    at = open_app()
    text = everything(at)
    assert "**openai/gpt-4o-mini** retires in 12 days" in text
    assert "Suggested successor: openai/gpt-5.4-mini" in text
    click(at, f"retiring-accept-{row_key('text', 'openai', 'gpt-4o-mini')}")
    assert_clean(at)
    assert messages(at, "success") == [
        "Accepted: openai/gpt-5.4-mini replaces openai/gpt-4o-mini once it retires."
    ]
    assert "Successor: openai/gpt-5.4-mini" in everything(at)
    assert at.button(key=f"retiring-accept-{row_key('text', 'openai', 'gpt-4o-mini')}").disabled
    assert get_model_by_provider_id("openai", "gpt-4o-mini", "text").successor_model_id == (
        "gpt-5.4-mini"
    )


def test_fallback_labels_show_application_ids_literally_never_as_markdown(
    database: Database,
) -> None:
    asked = "gpt-*x*_[see](https://evil.example)"
    _ask("openai", asked, 2)
    at = open_app()
    assert_clean(at)
    key = row_key("text", "openai", asked)
    picker = at.selectbox(key=f"fallback-choice-{key}")
    # Every Markdown character escaped: the label reads as typed, with no emphasis or link.
    assert picker.label == "Successor for " + escape_markdown(f"openai/{asked}")
    assert r"gpt\-\*x\*\_\[see\]\(https\:" in picker.label
    shown = f"**{escape_markdown(f'openai/{asked}')}** → "
    assert any(str(m.value).startswith(shown) for m in at.markdown)
