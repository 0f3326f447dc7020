"""Discovery against hostile listings and crashed refreshes, on SQLite and PostgreSQL.

- Entries the database cannot store or a terminal cannot show safely are skipped with a
  warning naming them (inert); NUL characters in metadata are removed; the rest is kept.
- A refresh whose process died (kill -9) leaves a claim that the next refresh takes over at
  once; a live one is named (host, pid, age) in the refusal.
- Each refresh that changed something writes one bounded audit entry, in its transaction.
- A search text is limited in length with a clear message.
"""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from registry.audit import list_audit_entries
from registry.cli import main as cli_main
from registry.db import Database
from registry.demo import StandInProviders, load_fixture
from registry.discovery import (
    ClaimVerdict,
    claim_verdict,
    discover_models,
    get_discovery_state,
)
from registry.errors import InvalidInputError
from registry.schema import AIModel, DiscoveryState, utcnow
from registry.standin import StandInRequest, StandInResponse
from registry.store import ModelFilter, count_models, get_model_by_provider_id, list_models
from registry.types import ModelStatus

# (category, provider) → (stand-in that lists it, an entry of its fixture the adapter keeps)
PAIRS: dict[tuple[str, str], tuple[str, str]] = {
    ("text", "openai"): ("openai", "gpt-4o"),
    ("text", "google"): ("google", "gemini-2.5-flash"),
    ("text", "anthropic"): ("anthropic", "claude-sonnet-4-6"),
    ("text", "mistral"): ("mistral", "mistral-medium-latest"),
    ("text", "xai"): ("xai", "grok-3"),
    ("text", "openrouter"): ("openrouter", "openai/gpt-5.4-mini"),
    ("tts", "openai"): ("openai", "tts-1"),
    ("tts", "google"): ("google_tts", "en-US-Chirp3-HD-Achernar"),
    ("tts", "elevenlabs"): ("elevenlabs", "21m00Tcm4TlvDq8ikWAM"),
    ("tts", "azure"): ("azure", "de-DE-KatjaNeural"),
}
# Where each stand-in's entries carry their id, and the prefix the wire adds to it.
ID_FIELDS: dict[str, tuple[str, str]] = {
    "google": ("name", "models/"),
    "google_tts": ("name", ""),
    "elevenlabs": ("voice_id", ""),
    "azure": ("ShortName", ""),
}
# Fields that become the display name or description, where the provider has them.
TEXT_FIELDS = ("name", "display_name", "displayName", "description", "DisplayName", "LocalName")
RAW_UNSAFE = ("\x00", "\x1b", "\x07", "\u202e", "\r", "\n")


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInProviders]:
    with StandInProviders() as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        yield standins


def _entries(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, list):
        return body
    return next(value for value in body.values() if isinstance(value, list))


def _with_entries(standin: str, template_id: str, ids_and_extras: list[tuple[str, bool]]) -> Any:
    """The stand-in's fixture plus clones of `template_id`'s entry under new ids; an entry
    marked True also carries NUL characters in its text fields and in an unused field."""
    body = copy.deepcopy(load_fixture(standin))
    field_name, prefix = ID_FIELDS.get(standin, ("id", ""))
    entries = _entries(body)
    template = next(e for e in entries if e[field_name] == prefix + template_id)
    for model_id, with_nul in ids_and_extras:
        clone = copy.deepcopy(template)
        clone[field_name] = prefix + model_id
        if with_nul:
            for name in TEXT_FIELDS:
                if isinstance(clone.get(name), str) and name != field_name:
                    clone[name] += "\x00 tail"
            clone["x_note"] = "before\x00after"
            clone["x_\x00key"] = ["nested\x00value", {"deep\x00": "\x00"}]
        entries.append(clone)
    return body


def _stored_text(model: Any) -> str:
    return " ".join(
        [
            model.model_id,
            model.display_name,
            model.description or "",
            json.dumps(model.provider_metadata, ensure_ascii=False),
        ]
    )


# --- skipped and sanitized entries (issue #8, items 7 and 8) -------------------------------


