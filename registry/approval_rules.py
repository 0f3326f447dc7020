"""Approval rules: an admin's decisions about new models, made in advance.

An ordered list (README "Approval rules"): each rule names a category, a provider (None: any),
a glob on the model id (`fnmatch`, case-sensitive: provider ids are) and an action, `approve`
(→ `enabled`) or `ignore` (→ `disabled`, the rule named in the model's notes). The first rule
that matches decides. Rules decide only models that discovery puts into `pending` (new ones,
and deprecated ones listed again), at that moment: never a model an admin decided on, and not
models already waiting in `pending`. With no rules, every new model waits for an admin.

Each decision is audited with the rule as the actor (`rule #3 openai text gpt-5* approve`); a
dry run reports the decisions it would make and writes nothing. Changes to the list are
audited too (action `rule_change`).
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from registry.audit import SYSTEM, Actor, audit_row, write_audit
from registry.db import Database, get_database
from registry.errors import InvalidInputError
from registry.schema import AIModel, ApprovalRuleRow, utcnow

# The lifecycle's status columns, as every status change sets them (one place: the store).
from registry.store import MAX_TEXT_LENGTH, _status_values, to_catalog_model
from registry.text import has_unsafe_characters, inert
from registry.types import (
    CatalogModel,
    Category,
    ModelStatus,
    display_id,
    parse_category,
    parse_provider,
)

if TYPE_CHECKING:
    from registry.discovery import ProviderResult

logger = logging.getLogger(__name__)

# The actor label ("rule #12 openrouter text <pattern> approve") must fit audit_log.actor.
MAX_PATTERN_LENGTH = 200
# Model ids a refresh's note names per rule; the rest are counted.
NOTE_IDS = 10
ANY_PROVIDER = "any"


class RuleAction(StrEnum):
    APPROVE = "approve"  # → enabled
    IGNORE = "ignore"  # → disabled, the rule named in the notes

    @property
    def status(self) -> ModelStatus:
        return ModelStatus.ENABLED if self is RuleAction.APPROVE else ModelStatus.DISABLED

    @property
    def past(self) -> str:
        return "approved" if self is RuleAction.APPROVE else "ignored"


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule as an admin writes it: checked by `parse_rule`. `id` names the saved rule a
    table row edits (None: a new rule)."""

    category: Category
    provider: str | None
    pattern: str
    action: RuleAction
    note: str | None = None
    id: int | None = None

    def matches(self, provider: str, category: Category | str, model_id: str) -> bool:
        return (
            self.category.value == str(category)
            and (self.provider is None or self.provider == provider)
            and fnmatch.fnmatchcase(model_id, self.pattern)
        )

    @property
    def summary(self) -> str:
        """ "openai text gpt-5* approve" ("any" for every provider)."""
        return (
            f"{self.provider or ANY_PROVIDER} {self.category.value} {self.pattern} "
            f"{self.action.value}"
        )

    def same_rule(self, other: RuleSpec) -> bool:
        return (self.category, self.provider, self.pattern, self.action, self.note) == (
            other.category,
            other.provider,
            other.pattern,
            other.action,
            other.note,
        )


