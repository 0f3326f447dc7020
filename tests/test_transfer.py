"""Export and import of the admin state: SQLite → PostgreSQL and back, refusals that name the
place in the file and write nothing, and a second import that changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import MetaData, select

from registry.approval_rules import add_approval_rule, list_approval_rules
from registry.audit import list_audit_entries
from registry.cli import main
from registry.client import Registry
from registry.db import Database
from registry.keys import set_api_key
from registry.settings import set_global_config
from registry.store import (
    edit_model,
    get_default_model_for_provider,
    get_model_by_provider_id,
    set_default_model,
    set_successor,
    update_model_status,
)
from registry.testing import as_default
from registry.transfer import FORMAT, ImportFileError, export_admin_state, import_admin_state
from registry.types import ModelStatus
from tests.conftest import make_database
from tests.dashboard_support import assert_clean, click, everything, messages, open_app, toasts


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@contextmanager
def on(database: Database) -> Iterator[Registry]:
    """The CLI and the module functions on `database` for the block."""
    with Registry(database=database) as registry, as_default(registry):
        yield registry


def dump(database: Database) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table: what "nothing was written" is checked against."""
    metadata = MetaData()
    with database.read() as session:
        metadata.reflect(bind=session.connection())
        return {
            name: sorted(tuple(map(repr, row)) for row in session.execute(select(table)))
            for name, table in metadata.tables.items()
        }


def shape_admin_state() -> None:
    """What admins of a staging catalog did: every kind of state an export carries."""
    gpt4o = get_model_by_provider_id("openai", "gpt-4o", "text")
    update_model_status(gpt4o.id, "disabled", notes="too slow for stories")
    set_successor(gpt4o.id, "gpt-4.1")
    edit_model(
        get_model_by_provider_id("openai", "gpt-5", "text").id,
        display_name="GPT-5 (stories)",
        metadata={"retires_at": "2027-06-30", "input_price_per_mtok": 1.25},
    )
    set_default_model("openai", "text", "gpt-5")
    set_global_config("text", "openai", "gpt-5", temperature=0.4, max_tokens=3000)
    add_approval_rule("text", "gpt-5*", "approve", provider="openai", note="flagship")
    add_approval_rule("text", "o*", "ignore", provider="openai")


def without_time(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "exported_at"}


def test_export_from_sqlite_imports_into_a_fresh_postgresql_and_round_trips_exactly(
    sqlite_database: Database,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shape_admin_state()
    code, staging_yaml, _ = run(capsys, "export")
    assert code == 0
    staging = yaml.safe_load(staging_yaml)
    assert staging["format"] == FORMAT
    exported = tmp_path / "staging.yaml"
    exported.write_text(staging_yaml, encoding="utf-8")

    production = make_database("postgresql", tmp_path, request)
    with on(production):
        before = dump(production)
        code, out, _ = run(capsys, "import", str(exported), "--dry-run", "--json")
        assert code == 0
        preview = json.loads(out)
        assert dump(production) == before  # the dry run wrote nothing
        assert preview["dry_run"] is True
        assert {
            "kind": "status",
            "target": "openai/gpt-4o (text)",
            "from": "enabled",
            "to": "disabled",
        } in preview["changes"]
        assert {
            "kind": "default",
            "target": "openai (text)",
            "from": "gpt-5.4-mini",
            "to": "gpt-5",
        } in preview["changes"]

        code, out, _ = run(capsys, "import", str(exported), "--json")
        applied = json.loads(out)
        assert code == 0 and applied == {"dry_run": False, "changes": preview["changes"]}
        imports = list_audit_entries(action="import")
        assert len(imports) == 1 and imports[0].actor == "cli"
        assert f"{len(preview['changes'])} change(s)" in (imports[0].new_value or "")
        assert get_default_model_for_provider("openai", "text") == "gpt-5"
        assert [r.pattern for r in list_approval_rules()] == ["gpt-5*", "o*"]

        code, production_yaml, _ = run(capsys, "export")
        assert without_time(yaml.safe_load(production_yaml)) == without_time(staging)

        code, out, _ = run(capsys, "import", str(exported), "--json")
        assert (code, json.loads(out)) == (0, {"dry_run": False, "changes": []})
        assert len(list_audit_entries(action="import")) == 1  # nothing changed, nothing logged

    # And back: the PostgreSQL export imported into the SQLite catalog changes nothing.
    back = tmp_path / "production.yaml"
    back.write_text(production_yaml, encoding="utf-8")
    code, out, _ = run(capsys, "import", str(back), "--json")
    assert (code, json.loads(out)["changes"]) == (0, [])


def test_the_export_holds_only_admin_decisions_in_a_stable_order(
    database: Database,
) -> None:
    shape_admin_state()
    set_api_key("mistral", "mk-secret-value-1234567890")
    set_api_key("azure", "az-secret-value-1234567890", region="westeurope")
    document = export_admin_state()
    text = json.dumps(document)
    assert "secret-value" not in text and "westeurope" not in text
    assert list(document) == ["format", "exported_at", "models", "defaults", "settings", "rules"]
    models = document["models"]
    assert models == sorted(models, key=lambda m: (m["category"], m["provider"], m["model_id"]))
    by_id = {(m["provider"], m["model_id"]): m for m in models if m["category"] == "text"}
    assert by_id[("openai", "gpt-4o")] == {
        "provider": "openai",
        "category": "text",
        "model_id": "gpt-4o",
        "status": "disabled",
        "successor_model_id": "gpt-4.1",
        "admin_notes": "too slow for stories",
    }
    assert by_id[("openai", "gpt-5")]["display_name"] == "GPT-5 (stories)"
    assert by_id[("openai", "gpt-5")]["metadata"] == {
        "input_price_per_mtok": 1.25,
        "retires_at": "2027-06-30T00:00:00+00:00",
    }
    assert set(by_id[("openai", "gpt-4.1")]) == {"provider", "category", "model_id", "status"}
    assert {"category": "text", "provider": "openai", "model_id": "gpt-5"} in document["defaults"]
    assert document["settings"] == {
        "ai.max_tokens": "3000",
        "ai.model": "gpt-5",
        "ai.provider": "openai",
        "ai.temperature": "0.4",
        "tts.model": "gpt-4o-mini-tts",  # seeded with the curated catalog
        "tts.provider": "openai",
    }
    assert document["rules"] == [
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
            "category": "text",
            "provider": "openai",
            "pattern": "o*",
            "action": "ignore",
            "note": None,
        },
    ]


