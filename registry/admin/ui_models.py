"""The model-management component: the Text models and TTS models pages are this, per category.

Layout, top to bottom: provider selector, search and page size; Refresh models (live progress per
provider, then a summary); Pending (approve / reject); Enabled (grid edits, default, disable);
Disabled (re-enable); Deprecated (falls back to, successor, archive).

Every grid shows one page of rows (`list_models(limit, offset)` and `count_models`, filtered in
SQL), so a 5,000-voice provider costs what 50 rows cost. After every write the grids' keys change
(`data_gen`), so an editor never applies old row positions to new rows, and nothing is cached.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import streamlit as st

from registry.admin.timefmt import now_utc
from registry.admin.ui_common import (
    FLASH_KEY,
    attempt,
    current_actor,
    flash,
    say,
    show_flashes,
)
from registry.admin.views import (
    FallbackInfo,
    RowSnapshot,
    edits_from_editor,
    escape_markdown,
    fallback_lines,
    is_rate_limited,
    label,
    model_table,
    names,
    one_line,
    refresh_line,
    result_line,
    selected_rows,
    snapshot,
    source_note,
    summarize_report,
)
from registry.audit import Actor
from registry.discovery import ProgressEvent, discover_models, get_discovery_state
from registry.errors import NoAvailableModelError, RegistryError
from registry.resolution import get_fallback_counts, preview_resolve
from registry.store import (
    EditsRejectedError,
    ModelFilter,
    ModelOrder,
    apply_model_edits,
    archive_model,
    bulk_update_models,
    count_by_status,
    count_models,
    get_default_models,
    get_model_by_provider_id,
    list_model_ids,
    list_models,
    set_default_model,
    set_successor,
    unarchive_model,
)
from registry.types import CAPABILITIES, PROVIDERS, CatalogModel, Category, ModelStatus

PAGE_SIZES = (25, 50, 100, 250, 500)
DEFAULT_PAGE_SIZE = 50
ALL = "all"
SUCCESSOR_CHOICES = 500
FALLBACK_DAYS = 30
PAST = {
    "approve": "Approved",
    "reject": "Rejected",
    "enable": "Enabled",
    "disable": "Disabled",
    "archive": "Archived",
    "unarchive": "Unarchived",
}

SECTION_TITLES = {
    ModelStatus.PENDING: "Pending approval",
    ModelStatus.ENABLED: "Enabled",
    ModelStatus.DISABLED: "Disabled",
    ModelStatus.DEPRECATED: "Deprecated",
}
EMPTY_NOTES = {
    ModelStatus.PENDING: "Nothing waits for approval. Refresh models to look for new ones.",
    ModelStatus.ENABLED: "No enabled models here.",
    ModelStatus.DISABLED: "No disabled models here.",
    ModelStatus.DEPRECATED: "No deprecated models here.",
}
# Which grid columns an admin may edit, per section ("select" is the bulk-select box).
EDITABLE = {
    ModelStatus.PENDING: ("select",),
    ModelStatus.ENABLED: ("select", "display_name", "status", "admin_notes"),
    ModelStatus.DISABLED: ("select", "display_name", "admin_notes"),
    ModelStatus.DEPRECATED: ("select", "admin_notes"),
}


def category_label(category: Category) -> str:
    return "Text" if category is Category.TEXT else "TTS"


# --- state ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class View:
    category: Category
    provider: str | None  # None: every provider of the category
    search: str
    page_size: int
    show_archived: bool
    view_gen: int  # changes with the controls above: pages start again at 1
    data_gen: int  # changes after every write: grids start from fresh rows
    order: ModelOrder = field(default_factory=ModelOrder)
    sections: tuple[ModelStatus, ...] = tuple(SECTION_TITLES)
    capability: str | None = None
    max_input_price: float | None = None
    min_context: int | None = None
    min_output: int | None = None
    retiring_within_days: int | None = None

    def key(self, *parts: object) -> str:
        return "-".join([self.category.value, *(str(p) for p in parts)])

    @property
    def narrowed(self) -> bool:
        """True when a search or a filter hides some models."""
        return bool(self.search) or any(
            v is not None
            for v in (
                self.capability,
                self.max_input_price,
                self.min_context,
                self.min_output,
                self.retiring_within_days,
            )
        )

    def filter(self, status: ModelStatus) -> ModelFilter:
        return ModelFilter(
            category=self.category,
            provider=self.provider,
            status=status,
            search=self.search or None,
            include_archived=self.show_archived and status is ModelStatus.DEPRECATED,
            capability=self.capability,
            max_input_price=self.max_input_price,
            min_context=self.min_context,
            min_output=self.min_output,
            retiring_within_days=self.retiring_within_days,
        )


def _gen_key(category: Category) -> str:
    return f"{category.value}-data-gen"


def bump(category: Category) -> None:
    """Every grid of the category starts again from fresh rows (call after each write)."""
    key = _gen_key(category)
    st.session_state[key] = int(st.session_state.get(key, 0)) + 1


ANY = "any"
# Sort choices (label → `SORT_COLUMNS` name); the database sorts, so every page follows.
SORT_CHOICES = {
    "Provider / id": "provider",
    "Name": "display_name",
    "Input price": "input_price",
    "Output price": "output_price",
    "Context": "context_window",
    "Max output": "max_output",
    "Retires": "retires",
    "Discovered": "discovered",
}
TTS_SORT_CHOICES = ("Provider / id", "Name", "Input price", "Retires", "Discovered")
CONTEXT_CHOICES: tuple[int | str, ...] = (ANY, 8_000, 32_000, 128_000, 200_000, 1_000_000)
OUTPUT_CHOICES: tuple[int | str, ...] = (ANY, 4_000, 8_000, 16_000, 32_000, 64_000)
RETIRING_CHOICES: tuple[int | str, ...] = (ANY, 30, 90, 180, 365)


def _sort_label(category: Category, choice: str) -> str:
    if category is Category.TTS and choice == "Input price":
        return "Price"
    return choice


def _filters_popover(category: Category) -> dict[str, Any]:
    """Sections, capability, price, context, retirement and page size (a popover: one line)."""
    key = category.value
    active = sum(
        st.session_state.get(f"{key}-{name}") not in (None, ANY)
        for name in ("capability", "max-price", "min-context", "min-output", "retiring")
    ) + (len(st.session_state.get(f"{key}-sections") or SECTION_TITLES) < len(SECTION_TITLES))
    with st.popover(f"Filters ({active} on)" if active else "Filters", width="stretch"):
        sections = st.multiselect(
            "Sections",
            list(SECTION_TITLES),
            default=list(SECTION_TITLES),
            format_func=lambda s: SECTION_TITLES[s],
            key=f"{key}-sections",
        )
        text = category is Category.TEXT
        capability = (
            st.selectbox("Capability", [ANY, *CAPABILITIES], key=f"{key}-capability")
            if text
            else ANY
        )
        unit = "1M input tokens" if text else "1M characters"
        max_price = st.number_input(
            f"Max price (USD per {unit})",
            min_value=0.0,
            value=None,
            step=0.5,
            key=f"{key}-max-price",
            placeholder="any",
        )
        min_context = (
            st.selectbox(
                "Min context (tokens)",
                CONTEXT_CHOICES,
                format_func=lambda c: c if c == ANY else f"{c:,}",
                key=f"{key}-min-context",
            )
            if text
            else ANY
        )
        min_output = (
            st.selectbox(
                "Min max output (tokens per reply)",
                OUTPUT_CHOICES,
                format_func=lambda c: c if c == ANY else f"{c:,}",
                key=f"{key}-min-output",
            )
            if text
            else ANY
        )
        retiring = st.selectbox(
            "Retiring within",
            RETIRING_CHOICES,
            format_func=lambda d: d if d == ANY else f"{d} days",
            key=f"{key}-retiring",
        )
        page_size = st.selectbox(
            "Rows per page",
            PAGE_SIZES,
            index=PAGE_SIZES.index(DEFAULT_PAGE_SIZE),
            key=f"{key}-page-size",
        )
    return {
        "sections": tuple(s for s in SECTION_TITLES if s in (sections or SECTION_TITLES)),
        "capability": None if capability == ANY else str(capability),
        "max_input_price": None if max_price is None else float(max_price),
        "min_context": None if min_context == ANY else int(min_context),
        "min_output": None if min_output == ANY else int(min_output),
        "retiring_within_days": None if retiring == ANY else int(retiring),
        "page_size": int(page_size),
    }


def _controls(category: Category) -> View:
    counts = count_by_status(category)
    pending = {p: counts.get((p, ModelStatus.PENDING.value), 0) for p in PROVIDERS[category]}
    options = [ALL, *PROVIDERS[category]]

    def label(option: str) -> str:
        if option == ALL:
            total = sum(pending.values())
            return f"All providers ({total} pending)" if total else "All providers"
        return f"{option} ({pending[option]} pending)" if pending[option] else option

    provider_col, search_col, sort_col, direction_col, filter_col = st.columns(
        [2.4, 2.8, 1.8, 1.2, 1.2], vertical_alignment="bottom"
    )
    provider = provider_col.selectbox(
        "Provider", options, format_func=label, key=f"{category.value}-provider"
    )
    search = search_col.text_input(
        "Search models",
        key=f"{category.value}-search",
        max_chars=200,
        placeholder="every word: e.g. hermes 405b",
        help="Every word must occur in the model id, the name or the description.",
    ).strip()
    sort_choices = SORT_CHOICES if category is Category.TEXT else TTS_SORT_CHOICES
    sort = sort_col.selectbox(
        "Sort by",
        list(sort_choices),
        format_func=lambda c: _sort_label(category, c),
        key=f"{category.value}-sort",
        help="Sorts every page in the database (a click on a column header sorts only the "
        "rows on screen).",
    )
    direction = direction_col.selectbox(
        "Order", ("↑ asc", "↓ desc"), key=f"{category.value}-sort-direction"
    )
    with filter_col:
        chosen = _filters_popover(category)
    order = ModelOrder(SORT_CHOICES[str(sort)], descending=str(direction).startswith("↓"))
    show_archived = bool(st.session_state.get(f"{category.value}-show-archived", False))
    signature = (provider, search, order, show_archived, tuple(sorted(chosen.items(), key=str)))
    sig_key = f"{category.value}-view-signature"
    gen_key = f"{category.value}-view-gen"
    if st.session_state.get(sig_key) != signature:
        st.session_state[sig_key] = signature
        st.session_state[gen_key] = int(st.session_state.get(gen_key, 0)) + 1
    return View(
        category=category,
        provider=None if provider == ALL else provider,
        search=search,
        show_archived=show_archived,
        view_gen=int(st.session_state[gen_key]),
        data_gen=int(st.session_state.get(_gen_key(category), 0)),
        order=order,
        **chosen,
    )


# --- the page ------------------------------------------------------------------------------


def model_management(category: Category) -> None:
    """The whole Text models or TTS models page."""
    actor = current_actor()
    label = category_label(category)
    # The explanation sits behind the title's (?) so the grids start higher on the screen.
    st.title(
        f"{label} models",
        help="Models are shown as provider/model id. New models from a refresh wait in Pending "
        "until an admin approves them; the application only uses enabled models.",
    )
    view = _controls(category)
    _refresh_panel(view, actor)
    # Re-read the generation: a refresh in this run changed the rows.
    view = replace(view, data_gen=int(st.session_state.get(_gen_key(category), 0)))
    show_flashes()
    defaults = get_default_models()
    for section in view.sections:
        with st.container(key=view.key("section", section.value)):
            _section(view, section, defaults, actor)


# --- refresh -------------------------------------------------------------------------------


def _refresh_panel(view: View, actor: Actor) -> None:
    category = view.category
    st.subheader("Refresh from the providers")
    states = [
        s
        for s in get_discovery_state(category)
        if view.provider is None or s.provider == view.provider
    ]
    now = now_utc()
    limited = any(is_rate_limited(s, now) for s in states)
    scope = view.provider or f"all {category_label(category)} providers"
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
    if generation == st.session_state.get(_gen_key(category), 0):
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
    bump(view.category)
    st.session_state[view.key("refresh-summary")] = (
        summary,
        st.session_state[_gen_key(view.category)],
    )


# --- sections ------------------------------------------------------------------------------


# One grid row of Streamlit's data editor, and its header (pixels): the grid grows with its rows
# up to MAX_GRID_ROWS, then scrolls inside.
ROW_HEIGHT = 35
MAX_GRID_ROWS = 15


def grid_height(rows: int) -> int:
    return ROW_HEIGHT * (min(rows, MAX_GRID_ROWS) + 1) + 3


def _page_is_stale(view: View, defaults: dict[tuple[str, str], str]) -> bool:
    """After an action in a section's fragment: does the rest of the page show old data now?"""
    archived = bool(st.session_state.get(f"{view.category.value}-show-archived", False))
    return (
        int(st.session_state.get(_gen_key(view.category), 0)) != view.data_gen
        or archived != view.show_archived
        or bool(st.session_state.get(FLASH_KEY))
        or get_default_models() != defaults
    )


