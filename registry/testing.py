"""Registries for the main application's own tests: a catalog described in a few lines.

```python
from registry import get_ai_config_for_story
from registry.testing import fake_registry

def test_a_retired_model_falls_back() -> None:
    with fake_registry(
        models=[("text", "openai", "gpt-4o", "deprecated"), ("text", "openai", "o3", "enabled")],
        defaults={("text", "openai"): "o3"},
        global_text=("openai", "o3"),
    ):
        assert get_ai_config_for_story("openai", "gpt-4o").model_id == "o3"
```

Inside the block a real `Registry` holds exactly the listed models and settings, in a fresh
migrated SQLite file of its own (copied from a template migrated once per process: no
PostgreSQL, no network, no Streamlit, nothing written where the application runs). It is the
default registry for the duration, so every module-level function (`get_ai_model`,
`set_default_model`, …) answers from it, and the block's value carries it (`.registry`) for code
that takes a `Registry`. Afterwards it is closed and the previous default registry is back,
untouched (its freshness thread ran on), even when the block raised. One block at a time per
process: the default registry is process-wide.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete

from registry import migrate
from registry.catalog import default_setting_key
from registry.client import Registry, set_default_registry
from registry.db import Database
from registry.errors import InvalidInputError
from registry.schema import AIModel, AppSetting, AuditEntry, utcnow
from registry.settings import parse_temperature
from registry.types import ModelStatus, display_id, parse_category, parse_provider

__all__ = ["FakeRegistry", "ModelRow", "as_default", "fake_registry"]

# (category, provider, model_id, status) or, for a deprecated model, (…, status, successor_id).
# Any length to a type checker: a literal list mixing both shapes is `list[tuple[str, ...]]`
# (mypy --strict), and `_model_row` checks the length with a clear error.
ModelRow = tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class FakeRegistry:
    """What a `fake_registry` block gets: the registry, and its database (for direct checks)."""

    registry: Registry
    database: Database


@contextmanager
def fake_registry(
    models: Sequence[ModelRow] = (),
    defaults: Mapping[tuple[str, str], str] | None = None,
    *,
    global_text: tuple[str, str] | None = None,
    global_tts: tuple[str, str] | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> Iterator[FakeRegistry]:
    """A registry holding exactly `models`, installed as the process's registry for the block.

    `defaults` maps (category, provider) to the provider's default model id (it must be listed
    and `enabled`); `global_text` / `global_tts` are the global (provider, model) configs, and
    `temperature` / `max_tokens` the global text parameters (unset: the built-in ones). A
    description that no real registry could hold raises `InvalidInputError` before anything
    changes.
    """
    rows = [_model_row(entry) for entry in models]
    settings = _settings(rows, defaults or {}, global_text, global_tts, temperature, max_tokens)
    folder = Path(tempfile.mkdtemp(prefix="registry-test-"))
    database: Database | None = None
    try:
        path = folder / "registry.db"
        shutil.copyfile(_template(), path)
        database = Database(f"sqlite:///{path}")
        with database.write() as session:
            session.add_all(rows)
            session.add_all(AppSetting(key=key, value=value) for key, value in settings.items())
        with Registry(database=database) as registry, as_default(registry):
            yield FakeRegistry(registry, database)
    finally:
        if database is not None:
            database.dispose()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def as_default(registry: Registry) -> Iterator[Registry]:
    """`registry` as the default registry for the block; the previous one back afterwards. A
    default installed in its place during the block (`set_database`) is closed then."""
    previous = set_default_registry(registry)
    try:
        yield registry
    finally:
        left = set_default_registry(previous)
        if left is not None and left is not registry:
            left.close()


def _model_row(entry: Sequence[str | None]) -> AIModel:
    if isinstance(entry, str) or len(entry) not in (4, 5):
        raise InvalidInputError(
            f"each model is (category, provider, model_id, status[, successor]): 4 or 5 values, "
            f"not {entry!r}"
        )
    category, provider, model_id, status, *successor = entry
    cat = parse_category(str(category))
    prov = parse_provider(str(provider), cat)
    if not isinstance(model_id, str) or not model_id.strip():
        raise InvalidInputError(f"model id {model_id!r} of {prov} is not a non-empty string")
    try:
        state = ModelStatus(str(status))
    except ValueError:
        allowed = ", ".join(s.value for s in ModelStatus)
        raise InvalidInputError(f"status {status!r} is not one of {allowed}") from None
    now = utcnow()
    return AIModel(
        provider=prov,
        category=cat.value,
        model_id=model_id,
        display_name=model_id,
        status=state.value,
        source="api",
        discovered_at=now,
        enabled_at=now if state is ModelStatus.ENABLED else None,
        deprecated_at=now if state is ModelStatus.DEPRECATED else None,
        successor_model_id=successor[0] if successor else None,
        created_at=now,
        updated_at=now,
    )


def _settings(
    rows: list[AIModel],
    defaults: Mapping[tuple[str, str], str],
    global_text: tuple[str, str] | None,
    global_tts: tuple[str, str] | None,
    temperature: float | None,
    max_tokens: int | None,
) -> dict[str, str]:
    statuses = {(r.category, r.provider, r.model_id): r.status for r in rows}
    settings: dict[str, str] = {}
    for (category, provider), model_id in defaults.items():
        cat = parse_category(category)
        prov = parse_provider(provider, cat)
        status = statuses.get((cat.value, prov, model_id))
        if status != ModelStatus.ENABLED.value:
            # The rule every real registry keeps: a provider's default is an enabled model.
            state = "not listed" if status is None else status
            raise InvalidInputError(
                f"the {cat.value} default {display_id(prov, model_id)} must be a listed, "
                f"enabled model; it is {state}"
            )
        settings[default_setting_key(cat, prov)] = model_id
    for prefix, config in (("ai", global_text), ("tts", global_tts)):
        if config is not None:
            provider, model_id = config
            settings[f"{prefix}.provider"], settings[f"{prefix}.model"] = provider, model_id
    if temperature is not None:
        settings["ai.temperature"] = str(parse_temperature(temperature))
    if max_tokens is not None:
        settings["ai.max_tokens"] = str(max_tokens)
    return settings


_template_path: Path | None = None
_template_lock = threading.Lock()


def _template() -> Path:
    """A migrated SQLite file with an empty catalog, made once per process (migrating takes
    about a second; a copy, milliseconds) and removed at exit."""
    global _template_path
    with _template_lock:
        if _template_path is None:
            folder = Path(tempfile.mkdtemp(prefix="registry-template-"))
            atexit.register(shutil.rmtree, folder, True)
            path = folder / "registry.db"
            database = Database(f"sqlite:///{path}")
            try:
                migrate.upgrade(database)
                # The migrations seed the curated catalog and the global config: a fake
                # registry holds only what its test describes.
                with database.write() as session:
                    for table in (AIModel, AppSetting, AuditEntry):
                        session.execute(delete(table))
            finally:
                database.dispose()
            _template_path = path
        return _template_path
