"""The dashboard's view logic, free of Streamlit so it can be tested directly.

Tables for the model grids (one row per model, `{provider}/{model_id}` first), the diff from a
`st.data_editor` edit state to `ModelEdit`s, provider cards (refresh outcomes: `outcomes`), CSV
exports, and the escaping that keeps provider-supplied text plain wherever Streamlit would
render Markdown.

Provider text is untrusted: every string the dashboard shows from a provider goes through
`registry.text.inert` (here: `label`, `one_line`, `escape_markdown`), so a bidi override cannot
make one id look like another and a control character cannot act.
"""

from __future__ import annotations

import csv
import io
import re
import string
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from registry.admin.outcomes import refresh_line, source_note
from registry.admin.timefmt import ago, now_utc, timestamp
from registry.audit import AuditRecord
from registry.discovery import DiscoveryStatus
from registry.resolution import ProviderStatus, get_provider_status
from registry.retirement import date_source, retirement_label
from registry.store import ModelEdit, count_by_status
from registry.text import inert
from registry.trial import voice_facts
from registry.types import PROVIDERS, CatalogModel, Category, ModelStatus

# --- plain text --------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")


def escape_markdown(text: object) -> str:
    """Text that Streamlit's Markdown renders literally: inert, every ASCII punctuation escaped.

    CommonMark lets any ASCII punctuation be backslash-escaped, so links, emphasis, HTML,
    math (`$`), autolinks and Streamlit's `:color[…]` directives all come out as typed.
    Line breaks become spaces (labels and messages are one line); controls and bidi
    characters become visible escapes (`inert`).
    """
    flat = " ".join(str(text).split()) if "\n" in str(text) or "\r" in str(text) else str(text)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", inert(flat))


def one_line(text: str | None, limit: int = 200) -> str:
    """Provider text for a table cell: whitespace collapsed, inert, cut to `limit`."""
    if not text:
        return ""
    return inert(" ".join(text.split()), limit)


LABEL_LIMIT = 120


def label(text: object, limit: int = LABEL_LIMIT) -> str:
    """Provider text as a plain one-line label (picker options, lists in messages): inert, cut.

    For places that render no Markdown (selectbox options, grid cells, `st.text`); where
    Markdown renders, pass the result through `escape_markdown` as well.
    """
    return one_line(str(text), limit)


# --- metadata ----------------------------------------------------------------------------------

NO_METADATA = "No metadata"
# Keys that repeat a column (id, name, description) or say nothing: left out of the summary.
_SKIP_KEYS = frozenset(
    {"id", "name", "displayname", "shortname", "localname", "object", "description"}
    | {"modelid", "voiceid"}
)


def _scalar(value: object) -> str | None:
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | str):
        return one_line(str(value), 40)
    if isinstance(value, list) and all(isinstance(v, int | float | str) for v in value):
        return one_line(", ".join(str(v) for v in value[:4]), 40)
    if isinstance(value, dict):
        inner = [f"{k}={s}" for k, v in value.items() if (s := _scalar(v)) and len(s) < 25]
        return one_line(", ".join(inner[:3]), 60) if inner else None
    return None


_EPOCH_KEYS = frozenset({"created", "created_at", "date_unlocked", "updated_at"})


def _date(value: object) -> str | None:
    """Epoch seconds (as OpenAI-style listings send them) → `2025-03-14`; else as it is."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 10**8:
        try:
            return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d")
        except (OverflowError, OSError, ValueError):
            return None
    return _scalar(value)


def metadata_summary(model: CatalogModel, max_items: int = 5) -> str:
    """A short `key: value · …` line from the provider's metadata, or "No metadata"."""
    parts: list[str] = []
    if not model.supports_streaming:
        parts.append("no streaming")
    for key, value in (model.provider_metadata or {}).items():
        if len(parts) >= max_items:
            break
        normalised = key.lower().replace("_", "")
        if normalised in _SKIP_KEYS or normalised.endswith("url"):
            continue
        shown = _date(value) if key in _EPOCH_KEYS else _scalar(value)
        if shown is not None:
            parts.append(f"{key}: {shown}")
    if not parts:  # the context window has a column of its own
        return NO_METADATA
    return one_line(" · ".join(parts), 240)


