"""The Refresh panel of the Text models and TTS models pages: refresh from the providers.

`ui_models` draws this panel above the grids; after a refresh that changed the catalog the
grids start from fresh rows (`ui_models.bump`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import streamlit as st

from registry.admin.timefmt import now_utc
from registry.admin.ui_common import say
from registry.admin.views import (
    escape_markdown,
    is_rate_limited,
    one_line,
    refresh_line,
    result_line,
    source_note,
    summarize_report,
)
from registry.audit import Actor
from registry.discovery import ProgressEvent, discover_models, get_discovery_state
from registry.errors import RegistryError
from registry.types import Category

if TYPE_CHECKING:
    from registry.admin.ui_models import View


# ui_models imports this module at its top: its names are imported at call time.


def _category_label(category: Category) -> str:
    from registry.admin.ui_models import category_label

    return category_label(category)


def _data_generation(category: Category) -> int:
    """Changes after every write to the catalog (see `ui_models.bump`)."""
    from registry.admin.ui_models import _gen_key

    return int(st.session_state.get(_gen_key(category), 0))


def _bump(category: Category) -> None:
    from registry.admin.ui_models import bump

    bump(category)


def refresh_panel(view: View, actor: Actor) -> None:
    category = view.category
    st.subheader("Refresh from the providers")
    states = [
        s
        for s in get_discovery_state(category)
        if view.provider is None or s.provider == view.provider
    ]
    now = now_utc()
    limited = any(is_rate_limited(s, now) for s in states)
    scope = view.provider or f"all {_category_label(category)} providers"
    buttons = st.columns([1, 1, 3])
    refresh = buttons[0].button(
        "Refresh models",
        type="primary",
        key=view.key("refresh"),
        help=f"List the models of {scope} from their APIs (at most once per 5 minutes).",
    )
    force_key = view.key("force-refresh")
    force = (
        buttons[1].button(
            "Force refresh", key=force_key, help="Refresh now, even within the 5-minute interval."
        )
        if limited
        else False
    )
    refreshed_now = bool(refresh or force)
    if refreshed_now:
        _run_refresh(view, [s.provider for s in states], force=force, actor=actor)
        states = [
            s
            for s in get_discovery_state(category)
            if view.provider is None or s.provider == view.provider
        ]
        now = now_utc()
        if not limited and any(is_rate_limited(s, now) for s in states):
            buttons[1].button(
                "Force refresh",
                key=force_key,
                help="Refresh now, even within the 5-minute interval.",
            )
    with buttons[2]:
        if view.provider is not None and states:
            state = states[0]
            st.write(escape_markdown(refresh_line(state, now)))
            note = source_note(state)
            if note:
                st.caption(escape_markdown(note))
            if state.errors and state.outcome != "ok":
                for error in state.errors[:5]:
                    st.caption(escape_markdown(one_line(error, 1000)))
        else:
            with st.expander("Last refresh of each provider"):
                st.dataframe(
                    [
                        {
                            "provider": s.provider,
                            "last refresh": refresh_line(s, now),
                            "source": s.source or "",
                            "notes": one_line("; ".join(s.errors), 1000)
                            if s.outcome != "ok"
                            else "",
                        }
                        for s in states
                    ],
                    hide_index=True,
                    width="stretch",
                )
    # The last refresh's summary stays until the next change of the catalog.
    stored = st.session_state.get(view.key("refresh-summary"))
    if stored is None or refreshed_now:  # (the progress box above already says it)
        return
    summary, generation = stored
    if generation == _data_generation(category):
        say(summary.kind, summary.headline)
        with st.expander("Refresh details", expanded=summary.kind != "success"):
            for line in summary.lines:
                st.text(line)


def _run_refresh(view: View, providers: Sequence[str], *, force: bool, actor: Actor) -> None:
    label = "Force-refreshing" if force else "Refreshing"
    with st.status(f"{label} {len(providers)} provider(s)…", expanded=True) as box:
        slots = {provider: box.empty() for provider in providers}

        def on_progress(event: ProgressEvent) -> None:
            slot = slots.get(event.provider)
            if slot is None:
                return
            if event.phase == "started" or event.result is None:
                slot.text(f"… {event.provider}: asking the provider")
            else:
                mark = "✓" if event.result.ok else "✗"
                slot.text(f"{mark} {result_line(event.result)}")

        try:
            report = discover_models(
                view.category,
                list(providers),
                force=force,
                # What a refresh changes is discovery's doing, started by this admin.
                actor=Actor(f"discovery via {actor.label}", actor.user_id),
                on_progress=on_progress,
            )
        except RegistryError as exc:
            box.update(label="Refresh failed", state="error")
            say("error", f"The refresh could not run: {exc}")
            return
        summary = summarize_report(report)
        box.update(
            label=escape_markdown(summary.headline),
            state="error" if summary.kind == "error" else "complete",
            expanded=summary.kind != "success",
        )
    _bump(view.category)
    st.session_state[view.key("refresh-summary")] = (summary, _data_generation(view.category))
