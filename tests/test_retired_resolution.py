"""Rule 4: a model past its retirement date is never handed out, on SQLite and PostgreSQL.

The snapshot decides it when it is built and its keeper decides again at the next retirement
instant; the Overview says loudly when a default retired and what the application gets now.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from registry.admin.ui_overview import row_key
from registry.admin.views import model_table, provider_card
from registry.audit import list_audit_entries
from registry.catalog import CURATED, CuratedModel, CuratedProvider
from registry.cli import main as cli_main
from registry.db import Database
from registry.errors import NoAvailableModelError
from registry.resolution import (
    FallbackReason,
    ResolutionRule,
    get_ai_config_for_story,
    get_ai_model,
    get_provider_status,
    get_tts_model,
    resolve,
)
from registry.retirement import DateSource, date_source, retired_report, set_retire_by_date
from registry.rules import RETIRED, date_instant, resolve_in
from registry.schema import AIModel, RegistryStamp, utcnow
from registry.snapshot import ModelDates, ModelEntry, ModelKey, Snapshot, curated_snapshot
from registry.store import edit_model, get_model_by_provider_id, set_default_model, set_successor
from registry.types import Category, ModelStatus
from tests.dashboard_support import assert_clean, click, messages, open_app

OPENAI_DEFAULT = CURATED[(Category.TEXT, "openai")].default  # gpt-5.4-mini
YESTERDAY = (utcnow() - timedelta(days=1)).date().isoformat()


def _date(provider: str, model_id: str, when: object, category: str = "text") -> None:
    """An admin dates the model (`retires_at`), as on the models page."""
    model = get_model_by_provider_id(provider, model_id, category)
    edit_model(model.id, metadata={"retires_at": when})


def _stamp(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(RegistryStamp.version)) or 0)


# --- a model past its date ---------------------------------------------------------------------


def test_a_model_an_admin_dates_yesterday_falls_back_to_its_successor_with_reason_retired(
    database: Database,
) -> None:
    set_successor(get_model_by_provider_id("openai", "gpt-4o", "text").id, "gpt-4.1")
    assert resolve("text", "openai", "gpt-4o").fallback is False  # named, not yet dated
    _date("openai", "gpt-4o", YESTERDAY)
    answer = resolve("text", "openai", "gpt-4o")
    assert (answer.model_id, answer.fallback, answer.reason, answer.rule) == (
        "gpt-4.1",
        True,
        FallbackReason.RETIRED,
        ResolutionRule.SUCCESSOR,
    )
    assert answer.to_json()["reason"] == "retired"
    assert answer.describe() == (
        "text model openai/gpt-4o is retired (past its retirement date); "
        "using its successor openai/gpt-4.1"
    )


def test_a_retired_model_without_successor_falls_back_to_the_provider_default(
    undated_catalog: Database,
) -> None:
    _date("openai", "gpt-4o", YESTERDAY)
    story = get_ai_config_for_story("openai", "gpt-4o", 0.2)
    assert (story.model_id, story.reason, story.rule) == (
        OPENAI_DEFAULT,
        FallbackReason.RETIRED,
        ResolutionRule.PROVIDER_DEFAULT,
    )
    # An explicit override naming it falls back too: it is enabled, only past its date.
    override = get_ai_model(model_override="gpt-4o")
    assert (override.model_id, override.reason) == (OPENAI_DEFAULT, FallbackReason.RETIRED)


def test_the_providers_replacement_serves_a_retired_model_when_it_is_enabled(
    database: Database,
) -> None:
    model = get_model_by_provider_id("openai", "gpt-4o", "text")
    edit_model(model.id, metadata={"retires_at": YESTERDAY, "replacement_model_id": "gpt-4.1"})
    answer = resolve("text", "openai", "gpt-4o")
    assert (answer.model_id, answer.reason, answer.rule) == (
        "gpt-4.1",
        FallbackReason.RETIRED,
        ResolutionRule.SUCCESSOR,
    )
    # A replacement the catalog does not hold enabled is not handed out.
    edit_model(model.id, metadata={"replacement_model_id": "gpt-9-unknown"})
    assert resolve("text", "openai", "gpt-4o").model_id == OPENAI_DEFAULT


def test_a_tts_voice_past_its_date_falls_back_like_a_text_model(database: Database) -> None:
    _date("openai", "tts-1", YESTERDAY, "tts")
    answer = get_tts_model(model_override="tts-1")
    assert (answer.model_id, answer.reason) == ("gpt-4o-mini-tts", FallbackReason.RETIRED)


def test_a_date_ahead_and_a_date_the_admin_clears_keep_the_model_served(
    database: Database,
) -> None:
    _date("openai", "gpt-4o", (utcnow() + timedelta(days=3)).date().isoformat())
    assert resolve("text", "openai", "gpt-4o").fallback is False
    _date("openai", "gpt-4o", YESTERDAY)
    assert resolve("text", "openai", "gpt-4o").reason is FallbackReason.RETIRED
    _date("openai", "gpt-4o", None)  # the admin's word wins over any dataset's date
    assert resolve("text", "openai", "gpt-4o").fallback is False


# --- defaults past their date ----------------------------------------------------------------


def test_a_default_dated_yesterday_is_skipped(undated_catalog: Database) -> None:
    set_default_model("openai", "text", "gpt-4.1")
    _date("openai", "gpt-4.1", YESTERDAY)
    default = resolve("text", "openai", None)
    assert (default.model_id, default.rule) == (OPENAI_DEFAULT, ResolutionRule.CURATED_DEFAULT)
    deprecated_story = resolve("text", "openai", "gpt-4.1")
    assert (deprecated_story.model_id, deprecated_story.reason) == (
        OPENAI_DEFAULT,
        FallbackReason.RETIRED,
    )
    status = get_provider_status("openai", "text")
    assert status.default_model == "gpt-4.1"
    assert status.effective_default == OPENAI_DEFAULT
    assert status.default_retired_at is not None
    assert status.default_retired_at.date().isoformat() == YESTERDAY
    assert status.retired == {"gpt-4.1": (status.default_retired_at, f"openai/{OPENAI_DEFAULT}")}
    card = provider_card(status, None)
    assert card.default_note == f"retired on {YESTERDAY}; resolution uses openai/{OPENAI_DEFAULT}"


def test_a_retired_default_hands_over_to_its_successor(database: Database) -> None:
    set_default_model("openai", "text", "gpt-4.1")
    set_successor(get_model_by_provider_id("openai", "gpt-4.1", "text").id, "gpt-4o")
    _date("openai", "gpt-4.1", YESTERDAY)
    default = resolve("text", "openai", None)
    assert (default.model_id, default.rule) == ("gpt-4o", ResolutionRule.PROVIDER_DEFAULT)


def test_the_curated_default_past_its_date_is_skipped(database: Database) -> None:
    # gpt-5.4-mini is the saved default and the built-in one: neither may be handed out.
    _date("openai", OPENAI_DEFAULT, YESTERDAY)
    with pytest.raises(NoAvailableModelError, match="past its retirement date") as caught:
        resolve("text", "openai", None)
    assert f"the built-in default openai/{OPENAI_DEFAULT} is past its retirement date" in str(
        caught.value
    )
    # The global config names it too: a story is refused rather than handed the retired model.
    with pytest.raises(NoAvailableModelError, match="the global text config is not usable"):
        get_ai_config_for_story("openai", OPENAI_DEFAULT)


def test_the_curated_catalog_never_serves_a_curated_model_past_its_date(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a database: the curated catalog's own dates and successors decide."""
    monkeypatch.setitem(
        CURATED,
        (Category.TEXT, "openai"),
        CuratedProvider(
            default="old-default",
            models=(
                CuratedModel("old-default", "Old", retires_at=YESTERDAY, successor="new-one"),
                CuratedModel("new-one", "New"),
            ),
        ),
    )
    snap = curated_snapshot()
    assert snap.status("text", "openai", "old-default") == RETIRED
    chosen = resolve_in(snap, Category.TEXT, "openai", None, explicit=False)
    assert (chosen.model_id, chosen.rule) == ("new-one", ResolutionRule.PROVIDER_DEFAULT)
    # A catalog that does not hold the curated default: its curated date still counts.
    held_elsewhere = Snapshot(1, {("text", "openai", "new-one"): ("enabled", None)}, {})
    assert ("text", "openai", "old-default") in held_elsewhere.retired
    with pytest.raises(Exception, match="past its retirement date"):
        resolve_in(held_elsewhere, Category.TEXT, "openai", None, explicit=False)