@dataclass(frozen=True, slots=True)
class ApprovalRule(RuleSpec):
    """A saved rule; `position` 1 is asked first."""

    position: int = 0

    @property
    def label(self) -> str:
        """How the audit log and the notes name it: "rule #3 openai text gpt-5* approve"."""
        return f"rule #{self.id} {self.summary}"

    def to_json(self) -> dict[str, Any]:
        """The shape of `rules list --json` (and, without `id`, of an export's rules)."""
        return {
            "id": self.id,
            "position": self.position,
            "category": self.category.value,
            "provider": self.provider,
            "pattern": self.pattern,
            "action": self.action.value,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class RuleDecision:
    """What a rule decided (or, in a dry run, would decide) about one model."""

    model_id: str
    rule: ApprovalRule

    @property
    def detail(self) -> str:
        """ "approved by rule #3 openai text gpt-5* approve" (the webhook's change detail)."""
        return f"{self.rule.action.past} by {self.rule.label}"

    def to_json(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "rule_id": self.rule.id,
            "action": self.rule.action.value,
        }


def parse_rule(
    category: Category | str,
    pattern: str,
    action: RuleAction | str,
    *,
    provider: str | None = None,
    note: str | None = None,
    rule_id: int | None = None,
) -> RuleSpec:
    """A rule checked as the CLI, the dashboard and an import take it; `InvalidInputError`
    (one line) for an unknown category, provider or action, or an empty pattern."""
    cat = parse_category(category)
    prov_text = (provider or "").strip()
    prov = None if prov_text.lower() in ("", ANY_PROVIDER) else parse_provider(prov_text, cat)
    try:
        act = RuleAction(str(action).strip().lower())
    except ValueError:
        raise InvalidInputError(
            f"unknown action {action!r}: expected one of {', '.join(a.value for a in RuleAction)}"
        ) from None
    glob = (pattern or "").strip() if isinstance(pattern, str) else ""
    if not glob:
        raise InvalidInputError("the pattern is empty: give a glob on the model id, e.g. gpt-5*")
    if len(glob) > MAX_PATTERN_LENGTH:
        raise InvalidInputError(
            f"the pattern is {len(glob)} characters long; the limit is {MAX_PATTERN_LENGTH}"
        )
    if has_unsafe_characters(glob):
        raise InvalidInputError("the pattern contains a control character; type it without")
    clean_note = (note or "").strip() or None
    if clean_note is not None and len(clean_note) > MAX_TEXT_LENGTH:
        raise InvalidInputError(
            f"the note is {len(clean_note)} characters long; the limit is {MAX_TEXT_LENGTH}"
        )
    return RuleSpec(cat, prov, glob, act, clean_note, rule_id)


def first_match(
    rules: Iterable[ApprovalRule], provider: str, category: Category | str, model_id: str
) -> ApprovalRule | None:
    """The rule that decides `provider/model_id`: the first (by position) that matches."""
    return next((r for r in rules if r.matches(provider, category, model_id)), None)


# --- reading and changing the list ------------------------------------------------------------


def _to_rule(row: ApprovalRuleRow) -> ApprovalRule:
    return ApprovalRule(
        category=Category(row.category),
        provider=row.provider,
        pattern=row.pattern,
        action=RuleAction(row.action),
        note=row.note,
        id=row.id,
        position=row.position,
    )


def rules_in(session: Session) -> list[ApprovalRule]:
    """The rules in the order they are asked."""
    rows = session.scalars(
        select(ApprovalRuleRow).order_by(ApprovalRuleRow.position, ApprovalRuleRow.id)
    )
    return [_to_rule(row) for row in rows]


def list_approval_rules(*, database: Database | None = None) -> list[ApprovalRule]:
    """Every rule, first asked first."""
    with (database or get_database()).read() as session:
        return rules_in(session)


def _rule_audit(actor: Actor, old: str | None, new: str | None, at: datetime) -> dict[str, object]:
    return audit_row(actor, "rule_change", field="approval_rules", old=old, new=new, at=at)


def replace_rules_in(
    session: Session, specs: Sequence[RuleSpec], actor: Actor, now: datetime
) -> list[dict[str, object]]:
    """Make the list `specs` (in that order) inside the caller's transaction; returns the audit
    rows. A spec whose `id` names a saved rule edits it (the id, and so the history, stays);
    saved rules no spec names are removed."""
    # Checked again: a caller may build RuleSpec itself.
    specs = [
        parse_rule(s.category, s.pattern, s.action, provider=s.provider, note=s.note, rule_id=s.id)
        for s in specs
    ]
    current = {rule.id: rule for rule in rules_in(session)}
    named = [spec.id for spec in specs if spec.id is not None]
    unknown = [i for i in named if i not in current]
    if unknown:
        raise InvalidInputError(f"no approval rule #{unknown[0]}; nothing was changed")
    if len(set(named)) != len(named):
        raise InvalidInputError("a rule appears twice in the list; nothing was changed")
    audit: list[dict[str, object]] = []
    kept = set(named)
    for rule_id, rule in current.items():
        if rule_id not in kept:
            session.execute(delete(ApprovalRuleRow).where(ApprovalRuleRow.id == rule_id))
            audit.append(_rule_audit(actor, f"{rule.label} (position {rule.position})", None, now))
    for position, spec in enumerate(specs, start=1):
        values = {
            "position": position,
            "category": spec.category.value,
            "provider": spec.provider,
            "pattern": spec.pattern,
            "action": spec.action.value,
            "note": spec.note,
        }
        old = current.get(spec.id) if spec.id is not None else None
        if old is None:
            row = ApprovalRuleRow(
                **values, created_at=now, updated_at=now, updated_by=actor.user_id
            )
            session.add(row)
            session.flush()
            audit.append(
                _rule_audit(actor, None, f"{_to_rule(row).label} (position {position})", now)
            )
        elif not old.same_rule(spec) or old.position != position:
            session.execute(
                update(ApprovalRuleRow)
                .where(ApprovalRuleRow.id == old.id)
                .values(**values, updated_at=now, updated_by=actor.user_id)
            )
            saved = ApprovalRule(**{**_spec_fields(spec), "id": old.id, "position": position})
            audit.append(
                _rule_audit(
                    actor,
                    f"{old.label} (position {old.position})",
                    f"{saved.label} (position {position})",
                    now,
                )
            )
    return audit


def _spec_fields(spec: RuleSpec) -> dict[str, Any]:
    return {
        "category": spec.category,
        "provider": spec.provider,
        "pattern": spec.pattern,
        "action": spec.action,
        "note": spec.note,
    }


def save_approval_rules(
    specs: Sequence[RuleSpec], *, actor: Actor = SYSTEM, database: Database | None = None
) -> list[ApprovalRule]:
    """Save the whole list at once, in this order (the dashboard's table): all or nothing."""
    with (database or get_database()).write() as session:
        write_audit(session, replace_rules_in(session, specs, actor, utcnow()))
        return rules_in(session)


def add_approval_rule(
    category: Category | str,
    pattern: str,
    action: RuleAction | str,
    *,
    provider: str | None = None,
    note: str | None = None,
    position: int | None = None,
    actor: Actor = SYSTEM,
    database: Database | None = None,
) -> ApprovalRule:
    """Add a rule, last by default (or at `position`, 1 = asked first); returns it as saved."""
    spec = parse_rule(category, pattern, action, provider=provider, note=note)
    with (database or get_database()).write() as session:
        rules: list[RuleSpec] = list(rules_in(session))
        at = len(rules) if position is None else _index(position, len(rules) + 1)
        rules.insert(at, spec)
        write_audit(session, replace_rules_in(session, rules, actor, utcnow()))
        return rules_in(session)[at]


def _index(position: int, size: int) -> int:
    if not isinstance(position, int) or not 1 <= position <= max(size, 1):
        raise InvalidInputError(f"position must be a whole number from 1 to {max(size, 1)}")
    return position - 1


def _take(rules: list[RuleSpec], rule_id: int) -> RuleSpec:
    """Remove the rule `rule_id` from `rules` and return it."""
    for index, rule in enumerate(rules):
        if rule.id == rule_id:
            return rules.pop(index)
    raise InvalidInputError(f"no approval rule #{rule_id}; `rules list` shows them")


def remove_approval_rule(
    rule_id: int, *, actor: Actor = SYSTEM, database: Database | None = None
) -> ApprovalRule:
    """Remove a rule (the others move up); returns the rule removed."""
    with (database or get_database()).write() as session:
        rules: list[RuleSpec] = list(rules_in(session))
        removed = _take(rules, _rule_id(rule_id))
        write_audit(session, replace_rules_in(session, rules, actor, utcnow()))
        assert isinstance(removed, ApprovalRule)  # it came from the saved list
        return removed


def move_approval_rule(
    rule_id: int, position: int, *, actor: Actor = SYSTEM, database: Database | None = None
) -> list[ApprovalRule]:
    """Move a rule to `position` (1 = asked first); returns the list in its new order."""
    with (database or get_database()).write() as session:
        rules: list[RuleSpec] = list(rules_in(session))
        moving = _take(rules, _rule_id(rule_id))
        rules.insert(_index(position, len(rules) + 1), moving)
        write_audit(session, replace_rules_in(session, rules, actor, utcnow()))
        return rules_in(session)


def _rule_id(value: object) -> int:
    try:
        return int(str(value).strip().lstrip("#"))
    except ValueError:
        raise InvalidInputError(f"not a rule id: {value!r} (`rules list` shows them)") from None


def test_approval_rule(
    category: Category | str,
    pattern: str,
    *,
    provider: str | None = None,
    database: Database | None = None,
) -> list[CatalogModel]:
    """The catalog models (archived ones aside) a rule with this category, provider and
    pattern matches today, whatever their status: what it would have decided."""
    spec = parse_rule(category, pattern, RuleAction.APPROVE, provider=provider)
    query = select(AIModel).where(
        AIModel.category == spec.category.value, AIModel.archived_at.is_(None)
    )
    if spec.provider is not None:
        query = query.where(AIModel.provider == spec.provider)
    with (database or get_database()).read() as session:
        return [
            to_catalog_model(row)
            for row in session.scalars(query.order_by(AIModel.provider, AIModel.model_id))
            if fnmatch.fnmatchcase(row.model_id, spec.pattern)
        ]


# Not a test: pytest would collect it from any test module importing it by name.
test_approval_rule.__test__ = False  # type: ignore[attr-defined]


def count_matches(specs: Sequence[RuleSpec], *, database: Database | None = None) -> list[int]:
    """How many catalog models (archived ones aside) each rule matches: one read for all (the
    dashboard's live "matches N listed models" while a table is edited)."""
    if not specs:
        return []
    with (database or get_database()).read() as session:
        listed = session.execute(
            select(AIModel.provider, AIModel.category, AIModel.model_id).where(
                AIModel.archived_at.is_(None)
            )
        ).all()
    return [sum(1 for row in listed if spec.matches(*row)) for spec in specs]


# --- deciding new models (called by discovery) --------------------------------------------------


def decide_new_models(
    session: Session, result: ProviderResult, now: datetime, *, dry_run: bool
) -> None:
    """Let the rules decide the models a refresh put (or, in a dry run, would put) into
    `pending`: `result.new` and `result.returned`. Sets `result.decided` and adds one note per
    rule that decided something; unless `dry_run`, applies and audits the decisions inside the
    refresh's transaction."""
    waiting = [*result.new, *result.returned]
    if not waiting:
        return
    rules = rules_in(session)
    if not rules:
        return
    decisions = [
        RuleDecision(model_id, rule)
        for model_id in waiting
        if (rule := first_match(rules, result.provider, result.category, model_id)) is not None
    ]
    result.decided = decisions
    by_rule: dict[int | None, list[RuleDecision]] = {}
    for decision in decisions:
        by_rule.setdefault(decision.rule.id, []).append(decision)
    for group in by_rule.values():
        rule = group[0].rule
        ids = [d.model_id for d in group]
        shown = ", ".join(inert(i, 80) for i in ids[:NOTE_IDS])
        more = f" … and {len(ids) - NOTE_IDS} more" if len(ids) > NOTE_IDS else ""
        verb = f"would be {rule.action.past}" if dry_run else rule.action.past
        result.notes.append(f"{len(ids)} {verb} by {inert(rule.label)}: {shown}{more}")
    if dry_run or not decisions:
        return
    _apply(session, result.provider, result.category, decisions, now)


def _apply(
    session: Session,
    provider: str,
    category: Category,
    decisions: Sequence[RuleDecision],
    now: datetime,
) -> None:
    session.flush()  # rows the refresh added through the ORM must be there to be updated
    rows = {
        row.model_id: row
        for row in session.execute(
            select(AIModel.id, AIModel.model_id, AIModel.status, AIModel.admin_notes).where(
                AIModel.provider == provider,
                AIModel.category == category.value,
                AIModel.model_id.in_([d.model_id for d in decisions]),
            )
        )
    }
    updates: list[dict[str, Any]] = []
    audit: list[dict[str, object]] = []
    for decision in decisions:
        row = rows.get(decision.model_id)
        if row is None or row.status != ModelStatus.PENDING.value:
            continue  # never a model that is not waiting for a decision
        rule = decision.rule
        values = {"id": row.id, **_status_values(rule.action.status, now), "updated_at": now}
        if rule.action is RuleAction.IGNORE:
            line = f"ignored by {rule.label}" + (f": {rule.note}" if rule.note else "")
            # A relisted model may carry an admin's notes from before: they are kept.
            values["admin_notes"] = f"{row.admin_notes}\n{line}" if row.admin_notes else line
        updates.append(values)
        audit.append(
            audit_row(
                Actor(rule.label),
                "status_change",
                provider=provider,
                category=category.value,
                model_id=decision.model_id,
                field="status",
                old=ModelStatus.PENDING.value,
                new=rule.action.status.value,
                at=now,
            )
        )
        logger.info("%s: %s", display_id(provider, inert(decision.model_id)), decision.detail)
    if updates:
        session.execute(update(AIModel), updates)
    write_audit(session, audit)
