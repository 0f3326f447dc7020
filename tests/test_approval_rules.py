"""Approval rules: decisions about new models made in advance, on both backends.

OpenAI is played by its stand-in server (real SDK, real listing paths); the rules decide only
what a refresh puts into `pending`, audited with the rule that decided.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from registry import approval_rules
from registry.approval_rules import (
    RuleAction,
    RuleSpec,
    add_approval_rule,
    list_approval_rules,
    move_approval_rule,
    remove_approval_rule,
    save_approval_rules,
)
from registry.audit import list_audit_entries
from registry.cli import main
from registry.db import Database
from registry.demo import StandInProviders, load_fixture
from registry.discovery import discover_models
from registry.errors import DatabaseError, InvalidInputError, ModelNotFoundError
from registry.migrate import downgrade, is_up_to_date
from registry.notify import build_notification
from registry.store import get_model_by_provider_id, update_model_status
from registry.types import Category, ModelStatus
from tests.dashboard_support import assert_clean, click, everything, messages, open_app, toasts

NEW_IDS = ["gpt-5.5", "gpt-5.5-pro", "o5", "o5-mini", "chatgpt-6-latest"]


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInProviders]:
    with StandInProviders() as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        yield standins


def openai_listing(*extra: str, without: tuple[str, ...] = ()) -> Any:
    body = copy.deepcopy(load_fixture("openai"))
    body["data"] = [e for e in body["data"] if e["id"] not in without]
    body["data"] += [{"id": i, "object": "model", "created": 1780000000} for i in extra]
    return body


def status(model_id: str) -> ModelStatus:
    return get_model_by_provider_id("openai", model_id, Category.TEXT).status


def the_two_rules() -> None:
    add_approval_rule("text", "gpt-5*", "approve", provider="openai", note="our flagship line")
    add_approval_rule("text", "o*", "ignore", provider="openai", note="reasoning is too slow")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_refresh_approves_and_ignores_new_ids_by_rule_as_its_dry_run_said(
    database: Database, providers: StandInProviders
) -> None:
    discover_models("text", ["openai"])  # the catalog knows today's listing
    the_two_rules()
    approve, ignore = list_approval_rules()
    providers.serve("openai", openai_listing(*NEW_IDS))

    preview = discover_models("text", ["openai"], dry_run=True)
    planned = preview.to_json()["results"][0]
    assert planned["decided"] == [
        {"model_id": "gpt-5.5", "rule_id": approve.id, "action": "approve"},
        {"model_id": "gpt-5.5-pro", "rule_id": approve.id, "action": "approve"},
        {"model_id": "o5", "rule_id": ignore.id, "action": "ignore"},
        {"model_id": "o5-mini", "rule_id": ignore.id, "action": "ignore"},
    ]
    assert f"2 would be approved by rule #{approve.id} openai text gpt-5* approve: " in "\n".join(
        planned["notes"]
    )
    with pytest.raises(ModelNotFoundError, match=r"no model openai/gpt-5\.5"):
        status("gpt-5.5")  # the dry run wrote nothing

    report = discover_models("text", ["openai"], force=True)
    done = report.results[0]
    assert sorted(done.new) == sorted(NEW_IDS)
    assert [d.to_json() for d in done.decided] == planned["decided"]
    assert status("gpt-5.5") is status("gpt-5.5-pro") is ModelStatus.ENABLED
    assert status("o5") is status("o5-mini") is ModelStatus.DISABLED
    assert status("chatgpt-6-latest") is ModelStatus.PENDING  # no rule matches: an admin decides
    ignored = get_model_by_provider_id("openai", "o5", "text")
    assert ignored.admin_notes == f"ignored by {ignore.label}: reasoning is too slow"
    assert get_model_by_provider_id("openai", "gpt-5.5", "text").enabled_at is not None

    by_rule = {e.model_id: e for e in list_audit_entries(actor="rule #")}
    assert set(by_rule) == {"gpt-5.5", "gpt-5.5-pro", "o5", "o5-mini"}
    assert by_rule["gpt-5.5"].actor == f"rule #{approve.id} openai text gpt-5* approve"
    assert (by_rule["o5"].old_value, by_rule["o5"].new_value) == ("pending", "disabled")

    payload = build_notification(report)
    assert payload is not None
    detail = {c["model_id"]: c["detail"] for c in payload["changes"] if c["kind"] == "new"}
    assert detail["gpt-5.5"] == f"approved by rule #{approve.id} openai text gpt-5* approve"
    assert detail["o5"] == f"ignored by rule #{ignore.id} openai text o* ignore"
    assert detail["chatgpt-6-latest"] == "new model, pending approval"
    assert f"gpt-5.5 (approved by rule #{approve.id}" in payload["text"]


def test_rules_never_touch_a_model_an_admin_decided_or_one_already_waiting(
    database: Database, providers: StandInProviders
) -> None:
    discover_models("text", ["openai"])
    assert status("o3") is ModelStatus.PENDING  # new before any rule existed
    update_model_status(get_model_by_provider_id("openai", "o4-mini", "text").id, "enabled")
    update_model_status(get_model_by_provider_id("openai", "gpt-5.4-nano", "text").id, "disabled")
    retired = get_model_by_provider_id("openai", "gpt-4.1-mini", "text")
    update_model_status(retired.id, "deprecated")
    add_approval_rule("text", "*", "approve")  # any provider, every id
    add_approval_rule("text", "o*", "ignore", provider="openai")  # never asked: "*" is first

    report = discover_models("text", ["openai"], force=True)
    assert report.results[0].decided == []
    assert status("o3") is ModelStatus.PENDING
    assert status("o4-mini") is ModelStatus.ENABLED
    assert status("gpt-5.4-nano") is ModelStatus.DISABLED
    assert status("gpt-4.1-mini") is ModelStatus.DEPRECATED  # an admin retired it
    assert list_audit_entries(actor="rule #") == []


def test_a_model_listed_again_after_deprecation_is_decided_by_the_rules(
    database: Database, providers: StandInProviders
) -> None:
    discover_models("text", ["openai"])
    providers.serve("openai", openai_listing(without=("gpt-5.4-nano",)))
    discover_models("text", ["openai"], force=True)
    assert status("gpt-5.4-nano") is ModelStatus.DEPRECATED
    add_approval_rule("text", "gpt-5.4-*", "approve", provider="openai")
    providers.serve("openai", openai_listing())

    report = discover_models("text", ["openai"], force=True)
    assert report.results[0].returned == ["gpt-5.4-nano"]
    assert [d.model_id for d in report.results[0].decided] == ["gpt-5.4-nano"]
    assert status("gpt-5.4-nano") is ModelStatus.ENABLED


def test_the_first_matching_rule_decides_and_moving_a_rule_changes_which(
    database: Database,
) -> None:
    broad = add_approval_rule("text", "gpt-*", "ignore")
    narrow = add_approval_rule("text", "gpt-5*", "approve", provider="openai")
    rules = list_approval_rules()
    assert approval_rules.first_match(rules, "openai", "text", "gpt-5.5") == broad
    assert approval_rules.first_match(rules, "openai", "tts", "gpt-5.5") is None
    assert approval_rules.first_match(rules, "openai", "text", "GPT-5.5") is None  # case matters

    moved = move_approval_rule(narrow.id or 0, 1)
    assert [(r.id, r.position) for r in moved] == [(narrow.id, 1), (broad.id, 2)]
    assert approval_rules.first_match(moved, "openai", "text", "gpt-5.5") == moved[0]
    assert approval_rules.first_match(moved, "mistral", "text", "gpt-5.5") == moved[1]

    removed = remove_approval_rule(narrow.id or 0)
    assert removed.label == f"rule #{narrow.id} openai text gpt-5* approve"
    assert [(r.id, r.position) for r in list_approval_rules()] == [(broad.id, 1)]
    # Each added, moved or removed rule is one entry: add, add, move (both), remove (and move).
    entries = list_audit_entries(action="rule_change")
    assert len(entries) == 6 and {e.field for e in entries} == {"approval_rules"}
    removal = next(e for e in entries if e.new_value is None)
    assert removal.old_value == f"{removed.label} (position 1)"


def test_saving_the_whole_table_keeps_the_ids_of_rules_it_edits(database: Database) -> None:
    first = add_approval_rule("text", "gpt-5*", "approve", provider="openai")
    add_approval_rule("tts", "*", "ignore", provider="elevenlabs")
    saved = save_approval_rules(
        [
            RuleSpec(Category.TEXT, None, "mistral-*", RuleAction.APPROVE, "new"),
            RuleSpec(Category.TEXT, "openai", "gpt-5.5*", RuleAction.APPROVE, None, first.id),
        ]
    )
    assert [(r.position, r.pattern, r.provider) for r in saved] == [
        (1, "mistral-*", None),
        (2, "gpt-5.5*", "openai"),
    ]
    assert saved[1].id == first.id
    with pytest.raises(InvalidInputError, match="unknown provider 'cohere'"):
        save_approval_rules([RuleSpec(Category.TEXT, "cohere", "*", RuleAction.APPROVE)])
    assert list_approval_rules() == saved


def test_rules_test_lists_what_a_rule_would_match_today(database: Database) -> None:
    matched = approval_rules.test_approval_rule("text", "gpt-4o*", provider="openai")
    assert [m.model_id for m in matched] == ["gpt-4o", "gpt-4o-mini"]
    any_provider = approval_rules.test_approval_rule("text", "*gpt-5-mini")
    assert {m.display_id for m in any_provider} == {
        "openai/gpt-5-mini",
        "openrouter/openai/gpt-5-mini",
    }


def test_the_cli_adds_lists_tests_and_removes_rules(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database.url)
    code, out, _ = run(
        capsys,
        *("rules", "add", "--category", "text", "--provider", "openai"),
        *("--pattern", "gpt-5*", "--action", "approve", "--note", "flagship"),
    )
    assert code == 0 and out.startswith("added rule #")
    run(capsys, "rules", "add", "--category", "tts", "--pattern", "*", "--action", "ignore")
    code, out, _ = run(capsys, "rules", "list", "--json")
    rules = json.loads(out)
    assert [{k: v for k, v in r.items() if k != "id"} for r in rules] == [
        {
            "position": 1,
            "category": "text",
            "provider": "openai",
            "pattern": "gpt-5*",
            "action": "approve",
            "note": "flagship",
        },
        {
            "position": 2,
            "category": "tts",
            "provider": None,
            "pattern": "*",
            "action": "ignore",
            "note": None,
        },
    ]
    code, out, err = run(
        capsys, "rules", "test", "--category", "text", "--provider", "openai", "--pattern", "gpt-5*"
    )
    assert code == 0 and "openai/gpt-5-mini" in out and "matches 6 catalog model(s)" in err
    code, out, _ = run(capsys, "rules", "remove", str(rules[0]["id"]))
    assert (code, out.strip()) == (0, f"removed rule #{rules[0]['id']} openai text gpt-5* approve")
    code, out, _ = run(capsys, "rules", "list", "--json")
    assert [r["pattern"] for r in json.loads(out)] == ["*"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--category", "video", "--pattern", "x", "--action", "approve"], "invalid choice"),
        (
            ["--category", "text", "--provider", "cohere", "--pattern", "x", "--action", "approve"],
            "unknown provider 'cohere'",
        ),
        (
            [
                "--category",
                "tts",
                "--provider",
                "anthropic",
                "--pattern",
                "x",
                "--action",
                "approve",
            ],
            "unknown provider 'anthropic' for category 'tts'",
        ),
        (["--category", "text", "--pattern", "x", "--action", "allow"], "invalid choice"),
        (["--category", "text", "--pattern", "  ", "--action", "approve"], "the pattern is empty"),
    ],
)
def test_a_bad_rule_is_one_line_exit_2_and_changes_nothing(
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    says: str,
) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database.url)
    code, out, err = run(capsys, "rules", "add", *argv)
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and says in err, err
    assert list_approval_rules() == []


def test_removing_an_unknown_rule_is_one_line_exit_2(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database.url)
    code, _, err = run(capsys, "rules", "remove", "42")
    assert code == 2 and err.strip() == "error: no approval rule #42; `rules list` shows them"


def test_downgrading_refuses_while_rules_exist(database: Database) -> None:
    add_approval_rule("text", "gpt-5*", "approve")
    with pytest.raises(DatabaseError, match=r"refusing to drop the approval rules, 1 rule\(s\)"):
        downgrade(database, "0004")
    assert is_up_to_date(database) and len(list_approval_rules()) == 1


# --- the dashboard: Settings → Approval rules ----------------------------------------------------


@pytest.mark.usefixtures("loopback")
def test_the_settings_rules_table_previews_matches_and_saves_in_the_new_order(
    database: Database,
) -> None:
    flagship = add_approval_rule("text", "gpt-5*", "approve", provider="openai")
    at = open_app("settings")
    assert_clean(at)
    assert "1. openai text gpt-5* approve — matches 6 listed models" in everything(at)
    assert at.button(key="settings-rules-save").disabled  # nothing to save yet

    # A new row asked first: the preview counts its matches before anything is saved.
    at.session_state["settings-rules-grid-0"] = {
        "edited_rows": {},
        "added_rows": [
            {
                "position": 1,
                "category": "text",
                "provider": "openai",
                "pattern": "gpt-4o*",
                "action": "ignore",
                "note": "old",
            }
        ],
        "deleted_rows": [],
    }
    at.run()
    text = everything(at)
    assert "1. openai text gpt-4o* ignore — matches 2 listed models" in text
    assert "2. openai text gpt-5* approve — matches 6 listed models" in text
    assert [r.pattern for r in list_approval_rules()] == ["gpt-5*"]  # not saved yet

    at = click(at, "settings-rules-save")
    assert_clean(at)
    assert toasts(at) == ["Saved 2 approval rule(s)."]
    saved = list_approval_rules()
    assert [(r.pattern, r.action, r.note) for r in saved] == [
        ("gpt-4o*", RuleAction.IGNORE, "old"),
        ("gpt-5*", RuleAction.APPROVE, None),
    ]
    assert saved[1].id == flagship.id  # the edited rule keeps its id (and its audit history)


@pytest.mark.usefixtures("loopback")
def test_an_invalid_row_is_named_and_nothing_can_be_saved(database: Database) -> None:
    add_approval_rule("text", "gpt-5*", "approve", provider="openai")
    at = open_app("settings")
    at.session_state["settings-rules-grid-0"] = {
        "edited_rows": {0: {"pattern": "  "}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert_clean(at)
    assert messages(at, "warning") == [
        "row 1: the pattern is empty: give a glob on the model id, e.g. gpt-5*"
    ]
    assert at.button(key="settings-rules-save").disabled
    assert [r.pattern for r in list_approval_rules()] == ["gpt-5*"]