@st.fragment
def _section(
    view: View,
    section: ModelStatus,
    defaults: dict[tuple[str, str], str],
    actor: Actor,
) -> None:
    """One section: heading, selection, grid, pages, notes and actions. A fragment: ticking a
    row reruns only this; an action that changed data (or has something to say) reruns the
    whole page."""
    if _page_is_stale(view, defaults):
        st.rerun()
    filters = view.filter(section)
    total = count_models(filters)
    # Heading and select boxes share one line: more rows fit above the fold.
    head = st.columns([3, 2, 2], vertical_alignment="bottom")
    head[0].subheader(f"{SECTION_TITLES[section]} ({total})")
    if section is ModelStatus.DEPRECATED:
        st.toggle("Show archived", key=f"{view.category.value}-show-archived")
    if section is ModelStatus.ENABLED and view.provider is not None:
        _default_warning(view, defaults)
    if total == 0:
        narrowed = "search is on" if view.search else "filters are on" if view.narrowed else ""
        st.caption(EMPTY_NOTES[section] + (f" ({narrowed})" if narrowed else ""))
        return
    pages = max(1, math.ceil(total / view.page_size))
    grid_slot = st.container()  # the page picker goes under the grid, the grid here
    page = 1
    if pages > 1:
        page = st.pagination(pages, key=view.key(section.value, "page", view.view_gen))
    models = list_models(
        filters, limit=view.page_size, offset=(page - 1) * view.page_size, order=view.order
    )
    if not models and page > 1:  # rows vanished under us (another admin): show the last page
        page = pages
        models = list_models(
            filters, limit=view.page_size, offset=(page - 1) * view.page_size, order=view.order
        )
    rows = [snapshot(m) for m in models]
    grid = view.key(section.value, "grid", view.view_gen, page, view.data_gen)
    matching = False
    if pages > 1:
        matching = head[1].checkbox(
            f"Select all {total} matching",
            key=view.key(section.value, "matching", view.view_gen, view.data_gen),
            help="Every model the search and filters match, on every page.",
        )
    select_all = head[2].checkbox(
        "Select all on this page", key=f"{grid}-all", value=False, disabled=matching
    )
    # The actions read the selection through `_selection(grid, rows)`.
    st.session_state[f"{grid}-matching"] = filters if matching else None
    fallbacks = (
        _fallbacks(view.category, models)
        if section in (ModelStatus.DISABLED, ModelStatus.DEPRECATED)
        else None
    )
    frame = model_table(
        models,
        section,
        defaults=defaults,
        select_all=select_all or matching,
        fallbacks=fallbacks,
    )
    editable = EDITABLE[section]
    grid_slot.data_editor(
        frame,
        key=grid,
        hide_index=True,
        num_rows="fixed",
        width="stretch",
        height=grid_height(len(rows)),
        disabled=[c for c in frame.columns if c not in editable],
        column_config=_column_config(section, view.category, model_width(rows)),
    )
    state = st.session_state.get(grid)
    chosen = total if matching else len(selected_rows(rows, state, select_all=select_all))
    edits = edits_from_editor(rows, state, editable)
    first, last = (page - 1) * view.page_size + 1, (page - 1) * view.page_size + len(rows)
    note = f"Rows {first}–{last} of {total} · {chosen} selected"
    if pages > 1:
        note += f" · sorted by {_order_label(view)} across all pages"
    if edits:
        note += f" · {len(edits)} unsaved change(s)"
    st.caption(note)
    for line in fallback_lines(models, fallbacks or {}):
        st.caption(escape_markdown(line))
    if section is ModelStatus.PENDING:
        _pending_actions(view, grid, rows, total, actor)
    elif section is ModelStatus.ENABLED:
        _enabled_actions(view, grid, rows, models, defaults, actor, bool(edits))
    elif section is ModelStatus.DISABLED:
        _disabled_actions(view, grid, rows, actor, bool(edits))
    else:
        _deprecated_actions(view, grid, rows, models, actor, bool(edits))