# --- the setting, and when the snapshot decides ----------------------------------------------


def test_retire_by_date_false_turns_the_date_rule_off(database: Database) -> None:
    _date("openai", "gpt-4o", YESTERDAY)
    assert resolve("text", "openai", "gpt-4o").reason is FallbackReason.RETIRED
    set_retire_by_date(False)
    assert resolve("text", "openai", "gpt-4o").fallback is False
    assert retired_report().rule_on is False
    set_retire_by_date(True)
    assert resolve("text", "openai", "gpt-4o").reason is FallbackReason.RETIRED
    changes = [(e.field, e.old_value, e.new_value) for e in list_audit_entries(action="setting")]
    assert ("registry.retire_by_date", None, "false") in changes
    assert ("registry.retire_by_date", "false", "true") in changes


def test_a_snapshot_decides_retirement_when_built_not_per_lookup() -> None:
    due = datetime(2026, 12, 1, tzinfo=UTC)
    # A catalog holding its curated defaults undated, so only gpt-4o's date is ahead.
    models: dict[ModelKey, ModelEntry] = {
        (c.value, p, curated.default): ("enabled", None) for (c, p), curated in CURATED.items()
    }
    models[("text", "openai", "gpt-4o")] = ("enabled", None)
    dated: ModelDates = {("text", "openai", "gpt-4o"): (due, None)}
    before = Snapshot(1, models, {}, dated=dated, now=due - timedelta(microseconds=1))
    assert before.status("text", "openai", "gpt-4o") == "enabled"
    assert before.next_retirement == due
    at_due = before.at(due)  # "passed" is now >= retires_at: the instant itself counts
    assert at_due.status("text", "openai", "gpt-4o") == RETIRED
    assert at_due.next_retirement is None
    assert before.status("text", "openai", "gpt-4o") == "enabled"  # never mutated
    off = Snapshot(1, models, {"registry.retire_by_date": "false"}, dated=dated, now=due)
    assert off.status("text", "openai", "gpt-4o") == "enabled"
    # A curated date is a day: it takes effect at 00:00 UTC; a malformed one is ignored.
    assert date_instant("2026-12-01") == due
    assert date_instant("2026-13-01") is None and date_instant(None) is None


