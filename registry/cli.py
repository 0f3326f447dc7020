"""`python -m registry …` (also installed as `model-registry`).

Bad input exits non-zero with one clear line on stderr and changes nothing; so does every other
failure. Provider text (ids, names, errors, warnings) is printed through `inert`: a listing
cannot move the cursor, clear the screen or forge a line. JSON output is pure ASCII.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import logging
import os
import sys
import traceback
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, NoReturn

from sqlalchemy.exc import SQLAlchemyError

from registry import migrate
from registry.audit import CLI
from registry.catalog import default_setting_key
from registry.db import get_database
from registry.errors import DatabaseError, InvalidInputError, RegistryError
from registry.keys import delete_api_key, list_key_status, set_api_key
from registry.retirement import (
    accept_successor,
    days_until_retirement,
    is_retiring_soon,
    retirement_label,
    suggestions_for,
)
from registry.schema import utcnow
from registry.store import (
    ModelFilter,
    bulk_update_models,
    get_default_models,
    get_model_by_id,
    get_model_by_provider_id,
    list_models,
    set_default_model,
    set_successor,
)
from registry.text import inert
from registry.types import CatalogModel, Category, ModelStatus, display_id

EXIT_ERROR = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block: scripts read stderr.
        self.exit(EXIT_USAGE, f"error: {message} (see --help)\n")


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _print_json(payload: object) -> None:
    # ensure_ascii escapes every control, bidi and non-ASCII character as \uXXXX.
    print(json.dumps(payload, default=_json_default, indent=2, ensure_ascii=True))


def model_as_json(model: CatalogModel, is_default: bool) -> dict[str, Any]:
    """The `ai_models` columns by name, plus `is_default`."""
    row = dataclasses.asdict(model)
    row["category"] = model.category.value
    row["status"] = model.status.value
    row["source"] = model.source.value
    row["is_default"] = is_default
    return row


def _cmd_migrate(_args: argparse.Namespace) -> int:
    db = get_database()
    migrate.upgrade(db)
    print(f"database is at the newest revision ({db.safe_url})")
    return 0


def _cmd_discover(args: argparse.Namespace) -> int:
    from registry.discovery import ProgressEvent, discover_models
    from registry.providers import require_discovery_extra

    require_discovery_extra()

    def progress(event: ProgressEvent) -> None:
        if args.json or event.result is None:
            return
        r = event.result
        state = "failed" if r.errors else ("skipped" if r.rate_limited else "ok")
        held = f", held back {len(r.held_back)}" if r.held_back else ""
        print(
            f"{r.provider:<11} {state:<7} {r.source.value:<7} {r.category.value:<5} "
            f"listed {r.discovered:>5}, new {len(r.new)}, returned {len(r.returned)}, "
            f"refreshed {r.refreshed}, deprecated {len(r.deprecated)}{held}",
            file=sys.stderr,
        )
        for line in r.errors + r.warnings + r.notes:
            print(f"{'':<11} {inert(line)}", file=sys.stderr)

    providers = [args.provider] if args.provider else None
    category = None if args.all else args.category
    report = discover_models(
        category, providers, force=args.force, dry_run=args.dry_run, on_progress=progress
    )
    if args.json:
        _print_json(report.to_json())
    else:
        total_deprecated = sum(len(r.deprecated) for r in report.results)
        line = (
            f"{report.total_new} new model(s), {total_deprecated} deprecated, "
            f"{report.total_errors} error(s)"
        )
        print(f"dry run: nothing was written; would be {line}" if args.dry_run else line)
    # Exit 0 even when some providers failed: the report says which (DESIGN.md).
    return 0


def _cmd_models_list(args: argparse.Namespace) -> int:
    filters = ModelFilter(
        category=args.category,
        provider=args.provider,
        status=args.status,
        search=args.search,
        include_archived=args.include_archived,
    )
    models = list_models(filters)
    defaults = get_default_models()

    def is_default(m: CatalogModel) -> bool:
        return defaults.get((m.category.value, m.provider)) == m.model_id

    today = utcnow().date()
    suggested = suggestions_for(models, today)
    if args.json:
        _print_json(
            [
                model_as_json(m, is_default(m))
                | {
                    "retires_in_days": days_until_retirement(m, today),
                    "suggested_successor": suggested[m.id],
                }
                for m in models
            ]
        )
        return 0
    for m in models:
        star = "*" if is_default(m) else " "
        context = f"{m.context_window:,}" if m.context_window else "-"
        print(
            f"{star} {inert(display_id(m.provider, m.model_id)):<55} {m.category.value:<4} "
            f"{m.status.value:<10} {context:>10}  {inert(m.display_name)}"
            f"{_retirement_note(m, today, suggested[m.id])}"
        )
    print(f"{len(models)} model(s); * marks a provider's default", file=sys.stderr)
    return 0


def _retirement_note(model: CatalogModel, today: date, suggested: str | None) -> str:
    """ "  [retires in 12 days; successor gpt-5 (accepted)]" for a model that needs one."""
    parts = []
    if is_retiring_soon(model, today):
        parts.append(retirement_label(model, today) or "")
    if model.successor_model_id:
        parts.append(f"successor {inert(model.successor_model_id)}")
    elif suggested:
        parts.append(
            f"suggested successor {inert(suggested)} "
            f"(accept: models accept-successor {inert(model.display_id)})"
        )
    return f"  [{'; '.join(parts)}]" if parts else ""


def _resolve_reference(reference: str, category: str | None) -> uuid.UUID:
    """A UUID, or `provider/model_id` (model ids may contain '/': split at the first one)."""
    try:
        return get_model_by_id(uuid.UUID(reference)).id
    except ValueError:
        pass
    provider, sep, model_id = reference.partition("/")
    if not sep or not model_id:
        raise InvalidInputError(f"{reference!r} is neither a model UUID nor provider/model_id")
    return get_model_by_provider_id(provider, model_id, category).id


def _cmd_models_set_status(args: argparse.Namespace) -> int:
    ids = [_resolve_reference(ref, args.category) for ref in args.models]
    changed = bulk_update_models(ids, args.status, actor=CLI, notes=args.notes)
    print(f"{changed} model(s) set to {args.status}")
    return 0


def _cmd_models_set_successor(args: argparse.Namespace) -> int:
    model = set_successor(
        _resolve_reference(args.model, args.category), args.successor or None, actor=CLI
    )
    named = inert(display_id(model.provider, model.model_id))
    successor = model.successor_model_id
    print(f"{named}: successor {inert(successor)}" if successor else f"{named}: successor cleared")
    if successor:  # a disabled or deprecated one is allowed (it may be enabled again): said
        held = get_model_by_provider_id(model.provider, successor, model.category)
        if held.status is not ModelStatus.ENABLED:
            print(
                f"warning: {inert(successor)} is {held.status.value}: it cannot serve until "
                "enabled",
                file=sys.stderr,
            )
    return 0


def _cmd_models_accept_successor(args: argparse.Namespace) -> int:
    model = accept_successor(_resolve_reference(args.model, args.category), actor=CLI)
    print(
        f"{inert(model.display_id)}: successor {inert(model.successor_model_id or '')} "
        "(used once the model is deprecated or disabled)"
    )
    return 0


def _cmd_set_default(args: argparse.Namespace) -> int:
    model = set_default_model(args.provider, args.category, args.model, actor=CLI)
    key = default_setting_key(model.category, model.provider)
    print(f"{key} = {inert(model.model_id)}")
    return 0


def _cmd_resolve(args: argparse.Namespace) -> int:
    from registry.resolution import preview_config

    # The same answer the application gets, without counting it as application usage.
    result = preview_config(args.category, args.provider, args.model)
    if args.json:
        _print_json(result.to_json())
        return 0
    print(inert(result.describe()))
    return 0


def _cmd_calendar(args: argparse.Namespace) -> int:
    from registry.deprecation_calendar import calendar_ics, describe_entry, retirement_calendar

    entries = retirement_calendar(args.category, args.days)
    if args.ics:
        sys.stdout.buffer.write(calendar_ics(entries))
        sys.stdout.flush()
    elif args.json:
        _print_json([e.to_json() for e in entries])
    else:
        for entry in entries:
            print(inert(describe_entry(entry)))
        print(
            f"{len(entries)} retirement(s) within {args.days} days or past (enabled and default "
            "models)",
            file=sys.stderr,
        )
    return 0


def _days(value: str) -> int:
    from registry.deprecation_calendar import parse_days

    try:
        return parse_days(value)
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_keys_list(args: argparse.Namespace) -> int:
    rows = list_key_status()
    if args.json:
        _print_json([dataclasses.asdict(r) | {"configured": r.configured} for r in rows])
        return 0
    for r in rows:
        state = f"{r.source} {r.masked}" if r.configured else f"not configured (set {r.env_var})"
        if r.problem:
            state += f", {r.problem}"
        print(f"{r.provider:<11} {inert(state)}")
    return 0


def _read_key() -> str:
    # From stdin or a prompt, never argv: argv ends up in shell history and `ps`.
    try:
        if sys.stdin.isatty():
            return getpass.getpass("API key: ")
        return sys.stdin.buffer.readline().decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("the API key is not valid UTF-8 text; nothing was stored") from None


def _cmd_keys_set(args: argparse.Namespace) -> int:
    key = _read_key()
    masked = set_api_key(args.provider, key, region=args.region, actor=CLI)
    print(f"{args.provider} key stored ({masked})")
    return 0


def _cmd_keys_delete(args: argparse.Namespace) -> int:
    removed = delete_api_key(args.provider, actor=CLI)
    print(f"{args.provider} key removed" if removed else f"no stored {args.provider} key")
    return 0


def _category_choices() -> list[str]:
    return [c.value for c in Category]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="model-registry", description="Model Registry command line")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    commands.add_parser("migrate", help="upgrade the database to head").set_defaults(
        handler=_cmd_migrate, needs_schema=False
    )

    discover = commands.add_parser("discover", help="refresh the catalog from the providers")
    which = discover.add_mutually_exclusive_group(required=True)
    which.add_argument("--category", choices=_category_choices())
    which.add_argument(
        "--all", action="store_true", help="every category and provider (for cron, timers)"
    )
    discover.add_argument("--provider", help="only this provider (in every category it serves)")
    discover.add_argument("--force", action="store_true", help="ignore the 5-minute limit")
    discover.add_argument(
        "--dry-run", action="store_true", help="report what would change; write nothing"
    )
    discover.add_argument("--json", action="store_true")
    discover.set_defaults(handler=_cmd_discover)

    models = commands.add_parser("models", help="list the catalog or change statuses")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    listing = model_commands.add_parser("list", help="list models")
    listing.add_argument("--category", choices=_category_choices())
    listing.add_argument("--provider")
    listing.add_argument("--status", choices=[s.value for s in ModelStatus])
    listing.add_argument("--search", help="substring of model id or display name")
    listing.add_argument("--include-archived", action="store_true")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_cmd_models_list)

    set_status = model_commands.add_parser("set-status", help="change status of models")
    set_status.add_argument("--status", required=True, choices=[s.value for s in ModelStatus])
    set_status.add_argument("--category", choices=_category_choices())
    set_status.add_argument("--notes")
    set_status.add_argument("models", nargs="+", metavar="ID_OR_PROVIDER/MODEL")
    set_status.set_defaults(handler=_cmd_models_set_status)

    successor = model_commands.add_parser(
        "set-successor", help="name the model a deprecated one falls back to ('' clears)"
    )
    successor.add_argument("model", metavar="PROVIDER/MODEL")
    successor.add_argument("successor", metavar="SUCCESSOR_MODEL_ID")
    successor.add_argument("--category", choices=_category_choices())
    successor.set_defaults(handler=_cmd_models_set_successor)

    accept = model_commands.add_parser(
        "accept-successor", help="make the suggested successor (see `models list`) the successor"
    )
    accept.add_argument("model", metavar="PROVIDER/MODEL")
    accept.add_argument("--category", choices=_category_choices())
    accept.set_defaults(handler=_cmd_models_accept_successor)

    default = commands.add_parser("set-default", help="choose a provider's default model")
    default.add_argument("--category", required=True, choices=_category_choices())
    default.add_argument("--provider", required=True)
    default.add_argument("--model", required=True)
    default.set_defaults(handler=_cmd_set_default)

    resolve = commands.add_parser("resolve", help="which model the application would really use")
    resolve.add_argument("--category", required=True, choices=_category_choices())
    resolve.add_argument("--provider", required=True)
    resolve.add_argument("--model", required=True)
    resolve.add_argument("--json", action="store_true")
    resolve.set_defaults(handler=_cmd_resolve)

    calendar = commands.add_parser(
        "calendar", help="when enabled and default models retire (text, JSON or iCalendar)"
    )
    calendar.add_argument("--category", choices=_category_choices())
    calendar.add_argument(
        "--days", type=_days, default=365, help="how far ahead, in days (default 365)"
    )
    calendar_format = calendar.add_mutually_exclusive_group()
    calendar_format.add_argument(
        "--ics", action="store_true", help="write an iCalendar feed (one all-day event each)"
    )
    calendar_format.add_argument("--json", action="store_true")
    calendar.set_defaults(handler=_cmd_calendar)

    keys = commands.add_parser("keys", help="provider API keys (stored encrypted)")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    key_list = key_commands.add_parser("list", help="show which keys are configured (masked)")
    key_list.add_argument("--json", action="store_true")
    key_list.set_defaults(handler=_cmd_keys_list)
    key_set = key_commands.add_parser("set", help="store a key read from standard input")
    key_set.add_argument("provider")
    key_set.add_argument("--region", help="Azure Speech region, e.g. westeurope")
    key_set.set_defaults(handler=_cmd_keys_set)
    key_delete = key_commands.add_parser("delete", help="remove a stored key")
    key_delete.add_argument("provider")
    key_delete.set_defaults(handler=_cmd_keys_delete)
    _add_rules_and_transfer(commands)
    return parser


# --- approval rules, export and import ---------------------------------------------------------


def _usage_errors(
    handler: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """Bad input to these commands (a rule, an import file) exits 2, like argparse's errors."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except InvalidInputError as exc:
            print(f"error: {inert(str(exc))}", file=sys.stderr)
            return EXIT_USAGE

    return run


