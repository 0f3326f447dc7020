"""The Refresh panel of the Text models and TTS models pages: refresh, or preview a refresh.

Refresh lists the providers and applies what they list, with live progress; then one summary
says, per provider, ✓ done / ⚠ partial or held back by the guard / ✗ failed / ⏸ rate-limited
(with the time left), and providers without an API key get one calm note with a link to the
API keys page. Preview refresh lists the providers and shows what a refresh would add, bring
back, deprecate or hold back — writing nothing — with an "Apply refresh" button after it.

`ui_models` draws this panel above the grids; after a refresh the grids start from fresh rows
(`ui_models.bump`). One refresh run is one `discover_models` call: one webhook notification.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import streamlit as st

from registry.admin.outcomes import (
    Kind,
    Outcome,
    RefreshSummary,
    is_rate_limited,
    preview_changed,
    preview_groups,
    refresh_line,
    result_line,
    source_note,
    stake_note,
    summarize_report,
)
from registry.admin.timefmt import now_utc
from registry.admin.ui_app import PAGES_DIR
from registry.admin.ui_common import category_label, data_generation, say
from registry.admin.views import escape_markdown, names, one_line
from registry.audit import Actor
from registry.discovery import (
    DiscoveryReport,
    DiscoveryStatus,
    ProgressEvent,
    discover_models,
    get_discovery_state,
)
from registry.errors import RegistryError
from registry.keys import list_key_status
from registry.settings import get_global_config
from registry.store import ModelFilter, get_default_models, list_models
from registry.types import Category

if TYPE_CHECKING:
    from registry.admin.ui_models import View

# Model ids named per group of a preview; the rest are counted ("and 120 more").
PREVIEW_LIMIT = 50


def no_keys_notice(providers: Sequence[str]) -> None:
    """One calm note for providers that have no API key, with a link to the API keys page."""
    if not providers:
        return
    st.info(
        escape_markdown(
            f"No API key for {names(list(providers), 8)}: their models cannot be listed, so "
            "the curated lists serve. Add a key on the API keys page to refresh them."
        ),
        icon=":material/key_off:",
    )
    st.page_link(PAGES_DIR / "api_keys.py", label="Open API keys", icon=":material/key:")


def fresh_install_notice() -> None:
    """On a fresh install (no API key anywhere), one calm note instead of an error per card."""
    statuses = list_key_status()
    if not any(k.configured for k in statuses):
        no_keys_notice([k.provider for k in statuses])


def _states(view: View) -> list[DiscoveryStatus]:
    return [
        s
        for s in get_discovery_state(view.category)
        if view.provider is None or s.provider == view.provider
    ]


def refresh_panel(view: View, actor: Actor, *, after_write: Callable[[Category], None]) -> None:
    """Refresh, Force refresh and Preview → Apply; `after_write` is told of every write."""
    category = view.category
    states = _states(view)
    providers = [s.provider for s in states]
    now = now_utc()
    limited = any(is_rate_limited(s, now) for s in states)
    scope = view.provider or f"all {category_label(category)} providers"
    buttons = st.columns([1, 1, 1, 2])
    refresh = buttons[0].button(
        "Refresh models",
        type="primary",
        key=view.key("refresh"),
        help=f"List the models of {scope} from their APIs and apply the changes "
        "(at most once per 5 minutes).",
    )
    preview = buttons[1].button(
        "Preview refresh",
        key=view.key("preview-refresh"),
        help=f"List the models of {scope} and show what a refresh would change; "
        "nothing is written.",
    )
    force_key = view.key("force-refresh")
    force = (
        buttons[2].button(
            "Force refresh", key=force_key, help="Refresh now, even within the 5-minute interval."
        )
        if limited
        else False
    )
    # The providers of the preview being applied (the selector may have changed since).
    applied: list[str] | None = st.session_state.pop(_apply_key(view), None)
    if preview:
        _run_preview(view, providers, actor)
    elif applied:
        # Apply follows a preview the admin just read: an explicit request, so the 5-minute
        # limit yields as it does for Force refresh.
        _run_refresh(view, applied, force=True, actor=actor, after_write=after_write)
    elif refresh or force:
        _drop_preview(view)
        _run_refresh(view, providers, force=force, actor=actor, after_write=after_write)
    stored_preview = st.session_state.get(_preview_key(view))
    if stored_preview is not None:
        _show_preview(view, stored_preview)
    states = _states(view)
    now = now_utc()
    if not limited and any(is_rate_limited(s, now) for s in states):
        buttons[2].button(
            "Force refresh", key=force_key, help="Refresh now, even within the 5-minute interval."
        )
    # The last refresh's summary stays until the next change of the catalog.
    stored = st.session_state.get(view.key("refresh-summary"))
    summary = None
    if stored is not None and stored[1] == data_generation(category):
        summary = stored[0]
    with buttons[3]:
        _last_refresh(view, states, now, said=summary is not None)
    if summary is not None:
        show_summary(summary, key=view.key("summary"))


def _last_refresh(
    view: View, states: Sequence[DiscoveryStatus], now: datetime, *, said: bool
) -> None:
    """When each provider was refreshed; a provider's own problems unless a summary says them."""
    if view.provider is not None and states:
        state = states[0]
        st.write(escape_markdown(refresh_line(state, now)))
        note = source_note(state)
        if note:
            st.caption(escape_markdown(note))
        if said or not _key_configured(state.provider):
            return
        problems = [e for e in state.errors if e != note][:5]
        kind: Kind = "error" if state.outcome == "error" else "warning"
        for problem in problems if state.outcome != "ok" else []:
            say(kind, one_line(problem, 1000))
        return
    with st.expander("Last refresh of each provider"):
        st.dataframe(
            [
                {
                    "provider": s.provider,
                    "last refresh": refresh_line(s, now),
                    "source": s.source or "",
                    "notes": one_line("; ".join(s.errors), 1000) if s.outcome != "ok" else "",
                }
                for s in states
            ],
            hide_index=True,
            width="stretch",
        )


