"""Faults around resolution: configuration mistakes, file permissions, read-only databases,
held locks, hostile model ids in usage counts and logs, and the curated-default rule.

Permission tests run the registry in a child process without the capability to override file
permissions (CAP_DAC_OVERRIDE), so a read-only file is read-only even when the suite runs as
root, as it does in CI.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import update
from sqlalchemy.engine import make_url

from registry import keeper
from registry.catalog import CURATED
from registry.cli import main as cli_main
from registry.client import default_registry
from registry.db import Database, get_database, set_database
from registry.errors import ConfigurationError, DatabaseBusyError, NoAvailableModelError
from registry.keys import set_api_key
from registry.migrate import upgrade as migrate_database
from registry.resolution import (
    FallbackReason,
    flush_fallback_counts,
    get_fallback_counts,
    reset_snapshot,
    resolve,
    snapshot_summary,
)
from registry.schema import AIModel
from registry.store import get_model_by_provider_id, set_default_model, update_model_status
from registry.types import Category
from registry.usage import FallbackRecorder
from tests.conftest import make_database

OPENAI_DEFAULT = CURATED[(Category.TEXT, "openai")].default
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common 022 umask, under which SQLite and mkdir make world-readable files."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _without_permission_override() -> None:
    """In the child, before exec: give up root's licence to ignore file permissions."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def _run_unprivileged(
    code: str, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_without_permission_override,
    )


def _child_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    return env | settings


# --- 3: what the registry creates is private -----------------------------------------------


def test_data_folder_database_and_secret_are_created_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, usual_umask: None
) -> None:
    data = tmp_path / "var" / "registry"
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(data))
    set_database(None)
    try:
        db = get_database()
        migrate_database(db)
        set_api_key("openai", "sk-test-0123456789abcdef")
        assert resolve("text", "openai", "gpt-4o").fallback is False
        created = [tmp_path / "var", data]
        files = sorted(data.iterdir())  # every file the registry made there, lock files too
        expected = {"registry.db", "registry.db-wal", "registry.db-shm", "secret.key"}
        assert expected <= {p.name for p in files}
        assert {str(p): oct(_mode(p)) for p in created} == {str(p): "0o700" for p in created}
        assert {str(p): oct(_mode(p)) for p in files} == {str(p): "0o600" for p in files}
    finally:
        reset_snapshot()
        set_database(None)


def test_secret_key_alone_creates_the_data_folder_owner_only(
    sqlite_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, usual_umask: None
) -> None:
    data = tmp_path / "secrets-only"
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(data))
    set_api_key("openai", "sk-test-0123456789abcdef")
    assert (_mode(data), _mode(data / "secret.key")) == (0o700, 0o600)


