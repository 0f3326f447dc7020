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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Literal

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from registry.admin.outage import outage_banner
from registry.admin.status_strip import PAGE_FILES
from registry.admin.timefmt import now_utc
from registry.admin.ui_common import (
    ARRIVED_KEY,
    FLASH_KEY,
    attempt,
    calm_callback,
    category_label,
    current_actor,
    data_generation_key,
    flash,
    say,
    show_flashes,
    show_toasts,
    toast,
)
from registry.admin.ui_refresh import refresh_panel
from registry.admin.ui_try import try_selected
from registry.admin.views import (
    SELECT_COLUMN,
    FallbackInfo,
    RowSnapshot,
    edits_from_editor,
    escape_markdown,
    fallback_lines,
    label,
    model_label,
    model_table,
    names,
    selected_rows,
    snapshot,
)
from registry.audit import Actor
from registry.errors import DatabaseError, NoAvailableModelError, RegistryError
from registry.resolution import get_fallback_counts, preview_resolve, snapshot_summary
from registry.store import (
    EditsRejectedError,
    ModelEdit,
    ModelFilter,
    ModelOrder,
    StatusChange,
    apply_model_edits,
    archive_model,
    change_model_statuses,
    count_by_status,
    count_models,
    get_default_models,
    get_enabled_models_for_provider,
    get_model_by_provider_id,
    list_model_ids,
    list_models,
    set_default_model,
    set_successor,
    unarchive_model,
    undo_status_change,
)
from registry.types import CAPABILITIES, PROVIDERS, CatalogModel, Category, ModelStatus

# The view (provider, search, sort, filters, page) lives in the URL: each control is bound to
# the query parameter named by its key, so a view survives a reload and can be shared.
URL: Literal["query-params"] = "query-params"
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
    "deprecate": "Deprecated",
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


