"""The deprecation calendar: `model-registry calendar` as text, JSON and an iCalendar feed."""

from __future__ import annotations

import json
from datetime import date, timedelta

import icalendar
import pytest
from sqlalchemy import update

from registry.cli import main as cli_main
from registry.db import Database
from registry.deprecation_calendar import calendar_ics, retirement_calendar
from registry.schema import AIModel, utcnow
from registry.store import (
    edit_model,
    get_model_by_provider_id,
    set_successor,
    update_model_status,
    upsert_discovered_model,
)
from registry.types import DiscoveredModel

TODAY = utcnow().date()
SOURCE = "dataset litellm 1.110.2 2026-11-20"
URL = "https://ai.google.dev/gemini-api/docs/deprecations"


def _date(provider: str, model_id: str, days: int, category: str = "text") -> None:
    model = get_model_by_provider_id(provider, model_id, category)
    edit_model(model.id, metadata={"retires_at": (TODAY + timedelta(days=days)).isoformat()})


def _dataset_date(db: Database, provider: str, model_id: str, days: int) -> None:
    """A date the lifecycle dataset gave, with its source and URL in metadata_sources."""
    with db.write() as session:
        session.execute(
            update(AIModel)
            .where(AIModel.provider == provider, AIModel.model_id == model_id)
            .values(
                retires_at=utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
                + timedelta(days=days),
                replacement_model_id="gemini-3.8-flash",
                metadata_sources={"retires_at": SOURCE, "retires_at_url": URL},
            )
        )


@pytest.fixture
def dated(undated_catalog: Database) -> Database:
    """Four dated models the calendar shows, and three it must not (on a catalog the bundled
    lifecycle data has not dated, so only these dates count)."""
    _dataset_date(
        undated_catalog, "google", "gemini-3.5-flash-lite", -5
    )  # the default, already past
    _date("openai", "gpt-5", 5)
    _date("openai", "tts-1", 40, "tts")
    _date("anthropic", "claude-opus-4-5-20251101", 200)
    set_successor(get_model_by_provider_id("openai", "gpt-5", "text").id, "gpt-5.4")
    _date("openai", "gpt-4o", 400)  # beyond a year
    _date("openai", "gpt-4.1", 3)
    update_model_status(get_model_by_provider_id("openai", "gpt-4.1", "text").id, "disabled")
    upsert_discovered_model("openai", "text", DiscoveredModel("o9", "o9", retires_at=None))
    return undated_catalog


def test_calendar_lists_enabled_and_default_models_soonest_first(dated: Database) -> None:
    entries = retirement_calendar()
    assert [(e.display_id, e.days) for e in entries] == [
        ("google/gemini-3.5-flash-lite", -5),
        ("openai/gpt-5", 5),
        ("openai/tts-1", 40),
        ("anthropic/claude-opus-4-5-20251101", 200),
    ]
    flash, gpt5, _, _ = entries
    assert (flash.is_default, flash.successor, flash.successor_from) == (
        True,
        "gemini-3.8-flash",
        "replacement",
    )
    assert (flash.source, flash.source_url) == (SOURCE, URL)
    assert (gpt5.successor, gpt5.successor_from, gpt5.source) == ("gpt-5.4", "admin", "admin")
    assert [e.display_id for e in retirement_calendar("tts")] == ["openai/tts-1"]
    assert [e.days for e in retirement_calendar(days=30)] == [-5, 5]
    assert [e.days for e in retirement_calendar(days=400)] == [-5, 5, 40, 200, 400]


def test_calendar_text_and_json_from_the_command_line(
    dated: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["calendar"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == (
        f"{(TODAY - timedelta(days=5)).isoformat()}  google/gemini-3.5-flash-lite (text, default)  "
        f"retired 5 days ago; successor gemini-3.8-flash (replacement); source {SOURCE} {URL}"
    )
    assert [line.split()[1] for line in lines] == [
        "google/gemini-3.5-flash-lite",
        "openai/gpt-5",
        "openai/tts-1",
        "anthropic/claude-opus-4-5-20251101",
    ]
    assert "4 retirement(s) within 365 days or past" in err
    assert cli_main(["calendar", "--json", "--category", "text", "--days", "30"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["provider"], r["model_id"], r["retires_at"]) for r in rows] == [
        ("google", "gemini-3.5-flash-lite", (TODAY - timedelta(days=5)).isoformat()),
        ("openai", "gpt-5", (TODAY + timedelta(days=5)).isoformat()),
    ]
    assert rows[0] == {
        "provider": "google",
        "category": "text",
        "model_id": "gemini-3.5-flash-lite",
        "display_name": "Gemini 3.5 Flash Lite",
        "status": "enabled",
        "is_default": True,
        "retires_at": (TODAY - timedelta(days=5)).isoformat(),
        "days": -5,
        "successor": "gemini-3.8-flash",
        "successor_from": "replacement",
        "source": SOURCE,
        "source_url": URL,
    }


def test_calendar_ics_parses_with_one_all_day_event_per_retirement(
    dated: Database, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert cli_main(["calendar", "--ics"]) == 0
    feed = icalendar.Calendar.from_ical(capsysbinary.readouterr().out)
    events = list(feed.walk("VEVENT"))
    assert [str(e["SUMMARY"]) for e in events] == [
        "google/gemini-3.5-flash-lite retires",
        "openai/gpt-5 retires",
        "openai/tts-1 retires",
        "anthropic/claude-opus-4-5-20251101 retires",
    ]
    flash = events[0]
    start, end = flash.decoded("DTSTART"), flash.decoded("DTEND")
    assert type(start) is date and start == TODAY - timedelta(days=5)  # all-day: a DATE
    assert end - start == timedelta(days=1)
    description = str(flash["DESCRIPTION"])
    assert "Successor: google/gemini-3.8-flash (replacement)." in description
    assert f"Source: {SOURCE} {URL}" in description
    assert str(flash["URL"]) == URL
    assert "Successor: openai/gpt-5.4 (admin)." in str(events[1]["DESCRIPTION"])
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == len(uids)
    # Stable: the same retirement has the same UID in every later feed (calendars update it).
    again = icalendar.Calendar.from_ical(calendar_ics(retirement_calendar()))
    assert [str(e["UID"]) for e in again.walk("VEVENT")] == uids
    assert str(feed["VERSION"]) == "2.0" and feed["PRODID"]


@pytest.mark.parametrize(
    "args",
    [
        ["calendar", "--days", "-1"],
        ["calendar", "--days", "soon"],
        ["calendar", "--days", "99999999"],
        ["calendar", "--category", "video"],
        ["calendar", "--ics", "--json"],
    ],
)
def test_calendar_bad_input_is_one_line_and_exit_2(
    sqlite_database: Database, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:  # argparse's usage errors exit this way
        cli_main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_an_empty_calendar_is_still_a_valid_feed(
    undated_catalog: Database, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert cli_main(["calendar", "--ics"]) == 0
    feed = icalendar.Calendar.from_ical(capsysbinary.readouterr().out)
    assert list(feed.walk("VEVENT")) == []
