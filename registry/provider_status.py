"""What a provider card of the dashboard shows: counts, defaults, fallbacks, discovery, key.

A report, not the hot path: it reads the database directly (never the snapshot) and applies
the resolution rules of `registry.rules` to what it read (retirement dates too, decided now),
so the card shows what resolution would answer right after the page's own change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from registry.catalog import default_setting_key
from registry.db import get_database
from registry.rules import (
    RETIRE_BY_DATE_KEY,
    Exhausted,
    provider_choice,
    resolve_in,
    retire_by_date,
)
from registry.schema import AIModel, AppSetting, DiscoveryState
from registry.snapshot import ModelDates, Snapshot
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
    # Enabled models past their retirement date (rule 4): model id → (when it retired, the
    # display id its requests get, or None when nothing is usable). Empty when the rule is off.
    retired: dict[str, tuple[datetime, str | None]] = field(default_factory=dict)
    # When the saved default retired (it is then skipped); None while it serves.
    default_retired_at: datetime | None = None
    retire_by_date: bool = True  # the `registry.retire_by_date` setting


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
                    AIModel.retires_at,
                    AIModel.replacement_model_id,
                ).where(AIModel.provider == prov, AIModel.category == cat.value)
            )
        )
        settings = {
            key: value
            for key, value in session.execute(
                select(AppSetting.key, AppSetting.value).where(
                    AppSetting.key.in_((setting_key, RETIRE_BY_DATE_KEY))
                )
            )
        }
        state = session.get(DiscoveryState, (prov, cat.value))
    default = settings.get(setting_key) or None
    dated: ModelDates = {
        (cat.value, prov, r.model_id): (r.retires_at, r.replacement_model_id)
        for r in rows
        if r.retires_at is not None
    }
    view = Snapshot(
        None,
        {(cat.value, prov, r.model_id): (r.status, r.successor_model_id) for r in rows},
        settings,
        dated=dated,
    )
    choice = provider_choice(view, cat, prov, [])

    def falls_back_to(model_id: str) -> str | None:
        try:
            return resolve_in(view, cat, prov, model_id, explicit=False).display_id
        except Exhausted:
            return None

    fallbacks = {r.model_id: falls_back_to(r.model_id) for r in rows if r.status == _DEPRECATED}
    retired = {
        model_id: (when, falls_back_to(model_id))
        for (_, _, model_id), when in sorted(view.retired.items(), key=lambda i: i[1])
        if view.status(cat.value, prov, model_id) is not None
    }
    live = [(r.model_id, r.status) for r in rows if r.archived_at is None]
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
        retired=retired,
        default_retired_at=view.retired.get((cat.value, prov, default)) if default else None,
        retire_by_date=retire_by_date(settings),
    )
