"""`make demo`: the dashboard on a scratch database, with stand-in provider servers on 127.0.0.1.

Every provider gets its own stand-in server replaying the small listings in
`registry/standin/fixtures/`, and the dashboard process is pointed at them through
`REGISTRY_<PROVIDER>_BASE_URL` with made-up keys — so Refresh → Approve → Default works offline.
`StandInProviders` is reused by tests and benchmarks.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from registry.standin.server import StandInServer

FIXTURES_DIR = Path(__file__).resolve().parent / "standin" / "fixtures"
PROJECT_DIR = Path(__file__).resolve().parent.parent

# Stand-in name → (module:installer, env var of its base URL, env var of its key).
STANDINS: dict[str, tuple[str, str, str | None]] = {
    "openai": ("registry.standin.openai:install", "REGISTRY_OPENAI_BASE_URL", "OPENAI_API_KEY"),
    "google": ("registry.standin.google:install", "REGISTRY_GOOGLE_BASE_URL", "GEMINI_API_KEY"),
    "google_tts": (
        "registry.standin.google:install_cloud_tts",
        "REGISTRY_GOOGLE_TTS_BASE_URL",
        None,
    ),
    "anthropic": (
        "registry.standin.anthropic:install",
        "REGISTRY_ANTHROPIC_BASE_URL",
        "ANTHROPIC_API_KEY",
    ),
    "mistral": ("registry.standin.mistral:install", "REGISTRY_MISTRAL_BASE_URL", "MISTRAL_API_KEY"),
    "xai": ("registry.standin.xai:install", "REGISTRY_XAI_BASE_URL", "XAI_API_KEY"),
    "openrouter": (
        "registry.standin.openrouter:install",
        "REGISTRY_OPENROUTER_BASE_URL",
        "OPENROUTER_API_KEY",
    ),
    "elevenlabs": (
        "registry.standin.elevenlabs:install",
        "REGISTRY_ELEVENLABS_BASE_URL",
        "ELEVENLABS_API_KEY",
    ),
    "azure": ("registry.standin.azure:install", "REGISTRY_AZURE_BASE_URL", "AZURE_SPEECH_KEY"),
}


def load_fixture(name: str) -> Any:
    """A small listing in the provider's wire shape (see registry/standin/fixtures/)."""
    return json.loads((FIXTURES_DIR / f"{name}.json").read_text(encoding="utf-8"))


def _installer(name: str) -> Callable[..., None]:
    module, _, function = STANDINS[name][0].partition(":")
    installer: Callable[..., None] = getattr(importlib.import_module(module), function)
    return installer


class StandInProviders:
    """One stand-in server per provider (their real paths collide, e.g. /v1/models)."""

    def __init__(
        self,
        bodies: dict[str, Any] | None = None,
        page_size: int | None = None,
        latency: float = 0.0,
    ) -> None:
        self.page_size = page_size
        self.latency = latency
        self.servers: dict[str, StandInServer] = {}
        self._bodies = bodies

    def start(self) -> StandInProviders:
        for name in STANDINS:
            self.servers[name] = StandInServer(latency=self.latency).start()
            body = self._bodies.get(name) if self._bodies else None
            self.serve(name, load_fixture(name) if body is None else body)
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()

    def __enter__(self) -> StandInProviders:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve(self, name: str, body: Any) -> None:
        """Replace what a stand-in lists (e.g. drop a model to see it deprecated)."""
        _installer(name)(self.servers[name], body, page_size=self.page_size)

    def environment(self) -> dict[str, str]:
        """Base URLs and made-up keys that point the registry at these stand-ins."""
        env = {"AZURE_SPEECH_REGION": "westeurope"}
        for name, (_, base_env, key_env) in STANDINS.items():
            env[base_env] = self.servers[name].origin
            if key_env:
                env[key_env] = f"demo-{name}-key-0000"
        return env

    @contextmanager
    def environ(self) -> Iterator[None]:
        """Apply `environment()` to this process for the duration of the block."""
        saved = {k: os.environ.get(k) for k in self.environment()}
        os.environ.update(self.environment())
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


# The demo's one retiring model: Mistral lists a retirement date and a replacement.
DEMO_RETIRING = ("ministral-8b-latest", "mistral-small-latest")
DEMO_RETIRING_IN_DAYS = 21


def demo_bodies(now: datetime) -> dict[str, Any]:
    """The fixtures, with one Mistral model retiring three weeks from `now` (its replacement
    named), so the demo shows "retires in N days" and a suggested successor on any date."""
    mistral = load_fixture("mistral")
    retiring, replacement = DEMO_RETIRING
    for entry in mistral["data"]:
        if entry["id"] == retiring:
            when = now + timedelta(days=DEMO_RETIRING_IN_DAYS)
            entry["deprecation"] = when.strftime("%Y-%m-%dT12:00:00Z")
            entry["deprecation_replacement_model"] = replacement
    return {"mistral": mistral}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m registry.demo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--data-dir", default=str(PROJECT_DIR / "data" / "demo"))
    args = parser.parse_args(argv)

    data_dir = Path(args.data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)  # a scratch database every time
    data_dir.mkdir(parents=True)
    with StandInProviders(demo_bodies(datetime.now(UTC))) as providers:
        env = dict(os.environ) | providers.environment()
        env |= {
            "REGISTRY_DATA_DIR": str(data_dir),
            "REGISTRY_DATABASE_URL": f"sqlite:///{data_dir / 'registry.db'}",
        }
        subprocess.run([sys.executable, "-m", "registry", "migrate"], env=env, check=True)
        print(f"Demo: stand-in providers on {providers.servers['openai'].origin} and friends;")
        print(f"      scratch database in {data_dir}. Open http://{args.host}:{args.port}")
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(PROJECT_DIR / "app.py"),
            "--server.address",
            args.host,
            "--server.port",
            str(args.port),
            "--server.headless",
            "true",
        ]
        try:
            return subprocess.run(command, env=env, cwd=PROJECT_DIR).returncode
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
