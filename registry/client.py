"""`Registry`: one catalog database, the snapshot that answers from it, and its fallback counts.

```python
from registry import Registry

with Registry(database_url="postgresql+psycopg://app@db-host/app") as models:
    cfg = models.get_ai_config_for_story(story.provider, story.model, story.temperature)
```

A `Registry` owns its `Database` (opened on first use), the `SnapshotKeeper` that keeps the
snapshot fresh (started on the first lookup, started again in a forked child), and through it
the fallback counter and the log limit; its API keys are the ones stored in its database. Two
registries on two databases work side by side in one process and share nothing. The
module-level functions (`registry.get_ai_model`, …) are a façade over `default_registry()`,
built from the environment on first use, as `httpx.get` is over an `httpx.Client`;
`set_default_registry` swaps it (tests, tools).

Answers come from the snapshot (no I/O per call) and are memoised per snapshot; the `a…`
variants (`aget_ai_model`, …) answer the same on an event loop without ever blocking it.
Fallbacks are counted (see `registry.usage`) and logged once per (requested model, reason) per
5 minutes. Database faults never raise from a lookup; the rules are in `registry.rules`.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Mapping
from datetime import date
from types import TracebackType
from typing import TYPE_CHECKING, Any

from registry import config
from registry.audit import SYSTEM, Actor
from registry.db import Database
from registry.errors import ConfigurationError, DatabaseError, InvalidInputError, RegistryError
from registry.keeper import (
    ChangeFeed,
    RegistryHealth,
    SnapshotKeeper,
    SnapshotSummary,
    one_line,
    unconfigured_keeper,
)
from registry.providers.base import Credentials, ProviderAdapter
from registry.rules import (
    Exhausted,
    ResolvedConfig,
    ResolvedModel,
    clean_model,
    config_from,
    global_in,
    no_model,
    override_request,
    resolve_in,
    story_in,
)
from registry.settings import GlobalConfig, parse_temperature
from registry.snapshot import Snapshot
from registry.types import Category, parse_category, parse_provider
from registry.usage import FallbackUsage, read_fallback_counts

if TYPE_CHECKING:
    from collections.abc import Sequence

    from registry.approval_rules import ApprovalRule, RuleSpec
    from registry.transfer import ImportReport
    from registry.types import CatalogModel

__all__ = ["Registry", "default_registry", "set_default_registry"]

# Memo keys of the answers that are not plain `resolve` calls.
_GLOBAL_MODEL = object()
_GLOBAL_CONFIG = object()
_OVERRIDE = object()
_STORY = object()


class Registry:
    """The model registry of one database. Thread-safe; close it (or use `with`) when done.

    `Registry(database_url=...)` names the database; `Registry(database=db)` uses an open
    `Database` that the caller keeps (and disposes); `Registry()` or
    `Registry.from_environment()` reads `REGISTRY_DATABASE_URL` (default: SQLite in
    `REGISTRY_DATA_DIR`) when the database is first needed. `secret_key` is the Fernet key
    its stored API keys were encrypted with (default: `REGISTRY_SECRET_KEY`, else the data
    folder's file). Building one does no I/O, unless `strict=True`: then the database is opened
    at once, and a configuration naming no usable one raises `ConfigurationError` here instead
    of the curated catalog answering (logged once) until the setting is fixed.
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        database: Database | None = None,
        secret_key: str | bytes | None = None,
        strict: bool = False,
    ):
        if database_url is not None and database is not None:
            raise InvalidInputError("give a Registry a database_url or a database, not both")
        self._strict = strict
        self._feed = ChangeFeed()
        # The Fernet key its stored API keys were encrypted with; None: the process's
        # (REGISTRY_SECRET_KEY, else the data folder's file).
        if not isinstance(secret_key, str | bytes | None):
            raise ConfigurationError(
                f"secret_key must be a Fernet key as str or bytes, not {type(secret_key).__name__}"
            )
        # bytes as Fernet.generate_key() returns them; a non-ASCII one fails as a malformed key.
        self._secret_key = (
            secret_key.decode("ascii", "replace") if isinstance(secret_key, bytes) else secret_key
        )
        self._database_url = database_url
        self._database = database
        self._owns_database = database is None
        self._keeper: SnapshotKeeper | None = None
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._closed = False
        if strict:
            self.database  # noqa: B018 (opening it is the check)

    @classmethod
    def from_environment(cls) -> Registry:
        """The registry the environment configures (what `default_registry()` builds)."""
        return cls()

    def __repr__(self) -> str:
        where = self._database.safe_url if self._database is not None else "not opened yet"
        return f"<Registry {where}{' closed' if self._closed else ''}>"

    # lifecycle ---------------------------------------------------------------------------

    @property
    def database(self) -> Database:
        """The catalog database, opened on first use (`ConfigurationError` when the
        configuration names no usable one; asked again on the next use)."""
        found = self._database
        if found is None:
            with self._locked():
                if self._database is None:
                    self._database = Database(self._database_url or config.database_url())
                found = self._database
        return found

    def keeper(self) -> SnapshotKeeper:
        """The keeper of this registry's snapshot: started on first use, and again after a
        fork; after a local commit it re-checks the database first (read your writes)."""
        found = self._keeper
        if found is None or found.closed:
            found = self._start_keeper()
        if found.dirty:
            found.refresh_local()
        return found

    def _locked(self) -> threading.RLock:
        if self._pid != os.getpid():  # a forked child: the parent's threads hold nothing here
            self._lock, self._pid = threading.RLock(), os.getpid()
        return self._lock

    def _start_keeper(self) -> SnapshotKeeper:
        with self._locked():
            if self._closed:
                raise RegistryError(f"{self!r} is closed; build a new Registry")
            found = self._keeper
            if found is None or found.closed:
                try:
                    database = self.database
                except RegistryError as exc:
                    if self._strict:
                        raise
                    found = unconfigured_keeper(exc)
                else:
                    found = SnapshotKeeper(database, self._feed)
                    found.start()
                self._keeper = found
            return found

    def reset_snapshot(self) -> None:
        """Forget the snapshot: the next lookup loads a fresh one (its counts are written)."""
        with self._locked():
            found, self._keeper = self._keeper, None
        if found is not None:
            found.close()
            found.final_flush()

    def close(self) -> None:
        """Stop the freshness thread, write the fallback counts (bounded in time) and release
        the database (unless the caller handed it in). Lookups afterwards raise."""
        with self._locked():
            self._closed = True
        self.reset_snapshot()
        self._feed.close()
        if self._owns_database and self._database is not None:
            self._database.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def snapshot_summary(self) -> SnapshotSummary:
        """What this registry answers from: the snapshot's version and age, or an outage."""
        return self.keeper().summary()

    def health(self) -> RegistryHealth:
        """Whether the database is in an outage, how old the snapshot is (seconds since the
        database last confirmed it), push or poll, and whether the catalog comes from the
        database or the built-in catalog stands in. No I/O beyond starting the registry."""
        return self.keeper().health()

    def subscribe(self, callback: Callable[[SnapshotSummary], object]) -> Callable[[], None]:
        """Call `callback(summary)` after each change the snapshot takes (a new change stamp,
        the first load included), on a thread of the registry's own, never a caller's; a
        backlog is folded into its latest summary. Returns a function that unsubscribes."""
        return self._feed.subscribe(callback)

    def _ready(self) -> bool:
        """Answering needs no I/O (and no wait): the snapshot is there and holds our writes."""
        found = self._keeper
        return found is not None and not found.closed and not found.dirty

    async def aget_ai_model(
        self,
        model_override: str | None = None,
        config_override: GlobalConfig | Mapping[str, Any] | None = None,
    ) -> ResolvedModel:
        """`get_ai_model` for an event loop: answered in place from the snapshot, or on a worker
        thread when it must wait (first use, right after this process's own write)."""
        if self._ready():
            return self.get_ai_model(model_override, config_override)
        return await asyncio.to_thread(self.get_ai_model, model_override, config_override)

    async def aget_ai_config_for_story(
        self,
        story_provider: str | None,
        story_model: str | None,
        story_temperature: float | None = None,
    ) -> ResolvedConfig:
        """`get_ai_config_for_story` for an event loop (see `aget_ai_model`)."""
        if self._ready():
            return self.get_ai_config_for_story(story_provider, story_model, story_temperature)
        return await asyncio.to_thread(
            self.get_ai_config_for_story, story_provider, story_model, story_temperature
        )

    async def aget_tts_model(
        self,
        model_override: str | None = None,
        config_override: GlobalConfig | Mapping[str, Any] | None = None,
    ) -> ResolvedModel:
        """`get_tts_model` for an event loop (see `aget_ai_model`)."""
        if self._ready():
            return self.get_tts_model(model_override, config_override)
        return await asyncio.to_thread(self.get_tts_model, model_override, config_override)

    # resolution (the hot path) -------------------------------------------------------------

    def resolve(self, category: Category | str, provider: str, model: str | None) -> ResolvedModel:
        """Which (provider, model_id) to really use for `provider/model`, and why.

        `model=None` asks for the provider's default. Raises `InvalidInputError` for an unknown
        category or provider, `NoAvailableModelError` when nothing of the provider is usable.
        """
        found = self._keeper
        if found is None or found.dirty or found.closed:
            found = self.keeper()
        snap = found.snapshot
        try:
            answer: ResolvedModel = snap.resolved[(category, provider, model)]
        except KeyError:
            answer = _compute_resolve(snap, category, provider, model)
        except TypeError:
            raise InvalidInputError("category, provider and model must be strings") from None
        if answer.fallback:
            found.note(answer, answer.describe)
        return answer

    def preview_resolve(
        self, category: Category | str, provider: str, model: str | None
    ) -> ResolvedModel:
        """`resolve`'s answer without counting or logging it (CLI, dashboard "Falls back to")."""
        return _preview_in(self.keeper().snapshot, category, provider, model)

    def preview_config(
        self, category: Category | str, provider: str, model: str | None
    ) -> ResolvedConfig:
        """`preview_resolve`'s answer with the global generation parameters (text only): what a
        story naming `provider/model` would be generated with (CLI `resolve --json`)."""
        snap = self.keeper().snapshot
        return config_from(_preview_in(snap, category, provider, model), snap, None)

    def get_ai_config(self) -> ResolvedConfig:
        """The global text config (provider, model, temperature, max tokens), checked."""
        return self._global_config(Category.TEXT)

    def get_ai_model(
        self,
        model_override: str | None = None,
        config_override: GlobalConfig | Mapping[str, Any] | None = None,
    ) -> ResolvedModel:
        """The text model to use: the global config, or the overrides (checked strictly).

        `model_override` is a model id of the override's provider (else the global provider);
        `config_override` a `GlobalConfig` or a mapping with `provider` and `model`. An
        override naming a pending or disabled model raises `ModelNotEnabledError`.
        """
        return self._configured_model(Category.TEXT, model_override, config_override)

    def get_ai_config_for_story(
        self,
        story_provider: str | None,
        story_model: str | None,
        story_temperature: float | None = None,
    ) -> ResolvedConfig:
        """The text config for a story: its provider/model if usable, else the fallbacks down
        to the global config; its temperature when valid (0..2), else the global one."""
        return self._story_config(Category.TEXT, story_provider, story_model, story_temperature)

    def get_tts_config(self) -> ResolvedConfig:
        """The global TTS config, checked (temperature and max_tokens are None)."""
        return self._global_config(Category.TTS)

    def get_tts_model(
        self,
        model_override: str | None = None,
        config_override: GlobalConfig | Mapping[str, Any] | None = None,
    ) -> ResolvedModel:
        """The TTS model (voice) to use; mirrors `get_ai_model`."""
        return self._configured_model(Category.TTS, model_override, config_override)

    def get_tts_config_for_story(
        self, story_provider: str | None, story_model: str | None
    ) -> ResolvedConfig:
        """The TTS config for a story; mirrors `get_ai_config_for_story` (no temperature)."""
        return self._story_config(Category.TTS, story_provider, story_model, None)

    def _configured_model(
        self, cat: Category, model_override: object, config_override: object
    ) -> ResolvedModel:
        found = self.keeper()
        snap = found.snapshot
        if model_override is None and config_override is None:
            answer: ResolvedModel | None = snap.memo.get((_GLOBAL_MODEL, cat))
            if answer is None:
                answer = global_in(snap, cat)
                snap.remember(snap.memo, (_GLOBAL_MODEL, cat), answer)
        else:
            provider, model = override_request(snap, cat, model_override, config_override)
            key = (_OVERRIDE, cat, provider, model)
            answer = snap.memo.get(key)
            if answer is None:
                try:
                    answer = resolve_in(snap, cat, provider, model, explicit=model is not None)
                except Exhausted as exhausted:
                    raise no_model(cat, provider, exhausted) from None
                snap.remember(snap.memo, key, answer)
        if answer.fallback:
            found.note(answer, answer.describe)
        return answer

    def _global_config(self, cat: Category) -> ResolvedConfig:
        found = self.keeper()
        snap = found.snapshot
        answer: ResolvedConfig | None = snap.memo.get((_GLOBAL_CONFIG, cat))
        if answer is None:
            answer = config_from(global_in(snap, cat), snap, None)
            snap.remember(snap.memo, (_GLOBAL_CONFIG, cat), answer)
        if answer.fallback:
            found.note(answer, answer.describe)
        return answer

    def _story_config(
        self,
        cat: Category,
        story_provider: object,
        story_model: object,
        story_temperature: object,
    ) -> ResolvedConfig:
        found = self.keeper()
        snap = found.snapshot
        key: tuple[object, ...] | None = (
            _STORY,
            cat,
            story_provider,
            story_model,
            story_temperature,
        )
        try:
            answer: ResolvedConfig | None = snap.memo.get(key)
        except TypeError:  # an unhashable argument: compute (and report) without memoising
            key, answer = None, None
        if answer is None:
            temperature = _story_temperature(found, story_temperature)
            answer = config_from(
                story_in(snap, cat, story_provider, story_model), snap, temperature
            )
            if key is not None:
                snap.remember(snap.memo, key, answer)
        if answer.fallback:
            found.note(answer, answer.describe)
        return answer

    # secrets and adapters ----------------------------------------------------------------

    def get_api_key(self, provider: str) -> str | None:
        """The provider's API key stored in this registry's database (decrypted with its
        `secret_key`, else the process's secret: `REGISTRY_SECRET_KEY`, else the data folder's
        file), else the environment's; None when neither is configured."""
        from registry import keys  # loaded on first use: resolution does not need it

        return keys.get_api_key(provider, database=self.database, secret_key=self._secret_key)

    def credentials(self, provider: str) -> Credentials | None:
        """What the provider's adapter needs (key, Azure region), from this registry."""
        from registry import keys

        return keys.get_credentials(provider, database=self.database, secret_key=self._secret_key)

    def adapter(self, provider: str) -> ProviderAdapter:
        """The provider's adapter (needs the `discovery` extra; adapters hold no state)."""
        from registry.providers import get_adapter

        return get_adapter(provider)

    # fallback usage ------------------------------------------------------------------------

    def flush_fallback_counts(self) -> int:
        """Write this registry's fallback counts now; returns rows written (the background
        thread does this every 10 s). Raises `DatabaseError` when the database refuses; the
        counts are kept."""
        found = self._keeper
        if found is None:
            return 0
        try:
            return found.flush()
        except Exception as exc:
            raise DatabaseError(f"fallback counts not saved: {one_line(exc)}") from None

    def get_fallback_counts(
        self,
        since: date | None = None,
        *,
        category: Category | str | None = None,
        provider: str | None = None,
    ) -> list[FallbackUsage]:
        """What the application asked for and got instead, per day since `since` (default:
        today, UTC), most frequent first. This registry's unflushed counts are written first."""
        found = self._keeper
        if found is not None:
            found.flush_quietly()
        return read_fallback_counts(self.database, since, category=category, provider=provider)

    # approval rules, export and import (registry.approval_rules, registry.transfer) ----------

    def list_approval_rules(self) -> list[ApprovalRule]:
        """This registry's approval rules, first asked first."""
        from registry import approval_rules

        return approval_rules.list_approval_rules(database=self.database)

    def add_approval_rule(
        self,
        category: Category | str,
        pattern: str,
        action: str,
        *,
        provider: str | None = None,
        note: str | None = None,
        position: int | None = None,
        actor: Actor = SYSTEM,
    ) -> ApprovalRule:
        """`registry.approval_rules.add_approval_rule` on this registry's database."""
        from registry import approval_rules

        return approval_rules.add_approval_rule(
            category,
            pattern,
            action,
            provider=provider,
            note=note,
            position=position,
            actor=actor,
            database=self.database,
        )

    def remove_approval_rule(self, rule_id: int, *, actor: Actor = SYSTEM) -> ApprovalRule:
        from registry import approval_rules

        return approval_rules.remove_approval_rule(rule_id, actor=actor, database=self.database)

    def move_approval_rule(
        self, rule_id: int, position: int, *, actor: Actor = SYSTEM
    ) -> list[ApprovalRule]:
        from registry import approval_rules

        return approval_rules.move_approval_rule(
            rule_id, position, actor=actor, database=self.database
        )

    def save_approval_rules(
        self, specs: Sequence[RuleSpec], *, actor: Actor = SYSTEM
    ) -> list[ApprovalRule]:
        from registry import approval_rules

        return approval_rules.save_approval_rules(specs, actor=actor, database=self.database)

    def test_approval_rule(
        self, category: Category | str, pattern: str, *, provider: str | None = None
    ) -> list[CatalogModel]:
        """The catalog models a rule with this category, provider and pattern matches today."""
        from registry import approval_rules

        return approval_rules.test_approval_rule(
            category, pattern, provider=provider, database=self.database
        )

    def export_admin_state(self) -> dict[str, Any]:
        """This registry's admin state as an export document (registry.transfer)."""
        from registry import transfer

        return transfer.export_admin_state(database=self.database)

    def import_admin_state(
        self, document: Any, *, dry_run: bool = False, actor: Actor = SYSTEM
    ) -> ImportReport:
        """Bring this registry's catalog to an export's admin state (registry.transfer)."""
        from registry import transfer

        return transfer.import_admin_state(
            document, dry_run=dry_run, actor=actor, database=self.database
        )


