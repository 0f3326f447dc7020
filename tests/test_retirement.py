"""Retirement and successors: "retires in N days", suggested successors per provider (curated
catalog and the recorded listings), accepting one, and resolution following it — on both
backends — plus successors for disabled models and for ids the catalog does not hold."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from registry.audit import SYSTEM, list_audit_entries
from registry.cli import main
from registry.db import Database
from registry.demo import StandInProviders, demo_bodies
from registry.discovery import discover_models
from registry.errors import InvalidInputError, ModelNotFoundError
from registry.resolution import (
    FallbackReason,
    ResolutionRule,
    get_ai_config_for_story,
    resolve,
)
from registry.retirement import (
    RequestedModel,
    accept_successor,
    days_until_retirement,
    is_retiring_soon,
    model_family,
    name_successor,
    retirement_label,
    retiring_before,
    retiring_models,
    suggest_successor,
    version_and_date,
)
from registry.schema import utcnow
from registry.store import (
    ModelFilter,
    bulk_update_models,
    edit_model,
    get_model_by_provider_id,
    list_model_ids,
    list_models,
    set_successor,
    update_model_status,
    upsert_discovered_models,
)
from registry.types import CatalogModel, Category, DiscoveredModel, ModelSource, ModelStatus
from registry.usage import FallbackUsage, summarize_fallbacks
from tests.conftest import SHARED_FIXTURES

TODAY = date(2026, 12, 1)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def _model(model_id: str, **changes: object) -> CatalogModel:
    base = CatalogModel(
        id=uuid.uuid4(),
        provider="openai",
        category=Category.TEXT,
        model_id=model_id,
        display_name=model_id,
        description=None,
        context_window=None,
        supports_streaming=True,
        status=ModelStatus.ENABLED,
        source=ModelSource.API,
        discovered_at=None,
        enabled_at=None,
        deprecated_at=None,
        deprecated_by_admin=False,
        archived_at=None,
        last_seen_at=None,
        retires_at=None,
        successor_model_id=None,
        provider_metadata=None,
        admin_notes=None,
        created_at=_at(TODAY),
        updated_at=_at(TODAY),
        updated_by=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _retire_in(provider: str, model_id: str, days: int, replacement: str | None = None) -> None:
    model = get_model_by_provider_id(provider, model_id, "text")
    metadata: dict[str, object] = {"retires_at": (utcnow() + timedelta(days=days)).isoformat()}
    if replacement is not None:
        metadata["replacement_model_id"] = replacement
    edit_model(model.id, metadata=metadata)


# --- the policy (pure) -----------------------------------------------------------------------


def test_days_and_labels_count_whole_utc_days() -> None:
    in_12 = _model("m", retires_at=_at(TODAY + timedelta(days=12)))
    assert days_until_retirement(in_12, TODAY) == 12
    assert retirement_label(in_12, TODAY) == "retires in 12 days"
    assert retirement_label(_model("m", retires_at=_at(TODAY)), TODAY) == "retires today"
    assert retirement_label(_model("m", retires_at=_at(TODAY + timedelta(1))), TODAY) == (
        "retires in 1 day"
    )
    past = _model("m", retires_at=_at(TODAY - timedelta(days=3)))
    assert retirement_label(past, TODAY) == "retired 3 days ago"
    assert days_until_retirement(_model("m"), TODAY) is None
    assert retirement_label(_model("m"), TODAY) is None


def test_retiring_soon_is_thirty_days_ahead_or_past_and_not_deprecated_yet() -> None:
    def soon(days: int, status: ModelStatus = ModelStatus.ENABLED) -> bool:
        model = _model("m", retires_at=_at(TODAY + timedelta(days=days)), status=status)
        return is_retiring_soon(model, TODAY)

    assert soon(30) and soon(0) and soon(-40)
    assert not soon(31)
    assert soon(5, ModelStatus.DISABLED) and soon(5, ModelStatus.PENDING)
    assert not soon(5, ModelStatus.DEPRECATED)
    assert not is_retiring_soon(_model("m"), TODAY)


def test_the_sql_bound_of_the_webhook_matches_the_thirty_day_rule() -> None:
    bound = retiring_before(TODAY)
    last_in = _model("m", retires_at=bound - timedelta(microseconds=1))
    first_out = _model("m", retires_at=bound)
    assert is_retiring_soon(last_in, TODAY) and not is_retiring_soon(first_out, TODAY)


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        ("claude-3-5-sonnet-20241022", "claude-sonnet"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet"),
        ("gpt-4o-mini-2024-07-18", "gpt-mini"),
        ("gpt-5.4-mini", "gpt-mini"),
        ("gemini-2.5-flash-preview-05-20", "gemini-flash"),
        ("gemini-1.5-pro-002", "gemini-pro"),
        ("mistral-large-2411", "mistral-large"),
        ("mistral-large-latest", "mistral-large"),
        ("ministral-8b-2512", "ministral"),
        ("z-ai/glm-4.5", "z-ai-glm"),
        ("nvidia/nemotron-nano-12b-v2-vl:free", "nvidia-nemotron-nano-vl"),
        ("claude-3-haiku@20240307", "claude-haiku"),
        ("o3", None),
        ("21m00Tcm4TlvDq8ikWAM", None),
    ],
)
def test_a_family_drops_versions_dates_sizes_and_release_tags(
    model_id: str, family: str | None
) -> None:
    assert model_family(model_id) == family


@pytest.mark.parametrize(
    ("model_id", "key"),
    [
        ("gpt-5.4-mini", ((5, 4), ())),
        ("gpt-5-mini-2025-08-07", ((5,), (20250807,))),
        ("claude-sonnet-4-5-20250929", ((4, 5), (20250929,))),
        ("mistral-large-2411", ((), (2411,))),
        ("gemini-2.5-flash-preview-05-20", ((2, 5), (520,))),
        ("ministral-14b-2512", ((14,), (2512,))),
    ],
)
def test_newest_compares_versions_before_date_codes(
    model_id: str, key: tuple[tuple[int, ...], tuple[int, ...]]
) -> None:
    assert version_and_date(model_id) == key


def test_the_providers_replacement_wins_when_it_is_enabled() -> None:
    catalog = [_model("gpt-4.1"), _model("gpt-5"), _model("gpt-legacy-next")]
    old = _model("gpt-legacy", replacement_model_id="gpt-legacy-next")
    assert suggest_successor(old, catalog, TODAY) == "gpt-legacy-next"
    pending = [_model("gpt-legacy-next", status=ModelStatus.PENDING), _model("gpt-legacy-2")]
    assert suggest_successor(old, pending, TODAY) == "gpt-legacy-2"  # else: the family


def test_the_newest_of_the_family_is_suggested_never_the_model_itself() -> None:
    catalog = [
        _model("gpt-4o-mini"),
        _model("gpt-4.1-mini"),
        _model("gpt-5-mini"),
        _model("gpt-5"),
        _model("gpt-6-mini", status=ModelStatus.DISABLED),
        _model("gpt-7-mini", provider="openrouter"),
        _model("gpt-8-mini", category=Category.TTS),
    ]
    assert suggest_successor(catalog[0], catalog, TODAY) == "gpt-5-mini"
    assert suggest_successor(catalog[2], catalog, TODAY) == "gpt-4.1-mini"
    assert suggest_successor(_model("o3"), catalog, TODAY) is None  # no family
    assert suggest_successor(_model("gpt-nano"), catalog, TODAY) is None  # no relative


def test_a_candidate_retiring_itself_comes_after_one_that_stays() -> None:
    leaving = _model("gpt-9-mini", retires_at=_at(TODAY + timedelta(days=3)))
    catalog = [leaving, _model("gpt-5-mini")]
    assert suggest_successor(_model("gpt-4o-mini"), catalog, TODAY) == "gpt-5-mini"
    assert suggest_successor(_model("gpt-4o-mini"), [leaving], TODAY) == "gpt-9-mini"


def test_an_unknown_requested_id_gets_a_suggestion_from_its_family() -> None:
    catalog = [_model("gpt-4.1-mini"), _model("gpt-5-mini")]
    ghost = RequestedModel("openai", Category.TEXT, "gpt-5.9-mini-preview")
    assert suggest_successor(ghost, catalog, TODAY) == "gpt-5-mini"


# --- per provider, over the curated catalog --------------------------------------------------

CURATED_SUGGESTIONS = [
    # The lifecycle data's successor, enabled in the catalog, beats the family's newest.
    ("text", "openai", "gpt-4o-mini", "gpt-6-luna"),
    ("text", "openai", "gpt-4.1", "gpt-6-luna"),
    ("text", "google", "gemini-3-flash-preview", "gemini-3.8-flash"),
    ("text", "google", "gemini-2.5-flash-lite", "gemini-3.5-flash-lite"),
    ("text", "anthropic", "claude-sonnet-4-6", "claude-sonnet-5-5"),
    ("text", "anthropic", "claude-haiku-4-5-20251001", None),
    ("text", "mistral", "ministral-8b-latest", None),
    ("text", "xai", "grok-3", "grok-4-0709"),
    ("text", "openrouter", "openai/gpt-4o-mini", "openai/gpt-5-mini"),
    ("tts", "openai", "tts-1", None),
    ("tts", "google", "gemini-3.8-flash-tts", None),
    ("tts", "elevenlabs", "21m00Tcm4TlvDq8ikWAM", None),
    ("tts", "azure", "en-US-JennyNeural", None),
]


@pytest.mark.parametrize(("category", "provider", "model_id", "expected"), CURATED_SUGGESTIONS)
def test_successor_suggestions_per_provider_over_the_curated_catalog(
    database: Database, category: str, provider: str, model_id: str, expected: str | None
) -> None:
    catalog = list_models(ModelFilter(status=ModelStatus.ENABLED))
    model = get_model_by_provider_id(provider, model_id, category)
    assert suggest_successor(model, catalog) == expected


# --- per provider, over the recorded listings ------------------------------------------------

RECORDED = {
    "openai": "openai_models_data_2026-04.json",
    "google": "gemini_models.json",
    "anthropic": "anthropic_models.json",
    "mistral": "mistral_models.json",
    "xai": "xai_models.json",
    "openrouter": "openrouter_models.json",
}


@pytest.fixture
def recorded_catalog(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[CatalogModel]]:
    """Every recorded text listing discovered through the stand-ins, all of it enabled."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures/providers is not present")
    bodies = {
        name: json.loads((SHARED_FIXTURES / file).read_text(encoding="utf-8-sig"))
        for name, file in RECORDED.items()
    }
    if isinstance(bodies["openai"], list):  # the committer kept only the `data` array
        bodies["openai"] = {"object": "list", "data": bodies["openai"]}
    # The recording's one deprecation (mistral-ocr-2503 → mistral-ocr-latest) is of an OCR
    # model, which the text catalog skips: give a text model the same two fields.
    ocr = next(e for e in bodies["mistral"]["data"] if e["id"] == "mistral-ocr-2503")
    medium = next(e for e in bodies["mistral"]["data"] if e["id"] == "mistral-medium-2505")
    medium["deprecation"] = ocr["deprecation"]
    medium["deprecation_replacement_model"] = "mistral-medium-latest"
    with StandInProviders(bodies) as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        report = discover_models("text", list(RECORDED))
        assert report.total_errors == 0, report.to_json()
    bulk_update_models(list_model_ids(ModelFilter(status=ModelStatus.PENDING)), "enabled")
    yield list_models(ModelFilter(category="text", status=ModelStatus.ENABLED))


