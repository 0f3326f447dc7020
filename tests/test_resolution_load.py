"""Resolution under load (README "Freshness"): what the application's side promises when it is
busy, writes itself, or sits behind a pooler.

- Fallback counts are never lost: two threads handing out fallbacks flat out are all counted.
- A burst of commits costs an idle process a few full snapshot reads (the rest read only the
  changed rows), and each change is still seen within a second.
- A notification that announces nothing (any role may send one) costs no reload.
- After its own write, a lookup against a database that stopped answering returns within the
  stall limit, and the asyncio variants keep the event loop responsive meanwhile.
- Behind PgBouncer in transaction mode (LISTEN accepted, nothing delivered) the keeper notices
  at start, warns once and polls; changes are seen within a second, no false outage.
- The application developer's API: `subscribe`, `health`, `strict`, the async variants.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, insert, update
from sqlalchemy.engine import make_url

from registry import (
    ConfigurationError,
    Registry,
    aget_ai_config_for_story,
    aget_ai_model,
    aget_tts_model,
    get_ai_model,
)
from registry.db import Database
from registry.keeper import SnapshotSummary
from registry.resolution import get_fallback_counts, resolve
from registry.schema import AIModel, utcnow
from registry.scratch import postgres_url
from registry.testing import fake_registry
from tests.conftest import make_database
from tests.test_resolution_processes import _relayed_postgres

CATALOG_SIZE = 5_000
BURST = 100  # commits …
BURST_SECONDS = 5.0  # … in this long


def _wait_for(condition: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return False


def _set_status(database: Database, model_id: str, status: str) -> None:
    with database.write() as session:
        session.execute(
            update(AIModel)
            .where(AIModel.provider == "openai", AIModel.model_id == model_id)
            .values(status=status)
        )


def _add_models(database: Database, count: int) -> None:
    now = utcnow()
    rows = [
        {
            "provider": "openai",
            "category": "text",
            "model_id": f"load-{n}",
            "display_name": f"load-{n}",
            "status": "enabled",
            "source": "api",
            "created_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]
    with database.write() as session:
        session.execute(insert(AIModel), rows)


# --- counts -----------------------------------------------------------------------------------


def test_two_threads_of_fallbacks_flat_out_are_all_counted(database: Database) -> None:
    resolve("text", "openai", "gpt-4o")
    from registry.client import default_registry

    default_registry().keeper().flush_interval = 0.5  # flushes run while the callers run
    calls = [0, 0]
    stop = threading.Event()

    def caller(slot: int, model: str) -> None:
        n = 0
        while not stop.is_set():
            resolve("text", "openai", model)
            n += 1
        calls[slot] = n

    threads = [
        threading.Thread(target=caller, args=(slot, f"no-such-model-{slot}")) for slot in (0, 1)
    ]
    for thread in threads:
        thread.start()
    time.sleep(6)
    stop.set()
    for thread in threads:
        thread.join()
    counted = {c.requested_model: c.count for c in get_fallback_counts()}
    for slot in (0, 1):
        assert calls[slot] > 10_000
        assert counted[f"no-such-model-{slot}"] >= 0.99 * calls[slot]
        assert counted[f"no-such-model-{slot}"] == calls[slot]


def test_counts_past_the_request_limit_are_dropped_with_one_line_per_interval(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    from registry.client import default_registry

    running = default_registry().keeper()
    running.recorder.max_keys = 10
    for n in range(25):
        resolve("text", "openai", f"unknown-{n}")
    with caplog.at_level(logging.WARNING, logger="registry.keeper"):
        running.flush_quietly()
        running.flush_quietly()
    lines = [r.getMessage() for r in caplog.records if "not counted" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith("model registry: 15 fallbacks not counted")
    assert sum(c.count for c in get_fallback_counts()) == 10


# --- incremental snapshots ------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_commit_burst_costs_an_idle_process_few_full_reads_and_each_change_is_seen_in_a_second(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    admin = make_database(backend, tmp_path, request)
    _add_models(admin, CATALOG_SIZE)
    idle = Database(admin.url)  # another process's engine: the admin's commits are not its own
    request.addfinalizer(idle.dispose)
    with Registry(database=idle) as reader:
        assert reader.preview_resolve("text", "openai", "load-0").fallback is False
        time.sleep(0.5)  # past the start-up reads
        full_reads_before = reader.health().full_reads
        committed: list[float] = []
        lags: list[float] = []

        def watch() -> None:
            for n in range(BURST):
                while len(committed) <= n:
                    time.sleep(0.001)
                while not reader.preview_resolve("text", "openai", f"load-{n}").fallback:
                    time.sleep(0.002)
                lags.append(time.monotonic() - committed[n])

        watcher = threading.Thread(target=watch)
        watcher.start()
        started = time.monotonic()
        for n in range(BURST):
            time.sleep(max(started + n * BURST_SECONDS / BURST - time.monotonic(), 0))
            _set_status(admin, f"load-{n}", "disabled")
            committed.append(time.monotonic())
        watcher.join(15)
        assert len(lags) == BURST, "a change was never seen"
        health = reader.health()
        full_reads = health.full_reads - full_reads_before
        assert full_reads <= 15, f"{full_reads} full reads for {BURST} commits"
        assert health.change_reads >= 1
        assert max(lags) < 1.0, f"seen after {max(lags):.3f} s at worst"


def test_a_deleted_model_is_noticed_by_a_full_read(database: Database) -> None:
    other = Database(database.url)
    try:
        assert resolve("text", "openai", "gpt-4o").fallback is False
        with other.write() as session:
            session.execute(
                AIModel.__table__.delete().where(  # type: ignore[attr-defined]
                    AIModel.provider == "openai", AIModel.model_id == "gpt-4o"
                )
            )
        assert _wait_for(lambda: resolve("text", "openai", "gpt-4o").reason == "not_found")
    finally:
        other.dispose()


def test_a_notification_that_announces_nothing_costs_no_reload(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Any role may `NOTIFY registry_stamp`: a flood of them reads the stamp, nothing more."""
    admin = make_database("postgresql", tmp_path, request)
    idle = Database(admin.url)
    request.addfinalizer(idle.dispose)
    with Registry(database=idle) as reader:
        assert reader.preview_resolve("text", "openai", "gpt-4o").fallback is False
        assert _wait_for(lambda: reader.health().mode == "push")
        model_reads: list[str] = []
        stamp_reads: list[str] = []

        def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            if "FROM ai_models" in statement:
                model_reads.append(statement)
            elif "FROM registry_stamp" in statement:
                stamp_reads.append(statement)

        event.listen(idle.engine, "before_cursor_execute", seen)
        started = time.monotonic()
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for _ in range(2_000):
                conn.exec_driver_sql("NOTIFY registry_stamp")
        time.sleep(0.5)
        assert model_reads == []
        # At most one stamp read per pause (50 ms), however many notices.
        assert len(stamp_reads) <= (time.monotonic() - started) / 0.05 + 3
        _set_status(admin, "gpt-4o", "disabled")
        assert _wait_for(lambda: reader.preview_resolve("text", "openai", "gpt-4o").fallback, 2)