def bump(category: Category) -> None:
    """Every grid of the category starts again from fresh rows (call after each write).

    Unsaved cell edits are kept first (see the drafts below): new grid keys lose none.
    """
    _keep_all_edits(category)
    key = data_generation_key(category)
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
            bind=URL,
        )
        text = category is Category.TEXT
        capability = (
            st.selectbox("Capability", [ANY, *CAPABILITIES], key=f"{key}-capability", bind=URL)
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
            bind=URL,
            placeholder="any",
        )
        min_context = _token_floor(
            "Min context (tokens)", CONTEXT_CHOICES, f"{key}-min-context", text
        )
        min_output = _token_floor(
            "Min max output (tokens per reply)", OUTPUT_CHOICES, f"{key}-min-output", text
        )
        retiring = st.selectbox(
            "Retiring within",
            RETIRING_CHOICES,
            format_func=lambda d: d if d == ANY else f"{d} days",
            key=f"{key}-retiring",
            bind=URL,
        )
        page_size = st.selectbox(
            "Rows per page",
            PAGE_SIZES,
            index=PAGE_SIZES.index(DEFAULT_PAGE_SIZE),
            key=f"{key}-page-size",
            bind=URL,
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


def _token_floor(label: str, choices: Sequence[Any], key: str, shown: bool) -> Any:
    """A "at least N tokens" filter (text models only; ANY when not shown)."""
    if not shown:
        return ANY
    return st.selectbox(
        label, choices, format_func=lambda c: c if c == ANY else f"{c:,}", key=key, bind=URL
    )


def _view_keys(category: Category) -> tuple[str, ...]:
    """The URL parameters (and session keys) of the view's controls and pages."""
    names: tuple[str, ...] = ("provider", "search", "sort", "sort-direction", "sections")
    names += ("capability", "max-price", "min-context", "min-output", "retiring", "page-size")
    names += ("show-archived", *(f"{s.value}-page" for s in SECTION_TITLES))
    return tuple(f"{category.value}-{n}" for n in names)


def _keep_view(category: Category) -> None:
    """The view comes back when the admin returns through the navigation.

    The controls are bound to the URL, which a reload, Back or a shared link restores; a link
    of the navigation carries no parameters, so on arrival without any the page reopens with
    the parameters of the last visit (as Streamlit wrote them).
    """
    saved = st.session_state.get(f"{category.value}-view-url")
    arrived = bool(st.session_state.get(ARRIVED_KEY))
    if arrived and saved and not any(k in st.query_params for k in _view_keys(category)):
        st.session_state[ARRIVED_KEY] = False
        st.switch_page(PAGE_FILES[category], query_params=saved)


def _remember_view(category: Category) -> None:
    st.session_state[f"{category.value}-view-url"] = {
        k: st.query_params.get_all(k) for k in _view_keys(category) if k in st.query_params
    }


def _controls(category: Category) -> View:
    _keep_view(category)
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
    provider_key = f"{category.value}-provider"
    if provider_key in st.session_state:
        # Sent again each run: the browser otherwise keeps showing the label it last had for
        # the chosen provider ("15 pending" after three were approved).
        st.session_state[provider_key] = st.session_state[provider_key]
    provider = provider_col.selectbox(
        "Provider", options, format_func=label, key=provider_key, bind=URL
    )
    search = search_col.text_input(
        "Search models",
        key=f"{category.value}-search",
        bind=URL,
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
        bind=URL,
        help="Sorts every page in the database (a click on a column header sorts only the "
        "rows on screen).",
    )
    direction = direction_col.selectbox(
        "Order", ("↑ asc", "↓ desc"), key=f"{category.value}-sort-direction", bind=URL
    )
    with filter_col:
        chosen = _filters_popover(category)
    order = ModelOrder(SORT_CHOICES[str(sort)], descending=str(direction).startswith("↓"))
    show_archived = bool(st.session_state.get(f"{category.value}-show-archived", False))
    signature = (provider, search, order, show_archived, tuple(sorted(chosen.items(), key=str)))
    sig_key = f"{category.value}-view-signature"
    gen_key = f"{category.value}-view-gen"
    if st.session_state.get(sig_key) != signature:
        if sig_key in st.session_state:  # a changed view starts at page 1 (a loaded URL keeps its)
            for section in SECTION_TITLES:
                st.session_state[f"{category.value}-{section.value}-page"] = 1
        st.session_state[sig_key] = signature
        st.session_state[gen_key] = int(st.session_state.get(gen_key, 0)) + 1
    return View(
        category=category,
        provider=None if provider == ALL else provider,
        search=search,
        show_archived=show_archived,
        view_gen=int(st.session_state[gen_key]),
        data_gen=int(st.session_state.get(data_generation_key(category), 0)),
        order=order,
        **chosen,
    )


# --- the page ------------------------------------------------------------------------------


def model_management(
    category: Category, beside_title: Callable[[Category, DeltaGenerator], None]
) -> None:
    """The whole Text models or TTS models page; `beside_title(category, below)` fills the
    space right of the title (its output for the whole width goes to `below`)."""
    actor = current_actor()
    label = category_label(category)
    # The explanation sits behind the title's (?), and the title shares its row, so the grids
    # start high enough for five rows at 1024x768.
    heading, aside = st.columns([3, 2], vertical_alignment="bottom")
    heading.title(
        f"{label} models",
        help="Models are shown as provider/model id. New models from a refresh wait in Pending "
        "until an admin approves them; the application only uses enabled models.",
        anchor=False,  # one Tab stop fewer before the search box
    )
    below = st.container()
    with aside:
        beside_title(category, below)
    view = _controls(category)
    _remember_view(category)
    st.html(UNDO_CSS)
    refresh_panel(view, actor, after_write=bump)
    # Re-read the generation: a refresh in this run changed the rows.
    view = replace(view, data_gen=int(st.session_state.get(data_generation_key(category), 0)))
    show_flashes()
    defaults = get_default_models()
    banner = st.container()
    for section in view.sections:
        with st.container(key=view.key("section", section.value)):
            _section(view, section, defaults, actor)
    unsaved_banner(view, banner, actor)  # filled last: the grids above found the edits


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
        int(st.session_state.get(data_generation_key(view.category), 0)) != view.data_gen
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
    try:
        if _page_is_stale(view, defaults):
            st.rerun()  # queued toasts wait for that run
        _draw_section(view, section, defaults, actor)
    except DatabaseError as exc:  # lost while ticking a row: the banner, not the exception box
        outage_banner(exc, key=view.key("outage", section.value))
    show_toasts()  # what this section's actions said, unless they reran the page


def _draw_section(
    view: View,
    section: ModelStatus,
    defaults: dict[tuple[str, str], str],
    actor: Actor,
) -> None:
    filters = view.filter(section)
    total = count_models(filters)
    # Heading and select boxes (or an empty section's note) share one line: more rows fit
    # above the fold.
    head = st.columns([3, 2, 2] if total else [3, 4], vertical_alignment="center")
    head[0].subheader(f"{SECTION_TITLES[section]} ({total})")
    _undo_bar(view, section, actor)
    if section is ModelStatus.DEPRECATED:
        st.toggle("Show archived", key=f"{view.category.value}-show-archived", bind=URL)
    if section is ModelStatus.ENABLED and view.provider is not None:
        _default_warning(view, defaults)
    if total == 0:
        narrowed = "search is on" if view.search else "filters are on" if view.narrowed else ""
        head[1].caption(EMPTY_NOTES[section] + (f" ({narrowed})" if narrowed else ""))
        return
    pages = max(1, math.ceil(total / view.page_size))
    grid_slot = st.container()  # the page picker goes under the grid, the grid here
    page = 1
    if pages > 1:
        page = st.pagination(pages, key=view.key(section.value, "page"), bind=URL)
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
    frame = _with_drafts(view, section, frame, rows)
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
    selected = selected_rows(rows, state, select_all=select_all)
    chosen = total if matching else len(selected)
    edits = _remember_edits(view, section, grid, rows)
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
    try_selected(view.category, view.key(section.value, "try"), selected, models)


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
        "retires_source": st.column_config.TextColumn(
            "Date from", help="Where the retirement date came from: listing, admin or a dataset"
        ),
        "retires_link": st.column_config.LinkColumn(
            "Date source", display_text="source ↗", help="The page the date was taken from"
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
    toast("warning", f"Select at least one model to {verb} (tick Select in the table).")


# --- undo ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Undoable:
    """The last bulk status change of a page, offered for undo where it was made."""

    section: ModelStatus
    change: StatusChange
    summary: str
    data_gen: int  # any later write makes the offer stale


def _undo_key(view: View) -> str:
    return view.key("undo-offer")


def _offer_undo(view: View, section: ModelStatus, change: StatusChange, summary: str) -> None:
    """Call after `bump`: the section shows "summary · Undo" until the next write."""
    if not change.changed:
        return
    st.session_state[_undo_key(view)] = Undoable(
        section, change, summary, int(st.session_state.get(data_generation_key(view.category), 0))
    )


@calm_callback
def _undo(view: View, actor: Actor) -> None:
    offer: Undoable | None = st.session_state.pop(_undo_key(view), None)
    if offer is None:
        return
    try:
        report = undo_status_change(offer.change, actor=actor)
    except RegistryError as exc:
        toast("error", f"Could not undo: {exc}")
        return
    bump(view.category)
    text = f"Undone: {len(report.restored)} model(s) back as they were"
    if report.default_restored:
        text += f"; {report.default_restored} is the default again"
    toast("success", text + ".")
    if report.skipped:
        toast(
            "warning",
            f"Left as they are now: {names([f'{k} ({v})' for k, v in report.skipped.items()])}",
        )


UNDO_CSS = """<style>
.st-key-text-undo-bar, .st-key-tts-undo-bar {
  position: fixed; bottom: 1rem; right: 1rem; z-index: 999990; width: 24rem;
  background: #fff; border: 1px solid rgba(49, 51, 63, 0.25); border-radius: 0.5rem;
  padding: 0.25rem 0.75rem; box-shadow: 0 4px 14px rgba(0, 0, 0, 0.15);
}
</style>"""


def _undo_bar(view: View, section: ModelStatus, actor: Actor) -> None:
    """Beside the section's buttons: what the last bulk action did, with one Undo."""
    offer: Undoable | None = st.session_state.get(_undo_key(view))
    if offer is None or offer.section is not section or offer.data_gen != view.data_gen:
        return
    # Floats at the bottom right (UNDO_CSS), under the toast that reported the action, wherever
    # the admin has scrolled; it stays until the next change.
    bar = st.container(key=view.key("undo-bar"))
    text, button = bar.columns([4, 1], vertical_alignment="center")
    text.caption(escape_markdown(offer.summary))
    button.button(
        "Undo",
        key=view.key("undo"),
        on_click=_undo,
        args=(view, actor),
        help="Put every model of this action back in its previous status (and default).",
    )


# --- unsaved grid edits --------------------------------------------------------------------

# Edits typed into a grid live here, by model, until saved or discarded: they survive every
# rerun, other actions (which redraw the grids with new keys), paging, searching and leaving
# the page (widget state goes when its widget is not drawn; these keys stay).
Drafts = dict[str, tuple[RowSnapshot, dict[str, Any]]]  # model uuid → (row as drawn, values)


def _drafts(category: Category, section: ModelStatus) -> Drafts:
    every: dict[str, Drafts] = st.session_state.setdefault(f"{category.value}-drafts", {})
    return every.setdefault(section.value, {})


def _grids(category: Category) -> dict[str, tuple[str, Sequence[RowSnapshot]]]:
    """Each section's grid key and rows as last drawn: where edits not yet kept may be."""
    grids: dict[str, tuple[str, Sequence[RowSnapshot]]] = st.session_state.setdefault(
        f"{category.value}-drawn-grids", {}
    )
    return grids


def _draft_edits(drafts: Drafts, section: ModelStatus) -> list[ModelEdit]:
    """The real changes the drafts ask for (a value typed back to what it was is none)."""
    snapshots = [row for row, _values in drafts.values()]
    state = {"edited_rows": {i: values for i, (_row, values) in enumerate(drafts.values())}}
    return edits_from_editor(snapshots, state, EDITABLE[section])


def _keep_edits(category: Category, section: ModelStatus) -> list[ModelEdit]:
    """Copy the section grid's cell edits into the drafts; returns all its unsaved edits."""
    drafts = _drafts(category, section)
    grid, rows = _grids(category).get(section.value, ("", ()))
    state = st.session_state.get(grid) if grid else None
    fields = [f for f in EDITABLE[section] if f != SELECT_COLUMN]
    for position, changes in ((state or {}).get("edited_rows") or {}).items():
        try:
            row = rows[int(position)]
        except (IndexError, TypeError, ValueError):
            continue
        typed = {f: v for f, v in (changes or {}).items() if f in fields}
        if typed:
            drafts.setdefault(row.id, (row, {}))[1].update(typed)
    for model_id in list(drafts):
        if not _draft_edits({model_id: drafts[model_id]}, section):
            del drafts[model_id]
    return _draft_edits(drafts, section)


def _keep_all_edits(category: Category) -> int:
    return sum(len(_keep_edits(category, section)) for section in EDITABLE)


def _with_drafts(view: View, section: ModelStatus, frame: Any, rows: Sequence[RowSnapshot]) -> Any:
    """The grid's rows with this section's unsaved edits typed in again."""
    drafts = _drafts(view.category, section)
    if not drafts or frame.empty:
        return frame
    frame = frame.copy()
    for position, row in enumerate(rows):
        for column, value in drafts.get(row.id, (row, {}))[1].items():
            if column in frame.columns:
                frame.loc[frame.index[position], column] = value
    return frame


def _remember_edits(
    view: View, section: ModelStatus, grid: str, rows: Sequence[RowSnapshot]
) -> list[ModelEdit]:
    """After drawing a grid: keep its edits; returns every unsaved edit of the section."""
    _grids(view.category)[section.value] = (grid, tuple(rows))
    return _keep_edits(view.category, section)


def unsaved_banner(view: View, place: Any, actor: Actor) -> None:
    """At the top of the page: "N unsaved changes — Save / Discard" while any grid has edits."""
    count = sum(len(_draft_edits(_drafts(view.category, s), s)) for s in EDITABLE)
    if not count:
        return
    with place:
        text, save, discard = st.columns([4, 1, 1], vertical_alignment="center")
        say(
            "warning",
            f"{count} unsaved change(s) in the grids below — save or discard them. They are "
            "kept while this browser tab stays open, also when you leave this page; reloading "
            "the page or closing the tab loses them.",
            text,
        )
        save.button(
            "Save all",
            type="primary",
            key=view.key("unsaved-save"),
            on_click=_save_edits,
            args=(view, "", (), None, actor),
        )
        discard.button(
            "Discard all", key=view.key("unsaved-discard"), on_click=_discard, args=(view,)
        )


# --- pending -------------------------------------------------------------------------------


def _change_status(
    view: View,
    section: ModelStatus,
    ids: Sequence[str],
    target: ModelStatus,
    summary: str,
    actor: Actor,
    *,
    new_default: str | None = None,
) -> bool:
    """One bulk status change: toast, fresh grids, and the offer to undo it."""
    try:
        change = change_model_statuses(ids, target, actor=actor, new_default=new_default)
    except RegistryError as exc:
        toast("error", f"Nothing was changed: {exc}")
        return False
    bump(view.category)
    text = summary.format(n=len(change.changed))
    _offer_undo(view, section, change, text)
    toast("success", text)
    return True


@calm_callback
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
    section = ModelStatus(chosen[0].status)
    _change_status(
        view,
        section,
        [r.id for r in chosen],
        target,
        f"{PAST[verb]} {{n}} model(s): {names([r.display_id for r in chosen])}",
        actor,
    )


@calm_callback
def _approve_all(view: View, actor: Actor) -> None:
    ids = [str(i) for i in list_model_ids(view.filter(ModelStatus.PENDING))]
    summary = "Approved all {n} pending model(s)"
    _change_status(view, ModelStatus.PENDING, ids, ModelStatus.ENABLED, summary, actor)


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
            escape_markdown(
                f"Approve all {total} pending {view.category.value} model(s){scope}"
                + (" matching the search" if view.search else "")
                + "?"
            )
        )
        st.button(
            f"Yes, approve {total}",
            type="primary",
            key=view.key("approve-all"),
            on_click=_approve_all,
            args=(view, actor),
        )


# --- enabled -------------------------------------------------------------------------------


@calm_callback
def _save_edits(
    view: View,
    grid: str,
    rows: Sequence[RowSnapshot],
    section: ModelStatus | None,
    actor: Actor,
) -> None:
    """Save the unsaved edits of `section` (every page of it), or of every section (None)."""
    _keep_all_edits(view.category)
    sections = list(EDITABLE) if section is None else [section]
    edits = [e for s in sections for e in _draft_edits(_drafts(view.category, s), s)]
    if not edits:
        toast("info", "No changes to save.")
        return
    try:
        report = apply_model_edits(edits, actor=actor)
    except EditsRejectedError as exc:
        # A table does not fit a toast: the report waits above the grids, the edits stay.
        flash(
            "error",
            f"{len(exc.errors)} row(s) rejected, nothing was saved. Fix them or discard the "
            "changes:",
            table=exc.errors,
        )
        toast("error", f"{len(exc.errors)} row(s) rejected, nothing was saved.")
        return
    except RegistryError as exc:
        toast("error", f"Nothing was saved: {exc}")
        return
    bump(view.category)
    for s in sections:
        _drafts(view.category, s).clear()
    toast("success", f"Saved changes to {report.changed} model(s).")


@calm_callback
def _discard(view: View, section: ModelStatus | None = None) -> None:
    bump(view.category)  # first: it keeps what the grids hold, which is then dropped
    for s in list(EDITABLE) if section is None else [section]:
        _drafts(view.category, s).clear()
    toast("info", "Changes discarded.")


@calm_callback
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

    if attempt(act, failure="Could not change the default: ", feedback=toast):
        bump(view.category)  # the Default column; unsaved grid edits are kept (drafts)


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


def _enabled_choices(view: View, provider: str, leave_out: Sequence[str] = ()) -> dict[str, str]:
    """{model_id: label} of every enabled model of the provider (not one page of the grid).

    Kept for the session until the catalog's change stamp moves: reading and labelling a
    5,000-voice provider takes about 0.2 s, which every tick in its Enabled grid would pay.
    """
    version = snapshot_summary().version  # None: the curated catalog or an outage, not kept
    key = view.key("enabled-choices", provider)
    kept = st.session_state.get(key)
    if version is not None and kept is not None and kept[0] == version:
        rows: list[tuple[str, str, str]] = kept[1]
    else:
        rows = [
            (str(m.id), m.model_id, model_label(m))
            for m in get_enabled_models_for_provider(provider, view.category)
        ]
        st.session_state[key] = (version, rows)
    skip = set(leave_out)
    return {model_id: label for uuid, model_id, label in rows if uuid not in skip}


def _default_picker(
    view: View, models: Sequence[CatalogModel], defaults: dict[tuple[str, str], str], actor: Actor
) -> None:
    """The provider's default, chosen among all its enabled models; type to filter."""
    provider = view.provider
    if provider is None:
        st.caption(
            "Choose a provider above to pick its default model. The Default column shows each "
            "provider's current one."
        )
        return
    default = defaults.get((view.category.value, provider))
    choices = _enabled_choices(view, provider)
    options = list(choices)
    key = view.key("default", provider, view.data_gen)
    # A selectbox, not a radio: its options are plain text (a radio renders Markdown), a long
    # list stays one searchable line, and typing filters it.
    st.selectbox(
        f"Default {view.category.value} model of {provider}",
        options,
        index=options.index(default) if default in choices else None,
        key=key,
        format_func=lambda m: choices.get(m, m),
        placeholder=f"Type to search {len(options)} enabled models",
        on_change=_choose_default,
        args=(view, key, actor),
        help="Used when the application asks for a model of this provider that is not enabled.",
    )


# --- disable / deprecate with a question ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Question:
    """A bulk disable or deprecate waiting for the admin's yes (and maybe a new default)."""

    target: ModelStatus
    verb: str  # "disable" | "deprecate"
    rows: tuple[RowSnapshot, ...]
    default: RowSnapshot | None  # the provider default inside the selection


def _ask_key(view: View) -> str:
    return view.key("disable-default-question")


@calm_callback
def _disable(
    view: View,
    grid: str,
    rows: Sequence[RowSnapshot],
    actor: Actor,
    target: ModelStatus = ModelStatus.DISABLED,
) -> None:
    """Disable (or deprecate) selected: first a question stating the count."""
    verb = "disable" if target is ModelStatus.DISABLED else "deprecate"
    chosen = _selection(grid, rows)
    if not chosen:
        _nothing_selected(verb)
        return
    defaults = get_default_models()
    protected = [r for r in chosen if defaults.get((view.category.value, r.provider)) == r.model_id]
    if len(protected) > 1:
        toast(
            "error",
            "The selection holds the defaults of several providers "
            f"({names([r.display_id for r in protected])}); {verb} them one provider at a time.",
        )
        return
    st.session_state[_ask_key(view)] = Question(
        target, verb, tuple(chosen), protected[0] if protected else None
    )


@calm_callback
def _disable_with_new_default(view: View, choice_key: str, actor: Actor) -> None:
    """The admin said yes: one bulk change (with the new default first, when one is needed)."""
    question: Question | None = st.session_state.pop(_ask_key(view), None)
    if question is None:
        return
    new_default = st.session_state.get(choice_key) if question.default else None
    if question.default and not new_default:
        st.session_state[_ask_key(view)] = question
        toast("warning", "Choose the new default first.")
        return
    past = PAST[question.verb]
    summary = f"{past} {{n}} model(s): {names([r.display_id for r in question.rows])}"
    if question.default and new_default:
        summary = (
            f"{question.default.provider}/{new_default} is the new default; "
            f"{past.lower()} {{n}} model(s) including {question.default.display_id}."
        )
    _change_status(
        view,
        ModelStatus.ENABLED,
        [r.id for r in question.rows],
        question.target,
        summary,
        actor,
        new_default=new_default,
    )


@calm_callback
def _cancel_question(view: View) -> None:
    st.session_state.pop(_ask_key(view), None)


def _disable_question(view: View, actor: Actor) -> None:
    question: Question | None = st.session_state.get(_ask_key(view))
    if question is None:
        return
    count = len(question.rows)
    what = (
        "never used; the application falls back to the default"
        if question.target is ModelStatus.DISABLED
        else "retired: discovery does not bring them back"
    )
    with st.container(border=True):
        say(
            "warning",
            f"{question.verb.capitalize()} {count} model(s)? They are {what}. "
            f"{names([r.display_id for r in question.rows])}. You can undo it afterwards.",
        )
        choice_key = view.key("disable-new-default")
        old = question.default
        if old is not None:
            say(
                "warning",
                f"{old.display_id} is the default {view.category.value} model of {old.provider}. "
                f"Choose a new default first; then the selection is {PAST[question.verb].lower()}.",
            )
            others = _enabled_choices(view, old.provider, [r.id for r in question.rows])
            if not others:
                say(
                    "error",
                    f"{old.provider} has no other enabled {view.category.value} model to make "
                    "the default. Approve or enable one first.",
                )
                st.button(
                    "Cancel",
                    key=view.key("disable-cancel"),
                    on_click=_cancel_question,
                    args=(view,),
                )
                return
            st.selectbox(
                "New default",
                list(others),
                index=None,
                key=choice_key,
                format_func=lambda m: others.get(m, m),
                placeholder=f"Type to search {len(others)} enabled models",
            )
        cols = st.columns([2, 1, 3])
        cols[0].button(
            f"Make it the default and {question.verb} {count}"
            if old is not None
            else f"{question.verb.capitalize()} {count}",
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
    cols = st.columns([1, 1, 1, 1, 1])
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
        args=(view, ModelStatus.ENABLED),
        disabled=not dirty,
    )
    cols[2].button(
        "Disable selected",
        key=view.key("disable"),
        on_click=_disable,
        args=(view, grid, rows, actor),
        help="Disabled models are never used; the application falls back to the default.",
    )
    cols[3].button(
        "Deprecate selected",
        key=view.key("deprecate"),
        on_click=_disable,
        args=(view, grid, rows, actor, ModelStatus.DEPRECATED),
        help="Retire models: the application falls back; discovery does not bring them back.",
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
        args=(view, ModelStatus.DISABLED),
        disabled=not dirty,
    )


# --- deprecated ----------------------------------------------------------------------------


@calm_callback
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
        toast("error", f"Could not {verb} everything: {exc}")
    if done:
        toast("success", f"{PAST[verb]} {len(done)} model(s): {names(done)}")
    bump(view.category)


@calm_callback
def _set_successor(
    view: View, model_key: str, successor_key: str, actor: Actor, clear: bool
) -> None:
    model_id = st.session_state.get(model_key)
    successor = None if clear else st.session_state.get(successor_key)
    if not model_id:
        toast("warning", "Choose the deprecated model first.")
        return
    if not clear and not successor:
        toast("warning", "Choose the successor model first.")
        return

    def act() -> str:
        model = set_successor(model_id, successor, actor=actor)
        if successor is None:
            return f"Cleared the successor of {model.display_id}."
        return f"{model.provider}/{successor} now replaces {model.display_id}."

    attempt(act, failure="Could not set the successor: ", feedback=toast)
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
