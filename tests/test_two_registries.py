"""The `Registry` object: importing the package does nothing, and registries are independent.

- `import registry` (and its core submodules) starts no thread, registers no at-fork or
  at-exit hook, creates no file and opens no database;
- two `Registry` objects on two databases in one process answer each from its own catalog;
  a change in one is not seen by the other, and closing one leaves the other working.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import update

from registry import Registry, RegistryError, set_default_registry
from registry.db import Database
from registry.errors import SecretKeyError
from registry.keys import SECRET_ENV, set_api_key
from registry.resolution import FallbackReason, resolve
from registry.schema import AIModel
from tests.conftest import make_database

_IMPORT_PROBE = textwrap.dedent(
    """
    import atexit, json, os, sys, threading

    hooks = []  # the hooks our own modules register (the standard library has its own)
    real_at_fork, real_at_exit = os.register_at_fork, atexit.register

    def caller():
        return sys._getframe(2).f_globals.get("__name__", "?")

    def at_fork(**kwargs):
        hooks.append("at_fork from " + caller())
        return real_at_fork(**kwargs)

    def at_exit(function, *args, **kwargs):
        hooks.append("atexit from " + caller())
        return real_at_exit(function, *args, **kwargs)

    os.register_at_fork, atexit.register = at_fork, at_exit
    import registry
    import registry.client, registry.keeper, registry.resolution
    import registry.snapshot, registry.testing
    from registry import Registry, get_ai_model  # the names exist; nothing is called

    print(json.dumps({
        "threads": threading.active_count(),
        "hooks": [hook for hook in hooks if hook.split()[-1].split(".")[0] == "registry"],
        "entries": sorted(os.listdir(".")),
    }))
    """
)


def test_importing_registry_has_no_side_effects(tmp_path: Path) -> None:
    env = {**os.environ, "REGISTRY_DATA_DIR": str(tmp_path / "data")}
    env.pop("REGISTRY_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    probe = json.loads(done.stdout)
    assert probe == {"threads": 1, "hooks": [], "entries": []}
    assert not (tmp_path / "data").exists()


def test_building_a_registry_opens_nothing_until_it_is_used(tmp_path: Path) -> None:
    path = tmp_path / "later" / "registry.db"
    models = Registry(database_url=f"sqlite:///{path}")
    assert not path.parent.exists()
    assert "not opened yet" in repr(models)
    models.close()  # closing one that was never used is fine too
    with Registry(database_url=f"sqlite:///{path}") as used:
        assert used.database.sqlite_path == path
    assert path.exists()


# --- two registries side by side ----------------------------------------------------------


def _set_status(database: Database, model_id: str, status: str) -> None:
    """A change as another process makes it: straight to the database, stamp bumped."""
    with database.write() as session:
        session.execute(
            update(AIModel)
            .where(AIModel.provider == "openai", AIModel.model_id == model_id)
            .values(status=status)
        )


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture(params=["sqlite", "postgresql"])
def other_database(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_database: Database
) -> Database:
    """A second database beside the test's SQLite one: SQLite, then PostgreSQL."""
    return make_database(request.param, tmp_path, request)


def test_two_registries_answer_each_from_its_own_database(
    sqlite_database: Database, other_database: Database
) -> None:
    _set_status(sqlite_database, "gpt-4o", "deprecated")
    with Registry(database=sqlite_database) as first, Registry(database=other_database) as second:
        assert first.resolve("text", "openai", "gpt-4o").reason is FallbackReason.DEPRECATED
        assert second.resolve("text", "openai", "gpt-4o").fallback is False
        assert first.get_ai_config_for_story("openai", "gpt-4o").model_id == "gpt-5.4-mini"
        assert second.get_ai_config_for_story("openai", "gpt-4o").model_id == "gpt-4o"
        # The module-level functions answer from the default registry (on the first database).
        assert resolve("text", "openai", "gpt-4o").reason is FallbackReason.DEPRECATED


def test_a_change_in_one_registry_is_not_seen_by_the_other(
    sqlite_database: Database, other_database: Database
) -> None:
    with Registry(database=sqlite_database) as first, Registry(database=other_database) as second:
        assert first.resolve("text", "openai", "gpt-4o").fallback is False
        assert second.resolve("text", "openai", "gpt-4o").fallback is False
        _set_status(other_database, "gpt-4o", "disabled")  # read-your-writes: seen at once
        assert second.resolve("text", "openai", "gpt-4o").reason is FallbackReason.DISABLED
        time.sleep(1.0)  # longer than any freshness interval
        assert first.resolve("text", "openai", "gpt-4o").fallback is False
        assert first.snapshot_summary().version != second.snapshot_summary().version


