"""The data layer: reading the catalog and changing it under the lifecycle rules.

Every rule of DESIGN.md's lifecycle that an admin can run into is enforced here, in one place:
a default must be enabled, disabling the default is refused, nothing is deleted, admin edits
survive discovery, and every change writes an audit entry in the same transaction.
"""

from __future__ import annotations

import json
import logging
import math
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from registry.audit import (
    SYSTEM,
    Actor,
    audit_row,
    bulk_audit_rows,
    model_audit_row,
    write_audit,
)
from registry.catalog import default_setting_key
from registry.db import dialect_insert, get_database
from registry.errors import (
    AmbiguousModelError,
    InvalidInputError,
    LifecycleError,
    ModelNotFoundError,
    RegistryError,
)
from registry.refresh_plan import ListedChange, listed_change
from registry.schema import AIModel, AppSetting, utcnow
from registry.text import has_unsafe_characters, inert
from registry.types import (
    CAPABILITIES,
    MAX_TOKEN_COUNT,
    METADATA_FIELDS,
    PRICE_FIELDS,
    PROVIDERS,
    SOURCE_ADMIN,
    SOURCE_LISTING,
    CatalogModel,
    Category,
    DiscoveredModel,
    ModelSource,
    ModelStatus,
    clean_capabilities,
    clean_price,
    clean_token_count,
    display_id,
    parse_category,
    parse_provider,
    parse_search,
    parse_status,
)

logger = logging.getLogger(__name__)

MAX_NAME_LENGTH = 255
MAX_TEXT_LENGTH = 10_000
MAX_MODEL_ID_LENGTH = 255  # ai_models.model_id
# Provider descriptions are a paragraph; longer ones are cut (the full entry stays in metadata).
MAX_PROVIDER_DESCRIPTION_LENGTH = 4_000


# --- reading -------------------------------------------------------------------------------


def to_catalog_model(row: AIModel) -> CatalogModel:
    return CatalogModel(
        id=row.id,
        provider=row.provider,
        category=Category(row.category),
        model_id=row.model_id,
        display_name=row.display_name,
        description=row.description,
        context_window=row.context_window,
        supports_streaming=row.supports_streaming,
        status=ModelStatus(row.status),
        source=ModelSource(row.source),
        discovered_at=row.discovered_at,
        enabled_at=row.enabled_at,
        deprecated_at=row.deprecated_at,
        deprecated_by_admin=row.deprecated_by_admin,
        archived_at=row.archived_at,
        last_seen_at=row.last_seen_at,
        retires_at=row.retires_at,
        successor_model_id=row.successor_model_id,
        provider_metadata=row.provider_metadata,
        admin_notes=row.admin_notes,
        created_at=row.created_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        input_price_per_mtok=row.input_price_per_mtok,
        output_price_per_mtok=row.output_price_per_mtok,
        price_per_mchar=row.price_per_mchar,
        max_output_tokens=row.max_output_tokens,
        capabilities=row.capabilities,
        replacement_model_id=row.replacement_model_id,
        metadata_sources=row.metadata_sources,
    )


@dataclass(frozen=True, slots=True)
class ModelFilter:
    """What `list_models` and `count_models` select. Every field is optional."""

    category: Category | str | None = None
    provider: str | None = None
    status: ModelStatus | str | Sequence[ModelStatus | str] | None = None
    # Words separated by spaces; every word must occur (case-insensitive, as typed: `%` and `_`
    # are literal) in the model id, the display name, the description or `provider/model_id`.
    search: str | None = None
    include_archived: bool = False
    capability: str | None = None  # one of CAPABILITIES
    max_input_price: float | None = None  # USD per 1M input tokens (TTS: per 1M characters)
    min_context: int | None = None  # tokens
    min_output: int | None = None  # max output tokens per reply, at least
    retiring_within_days: int | None = None  # a retirement date at most this far ahead (or past)


# The columns a grid can be sorted by, in the database across all pages (name → column).
SORT_COLUMNS: dict[str, Any] = {
    "model": AIModel.model_id,
    "provider": AIModel.provider,
    "display_name": AIModel.display_name,
    "input_price": func.coalesce(AIModel.input_price_per_mtok, AIModel.price_per_mchar),
    "output_price": AIModel.output_price_per_mtok,
    "context_window": AIModel.context_window,
    "max_output": AIModel.max_output_tokens,
    "retires": AIModel.retires_at,
    "status": AIModel.status,
    "discovered": AIModel.discovered_at,
    "enabled": AIModel.enabled_at,
    "deprecated": AIModel.deprecated_at,
}


@dataclass(frozen=True, slots=True)
class ModelOrder:
    """Sort order of `list_models`: a `SORT_COLUMNS` name; unknown values are empty cells last."""

    column: str = "provider"
    descending: bool = False

    def clauses(self) -> list[Any]:
        if self.column not in SORT_COLUMNS:
            raise InvalidInputError(
                f"cannot sort by {self.column!r}; choose one of {', '.join(SORT_COLUMNS)}"
            )
        column = SORT_COLUMNS[self.column]
        # Empty cells last in both directions (NULLS LAST spelled the same on both backends).
        first = [column.is_(None), column.desc() if self.descending else column.asc()]
        return [*first, AIModel.provider, AIModel.category, AIModel.model_id]


def _search_words(text: str | None) -> list[str]:
    search = parse_search(text)
    return search.lower().split() if search else []


