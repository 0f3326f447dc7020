"""The registry as the main application's dependency (issue #9).

The wheel is built, installed without extras into a clean virtualenv (PostgreSQL adds only the
`postgres` extra), and used from an empty folder: the command line migrates and lists, and the
application's three calls answer, without Streamlit, pandas or a provider SDK installed or
imported.
"""

from __future__ import annotations

import email
import importlib.metadata
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from registry.scratch import create_postgres_database, drop_postgres_database, postgres_url
from tests.install_support import (
    DISTRIBUTION,
    LOCK,
    ROOT,
    Venv,
    build_wheel,
    make_venv,
    wheel_metadata,
    wheel_names,
)

# Distributions of the extras that the core install must leave out (psycopg is not checked:
# the PostgreSQL tests add the `postgres` extra to the same virtualenv).
HEAVY = {
    "streamlit",
    "pandas",
    "numpy",
    "pyarrow",
    "openai",
    "anthropic",
    "google-genai",
    "mistralai",
    "elevenlabs",
    "httpx",
    "httpx2",
}

# What the main application does, run by the installed interpreter from an empty folder.
APPLICATION = textwrap.dedent(
    """
    import json, sys
    import registry
    from registry import get_ai_config_for_story, get_ai_model, get_tts_model

    model = get_ai_model()
    story = get_ai_config_for_story("openai", "no-such-model", 0.5)
    voice = get_tts_model()
    heavy = [m for m in sys.modules if m.split(".")[0] in {"streamlit", "pandas", "openai",
             "anthropic", "mistralai", "elevenlabs", "httpx", "httpx2"} or m == "google.genai"]
    print(json.dumps({
        "registry": registry.__file__,
        "model": model.display_id,
        "story": [story.display_id, story.fallback, str(story.reason), story.temperature],
        "voice": voice.display_id,
        "heavy_imported": heavy,
    }))
    """
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def core(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    venv = make_venv(tmp_path_factory.mktemp("core") / "venv")
    venv.install(str(wheel))
    return venv


@pytest.fixture(scope="module")
def with_postgres(core: Venv, wheel: Path) -> Venv:
    """The core install plus the `postgres` extra (one virtualenv keeps the suite fast)."""
    core.install(f"{wheel}[postgres]")
    return core


@pytest.fixture(params=["sqlite", "postgresql"])
def installed(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Venv, dict[str, str]]]:
    """An installed registry and the environment that points it at a fresh database."""
    if request.param == "sqlite":
        # No variable at all: the default data/ folder under the working directory.
        yield request.getfixturevalue("core"), {}
        return
    name = create_postgres_database()
    try:
        yield (
            request.getfixturevalue("with_postgres"),
            {"REGISTRY_DATABASE_URL": postgres_url(name)},
        )
    finally:
        drop_postgres_database(name)


def test_wheel_carries_every_module_the_migrations_and_py_typed(wheel: Path) -> None:
    names = wheel_names(wheel)
    sources = {
        "registry/" + str(p.relative_to(ROOT / "registry"))
        for p in (ROOT / "registry").rglob("*")
        if p.suffix in {".py", ".typed", ".json"} and "__pycache__" not in p.parts
    }
    migrations = {
        "registry/migrations/" + str(p.relative_to(ROOT / "migrations"))
        for p in (ROOT / "migrations").rglob("*")
        if p.suffix in {".py", ".mako"} and "__pycache__" not in p.parts
    }
    assert "registry/py.typed" in sources
    assert "registry/migrations/versions/0001_schema.py" in migrations
    assert sources | migrations <= names


def test_wheel_has_its_own_name_and_a_small_core(wheel: Path) -> None:
    metadata = email.message_from_string(wheel_metadata(wheel))
    assert metadata["Name"] == DISTRIBUTION
    core = sorted(
        re.split(r"[ <>=!~;\[]", requirement, maxsplit=1)[0].lower()
        for requirement in metadata.get_all("Requires-Dist", [])
        if "extra ==" not in requirement
    )
    assert core == ["alembic", "cryptography", "icalendar", "pyyaml", "sqlalchemy"]
    assert set(metadata.get_all("Provides-Extra", [])) == {
        "postgres",
        "discovery",
        "dashboard",
        "dev",
    }


def test_core_install_has_no_dashboard_or_provider_sdks(core: Venv) -> None:
    probe = "import importlib.metadata as m; print(*(d.name.lower() for d in m.distributions()))"
    done = core.run([core.python, "-c", probe], cwd=core.root)
    assert done.returncode == 0, done.stderr
    installed = set(done.stdout.split())
    assert {DISTRIBUTION, "sqlalchemy", "alembic", "cryptography"} <= installed
    assert not installed & HEAVY
    assert len(installed) < 15, installed
    assert (core.site_packages() / "registry" / "py.typed").is_file()


def test_installed_cli_and_application_calls_work_from_an_empty_folder(
    installed: tuple[Venv, dict[str, str]], tmp_path: Path
) -> None:
    venv, env = installed
    folder = tmp_path / "empty"
    folder.mkdir()
    cli = venv.script("model-registry")

    migrated = venv.run([cli, "migrate"], cwd=folder, env=env)
    assert migrated.returncode == 0, migrated.stderr
    listed = venv.run([cli, "models", "list", "--json", "--category", "text"], cwd=folder, env=env)
    assert listed.returncode == 0, listed.stderr
    models = json.loads(listed.stdout)
    assert {"openai", "anthropic", "google"} <= {m["provider"] for m in models}
    assert any(m["is_default"] for m in models)

    app = venv.run([venv.python, "-c", APPLICATION], cwd=folder, env=env)
    assert app.returncode == 0, app.stderr
    answer = json.loads(app.stdout)
    assert Path(answer["registry"]).is_relative_to(venv.site_packages())
    assert answer["model"].startswith("openai/")
    assert answer["story"][1:] == [True, "not_found", 0.5]
    assert answer["story"][0].startswith("openai/")
    assert "/" in answer["voice"]
    assert answer["heavy_imported"] == []
    if not env:
        assert (folder / "data" / "registry.db").is_file()


def test_discover_without_the_extra_names_the_extra_in_one_line(core: Venv, tmp_path: Path) -> None:
    cli = core.script("model-registry")
    assert core.run([cli, "migrate"], cwd=tmp_path).returncode == 0
    done = core.run([cli, "discover", "--category", "text"], cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"pip install '{DISTRIBUTION}[discovery]'" in done.stderr
    # Keys need no SDK: listing them works on the core install.
    assert core.run([cli, "keys", "list"], cwd=tmp_path).returncode == 0


def test_import_registry_loads_discovery_only_when_asked() -> None:
    probe = textwrap.dedent(
        """
        import sys, registry
        before = "registry.discovery" in sys.modules
        registry.discover_models
        print(before, "registry.discovery" in sys.modules, "discover_models" in dir(registry))
        try:
            registry.no_such_name
        except AttributeError as error:
            print(error)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.splitlines() == [
        "False True True",
        "module 'registry' has no attribute 'no_such_name'",
    ]


def _dependencies(name: str, extras: frozenset[str] = frozenset()) -> set[str]:
    """Every distribution `name[extras]` pulls in, as installed in this environment."""
    found: set[str] = set()
    todo = [(name, extras)]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        current, wanted = todo.pop()
        if (current, wanted) in seen:
            continue
        seen.add((current, wanted))
        found.add(current)
        for line in importlib.metadata.requires(current) or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in wanted or {""}):
                todo.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return found - {name}


def test_the_suite_runs_on_the_versions_the_lock_pins() -> None:
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            # Names and versions only: no URL, no path, no index.
            assert re.fullmatch(r"[A-Za-z0-9][\w.-]*==[\w.+!-]+", line), line
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    installed = {
        name: importlib.metadata.version(name)
        for name in _dependencies(canonicalize_name(DISTRIBUTION), frozenset({"dev"}))
    }
    differ = {name: (v, pins.get(name)) for name, v in installed.items() if pins.get(name) != v}
    assert not differ, f"installed vs requirements.lock: {differ} (`make lock` renews the lock)"