@pytest.mark.parametrize(
    ("category", "provider"), [pytest.param(c, p, id=f"{c}-{p}") for c, p in PAIRS]
)
def test_unstorable_or_unsafe_entries_are_skipped_by_name_and_the_rest_is_stored(
    database: Database, providers: StandInProviders, category: str, provider: str
) -> None:
    standin, template_id = PAIRS[(category, provider)]
    hostile = {
        "nul": f"{template_id}-nul\x00id",
        "long": f"{template_id}-" + "x" * 300,
        "ansi": f"{template_id}-\x1b[2J\x07",
        "bidi": f"{template_id}-\u202eevil",
    }
    sanitized_id = f"{template_id}-nul-in-metadata"
    providers.serve(
        standin,
        _with_entries(
            standin, template_id, [(sanitized_id, True)] + [(i, False) for i in hostile.values()]
        ),
    )

    [result] = discover_models(category, [provider]).results

    assert result.errors == [], result.to_json()
    stored = {m.model_id: m for m in list_models(ModelFilter(provider=provider, category=category))}
    assert template_id in stored and sanitized_id in stored
    assert not set(hostile.values()) & set(stored)
    for model in stored.values():
        assert not any(c in _stored_text(model) for c in RAW_UNSAFE), model.model_id
        assert len(model.display_name) <= 255
    sanitized = stored[sanitized_id]
    assert sanitized.status is ModelStatus.PENDING
    assert "\\u0000" not in json.dumps(sanitized.provider_metadata)
    # The warnings name every skipped entry, shown inert and shortened.
    warnings = "\n".join(result.warnings)
    assert "\\x00" in warnings and "\\x1b[2J\\x07" in warnings and "\\u202eevil" in warnings
    assert "301 characters" in warnings or f"{len(hostile['long'])} characters" in warnings
    assert "x" * 100 not in warnings
    shown = json.dumps(result.to_json(), ensure_ascii=False)
    assert not any(c in shown for c in RAW_UNSAFE)


def test_a_skipped_entry_never_deprecates_the_catalog_entry_it_names(
    database: Database, providers: StandInProviders
) -> None:
    # A catalog from before this rule may hold an id with control characters (SQLite took it).
    legacy = "grok-legacy-\x1b[0m"
    now = utcnow()
    with database.write() as session:
        session.add(
            AIModel(
                provider="xai",
                category="text",
                model_id=legacy,
                display_name="legacy",
                status="enabled",
                source="api",
                created_at=now,
                updated_at=now,
            )
        )
    discover_models("text", ["xai"])
    body = _with_entries("xai", "grok-3", [(legacy, False)])
    dropped = "grok-3-mini"
    _entries(body)[:] = [e for e in _entries(body) if e["id"] != dropped]
    providers.serve("xai", body)

    [result] = discover_models("text", ["xai"], force=True).results

    # The listing still counts as complete: what it no longer lists is deprecated...
    assert result.deprecated == [dropped]
    # ...but the entry it lists under an unsafe id is still offered, so it is kept.
    assert get_model_by_provider_id("xai", legacy, "text").status is ModelStatus.ENABLED


# --- the refresh claim after a crash (item 27) --------------------------------------------


def _held_listing(body: Any, release: threading.Event) -> Callable[[StandInRequest], Any]:
    def handler(_request: StandInRequest) -> StandInResponse:
        release.wait(timeout=60)
        return StandInResponse(200, body)

    return handler


