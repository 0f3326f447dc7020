"""The dashboard's plain logic, without Streamlit: time, escaping, grid diffs, summaries, CSV,
access rules."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from registry.admin import access
from registry.admin.outcomes import refresh_line
from registry.admin.timefmt import ago, until
from registry.admin.views import (
    RowSnapshot,
    edits_from_editor,
    escape_markdown,
    label,
    metadata_summary,
    models_csv,
    selected_rows,
)
from registry.discovery import DiscoveryStatus
from registry.errors import InvalidInputError
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


# --- CSV injection (OWASP) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "=1+1",
        "+1",
        "-1",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
        " =HYPERLINK(1)",  # a leading space
        "\u00a0=HYPERLINK(1)",  # a no-break space
        "\n=HYPERLINK(1)",
        "\uff1dHYPERLINK(1)",  # a full-width equals sign
        ";=HYPERLINK(1)",
        "\u200b=1",  # a zero-width space
        "\x00=1",
    ],
)
def test_csv_cells_a_spreadsheet_could_run_get_a_quote_prefix(cell: str) -> None:
    text = models_csv([_model(display_name=cell)], {}).decode()
    record = dict(zip(*csv.reader(io.StringIO(text)), strict=True))
    assert record["display_name"] == "'" + cell


@pytest.mark.parametrize("cell", ["gpt-4o", "a=b", "Rachel (warm)", "", "50% off"])
def test_csv_cells_without_a_formula_stay_as_they_are(cell: str) -> None:
    text = models_csv([_model(display_name=cell or "x", admin_notes=cell)], {}).decode()
    record = dict(zip(*csv.reader(io.StringIO(text)), strict=True))
    assert record["admin_notes"] == cell


def test_every_csv_field_is_quoted() -> None:
    text = models_csv([_model(display_name='say "hi"')], {}).decode()
    header, row = text.splitlines()
    assert header.startswith('"id","provider","category","model_id"')
    assert row.count('","') == len(header.split(",")) - 1
    assert '"say ""hi"""' in row


# --- hosts, lockout, verified email ------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost", True),
        ("localhost:8501", True),
        ("127.0.0.1:8501", True),
        ("[::1]:8501", True),
        ("LOCALHOST.", True),
        ("registry.example.com", True),
        ("registry.example.com:443", True),
        ("eu.apps.example.org", True),
        ("evil.test", False),
        ("evil.test:8501", False),
        ("127.0.0.1.evil.test", False),
        ("localhost@evil.test", False),
        ("evil.test/localhost", False),
        ("apps.example.org.evil.test", False),
        ("localhost:port", False),
        ("", False),
        (None, False),
    ],
)
def test_a_request_must_name_a_loopback_or_allowed_host(host: str | None, allowed: bool) -> None:
    listed = ["registry.example.com", "*.apps.example.org", "*"]  # a bare * adds nothing
    assert access.host_allowed(host, listed) is allowed


def test_password_sign_in_locks_after_too_many_recent_failures_and_opens_again() -> None:
    window = timedelta(minutes=5)
    failures = [NOW - timedelta(minutes=m) for m in (4, 3, 1)]
    assert access.lockout_remaining(failures, NOW, 4, window) == 0
    # The oldest of the last three leaves the window in one minute.
    assert access.lockout_remaining(failures, NOW, 3, window) == 60
    assert access.lockout_remaining(failures, NOW + timedelta(minutes=1), 3, window) == 0
    naive = [f.replace(tzinfo=None) for f in failures]  # as SQLite returns them
    assert access.lockout_remaining(naive, NOW, 3, window) == 60


def test_a_client_waits_after_its_free_failures_and_the_wait_doubles_up_to_the_window() -> None:
    window = timedelta(minutes=1)

    def wait(count: int, at: datetime = NOW) -> float:
        return access.throttle_wait([NOW - timedelta(seconds=0)] * count, at, 3, window)

    assert [wait(n) for n in (0, 2, 3, 4, 5, 9, 20)] == [0, 0, 1, 2, 4, 60, 60]
    assert wait(5, NOW + timedelta(seconds=3)) == 1  # counted from the latest failure
    old = [NOW - timedelta(minutes=2)] * 10  # outside the window: forgotten
    assert access.throttle_wait(old, NOW, 3, window) == 0


LOCAL_PROXY = access.parse_trusted_proxies("127.0.0.1, ::1")