def _order_label(view: View) -> str:
    name = next(k for k, v in SORT_CHOICES.items() if v == view.order.column)
    arrow = "↓" if view.order.descending else "↑"
    return f"{_sort_label(view.category, name).lower()} {arrow}"


def model_width(rows: Sequence[RowSnapshot]) -> int:
    """Pixels for the Model column: the page's longest `provider/model_id` fits whole."""
    longest = max((len(r.display_id) for r in rows), default=0)
    return max(MODEL_WIDTH_MIN, min(MODEL_WIDTH_MAX, longest * PIXELS_PER_CHAR + 24))


MODEL_WIDTH_MIN, MODEL_WIDTH_MAX, PIXELS_PER_CHAR = 200, 560, 7


def _column_config(
    section: ModelStatus, category: Category = Category.TEXT, model_width: int = 340
) -> dict[str, Any]:
    per = "1M tok" if category is Category.TEXT else "1M chars"
    config: dict[str, Any] = {
        "select": st.column_config.CheckboxColumn("Select", width="small", pinned=True),
        "default": st.column_config.TextColumn("Default", width="small"),
        # As wide as the longest id: openrouter/vendor/model-name-version reads whole.
        "model": st.column_config.TextColumn("Model", width=model_width),
        "display_name": st.column_config.TextColumn("Display name", max_chars=255, width="medium"),
        "status": st.column_config.SelectboxColumn(
            "Status",
            options=[s.value for s in ModelStatus if s is not ModelStatus.PENDING],
            required=True,
            width="small",
        ),
        "input_price": st.column_config.TextColumn(
            f"In $/{per}" if category is Category.TEXT else f"$/{per}",
            help=f"USD per {per.replace('tok', 'input tokens')}",
        ),
        "output_price": st.column_config.TextColumn(
            f"Out $/{per}", help="USD per 1M output tokens"
        ),
        "context_window": st.column_config.TextColumn("Context", help="Context window (tokens)"),
        "max_output": st.column_config.TextColumn("Max output", help="Output tokens per reply"),
        "capabilities": st.column_config.TextColumn("Capabilities", width="medium"),
        "retires": st.column_config.TextColumn(
            "Retires", help="The provider's announced retirement date"
        ),
        "admin_notes": st.column_config.TextColumn("Notes", max_chars=10_000),
        "metadata": st.column_config.TextColumn("Metadata", width="large"),
        "description": st.column_config.TextColumn("Description", width="large"),
        "source": st.column_config.TextColumn("Source", width="small"),
        "discovered": st.column_config.TextColumn("Discovered"),
        "enabled": st.column_config.TextColumn("Enabled"),
        "deprecated": st.column_config.TextColumn("Deprecated"),
        "falls_back_to": st.column_config.TextColumn("Falls back to"),
        "fallbacks": st.column_config.NumberColumn(
            "App fallbacks (30 days)",
            help="How often the application asked for this model and got another one.",
        ),
        "successor": st.column_config.TextColumn("Successor"),
        "archived": st.column_config.CheckboxColumn("Archived", width="small"),
    }
    return config