def _cmd_rules_list(args: argparse.Namespace) -> int:
    from registry.approval_rules import list_approval_rules

    rules = list_approval_rules()
    if args.json:
        _print_json([rule.to_json() for rule in rules])
        return 0
    for rule in rules:
        note = f"  # {inert(rule.note)}" if rule.note else ""
        print(f"#{rule.id:<4} {rule.position:>3}. {inert(rule.summary)}{note}")
    print(f"{len(rules)} rule(s); the first that matches a new model decides", file=sys.stderr)
    return 0


def _cmd_rules_add(args: argparse.Namespace) -> int:
    from registry.approval_rules import add_approval_rule

    rule = add_approval_rule(
        args.category, args.pattern, args.action, provider=args.provider, note=args.note, actor=CLI
    )
    print(f"added {inert(rule.label)} at position {rule.position}")
    return 0


def _cmd_rules_remove(args: argparse.Namespace) -> int:
    from registry.approval_rules import remove_approval_rule

    rule = remove_approval_rule(args.id, actor=CLI)
    print(f"removed {inert(rule.label)}")
    return 0


def _cmd_rules_test(args: argparse.Namespace) -> int:
    from registry.approval_rules import test_approval_rule

    models = test_approval_rule(args.category, args.pattern, provider=args.provider)
    for m in models:
        print(f"{inert(m.display_id):<55} {m.category.value:<4} {m.status.value}")
    print(f"matches {len(models)} catalog model(s)", file=sys.stderr)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from registry.transfer import export_admin_state, render_export

    sys.stdout.write(render_export(export_admin_state(), args.format))
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from registry.transfer import ImportFileError, import_admin_state, read_import_file

    document = read_import_file(args.file)
    try:
        report = import_admin_state(document, dry_run=args.dry_run, actor=CLI)
    except ImportFileError as exc:
        raise ImportFileError(f"{args.file}: {exc}") from None
    if args.json:
        _print_json(report.to_json())
        return 0
    for change in report.changes:
        print(inert(change.describe()))
    done = "dry run: nothing was written; would make" if args.dry_run else "imported:"
    print(f"{done} {len(report.changes)} change(s)")
    return 0


