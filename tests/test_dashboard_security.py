"""The dashboard against hostile provider text and hostile visitors, driven through AppTest.

Provider text arrives inert (bidi overrides and controls escaped, long ids cut in pickers);
password guessing is throttled across sessions and audited; sessions end when the password
changes or after the idle time; before login an unreachable database is only "unavailable";
OIDC counts an allow-listed email only when the identity provider verified it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from registry.admin import access
from registry.admin.ui_common import SIGN_IN_KEY
from registry.audit import Actor, audit_row, list_audit_entries, write_audit
from registry.db import Database, set_database
from registry.schema import AIModel
from registry.store import upsert_discovered_models
from registry.types import DiscoveredModel
from tests.dashboard_support import (
    APP,
    TIMEOUT,
    assert_clean,
    click,
    everything,
    grid_frame,
    messages,
    open_app,
    select_models,
    served_on,
    toasts,
)

PASSWORD = "correct horse battery staple"
SIGN_IN = "FormSubmitter:registry-login-Sign in"
LOCKED = "Too many failed sign-in attempts"


# --- provider text -----------------------------------------------------------------------------

SPOOF = "gpt-4o\u202eini-m"  # renders as "gpt-4o-mini" in a browser that obeys the override
HUGE = "x" * 255  # the longest id the catalog stores; it flooded the default picker


def test_bidi_overrides_and_controls_from_a_provider_reach_the_page_escaped(
    sqlite_database: Database,
) -> None:
    # Discovery no longer stores such text, but rows written before it cleaned provider text
    # (or by another tool) may still hold it: the page must show them inert all the same.
    upsert_discovered_models("xai", "text", [DiscoveredModel("grok-placeholder", "Placeholder")])
    with sqlite_database.write() as session:
        session.execute(
            update(AIModel)
            .where(AIModel.model_id == "grok-placeholder")
            .values(
                model_id=SPOOF,
                display_name="Name\x1b[2J\u200bhidden",
                description="line one\u2067two\x07",
            )
        )
    with served_on("127.0.0.1"):
        at = open_app("text_models")
        at.selectbox(key="text-provider").set_value("xai").run()
        row = grid_frame(at, "text", "pending").iloc[0]
        assert row["model"] == "xai/gpt-4o\\u202eini-m"
        assert row["display_name"] == "Name\\x1b[2J\\u200bhidden"
        assert row["description"] == "line one\\u2067two\\x07"
        at = select_models(at, "text", "pending", ["xai/gpt-4o\\u202eini-m"])
        at = click(at, "text-approve")
        assert toasts(at) == ["Approved 1 model(s): xai/gpt-4o\\u202eini-m"]
        picker = at.selectbox(key=next(k for k in _keys(at) if k.startswith("text-default-xai")))
        assert "Name\\x1b[2J\\u200bhidden — xai/gpt-4o\\u202eini-m" in picker.options
        shown = everything(at) + "".join(str(o) for o in picker.options)
        assert "\u202e" not in shown and "\x1b" not in shown


def test_a_long_id_is_cut_in_pickers_and_labels_are_plain(
    sqlite_database: Database,
) -> None:
    upsert_discovered_models(
        "xai", "text", [DiscoveredModel(HUGE, "Huge"), DiscoveredModel("grok-*x*", "Plain")]
    )
    with served_on("127.0.0.1"):
        at = open_app("text_models")
        at.selectbox(key="text-provider").set_value("xai").run()
        at = select_models(at, "text", "pending", [f"xai/{HUGE}", "xai/grok-*x*"])
        at = click(at, "text-approve")
        assert_clean(at)
        picker = at.selectbox(key=next(k for k in _keys(at) if k.startswith("text-default-xai")))
        assert max(len(o) for o in picker.options) <= 120
        assert "Plain — xai/grok-*x*" in picker.options  # plain: a selectbox renders no Markdown
        (success,) = toasts(at)
        assert len(success) < 400


def _keys(at: AppTest) -> list[str]:
    return [e.key for e in at.selectbox if e.key]


# --- password sign-in --------------------------------------------------------------------------


def password_app(**secrets: object) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets.update(secrets)
    return at.run()


def sign_in(at: AppTest, password: str) -> AppTest:
    at.text_input(key="registry-password").input(password)
    return at.button(key=SIGN_IN).click().run()


def is_signed_in(at: AppTest) -> bool:
    return "Overview" in [t.value for t in at.title]


@pytest.fixture
def password_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_ADMIN_PASSWORD", PASSWORD)
    monkeypatch.setenv("REGISTRY_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("REGISTRY_LOGIN_LOCKOUT_SECONDS", "6")


@pytest.mark.usefixtures("password_mode")
def test_a_guesser_waits_longer_each_time_while_the_admin_signs_in_at_once(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="registry")
    with served_on("0.0.0.0"):
        guesser = password_app()
        answers = [messages(sign_in(guesser, f"guess-{i}"), "error")[0] for i in range(3)]
        assert answers == ["That password is not correct."] * 3  # the free failures
        # Now this client waits before anything it sends is checked, even the right password.
        assert messages(sign_in(guesser, PASSWORD), "error") == [
            f"{LOCKED} from here: wait 1 s before trying again."
        ]
        assert not is_signed_in(guesser)
        # Meanwhile the admin, from a session that has not been failing, gets in at once.
        admin = password_app()
        assert is_signed_in(sign_in(admin, PASSWORD))
        # Each further failure doubles the guesser's wait.
        time.sleep(1.1)
        assert messages(sign_in(guesser, "guess-3"), "error") == ["That password is not correct."]
        assert messages(sign_in(guesser, "guess-4"), "error") == [
            f"{LOCKED} from here: wait 2 s before trying again."
        ]
        # Fresh sessions each guessing too (this machine: no address to tell them apart by)
        # stay far below the global ceiling, so the right password still works at once.
        for n in range(4):
            fresh = password_app()
            for i in range(2):
                assert messages(sign_in(fresh, f"guess-{n}-{i}"), "error") == [
                    "That password is not correct."
                ]
        assert is_signed_in(sign_in(password_app(), PASSWORD))
        # Every checked guess is in the audit log and the log, never the guess itself.
        failed = list_audit_entries(action="login_failed")
        assert len(failed) == 4 + 8
        assert {e.new_value for e in failed} == {"this machine"}
        assert all("guess" not in f"{e.old_value}{e.new_value}{e.actor}" for e in failed)
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert sum("sign-in failed" in w for w in warnings) == 12
        assert sum("this client waits" in w for w in warnings) == 2
        assert not any("guess" in w or PASSWORD in w for w in warnings)


@pytest.mark.usefixtures("password_mode")
def test_failures_from_many_addresses_past_the_global_ceiling_pause_everyone(
    database: Database,
) -> None:
    ceiling = 3 * access.GLOBAL_CEILING_FACTOR
    with database.write() as session:
        write_audit(
            session,
            [
                audit_row(Actor("anonymous"), "login_failed", field="client", new=f"203.0.113.{n}")
                for n in range(ceiling)
            ],
        )
    with served_on("0.0.0.0"):
        at = sign_in(password_app(), PASSWORD)
        (refused,) = messages(at, "error")
        assert refused.startswith(f"{LOCKED}: password sign-in is paused for ")
        assert not is_signed_in(at)


def test_a_password_change_in_secrets_ends_every_session(sqlite_database: Database) -> None:
    with served_on("0.0.0.0"):
        at = password_app(REGISTRY_ADMIN_PASSWORD="old password, long enough")
        assert is_signed_in(sign_in(at, "old password, long enough"))
        at.secrets["REGISTRY_ADMIN_PASSWORD"] = "new password, long enough"
        at.run()
        assert not is_signed_in(at)
        assert "The admin password has changed: sign in again." in messages(at, "info")
        assert is_signed_in(sign_in(at, "new password, long enough"))


@pytest.mark.usefixtures("password_mode")
def test_a_session_idle_past_the_limit_is_signed_out(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_SESSION_IDLE_MINUTES", "10")
    with served_on("0.0.0.0"):
        at = sign_in(password_app(), PASSWORD)
        assert is_signed_in(at)
        signed = at.session_state[SIGN_IN_KEY]
        at.session_state[SIGN_IN_KEY] = replace(signed, last_seen=signed.last_seen - 9 * 60)
        assert is_signed_in(at.run())  # 9 minutes idle: still in, and the clock starts again
        signed = at.session_state[SIGN_IN_KEY]
        at.session_state[SIGN_IN_KEY] = replace(signed, last_seen=signed.last_seen - 11 * 60)
        at.run()
        assert not is_signed_in(at)
        assert "Signed out after 10 minutes without activity: sign in again." in messages(
            at, "info"
        )


def test_the_idle_limit_defaults_to_thirty_minutes() -> None:
    assert access.DEFAULT_IDLE_MINUTES == 30


# --- an unreachable database -------------------------------------------------------------------


def test_before_login_an_unreachable_database_is_only_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_ADMIN_PASSWORD", PASSWORD)
    # Port 1 refuses at once: the driver would name user, host, port and database.
    unreachable = Database("postgresql+psycopg://payroll_admin@127.0.0.1:1/payroll_db")
    set_database(unreachable)
    try:
        with served_on("0.0.0.0"):
            at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
        assert_clean(at)
        shown = everything(at)
        assert messages(at, "error") == [
            "The registry is unavailable right now. Try again later, or ask its administrator."
        ]
        for secret in ("payroll", "127.0.0.1", ":1", "psycopg", "postgresql"):
            assert secret not in shown
    finally:
        set_database(None)
        unreachable.dispose()


# --- OIDC ---------------------------------------------------------------------------------------

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret",
    "client_id": "dashboard",
    "client_secret": "also-not-real",
    "server_metadata_url": "https://login.example.com/.well-known/openid-configuration",
}


@pytest.mark.parametrize(
    ("verified", "admitted"),
    [(True, True), ("true", True), (False, False), ("false", False), (None, False)],
)
def test_oidc_counts_an_allowed_email_only_when_the_provider_verified_it(
    sqlite_database: Database, verified: object, admitted: bool
) -> None:
    user: dict[str, object] = {"is_logged_in": True, "email": "ada@example.com"}
    if verified is not None:
        user["email_verified"] = verified
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets.update({"auth": AUTH, "REGISTRY_ADMIN_EMAILS": ["ada@example.com"]})
    at.user = user
    with served_on("0.0.0.0"):
        at.run()
    assert_clean(at)
    assert is_signed_in(at) is admitted
    if not admitted:
        assert messages(at, "error") == [
            "ada@example.com is not verified by your identity provider, so it cannot sign in here."
        ]