RECORDED_SUGGESTIONS = [
    ("openai", "gpt-4o-mini", "gpt-6-luna"),  # the lifecycle data's successor
    ("google", "gemini-2.0-flash", "gemini-3.8-flash"),
    ("anthropic", "claude-sonnet-4-20250514", "claude-sonnet-5-5"),
    ("mistral", "mistral-large-2411", "mistral-large-2512"),
    ("mistral", "ministral-3b-2512", "ministral-14b-2512"),
    # The listing's replacement beats the family's newest (mistral-medium-2508): see below.
    ("mistral", "mistral-medium-2505", "mistral-medium-latest"),
    ("xai", "grok-3-mini", None),
    ("xai", "grok-4-fast-reasoning", "grok-4-1-fast-reasoning"),
    ("openrouter", "z-ai/glm-4.5", "z-ai/glm-5.2"),
]


def test_successor_suggestions_per_provider_over_the_recorded_listings(
    database: Database, recorded_catalog: list[CatalogModel]
) -> None:
    held = {(m.provider, m.model_id): m for m in recorded_catalog}
    found = {
        (provider, model_id): suggest_successor(held[(provider, model_id)], recorded_catalog)
        for provider, model_id, _ in RECORDED_SUGGESTIONS
        if (provider, model_id) in held
    }
    assert found == {
        (provider, model_id): expected
        for provider, model_id, expected in RECORDED_SUGGESTIONS
        if (provider, model_id) in held
    }
    assert len(found) == len(RECORDED_SUGGESTIONS), "a recorded model was not ingested"
    # OpenRouter's expiration dates are retirement dates: past or near ones are retiring soon.
    expiring = {
        m.model_id: retirement_label(m, date(2026, 12, 15))
        for m in recorded_catalog
        if m.provider == "openrouter" and is_retiring_soon(m, date(2026, 12, 15))
    }
    assert expiring == {
        "z-ai/glm-4.5": "retires in 16 days",
        "nvidia/nemotron-nano-12b-v2-vl:free": "retired 113 days ago",
    }


