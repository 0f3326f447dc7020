"""The model grids at scale: finding (every word), sorting and filtering in the database across
all pages, and the grid page that uses them (AppTest). Data-layer tests run on SQLite and
PostgreSQL (`database` fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from registry.db import Database
from registry.errors import InvalidInputError
from registry.store import (
    ModelFilter,
    ModelOrder,
    count_models,
    list_model_ids,
    list_models,
    upsert_discovered_models,
)
from registry.types import DiscoveredModel
from tests.dashboard_support import (
    assert_clean,
    click,
    everything,
    grid_frame,
    grid_models,
    headings,
    open_app,
    served_on,
    toasts,
)

NOW = datetime.now(UTC)


def seed_openrouter() -> None:
    """A few OpenRouter-style text models with prices, limits, capabilities, retirements."""
    upsert_discovered_models(
        "openrouter",
        "text",
        [
            DiscoveredModel(
                model_id="nousresearch/hermes-3-llama-3.1-405b",
                display_name="Nous: Hermes 3 405B Instruct",
                description="Hermes 3 is a generalist language model.",
                context_window=131_072,
                input_price_per_mtok=1.0,
                output_price_per_mtok=3.0,
                max_output_tokens=16_384,
                capabilities=["tools"],
            ),
            DiscoveredModel(
                model_id="nousresearch/hermes-2-pro-llama-3-8b",
                display_name="NousResearch: Hermes 2 Pro - Llama-3 8B",
                context_window=8_192,
                input_price_per_mtok=0.025,
                output_price_per_mtok=0.04,
            ),
            DiscoveredModel(
                model_id="meta-llama/llama-3.1-405b-instruct",
                display_name="Meta: Llama 3.1 405B Instruct",
                description="The 405B flagship.",
                context_window=32_768,
                input_price_per_mtok=4.0,
                capabilities=["tools", "structured_output"],
                retires_at=NOW + timedelta(days=20),
            ),
            DiscoveredModel(
                model_id="openai/gpt-4o",
                display_name="OpenAI: GPT-4o",
                description="Hermes is not in this one's name: multimodal flagship.",
                context_window=128_000,
                input_price_per_mtok=2.5,
                output_price_per_mtok=10.0,
                capabilities=["vision", "tools", "structured_output"],
                retires_at=NOW + timedelta(days=200),
            ),
        ],
    )


def seeded(**criteria: object) -> ModelFilter:
    """Only the models `seed_openrouter` added (the curated catalog is enabled, these pending)."""
    return ModelFilter(provider="openrouter", status="pending", **criteria)  # type: ignore[arg-type]


def ids(filters: ModelFilter, order: ModelOrder | None = None, **page: int) -> list[str]:
    return [m.model_id for m in list_models(filters, order=order, **page)]


def test_every_search_word_must_match_id_name_or_description(database: Database) -> None:
    seed_openrouter()
    assert ids(seeded(search="Hermes 405B")) == ["nousresearch/hermes-3-llama-3.1-405b"]
    assert ids(seeded(search="hermes")) == [
        "nousresearch/hermes-2-pro-llama-3-8b",
        "nousresearch/hermes-3-llama-3.1-405b",
        "openai/gpt-4o",  # "Hermes" in its description
    ]
    assert ids(seeded(search="  405b   FLAGSHIP ")) == ["meta-llama/llama-3.1-405b-instruct"]
    assert ids(seeded(search="openrouter/openai")) == ["openai/gpt-4o"]
    assert count_models(seeded(search="hermes 405b nothing")) == 0
    assert count_models(seeded(search="100%")) == 0  # `%` is a character, not a wildcard


def test_sorting_orders_every_page_in_the_database(database: Database) -> None:
    seed_openrouter()
    by_price = ModelOrder("input_price", descending=True)
    first = ids(seeded(), by_price, limit=2, offset=0)
    second = ids(seeded(), by_price, limit=2, offset=2)
    assert first == ["meta-llama/llama-3.1-405b-instruct", "openai/gpt-4o"]
    assert second == [
        "nousresearch/hermes-3-llama-3.1-405b",
        "nousresearch/hermes-2-pro-llama-3-8b",
    ]
    # Unknown values (no output price) come last in either direction.
    for descending in (False, True):
        assert ids(seeded(), ModelOrder("output_price", descending))[-1] == (
            "meta-llama/llama-3.1-405b-instruct"
        )
    assert ids(seeded(), ModelOrder("context_window"), limit=1) == [
        "nousresearch/hermes-2-pro-llama-3-8b"
    ]
    with pytest.raises(InvalidInputError, match="cannot sort by"):
        list_models(seeded(), order=ModelOrder("price; drop table ai_models"))


def test_filters_for_capability_price_context_output_and_retirement(database: Database) -> None:
    seed_openrouter()
    assert ids(seeded(capability="vision")) == ["openai/gpt-4o"]
    assert ids(seeded(capability="structured_output")) == [
        "meta-llama/llama-3.1-405b-instruct",
        "openai/gpt-4o",
    ]
    assert ids(seeded(max_input_price=1.0)) == [
        "nousresearch/hermes-2-pro-llama-3-8b",
        "nousresearch/hermes-3-llama-3.1-405b",
    ]
    assert ids(seeded(min_context=128_000)) == [
        "nousresearch/hermes-3-llama-3.1-405b",
        "openai/gpt-4o",
    ]
    assert ids(seeded(min_output=16_000)) == ["nousresearch/hermes-3-llama-3.1-405b"]
    assert ids(seeded(retiring_within_days=30)) == ["meta-llama/llama-3.1-405b-instruct"]
    assert count_models(seeded(retiring_within_days=365)) == 2
    both = seeded(capability="tools", max_input_price=3.0, search="instruct")
    assert ids(both) == ["nousresearch/hermes-3-llama-3.1-405b"]
    assert len(list_model_ids(both)) == count_models(both) == 1
    assert count_models(seeded(capability="tools")) == 3
    with pytest.raises(InvalidInputError, match="unknown capability"):
        count_models(seeded(capability="telepathy"))


# --- the page (AppTest; the page's behaviour does not depend on the backend) ------------------


@pytest.fixture
def text_page(sqlite_database: Database) -> Iterator[AppTest]:
    seed_openrouter()
    with served_on("127.0.0.1"):
        at = open_app("text_models")
        assert_clean(at)
        at.selectbox(key="text-provider").set_value("openrouter").run()
        assert_clean(at)
        yield at


def test_grid_cells_show_prices_limits_and_dates_and_never_none(text_page: AppTest) -> None:
    grid = grid_frame(text_page, "text", "pending")
    hermes = grid[grid["model"] == "openrouter/nousresearch/hermes-3-llama-3.1-405b"].iloc[0]
    assert (hermes["input_price"], hermes["output_price"]) == ("$1.00", "$3.00")
    assert (hermes["context_window"], hermes["max_output"]) == ("131,072", "16,384")
    assert hermes["capabilities"] == "tools"
    small = grid[grid["model"] == "openrouter/nousresearch/hermes-2-pro-llama-3-8b"].iloc[0]
    assert (small["input_price"], small["max_output"], small["retires"]) == ("$0.025", "", "")
    llama = grid[grid["model"] == "openrouter/meta-llama/llama-3.1-405b-instruct"].iloc[0]
    retires = (NOW + timedelta(days=20)).strftime("%Y-%m-%d")
    assert llama["retires"] == f"retires in 20 days ({retires})"
    assert not grid.isna().any().any()
    assert "None" not in set(grid.astype(str).to_numpy().ravel())


def test_sort_and_filters_reach_every_page(text_page: AppTest) -> None:
    at = text_page
    at.selectbox(key="text-page-size").set_value(25).run()
    at.selectbox(key="text-sort").set_value("Input price").run()
    at.selectbox(key="text-sort-direction").set_value("↓ desc").run()
    assert_clean(at)
    assert grid_models(at, "text", "pending")[0] == "openrouter/meta-llama/llama-3.1-405b-instruct"
    at.selectbox(key="text-capability").set_value("vision").run()
    assert grid_models(at, "text", "pending") == ["openrouter/openai/gpt-4o"]
    at.selectbox(key="text-capability").set_value("any").run()
    at.selectbox(key="text-retiring").set_value(30).run()
    assert grid_models(at, "text", "pending") == ["openrouter/meta-llama/llama-3.1-405b-instruct"]
    at.selectbox(key="text-retiring").set_value("any").run()
    at.number_input(key="text-max-price").set_value(1.0).run()
    at.selectbox(key="text-min-context").set_value(32_000).run()
    assert grid_models(at, "text", "pending") == ["openrouter/nousresearch/hermes-3-llama-3.1-405b"]
    at.selectbox(key="text-min-output").set_value(32_000).run()
    assert "Pending approval (0)" in headings(at)
    at.selectbox(key="text-min-output").set_value("any").run()
    at.text_input(key="text-search").input("vendor nothing").run()
    assert "Nothing waits for approval. Refresh models to look for new ones. (search is on)" in (
        everything(at)
    )


def test_select_all_matching_approves_every_page(text_page: AppTest) -> None:
    at = text_page
    at.selectbox(key="text-page-size").set_value(25).run()
    seed_many = [
        DiscoveredModel(model_id=f"bulk/model-{i:02d}", display_name=f"Bulk {i}") for i in range(40)
    ]
    upsert_discovered_models("openrouter", "text", seed_many)
    at.text_input(key="text-search").input("bulk").run()
    assert "Pending approval (40)" in headings(at)
    matching = next(c for c in at.checkbox if c.label == "Select all 40 matching")
    matching.check().run()
    assert "Rows 1–25 of 40 · 40 selected" in everything(at)
    at = click(at, "text-approve")
    assert_clean(at)
    assert toasts(at)[0].startswith("Approved 40 model(s)")
    assert count_models(ModelFilter(provider="openrouter", status="enabled", search="bulk")) == 40
    assert count_models(seeded()) == 4  # the other pending models were not touched


def test_tts_prices_are_per_million_characters(sqlite_database: Database) -> None:
    upsert_discovered_models(
        "elevenlabs", "tts", [DiscoveredModel("voice-1", "Rachel", price_per_mchar=30.0)]
    )
    with served_on("127.0.0.1"):
        at = open_app("tts_models")
        assert_clean(at)
        grid = grid_frame(at, "tts", "pending")
        assert list(grid["input_price"]) == ["$30.00"]
        assert "context_window" not in grid
