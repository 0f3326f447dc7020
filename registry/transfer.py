"""Export and import of the admin state: the catalog's decisions as a file (README "Export
and import").

An export holds what admins decided — each model's status, successor, edited display name,
description, notes and admin-set metadata; the defaults; the global settings; the approval
rules — in a stable order, so that a diff of two exports reads like a change list. Never API
keys (nor the Azure region stored beside its key), never the audit log.

An import validates the whole document against the target catalog first: anything wrong is one
`ImportFileError` naming the place (`models[3].status: unknown status 'retired' …`, or a line
and column for a file that does not parse), and nothing is written. Then it computes the
changes; unless it is a dry run, it applies them in one transaction with one audit entry.

A model entry states that model's whole admin state: a key it leaves out means "no admin
decision" (no notes, no successor, the provider's name). Models the file does not name, defaults
and settings it does not name, are left alone; a `rules` list replaces the target's list. So
importing a file and exporting again gives the file back (for the models it names), and a
second import of the same file changes nothing.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.approval_rules import (
    RuleAction,
    RuleSpec,
    parse_rule,
    replace_rules_in,
    rules_in,
)
from registry.audit import SYSTEM, Actor, audit_row, write_audit
from registry.catalog import default_setting_key
from registry.catalog_sync import VERSION_SETTING as CATALOG_DATA_SETTING
from registry.db import Database, get_database
from registry.errors import InvalidInputError
from registry.keys import AZURE_REGION_SETTING
from registry.schema import AIModel, AppSetting, utcnow
from registry.settings import parse_max_tokens, parse_temperature

# The store's own checks of admin edits and its status columns: an import is held to exactly
# what the dashboard and the CLI accept.
from registry.store import (
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    _admin_metadata_value,
    _clean_text,
    _defaults,
    _status_values,
    unstorable_id_reason,
    upsert_setting,
)
from registry.text import inert
from registry.types import (
    METADATA_FIELDS,
    PROVIDERS,
    SOURCE_ADMIN,
    Category,
    ModelSource,
    ModelStatus,
    display_id,
    parse_category,
    parse_provider,
    parse_status,
)

FORMAT = "model-registry/1"
FORMATS = ("yaml", "json")
# A catalog of every provider's models exports to a few MB; far larger is not an export.
MAX_IMPORT_BYTES = 64 * 1024 * 1024
# Changes the import's one audit entry names; the rest are counted.
AUDIT_NAMED_CHANGES = 50

_TOP_KEYS = ("format", "exported_at", "models", "defaults", "settings", "rules")
_MODEL_KEYS = (
    "provider",
    "category",
    "model_id",
    "status",
    "successor_model_id",
    "display_name",
    "description",
    "admin_notes",
    "metadata",
)
# A model entry's admin decisions compared one by one (metadata field by field).
_DECIDED_KEYS = ("status", "successor_model_id", "display_name", "description", "admin_notes")
_RULE_KEYS = ("position", "category", "provider", "pattern", "action", "note")
_SETTING_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_-]+)+$")
_DEFAULT_KEYS = {
    default_setting_key(category, provider): (category, provider)
    for category, providers in PROVIDERS.items()
    for provider in providers
}
# Global settings checked (and written) as `set_global_config` does.
_GLOBAL_PARSERS = {
    "ai.provider": lambda v: parse_provider(v, Category.TEXT),
    "tts.provider": lambda v: parse_provider(v, Category.TTS),
    "ai.temperature": lambda v: repr(parse_temperature(v)),
    "ai.max_tokens": lambda v: str(parse_max_tokens(v)),
}

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class ImportFileError(InvalidInputError):
    """An import document that cannot be applied; the message names the place. Nothing was
    written."""


# --- export ----------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def _admin_metadata(row: AIModel) -> dict[str, Any]:
    sources = row.metadata_sources or {}
    return {
        name: _json_value(getattr(row, name))
        for name in METADATA_FIELDS
        if sources.get(name) == SOURCE_ADMIN
    }


def _model_state(row: AIModel) -> dict[str, Any]:
    """One model's admin state in the export's shape: only what admins set."""
    entry: dict[str, Any] = {
        "provider": row.provider,
        "category": row.category,
        "model_id": row.model_id,
        "status": row.status,
    }
    if row.successor_model_id:
        entry["successor_model_id"] = row.successor_model_id
    if row.display_name_edited:
        entry["display_name"] = row.display_name
    if row.description_edited:
        entry["description"] = row.description
    if row.admin_notes is not None:
        entry["admin_notes"] = row.admin_notes
    metadata = _admin_metadata(row)
    if metadata:
        entry["metadata"] = metadata
    return entry


def _rule_state(rule: RuleSpec, position: int) -> dict[str, Any]:
    return {
        "position": position,
        "category": rule.category.value,
        "provider": rule.provider,
        "pattern": rule.pattern,
        "action": rule.action.value,
        "note": rule.note,
    }


def export_admin_state(*, database: Database | None = None) -> dict[str, Any]:
    """The admin state as a document (`render_export` writes it as YAML or JSON)."""
    with (database or get_database()).read() as session:
        rows = session.scalars(
            select(AIModel).order_by(AIModel.category, AIModel.provider, AIModel.model_id)
        )
        models = [_model_state(row) for row in rows]
        defaults = _defaults(session)
        settings = {
            key: value
            for key, value in session.execute(
                select(AppSetting.key, AppSetting.value).order_by(AppSetting.key)
            )
            if key not in _DEFAULT_KEYS
            and key != AZURE_REGION_SETTING
            and key != CATALOG_DATA_SETTING
        }
        rules = rules_in(session)
    return {
        "format": FORMAT,
        "exported_at": utcnow().isoformat(timespec="seconds"),
        "models": models,
        "defaults": [
            {"category": category, "provider": provider, "model_id": model_id}
            for (category, provider), model_id in sorted(defaults.items())
        ],
        "settings": settings,
        "rules": [_rule_state(rule, rule.position) for rule in rules],
    }


def render_export(document: Mapping[str, Any], format: str = "yaml") -> str:
    """The document as YAML (default) or JSON text, keys in the export's own order."""
    if format == "json":
        return json.dumps(document, indent=2, ensure_ascii=True) + "\n"
    if format != "yaml":
        raise InvalidInputError(f"unknown format {format!r}: expected one of {', '.join(FORMATS)}")
    text: str = yaml.dump(
        dict(document),
        Dumper=_Dumper,
        sort_keys=False,
        # Non-ASCII as \u escapes: no bidi or control character acts on a terminal or a diff.
        allow_unicode=False,
        default_flow_style=False,
        width=100,
    )
    return text