def test_a_server_that_believes_every_forwarded_header_leaves_the_reported_peer() -> None:
    assert access.client_address("203.0.113.9", "203.0.113.9", (), "*") == "203.0.113.9"
    assert access.client_address("203.0.113.9", "203.0.113.9", (), "10.0.0.0/8") == "203.0.113.9"


@pytest.mark.parametrize(
    ("reported", "forwarded", "trusted", "recorded"),
    [
        ("198.51.100.7", None, (), "198.51.100.7"),
        # Forged by a client that connects directly: the socket peer is recorded.
        ("198.51.100.7", "203.0.113.9", (), "198.51.100.7"),
        (None, "203.0.113.9", (), None),
        # Streamlit's server already put the header's address in the peer's place (it does
        # for a connection from this machine): undone unless this machine is a trusted proxy.
        ("203.0.113.9", "203.0.113.9", (), None),
        ("203.0.113.9", "203.0.113.9", LOCAL_PROXY, "203.0.113.9"),
        # A trusted proxy appends the address it saw: whatever the client forged before it
        # stays to its left.
        ("203.0.113.9", "192.0.2.66, 203.0.113.9", LOCAL_PROXY, "203.0.113.9"),
        (None, "192.0.2.66, 203.0.113.9", LOCAL_PROXY, "203.0.113.9"),
        (
            "10.1.2.3",
            "192.0.2.66, 198.51.100.1, 10.0.0.5",
            access.parse_trusted_proxies("10.0.0.0/8"),
            "198.51.100.1",
        ),
        ("10.1.2.3", "not-an-address", access.parse_trusted_proxies("10.0.0.0/8"), "10.1.2.3"),
    ],
)
def test_forwarded_for_counts_only_from_a_trusted_proxy(
    reported: str | None, forwarded: str | None, trusted: tuple[Any, ...], recorded: str | None
) -> None:
    assert access.client_address(reported, forwarded, trusted) == recorded


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    assert access.parse_trusted_proxies(None) == ()
    assert [str(n) for n in access.parse_trusted_proxies(" 10.0.0.0/8,[::1] ,")] == [
        "10.0.0.0/8",
        "::1/128",
    ]
    with pytest.raises(InvalidInputError, match="REGISTRY_TRUSTED_PROXIES must list IP"):
        access.parse_trusted_proxies("proxy.internal")


def test_a_sign_in_lapses_on_sign_out_password_change_and_idle_time() -> None:
    mark = access.password_mark("old")
    held = access.SignIn(email="a@b.c", last_seen=1000.0, password_mark=mark)
    assert held.lapsed(1000.0 + 599, 600, mark) is None
    assert held.lapsed(1000.0 + 601, 600, mark) == (
        "Signed out after 10 minutes without activity: sign in again."
    )
    assert held.lapsed(1001.0, 600, access.password_mark("new")) == (
        "The admin password has changed: sign in again."
    )
    assert "old" not in mark
    held.ended = True
    assert held.lapsed(1001.0, 600, mark) == "You signed out."


def test_settings_must_be_positive_numbers() -> None:
    assert access.positive_number("REGISTRY_SESSION_IDLE_MINUTES", None, 30) == 30
    assert access.positive_number("REGISTRY_SESSION_IDLE_MINUTES", "2.5", 30) == 2.5
    for bad in ("0", "-1", "soon", "nan", "inf"):
        with pytest.raises(InvalidInputError, match="REGISTRY_SESSION_IDLE_MINUTES must be"):
            access.positive_number("REGISTRY_SESSION_IDLE_MINUTES", bad, 30)


@pytest.mark.parametrize(
    ("claim", "verified"),
    [
        (True, True),
        ("true", True),
        ("TRUE", True),
        (False, False),
        ("false", False),
        (None, False),
        (1, False),
        ("yes", False),
    ],
)
def test_only_a_verified_email_claim_counts(claim: object, verified: bool) -> None:
    assert access.email_verified(claim) is verified


def test_labels_are_inert_one_line_and_cut() -> None:
    assert label("gpt-4o\u202eini-m") == "gpt-4o\\u202eini-m"
    assert label("two\nlines\x1b[2J") == "two lines\\x1b[2J"
    assert len(label("x" * 10_000)) == 120
    assert escape_markdown("a\u202eb*") == r"a\\u202eb\*"