def test_models_the_target_lacks_are_created_and_unnamed_ones_left_alone(
    database: Database,
) -> None:
    update_model_status(
        get_model_by_provider_id("mistral", "mistral-large-latest", "text").id, "disabled"
    )
    document = {
        "format": FORMAT,
        "models": [
            {"provider": "openai", "category": "text", "model_id": "gpt-5.5", "status": "enabled"},
            {
                "provider": "elevenlabs",
                "category": "tts",
                "model_id": "voice-from-staging",
                "status": "pending",
                "display_name": "Narrator",
            },
        ],
        "defaults": [{"category": "text", "provider": "openai", "model_id": "gpt-5.5"}],
    }
    report = import_admin_state(document)
    assert [c.kind for c in report.changes] == ["model", "model", "display_name", "default"]
    created = get_model_by_provider_id("openai", "gpt-5.5", "text")
    assert created.status is ModelStatus.ENABLED and created.enabled_at is not None
    voice = get_model_by_provider_id("elevenlabs", "voice-from-staging", "tts")
    assert (voice.status, voice.display_name) == (ModelStatus.PENDING, "Narrator")
    untouched = get_model_by_provider_id("mistral", "mistral-large-latest", "text")
    assert untouched.status is ModelStatus.DISABLED
    assert get_default_model_for_provider("openai", "text") == "gpt-5.5"
    assert import_admin_state(document).changes == ()


def test_a_file_with_an_unknown_status_is_refused_in_one_line_with_nothing_written(
    database: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = export_admin_state()
    document["models"][3]["status"] = "retired"
    document["rules"] = [
        {"category": "text", "provider": None, "pattern": "*", "action": "approve"}
    ]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    named = f"{document['models'][3]['provider']}/{document['models'][3]['model_id']}"
    before = dump(database)
    code, out, err = run(capsys, "import", str(path))
    assert (code, out) == (2, "")
    assert err.strip() == (
        f"error: {path}: models[3] ({named}).status: unknown status 'retired': "
        "expected one of pending, enabled, disabled, deprecated"
    )
    assert dump(database) == before


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "format: model-registry/1\nmodels:\n  - provider: openai\n    category: [text\n",
            "line 5, column 1: not valid YAML",
        ),
        ('{"format": "model-registry/1", "models": [,]}', "line 1, column 43: not valid JSON"),
        ("- just\n- a list\n", "the file is not a model registry export"),
        ("format: model-registry/9\n", "format: expected 'model-registry/1'"),
        (
            "format: model-registry/1\nmodels:\n  - {provider: cohere, category: text, "
            "model_id: c, status: enabled}\n",
            "models[0].provider: unknown provider 'cohere' for category 'text'",
        ),
        (
            "format: model-registry/1\ndefaults:\n  - {category: text, provider: openai, "
            "model_id: o3}\n",
            "defaults[0].model_id: the default openai/o3 is not in the file or the catalog",
        ),
        (
            "format: model-registry/1\nmodels:\n  - {provider: openai, category: text, "
            "model_id: gpt-5.4-mini, status: disabled}\n",
            "models[0] (openai/gpt-5.4-mini).status: openai/gpt-5.4-mini is the text default",
        ),
        (
            "format: model-registry/1\nrules:\n"
            "  - {category: text, pattern: '', action: approve}\n",
            "rules[0]: the pattern is empty",
        ),
        ("format: model-registry/1\nsettings:\n  ai.temperature: 7\n", "settings.ai.temperature"),
        (
            "format: model-registry/1\nsettings:\n  registry.catalog_data: x\n",
            "settings.registry.catalog_data: kept by `migrate`, not an admin setting",
        ),
    ],
)
def test_a_bad_file_names_the_place_in_one_line_and_writes_nothing(
    database: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    says: str,
) -> None:
    path = tmp_path / "import.yaml"
    path.write_text(text, encoding="utf-8")
    before = dump(database)
    code, out, err = run(capsys, "import", str(path), "--json")
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"error: {path}: "), err
    assert says in err, err
    assert dump(database) == before