def _key_configured(provider: str) -> bool:
    return any(k.provider == provider and k.configured for k in list_key_status())


def show_summary(summary: RefreshSummary, *, key: str) -> None:
    """The headline in its kind, then each provider that needs a look in its own kind."""
    say(summary.kind, summary.headline)
    with st.container(key=key):
        for line in summary.lines:
            if line.outcome is Outcome.NO_KEY:
                continue  # said once, below
            if line.outcome is Outcome.DONE:
                st.markdown(escape_markdown(line.text))
            else:
                say(line.kind, line.text)
        no_keys_notice(summary.missing_keys)


def _run_discovery(
    view: View,
    providers: Sequence[str],
    *,
    title: str,
    force: bool,
    dry_run: bool,
    actor: Actor,
) -> DiscoveryReport | None:
    """Run one discovery with a live line per provider; the progress box goes when it ends."""
    holder = st.empty()
    with holder.status(f"{title} {len(providers)} provider(s)…", expanded=True) as box:
        slots = {provider: box.empty() for provider in providers}

        def on_progress(event: ProgressEvent) -> None:
            slot = slots.get(event.provider)
            if slot is None:
                return
            if event.phase == "started" or event.result is None:
                slot.text(f"… {event.provider}: asking the provider")
            else:
                slot.text(result_line(event.result))

        try:
            report = discover_models(
                view.category,
                list(providers),
                force=force,
                dry_run=dry_run,
                # What a refresh changes is discovery's doing, started by this admin.
                actor=Actor(f"discovery via {actor.label}", actor.user_id),
                on_progress=on_progress,
            )
        except RegistryError as exc:
            box.update(label="The refresh could not run", state="error")
            say("error", f"The refresh could not run: {exc}")
            return None
    holder.empty()
    return report


def _run_refresh(
    view: View,
    providers: Sequence[str],
    *,
    force: bool,
    actor: Actor,
    after_write: Callable[[Category], None],
) -> None:
    title = "Force-refreshing" if force else "Refreshing"
    report = _run_discovery(view, providers, title=title, force=force, dry_run=False, actor=actor)
    if report is None:
        return
    after_write(view.category)
    st.session_state[view.key("refresh-summary")] = (
        summarize_report(report),
        data_generation(view.category),
    )


