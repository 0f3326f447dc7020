"""What a provider card of the dashboard shows: counts, defaults, fallbacks, discovery, key.

A report, not the hot path: it reads the database directly (never the snapshot) and applies
the resolution rules of `registry.rules` to what it read, so the card shows what resolution
would answer right after the page's own change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from registry.catalog import default_setting_key
from registry.db import get_database
from registry.rules import Exhausted, provider_choice, resolve_in
from registry.schema import AIModel, AppSetting, DiscoveryState
from registry.snapshot import Snapshot
from registry.types import Category, ModelStatus, parse_category, parse_provider

_ENABLED = ModelStatus.ENABLED.value
_DISABLED = ModelStatus.DISABLED.value
_DEPRECATED = ModelStatus.DEPRECATED.value


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    provider: str
    category: Category
    enabled_models: tuple[str, ...]  # model ids, sorted
    pending_count: int
    disabled_count: int
    deprecated_count: int  # not archived
    default_model: str | None  # the saved default (app_settings), whatever its status
    effective_default: str | None  # what resolution falls back to now; None if nothing usable
    # For every deprecated model (archived too): the display id it falls back to, or None.
    deprecated_fallbacks: dict[str, str | None]
    last_refresh: datetime | None  # last successful discovery
    last_attempt: datetime | None
    last_outcome: str | None
    last_errors: tuple[str, ...]
    key_configured: bool
    key_source: str | None  # "stored", "environment" or None
    key_masked: str | None


def get_provider_status(provider: str, category: Category | str) -> ProviderStatus:
    """What a provider card shows. Reads the database (raises `DatabaseError` if unreachable)."""
    from registry.keys import list_key_status

    cat = parse_category(category)
    prov = parse_provider(provider, cat)
    setting_key = default_setting_key(cat, prov)
    with get_database().read() as session:
        rows = list(
            session.execute(
                select(
                    AIModel.model_id,
                    AIModel.status,
                    AIModel.successor_model_id,
                    AIModel.archived_at,
                ).where(AIModel.provider == prov, AIModel.category == cat.value)
            )
        )
        default = session.scalar(select(AppSetting.value).where(AppSetting.key == setting_key))
        state = session.get(DiscoveryState, (prov, cat.value))
    view = Snapshot(
        None,
        {(cat.value, prov, m): (status, successor) for m, status, successor, _ in rows},
        {setting_key: default} if default else {},
    )
    choice = provider_choice(view, cat, prov, [])
    fallbacks: dict[str, str | None] = {}
    for model_id, status, _, _ in rows:
        if status != _DEPRECATED:
            continue
        try:
            fallbacks[model_id] = resolve_in(view, cat, prov, model_id, explicit=False).display_id
        except Exhausted:
            fallbacks[model_id] = None
    live = [(m, s) for m, s, _, archived in rows if archived is None]
    key = next(k for k in list_key_status() if k.provider == prov)
    return ProviderStatus(
        provider=prov,
        category=cat,
        enabled_models=tuple(sorted(m for m, s in live if s == _ENABLED)),
        pending_count=sum(1 for _, s in live if s == ModelStatus.PENDING.value),
        disabled_count=sum(1 for _, s in live if s == _DISABLED),
        deprecated_count=sum(1 for _, s in live if s == _DEPRECATED),
        default_model=default,
        effective_default=choice[0] if choice else None,
        deprecated_fallbacks=dict(sorted(fallbacks.items())),
        last_refresh=state.last_success_at if state else None,
        last_attempt=state.last_attempt_at if state else None,
        last_outcome=state.outcome if state else None,
        last_errors=tuple(state.errors or ()) if state else (),
        key_configured=key.configured,
        key_source=key.source,
        key_masked=key.masked,
    )
