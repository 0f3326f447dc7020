"""Each listing's prices, output limit, capabilities, retirement and replacement, normalised.

Driven through the real adapters against the stand-ins serving the project's own fixtures
(`registry/standin/fixtures/`), with hostile values planted in copies of them.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from registry.standin.server import StandInServer
from registry.types import DiscoveredModel

from .adapter_cases import ADAPTERS, AdapterCase, recorded


def _listed(adapter: AdapterCase, server: StandInServer, body: Any = None) -> dict[str, Any]:
    adapter.install(server, adapter.sample if body is None else body)
    return {m.model_id: m for m in adapter.list_models().models}


@pytest.mark.parametrize("adapter", [ADAPTERS["openrouter"]])
def test_openrouter_prices_per_token_become_usd_per_million_with_capabilities(
    adapter: AdapterCase, server: StandInServer
) -> None:
    mini: DiscoveredModel = _listed(adapter, server)["openai/gpt-5.4-mini"]
    assert mini.input_price_per_mtok == 0.75
    assert mini.output_price_per_mtok == 4.5
    assert mini.price_per_mchar is None
    assert mini.max_output_tokens == 128_000
    assert mini.capabilities == ["vision", "tools", "structured_output", "reasoning"]


@pytest.mark.parametrize("adapter", [ADAPTERS["openrouter"]])
@pytest.mark.parametrize(
    "prompt",
    ["-1", "-0.000001", "NaN", "inf", "1e300", "0.5", "free", "", None, True, [], {"x": 1}],
)
def test_openrouter_absurd_prices_and_limits_are_dropped_never_fatal(
    adapter: AdapterCase, server: StandInServer, prompt: Any
) -> None:
    body = copy.deepcopy(adapter.sample)
    entry = body["data"][0]
    entry["pricing"]["prompt"] = prompt  # "0.5" per token is $500,000 per million: absurd too
    entry["top_provider"]["max_completion_tokens"] = 10**30
    entry["supported_parameters"] = ["tools", 7, None, {"a": 1}, "teleportation"]
    model = _listed(adapter, server, body)[entry["id"]]
    assert model.input_price_per_mtok is None
    assert model.output_price_per_mtok == 4.5
    assert model.max_output_tokens is None
    assert model.capabilities == ["vision", "tools"]


@pytest.mark.parametrize("adapter", [ADAPTERS["openrouter"]])
def test_openrouter_free_models_cost_zero_not_unknown(
    adapter: AdapterCase, server: StandInServer
) -> None:
    body = copy.deepcopy(adapter.sample)
    entry = body["data"][0]
    entry["pricing"] = {"prompt": "0", "completion": "0"}
    model = _listed(adapter, server, body)[entry["id"]]
    assert (model.input_price_per_mtok, model.output_price_per_mtok) == (0.0, 0.0)


@pytest.mark.parametrize("adapter", [ADAPTERS["mistral"]])
def test_mistral_capability_flags_deprecation_and_replacement(
    adapter: AdapterCase, server: StandInServer
) -> None:
    body = copy.deepcopy(adapter.sample)
    medium = body["data"][0]
    medium["deprecation"] = "2026-03-31T12:00:00Z"
    medium["deprecation_replacement_model"] = "mistral-medium-2604"
    body["data"][1]["capabilities"]["vision"] = "no"  # only a real true counts
    models = _listed(adapter, server, body)
    listed = models[medium["id"]]
    assert listed.capabilities == ["vision", "tools"]
    assert listed.retires_at == datetime(2026, 3, 31, 12, tzinfo=UTC)
    assert listed.replacement_model_id == "mistral-medium-2604"
    assert listed.input_price_per_mtok is None and listed.max_output_tokens is None
    assert models["codestral-latest"].capabilities == ["tools"]
    assert models["codestral-latest"].replacement_model_id is None


@pytest.mark.parametrize("adapter", [ADAPTERS["google"]])
def test_gemini_output_limit_and_thinking_as_reasoning(
    adapter: AdapterCase, server: StandInServer
) -> None:
    flash = _listed(adapter, server)["gemini-2.5-flash"]
    assert flash.max_output_tokens == 65_536
    assert flash.capabilities == ["reasoning"]
    assert flash.input_price_per_mtok is None


@pytest.mark.parametrize("adapter", [ADAPTERS["anthropic"]])
def test_anthropic_max_tokens_and_capability_objects(
    adapter: AdapterCase, server: StandInServer
) -> None:
    sonnet = _listed(adapter, server)["claude-sonnet-4-6"]
    assert sonnet.max_output_tokens == 128_000
    assert sonnet.capabilities == ["vision", "structured_output", "reasoning"]


@pytest.mark.parametrize("adapter", [ADAPTERS["anthropic"]])
def test_anthropic_listing_without_capabilities_leaves_them_unknown(
    adapter: AdapterCase, server: StandInServer
) -> None:
    body = copy.deepcopy(adapter.sample)
    for entry in body["data"]:
        entry.pop("capabilities", None)
        entry["max_tokens"] = -1
    sonnet = _listed(adapter, server, body)["claude-sonnet-4-6"]
    assert sonnet.capabilities is None and sonnet.max_output_tokens is None


@pytest.mark.parametrize("adapter", [ADAPTERS["anthropic"]])
def test_anthropic_recorded_listing_capabilities_follow_each_supported_flag(
    adapter: AdapterCase, server: StandInServer
) -> None:
    models = _listed(adapter, server, recorded("anthropic_models.json"))
    assert models["claude-opus-4-6"].max_output_tokens == 128_000
    assert models["claude-opus-4-6"].capabilities == ["vision", "structured_output", "reasoning"]
    # `structured_outputs: {"supported": false}` in the recording
    assert models["claude-opus-4-20250514"].capabilities == ["vision", "reasoning"]
    assert models["claude-opus-4-20250514"].max_output_tokens == 32_000
