"""Retirement dates from the bundled lifecycle data, and a curated catalog that stays current.

README "Where retirement dates come from" and "The curated catalog": the data, its precedence
(admin > listing > dataset) and how `migrate` brings a database up to a newer package's data.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import delete

from registry import migrate
from registry.catalog import CATALOG, CURATED, curated_default, default_setting_key, parse_catalog
from registry.catalog_sync import VERSION_SETTING, sync_catalog_data
from registry.cli import main as cli_main
from registry.db import Database
from registry.demo import StandInProviders
from registry.discovery import discover_models
from registry.lifecycle import LifecycleDataset, dataset, source_url
from registry.prices import fill_missing_metadata
from registry.schema import AIModel, AppSetting
from registry.settings import get_settings
from registry.store import (
    edit_model,
    get_model_by_provider_id,
    set_default_model,
    upsert_discovered_models,
)
from registry.types import CatalogModel, Category, DiscoveredModel, ModelStatus

TEXT, TTS = Category.TEXT, Category.TTS
SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
RELEASE_DAY = date(2026, 12, 6)
SOURCE = "dataset litellm 1.110.2 2026-11-20"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and annotations look their module up
    spec.loader.exec_module(module)
    return module


def _sources(model: CatalogModel) -> dict[str, str]:
    return dict(model.metadata_sources or {})


def _midnight(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def _newer_lifecycle(models: dict[str, dict[str, Any]]) -> LifecycleDataset:
    """A later release of the dataset dating these OpenAI text models."""
    return LifecycleDataset(
        {
            "dataset": {"name": "litellm", "version": "1.111.0", "date": "2026-12-20"},
            "models": {"text": {"openai": models}},
        }
    )


def _sync(database: Database, **data: Any) -> None:
    with database.write() as session:
        sync_catalog_data(session, **data)


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInProviders]:
    with StandInProviders() as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        yield standins


# --- the generator's mapping (a hand-written map in LiteLLM's shape; nothing downloaded) -----

COST_MAP = {
    "sample_spec": {"litellm_provider": "one of …", "deprecation_date": "YYYY-MM-DD"},
    "gemini/gemini-2.5-flash": {
        "litellm_provider": "gemini",
        "mode": "chat",
        "deprecation_date": "2026-12-01",
        "successor_model": "gemini/gemini-3.5-flash-lite",
        "deprecation_source": "https://ai.google.dev/gemini-api/docs/deprecations",
    },
    # The same id on Vertex AI retires on another date: not our google.
    "gemini-2.5-flash": {
        "litellm_provider": "vertex_ai-language-models",
        "mode": "chat",
        "deprecation_date": "2026-10-20",
    },
    # Filed under chat, but a speech model.
    "gemini/gemini-2.5-pro-preview-tts": {
        "litellm_provider": "gemini",
        "mode": "chat",
        "deprecation_date": "2026-11-17",
        "successor_model": "gemini/gemini-3.8-flash-tts",
    },
    "xai/grok-code-fast-1": {
        "litellm_provider": "xai",
        "mode": "chat",
        "deprecation_date": "2026-05-15",
        "successor_model": "xai/grok-build-0.1",
        "deprecation_source": "https://docs.x.ai/developers/migration/may-15-retirement",
    },
    "babbage-002": {
        "litellm_provider": "text-completion-openai",
        "mode": "completion",
        "deprecation_date": "2026-09-28",
        "successor_model": "gpt-5.6-terra",
    },
    "tts-1": {
        "litellm_provider": "openai",
        "mode": "audio_speech",
        "deprecation_date": "2027-01-06",
    },
    "gpt-4o": {
        "litellm_provider": "openai",
        "mode": "chat",
        "deprecation_date": "2027-01-14",
        "deprecation_source": "see the docs",  # not a URL: left out
    },
    "ft:gpt-4o-2024-08-06": {
        "litellm_provider": "openai",
        "mode": "chat",
        "deprecation_date": "2027-01-14",
    },
    "high/1024-x-1024/gpt-image-1": {
        "litellm_provider": "openai",
        "mode": "image_generation",
        "deprecation_date": "2026-10-23",
    },
    "gpt-image-1": {
        "litellm_provider": "openai",
        "mode": "image_generation",
        "deprecation_date": "2026-10-23",
    },
    "openrouter/openai/gpt-4o": {
        "litellm_provider": "openrouter",
        "mode": "chat",
        "deprecation_date": "2027-02-01",
    },
    "mistral/mistral-large-2512": {
        "litellm_provider": "mistral",
        "mode": "chat",
        "deprecation_date": "2027-04-30",
    },
    "mistral/voxtral-mini-tts-2603": {
        "litellm_provider": "mistral",
        "mode": "audio_speech",
        "deprecation_date": "2027-04-30",
    },
    "claude-opus-4-6": {"litellm_provider": "anthropic", "mode": "chat"},  # nothing to say
    "azure/gpt-4o": {"litellm_provider": "azure", "mode": "chat", "deprecation_date": "2026-11-01"},
    "gpt-4.1": {"litellm_provider": "openai", "mode": "chat", "deprecation_date": "not a date"},
}


def test_the_generator_maps_the_datasets_ids_to_ours() -> None:
    mapped = _script("lifecycle_data").map_entries(COST_MAP)
    google_url = "https://ai.google.dev/gemini-api/docs/deprecations"
    assert mapped == {
        "text": {
            "google": {
                "gemini-2.5-flash": {
                    "retires_at": "2026-12-01",
                    "successor": "gemini-3.5-flash-lite",
                    "source_url": google_url,
                }
            },
            "mistral": {
                "mistral-large-2512": {
                    "retires_at": "2027-04-30",
                    "successor": None,
                    "source_url": None,
                }
            },
            "openai": {
                "babbage-002": {
                    "retires_at": "2026-09-28",
                    "successor": "gpt-5.6-terra",
                    "source_url": None,
                },
                "gpt-4o": {"retires_at": "2027-01-14", "successor": None, "source_url": None},
            },
            "openrouter": {
                "openai/gpt-4o": {"retires_at": "2027-02-01", "successor": None, "source_url": None}
            },
            "xai": {
                "grok-code-fast-1": {
                    "retires_at": "2026-05-15",
                    "successor": "grok-build-0.1",
                    "source_url": "https://docs.x.ai/developers/migration/may-15-retirement",
                }
            },
        },
        "tts": {
            "google": {
                "gemini-2.5-pro-preview-tts": {
                    "retires_at": "2026-11-17",
                    "successor": "gemini-3.8-flash-tts",
                    "source_url": None,
                }
            },
            "openai": {
                "tts-1": {"retires_at": "2027-01-06", "successor": None, "source_url": None}
            },
        },
    }


def test_the_bundled_data_names_the_dataset_its_version_and_its_date() -> None:
    data = dataset()
    assert data.source == SOURCE
    entry = data.entry("google", TEXT, "gemini-2.5-flash")
    assert entry is not None and entry.retires_at == date(2026, 12, 1)
    assert entry.successor == "gemini-3.5-flash-lite"
    assert entry.source_url == "https://ai.google.dev/gemini-api/docs/deprecations"
    assert source_url(f"{SOURCE} {entry.source_url}") == entry.source_url
    assert source_url(SOURCE) is None and source_url("listing") is None


# --- the curated catalog ----------------------------------------------------------------------


def test_no_curated_model_or_default_is_past_its_date_on_release() -> None:
    generated = date.fromisoformat(CATALOG.generated_on)
    data = dataset()
    for (category, provider), curated in CURATED.items():
        for model in curated.models:
            entry = data.entry(provider, category, model.model_id)
            retires = entry.retires_at if entry else None
            assert model.retires_at == (retires.isoformat() if retires else None)
            assert retires is None or retires > generated, (provider, model.model_id)
        default = data.entry(provider, category, curated.default)
        if default is not None and default.retires_at is not None:
            assert default.retires_at > RELEASE_DAY, (provider, curated.default)
            assert (default.retires_at - generated).days > 14, (provider, curated.default)
    assert curated_default(TEXT, "google") != "gemini-2.5-flash"
    assert curated_default(TEXT, "openai") not in {"gpt-5", "gpt-5-mini"}


def test_a_fresh_migrate_dates_curated_models_from_the_dataset_each_with_its_source(
    database: Database,
) -> None:
    dated = []
    for (category, provider), curated in CURATED.items():
        for curated_model in curated.models:
            model = get_model_by_provider_id(provider, curated_model.model_id, category)
            assert model.status is ModelStatus.ENABLED
            if model.retires_at is not None:
                source = _sources(model)["retires_at"]
                assert source.startswith(f"{SOURCE} https://"), source
                assert model.retires_at == _midnight(str(curated_model.retires_at))
                dated.append(model.display_id)
    assert len(dated) >= 10, dated
    gpt5 = get_model_by_provider_id("openai", "gpt-5")
    assert gpt5.replacement_model_id == "gpt-5.6-sol"
    assert source_url(_sources(gpt5)["replacement_model_id"]) == (
        "https://developers.openai.com/api/docs/deprecations"
    )
    # A fresh install shows prices without the discovery extra: the catalog file carries them.
    assert (gpt5.input_price_per_mtok, gpt5.output_price_per_mtok) == (1.25, 10.0)
    assert _sources(gpt5)["input_price_per_mtok"] == CATALOG.price_source


def test_models_list_json_carries_the_date_and_its_source(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["models", "list", "--provider", "openai", "--category", "text", "--json"]) == 0
    rows = {row["model_id"]: row for row in json.loads(capsys.readouterr().out)}
    gpt5 = rows["gpt-5"]
    assert gpt5["retires_at"].startswith("2026-12-11")
    assert gpt5["replacement_model_id"] == "gpt-5.6-sol"
    assert gpt5["metadata_sources"]["retires_at"] == (
        f"{SOURCE} https://developers.openai.com/api/docs/deprecations"
    )


def test_no_default_of_a_fresh_database_is_past_its_date(database: Database) -> None:
    settings = get_settings()
    for category, provider in CURATED:
        model = get_model_by_provider_id(
            provider, settings[default_setting_key(category, provider)], category
        )
        assert model.status is ModelStatus.ENABLED
        assert model.retires_at is None or model.retires_at.date() > RELEASE_DAY, model.display_id


def test_new_curated_models_arrive_pending_in_an_existing_database(database: Database) -> None:
    """As if the database was migrated by a version whose list lacked gemini-3.8-flash."""
    gemini = get_model_by_provider_id("google", "gemini-3.8-flash")
    gpt41 = get_model_by_provider_id("openai", "gpt-4.1")
    edit_model(gpt41.id, metadata={"retires_at": None})
    with database.write() as session:
        session.execute(delete(AIModel).where(AIModel.id == gemini.id))
        session.execute(delete(AppSetting).where(AppSetting.key == VERSION_SETTING))
        session.add(
            AIModel(
                provider="google",
                category="text",
                model_id="gemini-2.5-flash",
                display_name="Gemini 2.5 Flash",
                status="enabled",
                source="curated",
            )
        )
    set_default_model("google", TEXT, "gemini-2.5-flash")
    migrate.upgrade(database)
    returned = get_model_by_provider_id("google", "gemini-3.8-flash")
    assert returned.status is ModelStatus.PENDING and returned.source.value == "curated"
    assert returned.input_price_per_mtok is not None  # priced from the catalog file
    # What the admin had stays: the old default, its row, and the date they cleared.
    assert get_settings()[default_setting_key(TEXT, "google")] == "gemini-2.5-flash"
    old = get_model_by_provider_id("google", "gemini-2.5-flash")
    assert old.status is ModelStatus.ENABLED
    assert old.retires_at == _midnight("2026-12-01")  # dated by the dataset, for the rules
    assert _sources(old)["retires_at"].startswith(SOURCE)
    gpt41 = get_model_by_provider_id("openai", "gpt-4.1")
    assert gpt41.retires_at is None and _sources(gpt41)["retires_at"] == "admin"


def test_a_newer_catalog_adds_its_models_pending_once(database: Database) -> None:
    document = json.loads(json.dumps(_catalog_document()))
    openai = next(g for g in document["providers"] if g["provider"] == "openai")
    openai["models"].append({"model_id": "gpt-7", "display_name": "GPT-7"})
    document["generated"]["as_of"] = "2027-01-01"
    newer = parse_catalog(document)
    _sync(database, catalog=newer)
    model = get_model_by_provider_id("openai", "gpt-7")
    assert model.status is ModelStatus.PENDING
    edit_model(model.id, metadata={"retires_at": "2031-01-01"})
    with database.write() as session:
        assert not sync_catalog_data(session, catalog=newer).applied  # this version was applied


def _catalog_document() -> dict[str, Any]:
    from importlib import resources

    return dict(
        json.loads(resources.files("registry").joinpath("datasets", "catalog.json").read_text())
    )


# --- precedence: admin > listing > dataset ------------------------------------------------------


def test_an_admin_date_survives_newer_data_and_a_discovery(
    providers: StandInProviders, database: Database
) -> None:
    gpt4o = get_model_by_provider_id("openai", "gpt-4o")
    assert gpt4o.retires_at == _midnight("2027-01-14")
    edit_model(gpt4o.id, metadata={"retires_at": "2027-03-31"})
    newer = {
        "gpt-4o": {"retires_at": "2027-02-01", "successor": "gpt-6-luna", "source_url": None},
        "gpt-4.1": {"retires_at": "2027-02-15", "successor": None, "source_url": None},
    }
    _sync(database, lifecycle_data=_newer_lifecycle(newer))
    gpt4o = get_model_by_provider_id("openai", "gpt-4o")
    assert gpt4o.retires_at == _midnight("2027-03-31")
    assert _sources(gpt4o)["retires_at"] == "admin"
    gpt41 = get_model_by_provider_id("openai", "gpt-4.1")
    assert gpt41.retires_at == _midnight("2027-02-15")
    assert _sources(gpt41)["retires_at"] == "dataset litellm 1.111.0 2026-12-20"
    assert gpt41.replacement_model_id is None  # the newer data names no successor any more
    assert "replacement_model_id" not in _sources(gpt41)
    report = discover_models("text", ["openai"], force=True)
    assert report.total_errors == 0, report.to_json()
    gpt4o = get_model_by_provider_id("openai", "gpt-4o")
    assert gpt4o.retires_at == _midnight("2027-03-31")
    assert _sources(gpt4o)["retires_at"] == "admin"


def test_a_listing_date_beats_the_datasets(database: Database) -> None:
    listed = DiscoveredModel("gpt-4o", "GPT-4o", retires_at=_midnight("2027-06-30"))
    upsert_discovered_models("openai", TEXT, fill_missing_metadata("openai", TEXT, [listed]))
    model = get_model_by_provider_id("openai", "gpt-4o")
    assert model.retires_at == _midnight("2027-06-30")
    assert _sources(model)["retires_at"] == "listing"
    assert _sources(model)["replacement_model_id"].startswith(SOURCE)  # the listing was silent
    _sync(database, lifecycle_data=_newer_lifecycle({"gpt-4o": {"retires_at": "2027-01-01"}}))
    model = get_model_by_provider_id("openai", "gpt-4o")
    assert model.retires_at == _midnight("2027-06-30")
    silent = DiscoveredModel("gpt-4o", "GPT-4o")
    upsert_discovered_models("openai", TEXT, fill_missing_metadata("openai", TEXT, [silent]))
    model = get_model_by_provider_id("openai", "gpt-4o")
    assert model.retires_at == _midnight("2027-01-14")  # a listing without a date: the dataset's
    assert _sources(model)["retires_at"].startswith(SOURCE)


# --- the catalog generator ---------------------------------------------------------------------


def _lifecycle_for(category: str, provider: str, models: dict[str, Any]) -> LifecycleDataset:
    return LifecycleDataset(
        {
            "dataset": {"name": "litellm", "version": "0.0.0", "date": "2026-11-20"},
            "models": {category: {provider: models}},
        }
    )


def test_the_catalog_generator_replaces_a_retired_model_and_default_by_their_successors() -> None:
    from registry.prices import dataset as price_dataset

    prices = price_dataset()
    assert prices is not None, "genai-prices belongs to the discovery extra"
    data = _lifecycle_for(
        "text",
        "google",
        {
            "gemini-2.5-flash": {"retires_at": "2026-12-01", "successor": "gemini-3.5-flash-lite"},
            "gemini-2.5-flash-lite": {"retires_at": "2027-05-01", "successor": "gemini-3.8-flash"},
        },
    )
    selection = {
        "category": "text",
        "provider": "google",
        "default": "gemini-2.5-flash",
        "models": [
            {"model_id": "gemini-2.5-flash", "display_name": "Gemini 2.5 Flash"},
            {"model_id": "gemini-2.5-flash-lite", "display_name": "Gemini 2.5 Flash-Lite"},
        ],
    }
    notes: list[str] = []
    group = _script("catalog_data").curate(selection, data, prices, RELEASE_DAY, notes)
    models = {m["model_id"]: m for m in group["models"]}
    assert list(models) == ["gemini-3.5-flash-lite", "gemini-2.5-flash-lite", "gemini-3.8-flash"]
    assert group["default"] == "gemini-3.5-flash-lite"
    assert models["gemini-2.5-flash-lite"]["retires_at"] == "2027-05-01"
    assert models["gemini-2.5-flash-lite"]["successor"] == "gemini-3.8-flash"
    assert models["gemini-3.8-flash"]["display_name"] == "Gemini 3.8 Flash"  # the price dataset's
    assert all(m["input_price_per_mtok"] is not None for m in models.values())
    assert "text/google: dropped gemini-2.5-flash (retired 2026-12-01)" in notes


def test_the_catalog_generator_refuses_a_default_retiring_without_a_successor() -> None:
    from registry.prices import dataset as price_dataset

    prices = price_dataset()
    assert prices is not None
    # OpenAI names a realtime model as its TTS models' successor: no speech model to move to.
    data = _lifecycle_for(
        "tts", "openai", {"tts-1": {"retires_at": "2026-12-12", "successor": "gpt-realtime-mini"}}
    )
    selection = {
        "category": "tts",
        "provider": "openai",
        "default": "tts-1",
        "models": [{"model_id": "tts-1", "display_name": "TTS-1"}],
    }
    with pytest.raises(SystemExit, match="the default tts-1 retires 2026-12-12; choose another"):
        _script("catalog_data").curate(selection, data, prices, RELEASE_DAY, [])


def test_applying_the_same_data_again_changes_nothing(database: Database) -> None:
    with database.write() as session:
        session.execute(delete(AppSetting).where(AppSetting.key == VERSION_SETTING))
    stamp = database.stamp()
    with database.write() as session:
        again = sync_catalog_data(session)
    assert again.applied and (again.added, again.updated) == ([], 0)
    assert database.stamp() == stamp + 1  # the write itself; no second bump for the data
