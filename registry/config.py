"""Configuration from the environment (or `.streamlit/secrets.toml` with the same names)."""

from __future__ import annotations

import contextlib
import errno
import os
import tomllib
from functools import lru_cache
from pathlib import Path

from registry.errors import ConfigurationError, InvalidInputError

PROVIDER_KEY_ENV: dict[str, str] = {
    "openai": "OPENAI_API_KEY",
    "google": "GEMINI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "xai": "XAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "elevenlabs": "ELEVENLABS_API_KEY",
    "azure": "AZURE_SPEECH_KEY",
}
AZURE_REGION_ENV = "AZURE_SPEECH_REGION"


@lru_cache(maxsize=1)
def _secrets_file() -> dict[str, object]:
    path = Path.cwd() / ".streamlit" / "secrets.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def setting(name: str) -> str | None:
    """An environment variable, else a top-level string of `.streamlit/secrets.toml`."""
    value = os.environ.get(name)
    if value:
        return value
    from_file = _secrets_file().get(name)
    return from_file if isinstance(from_file, str) and from_file else None


def data_dir() -> Path:
    return Path(setting("REGISTRY_DATA_DIR") or Path.cwd() / "data")


def ensure_data_dir(folder: Path | None = None, *, setting_name: str = "REGISTRY_DATA_DIR") -> Path:
    """Create the registry's folder (default: `data_dir()`) and missing parents, owner-only.

    The folders the registry creates hold the embedded database and the generated secret, so
    they are 0700 whatever the umask; folders that already exist are left as they are.
    """
    folder = folder if folder is not None else data_dir()
    missing: list[Path] = []
    parent = folder
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    try:
        for path in reversed(missing):
            with contextlib.suppress(FileExistsError):  # another process was quicker
                path.mkdir(mode=0o700)
        if not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a folder")
    except OSError as exc:
        raise ConfigurationError(
            f"cannot create the registry's data folder {folder} ({exc.strerror or exc}); "
            f"set {setting_name} to a writable folder"
        ) from None
    return folder


def database_url() -> str:
    url = setting("REGISTRY_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{data_dir() / 'registry.db'}"


def provider_base_url(name: str) -> str | None:
    """`REGISTRY_<NAME>_BASE_URL`: an origin replacing a provider's public API host.

    `name` is the provider id, or `google_tts` for Cloud Text-to-Speech. Returned without a
    trailing slash; request paths stay the provider's real ones.
    """
    value = setting(f"REGISTRY_{name.upper()}_BASE_URL")
    if not value:
        return None
    value = value.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise InvalidInputError(
            f"REGISTRY_{name.upper()}_BASE_URL must be an origin like http://127.0.0.1:8080"
        )
    return value


DEFAULT_DISCOVERY_TIMEOUT = 60.0


def discovery_timeout() -> float:
    """`REGISTRY_DISCOVERY_TIMEOUT`: seconds one provider listing may take in total, pages
    included (default 60); past it the connection is closed and that provider reports an error.
    """
    value = setting("REGISTRY_DISCOVERY_TIMEOUT")
    if not value:
        return DEFAULT_DISCOVERY_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 86_400:  # also refuses nan and inf
        raise InvalidInputError(
            "REGISTRY_DISCOVERY_TIMEOUT must be a number of seconds between 0 and 86400, e.g. 60"
        )
    return seconds


def environment_api_key(provider: str) -> str | None:
    env = PROVIDER_KEY_ENV.get(provider)
    return setting(env) if env else None
