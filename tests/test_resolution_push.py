"""Push-based freshness on PostgreSQL: every write sends NOTIFY in its own transaction, and each
resolving process LISTENs on one connection instead of polling four times a second.

- A change committed in one process reaches another in a fraction of a second.
- An idle resolving process costs at most one transaction a second, on one connection
  (counted by the server itself, on a scratch database).
- An idle SQLite process asks only `PRAGMA data_version` on a connection it keeps open.
- A change that comes without a notification is still found by the slow backstop read.
- `REGISTRY_PUSH_NOTIFICATIONS=off`, or a server (proxy) that refuses LISTEN: polling as before.
- A forked worker (gunicorn --preload) listens on a connection of its own; the parent keeps
  listening on its own after the worker is gone.
"""

from __future__ import annotations

import logging
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import event, update
from sqlalchemy.engine import make_url

from registry import keeper
from registry.client import default_registry
from registry.db import Database, set_database
from registry.resolution import reset_snapshot, resolve
from registry.schema import AIModel
from registry.scratch import postgres_activity
from tests.conftest import make_database
from tests.test_resolution_processes import _relayed_postgres

WATCHER = """
import sys, time
from registry.resolution import resolve

print("ready", resolve("text", "openai", "gpt-4o").model_id, flush=True)
for line in sys.stdin:
    before = resolve("text", "openai", "gpt-4o").model_id
    print("watching", flush=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if resolve("text", "openai", "gpt-4o").model_id != before:
            print("changed", time.monotonic(), flush=True)
            break
        time.sleep(0.001)
    else:
        print("unchanged", flush=True)
"""


@pytest.fixture
def postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """A scratch PostgreSQL database that this process does not use until a test says so."""
    return make_database("postgresql", tmp_path, request)


def _name(database: Database) -> str:
    name = make_url(database.url).database
    assert name is not None
    return name


def _set_status(database: Database, model_id: str, status: str) -> None:
    with database.write() as session:
        session.execute(
            update(AIModel)
            .where(AIModel.provider == "openai", AIModel.model_id == model_id)
            .values(status=status)
        )


