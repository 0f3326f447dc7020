"""Naming successors on the Overview's "Retiring soon" rows, one by one or all at once.

Every row can name one: a picker over the provider's enabled models that can serve (never a
retired, disabled or pending one), labelled by name, preset to the suggestion (README,
"Retirement and successors"). "Accept N suggested successors" takes every open suggestion in
one click, and **Undo** beside its answer puts the previous successors back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import streamlit as st

from registry.admin.timefmt import now_utc
from registry.admin.ui_common import Kind, say
from registry.admin.views import escape_markdown, label, model_label
from registry.audit import Actor
from registry.errors import RegistryError
from registry.retirement import (
    RetiringModel,
    accept_successor,
    enabled_catalog_of,
    may_succeed,
)
from registry.store import set_successor
from registry.types import CatalogModel, display_id

# This run's enabled catalog, read once by `accept_suggested_bar` for every row below it.
CATALOG_KEY = "overview:successor-catalog"
BULK_KEY = "overview:successors-accepted"  # the last bulk accept: its answer and its undo

Done = Callable[[str, Kind, str], None]


@dataclass(frozen=True, slots=True)
class Accepted:
    """One bulk accept: the answer to show and each model's previous successor for Undo."""

    kind: Kind
    text: str
    previous: tuple[tuple[str, str | None], ...] = ()


def successor_candidates(
    model: CatalogModel, catalog: Sequence[CatalogModel], today: date
) -> list[CatalogModel]:
    """The models that may replace `model` (`may_succeed`), by label."""
    found = [m for m in catalog if may_succeed(m, model, today)]
    return sorted(found, key=lambda m: model_label(m).casefold())


def _open_suggestions(retiring: Sequence[RetiringModel]) -> list[RetiringModel]:
    return [
        r
        for r in retiring
        if r.suggested_successor and r.suggested_successor != r.model.successor_model_id
    ]


def accept_suggested_bar(retiring: Sequence[RetiringModel], actor: Actor) -> None:
    """ "Accept N suggested successors", and the last bulk accept's answer with Undo."""
    st.session_state[CATALOG_KEY] = enabled_catalog_of(
        {(r.model.category, r.model.provider) for r in retiring}
    )
    waiting = _open_suggestions(retiring)
    cols = st.columns([3, 1, 4], vertical_alignment="center")
    cols[0].button(
        f"Accept {len(waiting)} suggested successor(s)",
        key="retiring-accept-all",
        disabled=not waiting,
        on_click=_accept_all,
        args=(tuple((str(r.model.id), r.model.successor_model_id) for r in waiting), actor),
        help="Every row below whose suggestion is not its successor yet takes it.",
    )
    last = st.session_state.get(BULK_KEY)
    if isinstance(last, Accepted):
        if last.previous:
            cols[1].button(
                "Undo",
                key="retiring-accept-all-undo",
                on_click=_undo_accept_all,
                args=(last.previous, actor),
                help="Puts back the successors these rows had before.",
            )
        say(last.kind, last.text, cols[2])


def _accept_all(rows: tuple[tuple[str, str | None], ...], actor: Actor) -> None:
    done: list[tuple[str, str | None]] = []
    names: list[str] = []
    failed: list[str] = []
    for model_id, previous in rows:
        try:
            model = accept_successor(model_id, actor=actor)
        except RegistryError as exc:
            failed.append(str(exc))
            continue
        done.append((model_id, previous))
        names.append(f"{model.display_id} → {model.successor_model_id}")
    text = f"Accepted {len(done)} suggested successor(s): " + ", ".join(names)
    if failed:
        text += f". Not saved: {'; '.join(failed)}"
    st.session_state[BULK_KEY] = Accepted("warning" if failed else "success", text, tuple(done))


def _undo_accept_all(previous: tuple[tuple[str, str | None], ...], actor: Actor) -> None:
    undone, failed = 0, []
    for model_id, successor in previous:
        try:
            set_successor(model_id, successor, actor=actor)
        except RegistryError as exc:
            failed.append(str(exc))
            continue
        undone += 1
    text = f"Undone: {undone} model(s) have their previous successor again."
    if failed:
        text += f" Not undone: {'; '.join(failed)}"
    st.session_state[BULK_KEY] = Accepted("warning" if failed else "info", text)


def successor_choice(
    choose: Any, act: Any, entry: RetiringModel, key: str, actor: Actor, done: Done
) -> None:
    """The row's picker (preset to its successor, else the suggestion) and its button, whose
    accessible name says which model it is for."""
    model = entry.model
    catalog = st.session_state.get(CATALOG_KEY)
    if catalog is None:
        catalog = enabled_catalog_of({(model.category, model.provider)})
    candidates = successor_candidates(model, catalog, now_utc().date())
    ids = [m.model_id for m in candidates]
    names = {m.model_id: model_label(m) for m in candidates}
    current = model.successor_model_id
    preferred = current if current in ids else entry.suggested_successor
    select_key = f"retiring-choice-{key}"
    chosen = choose.selectbox(
        f"Successor for {label(model.display_id)}",
        ids,
        index=ids.index(preferred) if preferred in ids else None,
        key=select_key,
        format_func=lambda m: names.get(m, m),
        placeholder="Choose an enabled model" if ids else "No enabled model can replace it",
        label_visibility="collapsed",
        disabled=not ids,
    )
    act.button(
        escape_markdown(f"Name successor for {label(model.display_id)}"),
        key=f"retiring-accept-{key}",
        type="primary" if chosen and chosen != current else "secondary",
        on_click=_name,
        args=(str(model.id), key, select_key, actor, done),
        disabled=not chosen or chosen == current,
        help="Requests for this model get the chosen one once it retires.",
    )


def _name(model_id: str, key: str, select_key: str, actor: Actor, done: Done) -> None:
    chosen = st.session_state.get(select_key)
    if not chosen:
        done(key, "warning", "Choose the successor model first.")
        return
    try:
        model = set_successor(model_id, str(chosen), actor=actor)
    except RegistryError as exc:
        done(key, "error", f"Not saved: {exc}")
        return
    successor = display_id(model.provider, model.successor_model_id or "")
    done(key, "success", f"Accepted: {successor} replaces {model.display_id} once it retires.")