# --- voices and labels -------------------------------------------------------------------------

_OPAQUE_ID = re.compile(r"[A-Za-z0-9]{16,}")  # ElevenLabs' voice ids say nothing to a person


def voice_columns(model: CatalogModel) -> dict[str, str]:
    """The grid's voice columns of a TTS row: name, locale, gender, labels (plain text)."""
    facts = voice_facts(model)
    return {
        "voice": facts.name,
        "locale": facts.locale or "",
        "gender": facts.gender or "",
        "labels": ", ".join(facts.labels),
    }


def model_label(model: CatalogModel) -> str:
    """A chooser option a person recognises: `Rachel — en-US, female — elevenlabs/21m00T…`.

    The name first (a voice's own name with its locale and gender where the listing gives
    them, else the display name), then the display id, with an opaque id cut short; plain
    one-line text.
    """
    traits = ""
    if model.category is Category.TTS:
        facts = voice_facts(model)
        name = facts.name
        traits = ", ".join(t for t in (facts.locale, (facts.gender or "").lower()) if t)
    else:
        name = model.display_name
    shown_id = model.model_id
    if _OPAQUE_ID.fullmatch(shown_id):
        shown_id = shown_id[:6] + "…"
    ident = f"{model.provider}/{shown_id}"
    about = f" — {one_line(traits, 40)}" if traits else ""
    if not name.strip() or name.strip() == model.model_id:
        return label(f"{ident}{about}")
    return label(f"{one_line(name, 60)}{about} — {ident}")


# --- grid rows and edits -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowSnapshot:
    """What one grid row showed when it was drawn; edits are diffed against this."""

    id: str
    display_id: str
    provider: str
    model_id: str
    status: str
    display_name: str
    admin_notes: str | None


def snapshot(model: CatalogModel) -> RowSnapshot:
    return RowSnapshot(
        id=str(model.id),
        display_id=model.display_id,
        provider=model.provider,
        model_id=model.model_id,
        status=model.status.value,
        display_name=model.display_name,
        admin_notes=model.admin_notes,
    )


EDITABLE_FIELDS = ("status", "display_name", "admin_notes")
SELECT_COLUMN = "select"


def _edited_rows(state: Mapping[str, Any] | None) -> dict[int, dict[str, Any]]:
    rows = (state or {}).get("edited_rows") or {}
    result: dict[int, dict[str, Any]] = {}
    for key, changes in rows.items():
        try:
            result[int(key)] = dict(changes or {})
        except (TypeError, ValueError):
            continue
    return result


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def edits_from_editor(
    rows: Sequence[RowSnapshot],
    state: Mapping[str, Any] | None,
    editable: Iterable[str] = EDITABLE_FIELDS,
) -> list[ModelEdit]:
    """The `ModelEdit`s an editor's state asks for: only fields that really changed.

    `state` is the editor's session-state value (`edited_rows` by row position). A cleared cell
    means an empty value (notes removed; an empty name is refused by the registry).
    """
    allowed = set(editable)
    edits: list[ModelEdit] = []
    for position, changes in sorted(_edited_rows(state).items()):
        if not 0 <= position < len(rows):
            continue
        row = rows[position]
        values: dict[str, Any] = {}
        if "status" in allowed and "status" in changes:
            status = _text(changes["status"]).lower()
            if status and status != row.status:
                values["status"] = status
        if "display_name" in allowed and "display_name" in changes:
            name = _text(changes["display_name"])
            if name != row.display_name:
                values["display_name"] = name
        if "admin_notes" in allowed and "admin_notes" in changes:
            notes = _text(changes["admin_notes"])
            if notes != (row.admin_notes or ""):
                values["admin_notes"] = notes
        if values:
            edits.append(ModelEdit(row.id, **values))
    return edits