def _run_preview(view: View, providers: Sequence[str], actor: Actor) -> None:
    report = _run_discovery(
        view, providers, title="Previewing", force=False, dry_run=True, actor=actor
    )
    if report is not None:
        st.session_state[_preview_key(view)] = report
        st.session_state[_stakes_key(view)] = _stakes(view.category, report)


def _stakes_key(view: View) -> str:
    return view.key("refresh-preview-stakes")


def _stakes(category: Category, report: DiscoveryReport) -> dict[str, str]:
    """{provider: what the application relies on among the models at risk}, read once when
    the preview is made."""
    defaults = get_default_models()
    config = get_global_config(category)
    notes = {}
    for result in report.results:
        if not (result.deprecated or result.held_back):
            continue
        enabled = frozenset(
            m.model_id
            for m in list_models(
                ModelFilter(category=category, provider=result.provider, status="enabled")
            )
        )
        note = stake_note(
            result,
            default=defaults.get((category.value, result.provider)),
            global_model=config.model if config.provider == result.provider else None,
            enabled=enabled,
        )
        if note:
            notes[result.provider] = note
    return notes


def _preview_key(view: View) -> str:
    return view.key("refresh-preview")


def _apply_key(view: View) -> str:
    return view.key("apply-requested")


def _drop_preview(view: View) -> None:
    st.session_state.pop(_preview_key(view), None)
    st.session_state.pop(_stakes_key(view), None)


def _request_apply(view: View, providers: Sequence[str]) -> None:
    _drop_preview(view)
    st.session_state[_apply_key(view)] = list(providers)


def _show_preview(view: View, report: DiscoveryReport) -> None:
    """The preview, per provider, then Apply refresh / Discard preview."""
    summary = summarize_report(report)
    stakes: dict[str, str] = st.session_state.get(_stakes_key(view)) or {}
    with st.container(border=True, key=view.key("preview")):
        st.markdown("**Preview — nothing was written**")
        say("info", summary.headline)
        for result, line in zip(report.results, summary.lines, strict=True):
            if line.outcome is Outcome.NO_KEY:
                continue
            if line.outcome in (Outcome.DONE, Outcome.PARTIAL):
                st.markdown(f"**{escape_markdown(line.text)}**")
            else:
                say(line.kind, line.text)
                continue
            for group in preview_groups(result):
                shown = names(group.model_ids, PREVIEW_LIMIT)
                text = f"{group.title} ({len(group.model_ids)}): {shown}"
                if group.kind == "warning":
                    say("warning", text)
                else:
                    st.text(text)
            stake = stakes.get(result.provider)
            if stake:
                say("warning", stake)
            for note in result.notes:  # what classification left out: not a fault
                st.caption(escape_markdown(note))
            st.caption(escape_markdown(preview_changed(result)))
            if len(report.results) > 1:
                st.button(
                    f"Apply {result.provider} only",
                    key=view.key("apply-one", result.provider),
                    on_click=_request_apply,
                    args=(view, [result.provider]),
                    help=f"Refresh {result.provider} now; the other providers stay as they are.",
                )
        no_keys_notice(summary.missing_keys)
        cols = st.columns([1, 1, 3])
        # Without a key no provider can be listed: applying would only repeat the note above.
        nothing_to_apply = all(line.outcome is Outcome.NO_KEY for line in summary.lines)
        cols[0].button(
            "Apply refresh",
            type="primary",
            key=view.key("apply-refresh"),
            on_click=_request_apply,
            args=(view, [r.provider for r in report.results]),
            disabled=nothing_to_apply,
            help="Add an API key first: no provider here can be listed without one."
            if nothing_to_apply
            else "Refresh now: the providers are listed again and what they list is applied.",
        )
        cols[1].button(
            "Discard preview",
            key=view.key("discard-preview"),
            on_click=_drop_preview,
            args=(view,),
        )