# --- reading a file --------------------------------------------------------------------------


def parse_admin_state(text: str | bytes) -> Any:
    """An export's text (YAML, or JSON: a document starting with `{`) as data; a file that does
    not parse raises `ImportFileError` naming the line and column."""
    if isinstance(text, bytes):
        if len(text) > MAX_IMPORT_BYTES:
            raise ImportFileError(
                f"the file is {len(text):,} bytes; an export is at most {MAX_IMPORT_BYTES:,}"
            )
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"byte {exc.start}: the file is not UTF-8 text") from None
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFileError(
                f"line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})"
            ) from None
    try:
        return yaml.load(text, Loader=_Loader)  # a safe loader (the C one when built)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ImportFileError(f"{where}not valid YAML ({exc.problem or exc.context})") from None
    except yaml.YAMLError as exc:
        raise ImportFileError(f"not valid YAML ({inert(str(exc), 200)})") from None


def read_import_file(path: str) -> Any:
    """Read and parse an export file (`-`: standard input); errors name the file."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_IMPORT_BYTES + 1)
        else:
            with Path(path).open("rb") as handle:
                data = handle.read(MAX_IMPORT_BYTES + 1)
    except OSError as exc:
        raise ImportFileError(f"{path}: {exc.strerror or exc}") from None
    try:
        return parse_admin_state(data)
    except ImportFileError as exc:
        raise ImportFileError(f"{path}: {exc}") from None


# --- validating a document -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    """One model of the file, checked."""

    place: str
    category: str
    provider: str
    model_id: str
    status: str
    successor_model_id: str | None
    display_name: str | None
    has_display_name: bool
    description: str | None
    has_description: bool
    admin_notes: str | None
    metadata: dict[str, Any]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.category, self.provider, self.model_id)


@dataclass(slots=True)
class _Document:
    models: list[_Entry] = field(default_factory=list)
    defaults: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # → id, place
    settings: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → value, place
    rules: list[RuleSpec] | None = None


def _fail(place: str, message: str) -> ImportFileError:
    return ImportFileError(f"{place}: {message}")


def _checked(place: str, check: Any, *args: Any) -> Any:
    try:
        return check(*args)
    except InvalidInputError as exc:
        raise _fail(place, str(exc)) from None


def _mapping(value: Any, place: str, keys: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(place, f"expected a mapping, got {type(value).__name__}")
    unknown = [k for k in value if k not in keys]
    if unknown:
        raise _fail(place, f"unknown key {inert(str(unknown[0]), 80)!r} (known: {', '.join(keys)})")
    return value


def _list(value: Any, place: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(place, f"expected a list, got {type(value).__name__}")
    return value


def _text(entry: Mapping[str, Any], key: str, place: str, *, required: bool = False) -> str | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise _fail(f"{place}.{key}", "missing")
        return None
    if not isinstance(value, str):
        raise _fail(f"{place}.{key}", f"expected text, got {type(value).__name__}")
    return value


def _model_id(value: str, place: str) -> str:
    reason = unstorable_id_reason(value)
    if reason:
        raise _fail(place, f"cannot use {inert(value, 80)!r}: {reason}")
    return value


def _parse_model_key(
    entry: Mapping[str, Any], place: str, *, strip: bool = False
) -> tuple[Category, str, str]:
    """The (category, provider, model_id) a model entry or a default names, checked."""
    category = _checked(
        f"{place}.category", parse_category, _text(entry, "category", place, required=True)
    )
    provider = _checked(
        f"{place}.provider",
        parse_provider,
        _text(entry, "provider", place, required=True),
        category,
    )
    raw_id = _text(entry, "model_id", place, required=True) or ""
    return category, provider, _model_id(raw_id.strip() if strip else raw_id, f"{place}.model_id")


def _parse_model(raw: Any, place: str) -> _Entry:
    entry = _mapping(raw, place, _MODEL_KEYS)
    category, provider, model_id = _parse_model_key(entry, place)
    place = f"{place} ({display_id(provider, inert(model_id, 80))})"
    status = _checked(f"{place}.status", parse_status, _text(entry, "status", place, required=True))
    successor = _text(entry, "successor_model_id", place)
    if successor is not None:
        successor = _model_id(successor.strip(), f"{place}.successor_model_id")
        if successor == model_id:
            raise _fail(f"{place}.successor_model_id", "a model cannot be its own successor")
    name = _checked(
        f"{place}.display_name",
        _clean_text,
        _text(entry, "display_name", place),
        "display name",
        MAX_NAME_LENGTH,
    )
    if "display_name" in entry and not name:
        raise _fail(f"{place}.display_name", "display name cannot be empty")
    description = _checked(
        f"{place}.description",
        _clean_text,
        _text(entry, "description", place),
        "description",
        MAX_TEXT_LENGTH,
    )
    notes = _checked(
        f"{place}.admin_notes",
        _clean_text,
        _text(entry, "admin_notes", place),
        "notes",
        MAX_TEXT_LENGTH,
    )
    metadata_raw = entry.get("metadata")
    metadata: dict[str, Any] = {}
    if metadata_raw is not None:
        given = _mapping(metadata_raw, f"{place}.metadata", METADATA_FIELDS)
        for name_, value in given.items():
            if isinstance(value, date) and not isinstance(value, datetime):
                value = value.isoformat()  # YAML reads an unquoted 2026-12-31 as a date
            metadata[name_] = _checked(
                f"{place}.metadata.{name_}", _admin_metadata_value, name_, value
            )
    return _Entry(
        place=place,
        category=category.value,
        provider=provider,
        model_id=model_id,
        status=status.value,
        successor_model_id=successor or None,
        display_name=name,
        has_display_name="display_name" in entry,
        description=description,
        has_description="description" in entry,
        admin_notes=notes,
        metadata=metadata,
    )


def _setting_value(key: str, value: Any, place: str) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float | str):
        text = str(value).strip()
    else:
        raise _fail(place, f"expected text or a number, got {type(value).__name__}")
    if len(text) > MAX_TEXT_LENGTH:
        raise _fail(
            place, f"the value is {len(text)} characters long; the limit is {MAX_TEXT_LENGTH}"
        )
    parser = _GLOBAL_PARSERS.get(key)
    if parser is not None:
        return str(_checked(place, parser, text))
    if key in ("ai.model", "tts.model"):
        return _model_id(text, place)
    return text


def _parse_document(raw: Any) -> _Document:
    top = _mapping(raw, "the file", _TOP_KEYS) if isinstance(raw, Mapping) else None
    if top is None:
        raise ImportFileError(
            f"the file is not a model registry export (expected a mapping with format: {FORMAT})"
        )
    if top.get("format") != FORMAT:
        raise _fail("format", f"expected {FORMAT!r}, got {inert(repr(top.get('format')), 80)}")
    document = _Document()
    seen: dict[tuple[str, str, str], str] = {}
    for index, raw_model in enumerate(_list(top.get("models"), "models")):
        entry = _parse_model(raw_model, f"models[{index}]")
        if entry.key in seen:
            raise _fail(entry.place, f"the same model as {seen[entry.key]}")
        seen[entry.key] = entry.place
        document.models.append(entry)
    _parse_defaults(_list(top.get("defaults"), "defaults"), document)
    _parse_settings(top.get("settings"), document)
    if "rules" in top:
        document.rules = [
            _parse_rule(raw_rule, f"rules[{index}]")
            for index, raw_rule in enumerate(_list(top.get("rules"), "rules"))
        ]
    return document


def _parse_defaults(defaults: list[Any], document: _Document) -> None:
    for index, raw_default in enumerate(defaults):
        place = f"defaults[{index}]"
        entry = _mapping(raw_default, place, ("category", "provider", "model_id"))
        category, provider, model_id = _parse_model_key(entry, place, strip=True)
        if (category.value, provider) in document.defaults:
            raise _fail(place, f"a second default for {provider} {category.value}")
        document.defaults[(category.value, provider)] = (model_id, place)


def _parse_settings(settings: Any, document: _Document) -> None:
    if settings is None:
        return
    if not isinstance(settings, Mapping):
        raise _fail("settings", f"expected a mapping, got {type(settings).__name__}")
    for key, value in settings.items():
        place = f"settings.{inert(str(key), 80)}"
        if not isinstance(key, str) or not _SETTING_KEY.match(key) or len(key) > 128:
            raise _fail(place, "not a setting key (e.g. ai.temperature)")
        if key in _DEFAULT_KEYS:
            raise _fail(place, "a provider's default belongs under `defaults`")
        if key == AZURE_REGION_SETTING:
            raise _fail(place, "the Azure region is set with its key (`keys set azure`)")
        if key == CATALOG_DATA_SETTING:
            # Which bundled data this database has applied: `migrate` keeps it, never an admin.
            raise _fail(place, "kept by `migrate`, not an admin setting")
        document.settings[key] = (_setting_value(key, value, place), place)


def _parse_rule(raw: Any, place: str) -> RuleSpec:
    """A rule of the file, checked as `rules add` checks one; the list's order is the rules'
    order (`position` is informative)."""
    rule = _mapping(raw, place, _RULE_KEYS)
    category = _text(rule, "category", place, required=True) or ""
    action = _text(rule, "action", place, required=True) or ""
    try:
        return parse_rule(
            category,
            _text(rule, "pattern", place) or "",
            action,
            provider=_text(rule, "provider", place),
            note=_text(rule, "note", place),
        )
    except InvalidInputError as exc:
        raise _fail(place, str(exc)) from None


# --- changes -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """One difference an import makes: `kind` (model, status, default, setting, rule, …),
    `target` (e.g. "openai/gpt-4o (text)"), and the value before and after (None: none)."""

    kind: str
    target: str
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "from": self.old, "to": self.new}

    def describe(self) -> str:
        def shown(value: Any) -> str:
            return "-" if value is None else json.dumps(value, ensure_ascii=False)

        return f"{self.kind:<12} {self.target}: {shown(self.old)} → {shown(self.new)}"


@dataclass(frozen=True, slots=True)
class ImportReport:
    dry_run: bool
    changes: tuple[Change, ...]

    def to_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "changes": [c.to_json() for c in self.changes]}


def _target(entry: _Entry) -> str:
    return f"{display_id(entry.provider, entry.model_id)} ({entry.category})"


def _model_changes(entry: _Entry, row: AIModel | None) -> list[Change]:
    """What importing `entry` changes of the model (`row`; None: the catalog lacks it). A key
    the export leaves out means "no admin decision", so presence is compared with the value."""
    target = _target(entry)
    state = _model_state(row) if row is not None else {}
    wanted = _model_state_of(entry)
    changes = [] if row is not None else [Change("model", target, None, entry.status)]
    for name in _DECIDED_KEYS:
        if row is None and name == "status":
            continue  # the "model" change says it
        if (name in state, state.get(name)) != (name in wanted, wanted.get(name)):
            changes.append(Change(name, target, state.get(name), wanted.get(name)))
    had, want = state.get("metadata", {}), wanted.get("metadata", {})
    for name in METADATA_FIELDS:
        if (name in had, had.get(name)) != (name in want, want.get(name)):
            changes.append(Change(f"metadata.{name}", target, had.get(name), want.get(name)))
    return changes


def _model_state_of(entry: _Entry) -> dict[str, Any]:
    """The entry as `_model_state` would export the model once imported."""
    state: dict[str, Any] = {"status": entry.status}
    if entry.successor_model_id is not None:
        state["successor_model_id"] = entry.successor_model_id
    if entry.has_display_name:
        state["display_name"] = entry.display_name
    if entry.has_description:
        state["description"] = entry.description
    if entry.admin_notes is not None:
        state["admin_notes"] = entry.admin_notes
    if entry.metadata:
        state["metadata"] = {name: _json_value(v) for name, v in entry.metadata.items()}
    return state


def _apply_model(entry: _Entry, row: AIModel, actor: Actor, now: datetime) -> None:
    if row.status != entry.status:
        for column, value in _status_values(ModelStatus(entry.status), now).items():
            setattr(row, column, value)
    row.successor_model_id = entry.successor_model_id
    row.admin_notes = entry.admin_notes
    if entry.has_display_name and entry.display_name:
        row.display_name = entry.display_name
    row.display_name_edited = entry.has_display_name
    if entry.has_description:
        row.description = entry.description
    row.description_edited = entry.has_description
    sources = {
        name: source
        for name, source in (row.metadata_sources or {}).items()
        if source != SOURCE_ADMIN or name in entry.metadata
    }
    for name, value in entry.metadata.items():
        setattr(row, name, value)
        sources[name] = SOURCE_ADMIN
    row.metadata_sources = sources or None
    row.updated_at = now
    row.updated_by = actor.user_id


def _new_row(entry: _Entry, now: datetime) -> AIModel:
    return AIModel(
        provider=entry.provider,
        category=entry.category,
        model_id=entry.model_id,
        display_name=entry.display_name or entry.model_id,
        status=ModelStatus.PENDING.value,  # _apply_model sets the file's, with its timestamps
        source=ModelSource.API.value,
        supports_streaming=True,
        deprecated_by_admin=False,
        display_name_edited=False,
        description_edited=False,
        discovered_at=now,
        created_at=now,
        updated_at=now,
    )


def _rule_text(rule: RuleSpec | None) -> str | None:
    if rule is None:
        return None
    return rule.summary + (f" — {rule.note}" if rule.note else "")


@dataclass(slots=True)
class _Plan:
    changes: list[Change]
    rows: dict[tuple[str, str, str], AIModel]
    defaults: dict[tuple[str, str], str]
    settings: dict[str, str]


def _plan(document: _Document, session: Session) -> _Plan:
    """Check the document against the catalog in `session`; the changes it makes."""
    rows = {(r.category, r.provider, r.model_id): r for r in session.scalars(select(AIModel))}
    plan = _Plan(
        [],
        rows,
        _defaults(session),
        {k: v for k, v in session.execute(select(AppSetting.key, AppSetting.value))},
    )
    status_after = {key: row.status for key, row in rows.items()}
    status_after |= {entry.key: entry.status for entry in document.models}
    _check_successors(document, status_after)
    _check_defaults(document, status_after, plan.defaults)
    _check_global_models(document, status_after, plan.settings)
    for entry in sorted(document.models, key=lambda e: e.key):
        plan.changes += _model_changes(entry, rows.get(entry.key))
    for (category, provider), (model_id, _place) in sorted(document.defaults.items()):
        old = plan.defaults.get((category, provider))
        if old != model_id:
            plan.changes.append(Change("default", f"{provider} ({category})", old, model_id))
    for key, (value, _place) in sorted(document.settings.items()):
        if plan.settings.get(key) != value:
            plan.changes.append(Change("setting", key, plan.settings.get(key), value))
    if document.rules is not None:
        current: list[RuleSpec] = list(rules_in(session))
        for index in range(max(len(current), len(document.rules))):
            old_rule = _rule_text(current[index]) if index < len(current) else None
            new_rule = _rule_text(document.rules[index]) if index < len(document.rules) else None
            if old_rule != new_rule:
                plan.changes.append(Change("rule", f"rule {index + 1}", old_rule, new_rule))
    return plan


_Statuses = dict[tuple[str, str, str], str]


def _check_successors(document: _Document, status_after: _Statuses) -> None:
    for entry in document.models:
        successor = entry.successor_model_id
        if (
            successor is not None
            and (entry.category, entry.provider, successor) not in status_after
        ):
            named = display_id(entry.provider, inert(successor, 80))
            raise _fail(
                f"{entry.place}.successor_model_id",
                f"no {entry.category} model {named} in the file or the catalog",
            )


def _check_defaults(
    document: _Document, status_after: _Statuses, defaults: dict[tuple[str, str], str]
) -> None:
    """Every default after the import names an enabled model."""
    for (category, provider), (model_id, place) in document.defaults.items():
        status = status_after.get((category, provider, model_id))
        if status != ModelStatus.ENABLED.value:
            state = "not in the file or the catalog" if status is None else f"{status} afterwards"
            raise _fail(
                f"{place}.model_id",
                f"the default {display_id(provider, inert(model_id, 80))} is {state}; "
                "a default must be enabled",
            )
    named = {entry.key: entry for entry in document.models}
    for (category, provider), model_id in defaults.items():
        entry = named.get((category, provider, model_id))
        if (category, provider) in document.defaults or entry is None:
            continue
        if entry.status != ModelStatus.ENABLED.value:
            raise _fail(
                f"{entry.place}.status",
                f"{display_id(provider, model_id)} is the {category} default of {provider}; "
                "name another default under `defaults`, or keep it enabled",
            )


def _check_global_models(
    document: _Document, status_after: _Statuses, settings: dict[str, str]
) -> None:
    """A global model the file sets must be enabled after the import (`set_global_config`)."""
    for prefix, category in (("ai", Category.TEXT), ("tts", Category.TTS)):
        given = [
            document.settings[k]
            for k in (f"{prefix}.model", f"{prefix}.provider")
            if k in document.settings
        ]
        if not given:
            continue
        provider = document.settings.get(
            f"{prefix}.provider", (settings.get(f"{prefix}.provider"), "")
        )[0]
        model = document.settings.get(f"{prefix}.model", (settings.get(f"{prefix}.model"), ""))[0]
        if provider and model and status_after.get((category.value, provider, model)) != "enabled":
            raise _fail(
                given[0][1],
                f"the global {category.value} model {display_id(provider, inert(model, 80))} "
                "is not enabled after the import",
            )


def _reuse_rule_ids(wanted: list[RuleSpec], current: list[RuleSpec]) -> list[RuleSpec]:
    """The file's rules, each naming a saved rule it equals (so its id and history stay)."""
    free = list(current)
    kept: list[RuleSpec] = []
    for rule in wanted:
        same = next((c for c in free if c.same_rule(rule)), None)
        if same is not None:
            free.remove(same)
        kept.append(
            RuleSpec(
                rule.category,
                rule.provider,
                rule.pattern,
                RuleAction(rule.action),
                rule.note,
                same.id if same is not None else None,
            )
        )
    return kept


