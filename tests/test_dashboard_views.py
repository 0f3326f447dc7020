"""The dashboard's plain logic, without Streamlit: time, escaping, grid diffs, summaries, CSV,
access rules."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from registry.admin import access
from registry.admin.timefmt import ago, until
from registry.admin.views import (
    RowSnapshot,
    edits_from_editor,
    escape_markdown,
    metadata_summary,
    models_csv,
    refresh_line,
    selected_rows,
    summarize_report,
)
from registry.discovery import DiscoveryReport, DiscoveryStatus, ProviderResult
from registry.store import ModelEdit
from registry.types import CatalogModel, Category, ModelSource, ModelStatus

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=10), "just now"),
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=3, seconds=10), "3 minutes ago"),
        (timedelta(hours=2), "2 hours ago"),
        (timedelta(hours=30), "yesterday"),
        (timedelta(days=5), "5 days ago"),
        (timedelta(days=60), "2025-04-02"),
        (timedelta(seconds=-30), "just now"),  # a clock slightly ahead
    ],
)
def test_ago(delta: timedelta, text: str) -> None:
    assert ago(NOW - delta, NOW) == text


def test_ago_treats_naive_times_as_utc_and_none_as_never() -> None:
    assert ago((NOW - timedelta(minutes=5)).replace(tzinfo=None), NOW) == "5 minutes ago"
    assert ago(None, NOW) == "never"


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=-1), "now"),
        (timedelta(seconds=20), "in 1 min"),
        (timedelta(minutes=4, seconds=1), "in 5 min"),
        (timedelta(minutes=90), "in 1 h 30 min"),
        (timedelta(hours=2), "in 2 h"),
    ],
)
def test_until(delta: timedelta, text: str) -> None:
    assert until(NOW + delta, NOW) == text


def test_escape_markdown_leaves_nothing_to_render() -> None:
    hostile = "**b** [l](http://x.io) <img src=x> :red[a] $x$ `c` # h\nnext"
    escaped = escape_markdown(hostile)
    # Every ASCII punctuation mark is backslash-escaped; the line break became a space.
    assert escaped.startswith(r"\*\*b\*\* \[l\]\(http\:\/\/x\.io\) \<img src\=x\>")
    assert "\n" not in escaped
    assert escape_markdown("gpt-4o") == r"gpt\-4o"


def _model(**overrides: object) -> CatalogModel:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "provider": "openai",
        "category": Category.TEXT,
        "model_id": "gpt-x",
        "display_name": "GPT X",
        "description": None,
        "context_window": None,
        "supports_streaming": True,
        "status": ModelStatus.PENDING,
        "source": ModelSource.API,
        "discovered_at": NOW,
        "enabled_at": None,
        "deprecated_at": None,
        "deprecated_by_admin": False,
        "archived_at": None,
        "last_seen_at": NOW,
        "retires_at": None,
        "successor_model_id": None,
        "provider_metadata": None,
        "admin_notes": None,
        "created_at": NOW,
        "updated_at": NOW,
        "updated_by": None,
    }
    values.update(overrides)
    return CatalogModel(**values)  # type: ignore[arg-type]


def test_metadata_summary() -> None:
    assert metadata_summary(_model()) == "No metadata"
    # The context window has its own column; alone it is not "metadata" to summarise.
    assert metadata_summary(_model(context_window=8000)) == "No metadata"
    summary = metadata_summary(
        _model(
            supports_streaming=False,
            provider_metadata={
                "id": "gpt-x",
                "created": 1_700_000_000,
                "owned_by": "system",
                "labels": {"accent": "british", "gender": "female"},
                "preview_url": "https://cdn.example/x.mp3",
            },
        )
    )
    assert summary == (
        "no streaming · created: 2023-11-14 · owned_by: system · "
        "labels: accent=british, gender=female"
    )


ROWS = [
    RowSnapshot("id-0", "openai/a", "openai", "a", "enabled", "A", None),
    RowSnapshot("id-1", "openai/b", "openai", "b", "enabled", "B", "old note"),
    RowSnapshot("id-2", "openai/c", "openai", "c", "enabled", "C", None),
]


def test_edits_from_editor_keeps_only_real_changes() -> None:
    state = {
        "edited_rows": {
            0: {"display_name": "A", "select": True},  # same name: no edit
            "1": {"admin_notes": None, "status": "disabled"},  # cleared note, new status
            2: {"display_name": "  C prime  ", "admin_notes": "  "},
            7: {"display_name": "beyond the page"},
        }
    }
    assert edits_from_editor(ROWS, state) == [
        ModelEdit("id-1", status="disabled", admin_notes=""),
        ModelEdit("id-2", display_name="C prime"),
    ]
    # A section that allows notes only ignores the rest.
    assert edits_from_editor(ROWS, state, ["admin_notes"]) == [ModelEdit("id-1", admin_notes="")]
    assert edits_from_editor(ROWS, None) == []


def test_selected_rows_with_and_without_select_all() -> None:
    state = {"edited_rows": {0: {"select": True}, 2: {"select": False}}}
    assert [r.id for r in selected_rows(ROWS, state)] == ["id-0"]
    assert [r.id for r in selected_rows(ROWS, state, select_all=True)] == ["id-0", "id-1"]


def test_summaries_of_a_refresh() -> None:
    ok = ProviderResult("openai", Category.TEXT, discovered=10, new=["a", "b"], deprecated=["c"])
    failed = ProviderResult("xai", Category.TEXT, errors=["xai: the key was rejected"])
    skipped = ProviderResult("google", Category.TEXT, rate_limited=True, warnings=["later"])
    summary = summarize_report(DiscoveryReport([ok, failed, skipped]))
    assert summary.kind == "warning"
    assert summary.headline == (
        "Refreshed 1 of 3 provider(s): 2 new, 1 deprecated, 1 error(s); 1 skipped (refreshed "
        "in the last 5 minutes — force a refresh). New models wait in Pending for approval"
    )
    assert summary.lines == [
        "openai: 10 listed, 2 new, 1 deprecated",
        "xai: failed — the key was rejected",
        "google: not refreshed — later",
    ]
    assert summarize_report(DiscoveryReport([failed])).kind == "error"
    assert summarize_report(DiscoveryReport([ok])).kind == "success"


def _state(**overrides: object) -> DiscoveryStatus:
    values: dict[str, object] = {
        "provider": "openai",
        "category": Category.TEXT,
        "last_attempt_at": None,
        "last_success_at": None,
        "outcome": None,
        "source": None,
        "discovered_count": 0,
        "new_count": 0,
        "deprecated_count": 0,
        "errors": [],
        "next_allowed_at": None,
        "in_progress": False,
    }
    values.update(overrides)
    return DiscoveryStatus(**values)  # type: ignore[arg-type]


def test_refresh_line() -> None:
    assert refresh_line(_state(), NOW) == "Never refreshed"
    recent = _state(
        last_attempt_at=NOW - timedelta(minutes=3),
        last_success_at=NOW - timedelta(minutes=3),
        outcome="ok",
        next_allowed_at=NOW + timedelta(minutes=2),
    )
    assert refresh_line(recent, NOW) == "Refreshed 3 minutes ago — next refresh in 2 min"
    old = _state(last_success_at=NOW - timedelta(hours=2), outcome="ok")
    assert refresh_line(old, NOW) == "Refreshed 2 hours ago"
    failed = _state(
        last_attempt_at=NOW - timedelta(minutes=1),
        last_success_at=NOW - timedelta(days=2),
        outcome="error",
    )
    assert refresh_line(failed, NOW) == "Last refresh failed 1 minute ago (last success 2 days ago)"
    assert refresh_line(_state(in_progress=True), NOW) == "A refresh is running now"


def test_models_csv_neutralises_spreadsheet_formulas() -> None:
    model = _model(display_name='=HYPERLINK("http://x")', admin_notes="+1 note")
    rows = list(
        csv.reader(io.StringIO(models_csv([model], {("text", "openai"): "gpt-x"}).decode()))
    )
    header, row = rows
    record = dict(zip(header, row, strict=True))
    assert record["display_name"] == '\'=HYPERLINK("http://x")'
    assert record["admin_notes"] == "'+1 note"
    assert (record["display_id"], record["is_default"]) == ("openai/gpt-x", "True")


# --- access rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
        ("example.com", False),
        ("", False),
        (None, False),
    ],
)
def test_is_loopback(address: str | None, loopback: bool) -> None:
    assert access.is_loopback(address) is loopback


def _config(**overrides: object) -> access.AccessConfig:
    values: dict[str, object] = {
        "auth": None,
        "password": None,
        "admin_emails": (),
        "password_admin_email": access.PASSWORD_ADMIN_EMAIL,
        "server_address": "0.0.0.0",
    }
    values.update(overrides)
    return access.AccessConfig(**values)  # type: ignore[arg-type]


def test_access_mode_follows_the_configuration() -> None:
    assert access.decide(_config(auth={"client_id": "x"}, password="p")) is access.AccessMode.OIDC
    assert access.decide(_config(password="p")) is access.AccessMode.PASSWORD
    assert access.decide(_config(server_address="127.0.0.1")) is access.AccessMode.LOOPBACK
    assert access.decide(_config()) is access.AccessMode.REFUSED


def test_allow_list() -> None:
    allowed = access.parse_allow_list(" Ada@Example.com, @ops.example.org ,not-an-email,")
    assert allowed == ("ada@example.com", "@ops.example.org")
    assert access.parse_allow_list(["A@x.io", "a@x.io"]) == ("a@x.io",)
    assert access.email_allowed("ADA@example.com", allowed)
    assert access.email_allowed("bob@ops.example.org", allowed)
    assert not access.email_allowed("bob@evil-ops.example.org", allowed)
    assert not access.email_allowed("eve@example.com", allowed)
    assert not access.email_allowed(None, allowed)


def test_password_and_login_providers() -> None:
    assert access.password_matches("s3cret", "s3cret")
    assert not access.password_matches("s3cre", "s3cret")
    assert not access.password_matches(None, "s3cret")
    assert access.login_providers({"client_id": "x", "redirect_uri": "u"}) == [None]
    assert access.login_providers(
        {"redirect_uri": "u", "cookie_secret": "c", "google": {}, "okta": {}}
    ) == ["google", "okta"]
