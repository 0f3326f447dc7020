"""The Overview after an admin's fixes: fixed fallbacks move below the open ones, marked fixed;
the Activity page's time filter. AppTest on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from registry.admin.ui_overview import row_key
from registry.admin.ui_pages import activity_window
from registry.audit import CLI, audit_row, write_audit
from registry.db import Database, get_database
from registry.resolution import flush_fallback_counts, get_ai_config_for_story
from registry.store import ModelFilter, get_model_by_provider_id, list_models, update_model_status
from tests.dashboard_support import assert_clean, click, everything, messages, open_app

pytestmark = pytest.mark.usefixtures("loopback")


def _ask(provider: str, model: str, times: int) -> None:
    for _ in range(times):
        get_ai_config_for_story(provider, model)
    flush_fallback_counts()


def _open_rows(at: object) -> set[str]:
    """The keys of the fallback rows still open (each has its own container)."""
    return {
        str(e.key).removeprefix("fallback-choice-")
        for e in at.selectbox  # type: ignore[attr-defined]
        if str(e.key).startswith("fallback-choice-")
    }


def test_a_fallback_fixed_with_a_successor_moves_below_the_open_ones_marked_fixed(
    database: Database,
) -> None:
    _ask("openai", "gpt-5.9-mini-preview", 5)
    _ask("openai", "gpt-9-unknown", 3)
    fixed_key = row_key("text", "openai", "gpt-5.9-mini-preview")
    open_key = row_key("text", "openai", "gpt-9-unknown")
    at = open_app()
    assert _open_rows(at) == {fixed_key, open_key}
    assert not any(e.label.startswith("✓") for e in at.expander)
    click(at, f"fallback-name-{fixed_key}")
    assert_clean(at)
    # The answer shows in the row that was clicked; the row stays until the next run.
    assert messages(at, "success") == [
        "Saved: requests for openai/gpt-5.9-mini-preview now get openai/gpt-5.4-mini."
    ]
    assert fixed_key in _open_rows(at)
    at.run()
    assert _open_rows(at) == {open_key}
    (fixed,) = [e for e in at.expander if e.label.startswith("✓")]
    assert fixed.label == "✓ 1 fixed (still counted until their days pass)"
    assert "✓ fixed: **openai/gpt-5.9-mini-preview** now gets openai/gpt-5.4-mini" in (
        everything(at)
    )


def test_a_disabled_model_enabled_again_is_no_longer_an_open_fallback(database: Database) -> None:
    gpt_4o = get_model_by_provider_id("openai", "gpt-4o", "text")
    update_model_status(gpt_4o.id, "disabled")
    _ask("openai", "gpt-4o", 3)
    key = row_key("text", "openai", "gpt-4o")
    assert _open_rows(open_app()) == {key}
    update_model_status(gpt_4o.id, "enabled")
    at = open_app()
    assert_clean(at)
    assert _open_rows(at) == set()
    assert "✓ fixed: **openai/gpt-4o** now gets openai/gpt-4o" in everything(at)


# --- Activity: time filter ---------------------------------------------------------------------


def _entry_at(when: datetime, model: str) -> None:
    row = audit_row(CLI, "edit", provider="openai", category="text", model_id=model, at=when)
    with get_database().write() as session:
        write_audit(session, [row])


def test_the_activity_page_filters_by_last_days_and_between_dates(database: Database) -> None:
    now = datetime.now(UTC)
    _entry_at(now - timedelta(days=40), "forty-days-ago")
    _entry_at(now - timedelta(days=10), "ten-days-ago")
    _entry_at(now - timedelta(hours=2), "two-hours-ago")
    at = open_app("activity")
    assert_clean(at)

    def shown() -> list[str]:
        return [m for m in at.dataframe[0].value["model"] if m.startswith("openai/")]

    assert shown() == ["openai/two-hours-ago", "openai/ten-days-ago", "openai/forty-days-ago"]
    at.selectbox(key="activity-period").set_value("last 7 days").run()
    assert shown() == ["openai/two-hours-ago"]
    at.selectbox(key="activity-period").set_value("last 30 days").run()
    assert shown() == ["openai/two-hours-ago", "openai/ten-days-ago"]
    at.selectbox(key="activity-period").set_value("between dates").run()
    ten_days = (now - timedelta(days=10)).date()
    at.date_input(key="activity-dates").set_value((ten_days - timedelta(days=1), ten_days)).run()
    assert_clean(at)
    assert shown() == ["openai/ten-days-ago"]


def test_between_dates_takes_whole_utc_days_both_ends_included() -> None:
    now = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)
    since, until = activity_window("between dates", [date(2026, 12, 1), date(2026, 11, 30)], now)
    assert (since, until) == (
        datetime(2026, 11, 30, tzinfo=UTC),
        datetime(2026, 12, 2, tzinfo=UTC),
    )
    assert activity_window("last 7 days", [], now) == (now - timedelta(days=7), None)
    assert activity_window("any time", [], now) == (None, None)


def test_only_the_five_most_requested_open_fallbacks_show_unfolded(database: Database) -> None:
    for n in range(7):
        _ask("openai", f"gpt-unknown-{n}", 10 - n)
    at = open_app()
    assert_clean(at)
    assert len(_open_rows(at)) == 7  # every row is there, with its action
    (more,) = [e for e in at.expander if e.label.endswith("open fallback(s)")]
    assert more.label == "2 more open fallback(s)"
    folded = {str(e.key) for e in more.selectbox}
    assert folded == {
        f"fallback-choice-{row_key('text', 'openai', f'gpt-unknown-{n}')}" for n in (5, 6)
    }


def test_a_card_shows_a_change_on_the_next_run_although_its_reads_are_kept(
    database: Database,
) -> None:
    def mistral_card(at: object) -> str:
        (name,) = [
            e.proto.label
            for e in at.get("page_link")  # type: ignore[attr-defined]
            if e.proto.label.startswith("**mistral** · ")
        ]
        return str(name)

    at = open_app()
    before = mistral_card(at)
    assert mistral_card(at.run()) == before  # nothing changed: the kept reads serve
    model = next(m for m in list_models(ModelFilter(provider="mistral", status="enabled")))
    update_model_status(model.id, "disabled")
    enabled = int(before.split(" · ")[1].split()[0])
    assert mistral_card(at.run()).split(" · ")[1].startswith(f"{enabled - 1} enabled")