def _compute_resolve(snap: Snapshot, category: Any, provider: Any, model: Any) -> ResolvedModel:
    cat = parse_category(category)
    prov = parse_provider(str(provider), cat)
    try:
        answer = resolve_in(snap, cat, prov, clean_model(model), explicit=False)
    except Exhausted as exhausted:
        raise no_model(cat, prov, exhausted) from None
    snap.remember(snap.resolved, (category, provider, model), answer)
    return answer


def _preview_in(snap: Snapshot, category: Any, provider: Any, model: Any) -> ResolvedModel:
    try:
        answer: ResolvedModel = snap.resolved[(category, provider, model)]
    except KeyError:
        answer = _compute_resolve(snap, category, provider, model)
    except TypeError:
        raise InvalidInputError("category, provider and model must be strings") from None
    return answer


def _story_temperature(found: SnapshotKeeper, value: object) -> float | None:
    if value is None:
        return None
    try:
        return parse_temperature(value)
    except InvalidInputError as error:
        found.note_once(("temperature", repr(value)), f"{error}; using the global temperature")
        return None


# --- the default registry (the module-level functions' instance) ----------------------------

_default: Registry | None = None
_default_lock = threading.Lock()


def default_registry() -> Registry:
    """The registry the module-level functions use: built from the environment on first use,
    unless `set_default_registry` installed one."""
    global _default
    found = _default
    if found is None:
        with _default_lock:
            if _default is None:
                _default = Registry.from_environment()
            found = _default
    return found


def set_default_registry(registry: Registry | None) -> Registry | None:
    """Make `registry` the one the module-level functions use (None: build one from the
    environment on next use). Returns the previous one, left open: close it, or put it back."""
    global _default
    with _default_lock:
        previous, _default = _default, registry
    return previous
