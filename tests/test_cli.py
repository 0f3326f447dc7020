"""The command line: documented JSON, one clear line for bad input, nothing changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from registry.audit import list_audit_entries
from registry.catalog import CURATED
from registry.cli import main
from registry.db import Database, get_database, set_database
from registry.demo import StandInProviders
from registry.keys import get_api_key, set_api_key
from registry.schema import AIModel, utcnow
from registry.standin import StandInResponse
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
        ["models", "set-successor", "openai/gpt-4o", "no-such-model"],
        ["models", "set-successor", "openai/gpt-4o", "gpt-4o"],
        ["models", "set-successor", "openai/no-such-model", "gpt-4.1"],
        ["models", "set-successor", "gpt-4o", "gpt-4.1"],
        ["models", "set-successor", "openai/gpt-4o", "gpt-4.1", "--category", "video"],
        ["models", "set-successor", "openai/gpt-4o"],
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


# --- provider text reaches the terminal inert ------------------------------------------------

HOSTILE_ID = "gpt-\x1b[2Jevil\x07"
HOSTILE_NAME = "Evil\r\nforged line \u202etxt.exe"
RAW_CONTROLS = ["\x1b", "\x07", "\r", "\u202e"]
DISCOVER = [sys.executable, "-m", "registry", "discover"]


def _add_hostile_model(database: Database) -> None:
    """A row as an older version (or a direct import) may have stored it: raw provider text."""
    now = utcnow()
    with database.write() as session:
        session.add(
            AIModel(
                provider="openai",
                category="text",
                model_id=HOSTILE_ID,
                display_name=HOSTILE_NAME,
                status="pending",
                source="api",
                discovered_at=now,
                created_at=now,
                updated_at=now,
            )
        )


def test_models_list_shows_provider_text_inert(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _add_hostile_model(cli_database)
    code, out, err = run(capsys, "models", "list", "--status", "pending")
    assert code == 0
    assert not any(c in out + err for c in RAW_CONTROLS), out
    assert "gpt-\\x1b[2Jevil\\x07" in out and "Evil\\x0d\\x0aforged line \\u202etxt.exe" in out
    assert len(out.splitlines()) == 1


def test_models_list_json_is_plain_ascii_and_round_trips(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _add_hostile_model(cli_database)
    code, out, _ = run(capsys, "models", "list", "--status", "pending", "--json")
    assert code == 0 and out.isascii()
    assert not any(c in out for c in ["\x1b", "\x07", "\x7f"])
    [row] = json.loads(out)
    assert (row["model_id"], row["display_name"]) == (HOSTILE_ID, HOSTILE_NAME)


def test_errors_naming_provider_text_are_one_inert_line(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        "set-default",
        "--category",
        "text",
        "--provider",
        "openai",
        "--model",
        "x\x1b[2J\ny",
    )
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and "\x1b" not in err


def test_discover_progress_and_log_lines_show_provider_text_inert(
    sqlite_database: Database,
) -> None:
    # Terminal output does not depend on the backend; real processes so logging is the CLI's.
    hostile = StandInResponse(
        400, b"bad request\x1b[2J\x07\rFAKE ok \xe2\x80\xae", headers={"Content-Type": "text/plain"}
    )
    with StandInProviders() as standins:
        standins.servers["openai"].fail("/v1/models", hostile)
        standins.servers["google_tts"].fail("/v1/voices", hostile)  # becomes a logged warning
        env = dict(os.environ) | standins.environment()
        env["REGISTRY_DATABASE_URL"] = sqlite_database.url
        runs = [
            subprocess.run(
                [*DISCOVER, "--category", category, "--provider", provider],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            for category, provider in (("text", "openai"), ("tts", "google"))
        ]
    text_run, tts_run = runs
    assert text_run.returncode == 0 and "openai      failed" in text_run.stderr
    # The error snippet folds line breaks to spaces and shows every other control escaped.
    assert "\\x1b[2J\\x07 FAKE ok \\u202e" in text_run.stderr
    assert "WARNING registry.providers.google" in tts_run.stderr
    assert "\\x1b[2J" in tts_run.stderr.split("WARNING")[1]
    for result in runs:
        assert not any(c in result.stdout + result.stderr for c in RAW_CONTROLS), result.stderr


# --- every failure is one line -----------------------------------------------------------------


@pytest.fixture
def unconfigured_process_database() -> Iterator[None]:
    """The CLI opens the database from REGISTRY_DATABASE_URL itself, as a fresh process would."""
    set_database(None)
    yield
    set_database(None)


@pytest.mark.parametrize("command", [["migrate"], ["models", "list"]])
@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:9/registry",  # nothing listens on port 9
        "sqlite:///{tmp}/a-file/registry.db",  # its folder is a file
        "not a database url",
    ],
)
def test_an_unusable_database_is_one_line(
    unconfigured_process_database: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    url: str,
) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("REGISTRY_DATABASE_URL", url.format(tmp=tmp_path))
    code, out, err = run(capsys, *command)
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err


def test_migrate_on_a_database_from_a_newer_version_is_one_line(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with cli_database.engine.begin() as connection:
        connection.execute(text("UPDATE registry_alembic_version SET version_num = '9999'"))
    code, out, err = run(capsys, "migrate")
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and "9999" in err, err


# --- bytes that are not UTF-8 ------------------------------------------------------------------


def test_arguments_that_are_not_utf8_are_refused_in_one_line(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    before = run(capsys, "models", "list", "--json")
    # Python hands undecodable argv bytes over as lone surrogates.
    for argv in (
        ["set-default", "--category", "text", "--provider", "openai", "--model", "gpt-\udcff"],
        ["models", "set-status", "--status", "disabled", "openai/gpt-4o", "--notes", "\udcfe"],
        ["models", "list", "--provider", "open\udcffai"],
        ["keys", "set", "azure", "--region", "west\udcffeurope"],
    ):
        code, out, err = run(capsys, *argv)
        assert code != 0 and out == ""
        assert len(err.splitlines()) == 1 and "not valid UTF-8" in err, err
    assert run(capsys, "models", "list", "--json") == before


def test_non_utf8_bytes_from_a_real_terminal_or_pipe_are_one_line(
    sqlite_database: Database,
) -> None:
    # How a real process decodes argv and stdin does not depend on the backend.
    env = dict(os.environ) | {"REGISTRY_DATABASE_URL": sqlite_database.url}
    command = [sys.executable, "-m", "registry"]
    bad_argument = subprocess.run(
        [*command, "models", "list", "--search", b"gpt-\xff"], env=env, capture_output=True
    )
    bad_key = subprocess.run(
        [*command, "keys", "set", "openai"],
        env=env,
        input=b"sk-\xff\xfe0123456789abcdef\n",
        capture_output=True,
    )
    for result in (bad_argument, bad_key):
        assert result.returncode != 0 and result.stdout == b""
        lines = result.stderr.decode().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "not valid UTF-8" in bad_key.stderr.decode()
    assert get_api_key("openai") is None


# --- keys ----------------------------------------------------------------------------------------


def test_keys_list_shows_a_stored_key_that_cannot_be_decrypted(
    cli_database: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    set_api_key("openai", "sk-test-0123456789abcdefSECRET")
    monkeypatch.setenv("REGISTRY_SECRET_KEY", Fernet.generate_key().decode())
    code, out, _ = run(capsys, "keys", "list")
    assert code == 0
    openai_line = next(line for line in out.splitlines() if line.startswith("openai"))
    assert "stored …CRET, cannot be decrypted" in openai_line
    assert "REGISTRY_SECRET_KEY" in openai_line
    code, out, _ = run(capsys, "keys", "list", "--json")
    row = next(r for r in json.loads(out) if r["provider"] == "openai")
    assert row["source"] == "stored" and "cannot be decrypted" in row["problem"]


def _successor(provider: str, model_id: str, category: str = "text") -> str | None:
    with get_database().read() as session:
        row = session.get(AIModel, get_model_by_provider_id(provider, model_id, category).id)
        assert row is not None
        return row.successor_model_id


def test_set_successor_names_and_clears_the_model_a_deprecated_one_falls_back_to(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "models", "set-status", "--status", "deprecated", "openai/gpt-4o")
    assert code == 0, err
    code, out, err = run(capsys, "models", "set-successor", "openai/gpt-4o", "gpt-4.1")
    assert (code, out.strip()) == (0, "openai/gpt-4o: successor gpt-4.1"), err
    assert _successor("openai", "gpt-4o") == "gpt-4.1"
    code, out, _ = run(
        capsys,
        "resolve",
        "--category",
        "text",
        "--provider",
        "openai",
        "--model",
        "gpt-4o",
        "--json",
    )
    answer = json.loads(out)
    assert (answer["model_id"], answer["reason"]) == ("gpt-4.1", "deprecated")
    entry = list_audit_entries(action="successor", limit=1)[0]
    assert (entry.actor, entry.model_id, entry.old_value, entry.new_value) == (
        "cli",
        "gpt-4o",
        None,
        "gpt-4.1",
    )
    code, out, _ = run(capsys, "models", "set-successor", "openai/gpt-4o", "")
    assert (code, out.strip()) == (0, "openai/gpt-4o: successor cleared")
    assert _successor("openai", "gpt-4o") is None


def test_set_successor_takes_a_category_and_openrouter_ids(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys,
        "models",
        "set-successor",
        "openrouter/openai/gpt-4o-mini",
        "openai/gpt-5-mini",
        "--category",
        "text",
    )
    assert code == 0, err
    assert _successor("openrouter", "openai/gpt-4o-mini") == "openai/gpt-5-mini"
    code, _, err = run(
        capsys, "models", "set-successor", "openai/gpt-4o", "gpt-4.1", "--category", "tts"
    )
    assert code == 1 and len(err.strip().splitlines()) == 1


def test_resolve_json_carries_the_generation_parameters_of_text(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    from registry.settings import set_global_config

    set_global_config("text", "openai", "gpt-4o", temperature=0.3, max_tokens=2048)
    args = ["resolve", "--provider", "openai", "--json"]
    code, out, _ = run(capsys, *args, "--category", "text", "--model", "gpt-4.1")
    assert code == 0
    text = json.loads(out)
    assert (text["model_id"], text["temperature"], text["max_tokens"]) == ("gpt-4.1", 0.3, 2048)
    code, out, _ = run(capsys, *args, "--category", "tts", "--model", "alloy")
    assert set(json.loads(out)) == {"provider", "model_id", "requested", "fallback", "reason"}