def test_closing_one_registry_leaves_the_other_working(
    sqlite_database: Database, other_database: Database
) -> None:
    first = Registry(database=sqlite_database)
    second = Registry(database=other_database)
    try:
        first.resolve("text", "openai", "gpt-4o")
        second.resolve("text", "openai", "gpt-4o")
        first.close()
        with pytest.raises(RegistryError, match="closed"):
            first.resolve("text", "openai", "gpt-4o")
        # The other one still follows changes other processes make to its database.
        other_process = Database(other_database.url)
        try:
            _set_status(other_process, "gpt-4o", "disabled")
        finally:
            other_process.dispose()
        assert _wait_for(lambda: second.resolve("text", "openai", "gpt-4o").fallback)
        assert not second.snapshot_summary().outage
    finally:
        first.close()
        second.close()


def test_each_registry_counts_its_own_fallbacks_in_its_own_database(
    sqlite_database: Database, other_database: Database
) -> None:
    with Registry(database=sqlite_database) as first, Registry(database=other_database) as second:
        for _ in range(3):
            first.resolve("text", "openai", "gpt-unknown")
        second.resolve("text", "openai", "gpt-other")
        assert first.flush_fallback_counts() == 1
        assert second.flush_fallback_counts() == 1
        counted_first = [(u.requested_model, u.count) for u in first.get_fallback_counts()]
        counted_second = [(u.requested_model, u.count) for u in second.get_fallback_counts()]
    assert counted_first == [("gpt-unknown", 3)]
    assert counted_second == [("gpt-other", 1)]


def test_a_registry_built_from_a_url_opens_and_releases_its_own_database(
    sqlite_database: Database,
) -> None:
    with Registry(database_url=sqlite_database.url) as own:
        assert own.database is not sqlite_database
        assert own.database.url == sqlite_database.url
        assert own.get_ai_model().fallback is False
        assert own.database.engine.pool.checkedin() >= 1  # type: ignore[attr-defined]
    assert own.database.engine.pool.checkedin() == 0  # type: ignore[attr-defined]  # disposed
    assert "closed" in repr(own)


def test_a_forked_worker_gets_fresh_snapshots_of_both_registries(
    sqlite_database: Database, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """As gunicorn --preload forks its workers: each registry starts a keeper of its own in the
    child, on its own database, and the parent's keepers carry on."""
    other = make_database("sqlite", tmp_path, request)
    _set_status(other, "gpt-4o", "deprecated")
    with Registry(database=sqlite_database) as first, Registry(database=other) as second:
        parent_keepers = (first.keeper(), second.keeper())
        report_r, report_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover (the worker)
            code = 1
            try:
                answers = (
                    first.resolve("text", "openai", "gpt-4o").fallback,
                    second.resolve("text", "openai", "gpt-4o").fallback,
                    first.keeper() is not parent_keepers[0],
                    second.keeper() is not parent_keepers[1],
                )
                os.write(report_w, json.dumps(answers).encode() + b"\n")
                code = 0
            finally:
                os._exit(code)
        os.close(report_w)
        with os.fdopen(report_r) as reports:
            child = json.loads(reports.readline())
        assert os.waitpid(pid, 0)[1] == 0
        assert child == [False, True, True, True]
        assert (first.keeper(), second.keeper()) == parent_keepers
        _set_status(sqlite_database, "gpt-4o", "disabled")
        assert first.resolve("text", "openai", "gpt-4o").reason is FallbackReason.DISABLED


def test_each_registry_reads_the_api_keys_stored_in_its_own_database(
    sqlite_database: Database, other_database: Database
) -> None:
    set_api_key("openai", "sk-first-registry-0001")  # the default registry: the first database
    with Registry(database=sqlite_database) as first, Registry(database=other_database) as second:
        assert first.get_api_key("openai") == "sk-first-registry-0001"
        assert second.get_api_key("openai") is None  # none stored there, none in the environment
        credentials = first.credentials("openai")
        assert credentials is not None and credentials.api_key == "sk-first-registry-0001"
        assert second.credentials("openai") is None


def test_each_registry_decrypts_its_keys_with_its_own_secret(
    sqlite_database: Database, other_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_secret, second_secret = (Fernet.generate_key().decode() for _ in range(2))
    monkeypatch.setenv(SECRET_ENV, first_secret)
    set_api_key("openai", "sk-first-registry-0001")  # the default registry: the first database
    storing = Registry(database=other_database)
    previous = set_default_registry(storing)
    try:
        monkeypatch.setenv(SECRET_ENV, second_secret)
        set_api_key("openai", "sk-second-registry-0002")
    finally:
        set_default_registry(previous)
        storing.close()
    monkeypatch.delenv(SECRET_ENV)  # the process's own secret is now neither of them
    with (
        Registry(database=sqlite_database, secret_key=first_secret) as first,
        Registry(database=other_database, secret_key=second_secret) as second,
        Registry(database=other_database, secret_key=first_secret) as mismatched,
    ):
        assert first.get_api_key("openai") == "sk-first-registry-0001"
        credentials = second.credentials("openai")
        assert credentials is not None and credentials.api_key == "sk-second-registry-0002"
        with pytest.raises(SecretKeyError) as refused:
            mismatched.get_api_key("openai")
    assert "the secret_key given to Registry()" in str(refused.value)
    assert first_secret not in str(refused.value) and "0002" not in str(refused.value)
