"""The status strip at the top of every page: what needs an admin now, each a link to the fix.

Three kinds (README, "The admin dashboard"): providers whose last refresh failed (with a key
configured; a missing key is a calm note on the Overview, not a failure), retired models still
in use (enabled, or a default, past their `retires_at`), and defaults that cannot serve (not
enabled, gone from the catalog, or retired). `strip_items` is the policy (pure); `status_strip`
reads the database once per run and draws one `st.page_link` per item.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import streamlit as st

from registry.admin.views import escape_markdown, label
from registry.discovery import DiscoveryStatus, get_discovery_state
from registry.errors import ModelNotFoundError
from registry.keys import list_key_status
from registry.store import ModelFilter, get_default_models, get_model_by_provider_id, list_models
from registry.types import CatalogModel, Category, ModelStatus

StripKind = Literal["failed", "retired", "default"]
# Past this many items of one kind, the rest are one "and N more" link.
MAX_PER_KIND = 3
ICONS: Mapping[StripKind, str] = {
    "failed": ":material/sync_problem:",
    "retired": ":material/event_busy:",
    "default": ":material/report:",
}
# The models pages (their controls are bound to the URL: `ui_models`).
PAGE_FILES: Mapping[Category, str] = {
    Category.TEXT: "pages/text_models.py",
    Category.TTS: "pages/tts_models.py",
}
API_KEYS_PAGE = "pages/api_keys.py"
# Our own wording of a rejected key (registry.providers.base.error_for_status).
KEY_REJECTED = "the API key was rejected"


@dataclass(frozen=True, slots=True)
class StripItem:
    kind: StripKind
    text: str
    page: str
    query: Mapping[str, str] = field(default_factory=dict)


def _view(category: Category, provider: str, search: str = "") -> dict[str, str]:
    """The models page's URL state (`ui_models` binds its controls to these parameters)."""
    query = {f"{category.value}-provider": provider}
    if search:
        query[f"{category.value}-search"] = search
    return query


def _first_error(errors: Sequence[str]) -> str:
    text = errors[0] if errors else "no detail recorded"
    return text if len(text) <= 140 else text[:139] + "…"


def failed_items(states: Iterable[DiscoveryStatus], keyed: frozenset[str]) -> list[StripItem]:
    items = []
    for state in states:
        if state.outcome != "error" or state.provider not in keyed:
            continue
        error = _first_error(state.errors)
        rejected = KEY_REJECTED in error
        items.append(
            StripItem(
                "failed",
                f"{state.provider} ({state.category.value}): the last refresh failed — {error}",
                API_KEYS_PAGE if rejected else PAGE_FILES[state.category],
                {} if rejected else _view(state.category, state.provider),
            )
        )
    return items


def _retired_note(model: CatalogModel, now: datetime) -> str:
    days = (now.date() - model.retires_at.date()).days if model.retires_at else 0
    return "today" if days <= 0 else f"{days} day{'s' if days != 1 else ''} ago"


def retired_items(
    retired: Iterable[CatalogModel], defaults: Mapping[tuple[str, str], str], now: datetime
) -> list[StripItem]:
    items = []
    for model in retired:
        is_default = defaults.get((model.category.value, model.provider)) == model.model_id
        role = "the default, still enabled" if is_default else "still enabled"
        items.append(
            StripItem(
                "retired",
                f"{model.display_id} retired {_retired_note(model, now)} ({role}): "
                "name a successor or disable it",
                PAGE_FILES[model.category],
                _view(model.category, model.provider, model.model_id),
            )
        )
    # Defaults first: every request without an explicit model lands on them.
    return sorted(items, key=lambda i: ("the default" not in i.text, i.text))


def default_items(
    defaults: Mapping[tuple[str, str], str],
    held: Mapping[tuple[str, str], CatalogModel | None],
    now: datetime,
) -> list[StripItem]:
    items = []
    for (cat, provider), model_id in sorted(defaults.items()):
        category = Category(cat)
        model = held.get((cat, provider))
        if model is None:
            why = "the catalog does not hold it"
        elif model.status is not ModelStatus.ENABLED:
            why = f"it is {model.status.value}"
        elif model.retires_at is not None and model.retires_at <= now:
            continue  # said once, among the retired models
        else:
            continue
        items.append(
            StripItem(
                "default",
                f"The {category.value} default of {provider}, {provider}/{model_id}, cannot "
                f"serve: {why}. Choose another default",
                PAGE_FILES[category],
                _view(category, provider),
            )
        )
    return items


def strip_items(
    states: Iterable[DiscoveryStatus],
    keyed: frozenset[str],
    retired: Iterable[CatalogModel],
    defaults: Mapping[tuple[str, str], str],
    held: Mapping[tuple[str, str], CatalogModel | None],
    now: datetime,
) -> list[StripItem]:
    """Everything the strip says, failures first."""
    return [
        *failed_items(states, keyed),
        *retired_items(retired, defaults, now),
        *default_items(defaults, held, now),
    ]


def _held_defaults(
    defaults: Mapping[tuple[str, str], str],
) -> dict[tuple[str, str], CatalogModel | None]:
    held: dict[tuple[str, str], CatalogModel | None] = {}
    for (cat, provider), model_id in defaults.items():
        try:
            held[(cat, provider)] = get_model_by_provider_id(provider, model_id, cat)
        except ModelNotFoundError:
            held[(cat, provider)] = None
    return held


def current_items(now: datetime) -> list[StripItem]:
    """The strip's items from the database as it is now (raises `DatabaseError` when down)."""
    keyed = frozenset(k.provider for k in list_key_status() if k.configured)
    defaults = get_default_models()
    retired = list_models(ModelFilter(status=ModelStatus.ENABLED, retiring_within_days=0))
    return strip_items(
        get_discovery_state(), keyed, retired, defaults, _held_defaults(defaults), now
    )


def status_strip(now: datetime) -> None:
    """Draw the strip (nothing at all when nothing needs an admin)."""
    items = current_items(now)
    if not items:
        return
    with st.container(border=True, key="registry-status-strip"):
        for kind in ICONS:
            of_kind = [i for i in items if i.kind == kind]
            for item in of_kind[:MAX_PER_KIND]:
                st.page_link(
                    item.page,
                    label=escape_markdown(label(item.text, 200)),
                    icon=ICONS[kind],
                    query_params=dict(item.query),
                )
            if len(of_kind) > MAX_PER_KIND:
                st.caption(f"… and {len(of_kind) - MAX_PER_KIND} more of this kind.")
