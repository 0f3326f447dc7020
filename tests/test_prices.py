"""Prices the listings lack, from genai-prices' bundled data (registry.prices), on both backends.

Listing values win over the dataset, admin edits win over both, every filled value names the
dataset and its date in `metadata_sources`, and no network is touched. Over the project's
stand-in fixtures, and over the recorded real listings in ../shared when present.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from registry.db import Database
from registry.demo import StandInProviders
from registry.discovery import discover_models
from registry.prices import DATASET_PROVIDERS, PriceDataset, dataset, fill_missing_metadata
from registry.store import edit_model, get_model_by_provider_id, upsert_discovered_models
from registry.types import PRICE_FIELDS, CatalogModel, Category, DiscoveredModel
from tests.conftest import SHARED_FIXTURES
from tests.test_discovery_recorded import recorded_providers  # noqa: F401  (the fixture)

TEXT, TTS = Category.TEXT, Category.TTS


def _source() -> str:
    data = dataset()
    assert data is not None, "genai-prices belongs to the discovery extra"
    return data.source


def _sources(model: CatalogModel) -> dict[str, str]:
    return dict(model.metadata_sources or {})


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInProviders]:
    with StandInProviders() as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        yield standins


def test_the_source_names_the_dataset_its_version_and_its_date() -> None:
    data = dataset()
    assert isinstance(data, PriceDataset)
    assert data.source == f"dataset genai-prices {data.version} {data.date}"
    assert data.version == "0.2.3" and data.date == "2026-11-03"


# (provider, category, model id of the project's fixtures, input, output, per 1M characters)
DATASET_PRICED = [
    ("openai", TEXT, "gpt-4o", 2.5, 10.0, None),
    ("anthropic", TEXT, "claude-sonnet-4-20250514", 3.0, 15.0, None),
    ("xai", TEXT, "grok-3", 3.0, 15.0, None),
    ("mistral", TEXT, "mistral-large-latest", 2.0, 6.0, None),
    ("google", TEXT, "gemini-2.5-pro", 1.25, 10.0, None),  # the base of its tiered price
    ("openai", TTS, "tts-1-hd", None, None, 30.0),
    ("openai", TTS, "gpt-4o-mini-tts", 0.6, 12.0, None),  # text in, audio tokens out
    ("google", TTS, "gemini-2.5-flash-preview-tts", 0.5, 10.0, None),
]


@pytest.mark.parametrize(
    ("provider", "category", "model_id", "inp", "out", "mchar"),
    DATASET_PRICED,
    ids=[f"{p}-{c.value}-{m}" for p, c, m, *_ in DATASET_PRICED],
)
def test_prices_the_listing_lacks_come_from_the_dataset_with_its_source(
    providers: StandInProviders,
    database: Database,
    provider: str,
    category: Category,
    model_id: str,
    inp: float | None,
    out: float | None,
    mchar: float | None,
) -> None:
    report = discover_models(category, [provider])
    assert report.total_errors == 0, report.to_json()
    model = get_model_by_provider_id(provider, model_id, category)
    assert (model.input_price_per_mtok, model.output_price_per_mtok) == (inp, out)
    assert model.price_per_mchar == mchar
    filled = {name for name in PRICE_FIELDS if getattr(model, name) is not None}
    assert filled and all(_sources(model)[name] == _source() for name in filled)


def test_openrouter_keeps_its_listing_prices(
    providers: StandInProviders, database: Database
) -> None:
    discover_models("text", ["openrouter"])
    small = get_model_by_provider_id("openrouter", "mistralai/mistral-small-3.2-24b-instruct")
    assert (small.input_price_per_mtok, small.output_price_per_mtok) == (0.09375, 0.25)
    assert _sources(small)["input_price_per_mtok"] == "listing"
    assert _sources(small)["output_price_per_mtok"] == "listing"


def test_voices_and_models_the_dataset_does_not_know_stay_unpriced(
    providers: StandInProviders, database: Database
) -> None:
    assert discover_models("tts").total_errors == 0
    for provider, voice in [
        ("elevenlabs", "21m00Tcm4TlvDq8ikWAM"),
        ("azure", "en-US-JennyNeural"),
        ("google", "en-US-Chirp3-HD-Achernar"),
    ]:
        model = get_model_by_provider_id(provider, voice, "tts")
        assert all(getattr(model, name) is None for name in PRICE_FIELDS), voice
        assert not set(_sources(model)) & set(PRICE_FIELDS)


def test_an_admin_price_survives_a_refresh_and_the_rest_stays_the_datasets(
    providers: StandInProviders, database: Database
) -> None:
    discover_models("text", ["openai"])
    gpt4o = get_model_by_provider_id("openai", "gpt-4o")
    edit_model(gpt4o.id, metadata={"input_price_per_mtok": "1.5", "output_price_per_mtok": None})
    discover_models("text", ["openai"], force=True)
    gpt4o = get_model_by_provider_id("openai", "gpt-4o")
    assert gpt4o.input_price_per_mtok == 1.5
    assert gpt4o.output_price_per_mtok is None  # cleared by the admin: not filled again
    assert _sources(gpt4o)["input_price_per_mtok"] == "admin"
    assert _sources(gpt4o)["output_price_per_mtok"] == "admin"
    mini = get_model_by_provider_id("openai", "gpt-4o-mini")
    assert mini.input_price_per_mtok is not None
    assert _sources(mini)["input_price_per_mtok"] == _source()


def test_a_dataset_price_is_kept_by_later_refreshes_and_yields_to_a_listing_price(
    database: Database,
) -> None:
    unpriced = DiscoveredModel("openai/gpt-4o", "GPT-4o", max_output_tokens=16_384)
    for _ in range(2):  # a second refresh whose listing still lacks the price keeps it
        upsert_discovered_models(
            "openrouter", "text", fill_missing_metadata("openrouter", TEXT, [unpriced])
        )
        model = get_model_by_provider_id("openrouter", "openai/gpt-4o")
        assert (model.input_price_per_mtok, model.output_price_per_mtok) == (2.5, 10.0)
        assert _sources(model) == {
            "input_price_per_mtok": _source(),
            "output_price_per_mtok": _source(),
            "max_output_tokens": "listing",
        }
    listed = DiscoveredModel("openai/gpt-4o", "GPT-4o", input_price_per_mtok=2.0)
    upsert_discovered_models(
        "openrouter", "text", fill_missing_metadata("openrouter", TEXT, [listed])
    )
    model = get_model_by_provider_id("openrouter", "openai/gpt-4o")
    assert (model.input_price_per_mtok, model.output_price_per_mtok) == (2.0, 10.0)
    assert _sources(model)["input_price_per_mtok"] == "listing"
    assert _sources(model)["output_price_per_mtok"] == _source()


def test_curated_speech_models_get_dataset_prices_but_keep_an_admins(
    providers: StandInProviders, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenAI TTS without a key is served from the curated list: its seeded rows get prices."""
    monkeypatch.delenv("OPENAI_API_KEY")
    hd = get_model_by_provider_id("openai", "tts-1-hd", "tts")
    edit_model(hd.id, metadata={"price_per_mchar": "25"})
    result = discover_models("tts", ["openai"]).results[0]
    assert result.source.value == "curated" and not result.errors
    tts1 = get_model_by_provider_id("openai", "tts-1", "tts")
    assert tts1.price_per_mchar == 15.0
    assert _sources(tts1)["price_per_mchar"] == _source()
    mini = get_model_by_provider_id("openai", "gpt-4o-mini-tts", "tts")
    assert (mini.input_price_per_mtok, mini.output_price_per_mtok) == (0.6, 12.0)
    hd = get_model_by_provider_id("openai", "tts-1-hd", "tts")
    assert hd.price_per_mchar == 25.0 and _sources(hd)["price_per_mchar"] == "admin"