def _selection(grid: str, rows: Sequence[RowSnapshot]) -> list[RowSnapshot]:
    """The rows an action applies to: the ticked ones, or every match ("Select all N
    matching": read from the database, every page)."""
    matching: ModelFilter | None = st.session_state.get(f"{grid}-matching")
    if matching is not None:
        return [snapshot(m) for m in list_models(matching)]
    return selected_rows(
        rows, st.session_state.get(grid), select_all=bool(st.session_state.get(f"{grid}-all"))
    )


def _nothing_selected(verb: str) -> None:
    flash("warning", f"Select at least one model to {verb} (tick Select in the table).")


# --- pending -------------------------------------------------------------------------------


def _set_status(
    view: View,
    grid: str,
    rows: Sequence[RowSnapshot],
    target: ModelStatus,
    verb: str,
    actor: Actor,
) -> None:
    chosen = _selection(grid, rows)
    if not chosen:
        _nothing_selected(verb)
        return

    def act() -> str:
        changed = bulk_update_models([r.id for r in chosen], target, actor=actor)
        return f"{PAST[verb]} {changed} model(s): {names([r.display_id for r in chosen])}"

    if attempt(act, failure=f"Could not {verb} the selection: "):
        bump(view.category)


def _approve_all(view: View, actor: Actor) -> None:
    def act() -> str:
        ids = list_model_ids(view.filter(ModelStatus.PENDING))
        changed = bulk_update_models(ids, ModelStatus.ENABLED, actor=actor)
        return f"Approved all {changed} pending model(s)"

    if attempt(act, failure="Could not approve all: "):
        bump(view.category)


