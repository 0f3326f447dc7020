"""`registry.testing`: the main application's own tests build a registry from a few lines."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from registry import (
    FallbackReason,
    get_ai_config,
    get_ai_config_for_story,
    get_ai_model,
    get_tts_model,
    resolve,
)
from registry.client import default_registry, set_default_registry
from registry.db import Database, get_database
from registry.errors import InvalidInputError, ModelNotEnabledError
from registry.store import list_models
from registry.testing import ModelRow, fake_registry

README = Path(__file__).resolve().parents[1] / "README.md"


# --- the README's example, verbatim (test_the_readme_shows_this_example keeps them equal) ---


def test_a_story_whose_model_was_retired_gets_the_provider_default() -> None:
    models = [
        ("text", "openai", "gpt-4o", "deprecated"),
        ("text", "openai", "gpt-5.4-mini", "enabled"),
        ("tts", "openai", "alloy", "enabled"),
    ]
    with fake_registry(
        models=models,
        defaults={("text", "openai"): "gpt-5.4-mini", ("tts", "openai"): "alloy"},
        global_text=("openai", "gpt-5.4-mini"),
        global_tts=("openai", "alloy"),
    ):
        cfg = get_ai_config_for_story("openai", "gpt-4o", 0.4)
        assert cfg.model_id == "gpt-5.4-mini"
        assert cfg.reason == "deprecated"
        assert get_tts_model().model_id == "alloy"


# --- end of the README's example ---------------------------------------------------------------


def test_the_readme_shows_this_example() -> None:
    import inspect

    source = inspect.getsource(test_a_story_whose_model_was_retired_gets_the_provider_default)
    assert source in README.read_text(encoding="utf-8")


def test_the_catalog_holds_exactly_the_listed_models() -> None:
    with fake_registry(
        models=[
            ("text", "mistral", "mistral-small", "enabled"),
            ("text", "xai", "grok-4", "pending"),
        ],
        defaults={("text", "mistral"): "mistral-small"},
        global_text=("mistral", "mistral-small"),
        temperature=0.25,
        max_tokens=777,
    ):
        assert sorted((m.provider, m.model_id, m.status.value) for m in list_models()) == [
            ("mistral", "mistral-small", "enabled"),
            ("xai", "grok-4", "pending"),
        ]
        config = get_ai_config()
        assert (config.display_id, config.temperature, config.max_tokens) == (
            "mistral/mistral-small",
            0.25,
            777,
        )
        with pytest.raises(ModelNotEnabledError):
            get_ai_model("grok-4", {"provider": "xai", "model": "grok-4"})


def test_a_successor_can_be_named_for_a_deprecated_model() -> None:
    with fake_registry(
        models=[
            ("text", "anthropic", "claude-old", "deprecated", "claude-new"),
            ("text", "anthropic", "claude-new", "enabled"),
        ],
    ):
        answer = resolve("text", "anthropic", "claude-old")
        assert (answer.model_id, answer.reason) == ("claude-new", FallbackReason.DEPRECATED)


def test_the_previous_database_and_snapshot_are_restored(sqlite_database: Database) -> None:
    before = get_ai_model()
    application = default_registry()
    keeper = application.keeper()
    with fake_registry(
        models=[("text", "google", "gemini-x", "enabled")],
        global_text=("google", "gemini-x"),
    ) as fake:
        assert get_database() is fake.database is not sqlite_database
        assert get_ai_model().display_id == "google/gemini-x"
    assert get_database() is sqlite_database
    assert default_registry() is application
    assert application.keeper() is keeper  # never stopped: its thread ran on meanwhile
    assert get_ai_model() == before


def test_a_process_without_a_registry_is_left_without_one() -> None:
    application = set_default_registry(None)
    with fake_registry(models=[("text", "openai", "gpt-4o", "enabled")]) as fake:
        assert default_registry() is fake.registry
    assert set_default_registry(application) is None


def test_an_exception_in_the_test_still_restores_everything(sqlite_database: Database) -> None:
    with (
        pytest.raises(RuntimeError, match="the application failed"),
        fake_registry(models=[("text", "openai", "gpt-4o", "enabled")]),
    ):
        raise RuntimeError("the application failed")
    assert get_database() is sqlite_database


@pytest.mark.parametrize(
    ("models", "defaults", "message"),
    [
        ([("text", "cohere", "command-r", "enabled")], {}, "cohere"),
        ([("text", "openai", "gpt-4o", "approved")], {}, "approved"),
        ([("speech", "openai", "alloy", "enabled")], {}, "speech"),
        ([("text", "openai", "gpt-4o", "pending")], {("text", "openai"): "gpt-4o"}, "enabled"),
        ([], {("text", "openai"): "gpt-4o"}, "gpt-4o"),
        ([("text", "openai", "gpt-4o")], {}, "4 or 5"),
    ],
)
def test_a_description_that_cannot_be_a_catalog_is_refused(
    sqlite_database: Database,
    models: list[ModelRow],
    defaults: dict[tuple[str, str], str],
    message: str,
) -> None:
    with pytest.raises(InvalidInputError, match=message), fake_registry(models, defaults):
        pass
    assert get_database() is sqlite_database


def test_each_use_is_fast() -> None:
    models = [("text", "openai", f"gpt-{n}", "enabled") for n in range(50)]
    with fake_registry(models=models):  # the first use migrates the template once
        pass
    times = []
    for _ in range(5):
        start = time.perf_counter()
        with fake_registry(models=models, global_text=("openai", "gpt-7")):
            get_ai_model()
        times.append(time.perf_counter() - start)
    # Measured ~0.05 s; the bound leaves room for a loaded 2-core machine.
    assert sorted(times)[2] < 0.5


def test_it_needs_no_postgresql_driver_dashboard_or_sdk(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import json, sys
        sys.modules["psycopg"] = None  # as if the postgres extra were not installed
        from registry.testing import fake_registry
        from registry import get_ai_model
        with fake_registry(models=[("text", "openai", "gpt-4o", "enabled")],
                           global_text=("openai", "gpt-4o")):
            answer = get_ai_model().display_id
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in
                       {"streamlit", "pandas", "openai", "anthropic", "httpx", "httpx2"})
        print(json.dumps([answer, heavy]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == ["openai/gpt-4o", []]
    assert not (tmp_path / "data").exists()  # nothing written where the application runs