# --- accepting a successor, and resolution ---------------------------------------------------


def test_a_model_retiring_soon_is_listed_with_its_suggested_successor(database: Database) -> None:
    _retire_in("openai", "gpt-4o-mini", 12)
    _retire_in("openai", "gpt-4.1", 90)  # too far ahead
    found = [r for r in retiring_models() if r.model.model_id in {"gpt-4o-mini", "gpt-4.1"}]
    assert [(r.model.display_id, r.days, r.label, r.suggested_successor) for r in found] == [
        ("openai/gpt-4o-mini", 12, "retires in 12 days", "gpt-6-luna")
    ]


def test_accepting_sets_the_suggested_successor_once_and_audits_it(database: Database) -> None:
    _retire_in("openai", "gpt-4o", 7, replacement="gpt-5")
    model = accept_successor(get_model_by_provider_id("openai", "gpt-4o", "text").id)
    assert model.successor_model_id == "gpt-5"
    entry = list_audit_entries(action="successor", limit=1)[0]
    assert (entry.model_id, entry.new_value, entry.actor) == ("gpt-4o", "gpt-5", SYSTEM.label)


def test_accepting_without_a_suggestion_says_why_and_changes_nothing(database: Database) -> None:
    voice = get_model_by_provider_id("elevenlabs", "21m00Tcm4TlvDq8ikWAM", "tts")
    with pytest.raises(InvalidInputError, match="no suggested successor"):
        accept_successor(voice.id)
    assert get_model_by_provider_id("elevenlabs", voice.model_id, "tts").successor_model_id is None
    assert list_audit_entries(action="successor") == []


