"""The command line: documented JSON, one clear line for bad input, nothing changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from registry.catalog import CURATED
from registry.cli import main
from registry.db import Database
from registry.store import get_model_by_provider_id
from registry.types import ModelStatus


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process; argparse's usage errors exit through SystemExit."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_database(database: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database.url)
    return database


def test_models_list_json_shows_an_enabled_default_for_each_pair(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "models", "list", "--json")
    assert code == 0
    rows = json.loads(out)
    assert {
        "id",
        "provider",
        "category",
        "model_id",
        "display_name",
        "status",
        "context_window",
    } <= set(rows[0])
    defaults = {
        (r["category"], r["provider"]) for r in rows if r["is_default"] and r["status"] == "enabled"
    }
    assert defaults == {(c.value, p) for c, p in CURATED}


def test_models_list_filters(cli_database: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "models", "list", "--category", "tts", "--provider", "azure", "--json"
    )
    assert code == 0
    rows = json.loads(out)
    assert rows and {(r["provider"], r["category"]) for r in rows} == {("azure", "tts")}
    code, out, _ = run(capsys, "models", "list", "--status", "pending", "--json")
    assert (code, json.loads(out)) == (0, [])


def test_set_status_and_set_default_change_the_catalog(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "models",
        "set-status",
        "--status",
        "disabled",
        "openai/gpt-4o",
        "openrouter/openai/gpt-5-mini",
        "--notes",
        "too pricey",
    )
    assert (code, out.strip()) == (0, "2 model(s) set to disabled")
    disabled = get_model_by_provider_id("openrouter", "openai/gpt-5-mini", "text")
    assert disabled.status is ModelStatus.DISABLED and disabled.admin_notes == "too pricey"
    code, out, _ = run(
        capsys,
        "set-default",
        "--category",
        "tts",
        "--provider",
        "azure",
        "--model",
        "en-US-GuyNeural",
    )
    assert (code, out.strip()) == (0, "tts.azure.default_model = en-US-GuyNeural")


@pytest.mark.parametrize(
    "argv",
    [
        ["models", "set-status", "--status", "enabled", "openai/gpt-4o", "openai/no-such-model"],
        ["models", "set-status", "--status", "disabled", "openai/gpt-4o", "openai/gpt-5.4-mini"],
        ["models", "set-status", "--status", "disabled", "not-a-reference"],
        ["models", "set-status", "--status", "retired", "openai/gpt-4o"],
        ["set-default", "--category", "text", "--provider", "openai", "--model", "gpt-404"],
        ["set-default", "--category", "text", "--provider", "elevenlabs", "--model", "x"],
        ["models", "list", "--category", "video"],
        ["models", "list", "--provider", "cohere"],
        ["resolve", "--category", "text"],
    ],
)
def test_bad_input_exits_non_zero_with_one_line_and_changes_nothing(
    cli_database: Database, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    before = run(capsys, "models", "list", "--json")
    code, out, err = run(capsys, *argv)
    assert code != 0 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    assert run(capsys, "models", "list", "--json") == before


def test_an_unmigrated_database_says_to_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from registry.db import set_database

    set_database(None)
    monkeypatch.setenv("REGISTRY_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    code, _, err = run(capsys, "models", "list")
    assert code == 1 and "run `python -m registry migrate` first" in err
    assert run(capsys, "migrate")[0] == 0
    assert run(capsys, "models", "list", "--json")[0] == 0
    set_database(None)


def test_the_installed_command_runs_as_a_module(tmp_path: Path) -> None:
    env = dict(os.environ) | {"REGISTRY_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    migrate = subprocess.run(
        [sys.executable, "-m", "registry", "migrate"], env=env, capture_output=True, text=True
    )
    assert migrate.returncode == 0, migrate.stderr
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "registry",
            "set-default",
            "--category",
            "text",
            "--provider",
            "openai",
            "--model",
            "nope",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == ["error: no text model openai/nope"]