def _matches_word(word: str) -> ColumnElement[bool]:
    fields = (
        AIModel.model_id,
        AIModel.display_name,
        AIModel.description,
        AIModel.provider + "/" + AIModel.model_id,
    )
    return or_(
        *(func.lower(f).contains(word, autoescape=True) for f in fields)  # `%`, `_` literal
    )


def _filtered(query: Select[Any], filters: ModelFilter) -> Select[Any]:
    conditions: list[ColumnElement[bool]] = []
    category = parse_category(filters.category) if filters.category else None
    if category is not None:
        conditions.append(AIModel.category == category.value)
    if filters.provider:
        conditions.append(AIModel.provider == parse_provider(filters.provider, category))
    if filters.status:
        raw = [filters.status] if isinstance(filters.status, str) else list(filters.status)
        conditions.append(AIModel.status.in_([parse_status(s).value for s in raw]))
    conditions += [_matches_word(word) for word in _search_words(filters.search)]
    if filters.capability:
        if filters.capability not in CAPABILITIES:
            raise InvalidInputError(
                f"unknown capability {filters.capability!r}; one of {', '.join(CAPABILITIES)}"
            )
        # A JSON list of plain words on both backends: `"vision"` in its text is the element.
        as_text = cast(AIModel.capabilities, String)
        conditions.append(as_text.contains(f'"{filters.capability}"', autoescape=True))
    if filters.max_input_price is not None:
        price = func.coalesce(AIModel.input_price_per_mtok, AIModel.price_per_mchar)
        conditions.append(price <= filters.max_input_price)
    if filters.min_context is not None:
        conditions.append(AIModel.context_window >= filters.min_context)
    if filters.min_output is not None:
        conditions.append(AIModel.max_output_tokens >= filters.min_output)
    if filters.retiring_within_days is not None:
        horizon = datetime.now(UTC) + timedelta(days=filters.retiring_within_days)
        conditions.append(AIModel.retires_at <= horizon)
    if not filters.include_archived:
        conditions.append(AIModel.archived_at.is_(None))
    return query.where(and_(*conditions)) if conditions else query


def list_models(
    filters: ModelFilter | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
    order: ModelOrder | None = None,
) -> list[CatalogModel]:
    """Models matching `filters` in `order` (default: provider, category, model id); paginated."""
    query = _filtered(select(AIModel), filters or ModelFilter()).order_by(
        *(order or ModelOrder()).clauses()
    )
    if limit is not None:
        query = query.limit(limit).offset(offset)
    with get_database().read() as session:
        return [to_catalog_model(row) for row in session.scalars(query)]


def list_model_ids(filters: ModelFilter | None = None) -> list[uuid.UUID]:
    """Only the ids of the matching models (bulk actions over thousands of rows)."""
    query = _filtered(select(AIModel.id), filters or ModelFilter())
    with get_database().read() as session:
        return list(session.scalars(query))


def count_models(filters: ModelFilter | None = None) -> int:
    query = _filtered(select(func.count()).select_from(AIModel), filters or ModelFilter())
    with get_database().read() as session:
        return int(session.scalar(query) or 0)


def count_by_status(category: Category | str | None = None) -> dict[tuple[str, str], int]:
    """{(provider, status): n} over non-archived models, for charts and provider cards."""
    query = (
        select(AIModel.provider, AIModel.status, func.count())
        .where(AIModel.archived_at.is_(None))
        .group_by(AIModel.provider, AIModel.status)
    )
    if category:
        query = query.where(AIModel.category == parse_category(category).value)
    with get_database().read() as session:
        return {(p, s): int(n) for p, s, n in session.execute(query)}