def _pending_actions(
    view: View, grid: str, rows: Sequence[RowSnapshot], total: int, actor: Actor
) -> None:
    cols = st.columns([1, 1, 1, 2])
    cols[0].button(
        "Approve selected",
        type="primary",
        key=view.key("approve"),
        on_click=_set_status,
        args=(view, grid, rows, ModelStatus.ENABLED, "approve", actor),
    )
    cols[1].button(
        "Reject selected",
        key=view.key("reject"),
        on_click=_set_status,
        args=(view, grid, rows, ModelStatus.DISABLED, "reject", actor),
        help="Rejected models become disabled: never used, never re-proposed; re-enable later.",
    )
    scope = f" of {view.provider}" if view.provider else ""
    with cols[2].popover(f"Approve all {total}"):
        st.write(
            f"Approve all {total} pending {view.category.value} model(s){scope}"
            + (" matching the search" if view.search else "")
            + "?"
        )
        st.button(
            f"Yes, approve {total}",
            type="primary",
            key=view.key("approve-all"),
            on_click=_approve_all,
            args=(view, actor),
        )


# --- enabled -------------------------------------------------------------------------------


def _save_edits(
    view: View, grid: str, rows: Sequence[RowSnapshot], section: ModelStatus, actor: Actor
) -> None:
    edits = edits_from_editor(rows, st.session_state.get(grid), EDITABLE[section])
    if not edits:
        flash("info", "No changes to save.")
        return
    try:
        report = apply_model_edits(edits, actor=actor)
    except EditsRejectedError as exc:
        flash(
            "error",
            f"{len(exc.errors)} row(s) rejected, nothing was saved. Fix them or discard the "
            "changes:",
            table=exc.errors,
        )
        return
    except RegistryError as exc:
        flash("error", f"Nothing was saved: {exc}")
        return
    flash("success", f"Saved changes to {report.changed} model(s).")
    bump(view.category)


