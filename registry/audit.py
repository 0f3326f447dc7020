"""Who did what: actors, the audit trail, and the admins the dashboard knows (`users`)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.orm import Session

from registry.db import get_database
from registry.errors import InvalidInputError
from registry.schema import AuditEntry, User, utcnow
from registry.types import parse_search


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: an admin (with a `users` id) or a tool such as `cli` or `discovery`."""

    label: str
    user_id: uuid.UUID | None = None


SYSTEM = Actor("system")
CLI = Actor("cli")
DISCOVERY = Actor("discovery")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    created_at: datetime
    actor: str
    action: str
    provider: str | None
    category: str | None
    model_id: str | None
    field: str | None
    old_value: str | None
    new_value: str | None


def audit_row(
    actor: Actor,
    action: str,
    *,
    provider: str | None = None,
    category: str | None = None,
    model_id: str | None = None,
    field: str | None = None,
    old: object = None,
    new: object = None,
    at: datetime | None = None,
) -> dict[str, object]:
    """One audit entry as a row for a bulk insert (several changes, one statement)."""
    return {
        "created_at": at or utcnow(),
        "actor_id": actor.user_id,
        "actor": actor.label,
        "action": action,
        "provider": provider,
        "category": category,
        "model_id": model_id,
        "field": field,
        "old_value": None if old is None else str(old),
        "new_value": None if new is None else str(new),
    }


class ModelRow(Protocol):
    provider: str
    category: str
    model_id: str


def model_audit_row(
    actor: Actor, action: str, model: ModelRow, field: str, old: object, new: object, at: datetime
) -> dict[str, object]:
    """An audit entry about one catalog model."""
    return audit_row(
        actor,
        action,
        provider=model.provider,
        category=model.category,
        model_id=model.model_id,
        field=field,
        old=old,
        new=new,
        at=at,
    )


def _counted(statuses: Sequence[str]) -> str:
    """ "enabled", or "enabled (18), pending (2)" when the models were in several."""
    counts = Counter(statuses)
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{status} ({n})" for status, n in sorted(counts.items()))


def bulk_audit_rows(
    actor: Actor,
    models: Sequence[ModelRow],
    old: Sequence[str],
    new: str | Sequence[str],
    at: datetime,
    *,
    undo: bool = False,
) -> list[dict[str, object]]:
    """The audit of one status change of many models: one entry listing them all.

    One model: the usual entry about it. Several: `model_id` stays empty, `old_value` counts
    the statuses they had, and `new_value` reads "disabled — 20 models: openai/a, openai/b, …"
    with every model named (an undo says so and may restore several statuses).
    """
    if not models:
        return []
    targets = [new] * len(models) if isinstance(new, str) else list(new)
    if len(models) == 1 and not undo:
        return [
            model_audit_row(actor, "status_change", models[0], "status", old[0], targets[0], at)
        ]
    groups: dict[str, list[str]] = {}
    for model, target in zip(models, targets, strict=True):
        groups.setdefault(target, []).append(f"{model.provider}/{model.model_id}")
    listed = "; ".join(
        f"{target} — {len(ids)} model{'s' if len(ids) != 1 else ''}: {', '.join(sorted(ids))}"
        for target, ids in groups.items()
    )
    providers = {m.provider for m in models}
    categories = {m.category for m in models}
    return [
        audit_row(
            actor,
            "status_change",
            provider=next(iter(providers)) if len(providers) == 1 else None,
            category=next(iter(categories)) if len(categories) == 1 else None,
            field="status (undo)" if undo else "status",
            old=_counted(old),
            new=listed,
            at=at,
        )
    ]


# Model ids a refresh's audit entry names per kind of change; the rest are counted.
REFRESH_AUDIT_IDS = 50


def _some_ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:REFRESH_AUDIT_IDS])
    more = len(ids) - REFRESH_AUDIT_IDS
    return f"{shown} … and {more} more" if more > 0 else shown


def refresh_audit_row(
    actor: Actor,
    provider: str,
    category: str,
    *,
    new: Sequence[str],
    deprecated: Sequence[str],
    returned: Sequence[str],
    at: datetime,
) -> dict[str, object] | None:
    """The one audit entry of a discovery refresh, or None when it changed nothing.

    `new_value` reads "3 new: a, b, c; 1 deprecated: d; 1 back to pending: e", each list cut
    after `REFRESH_AUDIT_IDS` ids, so a 200,000-model first refresh is one bounded row.
    """
    parts = [
        f"{len(ids)} {kind}: {_some_ids(ids)}"
        for kind, ids in (("new", new), ("deprecated", deprecated), ("back to pending", returned))
        if ids
    ]
    if not parts:
        return None
    return audit_row(
        actor,
        "discovery",
        provider=provider,
        category=category,
        field="catalog",
        new="; ".join(parts),
        at=at,
    )


def write_audit(session: Session, rows: Sequence[dict[str, object]]) -> None:
    if rows:
        session.execute(insert(AuditEntry), list(rows))


def ensure_user(email: str, role: str = "admin") -> Actor:
    """The admin with this email, created on first sight; returns them as an Actor."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInputError(f"not an email address: {email!r}")
    db = get_database()
    with db.read() as session:
        user_id = session.scalar(select(User.id).where(User.email == email))
    if user_id is None:
        with db.write() as session:
            user_id = session.scalar(select(User.id).where(User.email == email))
            if user_id is None:
                user = User(email=email, role=role)
                session.add(user)
                session.flush()
                user_id = user.id
    return Actor(email, user_id)


def list_audit_entries(
    *,
    provider: str | None = None,
    category: str | None = None,
    model: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int = 1000,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditRecord]:
    """Newest first; `model` and `actor` match substrings, the others exactly; `since`
    (inclusive) and `until` (exclusive) bound the entry's time (UTC).

    `model` also finds the entries that list many models (bulk changes, refreshes).
    """
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 100_000)))
    if provider:
        query = query.where(AuditEntry.provider == provider)
    if category:
        query = query.where(AuditEntry.category == category)
    if action:
        query = query.where(AuditEntry.action == action)
    model = parse_search(model, "model text")
    actor = parse_search(actor, "actor text")
    if model:
        # A bulk entry (no model_id) names its models in new_value.
        query = query.where(
            or_(
                AuditEntry.model_id.contains(model, autoescape=True),
                and_(
                    AuditEntry.model_id.is_(None),
                    AuditEntry.new_value.contains(model, autoescape=True),
                ),
            )
        )
    if actor:
        query = query.where(AuditEntry.actor.contains(actor, autoescape=True))
    if since is not None:
        query = query.where(AuditEntry.created_at >= since)
    if until is not None:
        query = query.where(AuditEntry.created_at < until)
    with get_database().read() as session:
        return [
            AuditRecord(
                id=e.id,
                created_at=e.created_at,
                actor=e.actor,
                action=e.action,
                provider=e.provider,
                category=e.category,
                model_id=e.model_id,
                field=e.field,
                old_value=e.old_value,
                new_value=e.new_value,
            )
            for e in session.scalars(query)
        ]
