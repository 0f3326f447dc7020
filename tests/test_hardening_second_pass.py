"""The catalog's own limits, tried as an attacker and as a careless operator would (issue 18):
successor chains, refresh claims across skewed clocks and PID namespaces, enrichment of huge
listings, look-alike ids, the pending cap, secrets given as bytes or changed under stored keys,
the metadata downgrade and preview addresses that hide an inside IPv4 address."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update

from registry import migrate, schema
from registry.cli import main
from registry.client import Registry
from registry.db import Database
from registry.demo import StandInProviders
from registry.discovery import discover_models, get_discovery_state
from registry.discovery_claims import take_claim
from registry.errors import (
    ConfigurationError,
    DatabaseError,
    LifecycleError,
    ModelNotFoundError,
    SecretKeyError,
)
from registry.keys import SECRET_ENV, delete_api_key, get_api_key, set_api_key
from registry.prices import DATASET_PROVIDERS, dataset, fill_missing_metadata
from registry.refresh_plan import MAX_PENDING, plan_refresh
from registry.resolution import flush_fallback_counts, get_ai_config_for_story
from registry.retirement import name_successor
from registry.schema import DiscoveryState, ProviderKey
from registry.store import (
    ModelFilter,
    archive_model,
    count_models,
    edit_model,
    get_model_by_provider_id,
    list_models,
    set_successor,
    unstorable_id_reason,
    update_model_status,
    upsert_discovered_models,
)
from registry.trial import preview_refusal
from registry.types import Category, DiscoveredModel, ModelStatus
from tests.dashboard_support import assert_clean, everything, open_app
from tests.test_discovery_hardening import _with_entries

# --- secrets -------------------------------------------------------------------------------


def test_a_secret_key_given_as_bytes_decrypts_the_stored_keys(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = Fernet.generate_key()  # bytes, as the error texts suggest
    monkeypatch.setenv(SECRET_ENV, secret.decode())
    set_api_key("openai", "sk-stored-with-bytes-0001")
    monkeypatch.delenv(SECRET_ENV)
    with Registry(database=database, secret_key=secret) as registry:
        assert registry.get_api_key("openai") == "sk-stored-with-bytes-0001"
    with Registry(database=database, secret_key=secret.decode()) as registry:
        assert registry.get_api_key("openai") == "sk-stored-with-bytes-0001"


@pytest.mark.parametrize("secret_key", [42, ["key"], bytearray(b"key")])
def test_a_secret_key_of_another_type_is_a_configuration_error(secret_key: object) -> None:
    with pytest.raises(ConfigurationError, match="secret_key must be a Fernet key as str or bytes"):
        Registry(secret_key=secret_key)  # type: ignore[arg-type]


def test_storing_a_key_under_another_secret_is_refused_with_the_way_out(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(SECRET_ENV, Fernet.generate_key().decode())
    set_api_key("openai", "sk-first-secret-0001")
    monkeypatch.setenv(SECRET_ENV, Fernet.generate_key().decode())
    with pytest.raises(SecretKeyError) as refused:
        set_api_key("mistral", "mistral-second-secret-0002")
    message = str(refused.value)
    assert "openai" in message and "nothing was stored" in message
    assert f"set {SECRET_ENV} to the key" in message and "keys delete" in message
    assert "0001" not in message and "0002" not in message
    with database.read() as session:
        assert list(session.scalars(select(ProviderKey.provider))) == ["openai"]
    # The CLI says the same in one line and stores nothing either.
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database.url)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"mistral-cli-key-0003\n")))
    assert main(["keys", "set", "mistral"]) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "encrypted with another secret" in err
    # The way out: replacing the one key that does not match, or deleting it first, works.
    set_api_key("openai", "sk-second-secret-0004")
    set_api_key("mistral", "mistral-second-secret-0002")
    assert get_api_key("mistral") == "mistral-second-secret-0002"
    assert delete_api_key("openai")


# --- migrations ------------------------------------------------------------------------------


def test_downgrading_below_the_metadata_migration_refuses_while_an_admin_set_prices(
    database: Database,
) -> None:
    model = get_model_by_provider_id("openai", "gpt-4o", "text")
    edit_model(model.id, metadata={"input_price_per_mtok": "2.5"})
    with pytest.raises(DatabaseError, match="refusing to drop the normalized metadata") as error:
        migrate.downgrade(database, "0003")
    assert len(str(error.value).splitlines()) == 1
    assert migrate.is_up_to_date(database)
    assert get_model_by_provider_id("openai", "gpt-4o", "text").input_price_per_mtok == 2.5


# --- preview addresses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::a00:1",  # local-use NAT64
        "::127.0.0.1",  # IPv4-compatible
        "::a00:1",  # IPv4-compatible 10.0.0.1
        "::ffff:192.168.0.1",  # IPv4-mapped
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    ],
)
def test_preview_addresses_that_carry_an_inside_ipv4_address_are_refused(address: str) -> None:
    refusal = preview_refusal("elevenlabs", f"https://[{address}]/x.mp3")
    assert refusal is not None and "not a public address" in refusal


def test_a_nat64_address_of_a_public_ipv4_address_passes_the_check() -> None:
    assert preview_refusal("elevenlabs", "https://[64:ff9b::808:808]/x.mp3") is None


# --- successors ------------------------------------------------------------------------------


def _model_id(model_id: str) -> str:
    return str(get_model_by_provider_id("openai", model_id, "text").id)


def test_a_loop_of_successors_is_refused_and_nothing_changes(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_successor(_model_id("gpt-4o"), "gpt-4.1")
    set_successor(_model_id("gpt-4.1"), "gpt-5")
    with pytest.raises(LifecycleError, match="loop of successors") as refused:
        set_successor(_model_id("gpt-5"), "gpt-4o")
    assert "openai/gpt-5 → openai/gpt-4o → openai/gpt-4.1 → openai/gpt-5" in str(refused.value)
    assert get_model_by_provider_id("openai", "gpt-5", "text").successor_model_id is None
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database.url)
    assert main(["models", "set-successor", "openai/gpt-4.1", "gpt-4o"]) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "loop of successors" in err
    assert get_model_by_provider_id("openai", "gpt-4.1", "text").successor_model_id == "gpt-5"


def test_a_pending_or_archived_successor_is_refused_with_what_to_do(database: Database) -> None:
    upsert_discovered_models("openai", "text", [DiscoveredModel("o3", "o3")])
    with pytest.raises(LifecycleError, match=r"o3 is pending .* enable it first"):
        set_successor(_model_id("gpt-4o"), "o3")
    update_model_status(_model_id("gpt-4.1"), "deprecated")
    archive_model(_model_id("gpt-4.1"))
    with pytest.raises(LifecycleError, match=r"gpt-4\.1 is archived and can never serve"):
        set_successor(_model_id("gpt-4o"), "gpt-4.1")
    # Naming a successor for an id the catalog lacks follows the same rules, adding no row.
    with pytest.raises(LifecycleError, match="pending"):
        name_successor("text", "openai", "gpt-9-preview", "o3")
    with pytest.raises(ModelNotFoundError):
        get_model_by_provider_id("openai", "gpt-9-preview", "text")
    assert get_model_by_provider_id("openai", "gpt-4o", "text").successor_model_id is None


def test_a_disabled_successor_is_allowed_with_a_warning_and_the_overview_says_it_cannot_serve(
    database: Database,
    loopback: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    update_model_status(_model_id("gpt-4o"), "disabled")
    update_model_status(_model_id("gpt-4.1"), "disabled")  # the admin may enable it again
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database.url)
    assert main(["models", "set-successor", "openai/gpt-4o", "gpt-4.1"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "openai/gpt-4o: successor gpt-4.1"
    assert err.strip() == "warning: gpt-4.1 is disabled: it cannot serve until enabled"
    for _ in range(3):
        get_ai_config_for_story("openai", "gpt-4o")
    flush_fallback_counts()
    at = open_app()
    assert_clean(at)
    assert "successor openai/gpt-4.1 (not enabled: cannot serve)" in everything(at)


# --- refresh claims --------------------------------------------------------------------------


def _host_clock_off_by(seconds: float) -> type[datetime]:
    """The standard clock of a host whose time is `seconds` off (the database's is not)."""

    class Skewed(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
            return datetime.now(tz) + timedelta(seconds=seconds)

    return Skewed


@pytest.mark.parametrize(
    ("holder_off", "taker_off"),
    [(0, 20), (-20, 0)],
    ids=["taker-20s-ahead", "holder-20s-behind"],
)
def test_a_host_whose_clock_is_20_s_off_does_not_take_over_a_live_claim(
    database: Database, monkeypatch: pytest.MonkeyPatch, holder_off: float, taker_off: float
) -> None:
    monkeypatch.setattr(schema, "datetime", _host_clock_off_by(holder_off))
    held = take_claim(database, "xai", Category.TEXT, force=True, timeout=5)
    assert held.token is not None  # a live refresh, its heartbeat just written
    monkeypatch.setattr(schema, "datetime", _host_clock_off_by(taker_off))
    taken = take_claim(database, "xai", Category.TEXT, force=True, timeout=5)
    assert taken.token is None and taken.took_over is None
    assert taken.refused_because is not None and "still running" in taken.refused_because
    [state] = [s for s in get_discovery_state("text") if s.provider == "xai"]
    assert state.in_progress


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: no process of this PID namespace has that pid now
    return child.pid


@pytest.mark.parametrize(
    "owner",
    [
        f"{socket.gethostname()}#0123456789abcdef",  # same host name, another container
        socket.gethostname(),  # same host name, no boot/namespace identity recorded
    ],
    ids=["other-namespace", "no-identity"],
)
def test_a_claim_from_a_process_of_the_same_host_name_elsewhere_waits_for_its_heartbeat(
    database: Database, owner: str
) -> None:
    held = take_claim(database, "xai", Category.TEXT, force=True, timeout=5)
    with database.transaction() as connection:
        connection.execute(
            update(DiscoveryState)
            .where(DiscoveryState.claim_token == held.token)
            .values(claim_host=owner, claim_pid=_dead_pid())
        )
    taken = take_claim(database, "xai", Category.TEXT, force=True, timeout=5)
    assert taken.token is None and taken.took_over is None
    # Its pid means nothing here: only a silent heartbeat ends the claim.
    with database.transaction() as connection:
        renewed = connection.scalar(
            select(DiscoveryState.heartbeat_at).where(DiscoveryState.claim_token == held.token)
        )
        assert renewed is not None
        connection.execute(
            update(DiscoveryState)
            .where(DiscoveryState.claim_token == held.token)
            .values(heartbeat_at=renewed - timedelta(seconds=60))
        )
    taken = take_claim(database, "xai", Category.TEXT, force=True, timeout=5)
    assert taken.token is not None
    assert taken.took_over is not None and "no heartbeat for 6" in taken.took_over
    assert f"{socket.gethostname()}/pid" in taken.took_over  # the identity is not shown


# --- listings: look-alike ids and the pending cap --------------------------------------------


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInProviders]:
    with StandInProviders() as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        yield standins


LOOK_ALIKES = {
    "grok-3\u00ad-mini": "U+00AD SOFT HYPHEN",
    "grok-3\u034f-mini": "U+034F COMBINING GRAPHEME JOINER",
    "grok-3-mini\ufe0f": "U+FE0F VARIATION SELECTOR-16",
    "grok-3-mini\U000e0020": "U+E0020 TAG SPACE",
    "grok-3-\u3164mini": "U+3164 HANGUL FILLER",
    "grok-3-mini\u2800": "U+2800 BRAILLE PATTERN BLANK",
    "grok-3-m\u0456ni": "mixes Latin with Cyrillic letters",  # Cyrillic і
    "grok-3-\u03bcini": "mixes Latin with Greek letters",  # Greek μ
}


def test_ids_that_print_like_another_are_skipped_with_a_warning_naming_why(
    database: Database, providers: StandInProviders
) -> None:
    fine = ["grok-3-mini", "grok-3-été"]  # accented Latin is fine
    body = _with_entries("xai", "grok-3", [(i, False) for i in [*LOOK_ALIKES, *fine]])
    providers.serve("xai", body)
    [result] = discover_models("text", ["xai"], force=True).results
    assert result.errors == [], result.to_json()
    stored = {m.model_id for m in list_models(ModelFilter(provider="xai"))}
    assert set(fine) <= stored and not set(LOOK_ALIKES) & stored
    skipped = [w for w in result.warnings if w.startswith("skipped the entry")]
    # The first five are named with the character (or the scripts) that gave them away.
    for (model_id, why), warning in zip(LOOK_ALIKES.items(), skipped, strict=False):
        assert why in warning, (model_id, warning)
    assert len(skipped) == 5 and "… and 3 more entries skipped" in result.warnings[-1]
    for model_id, why in LOOK_ALIKES.items():
        assert why in (unstorable_id_reason(model_id) or ""), model_id
    # So is an id in one other script (xai would not list it as a text model).
    assert unstorable_id_reason("гигачат-2") is None


def _rotated_listing(prefix: str, count: int) -> Any:
    return _with_entries("xai", "grok-3", [(f"grok-{prefix}-{i:05}", False) for i in range(count)])


def test_pending_models_are_capped_per_provider_and_unlisted_ones_never_approved_retire(
    database: Database, providers: StandInProviders
) -> None:
    listed = MAX_PENDING + 100
    providers.serve("xai", _rotated_listing("first", listed))
    [first] = discover_models("text", ["xai"], force=True).results
    waiting = ModelFilter(provider="xai", category=Category.TEXT, status=ModelStatus.PENDING)
    assert count_models(waiting) == MAX_PENDING
    assert len(first.new) == MAX_PENDING
    [note] = [w for w in first.warnings if w.startswith("left out")]
    left_out = first.discovered - first.refreshed - MAX_PENDING
    assert note.startswith(f"left out {left_out} new model(s): at most {MAX_PENDING:,} models")
    assert not {f"grok-first-{i:05}" for i in range(listed - left_out, listed)} & {
        m.model_id for m in list_models(ModelFilter(provider="xai"))
    }
    # The provider rotates its ids: the never-approved ones it no longer lists retire (the
    # guard keeps only approved ones), and the pending rows never pass the cap.
    providers.serve("xai", _rotated_listing("second", listed))
    [second] = discover_models("text", ["xai"], force=True).results
    assert second.errors == [] and not second.held_back, second.to_json()
    assert count_models(waiting) == MAX_PENDING
    assert not any(m.model_id.startswith("grok-first-") for m in list_models(waiting))
    retired = ModelFilter(provider="xai", status=ModelStatus.DEPRECATED, search="grok-first-")
    assert count_models(retired) == listed - left_out
    assert "grok-3" in {
        m.model_id for m in list_models(ModelFilter(provider="xai", status=ModelStatus.ENABLED))
    }


# --- price enrichment ------------------------------------------------------------------------


def _refs_to_try(providers: list[Any]) -> list[str]:
    """Every literal of every rule, as it is, stretched and cut, plus ids no rule names (the
    dataset compares in lower case: so does the index)."""
    refs = ["vendor/rotating-model-00042", "gpt-4o-20240806", "claude-3-5-sonnet-20241022"]
    for provider in providers:
        for model in provider.models:
            refs.append(model.id)
            stack = [model.match]
            while stack:
                clause = stack.pop()
                stack.extend(getattr(clause, "or_", None) or getattr(clause, "and_", None) or [])
                for name in ("equals", "starts_with", "ends_with", "contains"):
                    text = getattr(clause, name, None)
                    if text:
                        refs += [text, f"{text}-2025", f"x-{text}", text[:-1]]
    return list(dict.fromkeys(refs))


def test_the_indexed_price_lookup_finds_what_walking_every_rule_finds() -> None:
    from genai_prices.data import providers

    data = dataset()
    assert data is not None
    by_id = {p.id: p for p in providers}
    for provider_id in DATASET_PROVIDERS.values():
        source = by_id[provider_id]
        # Its own rules', and those of the providers it falls back to, which it may find.
        fallbacks = [by_id[f] for f in source.fallback_model_providers or () if f in by_id]
        for ref in _refs_to_try([source, *fallbacks]):
            walked = source.find_model(ref, all_providers=providers)
            assert data.find_model(source, ref) is walked, (provider_id, ref)


def test_price_enrichment_stops_at_the_refresh_deadline_and_keeps_the_listing() -> None:
    listing = [DiscoveredModel(f"gpt-4o-rotating-{i:05}", f"m{i}") for i in range(600)]
    listing.insert(0, DiscoveredModel("gpt-4o", "GPT-4o"))
    assert fill_missing_metadata("openai", Category.TEXT, listing)[0].input_price_per_mtok == 2.5
    late = fill_missing_metadata("openai", Category.TEXT, listing, deadline=time.monotonic() - 1)
    assert late == listing  # every entry kept as listed, none priced


@dataclass(frozen=True)
class _Row:
    model_id: str
    status: str
    source: str = "api"
    deprecated_by_admin: bool = False


def test_the_guard_counts_approved_models_only_and_distrusts_a_sweeping_listing_wholesale() -> None:
    approved = [_Row(f"kept-{i}", "enabled") for i in range(4)]
    rotated = [_Row(f"old-{i}", "pending") for i in range(100)]
    # Every approved model listed, 100 never-approved ones gone: all 100 retire.
    plan = plan_refresh([*approved, *rotated], [r.model_id for r in approved])
    assert len(plan.deprecate) == 100 and plan.held_back == [] and plan.held_back_because is None
    # Three of four approved ones gone: the listing is not trusted at all, pending ones kept too.
    sweeping = plan_refresh([*approved, *rotated], ["kept-0"])
    assert sweeping.deprecate == [] and len(sweeping.held_back) == 103
    assert sweeping.held_back_because == "it would deprecate 3 of 4 known models (more than 50%)"
    # An incomplete listing keeps the pending ones as well.
    assert plan_refresh(rotated, ["new"], complete=False).deprecate == []