def _add_rules_and_transfer(commands: Any) -> None:
    rules = commands.add_parser("rules", help="approval rules: decisions about new models")
    rule_commands = rules.add_subparsers(dest="rules_command", required=True)
    rule_list = rule_commands.add_parser("list", help="the rules, first asked first")
    rule_list.add_argument("--json", action="store_true")
    rule_list.set_defaults(handler=_cmd_rules_list)
    rule_add = rule_commands.add_parser("add", help="add a rule (asked last)")
    rule_add.add_argument("--category", required=True, choices=_category_choices())
    rule_add.add_argument("--provider", help="only this provider (default: any)")
    rule_add.add_argument("--pattern", required=True, help="glob on the model id, e.g. 'gpt-5*'")
    rule_add.add_argument("--action", required=True, choices=["approve", "ignore"])
    rule_add.add_argument("--note")
    rule_add.set_defaults(handler=_usage_errors(_cmd_rules_add))
    rule_remove = rule_commands.add_parser("remove", help="remove a rule")
    rule_remove.add_argument("id", metavar="ID")
    rule_remove.set_defaults(handler=_usage_errors(_cmd_rules_remove))
    rule_test = rule_commands.add_parser("test", help="which catalog models a rule matches today")
    rule_test.add_argument("--category", required=True, choices=_category_choices())
    rule_test.add_argument("--provider", help="only this provider (default: any)")
    rule_test.add_argument("--pattern", required=True)
    rule_test.set_defaults(handler=_usage_errors(_cmd_rules_test))

    export = commands.add_parser("export", help="write the admin state (for git, or an import)")
    export.add_argument("--format", choices=["yaml", "json"], default="yaml")
    export.set_defaults(handler=_cmd_export)
    load = commands.add_parser("import", help="bring the catalog to an export's admin state")
    load.add_argument("file", metavar="FILE", help="an export (YAML or JSON); - reads stdin")
    load.add_argument("--dry-run", action="store_true", help="show the changes; write nothing")
    load.add_argument("--json", action="store_true")
    load.set_defaults(handler=_usage_errors(_cmd_import))