def _wait_for(condition: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def test_a_refresh_killed_mid_listing_is_taken_over_at_once_even_without_force(
    database: Database, providers: StandInProviders
) -> None:
    server = providers.servers["xai"]
    release = threading.Event()
    server.route("/v1/models", _held_listing(load_fixture("xai"), release))
    env = dict(os.environ) | {"REGISTRY_DATABASE_URL": database.url}
    command = [sys.executable, "-m", "registry", "discover", "--category", "text"]
    child = subprocess.Popen(
        [*command, "--provider", "xai", "--force", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: bool(server.requests_to("/v1/models")), "the child's listing request")
        [state] = [s for s in get_discovery_state("text") if s.provider == "xai"]
        assert state.in_progress
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        release.set()
        if child.poll() is None:
            child.kill()
            child.wait()

    [state] = [s for s in get_discovery_state("text") if s.provider == "xai"]
    assert not state.in_progress  # its owner is gone
    started = time.monotonic()
    [result] = discover_models("text", ["xai"]).results
    assert time.monotonic() - started < 10
    assert not result.rate_limited and result.errors == [], result.to_json()
    assert any(f"pid {child.pid}" in w and "no longer running" in w for w in result.warnings), (
        result.warnings
    )
    assert "grok-3" in {m.model_id for m in list_models(ModelFilter(provider="xai"))}


def _foreign_claim(database: Database, heartbeat_age: float) -> None:
    """Another host's refresh of xai text, claimed 40 s ago, last heard of `heartbeat_age` ago."""
    discover_models("text", ["xai"])  # creates the state row
    now = utcnow()
    with database.transaction() as connection:
        connection.execute(
            update(DiscoveryState)
            .where(DiscoveryState.provider == "xai", DiscoveryState.category == "text")
            .values(
                claimed_until=now + timedelta(minutes=5),
                claimed_at=now - timedelta(seconds=40),
                claim_host="other-host",
                claim_pid=4242,
                claim_token=uuid.uuid4().hex,
                heartbeat_at=now - timedelta(seconds=heartbeat_age),
            )
        )


def test_a_live_refresh_elsewhere_is_named_with_its_host_pid_and_age(
    database: Database, providers: StandInProviders
) -> None:
    _foreign_claim(database, heartbeat_age=1)
    [result] = discover_models("text", ["xai"], force=True).results
    assert result.rate_limited
    [warning] = result.warnings
    assert "another refresh of this provider" in warning
    # Claimed 40 s before this refresh began; a busy machine adds the refresh's own time.
    age = re.search(r"started (\d+) s ago by other-host/pid 4242", warning)
    assert age and 40 <= int(age.group(1)) < 60, warning
    assert "still running" in warning


def test_a_claim_whose_heartbeat_stopped_is_taken_over_with_a_warning(
    database: Database, providers: StandInProviders, caplog: pytest.LogCaptureFixture
) -> None:
    _foreign_claim(database, heartbeat_age=60)
    [result] = discover_models("text", ["xai"], force=True).results
    assert not result.rate_limited and result.errors == []
    assert any("other-host/pid 4242" in w and "took over" in w for w in result.warnings)
    assert "took over" in caplog.text and "other-host/pid 4242" in caplog.text
    with database.read() as session:
        owner = session.scalar(
            select(DiscoveryState.claim_host).where(DiscoveryState.provider == "xai")
        )
    assert owner is None  # released when the refresh finished


def test_a_running_refresh_keeps_its_claim_alive_with_heartbeats(
    database: Database, providers: StandInProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    import registry.discovery_claims as claims

    monkeypatch.setattr(claims, "HEARTBEAT_SECONDS", 0.1)
    server = providers.servers["xai"]
    release = threading.Event()
    server.route("/v1/models", _held_listing(load_fixture("xai"), release))
    worker = threading.Thread(target=discover_models, args=("text", ["xai"]))
    worker.start()
    try:
        _wait_for(lambda: bool(server.requests_to("/v1/models")), "the listing request")

        def heartbeat() -> Any:
            with database.read() as session:
                return session.scalar(
                    select(DiscoveryState.heartbeat_at).where(DiscoveryState.provider == "xai")
                )

        first = heartbeat()
        _wait_for(lambda: heartbeat() > first, "a renewed heartbeat", limit=30)
    finally:
        release.set()
        worker.join(timeout=60)


# --- one audit entry per refresh (item 29) ------------------------------------------------


def _refresh_entries(provider: str) -> list[Any]:
    return list_audit_entries(provider=provider, action="discovery")


def test_a_refresh_that_changes_the_catalog_writes_one_audit_entry_naming_the_changes(
    database: Database, providers: StandInProviders
) -> None:
    many = [f"vendor/model-{i:03}" for i in range(120)]
    providers.serve("openrouter", _with_entries("openrouter", "openai/gpt-5.4-mini", []))
    discover_models("text", ["openrouter"])
    [first] = _refresh_entries("openrouter")
    assert first.actor == "discovery" and first.category == "text"
    assert first.new_value and "openai/gpt-5.4-mini" in first.new_value
    pending = count_models(ModelFilter(provider="openrouter", status="pending"))
    assert first.new_value.startswith(f"{pending} new: ")

    discover_models("text", ["openrouter"], force=True)
    assert len(_refresh_entries("openrouter")) == 1  # nothing changed, nothing written

    grown = _with_entries("openrouter", "openai/gpt-5.4-mini", [(i, False) for i in many])
    providers.serve("openrouter", grown)
    discover_models("text", ["openrouter"], force=True)
    latest = _refresh_entries("openrouter")[0]
    assert latest.new_value and latest.new_value.startswith("120 new")
    assert "vendor/model-049" in latest.new_value and "vendor/model-050" not in latest.new_value
    assert "… and 70 more" in latest.new_value


def test_the_refresh_audit_entry_counts_deprecated_and_returned_models(
    database: Database, providers: StandInProviders
) -> None:
    discover_models("text", ["xai"])
    body = load_fixture("xai")
    body["data"] = [e for e in body["data"] if e["id"] != "grok-3-mini"]
    providers.serve("xai", body)
    discover_models("text", ["xai"], force=True)
    latest = _refresh_entries("xai")[0]
    assert latest.new_value == "1 deprecated: grok-3-mini"
    providers.serve("xai", load_fixture("xai"))
    discover_models("text", ["xai"], force=True)
    assert _refresh_entries("xai")[0].new_value == "1 back to pending: grok-3-mini"


# --- search input (item 28) ---------------------------------------------------------------


def test_an_overlong_search_is_refused_with_the_limit(database: Database) -> None:
    with pytest.raises(InvalidInputError, match="search text is 100000 characters long"):
        list_models(ModelFilter(search="x" * 100_000))
    with pytest.raises(InvalidInputError, match="the limit is 200"):
        count_models(ModelFilter(search="y" * 201))
    assert count_models(ModelFilter(search="gpt-4o" + " " * 300)) >= 1  # blanks are trimmed
    assert count_models(ModelFilter(search="x" * 200)) == 0


def test_a_search_with_a_nul_character_is_refused_not_a_database_error(
    database: Database,
) -> None:
    with pytest.raises(InvalidInputError, match="control character"):
        list_models(ModelFilter(search="gpt\x00"))


def test_the_cli_answers_an_overlong_search_in_one_line(
    database: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database.url)
    assert cli_main(["models", "list", "--search", "z" * 100_000]) != 0
    err = capsys.readouterr().err.strip()
    assert "the limit is 200" in err and "unavailable" not in err and len(err) < 200


def test_a_running_refresh_names_this_host_and_process_as_its_owner(
    database: Database, providers: StandInProviders
) -> None:
    # The owner recorded while a refresh runs is this host and process.
    server = providers.servers["xai"]
    release = threading.Event()
    server.route("/v1/models", _held_listing(load_fixture("xai"), release))
    worker = threading.Thread(target=discover_models, args=("text", ["xai"]))
    worker.start()
    try:
        _wait_for(lambda: bool(server.requests_to("/v1/models")), "the listing request")
        with database.read() as session:
            owner = session.execute(
                select(DiscoveryState.claim_host, DiscoveryState.claim_pid).where(
                    DiscoveryState.provider == "xai"
                )
            ).one()
        # The host, then this boot's and PID namespace's identity (a pid means nothing
        # outside them), and the pid.
        host, identity = owner.claim_host.split("#")
        assert (host, len(identity), owner.claim_pid) == (socket.gethostname(), 16, os.getpid())
    finally:
        release.set()
        worker.join(timeout=60)


def test_nan_and_lone_surrogates_in_a_listing_are_stored_as_valid_json(
    database: Database, providers: StandInProviders
) -> None:
    # Python's json accepts NaN and "\ud800"; PostgreSQL's JSONB and UTF-8 text refuse them.
    body = _with_entries("openrouter", "openai/gpt-5.4-mini", [("vendor/odd-json", False)])
    text = json.dumps(body).replace(
        '"id": "vendor/odd-json"',
        '"id": "vendor/odd-json", "x_price": NaN, "x_ratio": -Infinity, "x_note": "a\\ud800b"',
    )
    providers.servers["openrouter"].route(
        "/api/v1/models", lambda _r: StandInResponse(200, text.encode())
    )
    [result] = discover_models("text", ["openrouter"]).results
    assert result.errors == [], result.to_json()
    stored = get_model_by_provider_id("openrouter", "vendor/odd-json", "text")
    assert stored.provider_metadata is not None
    assert stored.provider_metadata["x_price"] is None
    assert stored.provider_metadata["x_note"] == "a?b"


# --- the claim policy, directly -------------------------------------------------------------


@dataclass
class _Claim:
    claimed_until: datetime | None
    heartbeat_at: datetime | None = None
    claim_host: str | None = None
    claim_pid: int | None = None


def test_claim_policy_dead_pid_counts_only_on_this_host_and_old_claims_expire() -> None:
    now = utcnow()
    later = now + timedelta(minutes=1)

    def nobody_alive(_pid: int) -> bool:
        return False

    here = _Claim(later, now, "here#boot-and-ns", 1234)
    assert claim_verdict(
        here, now, host="here#boot-and-ns", pid_alive=nobody_alive
    ) == ClaimVerdict(live=False, stale_because="its process is no longer running")
    # Another host's pid means nothing here: only its heartbeat tells.
    assert claim_verdict(_Claim(later, now, "there", 1234), now, host="here").live
    silent = _Claim(later, now - timedelta(seconds=16), "there", 1234)
    assert claim_verdict(silent, now, host="here").stale_because == "no heartbeat for 16 s"
    # A claim written by a registry without heartbeats holds until it expires.
    assert claim_verdict(_Claim(later), now, host="here").live
    assert not claim_verdict(_Claim(now - timedelta(seconds=1)), now, host="here").live