def _discard(view: View) -> None:
    bump(view.category)
    flash("info", "Changes discarded.")


def _choose_default(view: View, key: str, actor: Actor) -> None:
    model_id = st.session_state.get(key)
    if not model_id or view.provider is None:
        return

    def act() -> str:
        model = set_default_model(view.provider or "", view.category, model_id, actor=actor)
        return (
            f"{model.display_id} is now the default {view.category.value} model "
            f"of {model.provider}."
        )

    # No bump: unsaved edits in the grid survive choosing a default (its rows stay the same).
    attempt(act, failure="Could not change the default: ")


def _default_warning(view: View, defaults: dict[tuple[str, str], str]) -> None:
    provider = view.provider or ""
    default = defaults.get((view.category.value, provider))
    if default is None:
        say(
            "warning",
            f"{provider} has no default {view.category.value} model yet: choose one below.",
        )
        return
    try:
        model = get_model_by_provider_id(provider, default, view.category)
    except RegistryError:
        say(
            "warning",
            f"The saved default {provider}/{default} is not in the catalog: choose another.",
        )
        return
    if model.status is not ModelStatus.ENABLED:
        say(
            "warning",
            f"The saved default {model.display_id} is {model.status.value}; resolution falls back "
            "to the provider's built-in default. Choose a new default below.",
        )


def _default_picker(
    view: View, models: Sequence[CatalogModel], defaults: dict[tuple[str, str], str], actor: Actor
) -> None:
    provider = view.provider
    if provider is None:
        st.caption(
            "Choose a provider above to pick its default model. The Default column shows each "
            "provider's current one."
        )
        return
    default = defaults.get((view.category.value, provider))
    options = [m.model_id for m in models]
    if default and default not in options:
        try:
            if (
                get_model_by_provider_id(provider, default, view.category).status
                is ModelStatus.ENABLED
            ):
                options.insert(0, default)
        except RegistryError:
            pass
    key = view.key("default", provider, view.data_gen, hash(tuple(options)))
    index = options.index(default) if default in options else None
    # A selectbox, not a radio: its options are plain text (a radio renders Markdown), and a
    # long list or a long id stays one line.
    st.selectbox(
        f"Default {view.category.value} model of {provider}",
        options,
        index=index,
        key=key,
        format_func=lambda m: label(f"{provider}/{m}"),
        placeholder="Choose the default model",
        on_change=_choose_default,
        args=(view, key, actor),
        help="Used when the application asks for a model of this provider that is not enabled.",
    )


def _ask_key(view: View) -> str:
    return view.key("disable-default-question")


def _disable(view: View, grid: str, rows: Sequence[RowSnapshot], actor: Actor) -> None:
    chosen = _selection(grid, rows)
    if not chosen:
        _nothing_selected("disable")
        return
    defaults = get_default_models()
    protected = [r for r in chosen if defaults.get((view.category.value, r.provider)) == r.model_id]
    if protected:
        if len(protected) > 1:
            flash(
                "error",
                "The selection holds the defaults of several providers "
                f"({names([r.display_id for r in protected])}); disable them one provider "
                "at a time.",
            )
            return
        st.session_state[_ask_key(view)] = (protected[0], [r.id for r in chosen])
        return

    def act() -> str:
        changed = bulk_update_models([r.id for r in chosen], ModelStatus.DISABLED, actor=actor)
        return f"Disabled {changed} model(s): {names([r.display_id for r in chosen])}"

    if attempt(act, failure="Could not disable the selection: "):
        bump(view.category)


