"""The Overview page: retired models, fallbacks, models retiring soon, then the provider cards.

Retired (shown only when there are any): an enabled model past its retirement date is no longer
handed out (README "Retirement and successors"); a retired default is said loudly, with what
the application gets instead and a picker for a new default. Every retirement date shown links
to where it came from when its source names a URL.

Fallbacks: what the application asked for and what it got over the last 7 days (unknown ids
included), most frequent first, each fixable in one action: the successor select defaults to
the suggested one, so "Name successor" is the only click. Retiring soon: enabled models the
provider retires within 30 days, each with a successor picker preset to the suggestion
(`ui_successors`), and every open suggestion accepted at once with Undo.
The five most requested open fallbacks show, the rest fold away under "N more open fallback(s)".
The confirmation of either action shows inside the row it fixed; from the next run on, a
fixed fallback (the application now gets the requested model, its successor, or a provider
default that serves again) moves into a collapsed "✓ N fixed" list below the open ones.

Provider cards: one per provider and category, four to a row; the title links to the models
page showing that provider. Each panel is an `st.fragment`, so an action reruns its panel only
(README "Dashboard").
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from urllib.parse import quote

import streamlit as st

from registry.admin.overview_cache import provider_statuses
from registry.admin.status_strip import PAGE_FILES
from registry.admin.timefmt import ago, now_utc
from registry.admin.ui_common import Kind, current_actor, say, signed_in_export
from registry.admin.ui_refresh import fresh_install_notice
from registry.admin.ui_successors import accept_suggested_bar, successor_choice
from registry.admin.views import (
    ProviderCard,
    escape_markdown,
    label,
    provider_card,
    status_chart_frame,
)
from registry.audit import Actor
from registry.deprecation_calendar import calendar_ics, retirement_calendar
from registry.discovery import get_discovery_state
from registry.errors import RegistryError
from registry.resolution import preview_resolve
from registry.retirement import (
    FALLBACK_DAYS,
    DateSource,
    FallbackItem,
    RetiredModel,
    RetiringModel,
    date_source,
    fallback_report,
    name_successor,
    retired_report,
    retiring_models,
    set_retire_by_date,
)
from registry.rules import ResolutionRule
from registry.store import set_default_model
from registry.types import Category, display_id

STATUS_COLORS = {
    "pending": "#f0a202",
    "enabled": "#2e9e5b",
    "disabled": "#9aa0a6",
    "deprecated": "#d1495b",
}
CATEGORY_TITLES = {Category.TEXT: "Text models", Category.TTS: "TTS models (voices)"}
CARDS_PER_ROW = 4
FALLBACKS_SHOWN = 20
OPEN_SHOWN = 5  # open fallbacks shown unfolded, most requests first; the rest fold away
# {row key: (kind, text)}: the answer to an action, shown in the row it was taken in.
DONE_KEY = "overview:done"
PAGE_DONE = "page"  # the row key of an answer shown atop the page

_REASONS = {
    "not_found": "not in the catalog",
    "deprecated": "deprecated",
    "retired": "past its retirement date",
    "disabled": "disabled",
    "pending": "pending approval",
    "not_configured": "global config not usable",
    "provider_unavailable": "provider has no usable model",
    "unsupported_provider": "provider not supported",
}

# Fallbacks that end once the provider has a usable default again.
_FIXED_BY_A_DEFAULT = frozenset({"provider_unavailable", "not_configured"})

# What to do about a fallback that a successor cannot fix.
_HINTS = {
    "pending": "Approve it on the models page, or disable it.",
    "not_configured": "Choose an enabled model on the Settings page.",
    "provider_unavailable": "Enable a model of this provider and make it the default.",
    "unsupported_provider": "Stored data names a provider the registry does not support.",
}


def row_key(category: Category | str, provider: str, model_id: str) -> str:
    """A widget key for one requested model (ids are untrusted text: hashed, not embedded)."""
    raw = "\x00".join((str(category), provider, model_id)).encode("utf-8", "replace")
    return hashlib.sha256(raw).hexdigest()[:16]


def overview_page() -> None:
    actor = current_actor()
    st.title("Overview")
    fresh_install_notice()
    # Each panel is a fragment: an action in one reruns that panel only, not the others.
    _retired_panel(actor)
    _fallbacks_panel(actor)
    _retiring_panel(actor)
    now = now_utc()
    for category in Category:
        _cards_panel(category, now)


@st.fragment
def _cards_panel(category: Category, now: datetime) -> None:
    st.header(CATEGORY_TITLES[category])
    states = {s.provider: s for s in get_discovery_state(category)}
    cards = [provider_card(p, states.get(p.provider), now) for p in provider_statuses(category)]
    for start in range(0, len(cards), CARDS_PER_ROW):
        row = cards[start : start + CARDS_PER_ROW]
        for column, card in zip(st.columns(CARDS_PER_ROW), row, strict=False):
            _card(column, card)
    frame = status_chart_frame(category)
    if int(frame.to_numpy().sum()):
        # Collapsed: the cards carry the same counts; the chart is there for the comparison.
        with st.expander("Models by status per provider (archived models not counted)"):
            st.bar_chart(
                frame,
                stack=True,
                horizontal=True,
                height=60 + 40 * len(frame),
                x_label="models",
                y_label="",
                color=[STATUS_COLORS[c] for c in frame.columns],
            )


# --- retired -------------------------------------------------------------------------------


@st.fragment
def _retired_panel(actor: Actor) -> None:
    _show_done(PAGE_DONE)  # a new default's answer: the retired default's row went with it
    try:
        report = retired_report()
    except RegistryError as exc:
        say("warning", f"The retirement dates cannot be read right now: {exc}")
        return
    if not report.models:
        return
    st.subheader("Past their retirement date")
    if not report.rule_on:
        say(
            "warning",
            "The retirement-date rule is off (registry.retire_by_date = false): the "
            "application is still given these models.",
        )
    for item in report.models:
        _retired_row(item, report.rule_on, actor)
    st.toggle(
        "Never hand out a model past its retirement date",
        value=report.rule_on,
        key="retire-by-date",
        on_change=_toggle_rule,
        args=(actor,),
        help="Turn off only when the dates are wrong: correct a wrong date on the models page "
        "(an admin's date always wins).",
    )


def _gets(item: RetiredModel, rule_on: bool) -> str:
    model = item.model
    if not rule_on:
        return "the application still gets it (the date rule is off)"
    if item.gets is None:
        return f"the application gets no {model.provider} {model.category.value} model now"
    return f"the application now gets {item.gets}"


def _retired_row(item: RetiredModel, rule_on: bool, actor: Actor) -> None:
    model = item.model
    key = row_key(model.category, model.provider, model.model_id)
    when = model.retires_at.date().isoformat() if model.retires_at else "?"
    with st.container(border=True, key=f"retired-{key}"):
        if item.is_default:
            say(
                "error",
                f"{model.provider}'s default {label(model.model_id)} retired on {when}; "
                f"{_gets(item, rule_on)}; choose a new default",
            )
        else:
            say("warning", f"{label(model.display_id)} retired on {when}; {_gets(item, rule_on)}")
        st.caption(
            f"{model.category.value} · retirement date {when} · source "
            + source_markdown(date_source(model.metadata_sources))
        )
        if item.is_default:
            _default_picker(item, key, actor)
        _show_done(key)


def _default_picker(item: RetiredModel, key: str, actor: Actor) -> None:
    model = item.model
    choices = list(item.choices)
    current = item.gets.partition("/")[2] if item.gets else None
    cols = st.columns([5, 2], vertical_alignment="center")
    select_key = f"retired-choice-{key}"
    cols[0].selectbox(
        f"New {model.category.value} default for {model.provider}",
        choices,
        index=choices.index(current) if current in choices else None,
        key=select_key,
        format_func=lambda m: label(display_id(model.provider, m)),
        placeholder="Choose an enabled model",
        label_visibility="collapsed",
        disabled=not choices,
    )
    cols[1].button(
        "Make default",
        key=f"retired-default-{key}",
        type="primary",
        on_click=_make_default,
        args=(item, key, select_key, actor),
        disabled=not choices,
    )


def _make_default(item: RetiredModel, key: str, select_key: str, actor: Actor) -> None:
    chosen = st.session_state.get(select_key)
    if not chosen:
        _done(key, "warning", "Choose the new default first.")
        return
    model = item.model
    try:
        saved = set_default_model(model.provider, model.category, str(chosen), actor=actor)
    except RegistryError as exc:
        _done(key, "error", f"Not saved: {exc}")
        return
    # The retired default's row goes away with the change: the answer shows atop the page.
    _done(
        PAGE_DONE,
        "success",
        f"Saved: {saved.display_id} is the {saved.category.value} default now.",
    )


def _toggle_rule(actor: Actor) -> None:
    set_retire_by_date(bool(st.session_state.get("retire-by-date")), actor=actor)


def source_markdown(source: DateSource) -> str:
    """Where a date came from, as Markdown: escaped text, a link when the source has a URL."""
    text = escape_markdown(label(source.describe()))
    if not source.url:
        return text
    # Percent-encode what would end or break the link target; the scheme was checked.
    target = quote(source.url, safe=":/?#[]@!$&'*+,;=%~-._")
    return f"[{text}]({target})"


# --- fallbacks -----------------------------------------------------------------------------


@st.fragment
def _fallbacks_panel(actor: Actor) -> None:
    st.header("Fallbacks")
    try:
        items, total = fallback_report(limit=FALLBACKS_SHOWN)
    except RegistryError as exc:
        say("warning", f"The fallback counts cannot be read right now: {exc}")
        return
    if not items:
        st.caption(
            f"No fallbacks in the last {FALLBACK_DAYS} days: the application got every model "
            "it asked for."
        )
        return
    st.caption(
        f"What the application asked for and what it got instead, last {FALLBACK_DAYS} days "
        "(UTC days), most requests first. Name a successor to send those requests to a model "
        "you choose."
    )
    answered = st.session_state.get(DONE_KEY, {})
    open_items: list[FallbackItem] = []
    fixed: list[tuple[FallbackItem, str]] = []
    for item in items:
        gets = now_gets(item)
        # A row fixed by this very click stays put, showing its answer; it moves next run.
        if gets is None or _item_key(item) in answered:
            open_items.append(item)
        else:
            fixed.append((item, gets))
    for item in open_items[:OPEN_SHOWN]:
        _fallback_row(item, actor)
    if len(open_items) > OPEN_SHOWN:
        with st.expander(f"{len(open_items) - OPEN_SHOWN} more open fallback(s)"):
            for item in open_items[OPEN_SHOWN:]:
                _fallback_row(item, actor)
    if total > len(items):
        st.caption(f"and {total - len(items)} less frequent one(s) not shown")
    if fixed:
        with st.expander(f"✓ {len(fixed)} fixed (still counted until their days pass)"):
            for item, gets in fixed:
                usage = item.summary
                st.markdown(
                    f"✓ fixed: **{escape_markdown(label(_requested(item)))}** now gets "
                    f"{escape_markdown(label(gets))} · {usage.count_7d:,} fallback(s) in "
                    f"{FALLBACK_DAYS} days before"
                )


def now_gets(item: FallbackItem) -> str | None:
    """What the application gets now for a fallback an admin has fixed, else None.

    Fixed: the requested model serves again, its successor serves, or (for a provider that
    had no usable model) the provider's default serves now.
    """
    usage = item.summary
    try:
        answer = preview_resolve(
            usage.category, usage.requested_provider, usage.requested_model or None
        )
    except RegistryError:
        return None
    if not answer.fallback or answer.rule is ResolutionRule.SUCCESSOR:
        return answer.display_id
    if usage.reason in _FIXED_BY_A_DEFAULT:
        return answer.display_id
    return None


def _requested(item: FallbackItem) -> str:
    usage = item.summary
    return usage.requested_display if usage.requested_model else usage.requested_provider


def _item_key(item: FallbackItem) -> str:
    usage = item.summary
    return row_key(usage.category, usage.requested_provider, usage.requested_model)


def _fallback_row(item: FallbackItem, actor: Actor) -> None:
    usage = item.summary
    key = _item_key(item)
    requested = _requested(item)
    with st.container(border=True, key=f"fallback-{key}"):
        cols = st.columns([5, 4, 2], vertical_alignment="center")
        used = escape_markdown(label(usage.resolved_display))
        cols[0].markdown(f"**{escape_markdown(label(requested))}** → {used}")
        reason = _REASONS.get(usage.reason, usage.reason)
        seen = ago(usage.last_at, now_utc())
        facts = (
            f"{usage.category.value} · {reason} · {usage.count_today:,} today · "
            f"{usage.count_7d:,} in {FALLBACK_DAYS} days · last seen {seen}"
        )
        if item.successor:
            facts += f" · successor {display_id(usage.requested_provider, item.successor)}"
            facts += "" if item.successor_serves else " (not enabled: cannot serve)"
        cols[0].caption(escape_markdown(facts))
        if item.fixable:
            _successor_picker(cols[1], cols[2], item, key, actor)
        else:
            cols[1].caption(_HINTS.get(usage.reason, "Nothing to name a successor for."))
        _show_done(key)


def _successor_picker(choose: Any, act: Any, item: FallbackItem, key: str, actor: Actor) -> None:
    usage = item.summary
    choices = list(item.choices)
    preferred = item.successor if item.successor in choices else item.suggested
    select_key = f"fallback-choice-{key}"
    choose.selectbox(
        f"Successor for {escape_markdown(label(usage.requested_display))}",
        choices,
        index=choices.index(preferred) if preferred in choices else None,
        key=select_key,
        format_func=lambda m: label(display_id(usage.requested_provider, m)),
        placeholder="Choose an enabled model",
        label_visibility="collapsed",
        disabled=not choices,
    )
    act.button(
        escape_markdown(f"Name successor for {label(usage.requested_display)}"),
        key=f"fallback-name-{key}",
        type="primary",
        on_click=_name_successor,
        args=(item, key, select_key, actor),
        disabled=not choices,
        help="Requests for this id then get the chosen model (the catalog keeps the id, "
        "deprecated, to carry its successor).",
    )


def _name_successor(item: FallbackItem, key: str, select_key: str, actor: Actor) -> None:
    usage = item.summary
    successor = st.session_state.get(select_key)
    if not successor:
        _done(key, "warning", "Choose the successor model first.")
        return
    try:
        model = name_successor(
            usage.category,
            usage.requested_provider,
            usage.requested_model,
            str(successor),
            actor=actor,
        )
    except RegistryError as exc:
        _done(key, "error", f"Not saved: {exc}")
        return
    _done(
        key,
        "success",
        f"Saved: requests for {model.display_id} now get "
        f"{display_id(model.provider, str(successor))}.",
    )


# --- retiring soon -------------------------------------------------------------------------


@st.fragment
def _retiring_panel(actor: Actor) -> None:
    try:
        retiring = retiring_models()
    except RegistryError as exc:
        say("warning", f"The retirement dates cannot be read right now: {exc}")
        return
    if not retiring:
        return
    st.header("Retiring soon")
    st.caption(
        "Enabled models whose provider retires them within 30 days. Accept a successor now: "
        "from the retirement date on, requests for it get the successor."
    )
    accept_suggested_bar(retiring, actor)
    for entry in retiring:
        _retiring_row(entry, actor)
    st.download_button(
        "Download the retirement calendar (.ics)",
        data=signed_in_export(lambda: calendar_ics(retirement_calendar())),
        file_name="model-retirements.ics",
        mime="text/calendar",
        key="retiring-ics",
        help="Enabled and default models retiring within a year (or past), one all-day event "
        "each; Google Calendar and Outlook import it.",
    )


def _retiring_row(entry: RetiringModel, actor: Actor) -> None:
    model = entry.model
    key = row_key(model.category, model.provider, model.model_id)
    with st.container(border=True, key=f"retiring-{key}"):
        cols = st.columns([5, 4, 2], vertical_alignment="center")
        when = model.retires_at.date().isoformat() if model.retires_at else ""
        cols[0].markdown(
            f"**{escape_markdown(label(model.display_id))}** {escape_markdown(entry.label)}"
        )
        cols[0].caption(
            escape_markdown(f"{model.category.value} · retirement date {when} · source ")
            + source_markdown(date_source(model.metadata_sources))
        )
        suggested = entry.suggested_successor
        accepted = model.successor_model_id
        if accepted:
            note = f"Successor: {display_id(model.provider, accepted)}"
        elif suggested:
            note = f"Suggested successor: {display_id(model.provider, suggested)}"
        else:
            note = "No suggestion: enable a newer model of this provider"
        cols[1].markdown(escape_markdown(label(note)))
        successor_choice(cols[1], cols[2], entry, key, actor, _done)
        _show_done(key)


# --- shared bits -----------------------------------------------------------------------------


def _done(key: str, kind: Kind, text: str) -> None:
    st.session_state.setdefault(DONE_KEY, {})[key] = (kind, text)


def _show_done(key: str) -> None:
    found = st.session_state.get(DONE_KEY, {}).pop(key, None)
    if found is not None:
        kind, text = found
        say(kind, text)


def _card(column: Any, card: ProviderCard) -> None:
    """A provider's card; its title links to the models page showing that provider."""
    with column.container(border=True, key=f"card-{card.category.value}-{card.provider}"):
        st.page_link(
            PAGE_FILES[card.category],
            label=f"**{card.provider}** · {card.headline}",
            query_params={f"{card.category.value}-provider": card.provider},
            help=f"Open the {card.category.value} models of {card.provider}",
        )
        default = card.default or "none chosen"
        if card.default_note:
            default += f" — {card.default_note}"
        icon = ":material/key:" if card.key_configured else ":material/key_off:"
        facts = [card.refreshed, *([card.source_note] if card.source_note else [])]
        st.caption(
            "Default: "
            + escape_markdown(default)
            + "  \n"
            + escape_markdown(" · ".join(facts))
            + f"  \n{icon} {escape_markdown(card.key_note)}"
        )
        notices: tuple[tuple[Kind, list[str]], ...] = (
            ("error", card.errors),
            ("warning", card.warnings),
        )
        for kind, notes in notices:
            if notes:
                more = f" (and {len(notes) - 1} more)" if len(notes) > 1 else ""
                say(kind, notes[0] + more)