def test_prices_come_from_the_bundled_data_without_touching_the_network() -> None:
    """Sockets are blocked before anything loads; another library's fetched snapshot is ignored."""
    probe = textwrap.dedent(
        """
        import socket

        def refuse(*args, **kwargs):
            raise AssertionError("network touched")

        socket.socket.connect = socket.socket.connect_ex = refuse
        socket.create_connection = socket.getaddrinfo = refuse

        from genai_prices import data_snapshot, types, update_prices
        from registry.prices import fill_missing_metadata
        from registry.types import Category, DiscoveredModel

        # What UpdatePrices would install after a fetch: prices the bundled data does not say.
        fetched = types.Provider(
            id="openai", name="OpenAI", api_pattern="", models=[types.ModelInfo(
                id="gpt-4o", match=types.ClauseEquals(equals="gpt-4o"),
                prices=types.ModelPrice(input_mtok=999, output_mtok=999))])
        data_snapshot.set_custom_snapshot(data_snapshot.DataSnapshot([fetched], True))
        [model] = fill_missing_metadata("openai", Category.TEXT, [DiscoveredModel("gpt-4o", "x")])
        print(model.input_price_per_mtok, model.output_price_per_mtok)
        print(update_prices._shared_updater.ref_count)
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2.5", "10.0", "0"]


def test_without_the_dataset_package_listings_pass_through_and_resolving_never_loads_it() -> None:
    probe = textwrap.dedent(
        """
        import sys
        import registry, registry.discovery
        print("genai_prices" in sys.modules)
        sys.modules["genai_prices"] = None  # as if the discovery extra lacked it
        from registry.prices import fill_missing_metadata
        from registry.types import Category, DiscoveredModel
        given = [DiscoveredModel("gpt-5.4", "GPT-5.4")]  # a model the lifecycle data leaves undated
        print(fill_missing_metadata("openai", Category.TEXT, given) == given)
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]