def selected_rows(
    rows: Sequence[RowSnapshot], state: Mapping[str, Any] | None, *, select_all: bool = False
) -> list[RowSnapshot]:
    """Rows whose Select box is ticked (all of them to start with when `select_all`)."""
    chosen = [select_all] * len(rows)
    for position, changes in _edited_rows(state).items():
        if 0 <= position < len(rows) and SELECT_COLUMN in changes:
            chosen[position] = bool(changes[SELECT_COLUMN])
    return [row for row, ticked in zip(rows, chosen, strict=True) if ticked]


@dataclass(frozen=True, slots=True)
class FallbackInfo:
    """For a deprecated/disabled model: what resolution gives instead, and how often it did."""

    falls_back_to: str | None = None
    count: int = 0


def price_cell(price: float | None) -> str:
    """USD for a grid cell: `$2.50`, `$0.025`; empty when unknown (never "None")."""
    if price is None:
        return ""
    return f"${price:,.2f}" if price >= 0.1 or price == 0 else f"${price:.3g}"


def count_cell(count: int | None) -> str:
    """A token count for a grid cell: `131,072`; empty when unknown."""
    return "" if count is None else f"{count:,}"


def retires_cell(model: CatalogModel, now: datetime) -> str:
    """The Retires column: "retires in 12 days (2026-12-12)"; empty without a date."""
    relative = retirement_label(model, now.date())
    if relative is None or model.retires_at is None:
        return ""
    return f"{relative} ({timestamp(model.retires_at)[:10]})"


DEFAULT_MARK = "✓ default"