def _audit_text(changes: Sequence[Change]) -> str:
    kinds: dict[str, int] = {}
    for change in changes:
        kind = change.kind.split(".")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    counted = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    named = "; ".join(c.describe() for c in changes[:AUDIT_NAMED_CHANGES])
    more = len(changes) - AUDIT_NAMED_CHANGES
    return f"{len(changes)} change(s) ({counted}): {named}" + (
        f" … and {more} more" if more > 0 else ""
    )


def import_admin_state(
    document: Any,
    *,
    dry_run: bool = False,
    actor: Actor = SYSTEM,
    database: Database | None = None,
) -> ImportReport:
    """Bring the catalog to `document`'s admin state (parsed data, or an export's text).

    Validates everything first (`ImportFileError` naming the place, nothing written), then
    returns the changes; unless `dry_run`, applies them in one transaction with one audit entry.
    """
    raw = parse_admin_state(document) if isinstance(document, str | bytes) else document
    parsed = _parse_document(raw)
    db = database or get_database()
    if dry_run:
        with db.read() as session:
            return ImportReport(True, tuple(_plan(parsed, session).changes))
    now = utcnow()
    with db.write() as session:
        plan = _plan(parsed, session)
        if not plan.changes:
            return ImportReport(False, ())
        changed = {c.target for c in plan.changes}
        for entry in parsed.models:
            row = plan.rows.get(entry.key)
            if row is None:
                row = _new_row(entry, now)
                session.add(row)
            elif _target(entry) not in changed:
                continue
            _apply_model(entry, row, actor, now)
        session.flush()
        for (category, provider), (model_id, _place) in parsed.defaults.items():
            if plan.defaults.get((category, provider)) != model_id:
                key = default_setting_key(Category(category), provider)
                upsert_setting(session, key, model_id, actor, now)
        for key, (value, _place) in parsed.settings.items():
            if plan.settings.get(key) != value:
                upsert_setting(session, key, value, actor, now)
        if parsed.rules is not None:
            current: list[RuleSpec] = list(rules_in(session))
            replace_rules_in(session, _reuse_rule_ids(parsed.rules, current), actor, now)
        write_audit(
            session,
            [
                audit_row(
                    actor, "import", field="admin_state", new=_audit_text(plan.changes), at=now
                )
            ],
        )
        return ImportReport(False, tuple(plan.changes))