def _parse_uuid(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        raise InvalidInputError(f"not a model id (UUID): {value!r}") from None


def get_model_by_id(model_uuid: uuid.UUID | str) -> CatalogModel:
    key = _parse_uuid(model_uuid)
    with get_database().read() as session:
        row = session.get(AIModel, key)
        if row is None:
            raise ModelNotFoundError(f"no model with id {key}")
        return to_catalog_model(row)


def _find_by_provider_id(
    session: Session, provider: str, model_id: str, category: Category | None
) -> AIModel:
    query = select(AIModel).where(AIModel.provider == provider, AIModel.model_id == model_id)
    if category is not None:
        query = query.where(AIModel.category == category.value)
    rows = list(session.scalars(query))
    if not rows:
        where = f" in {category.value}" if category else ""
        raise ModelNotFoundError(f"no model {display_id(provider, model_id)}{where}")
    if len(rows) > 1:
        raise AmbiguousModelError(
            f"{display_id(provider, model_id)} names both a text and a TTS model; give the category"
        )
    return rows[0]


def get_model_by_provider_id(
    provider: str, model_id: str, category: Category | str | None = None
) -> CatalogModel:
    cat = parse_category(category) if category else None
    with get_database().read() as session:
        return to_catalog_model(
            _find_by_provider_id(session, parse_provider(provider, cat), model_id, cat)
        )


def get_enabled_models_for_provider(provider: str, category: Category | str) -> list[CatalogModel]:
    return list_models(
        ModelFilter(category=category, provider=provider, status=ModelStatus.ENABLED)
    )


def _defaults(session: Session) -> dict[tuple[str, str], str]:
    """{(category, provider): default model_id} from app_settings."""
    result: dict[tuple[str, str], str] = {}
    keys = {
        default_setting_key(category, provider): (category.value, provider)
        for category, providers in PROVIDERS.items()
        for provider in providers
    }
    for key, value in session.execute(
        select(AppSetting.key, AppSetting.value).where(AppSetting.key.in_(keys))
    ):
        result[keys[key]] = value
    return result


def get_default_models() -> dict[tuple[str, str], str]:
    """Every configured default: {(category, provider): model_id}."""
    with get_database().read() as session:
        return _defaults(session)


def get_default_model_for_provider(provider: str, category: Category | str) -> str | None:
    cat = parse_category(category)
    return get_default_models().get((cat.value, parse_provider(provider, cat)))


# --- the lifecycle rules -------------------------------------------------------------------


def _is_default(row: AIModel, defaults: dict[tuple[str, str], str]) -> bool:
    return defaults.get((row.category, row.provider)) == row.model_id


def _check_status_change(
    row: AIModel, target: ModelStatus, defaults: dict[tuple[str, str], str]
) -> None:
    if target is not ModelStatus.ENABLED and _is_default(row, defaults):
        raise LifecycleError(
            f"{display_id(row.provider, row.model_id)} is the {row.category} default of "
            f"{row.provider}; pick another default first, then set it to {target.value}"
        )


def _status_values(target: ModelStatus, now: datetime) -> dict[str, Any]:
    """The column values a status change implies (timestamps, who retired it)."""
    values: dict[str, Any] = {"status": target.value}
    if target is ModelStatus.ENABLED:
        values |= {"enabled_at": now, "deprecated_at": None, "deprecated_by_admin": False}
    elif target is ModelStatus.DEPRECATED:
        # An admin retiring a model: discovery must not bring it back to pending.
        values |= {"deprecated_at": now, "deprecated_by_admin": True}
    else:
        values |= {"deprecated_at": None, "deprecated_by_admin": False}
    return values


def _clean_text(value: str | None, what: str, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise InvalidInputError(f"{what} is {len(value)} characters long; the limit is {limit}")
    return value or None


def update_model_status(
    model_uuid: uuid.UUID | str,
    status: ModelStatus | str,
    *,
    actor: Actor = SYSTEM,
    notes: str | None = None,
) -> CatalogModel:
    """Change one model's status under the lifecycle rules; returns the model as saved."""
    bulk_update_models([model_uuid], status, actor=actor, notes=notes)
    return get_model_by_id(model_uuid)


def bulk_update_models(
    model_uuids: Iterable[uuid.UUID | str],
    status: ModelStatus | str,
    *,
    actor: Actor = SYSTEM,
    notes: str | None = None,
) -> int:
    """Set the status of many models in one statement: all or nothing. Returns rows changed.

    One unknown id, or one model that the rules protect (the current default), and nothing
    changes; the error says which. The change is one audit entry listing its models.
    """
    return len(change_model_statuses(model_uuids, status, actor=actor, notes=notes).changed)


@dataclass(frozen=True, slots=True)
class PriorStatus:
    """One model's status columns before a bulk change: what an undo puts back."""

    id: uuid.UUID
    display_id: str
    status: str
    enabled_at: datetime | None
    deprecated_at: datetime | None
    deprecated_by_admin: bool


@dataclass(frozen=True, slots=True)
class StatusChange:
    """What one bulk status change did, enough to undo it in one action."""

    target: ModelStatus
    changed: tuple[PriorStatus, ...]
    # (category, provider, default before, default after) when the change moved a default.
    moved_default: tuple[str, str, str | None, str] | None = None


@dataclass(frozen=True, slots=True)
class UndoReport:
    restored: tuple[str, ...]  # provider/model_id
    skipped: dict[str, str]  # provider/model_id → why it was left as it is now
    default_restored: str | None = None  # provider/model_id back as the default


def change_model_statuses(
    model_uuids: Iterable[uuid.UUID | str],
    status: ModelStatus | str,
    *,
    actor: Actor = SYSTEM,
    notes: str | None = None,
    new_default: str | None = None,
) -> StatusChange:
    """`bulk_update_models` that returns what it changed (for an undo).

    `new_default` (a model id of the one provider/category of the selection) first becomes the
    default, in the same transaction: so the current default can be part of the selection.
    """
    target = parse_status(status)
    keys = list(dict.fromkeys(_parse_uuid(u) for u in model_uuids))
    clean_notes = _clean_text(notes, "notes", MAX_TEXT_LENGTH)
    if not keys:
        return StatusChange(target, ())
    now = utcnow()
    with get_database().write() as session:
        # Locks in id order so concurrent bulk updates cannot deadlock each other.
        rows = list(
            session.scalars(
                select(AIModel).where(AIModel.id.in_(keys)).order_by(AIModel.id).with_for_update()
            )
        )
        missing = set(keys) - {row.id for row in rows}
        if missing:
            shown = ", ".join(sorted(str(m) for m in missing)[:5])
            raise ModelNotFoundError(
                f"{len(missing)} of {len(keys)} models not found ({shown}); nothing was changed"
            )
        moved = _move_default(session, rows, new_default, actor, now) if new_default else None
        defaults = _defaults(session)
        problems = []
        for row in rows:
            try:
                _check_status_change(row, target, defaults)
            except LifecycleError as exc:
                problems.append(str(exc))
        if problems:
            raise LifecycleError("; ".join(problems) + "; nothing was changed")
        changing = [row for row in rows if row.status != target.value]
        prior = tuple(
            PriorStatus(
                row.id,
                display_id(row.provider, row.model_id),
                row.status,
                row.enabled_at,
                row.deprecated_at,
                bool(row.deprecated_by_admin),
            )
            for row in changing
        )
        stamp: dict[str, Any] = {"updated_at": now, "updated_by": actor.user_id}
        note_values: dict[str, Any] = (
            {"admin_notes": clean_notes} if clean_notes is not None else {}
        )
        if changing:
            session.execute(
                update(AIModel)
                .where(AIModel.id.in_([row.id for row in changing]))
                .values(**_status_values(target, now), **stamp, **note_values)
                .execution_options(synchronize_session=False)
            )
        # Rows already in the target status keep their timestamps; only new notes are saved.
        renoted = [
            r
            for r in rows
            if r.status == target.value and note_values and r.admin_notes != clean_notes
        ]
        if renoted:
            session.execute(
                update(AIModel)
                .where(AIModel.id.in_([row.id for row in renoted]))
                .values(**stamp, **note_values)
                .execution_options(synchronize_session=False)
            )
        audit = bulk_audit_rows(
            actor, changing, [row.status for row in changing], target.value, now
        )
        audit += [
            model_audit_row(actor, "edit", row, "admin_notes", row.admin_notes, clean_notes, now)
            for row in rows
            if note_values and row.admin_notes != clean_notes
        ]
        write_audit(session, audit)
        return StatusChange(target, prior, moved)


def _move_default(
    session: Session, rows: Sequence[AIModel], model_id: str, actor: Actor, now: datetime
) -> tuple[str, str, str | None, str]:
    groups = {(row.category, row.provider) for row in rows}
    if len(groups) != 1:
        raise InvalidInputError(
            "a new default needs a selection of one provider and category; nothing was changed"
        )
    ((category, provider),) = groups
    old = _set_default(session, Category(category), provider, model_id, actor, now)
    return (category, provider, old, model_id)


def undo_status_change(change: StatusChange, *, actor: Actor = SYSTEM) -> UndoReport:
    """Put back each model's previous status (and the default the change moved), in one go.

    A model changed again since (its status is no longer the change's target) is left as it
    is now, and so is one the rules protect (it became the default); the report names them.
    The undo is one audit entry listing its models.
    """
    by_id = {prior.id: prior for prior in change.changed}
    if not by_id and change.moved_default is None:
        return UndoReport((), {})
    now = utcnow()
    with get_database().write() as session:
        rows = list(
            session.scalars(
                select(AIModel)
                .where(AIModel.id.in_(list(by_id)))
                .order_by(AIModel.id)
                .with_for_update()
            )
        )
        defaults = _defaults(session)
        if change.moved_default is not None:
            category, provider, _before, after = change.moved_default
            if defaults.get((category, provider)) == after:
                # The old default is about to be enabled again: the guard must not hold it.
                defaults.pop((category, provider))
        skipped: dict[str, str] = {}
        restoring: list[AIModel] = []
        for row in rows:
            prior = by_id[row.id]
            if row.status != change.target.value:
                skipped[prior.display_id] = f"changed since (now {row.status})"
                continue
            try:
                _check_status_change(row, ModelStatus(prior.status), defaults)
            except LifecycleError as exc:
                skipped[prior.display_id] = str(exc)
                continue
            restoring.append(row)
        for prior_id in set(by_id) - {row.id for row in rows}:
            skipped[by_id[prior_id].display_id] = "no longer in the catalog"
        for row in restoring:
            prior = by_id[row.id]
            session.execute(
                update(AIModel)
                .where(AIModel.id == row.id)
                .values(
                    status=prior.status,
                    enabled_at=prior.enabled_at,
                    deprecated_at=prior.deprecated_at,
                    deprecated_by_admin=prior.deprecated_by_admin,
                    updated_at=now,
                    updated_by=actor.user_id,
                )
                .execution_options(synchronize_session=False)
            )
        restored_default = _restore_default(session, change, actor, now)
        write_audit(
            session,
            bulk_audit_rows(
                actor,
                restoring,
                [row.status for row in restoring],
                [by_id[row.id].status for row in restoring],
                now,
                undo=True,
            ),
        )
        return UndoReport(
            tuple(display_id(row.provider, row.model_id) for row in restoring),
            skipped,
            restored_default,
        )


def _restore_default(
    session: Session, change: StatusChange, actor: Actor, now: datetime
) -> str | None:
    """The default a change moved, back, if nobody chose another since and it is enabled."""
    if change.moved_default is None:
        return None
    category, provider, before, after = change.moved_default
    if before is None or _defaults(session).get((category, provider)) != after:
        return None
    try:
        _set_default(session, Category(category), provider, before, actor, now)
    except RegistryError:
        return None
    return display_id(provider, before)


def upsert_setting(session: Session, key: str, value: str, actor: Actor, now: datetime) -> None:
    """Insert or replace one app setting (race-free on both backends)."""
    statement = dialect_insert(session)(AppSetting).values(
        key=key, value=value, updated_at=now, updated_by=actor.user_id
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[AppSetting.key],
            set_={"value": value, "updated_at": now, "updated_by": actor.user_id},
        )
    )


def set_default_model(
    provider: str, category: Category | str, model_id: str, *, actor: Actor = SYSTEM
) -> CatalogModel:
    """Make an enabled model the default of its provider and category."""
    cat = parse_category(category)
    prov = parse_provider(provider, cat)
    model_id = model_id.strip()
    with get_database().write() as session:
        _set_default(session, cat, prov, model_id, actor, utcnow())
        row = _find_by_provider_id(session, prov, model_id, cat)
        return to_catalog_model(row)


def _set_default(
    session: Session, cat: Category, prov: str, model_id: str, actor: Actor, now: datetime
) -> str | None:
    """Make `model_id` the default inside `session`; returns the default before."""
    row = session.scalars(
        select(AIModel)
        .where(
            AIModel.provider == prov,
            AIModel.category == cat.value,
            AIModel.model_id == model_id,
        )
        .with_for_update()
        # Fresh values: a bulk update earlier in this transaction bypassed the loaded rows.
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise ModelNotFoundError(f"no {cat.value} model {display_id(prov, model_id)}")
    if row.status != ModelStatus.ENABLED.value:
        raise LifecycleError(
            f"{display_id(prov, model_id)} is {row.status}; only an enabled model can be "
            "the default (approve it first)"
        )
    key = default_setting_key(cat, prov)
    old = session.scalar(select(AppSetting.value).where(AppSetting.key == key))
    if old != model_id:
        upsert_setting(session, key, model_id, actor, now)
        write_audit(
            session,
            [
                audit_row(
                    actor,
                    "default_change",
                    provider=prov,
                    category=cat.value,
                    model_id=model_id,
                    field=key,
                    old=old,
                    new=model_id,
                    at=now,
                )
            ],
        )
    return old


# --- admin edits ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelEdit:
    """One row of an admin's grid edit; None means "leave as it is"."""

    id: uuid.UUID | str
    status: ModelStatus | str | None = None
    display_name: str | None = None
    description: str | None = None
    admin_notes: str | None = None
    # Normalized metadata (types.METADATA_FIELDS) -> new value; a None value clears it. Edited
    # fields are marked "admin" in metadata_sources and discovery keeps them.
    metadata: Mapping[str, Any] | None = None


@dataclass(slots=True)
class EditReport:
    changed: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # model display id -> why


class EditsRejectedError(InvalidInputError):
    """Some rows of a grid edit were invalid; nothing was saved. `errors` says which and why."""

    def __init__(self, errors: dict[str, str]) -> None:
        lines = "; ".join(f"{k}: {v}" for k, v in errors.items())
        super().__init__(f"{len(errors)} row(s) rejected, nothing was saved — {lines}")
        self.errors = errors


def apply_model_edits(edits: Sequence[ModelEdit], *, actor: Actor = SYSTEM) -> EditReport:
    """Apply a grid's edits in one transaction: every row is saved, or none is.

    Raises `EditsRejectedError` with a per-row report when any row breaks a rule.
    """
    if not edits:
        return EditReport()
    now = utcnow()
    report = EditReport()
    with get_database().write() as session:
        keys = [_parse_uuid(edit.id) for edit in edits]
        rows = {
            row.id: row
            for row in session.scalars(
                select(AIModel).where(AIModel.id.in_(keys)).order_by(AIModel.id).with_for_update()
            )
        }
        defaults = _defaults(session)
        audit: list[dict[str, object]] = []
        moved: list[tuple[AIModel, str, str]] = []  # row, old status, new status
        for key, edit in zip(keys, edits, strict=True):
            row = rows.get(key)
            if row is None:
                report.errors[str(key)] = "not found"
                continue
            label = display_id(row.provider, row.model_id)
            try:
                changes = _edit_changes(row, edit, defaults, now)
            except (InvalidInputError, LifecycleError) as exc:
                report.errors[label] = str(exc)
                continue
            if not changes:
                continue
            for column, new in changes.items():
                if column == "status":
                    moved.append((row, row.status, new))
                elif column in _AUDITED_COLUMNS:
                    audit.append(
                        model_audit_row(actor, "edit", row, column, getattr(row, column), new, now)
                    )
                setattr(row, column, new)
            row.updated_at = now
            row.updated_by = actor.user_id
            report.changed += 1
        if report.errors:
            raise EditsRejectedError(report.errors)
        # Status changes saved together are one bulk change: one entry listing its models.
        audit += bulk_audit_rows(
            actor, [m[0] for m in moved], [m[1] for m in moved], [m[2] for m in moved], now
        )
        write_audit(session, audit)
    return report


_AUDITED_COLUMNS = frozenset(("status", "display_name", "description", "admin_notes")).union(
    METADATA_FIELDS
)


def _edit_changes(
    row: AIModel, edit: ModelEdit, defaults: dict[tuple[str, str], str], now: datetime
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if edit.status is not None:
        target = parse_status(edit.status)
        if target.value != row.status:
            _check_status_change(row, target, defaults)
            changes |= _status_values(target, now)
    if edit.display_name is not None:
        name = _clean_text(edit.display_name, "display name", MAX_NAME_LENGTH)
        if not name:
            raise InvalidInputError("display name cannot be empty")
        if name != row.display_name:
            changes |= {"display_name": name, "display_name_edited": True}
    if edit.description is not None:
        description = _clean_text(edit.description, "description", MAX_TEXT_LENGTH)
        if description != row.description:
            changes |= {"description": description, "description_edited": True}
    if edit.admin_notes is not None:
        notes = _clean_text(edit.admin_notes, "notes", MAX_TEXT_LENGTH)
        if notes != row.admin_notes:
            changes["admin_notes"] = notes
    if edit.metadata:
        sources = dict(row.metadata_sources or {})
        for name, given in edit.metadata.items():
            value = _admin_metadata_value(name, given)
            if value != getattr(row, name) or sources.get(name) != SOURCE_ADMIN:
                sources[name] = SOURCE_ADMIN
                if value != getattr(row, name):
                    changes[name] = value
        if sources != (row.metadata_sources or {}):
            changes["metadata_sources"] = sources
    return changes


def _admin_metadata_value(name: str, value: Any) -> Any:
    """An admin's value for a metadata field, checked as strictly as a provider's; None clears."""
    if name not in METADATA_FIELDS:
        raise InvalidInputError(
            f"unknown metadata field {name!r}: expected one of {', '.join(METADATA_FIELDS)}"
        )
    if value is None or value == "":
        return None
    if name in PRICE_FIELDS:
        price = clean_price(value)
        if price is None:
            raise InvalidInputError(f"{name} must be a number of USD from 0 to 10,000")
        return price
    if name == "max_output_tokens":
        try:
            number = int(value.strip()) if isinstance(value, str) else value
        except ValueError:
            number = None
        count = clean_token_count(number) if isinstance(number, int) else None
        if count is None:
            raise InvalidInputError(f"{name} must be a whole number from 1 to {MAX_TOKEN_COUNT}")
        return count
    if name == "capabilities":
        chosen = clean_capabilities(value)
        if chosen is None or not all(v in CAPABILITIES for v in value):
            raise InvalidInputError(f"capabilities must be a list of: {', '.join(CAPABILITIES)}")
        return chosen
    if name == "retires_at":
        return _admin_date(value)
    replacement = str(value).strip()
    reason = unstorable_id_reason(replacement)
    if reason:
        raise InvalidInputError(f"cannot use {inert(replacement, 80)!r} as replacement: {reason}")
    return replacement


def _admin_date(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInputError("retires_at must be an ISO 8601 date, e.g. 2026-12-31") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def edit_model(
    model_uuid: uuid.UUID | str,
    *,
    display_name: str | None = None,
    description: str | None = None,
    admin_notes: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    actor: Actor = SYSTEM,
) -> CatalogModel:
    """Edit an entry's name, description, notes or normalized metadata; discovery never
    overwrites these again."""
    apply_model_edits(
        [
            ModelEdit(
                model_uuid,
                display_name=display_name,
                description=description,
                admin_notes=admin_notes,
                metadata=metadata,
            )
        ],
        actor=actor,
    )
    return get_model_by_id(model_uuid)


def _set_column(
    model_uuid: uuid.UUID | str,
    column: str,
    value: Any,
    *,
    actor: Actor,
    action: str,
    check: Any = None,
) -> CatalogModel:
    """Change one column of one model with an audit entry; `check(session, row)` may refuse."""
    key = _parse_uuid(model_uuid)
    now = utcnow()
    with get_database().write() as session:
        row = session.get(AIModel, key, with_for_update=True)
        if row is None:
            raise ModelNotFoundError(f"no model with id {key}")
        if check is not None:
            check(session, row)
        old = getattr(row, column)
        if old != value:
            setattr(row, column, value)
            row.updated_at = now
            row.updated_by = actor.user_id
            write_audit(
                session,
                [model_audit_row(actor, action, row, column, old, value, now)],
            )
        return to_catalog_model(row)


def archive_model(model_uuid: uuid.UUID | str, *, actor: Actor = SYSTEM) -> CatalogModel:
    """Hide a deprecated model from the main lists (nothing is ever deleted)."""

    def only_deprecated(_session: Session, row: AIModel) -> None:
        if row.status != ModelStatus.DEPRECATED.value:
            raise LifecycleError(
                f"{display_id(row.provider, row.model_id)} is {row.status}; only deprecated "
                "models can be archived"
            )

    return _set_column(
        model_uuid, "archived_at", utcnow(), actor=actor, action="archive", check=only_deprecated
    )


def unarchive_model(model_uuid: uuid.UUID | str, *, actor: Actor = SYSTEM) -> CatalogModel:
    return _set_column(model_uuid, "archived_at", None, actor=actor, action="unarchive")


def set_successor(
    model_uuid: uuid.UUID | str, successor_model_id: str | None, *, actor: Actor = SYSTEM
) -> CatalogModel:
    """Name the model that replaces a deprecated one (same provider and category), or clear it."""
    successor = successor_model_id.strip() if successor_model_id else None

    def same_provider(session: Session, row: AIModel) -> None:
        if successor is not None:
            check_successor(session, row.provider, Category(row.category), row.model_id, successor)

    return _set_column(
        model_uuid,
        "successor_model_id",
        successor,
        actor=actor,
        action="successor",
        check=same_provider,
    )


def check_successor(
    session: Session, provider: str, category: Category, model_id: str, successor: str
) -> None:
    """Refuse a successor resolution could never use (README "Retirement and successors"):
    the model itself, one that does not exist, a pending or archived one, or one whose own
    successors lead back to the model (a loop). A disabled or deprecated successor is allowed:
    the admin may enable it, and resolution follows its own successor meanwhile."""
    if successor == model_id:
        raise InvalidInputError("a model cannot be its own successor")
    row = _find_by_provider_id(session, provider, successor, category)
    named = display_id(provider, successor)
    if row.archived_at is not None:
        raise LifecycleError(
            f"{named} is archived and can never serve; name an enabled model as the successor"
        )
    if row.status == ModelStatus.PENDING.value:
        raise LifecycleError(
            f"{named} is pending (awaiting approval) and cannot serve yet; enable it first, "
            "then name it as the successor"
        )
    chain = [successor]
    while row.successor_model_id and len(chain) <= _MAX_SUCCESSOR_CHAIN:
        if row.successor_model_id == model_id:
            path = " → ".join(display_id(provider, m) for m in [model_id, *chain, model_id])
            raise LifecycleError(f"that would make a loop of successors ({path}); nothing changed")
        chain.append(row.successor_model_id)
        found = session.scalar(
            select(AIModel).where(
                AIModel.provider == provider,
                AIModel.category == category.value,
                AIModel.model_id == row.successor_model_id,
            )
        )
        if found is None:
            return
        row = found


# Successor hops a loop check follows: resolution follows no more (registry.rules).
_MAX_SUCCESSOR_CHAIN = 16


# --- discovery ingest ----------------------------------------------------------------------


def unstorable_id_reason(model_id: str) -> str | None:
    """Why a provider's model id cannot be stored or shown safely, or None when it can.

    PostgreSQL refuses NUL and ids over the column's 255 characters (SQLite would take both);
    control and bidi characters would act on a terminal or disguise one id as another.
    """
    if not model_id.strip():
        return "it has no id"
    if len(model_id) > MAX_MODEL_ID_LENGTH:
        return f"its id is {len(model_id)} characters long (the limit is {MAX_MODEL_ID_LENGTH})"
    if has_unsafe_characters(model_id):
        return "its id contains control or bidi characters"
    if not _is_encodable(model_id):
        return "its id is not valid Unicode"
    if model_id.isascii():
        return None  # nearly every id: nothing below can apply
    hidden = next(filter(_is_invisible, model_id), None)
    if hidden is not None:
        return f"its id contains an invisible character ({_code_point(hidden)})"
    scripts = {script for script in map(_letter_script, model_id) if script is not None}
    if "LATIN" in scripts and len(scripts) > 1:
        return (
            f"its id mixes Latin with {' and '.join(sorted(scripts - {'LATIN'})).title()} "
            "letters (a look-alike of another id)"
        )
    return None


# README "Lifecycle rules": characters that print as nothing (or as a space) let two ids that
# look the same be different models. Unicode's default-ignorable code points, plus the letters
# and symbols that render blank.
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_BLANK = frozenset("\u2800\u3000")  # braille blank, ideographic space
# Scripts whose letters pass for Latin ones (о, е, а, ο, ν …): mixing them with Latin in one
# id is how a look-alike is made.
_LOOK_ALIKE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def _is_invisible(ch: str) -> bool:
    code = ord(ch)
    if ch in _BLANK or any(low <= code <= high for low, high in _DEFAULT_IGNORABLE):
        return True
    category = unicodedata.category(ch)
    # Format characters, and every space but the plain one (no-break, thin, figure …).
    return category == "Cf" or (category == "Zs" and ch != " ")


def _code_point(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')}"


def _letter_script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    return next((s for s in _LOOK_ALIKE_SCRIPTS if name.startswith(s + " ")), None)


def split_storable(
    models: Sequence[DiscoveredModel],
) -> tuple[list[DiscoveredModel], list[tuple[str, str]]]:
    """(entries the catalog can hold, [(model id, why not)] for the others)."""
    kept: list[DiscoveredModel] = []
    skipped: list[tuple[str, str]] = []
    for model in models:
        reason = unstorable_id_reason(model.model_id)
        if reason is None:
            kept.append(model)
        else:
            skipped.append((model.model_id, reason))
    return kept, skipped


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")  # lone surrogates (a JSON "\ud800") are not
    except UnicodeEncodeError:
        return False
    return True


def _storable_text(text: str) -> str:
    """`text` as both backends can hold it: PostgreSQL's text and JSONB refuse NUL."""
    text = text.replace("\x00", "")
    return text if _is_encodable(text) else text.encode("utf-8", "replace").decode("utf-8")


def _storable_json(value: Any) -> Any:
    """A provider's raw entry as JSON both backends accept: NUL removed from every string and
    key, lone surrogates replaced, NaN and infinities (which `json` parses) made null."""
    # One C-speed encode tells whether anything needs cleaning (it rarely does): walking every
    # entry of a 25,000-model listing in Python costs seconds.
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
        encoded.encode("utf-8")  # raises on a lone surrogate
    except (ValueError, TypeError):  # NaN or infinity, a lone surrogate, a non-JSON value
        return _cleaned_json(value)
    return _cleaned_json(value) if "\\u0000" in encoded else value


def _cleaned_json(value: Any) -> Any:
    if isinstance(value, str):
        return _storable_text(value)
    if isinstance(value, dict):
        return {_storable_text(str(k)): _cleaned_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cleaned_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _provider_text(text: str | None, limit: int) -> str | None:
    """Provider text as stored: one line (whitespace runs collapsed), inert, at most `limit`."""
    if not text:
        return None
    return inert(_storable_text(" ".join(text.split())), limit) or None


def _listed_metadata(model: DiscoveredModel) -> dict[str, Any]:
    """A listing's normalized metadata, re-checked here: callers other than the adapters build
    DiscoveredModel too, and an absurd value must become null, never a failed refresh."""
    replacement = model.replacement_model_id
    if replacement is not None and (
        not isinstance(replacement, str) or unstorable_id_reason(replacement)
    ):
        replacement = None
    return {
        "input_price_per_mtok": clean_price(model.input_price_per_mtok),
        "output_price_per_mtok": clean_price(model.output_price_per_mtok),
        "price_per_mchar": clean_price(model.price_per_mchar),
        "max_output_tokens": clean_token_count(model.max_output_tokens),
        "capabilities": clean_capabilities(model.capabilities),
        "retires_at": model.retires_at,
        "replacement_model_id": replacement.strip() if replacement else None,
    }


def _listed_sources(model: DiscoveredModel, listed: dict[str, Any]) -> dict[str, str]:
    """Where each known value came from: the listing, unless the model names a dataset."""
    given = model.metadata_sources
    return {name: given.get(name, SOURCE_LISTING) for name, v in listed.items() if v is not None}


def _merged_metadata(
    listed: dict[str, Any], sources: dict[str, str] | None, fresh: dict[str, str]
) -> dict[str, Any]:
    """The listing's metadata for a known row, minus the fields an admin set (they stay)."""
    kept = {name: src for name, src in (sources or {}).items() if src == SOURCE_ADMIN}
    values = {name: v for name, v in listed.items() if name not in kept}
    merged = kept | {name: src for name, src in fresh.items() if name not in kept}
    return values | {"metadata_sources": merged or None}


@dataclass(slots=True)
class IngestResult:
    new: list[str] = field(default_factory=list)  # model ids inserted as pending
    returned: list[str] = field(default_factory=list)  # deprecated ids listed again → pending
    seen: int = 0


def ingest_discovered(
    session: Session,
    provider: str,
    category: Category,
    models: Sequence[DiscoveredModel],
    now: datetime,
    *,
    actor: Actor,
) -> IngestResult:
    """Write one provider listing into the catalog inside the caller's transaction.

    New ids arrive as `pending`; known ones get fresh metadata but keep the admin's decision and
    edits; a deprecated model listed again goes back to `pending` unless an admin retired it
    (`registry.refresh_plan.listed_change`, the rule the dry run's plan follows too).
    Bulk statements throughout: a 5,000-voice account is a few executemany calls, not 5,000.
    Every id must pass `unstorable_id_reason`; names, descriptions and metadata are made
    storable and inert here.
    """
    result = IngestResult(seen=len(models))
    existing = {
        row.model_id: row
        for row in session.execute(
            select(
                AIModel.id,
                AIModel.model_id,
                AIModel.status,
                AIModel.deprecated_by_admin,
                AIModel.display_name_edited,
                AIModel.description_edited,
                AIModel.metadata_sources,
            ).where(AIModel.provider == provider, AIModel.category == category.value)
        )
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    audit: list[dict[str, object]] = []
    for model in models:
        fresh = {
            "context_window": model.context_window,
            "supports_streaming": model.supports_streaming,
            "provider_metadata": _storable_json(model.metadata) or None,
            "last_seen_at": now,
            "source": ModelSource.API.value,
        }
        display_name = _provider_text(model.display_name, MAX_NAME_LENGTH) or model.model_id
        description = _provider_text(model.description, MAX_PROVIDER_DESCRIPTION_LENGTH)
        listed = _listed_metadata(model)
        known = existing.get(model.model_id)
        if known is None:  # ListedChange.NEW
            inserts.append(
                fresh
                | listed
                | {
                    "metadata_sources": _listed_sources(model, listed) or None,
                    "id": uuid.uuid4(),
                    "provider": provider,
                    "category": category.value,
                    "model_id": model.model_id,
                    "display_name": display_name,
                    "description": description,
                    "status": ModelStatus.PENDING.value,
                    "discovered_at": now,
                    "created_at": now,
                    "updated_at": now,
                    "deprecated_by_admin": False,
                    "display_name_edited": False,
                    "description_edited": False,
                }
            )
            result.new.append(model.model_id)
            continue
        # A listing without a context window (OpenAI's) must not erase the curated one.
        values = {k: v for k, v in fresh.items() if v is not None or k != "context_window"}
        values["id"] = known.id
        values |= _merged_metadata(listed, known.metadata_sources, _listed_sources(model, listed))
        if not known.display_name_edited:
            values["display_name"] = display_name
        if not known.description_edited:
            values["description"] = description
        if listed_change(known) is ListedChange.RETURNED:
            values |= {
                "status": ModelStatus.PENDING.value,
                "deprecated_at": None,
                "updated_at": now,
            }
            result.returned.append(model.model_id)
            audit.append(
                audit_row(
                    actor,
                    "status_change",
                    provider=provider,
                    category=category.value,
                    model_id=model.model_id,
                    field="status",
                    old=ModelStatus.DEPRECATED.value,
                    new=ModelStatus.PENDING.value,
                    at=now,
                )
            )
        updates.append(values)
    if inserts:
        session.execute(insert(AIModel), inserts)
    if updates:
        # Rows of different key sets (edited names kept) are grouped into separate executemany.
        session.execute(update(AIModel), updates)
    write_audit(session, audit)
    return result


def upsert_discovered_models(
    provider: str,
    category: Category | str,
    models: Sequence[DiscoveredModel],
    *,
    actor: Actor = SYSTEM,
) -> IngestResult:
    """Add or refresh models as discovery would, without deprecating anything."""
    cat = parse_category(category)
    prov = parse_provider(provider, cat)
    ids = [m.model_id for m in models]
    if len(set(ids)) != len(ids):
        raise InvalidInputError("model ids must be unique")
    _, skipped = split_storable(models)
    if skipped:
        model_id, reason = skipped[0]
        raise InvalidInputError(f'cannot store the model "{inert(model_id, 80)}": {reason}')
    with get_database().write() as session:
        return ingest_discovered(session, prov, cat, models, utcnow(), actor=actor)


def upsert_discovered_model(
    provider: str, category: Category | str, model: DiscoveredModel, *, actor: Actor = SYSTEM
) -> CatalogModel:
    upsert_discovered_models(provider, category, [model], actor=actor)
    return get_model_by_provider_id(provider, model.model_id, category)