def model_table(
    models: Sequence[CatalogModel],
    section: ModelStatus,
    *,
    defaults: Mapping[tuple[str, str], str] | None = None,
    select_all: bool = False,
    fallbacks: Mapping[str, FallbackInfo] | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """The grid of one section: a column per field, every cell a plain string (an unknown value
    is an empty cell, not "None"), provider text inert."""
    now = now or now_utc()
    defaults = defaults or {}
    fallbacks = fallbacks or {}
    records: list[dict[str, Any]] = []
    for model in models:
        record: dict[str, Any] = {SELECT_COLUMN: select_all}
        if section is ModelStatus.ENABLED:
            is_default = defaults.get((model.category.value, model.provider)) == model.model_id
            record["default"] = DEFAULT_MARK if is_default else ""  # text: nothing to click
        record["model"] = inert(model.display_id)
        record["display_name"] = inert(model.display_name)
        if model.category is Category.TTS:  # voices as people pick them
            record |= voice_columns(model)
        if section is ModelStatus.ENABLED:
            record["status"] = model.status.value
        if section is not ModelStatus.PENDING:  # the editable columns side by side
            record["admin_notes"] = inert(model.admin_notes or "")
        if model.category is Category.TEXT:
            record["input_price"] = price_cell(model.input_price_per_mtok)
            record["output_price"] = price_cell(model.output_price_per_mtok)
            record["context_window"] = count_cell(model.context_window)
            record["max_output"] = count_cell(model.max_output_tokens)
            record["capabilities"] = ", ".join(model.capabilities or [])
        else:  # voices are priced per character and have no context window
            record["input_price"] = price_cell(model.price_per_mchar)
        record["retires"] = retires_cell(model, now)
        # Where the date came from, and its source as a link (README "Retirement and successors").
        source = date_source(model.metadata_sources) if model.retires_at else None
        record["retires_source"] = inert(source.describe()) if source else ""
        record["retires_link"] = (source.url if source else None) or ""
        if section in (ModelStatus.DISABLED, ModelStatus.DEPRECATED):
            info = fallbacks.get(str(model.id), FallbackInfo())
            record["falls_back_to"] = inert(info.falls_back_to or "")
            record["fallbacks"] = info.count
        if section is ModelStatus.DEPRECATED:
            record["successor"] = (
                inert(f"{model.provider}/{model.successor_model_id}")
                if model.successor_model_id
                else ""
            )
            who = "admin" if model.deprecated_by_admin else "provider"
            record["deprecated"] = f"{ago(model.deprecated_at, now, never='—')} (by {who})"
            record["archived"] = model.archived_at is not None
        record["metadata"] = metadata_summary(model, max_items=3)
        record["description"] = one_line(model.description)
        record["source"] = model.source.value
        if section is ModelStatus.PENDING:
            record["discovered"] = ago(model.discovered_at, now, never="—")
        elif section is ModelStatus.ENABLED:
            record["enabled"] = ago(model.enabled_at, now, never="—")
        records.append(record)
    return pd.DataFrame.from_records(records)


def fallback_lines(
    models: Sequence[CatalogModel], fallbacks: Mapping[str, FallbackInfo], limit: int = 6
) -> list[str]:
    """`Falls back to: openai/o3 — openai/o4-mini, openai/o1`, one line per target."""
    groups: dict[str, list[str]] = {}
    for model in models:
        info = fallbacks.get(str(model.id))
        if info is not None and info.falls_back_to:
            groups.setdefault(info.falls_back_to, []).append(model.display_id)
    return [
        f"Falls back to: {label(target)} — {names(ids, limit)}" for target, ids in groups.items()
    ]


# --- names in messages ----------------------------------------------------------------------------


def names(ids: Sequence[str], limit: int = 5) -> str:
    """`a, b, c and 4 more`, each id an inert label."""
    shown = ", ".join(label(i) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


# --- overview ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderCard:
    provider: str
    category: Category
    enabled: int
    pending: int
    disabled: int
    deprecated: int
    default: str | None  # the saved default, as provider/model
    default_note: str | None  # when resolution does not use the saved default: what it uses
    refreshed: str
    source_note: str | None
    errors: list[str]  # the last refresh failed (a missing key is not an error: see key_note)
    warnings: list[str]  # the last refresh worked, with these warnings (e.g. the guard's)
    key_configured: bool
    key_note: str

    @property
    def headline(self) -> str:
        return f"{self.enabled} enabled ({self.pending} pending approval)"


def _key_note(status: ProviderStatus) -> str:
    if not status.key_configured:
        return "No API key configured: add one on the API keys page to list its models"
    origin = "stored" if status.key_source == "stored" else "from the environment"
    return f"API key configured ({status.key_masked}, {origin})"


def provider_card(
    status: ProviderStatus, state: DiscoveryStatus | None, now: datetime | None = None
) -> ProviderCard:
    provider = status.provider
    default = f"{provider}/{status.default_model}" if status.default_model else None
    effective = f"{provider}/{status.effective_default}" if status.effective_default else None
    default_note = None
    if effective is None:
        default_note = "nothing usable: the application cannot use this provider"
    elif effective != default:
        default_note = f"resolution uses {effective}"
    if status.default_retired_at is not None:
        default_note = f"retired on {status.default_retired_at.date().isoformat()}; {default_note}"
    return ProviderCard(
        provider=provider,
        category=status.category,
        enabled=len(status.enabled_models),
        pending=status.pending_count,
        disabled=status.disabled_count,
        deprecated=status.deprecated_count,
        default=default,
        default_note=default_note,
        refreshed=refresh_line(state, now) if state else "Never refreshed",
        source_note=source_note(state) if state else None,
        # Without a key the refresh could not run: the key note says so, calmly.
        errors=list(status.last_errors)
        if status.last_outcome == "error" and status.key_configured
        else [],
        warnings=list(status.last_errors) if status.last_outcome == "warning" else [],
        key_configured=status.key_configured,
        key_note=_key_note(status),
    )


def provider_cards(
    category: Category, states: Sequence[DiscoveryStatus], now: datetime | None = None
) -> list[ProviderCard]:
    """One card per provider of the category."""
    by_provider = {s.provider: s for s in states}
    return [
        provider_card(get_provider_status(provider, category), by_provider.get(provider), now)
        for provider in PROVIDERS[category]
    ]


def status_chart_frame(category: Category) -> pd.DataFrame:
    """Models by status per provider (rows: providers, columns: statuses) for a bar chart."""
    counts = count_by_status(category)
    statuses = [s.value for s in ModelStatus]
    data = {
        status: [counts.get((provider, status), 0) for provider in PROVIDERS[category]]
        for status in statuses
    }
    return pd.DataFrame(data, index=pd.Index(list(PROVIDERS[category]), name="provider"))


# --- CSV ---------------------------------------------------------------------------------------

_FORMULA_START = frozenset("=+-@")
# Characters a spreadsheet skips or splits on before it sees the `=`: whitespace of any kind,
# controls and invisible format characters (Unicode categories Cc, Cf), and the separators `;`
# and `,` that a different locale's import splits the cell at.
_SKIPPED_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def formula_risk(text: str) -> bool:
    """True when a spreadsheet could run `text` as a formula (OWASP CSV injection).

    The text is NFKC-normalised first (a full-width `＝` is an `=`), then whitespace, controls,
    invisible characters and `;`/`,` are looked past. A tab, CR or LF at the very start counts
    on its own.
    """
    if text[:1] in ("\t", "\r", "\n"):
        return True
    for char in unicodedata.normalize("NFKC", text):
        if char in ";," or unicodedata.category(char) in _SKIPPED_CATEGORIES:
            continue
        return char in _FORMULA_START
    return False


def _csv_cell(value: object) -> object:
    """Neutralise spreadsheet formulas in text cells (provider text is untrusted)."""
    if isinstance(value, str) and formula_risk(value):
        return "'" + value
    return value


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """CSV with every field quoted and risky cells prefixed with `'` (OWASP's advice)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8")


MODEL_CSV_COLUMNS = (
    "id",
    "provider",
    "category",
    "model_id",
    "display_id",
    "display_name",
    "status",
    "is_default",
    "context_window",
    "supports_streaming",
    "source",
    "discovered_at",
    "enabled_at",
    "deprecated_at",
    "archived_at",
    "successor_model_id",
    "admin_notes",
    "description",
    "updated_at",
)


def models_csv(models: Iterable[CatalogModel], defaults: Mapping[tuple[str, str], str]) -> bytes:
    def iso(when: datetime | None) -> str:
        return when.isoformat() if when else ""

    return _csv(
        MODEL_CSV_COLUMNS,
        (
            (
                str(m.id),
                m.provider,
                m.category.value,
                m.model_id,
                m.display_id,
                m.display_name,
                m.status.value,
                defaults.get((m.category.value, m.provider)) == m.model_id,
                "" if m.context_window is None else m.context_window,
                m.supports_streaming,
                m.source.value,
                iso(m.discovered_at),
                iso(m.enabled_at),
                iso(m.deprecated_at),
                iso(m.archived_at),
                m.successor_model_id or "",
                m.admin_notes or "",
                m.description or "",
                iso(m.updated_at),
            )
            for m in models
        ),
    )


ACTIVITY_CSV_COLUMNS = (
    "id",
    "time",
    "actor",
    "action",
    "provider",
    "category",
    "model_id",
    "field",
    "old_value",
    "new_value",
)


def activity_rows(entries: Sequence[AuditRecord]) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [
            {
                "time": timestamp(e.created_at),
                "actor": one_line(e.actor, 500),
                "action": e.action,
                "model": one_line(f"{e.provider}/{e.model_id}", 500)
                if e.provider and e.model_id
                else "",
                "provider": e.provider or "",
                "category": e.category or "",
                "field": e.field or "",
                "old": one_line(e.old_value, 1000),
                "new": one_line(e.new_value, 1000),
            }
            for e in entries
        ],
        columns=["time", "actor", "action", "model", "provider", "category", "field", "old", "new"],
    )


def activity_csv(entries: Iterable[AuditRecord]) -> bytes:
    return _csv(
        ACTIVITY_CSV_COLUMNS,
        (
            (
                e.id,
                e.created_at.isoformat(),
                e.actor,
                e.action,
                e.provider or "",
                e.category or "",
                e.model_id or "",
                e.field or "",
                e.old_value or "",
                e.new_value or "",
            )
            for e in entries
        ),
    )