# --- own writes against a hung database ------------------------------------------------------


def test_a_lookup_after_its_own_write_returns_within_the_bound_when_the_database_hangs(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    _direct, relay, relayed = _relayed_postgres(request, tmp_path)
    assert resolve("text", "openai", "gpt-4o").fallback is False
    _set_status(relayed, "o3", "disabled")  # this process's own write
    relay.hang()
    started = time.monotonic()
    resolve("text", "openai", "gpt-4o")
    assert time.monotonic() - started <= 3.0
    started = time.monotonic()
    resolve("text", "openai", "gpt-4o")
    assert time.monotonic() - started < 0.1  # the outage is known: no second wait


def test_async_lookups_keep_the_loop_responsive_after_an_own_write_to_a_hung_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    _direct, relay, relayed = _relayed_postgres(request, tmp_path)
    assert resolve("text", "openai", "gpt-4o").fallback is False
    _set_status(relayed, "o3", "disabled")
    relay.hang()

    async def scenario() -> tuple[float, float]:
        stalls = [0.0]
        done = asyncio.Event()

        async def ticker() -> None:
            last = time.monotonic()
            while not done.is_set():
                await asyncio.sleep(0.001)
                now = time.monotonic()
                stalls[0] = max(stalls[0], now - last)
                last = now

        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await asyncio.gather(
            aget_ai_model(), aget_ai_config_for_story("openai", "gpt-4o"), aget_tts_model()
        )
        took = time.monotonic() - started
        done.set()
        await tick
        return took, stalls[0]

    took, stall = asyncio.run(scenario())
    assert took <= 3.0
    # Blocked, the loop would stall for the whole wait (2 s); the goal is 10 ms, and a shared
    # CI machine alone can pause a process for tens of milliseconds.
    assert stall < 0.25, f"the loop stalled {stall * 1000:.0f} ms"


# --- poolers --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def pgbouncer() -> Iterator[int]:
    """PgBouncer in transaction mode on a free 127.0.0.1 port, in front of the test server."""
    binary = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
    )
    if binary is None:
        pytest.skip("pgbouncer is not installed (apt-get install -y pgbouncer)")
    url = make_url(postgres_url("postgres"))
    port = _free_port()
    folder = Path(tempfile.mkdtemp(prefix="registry-pgbouncer-"))
    folder.chmod(0o755)  # pgbouncer drops root for `nobody`, who must read its files
    (folder / "users.txt").write_text(f'"{url.username}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={url.host or '127.0.0.1'} port={url.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        "pool_mode = transaction\nignore_startup_parameters = extra_float_digits\n"
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    command = [binary, *(["-u", "nobody"] if os.geteuid() == 0 else []), "pgbouncer.ini"]
    process = subprocess.Popen(
        command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:

        def listening() -> bool:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                return True
            return False

        assert _wait_for(listening, 5), "pgbouncer did not start"
        yield port
    finally:
        process.terminate()
        process.wait(5)
        shutil.rmtree(folder, ignore_errors=True)


def test_behind_pgbouncer_in_transaction_mode_the_keeper_polls_and_warns_once(
    pgbouncer: int,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    admin = make_database("postgresql", tmp_path, request)
    pooled = Database(make_url(admin.url).set(port=pgbouncer).render_as_string(False))
    request.addfinalizer(pooled.dispose)
    with caplog.at_level(logging.WARNING), Registry(database=pooled) as app:
        assert app.preview_resolve("text", "openai", "gpt-4o").fallback is False
        assert _wait_for(lambda: app.health().pooler and app.health().version is not None, 5)
        health = app.health()
        assert (health.mode, health.outage, health.source) == ("poll", False, "database")
        for status in ("disabled", "enabled", "disabled"):
            _set_status(admin, "gpt-4o", status)
            committed = time.monotonic()
            assert _wait_for(
                lambda wanted=(status == "disabled"): (
                    app.preview_resolve("text", "openai", "gpt-4o").fallback is wanted
                ),
                5,
            )
            assert time.monotonic() - committed < 1.0
        # The application's own writes and reads through the pooler, more often than psycopg
        # would prepare a statement: no collision, no false outage.
        for n in range(8):
            _set_status(pooled, "o3", "disabled" if n % 2 else "enabled")
            app.preview_resolve("text", "openai", "o3")
        assert app.health().outage is False
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len([w for w in warnings if "REGISTRY_PUSH_NOTIFICATIONS" in w]) == 1
    assert not [w for w in warnings if "cannot read the catalog" in w]


# --- the application developer's API ---------------------------------------------------------


def test_subscribers_are_told_of_each_change_off_the_callers_thread(database: Database) -> None:
    other = Database(database.url)
    from registry.client import default_registry

    registry = default_registry()
    told: list[tuple[SnapshotSummary, str]] = []
    unsubscribe = registry.subscribe(
        lambda summary: told.append((summary, threading.current_thread().name))
    )
    try:
        resolve("text", "openai", "gpt-4o")
        assert _wait_for(lambda: told)
        _set_status(other, "gpt-4o", "disabled")
        stamp = other.stamp()
        assert _wait_for(lambda: told[-1][0].version == stamp)
        assert {name for _, name in told} == {"registry-changes"}
        unsubscribe()
        count = len(told)
        _set_status(other, "gpt-4o", "enabled")
        assert _wait_for(lambda: resolve("text", "openai", "gpt-4o").fallback is False)
        time.sleep(0.2)
        assert len(told) == count
    finally:
        other.dispose()


def test_health_says_where_answers_come_from(database: Database) -> None:
    from registry.client import default_registry

    resolve("text", "openai", "gpt-4o")
    registry = default_registry()
    mode = "push" if database.dialect == "postgresql" else "poll"
    assert _wait_for(lambda: registry.health().mode == mode)
    health = registry.health()
    assert health.outage is False and health.source == "database"
    assert health.version == database.stamp() and health.models > 0
    assert health.snapshot_age is not None and health.snapshot_age < 2.0


def test_a_strict_registry_refuses_a_bad_configuration_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="does not support"):
        Registry("mysql://app@db/app", strict=True)
    lenient = Registry("mysql://app@db/app")  # serves the curated catalog, logged once
    try:
        assert lenient.health().source == "curated" and lenient.health().mode == "none"
    finally:
        lenient.close()


def test_connections_carry_the_application_name(database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("application_name is a PostgreSQL connection parameter")
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW application_name").scalar() == "model-registry"
    named = Database(f"{database.url}?application_name=story-worker")  # the URL's own wins
    try:
        with named.engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW application_name").scalar() == "story-worker"
    finally:
        named.dispose()


def test_async_variants_answer_like_the_plain_calls() -> None:
    models = [
        ("text", "openai", "gpt-4o", "deprecated", "o3"),
        ("text", "openai", "o3", "enabled"),
        ("tts", "openai", "alloy", "enabled"),
    ]
    with fake_registry(
        models,
        defaults={("text", "openai"): "o3", ("tts", "openai"): "alloy"},
        global_text=("openai", "o3"),
        global_tts=("openai", "alloy"),
    ):
        assert asyncio.run(aget_ai_model()) == get_ai_model()
        story = asyncio.run(aget_ai_config_for_story("openai", "gpt-4o"))
        assert (story.model_id, story.reason) == ("o3", "deprecated")
        assert asyncio.run(aget_tts_model()).model_id == "alloy"


def test_a_first_load_that_hangs_does_not_call_existing_models_missing(
    request: pytest.FixtureRequest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _direct, relay, _relayed = _relayed_postgres(request, tmp_path)
    relay.hang()
    with caplog.at_level(logging.WARNING, logger="registry.resolution"):
        resolve("text", "openai", "a-model-only-the-database-knows")
    lines = [r.getMessage() for r in caplog.records if "a-model-only" in r.getMessage()]
    assert lines and "catalog database is unavailable" in lines[0]
    assert "is not in the catalog" not in lines[0]


def test_a_literal_list_mixing_four_and_five_tuples_passes_mypy_strict(tmp_path: Path) -> None:
    """What an application's test suite writes, checked the way its CI would."""
    from mypy import api

    snippet = tmp_path / "app_test.py"
    snippet.write_text(
        "from registry.testing import fake_registry\n\n"
        "models = [\n"
        '    ("text", "openai", "gpt-4o", "deprecated", "o3"),\n'
        '    ("text", "openai", "o3", "enabled"),\n'
        "]\n"
        'with fake_registry(models, defaults={("text", "openai"): "o3"}):\n'
        "    pass\n"
    )
    # The project's own configuration (strict), so the cache `make lint` filled is reused.
    out, err, status = api.run(["--strict", str(snippet)])
    assert status == 0, out + err