def test_the_snapshot_flips_at_the_retirement_instant_without_a_database_change(
    database: Database,
) -> None:
    due = utcnow() + timedelta(seconds=1.2)
    _date("openai", "gpt-4o", due.isoformat())
    assert resolve("text", "openai", "gpt-4o").fallback is False
    stamp = _stamp(database)
    deadline = time.monotonic() + 4
    while resolve("text", "openai", "gpt-4o").reason is not FallbackReason.RETIRED:
        assert time.monotonic() < deadline, "the snapshot did not flip at the retirement instant"
        time.sleep(0.05)
    assert utcnow() >= due
    assert _stamp(database) == stamp  # nothing was written: the keeper decided again


def test_cli_resolve_reports_reason_retired(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _date("openai", "gpt-4o", YESTERDAY)
    args = ["resolve", "--category", "text", "--provider", "openai", "--model", "gpt-4o"]
    assert cli_main([*args, "--json"]) == 0
    assert '"reason": "retired"' in capsys.readouterr().out


# --- the Overview -------------------------------------------------------------------------------


@pytest.mark.usefixtures("loopback")
def test_the_overview_says_loudly_that_a_default_retired_and_offers_a_new_one(
    database: Database,
) -> None:
    flash = get_model_by_provider_id("google", "gemini-3.5-flash-lite", "text")
    edit_model(
        flash.id, metadata={"retires_at": "2026-12-01", "replacement_model_id": "gemini-3.8-flash"}
    )
    at = open_app()
    assert_clean(at)
    assert messages(at, "error") == [
        "google's default gemini-3.5-flash-lite retired on 2026-12-01; the application now gets "
        "google/gemini-3.8-flash; choose a new default"
    ]
    key = row_key("text", "google", "gemini-3.5-flash-lite")
    choice = at.selectbox(key=f"retired-choice-{key}")
    assert "gemini-3.5-flash-lite" not in choice.options
    assert choice.value == "gemini-3.8-flash"  # what the application gets now, preselected
    choice.set_value("gemini-2.5-flash-lite")
    click(at, f"retired-default-{key}")
    assert_clean(at)
    assert messages(at, "success") == [
        "Saved: google/gemini-2.5-flash-lite is the text default now."
    ]
    assert resolve("text", "google", None).model_id == "gemini-2.5-flash-lite"
    assert messages(at, "error") == []
    assert "google/gemini-3.5-flash-lite retired on 2026-12-01" in " ".join(messages(at, "warning"))


@pytest.mark.usefixtures("loopback")
def test_the_overview_links_a_dataset_date_to_its_source(database: Database) -> None:
    model = get_model_by_provider_id("openai", "gpt-5", "text")
    soon = (utcnow() + timedelta(days=5)).replace(hour=0, minute=0, second=0, microsecond=0)
    with database.write() as session:
        session.execute(
            update(AIModel)
            .where(AIModel.id == model.id)
            .values(
                retires_at=soon,
                metadata_sources={
                    "retires_at": "dataset litellm 1.110.2 2026-11-20",
                    "retires_at_url": "https://example.com/deprecations_(gpt-5)",
                },
            )
        )
    at = open_app()
    assert_clean(at)
    captions = [str(c.value) for c in at.caption]
    assert any(
        "[dataset litellm 1\\.110\\.2 2026\\-11\\-20](https://example.com/deprecations_%28gpt-5%29)"
        in c
        for c in captions
    ), captions
    assert at.get("download_button")[0].proto.label == "Download the retirement calendar (.ics)"


def test_a_dates_source_is_read_defensively_and_only_http_links() -> None:
    dataset = "dataset litellm 1.110.2 2026-11-20"
    url = "https://example.com/deprecations"
    assert date_source({"retires_at": dataset, "retires_at_url": url}) == DateSource(dataset, url)
    assert date_source({"retires_at": f"{dataset} {url}"}) == DateSource(dataset, url)
    assert date_source({"retires_at": "listing"}).describe() == "the provider's listing"
    assert date_source({"retires_at": "admin"}).describe() == "an admin"
    assert date_source({"retires_at_url": "javascript:alert(1)"}) == DateSource(None, None)
    assert date_source(None).describe() == "unknown"


def test_the_models_grid_shows_where_a_date_came_from(undated_catalog: Database) -> None:
    gpt5 = get_model_by_provider_id("openai", "gpt-5", "text")
    with undated_catalog.write() as session:
        session.execute(
            update(AIModel)
            .where(AIModel.id == gpt5.id)
            .values(
                retires_at=utcnow() + timedelta(days=5),
                metadata_sources={
                    "retires_at": "dataset litellm 1.110.2 2026-11-20",
                    "retires_at_url": "https://example.com/deprecations",
                },
            )
        )
    models = [get_model_by_provider_id("openai", m, "text") for m in ("gpt-5", "gpt-4o")]
    rows = model_table(models, ModelStatus.ENABLED).to_dict("records")
    assert (rows[0]["retires_source"], rows[0]["retires_link"]) == (
        "dataset litellm 1.110.2 2026-11-20",
        "https://example.com/deprecations",
    )
    assert (rows[1]["retires_source"], rows[1]["retires_link"]) == ("", "")