# --- 13: configuration mistakes are one clear error -----------------------------------------


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgres_urls_without_a_driver_mean_psycopg(
    scheme: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    real = make_database("postgresql", tmp_path, request)
    url = make_url(real.url).set(drivername=scheme).render_as_string(hide_password=False)
    db = Database(url)
    request.addfinalizer(db.dispose)
    assert (db.engine.dialect.name, db.engine.dialect.driver) == ("postgresql", "psycopg")
    assert db.stamp() >= 0


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://admin:hunter2-secret@db.example:notaport/app",
        "not a url at all hunter2-secret",
        "nosuchdb://admin:hunter2-secret@db.example/app",
        "postgresql+psycopg2://admin:hunter2-secret@db.example/app",
    ],
)
def test_a_bad_database_url_is_one_configuration_error_without_the_password(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigurationError, match="REGISTRY_DATABASE_URL") as raised:
        Database(url)
    assert "hunter2" not in str(raised.value)

    monkeypatch.setenv("REGISTRY_DATABASE_URL", url)
    set_database(None)
    assert cli_main(["models", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "REGISTRY_DATABASE_URL" in err
    assert err.count("\n") == 1 and "hunter2" not in err and "Traceback" not in err


def test_resolution_with_a_bad_database_url_serves_the_curated_catalog_and_logs_one_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", "nosuchdb://admin:hunter2-secret@db/app")
    set_database(None)
    with caplog.at_level(logging.WARNING, logger="registry"):
        for _ in range(3):
            answer = resolve("text", "openai", "gpt-4o")
            assert (answer.model_id, answer.fallback) == ("gpt-4o", False)
        assert resolve("text", "openai", "gpt-99").model_id == OPENAI_DEFAULT
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, caplog.text
    assert "REGISTRY_DATABASE_URL" in errors[0].getMessage()
    assert "curated catalog" in errors[0].getMessage()
    assert "hunter2" not in caplog.text
    assert snapshot_summary().version is None


UNWRITABLE_CWD_CHILD = """
import json, logging, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
from registry.resolution import resolve
answer = resolve("text", "openai", "gpt-4o")
print(json.dumps([answer.model_id, answer.fallback]))
from registry.cli import main
sys.exit(main(["models", "list"]))
"""


def test_unwritable_working_folder_without_settings_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "readonly-cwd"
    folder.mkdir()
    folder.chmod(0o555)
    child = _run_unprivileged(UNWRITABLE_CWD_CHILD, folder, _child_env())
    assert child.returncode == 1, child.stderr
    assert json.loads(child.stdout) == ["gpt-4o", False]  # resolution served the curated catalog
    lines = child.stderr.strip().splitlines()
    assert "Traceback" not in child.stderr and "PermissionError" not in child.stderr
    assert sum(1 for line in lines if line.startswith("ERROR")) == 1
    assert lines[-1].startswith("error: ") and "REGISTRY_DATA_DIR" in lines[-1]


# --- 14: a read-only database is read -------------------------------------------------------


READ_ONLY_CHILD = """
import json, sys
from registry.errors import DatabaseError
from registry.resolution import resolve, snapshot_summary
from registry.store import get_model_by_provider_id, update_model_status

answer = resolve("text", "openai", "gpt-4o")
summary = snapshot_summary()
try:
    update_model_status(get_model_by_provider_id("openai", "gpt-4o", "text").id, "enabled")
    refused = None
except DatabaseError as error:
    refused = str(error)
print(json.dumps({"reason": answer.reason, "version": summary.version,
                  "outage": summary.outage, "refused": refused}), flush=True)
from registry.cli import main
sys.exit(main(["models", "list", "--provider", "openai", "--json"]))
"""


@pytest.mark.parametrize("folder_writable", [True, False], ids=["file", "file-and-folder"])
def test_read_only_sqlite_database_is_read_and_writes_are_refused_clearly(
    folder_writable: bool, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = make_database("sqlite", tmp_path, request)
    set_database(db)
    request.addfinalizer(lambda: set_database(None))
    update_model_status(get_model_by_provider_id("openai", "gpt-4o", "text").id, "disabled")
    db.dispose()
    path = Path(make_url(db.url).database or "")
    path.chmod(0o444)
    if not folder_writable:
        path.parent.chmod(0o555)
        request.addfinalizer(lambda: path.parent.chmod(0o755))

    child = _run_unprivileged(READ_ONLY_CHILD, tmp_path, _child_env(REGISTRY_DATABASE_URL=db.url))
    first, _, listing = child.stdout.partition("\n")
    report = json.loads(first)
    assert report["reason"] == "disabled", child.stderr  # the real contents, not the curated 52
    assert report["version"] is not None and report["outage"] is False
    assert report["refused"] is not None and "read-only" in report["refused"]
    assert child.returncode == 0, child.stderr
    statuses = {m["model_id"]: m["status"] for m in json.loads(listing)}
    assert statuses["gpt-4o"] == "disabled"


# --- 15: never a curated default the catalog holds as pending -------------------------------


def test_curated_default_put_back_to_pending_is_not_handed_out(database: Database) -> None:
    set_default_model("openai", "text", "gpt-4o")
    with database.write() as session:
        for model_id, status in (("gpt-4o", "deprecated"), (OPENAI_DEFAULT, "pending")):
            session.execute(
                update(AIModel)
                .where(AIModel.provider == "openai", AIModel.model_id == model_id)
                .values(status=status)
            )
    with pytest.raises(NoAvailableModelError, match="pending"):
        resolve("text", "openai", "gpt-2")


# --- 26: a held lock is a clear "busy" after a bounded wait, on both backends --------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_write_behind_a_held_lock_fails_as_busy_after_the_bound(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    made = make_database(backend, tmp_path, request)
    writer = Database(made.url, busy_timeout=1.0)
    request.addfinalizer(writer.dispose)
    set_database(writer)
    request.addfinalizer(lambda: set_database(None))
    model = get_model_by_provider_id("openai", "gpt-4o", "text")
    url = make_url(made.url)
    if backend == "sqlite":
        holder: sqlite3.Connection | psycopg.Connection = sqlite3.connect(
            url.database or "", isolation_level=None
        )
        holder.execute("BEGIN IMMEDIATE")
    else:
        holder = psycopg.connect(
            host=url.host, port=url.port, user=url.username, dbname=url.database
        )
        holder.execute("SELECT 1 FROM ai_models WHERE id = %s FOR UPDATE", (model.id,))
    outcome: list[BaseException | None] = []

    def write() -> None:
        try:
            update_model_status(model.id, "disabled")
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    started = time.monotonic()
    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    thread.join(15)
    waited = time.monotonic() - started
    holder.rollback()
    thread.join(15)
    holder.close()
    assert waited < 15, "the write waited for the lock without a bound"
    assert outcome and isinstance(outcome[0], DatabaseBusyError), outcome
    assert "busy" in str(outcome[0]) and "try again" in str(outcome[0])
    assert 0.8 < waited < 5


# --- 9: hostile requested ids in usage counts and logs --------------------------------------


def test_oversized_nul_and_surrogate_ids_do_not_block_valid_counts(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    hostile = ["x" * 300, "gpt\x00evil", "gpt-\ud800-broken"]
    for model_id in [*hostile, "gpt-unknown"]:
        assert resolve("text", "openai", model_id).model_id == OPENAI_DEFAULT
    assert flush_fallback_counts() >= 1
    counts = {c.requested_model: c.count for c in get_fallback_counts()}
    assert counts.get("gpt-unknown") == 1
    assert counts.get("x" * 255) == 1  # cut to what the column holds
    assert counts.get("gptevil") == 1  # NUL removed
    # Nothing left behind to fail every later flush.
    assert flush_fallback_counts() == 0


def test_a_newline_in_a_requested_id_cannot_forge_a_log_line(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="registry"):
        resolve("text", "openai", "gpt-x\nCRITICAL registry: the admin password is 1234")
        resolve("text", "openai", "\x1b[2Jgpt-y\u202e")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert all("\n" not in m and "\x1b" not in m and "\u202e" not in m for m in messages)
    assert "gpt-x\\x0aCRITICAL" in messages[0]


def test_a_lone_surrogate_in_a_requested_id_is_logged_as_an_escape(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # A UTF-8 log file or terminal cannot encode a lone surrogate: the handler would fail.
    with caplog.at_level(logging.WARNING, logger="registry"):
        resolve("text", "openai", "gpt-\ud800-broken")
    (message,) = [r.getMessage() for r in caplog.records]
    message.encode("utf-8")
    assert "gpt-\\ud800-broken" in message


def test_log_limiter_keeps_limiting_past_its_capacity(
    database: Database, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keeper, "LOG_KEYS_LIMIT", 500)
    with caplog.at_level(logging.WARNING, logger="registry"):
        for _ in range(2):
            for n in range(2_000):
                resolve("text", "openai", f"unknown-{n}")
        default_registry().keeper().report_unlogged()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 501, lines[-3:]
    assert lines[-1] == (
        "model registry: 3000 more fallbacks not logged (more than 500 different requests "
        "within 300 s)"
    )


def test_a_failing_flush_is_warned_once_per_interval(
    sqlite_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    resolve("text", "openai", "gpt-unknown")
    with sqlite_database.transaction() as connection:
        connection.exec_driver_sql("DROP TABLE fallback_counts")
    with caplog.at_level(logging.DEBUG, logger="registry"):
        running = default_registry().keeper()
        running.flush_quietly()
        running.flush_quietly()
    warned = [r for r in caplog.records if r.levelno >= logging.WARNING and "counts" in r.msg]
    assert len(warned) == 1 and "fallback counts not saved" in warned[0].getMessage()
    assert running.recorder.pending_count() == 1  # kept for the next attempt


def test_pending_counts_stay_bounded_while_they_cannot_be_written(database: Database) -> None:
    recorder = FallbackRecorder(max_keys=100)
    for n in range(1_000):
        answer = resolve("text", "openai", f"unknown-{n}")
        recorder.count(answer)
    assert recorder.pending_count() == 100
    assert recorder.dropped == 900
    assert recorder.flush(database) == 100
    assert {c.reason for c in get_fallback_counts()} == {FallbackReason.NOT_FOUND.value}
