"""Normalized metadata on ai_models: ingest, sources, admin edits that survive discovery,
hostile values dropped, `models list --json`, and migration 0004 on both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect

from registry import migrate
from registry.cli import main
from registry.db import Database
from registry.demo import StandInProviders, load_fixture
from registry.discovery import discover_models
from registry.errors import InvalidInputError
from registry.store import edit_model, get_model_by_provider_id, upsert_discovered_models
from registry.types import METADATA_FIELDS, DiscoveredModel
from tests.test_migrations import empty_database  # noqa: F401  (the fixture, both backends)

LISTED = DiscoveredModel(
    model_id="vendor/model-a",
    display_name="Model A",
    retires_at=datetime(2027, 1, 31, tzinfo=UTC),
    input_price_per_mtok=0.75,
    output_price_per_mtok=4.5,
    max_output_tokens=128_000,
    capabilities=["tools", "vision"],
    replacement_model_id="vendor/model-b",
)


def _refresh(model: DiscoveredModel = LISTED) -> None:
    upsert_discovered_models("openrouter", "text", [model])


def _stored() -> object:
    return get_model_by_provider_id("openrouter", LISTED.model_id, "text")


def test_listing_metadata_is_stored_with_listing_as_its_source(database: Database) -> None:
    _refresh()
    model = get_model_by_provider_id("openrouter", LISTED.model_id, "text")
    assert (model.input_price_per_mtok, model.output_price_per_mtok) == (0.75, 4.5)
    assert model.price_per_mchar is None
    assert model.max_output_tokens == 128_000
    assert model.capabilities == ["vision", "tools"]  # the vocabulary's order
    assert model.retires_at == datetime(2027, 1, 31, tzinfo=UTC)
    assert model.replacement_model_id == "vendor/model-b"
    assert model.metadata_sources == {
        name: "listing"
        for name in (
            "input_price_per_mtok",
            "output_price_per_mtok",
            "max_output_tokens",
            "capabilities",
            "retires_at",
            "replacement_model_id",
        )
    }


def test_a_later_listing_updates_and_clears_what_it_no_longer_says(database: Database) -> None:
    _refresh()
    _refresh(DiscoveredModel(model_id=LISTED.model_id, display_name="A", input_price_per_mtok=1))
    model = get_model_by_provider_id("openrouter", LISTED.model_id, "text")
    assert model.input_price_per_mtok == 1.0
    assert model.output_price_per_mtok is None and model.capabilities is None
    assert model.metadata_sources == {"input_price_per_mtok": "listing"}


def test_an_admin_price_survives_every_refresh(database: Database) -> None:
    _refresh()
    model = get_model_by_provider_id("openrouter", LISTED.model_id, "text")
    edited = edit_model(
        model.id, metadata={"input_price_per_mtok": "0.5", "capabilities": ["reasoning"]}
    )
    assert edited.input_price_per_mtok == 0.5 and edited.capabilities == ["reasoning"]
    _refresh()
    _refresh()
    model = get_model_by_provider_id("openrouter", LISTED.model_id, "text")
    assert model.input_price_per_mtok == 0.5
    assert model.capabilities == ["reasoning"]
    assert model.output_price_per_mtok == 4.5  # not edited: the listing's
    assert model.metadata_sources is not None
    assert model.metadata_sources["input_price_per_mtok"] == "admin"
    assert model.metadata_sources["capabilities"] == "admin"
    assert model.metadata_sources["output_price_per_mtok"] == "listing"


def test_an_admin_who_clears_a_value_keeps_it_cleared(database: Database) -> None:
    _refresh()
    model = get_model_by_provider_id("openrouter", LISTED.model_id, "text")
    edit_model(model.id, metadata={"replacement_model_id": None})
    _refresh()
    model = get_model_by_provider_id("openrouter", LISTED.model_id, "text")
    assert model.replacement_model_id is None
    assert model.metadata_sources and model.metadata_sources["replacement_model_id"] == "admin"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("input_price_per_mtok", -1),
        ("input_price_per_mtok", "cheap"),
        ("price_per_mchar", float("nan")),
        ("output_price_per_mtok", 20_000),
        ("max_output_tokens", 0),
        ("max_output_tokens", 4096.5),
        ("max_output_tokens", 2**40),
        ("capabilities", ["vision", "telepathy"]),
        ("capabilities", "vision"),
        ("retires_at", "next tuesday"),
        ("replacement_model_id", "evil\x1b[31m"),
        ("context_window", 5),
    ],
)
def test_an_admin_edit_with_an_absurd_value_is_refused_and_changes_nothing(
    database: Database, field: str, value: object
) -> None:
    _refresh()
    model = get_model_by_provider_id("openrouter", LISTED.model_id, "text")
    with pytest.raises(InvalidInputError):
        edit_model(model.id, metadata={field: value})
    assert get_model_by_provider_id("openrouter", LISTED.model_id, "text") == model


def test_hostile_listing_values_are_stored_as_null_never_failing_the_refresh(
    database: Database,
) -> None:
    hostile = DiscoveredModel(
        model_id=LISTED.model_id,
        display_name="A",
        input_price_per_mtok=float("nan"),
        output_price_per_mtok=-3,
        price_per_mchar=float("inf"),
        max_output_tokens=10**20,  # beyond PostgreSQL's INTEGER
        capabilities=["vision", "root-access", 3],  # type: ignore[list-item]
        replacement_model_id="x" * 300,
    )
    _refresh(hostile)
    model = get_model_by_provider_id("openrouter", LISTED.model_id, "text")
    assert model.input_price_per_mtok is None and model.output_price_per_mtok is None
    assert model.price_per_mchar is None and model.max_output_tokens is None
    assert model.capabilities == ["vision"]
    assert model.replacement_model_id is None
    assert model.metadata_sources == {"capabilities": "listing"}


def test_a_listing_with_nan_and_huge_numbers_refreshes_with_nulls(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = load_fixture("openrouter")
    entry = body["data"][0]
    entry["context_length"] = float("nan")  # JSON's NaN: Python's parser accepts it
    entry["top_provider"] = {"context_length": 10**30, "max_completion_tokens": 10**30}
    entry["pricing"] = {"prompt": "-5", "completion": "1e400"}
    with StandInProviders({"openrouter": body}) as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        report = discover_models("text", ["openrouter"])
    assert report.total_errors == 0, report.to_json()
    model = get_model_by_provider_id("openrouter", entry["id"], "text")
    assert model.context_window is None and model.max_output_tokens is None
    # The absurd prices are dropped; the price dataset fills the gap (registry.prices).
    sources = model.metadata_sources or {}
    assert sources["input_price_per_mtok"].startswith("dataset ")
    assert sources["output_price_per_mtok"].startswith("dataset ")
    assert model.capabilities == ["vision", "tools", "structured_output", "reasoning"]


def test_models_list_json_carries_the_metadata_by_its_names(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database.url)
    _refresh()
    assert main(["models", "list", "--provider", "openrouter", "--json"]) == 0
    rows = {row["model_id"]: row for row in json.loads(capsys.readouterr().out)}
    row = rows[LISTED.model_id]
    assert set(METADATA_FIELDS) | {"metadata_sources"} <= row.keys()
    assert row["input_price_per_mtok"] == 0.75 and row["capabilities"] == ["vision", "tools"]
    assert row["metadata_sources"]["input_price_per_mtok"] == "listing"
    assert row["retires_at"].startswith("2027-01-31")


NEW_COLUMNS = {
    "input_price_per_mtok",
    "output_price_per_mtok",
    "price_per_mchar",
    "max_output_tokens",
    "capabilities",
    "replacement_model_id",
    "metadata_sources",
}


def _columns(db: Database) -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns("ai_models")}


def test_migration_0004_drops_only_its_columns_and_comes_back(
    empty_database: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    migrate.upgrade(empty_database)
    assert _columns(empty_database) >= NEW_COLUMNS
    migrate.downgrade(empty_database, "0003")
    left = _columns(empty_database)
    assert not NEW_COLUMNS & left
    assert {"retires_at", "display_name_edited", "successor_model_id"} <= left
    migrate.upgrade(empty_database)
    migrate.check(empty_database)
    assert _columns(empty_database) >= NEW_COLUMNS
