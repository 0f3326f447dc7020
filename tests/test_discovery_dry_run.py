"""`discover --dry-run` and `discover --all`: real listings from stand-ins, on both backends."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from registry.cli import main as cli_main
from registry.db import Database
from registry.demo import StandInProviders, load_fixture
from registry.discovery import discover_models, plan_refresh
from registry.standin import json_response
from registry.types import PROVIDERS, Category


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInProviders]:
    with StandInProviders(page_size=50) as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        yield standins


def dump(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (catalog, audit log, discovery state, change stamp, …)."""
    metadata = MetaData()
    with database.read() as session:
        metadata.reflect(bind=session.connection())
        return {
            name: sorted(tuple(map(repr, row)) for row in session.execute(select(table)))
            for name, table in metadata.tables.items()
        }


def openai_listing_changed() -> Any:
    """OpenAI's listing without gpt-4o and with one model never seen before."""
    body = copy.deepcopy(load_fixture("openai"))
    body["data"] = [e for e in body["data"] if e["id"] != "gpt-4o"]
    body["data"].append(
        {"id": "gpt-5.9-preview", "object": "model", "created": 1767225600, "owned_by": "openai"}
    )
    return body


def test_a_dry_run_writes_nothing_and_reports_what_the_real_run_then_does(
    database: Database, providers: StandInProviders
) -> None:
    discover_models("text", ["openai"])
    providers.serve("openai", openai_listing_changed())
    before = dump(database)
    preview = discover_models("text", ["openai"], dry_run=True)
    assert dump(database) == before
    assert preview.dry_run and preview.to_json()["dry_run"] is True
    planned = preview.results[0]
    assert planned.new == ["gpt-5.9-preview"] and planned.deprecated == ["gpt-4o"]
    assert planned.errors == [] and not planned.rate_limited  # the 5-minute limit is no matter

    real = discover_models("text", ["openai"], force=True)
    assert "dry_run" not in real.to_json()
    done = real.results[0]
    assert (done.new, done.deprecated, done.returned, done.refreshed, done.held_back) == (
        planned.new,
        planned.deprecated,
        planned.returned,
        planned.refreshed,
        planned.held_back,
    )
    assert dump(database) != before


def test_a_dry_run_shows_what_the_deprecation_guard_would_hold_back(
    database: Database, providers: StandInProviders
) -> None:
    discover_models("text", ["anthropic"])
    body = load_fixture("anthropic")
    body["data"] = body["data"][:1]
    providers.serve("anthropic", body)
    before = dump(database)
    result = discover_models("text", ["anthropic"], dry_run=True).results[0]
    assert dump(database) == before
    assert result.deprecated == [] and len(result.held_back) >= 2
    assert any("more than 50%" in w for w in result.warnings)
    assert discover_models("text", ["anthropic"], force=True).results[0].held_back == (
        result.held_back
    )


def test_the_plan_returns_relisted_models_but_not_admin_retired_ones() -> None:
    class Row:
        def __init__(self, model_id: str, status: str, by_admin: bool = False) -> None:
            self.model_id, self.status, self.source = model_id, status, "api"
            self.deprecated_by_admin = by_admin

    rows = [
        Row("a", "enabled"),
        Row("b", "deprecated"),
        Row("c", "deprecated", by_admin=True),
        Row("d", "disabled"),
        Row("e", "pending"),
    ]
    plan = plan_refresh(rows, ["a", "b", "c", "z"], skipped=["e"])
    assert plan.new == ["z"] and plan.returned == ["b"] and plan.refreshed == 3
    assert plan.deprecate == [] and plan.held_back == []  # d is disabled, e was skipped
    guarded = plan_refresh(rows, ["a"], complete=False)
    assert [r.model_id for r in guarded.held_back] == ["e"]
    assert guarded.held_back_because == "the listing was incomplete"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli_main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_discover_all_refreshes_every_pair_and_provider_narrows_it(
    sqlite_database: Database,
    providers: StandInProviders,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", sqlite_database.url)
    code, out, _ = run(capsys, "discover", "--all", "--json")
    assert code == 0
    pairs = [(r["category"], r["provider"]) for r in json.loads(out)["results"]]
    assert pairs == [(c.value, p) for c in Category for p in PROVIDERS[c]]

    code, out, _ = run(capsys, "discover", "--all", "--provider", "openai", "--json", "--force")
    assert code == 0
    pairs = [(r["category"], r["provider"]) for r in json.loads(out)["results"]]
    assert pairs == [("text", "openai"), ("tts", "openai")]

    code, _, err = run(capsys, "discover", "--all", "--category", "text")
    assert code == 2 and "not allowed with argument" in err


def test_discover_all_exits_zero_when_a_provider_failed(
    sqlite_database: Database,
    providers: StandInProviders,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", sqlite_database.url)
    providers.servers["mistral"].fail("/v1/models", json_response({"error": "boom"}, 500))
    code, out, _ = run(capsys, "discover", "--all", "--json")
    assert code == 0 and json.loads(out)["total_errors"] >= 1


def test_the_dry_run_command_says_nothing_was_written(
    sqlite_database: Database,
    providers: StandInProviders,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", sqlite_database.url)
    before = dump(sqlite_database)
    code, out, _ = run(capsys, "discover", "--category", "tts", "--dry-run")
    assert code == 0 and out.startswith("dry run: nothing was written; would be ")
    assert dump(sqlite_database) == before
    code, out, _ = run(capsys, "discover", "--all", "--dry-run", "--json")
    payload = json.loads(out)
    assert code == 0 and payload["dry_run"] is True and payload["total_new"] > 0
    assert dump(sqlite_database) == before
