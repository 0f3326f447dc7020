"""Who gets in: OIDC with an allow-list, a password, or loopback only — driven through AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from registry.audit import list_audit_entries
from registry.db import Database, set_database
from registry.store import get_model_by_provider_id
from tests.dashboard_support import (
    APP,
    TIMEOUT,
    assert_clean,
    click,
    everything,
    messages,
    open_app,
    plain,
    select_models,
    served_on,
)

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret",
    "client_id": "dashboard",
    "client_secret": "also-not-real",
    "server_metadata_url": "https://login.example.com/.well-known/openid-configuration",
}


def app_with(
    *, secrets: dict[str, object] | None = None, user: dict[str, object] | None = None
) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if secrets:
        at.secrets.update(secrets)
    if user is not None:
        at.user = user
    return at.run()


def is_dashboard(at: AppTest) -> bool:
    return [t.value for t in at.title] == ["Overview"]


def approve_one_as_current_admin(at: AppTest) -> str:
    """Approve one pending model through the page; returns the actor the audit log recorded."""
    from registry.store import upsert_discovered_models
    from registry.types import DiscoveredModel

    upsert_discovered_models("xai", "text", [DiscoveredModel("grok-audit", "Audit")])
    at.switch_page("pages/text_models.py").run()
    at.selectbox(key="text-provider").set_value("xai").run()
    at = select_models(at, "text", "pending", ["xai/grok-audit"])
    click(at, "text-approve")
    assert get_model_by_provider_id("xai", "grok-audit", "text").status.value == "enabled"
    (entry,) = list_audit_entries(model="grok-audit", action="status_change")
    return entry.actor


# --- no login configured -----------------------------------------------------------------------


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.20", None])
def test_without_login_it_refuses_to_serve_beyond_loopback(
    database: Database, address: str | None
) -> None:
    with served_on(address):
        at = app_with()
        assert_clean(at)
        assert not is_dashboard(at)
        (error,) = messages(at, "error")
        assert "no login is configured, so it refuses to serve" in error
        # Asking for a page directly does not get past the gate either.
        at.switch_page("pages/api_keys.py").run()
        assert "API keys" not in [t.value for t in at.title]


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost", "::1"])
def test_on_loopback_it_serves_with_a_banner_and_a_local_admin(
    database: Database, address: str
) -> None:
    with served_on(address):
        at = app_with()
        assert_clean(at)
        assert is_dashboard(at)
        banner = [plain(str(i.value)) for i in at.info if "loopback" in str(i.value)]
        assert banner and "everyone who can reach it acts as local-admin@localhost" in banner[0]
        assert approve_one_as_current_admin(at) == "local-admin@localhost"


# --- password ----------------------------------------------------------------------------------


def test_password_mode_asks_checks_and_records_the_admin(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_ADMIN_PASSWORD", "correct horse battery staple")
    monkeypatch.setenv("REGISTRY_ADMIN_EMAIL", "Ops@Example.com")
    with served_on("0.0.0.0"):  # a password allows serving on every interface
        at = app_with()
        assert not is_dashboard(at)
        assert "Enter the admin password to continue." in everything(at)
        at.switch_page("pages/settings.py").run()
        assert "Settings" not in [t.value for t in at.title]
        at.text_input(key="registry-password").input("wrong")
        at.button(key="FormSubmitter:registry-login-Sign in").click().run()
        assert messages(at, "error") == ["That password is not correct."]
        at.text_input(key="registry-password").input("correct horse battery staple")
        at.button(key="FormSubmitter:registry-login-Sign in").click().run()
        assert_clean(at)
        assert "Settings" in [t.value for t in at.title] or is_dashboard(at)
        assert approve_one_as_current_admin(at) == "ops@example.com"
        at = click(at, "registry-logout")
        assert "Enter the admin password to continue." in everything(at)


# --- OIDC --------------------------------------------------------------------------------------


def test_oidc_shows_a_login_button_until_signed_in(database: Database) -> None:
    with served_on("0.0.0.0"):
        at = app_with(secrets={"auth": AUTH}, user={"is_logged_in": False})
        assert not is_dashboard(at)
        assert [b.label for b in at.button] == ["Log in"]


def test_named_oidc_providers_get_a_button_each(database: Database) -> None:
    auth = {
        "redirect_uri": AUTH["redirect_uri"],
        "cookie_secret": AUTH["cookie_secret"],
        "google": {"client_id": "g"},
        "microsoft": {"client_id": "m"},
    }
    with served_on("0.0.0.0"):
        at = app_with(secrets={"auth": auth}, user={"is_logged_in": False})
        assert [b.label for b in at.button] == ["Log in with google", "Log in with microsoft"]


def test_oidc_lets_in_only_allowed_emails(database: Database) -> None:
    secrets = {"auth": AUTH, "REGISTRY_ADMIN_EMAILS": ["ada@example.com", "@admins.example.org"]}
    with served_on("0.0.0.0"):
        at = app_with(secrets=secrets, user={"is_logged_in": True, "email": "eve@example.com"})
        assert not is_dashboard(at)
        assert messages(at, "error") == ["eve@example.com is not on the list of admins."]
        at = app_with(
            secrets=secrets,
            user={"is_logged_in": True, "email": "bob@admins.example.org", "email_verified": True},
        )
        assert is_dashboard(at)
        at = app_with(
            secrets=secrets,
            user={"is_logged_in": True, "email": "Ada@Example.com", "email_verified": True},
        )
        assert is_dashboard(at)
        assert "Signed in as ada@example.com" in everything(at)
        assert approve_one_as_current_admin(at) == "ada@example.com"


def test_oidc_with_an_empty_allow_list_lets_nobody_in(database: Database) -> None:
    with served_on("127.0.0.1"):
        at = app_with(secrets={"auth": AUTH}, user={"is_logged_in": True, "email": "a@b.c"})
        assert not is_dashboard(at)
        assert messages(at, "error")[0].startswith("No admin emails are allowed yet")


# --- the database ------------------------------------------------------------------------------


def test_an_unmigrated_database_says_what_to_run(tmp_path: Path) -> None:
    empty = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    set_database(empty)
    try:
        with served_on("127.0.0.1"):
            at = open_app()
        assert_clean(at)
        (error,) = messages(at, "error")
        assert "is not migrated to the current schema. Run `python -m registry migrate`" in error
    finally:
        set_database(None)
        empty.dispose()