def _disable_with_new_default(view: View, choice_key: str, actor: Actor) -> None:
    question = st.session_state.pop(_ask_key(view), None)
    new_default = st.session_state.get(choice_key)
    if question is None:
        return
    old, ids = question
    if not new_default:
        st.session_state[_ask_key(view)] = question
        flash("warning", "Choose the new default first.")
        return

    def act() -> str:
        set_default_model(old.provider, view.category, new_default, actor=actor)
        changed = bulk_update_models(ids, ModelStatus.DISABLED, actor=actor)
        return (
            f"{old.provider}/{new_default} is the new default; disabled {changed} model(s) "
            f"including {old.display_id}."
        )

    attempt(act, failure="Nothing was disabled: ")
    bump(view.category)


def _cancel_question(view: View) -> None:
    st.session_state.pop(_ask_key(view), None)


def _disable_question(view: View, actor: Actor) -> None:
    question = st.session_state.get(_ask_key(view))
    if question is None:
        return
    old, ids = question
    say(
        "warning",
        f"{old.display_id} is the default {view.category.value} model of {old.provider}. "
        "Choose a new default first; then the selection is disabled.",
    )
    others = [
        m.model_id
        for m in list_models(
            ModelFilter(category=view.category, provider=old.provider, status=ModelStatus.ENABLED),
            limit=SUCCESSOR_CHOICES,
        )
        if str(m.id) not in set(ids)
    ]
    if not others:
        say(
            "error",
            f"{old.provider} has no other enabled {view.category.value} model to make the "
            "default. Approve or enable one first.",
        )
        st.button("Cancel", key=view.key("disable-cancel"), on_click=_cancel_question, args=(view,))
        return
    choice_key = view.key("disable-new-default")
    st.selectbox(
        "New default",
        others,
        index=None,
        key=choice_key,
        format_func=lambda m: label(f"{old.provider}/{m}"),
        placeholder="Choose the model that becomes the default",
    )
    cols = st.columns([2, 1, 3])
    cols[0].button(
        "Make it the default and disable",
        type="primary",
        key=view.key("disable-confirm"),
        on_click=_disable_with_new_default,
        args=(view, choice_key, actor),
    )
    cols[1].button(
        "Cancel", key=view.key("disable-cancel"), on_click=_cancel_question, args=(view,)
    )


def _enabled_actions(
    view: View,
    grid: str,
    rows: Sequence[RowSnapshot],
    models: Sequence[CatalogModel],
    defaults: dict[tuple[str, str], str],
    actor: Actor,
    dirty: bool,
) -> None:
    cols = st.columns([1, 1, 1, 2])
    cols[0].button(
        "Save changes",
        type="primary" if dirty else "secondary",
        key=view.key("enabled", "save"),
        on_click=_save_edits,
        args=(view, grid, rows, ModelStatus.ENABLED, actor),
        disabled=not dirty,
    )
    cols[1].button(
        "Discard changes",
        key=view.key("enabled", "discard"),
        on_click=_discard,
        args=(view,),
        disabled=not dirty,
    )
    cols[2].button(
        "Disable selected",
        key=view.key("disable"),
        on_click=_disable,
        args=(view, grid, rows, actor),
        help="Disabled models are never used; the application falls back to the default.",
    )
    _disable_question(view, actor)
    _default_picker(view, models, defaults, actor)


# --- disabled ------------------------------------------------------------------------------


def _disabled_actions(
    view: View, grid: str, rows: Sequence[RowSnapshot], actor: Actor, dirty: bool
) -> None:
    cols = st.columns([1, 1, 1, 2])
    cols[0].button(
        "Enable selected",
        type="primary",
        key=view.key("enable-disabled"),
        on_click=_set_status,
        args=(view, grid, rows, ModelStatus.ENABLED, "enable", actor),
    )
    cols[1].button(
        "Save changes",
        key=view.key("disabled", "save"),
        on_click=_save_edits,
        args=(view, grid, rows, ModelStatus.DISABLED, actor),
        disabled=not dirty,
    )
    cols[2].button(
        "Discard changes",
        key=view.key("disabled", "discard"),
        on_click=_discard,
        args=(view,),
        disabled=not dirty,
    )


# --- deprecated ----------------------------------------------------------------------------


def _archive(view: View, grid: str, rows: Sequence[RowSnapshot], actor: Actor, undo: bool) -> None:
    chosen = _selection(grid, rows)
    verb = "unarchive" if undo else "archive"
    if not chosen:
        _nothing_selected(verb)
        return
    done: list[str] = []
    try:
        for row in chosen:
            (unarchive_model if undo else archive_model)(row.id, actor=actor)
            done.append(row.display_id)
    except RegistryError as exc:
        flash("error", f"Could not {verb} everything: {exc}")
    if done:
        flash("success", f"{PAST[verb]} {len(done)} model(s): {names(done)}")
    bump(view.category)