def test_an_accepted_successor_is_used_once_the_model_is_deprecated(database: Database) -> None:
    _retire_in("openai", "gpt-4o-mini", 5)
    model = accept_successor(get_model_by_provider_id("openai", "gpt-4o-mini", "text").id)
    assert model.successor_model_id == "gpt-6-luna"
    still = resolve("text", "openai", "gpt-4o-mini")
    assert (still.model_id, still.fallback) == ("gpt-4o-mini", False)  # not retired yet
    update_model_status(model.id, "deprecated")
    answer = get_ai_config_for_story("openai", "gpt-4o-mini")
    assert (answer.model_id, answer.rule, answer.reason) == (
        "gpt-6-luna",
        ResolutionRule.SUCCESSOR,
        FallbackReason.DEPRECATED,
    )


def test_a_disabled_model_with_a_successor_resolves_to_it(database: Database) -> None:
    model = get_model_by_provider_id("openai", "gpt-4o", "text")
    update_model_status(model.id, "disabled")
    assert resolve("text", "openai", "gpt-4o").rule is ResolutionRule.PROVIDER_DEFAULT
    set_successor(model.id, "gpt-4.1")
    answer = resolve("text", "openai", "gpt-4o")
    assert (answer.model_id, answer.rule, answer.reason) == (
        "gpt-4.1",
        ResolutionRule.SUCCESSOR,
        FallbackReason.DISABLED,
    )