def _wait_for(condition: object, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return False


def _seconds_until_seen(database: Database, status: str, timeout: float = 10.0) -> float:
    """Commit a status of gpt-4o, then wait until this process resolves accordingly."""
    _set_status(database, "gpt-4o", status)
    committed = time.monotonic()
    assert _wait_for(lambda: resolve("text", "openai", "gpt-4o").fallback is (status != "enabled"))
    return time.monotonic() - committed


def _watcher(database: Database, tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", WATCHER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, REGISTRY_DATABASE_URL=database.url, **env),
        cwd=tmp_path,
    )
    assert child.stdout is not None
    assert child.stdout.readline().split() == ["ready", "gpt-4o"]
    return child


def test_a_change_is_pushed_to_another_process_in_a_fraction_of_a_second(
    postgres: Database, tmp_path: Path
) -> None:
    child = _watcher(postgres, tmp_path)
    assert child.stdin is not None and child.stdout is not None
    delays = []
    try:
        for status in ("disabled", "enabled", "disabled", "enabled", "disabled"):
            child.stdin.write("watch\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "watching"
            time.sleep(random.uniform(0.05, 0.3))  # anywhere in what used to be a poll interval
            _set_status(postgres, "gpt-4o", status)
            committed = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process
            line = child.stdout.readline().split()
            assert line[:1] == ["changed"], line
            delays.append(float(line[1]) - committed)
    finally:
        child.kill()
        child.communicate()
    assert max(delays) < 0.5, delays
    assert statistics.median(delays) < 0.1, delays


def test_an_idle_process_costs_at_most_one_transaction_a_second_on_one_connection(
    postgres: Database, tmp_path: Path
) -> None:
    name = _name(postgres)
    transactions_before, connections = postgres_activity(name)
    assert connections == 0
    started = time.monotonic()
    child = _watcher(postgres, tmp_path)
    try:
        time.sleep(4)  # idle: the measurement window
        assert postgres_activity(name)[1] == 1
    finally:
        child.kill()
        child.communicate()
    lifetime = time.monotonic() - started
    # A backend reports its last transactions when it ends.
    assert _wait_for(lambda: postgres_activity(name)[1] == 0)
    transactions = postgres_activity(name)[0] - transactions_before
    startup = 8  # connect, LISTEN, the pooler probe (its own short connection), first load
    # The goal is at most one a second; pings cost none, the backstop read one per 15 s.
    assert transactions <= startup + 1, (
        f"{transactions} transactions in {lifetime:.1f} s of an idle process"
    )


def test_a_change_without_a_notification_is_found_by_the_backstop_read(
    postgres: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keeper, "PUSH_BACKSTOP", 0.5)
    set_database(postgres)
    try:
        assert resolve("text", "openai", "gpt-4o").fallback is False
        assert _wait_for(lambda: default_registry().keeper().pushed)
        # A hand-made fix in SQL: the stamp moves, but nobody sends NOTIFY.
        with postgres.engine.begin() as connection:
            connection.exec_driver_sql(
                "UPDATE ai_models SET status = 'disabled' "
                "WHERE provider = 'openai' AND model_id = 'gpt-4o'"
            )
            connection.exec_driver_sql("UPDATE registry_stamp SET version = version + 1")
        changed = time.monotonic()
        assert _wait_for(lambda: resolve("text", "openai", "gpt-4o").fallback, timeout=10)
        assert time.monotonic() - changed < 2.0
    finally:
        set_database(None)


@pytest.mark.parametrize("push", ["on", "off"])
def test_a_background_reload_leaves_lookups_without_io(
    database: Database, monkeypatch: pytest.MonkeyPatch, push: str
) -> None:
    """The keeper's own reads are not this process's catalog changes: no re-check follows."""
    monkeypatch.setenv("REGISTRY_PUSH_NOTIFICATIONS", push)
    other_process = Database(database.url)
    try:
        reset_snapshot()
        assert resolve("text", "openai", "gpt-4o").fallback is False
        running = default_registry().keeper()
        assert running is not None
        loaded = running.snapshot.version
        assert loaded is not None
        _set_status(other_process, "gpt-4o", "disabled")
        # Reloaded in the background, with no lookup in between to tidy up after it.
        assert _wait_for(lambda: (running.snapshot.version or 0) > loaded)
        assert running.dirty is False
    finally:
        other_process.dispose()


def test_an_idle_sqlite_process_reads_no_table_until_something_is_committed(
    sqlite_database: Database,
) -> None:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(sqlite_database.engine, "before_cursor_execute", count)
    other_process = Database(sqlite_database.url)
    try:
        assert resolve("text", "openai", "gpt-4o").fallback is False
        time.sleep(0.6)  # the first checks after the load
        statements.clear()
        time.sleep(1.0)  # idle: four polls
        assert statements == []
        assert _seconds_until_seen(other_process, "disabled") < 1.0
    finally:
        event.remove(sqlite_database.engine, "before_cursor_execute", count)
        other_process.dispose()


def test_with_push_notifications_off_changes_are_polled_within_a_second(
    postgres: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_PUSH_NOTIFICATIONS", "off")
    other_process = Database(postgres.url)  # its commits do not mark this keeper stale
    try:
        set_database(postgres)
        assert resolve("text", "openai", "gpt-4o").fallback is False
        assert default_registry().keeper().pushed is False
        for status in ("disabled", "enabled", "disabled"):
            assert _seconds_until_seen(other_process, status) < 1.0
    finally:
        set_database(None)
        other_process.dispose()


def test_a_server_that_refuses_listen_is_polled_instead(
    request: pytest.FixtureRequest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="registry")
    direct, relay, _ = _relayed_postgres(request, tmp_path)
    # A proxy that does not support LISTEN: the statement reaches the server misspelt.
    relay.from_client = lambda data: data.replace(
        b"LISTEN registry_stamp", b"LISTEX registry_stamp"
    )
    assert resolve("text", "openai", "gpt-4o").fallback is False
    assert _wait_for(lambda: "refused LISTEN" in caplog.text)
    assert default_registry().keeper().pushed is False
    for status in ("disabled", "enabled"):
        assert _seconds_until_seen(direct, status) < 1.0
    assert "cannot read the catalog" not in caplog.text  # not an outage


def test_a_forked_worker_listens_on_its_own_connection_and_the_parent_keeps_its_own(
    postgres: Database,
) -> None:
    name = _name(postgres)
    other_process = Database(postgres.url)
    set_database(postgres)
    try:
        assert resolve("text", "openai", "gpt-4o").fallback is False
        assert _wait_for(lambda: default_registry().keeper().pushed)
        assert _wait_for(lambda: postgres_activity(name)[1] == 1)
        report_r, report_w = os.pipe()
        go_r, go_w = os.pipe()
        pid = os.fork()  # as gunicorn --preload forks its workers
        if pid == 0:  # pragma: no cover (the worker)
            code = 1
            try:
                resolve("text", "openai", "gpt-4o")
                os.write(report_w, b"ready\n")
                os.read(go_r, 1)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    if resolve("text", "openai", "gpt-4o").fallback:
                        os.write(report_w, f"{time.monotonic()}\n".encode())
                        code = 0
                        break
                    time.sleep(0.001)
            finally:
                os._exit(code)
        reports = os.fdopen(report_r)
        assert reports.readline().strip() == "ready"
        # The worker's own connection beside ours (its pooler probe's goes away at once).
        assert _wait_for(lambda: postgres_activity(name)[1] == 2)
        _set_status(other_process, "gpt-4o", "disabled")
        committed = time.monotonic()
        os.write(go_w, b"x")
        seen = float(reports.readline())
        assert os.waitpid(pid, 0)[1] == 0
        assert seen - committed < 0.5
        other_process.dispose()
        assert _wait_for(lambda: postgres_activity(name)[1] == 1)
        # The worker is gone; the parent's listener is untouched and still pushed to.
        assert _wait_for(lambda: resolve("text", "openai", "gpt-4o").fallback, timeout=2)
        assert _seconds_until_seen(other_process, "enabled") < 0.5
    finally:
        set_database(None)
        other_process.dispose()