def _set_successor(
    view: View, model_key: str, successor_key: str, actor: Actor, clear: bool
) -> None:
    model_id = st.session_state.get(model_key)
    successor = None if clear else st.session_state.get(successor_key)
    if not model_id:
        flash("warning", "Choose the deprecated model first.")
        return
    if not clear and not successor:
        flash("warning", "Choose the successor model first.")
        return

    def act() -> str:
        model = set_successor(model_id, successor, actor=actor)
        if successor is None:
            return f"Cleared the successor of {model.display_id}."
        return f"{model.provider}/{successor} now replaces {model.display_id}."

    attempt(act, failure="Could not set the successor: ")
    bump(view.category)


def _deprecated_actions(
    view: View,
    grid: str,
    rows: Sequence[RowSnapshot],
    models: Sequence[CatalogModel],
    actor: Actor,
    dirty: bool,
) -> None:
    cols = st.columns([1, 1, 1, 1, 2])
    cols[0].button(
        "Archive selected",
        key=view.key("archive"),
        on_click=_archive,
        args=(view, grid, rows, actor, False),
        help="Archived models are hidden from these lists; nothing is deleted.",
    )
    if view.show_archived:
        cols[1].button(
            "Unarchive selected",
            key=view.key("unarchive"),
            on_click=_archive,
            args=(view, grid, rows, actor, True),
        )
    cols[2].button(
        "Re-enable selected",
        key=view.key("enable-deprecated"),
        on_click=_set_status,
        args=(view, grid, rows, ModelStatus.ENABLED, "enable", actor),
        help="For a model retired by mistake. A model the provider no longer lists will fail.",
    )
    cols[3].button(
        "Save notes",
        key=view.key("deprecated", "save"),
        on_click=_save_edits,
        args=(view, grid, rows, ModelStatus.DEPRECATED, actor),
        disabled=not dirty,
    )
    by_id = {str(m.id): m for m in models}
    with st.expander("Set a successor"):
        model_key = view.key("successor-model", view.data_gen)
        chosen = st.selectbox(
            "Deprecated model",
            [r.id for r in rows],
            index=None,
            key=model_key,
            format_func=lambda i: label(by_id[i].display_id if i in by_id else i),
            placeholder="Choose a deprecated model",
        )
        model = by_id.get(chosen) if chosen else None
        choices: list[str] = []
        if model is not None:
            choices = [
                m.model_id
                for m in list_models(
                    ModelFilter(
                        category=view.category, provider=model.provider, status=ModelStatus.ENABLED
                    ),
                    limit=SUCCESSOR_CHOICES,
                )
            ]
        successor_key = view.key("successor-choice", view.data_gen)
        st.selectbox(
            "Replaced by",
            choices,
            index=choices.index(model.successor_model_id)
            if model is not None and model.successor_model_id in choices
            else None,
            key=successor_key,
            format_func=lambda m: label(f"{model.provider}/{m}" if model else m),
            placeholder="Choose an enabled model of the same provider",
            disabled=model is None,
        )
        cols = st.columns([1, 1, 3])
        cols[0].button(
            "Set successor",
            key=view.key("successor-set"),
            on_click=_set_successor,
            args=(view, model_key, successor_key, actor, False),
            disabled=model is None,
        )
        cols[1].button(
            "Clear successor",
            key=view.key("successor-clear"),
            on_click=_set_successor,
            args=(view, model_key, successor_key, actor, True),
            disabled=model is None or not model.successor_model_id,
        )


# --- fallbacks -----------------------------------------------------------------------------


def _fallbacks(category: Category, models: Sequence[CatalogModel]) -> dict[str, FallbackInfo]:
    """For deprecated/disabled rows: what resolution answers instead, and how often it did."""
    if not models:
        return {}
    since = (now_utc() - timedelta(days=FALLBACK_DAYS)).date()
    providers = {m.provider for m in models}
    counts: Counter[tuple[str, str]] = Counter()
    try:
        for usage in get_fallback_counts(
            since,
            category=category,
            provider=next(iter(providers)) if len(providers) == 1 else None,
        ):
            counts[(usage.requested_provider, usage.requested_model)] += usage.count
    except RegistryError:
        pass  # the counts are a hint; the table still shows
    result: dict[str, FallbackInfo] = {}
    for model in models:
        try:
            answer = preview_resolve(category, model.provider, model.model_id)
            target = answer.display_id if answer.fallback else model.display_id
        except NoAvailableModelError:
            target = "nothing usable"
        except RegistryError:
            target = ""
        result[str(model.id)] = FallbackInfo(target, counts[(model.provider, model.model_id)])
    return result