# --- the recorded real listings (../shared) ------------------------------------------------

recorded = pytest.mark.skipif(
    not SHARED_FIXTURES.is_dir(), reason="../shared/fixtures/providers is not present"
)


@recorded
def test_recorded_text_listings_get_dataset_prices_where_they_lack_them(
    database: Database,
    recorded_providers: StandInProviders,  # noqa: F811
) -> None:
    assert discover_models("text").total_errors == 0
    for provider, model_id in [
        ("openai", "gpt-4o"),
        ("anthropic", "claude-3-5-haiku-20241022"),
        ("mistral", "mistral-large-latest"),
        ("xai", "grok-3"),
        ("google", "gemini-2.5-flash"),
    ]:
        model = get_model_by_provider_id(provider, model_id)
        assert model.input_price_per_mtok and model.output_price_per_mtok, model_id
        assert _sources(model)["input_price_per_mtok"] == _source(), model_id
    gpt4o = get_model_by_provider_id("openrouter", "openai/gpt-4o")
    assert (gpt4o.input_price_per_mtok, gpt4o.output_price_per_mtok) == (2.5, 10.0)
    assert _sources(gpt4o)["input_price_per_mtok"] == "listing"


@recorded
def test_recorded_speech_listings_price_only_what_the_dataset_knows(
    database: Database,
    recorded_providers: StandInProviders,  # noqa: F811
) -> None:
    assert discover_models("tts").total_errors == 0
    assert get_model_by_provider_id("openai", "tts-1", "tts").price_per_mchar == 15.0
    assert get_model_by_provider_id("azure", "en-US-JennyNeural", "tts").price_per_mchar is None


def test_every_provider_we_map_exists_in_the_dataset() -> None:
    data = dataset()
    assert data is not None
    from genai_prices.data import providers

    assert set(DATASET_PROVIDERS.values()) <= {p.id for p in providers}


def test_a_fault_in_the_dataset_leaves_the_price_unknown_instead_of_failing() -> None:
    from genai_prices import types

    broken = types.Provider(
        id="openai",
        name="OpenAI",
        api_pattern="",
        models=[types.ModelInfo(id="gpt-4o", match=types.ClauseRegex(regex="("))],
    )
    assert PriceDataset([broken], "0.0.0").prices("openai", TEXT, "gpt-4o") == {}