def test_an_unknown_id_given_a_successor_resolves_to_it_and_stays_retired(
    database: Database,
) -> None:
    before = resolve("text", "openai", "gpt-ghost")
    assert (before.reason, before.rule) == (
        FallbackReason.NOT_FOUND,
        ResolutionRule.PROVIDER_DEFAULT,
    )
    held = name_successor("text", "openai", "gpt-ghost", "gpt-4.1")
    assert (held.status, held.deprecated_by_admin, held.successor_model_id) == (
        ModelStatus.DEPRECATED,
        True,
        "gpt-4.1",
    )
    answer = resolve("text", "openai", "gpt-ghost")
    assert (answer.model_id, answer.rule) == ("gpt-4.1", ResolutionRule.SUCCESSOR)
    assert sorted(e.action for e in list_audit_entries(model="gpt-ghost")) == [
        "status_change",
        "successor",
    ]
    # The provider listing the id later does not make it pending: an admin retired it.
    upsert_discovered_models("openai", "text", [DiscoveredModel("gpt-ghost", "Ghost")])
    assert get_model_by_provider_id("openai", "gpt-ghost", "text").status is (
        ModelStatus.DEPRECATED
    )
    # Naming another successor changes the same row.
    assert name_successor("text", "openai", "gpt-ghost", "gpt-5").successor_model_id == "gpt-5"
    assert resolve("text", "openai", "gpt-ghost").model_id == "gpt-5"


def test_naming_a_successor_for_bad_input_creates_nothing(database: Database) -> None:
    with pytest.raises(ModelNotFoundError):
        name_successor("text", "openai", "gpt-ghost", "no-such-model")
    with pytest.raises(InvalidInputError, match="cannot be stored"):
        name_successor("text", "openai", "bad\x1b[2Jid", "gpt-4.1")
    with pytest.raises(InvalidInputError):
        name_successor("text", "nosuchprovider", "x", "gpt-4.1")
    with pytest.raises(ModelNotFoundError):
        get_model_by_provider_id("openai", "gpt-ghost", "text")
    assert list_audit_entries(action="successor") == []