def test_clearing_an_edit_in_the_file_clears_it_in_the_catalog(database: Database) -> None:
    shape_admin_state()
    document = export_admin_state()
    entry = next(m for m in document["models"] if m["model_id"] == "gpt-4o")
    del entry["admin_notes"], entry["successor_model_id"]
    gpt5 = next(m for m in document["models"] if m["model_id"] == "gpt-5" and "metadata" in m)
    del gpt5["display_name"]
    gpt5["metadata"] = {"retires_at": "2028-01-31"}
    changes = {(c.kind, c.target): (c.old, c.new) for c in import_admin_state(document).changes}
    assert changes == {
        ("successor_model_id", "openai/gpt-4o (text)"): ("gpt-4.1", None),
        ("admin_notes", "openai/gpt-4o (text)"): ("too slow for stories", None),
        ("display_name", "openai/gpt-5 (text)"): ("GPT-5 (stories)", None),
        ("metadata.input_price_per_mtok", "openai/gpt-5 (text)"): (1.25, None),
        ("metadata.retires_at", "openai/gpt-5 (text)"): (
            "2027-06-30T00:00:00+00:00",
            "2028-01-31T00:00:00+00:00",
        ),
    }
    gpt4o = get_model_by_provider_id("openai", "gpt-4o", "text")
    assert (gpt4o.admin_notes, gpt4o.successor_model_id) == (None, None)
    gpt5["metadata"] = {"retires_at": "2028-01-31T00:00:00+00:00"}  # as exports write dates
    assert without_time(export_admin_state()) == without_time(document)


def test_the_library_refuses_a_document_before_writing(database: Database) -> None:
    with pytest.raises(ImportFileError, match=r"^models\[0\] \(openai/x\)\.status: missing$"):
        import_admin_state(
            {
                "format": FORMAT,
                "models": [{"provider": "openai", "category": "text", "model_id": "x"}],
            }
        )
    assert list_audit_entries(action="import") == []


# --- the dashboard: Settings → Export and Import -------------------------------------------------


@pytest.mark.usefixtures("loopback")
def test_the_settings_import_previews_the_changes_and_applies_them_on_apply(
    database: Database,
) -> None:
    document = export_admin_state()
    gpt4o = next(m for m in document["models"] if m["model_id"] == "gpt-4o")
    gpt4o |= {"status": "disabled", "admin_notes": "from staging"}
    document["rules"] = [
        {
            "category": "text",
            "provider": "openai",
            "pattern": "o*",
            "action": "ignore",
            "note": None,
        }
    ]
    data = yaml.safe_dump(document).encode()
    at = open_app("settings")
    assert_clean(at)
    before = dump(database)  # after the sign-in, which records the admin
    at.file_uploader(key="settings-import-file-0").upload("staging.yaml", data).run()
    assert_clean(at)
    assert "3 change(s) — preview, nothing was written" in everything(at)
    table = at.dataframe[-1].value
    assert list(table["change"]) == ["status", "admin_notes", "rule"]
    assert list(table["to"]) == ["disabled", "from staging", "openai text o* ignore"]
    assert dump(database) == before

    at = click(at, "settings-import-apply")
    assert_clean(at)
    assert toasts(at) == ["Imported 3 change(s) from staging.yaml."]
    model = get_model_by_provider_id("openai", "gpt-4o", "text")
    assert (model.status, model.admin_notes) == (ModelStatus.DISABLED, "from staging")
    assert [e.actor for e in list_audit_entries(action="import")] == ["local-admin@localhost"]


@pytest.mark.usefixtures("loopback")
def test_the_settings_import_names_the_place_of_a_bad_file(database: Database) -> None:
    at = open_app("settings")
    bad = b"format: model-registry/1\nmodels:\n  - {provider: openai, category: text,\n"
    at.file_uploader(key="settings-import-file-0").upload("bad.yaml", bad).run()
    assert_clean(at)
    (error,) = messages(at, "error")
    assert error.startswith("Not imported: line 4, column 1: not valid YAML")
    assert "settings-import-apply" not in [b.key for b in at.button]