class _InertFormatter(logging.Formatter):
    """Log lines quote provider text too: each stays one inert line (a traceback aside)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return inert(super().formatMessage(record))


def _fail(message: str) -> int:
    print(f"error: {inert(message)}", file=sys.stderr)
    return EXIT_ERROR


def _not_utf8(argv: Sequence[str]) -> str | None:
    """The first argument holding bytes that are not UTF-8, shown with those bytes escaped.

    Python hands such bytes over as lone surrogates, which no database or terminal accepts.
    """
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    bad = _not_utf8(argv)
    if bad is not None:
        print(f"error: argument '{inert(bad)}' is not valid UTF-8 text", file=sys.stderr)
        return EXIT_USAGE
    parser = build_parser()
    args = parser.parse_args(argv)
    log_handler = logging.StreamHandler()
    log_handler.setFormatter(_InertFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, handlers=[log_handler]
    )
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        if getattr(args, "needs_schema", True) and not migrate.is_up_to_date():
            raise DatabaseError(
                "the database is not migrated to the newest revision; "
                "run `python -m registry migrate` first"
            )
        return handler(args)
    except RegistryError as exc:
        return _fail(str(exc))
    except SQLAlchemyError as exc:  # e.g. a URL that does not parse, or a missing driver
        return _fail(f"database: {str(exc).strip().splitlines()[0]}")
    except BrokenPipeError:  # `… | head` stopped reading: not an error worth a line
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except OSError as exc:  # e.g. the data folder cannot be created
        return _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted")
    except Exception as exc:  # a bug: still one line, the traceback only when asked for
        if args.verbose:
            traceback.print_exc()
        # The type only: an unforeseen message may quote a request, and with it an API key.
        return _fail(f"unexpected {type(exc).__name__}; run with --verbose for the traceback")