# --- the command line ------------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_models_list_shows_retirement_and_the_suggested_successor(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _retire_in("openai", "gpt-4o-mini", 12)
    code, out, _ = _cli(capsys, "models", "list", "--provider", "openai", "--category", "text")
    line = next(row for row in out.splitlines() if "openai/gpt-4o-mini " in row)
    assert code == 0
    assert line.endswith(
        "[retires in 12 days; suggested successor gpt-6-luna "
        "(accept: models accept-successor openai/gpt-4o-mini)]"
    )
    assert "[" not in next(row for row in out.splitlines() if "openai/gpt-5.4 " in row)

    code, out, _ = _cli(capsys, "models", "list", "--provider", "openai", "--json")
    rows = {(r["category"], r["model_id"]): r for r in json.loads(out)}
    assert rows[("text", "gpt-4o-mini")]["retires_in_days"] == 12
    assert rows[("text", "gpt-4o-mini")]["suggested_successor"] == "gpt-6-luna"
    assert rows[("text", "gpt-5.4")]["retires_in_days"] is None
    assert rows[("text", "gpt-5.4")]["suggested_successor"] is None  # not needed
    assert {"id", "status", "is_default", "retires_at", "successor_model_id"} <= set(
        rows[("text", "gpt-5.4")]
    )


def test_accept_successor_on_the_command_line(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _retire_in("openai", "gpt-4o-mini", 12)
    code, out, err = _cli(capsys, "models", "accept-successor", "openai/gpt-4o-mini")
    assert (code, out.strip()) == (
        0,
        "openai/gpt-4o-mini: successor gpt-6-luna (used once the model is deprecated or disabled)",
    ), err
    assert get_model_by_provider_id("openai", "gpt-4o-mini", "text").successor_model_id == (
        "gpt-6-luna"
    )
    code, out, _ = _cli(capsys, "models", "list", "--provider", "openai", "--category", "text")
    assert "[retires in 12 days; successor gpt-6-luna]" in out
    code, out, err = _cli(capsys, "models", "accept-successor", "elevenlabs/21m00Tcm4TlvDq8ikWAM")
    assert code == 1 and out == ""
    assert err.startswith("error: there is no suggested successor for elevenlabs/")


# --- the fallback report ---------------------------------------------------------------------


def _usage(day: date, model: str, reason: str, count: int, resolved: str) -> FallbackUsage:
    return FallbackUsage(
        day, Category.TEXT, "openai", model, reason, "openai", resolved, count, _at(day)
    )


def test_fallbacks_are_summed_per_requested_model_for_today_and_seven_days() -> None:
    usages = [
        _usage(TODAY, "gpt-ghost", "not_found", 800, "gpt-5.4-mini"),
        _usage(TODAY - timedelta(days=1), "gpt-ghost", "not_found", 88, "gpt-5.4-mini"),
        _usage(TODAY - timedelta(days=7), "gpt-ghost", "not_found", 5000, "gpt-5.4-mini"),
        _usage(TODAY - timedelta(days=2), "gpt-4o", "deprecated", 900, "gpt-5.4-mini"),
        _usage(TODAY - timedelta(days=1), "gpt-4o", "deprecated", 3, "gpt-4.1"),
    ]
    summary = summarize_fallbacks(usages, TODAY)
    assert [
        (s.requested_display, s.count_today, s.count_7d, s.resolved_model, s.reason)
        for s in summary
    ] == [
        ("openai/gpt-4o", 0, 903, "gpt-4.1", "deprecated"),  # the latest answer
        ("openai/gpt-ghost", 800, 888, "gpt-5.4-mini", "not_found"),
    ]


def test_the_demo_listing_has_one_model_retiring_in_three_weeks_with_its_replacement(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make demo` shows "retires in 21 days" and a suggested successor on any date."""
    with StandInProviders(demo_bodies(datetime.now(UTC))) as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        assert discover_models("text", ["mistral"]).total_errors == 0
    bulk_update_models(list_model_ids(ModelFilter(status=ModelStatus.PENDING)), "enabled")
    [retiring] = [r for r in retiring_models() if r.model.provider == "mistral"]
    assert retiring.model.display_id == "mistral/ministral-8b-latest"
    assert (retiring.label, retiring.suggested_successor) == (
        "retires in 21 days",
        "mistral-small-latest",
    )
    accept_successor(retiring.model.id)
    assert get_model_by_provider_id("mistral", "ministral-8b-latest").successor_model_id == (
        "mistral-small-latest"
    )
