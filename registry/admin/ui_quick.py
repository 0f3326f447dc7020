"""Quick actions: the keyboard's way to approve, disable or make default (README "Dashboard").

The grids are canvases a keyboard crosses slowly (every grid adds a dozen Tab stops), so the
models pages carry one search box beside their title: type words, press Enter, and the best
matches of the provider in view each come with their own buttons, named after their model
("Approve openai/gpt-5.4-nano"): Tab reaches the first one. "Skip to main content" (the first
Tab stop of every page) lands just above the box.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from registry.admin.ui_common import calm_callback, current_actor, toast
from registry.admin.ui_models import ALL, bump
from registry.admin.views import escape_markdown, label, model_label
from registry.audit import Actor
from registry.errors import RegistryError
from registry.store import ModelFilter, get_default_models, list_models, update_model_status
from registry.store import set_default_model as save_default
from registry.types import CatalogModel, Category, ModelStatus

SHOWN = 5
# The actions each status offers, in Tab order: (verb, the status it leads to or None = default).
ACTIONS: dict[ModelStatus, tuple[tuple[str, ModelStatus | None], ...]] = {
    ModelStatus.PENDING: (("Approve", ModelStatus.ENABLED), ("Reject", ModelStatus.DISABLED)),
    ModelStatus.ENABLED: (("Make default", None), ("Disable", ModelStatus.DISABLED)),
    ModelStatus.DISABLED: (("Enable", ModelStatus.ENABLED),),
    ModelStatus.DEPRECATED: (("Enable", ModelStatus.ENABLED),),
}


def quick_key(category: Category) -> str:
    return f"{category.value}-quick"


def quick_actions(category: Category, results: DeltaGenerator) -> None:
    """The search box (where the caller placed it: beside the page title, so the grids keep
    their place) and, once it holds words, up to `SHOWN` matches with their actions in
    `results`."""
    words = st.text_input(
        "Quick actions: find a model (words, then Enter; Tab to its action)",
        key=quick_key(category),
        max_chars=200,
        placeholder="Quick actions: find a model, e.g. gpt 5 nano",
        label_visibility="collapsed",
    ).strip()
    if not words:
        return
    provider = st.session_state.get(f"{category.value}-provider")
    filters = ModelFilter(
        category=category,
        provider=provider if isinstance(provider, str) and provider != ALL else None,
        search=words,
    )
    found = list_models(filters, limit=SHOWN + 1)
    with results:
        if not found:
            st.caption(escape_markdown(f"No {category.value} model matches “{label(words)}”."))
            return
        defaults = get_default_models()
        actor = current_actor()
        for model in found[:SHOWN]:
            _result(model, defaults.get((model.category.value, model.provider)), actor)
        if len(found) > SHOWN:
            st.caption(f"Only the first {SHOWN} matches are shown: add a word to narrow them.")


def _result(model: CatalogModel, default: str | None, actor: Actor) -> None:
    is_default = default == model.model_id
    cols = st.columns([5, 2, 2], vertical_alignment="center")
    state = f"{model.status.value}, default" if is_default else model.status.value
    cols[0].markdown(escape_markdown(f"{model_label(model)} ({state})"))
    actions = [a for a in ACTIONS[model.status] if not (is_default and a[1] is None)]
    for column, (verb, target) in zip(cols[1:], actions, strict=False):
        column.button(
            escape_markdown(f"{verb} {label(model.display_id)}"),
            key=f"quick-{verb.lower().replace(' ', '-')}-{model.id}",
            on_click=_act,
            args=(model, verb, target, actor),
            width="stretch",
        )


@calm_callback
def _act(model: CatalogModel, verb: str, target: ModelStatus | None, actor: Actor) -> None:
    try:
        if target is None:
            save_default(model.provider, model.category, model.model_id, actor=actor)
            text = f"{model.display_id} is now the {model.category.value} default."
        else:
            update_model_status(model.id, target, actor=actor)
            text = f"{verb}: {model.display_id} is {target.value} now."
    except RegistryError as exc:
        toast("error", f"Nothing changed: {exc}")
        return
    bump(model.category)  # the grids below show the change
    toast("success", text)
