"""The dashboard's defences in a real browser: Debian's chromium driven by Playwright.

- DNS rebinding: a page opened as `evil.test` (chromium maps that name to 127.0.0.1, as a
  rebinding attacker's DNS would) gets nothing: Streamlit's Host allow-list refuses its
  WebSocket, and where that list is `*` the dashboard's own check refuses it;
  `127.0.0.1` and `localhost` work.
- A password guesser waits longer after each failure, and its forged `X-Forwarded-For` is not
  recorded, while the admin in another browser signs in at once. An export is made on click and
  served only briefly.
- OIDC against a local OpenID Connect provider (`oidc-provider-mock`): an allow-listed email
  gets in when the provider verified it, and is refused when it did not.
"""

from __future__ import annotations

import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from registry.audit import list_audit_entries
from registry.db import Database, set_database
from tests.dashboard_support import (
    ROOT,
    WAIT_MS,
    Ui,
    free_port,
    migrated_sqlite,
    streamlit_server,
)

pytestmark = pytest.mark.browser

PASSWORD = "a long and correct admin password"
REFUSED_HOST = "answers only on this machine's own address"
LOCKOUT_SECONDS = 15


def _errors(page: Any) -> list[str]:
    alerts = page.get_by_test_id("stAlertContentError")
    return [alerts.nth(i).inner_text().strip() for i in range(alerts.count())]


# --- DNS rebinding -----------------------------------------------------------------------------


@dataclass
class Served:
    url: str
    log: Path  # the server's output

    def refused_websocket(self) -> bool:
        return "Rejecting WebSocket connection" in self.log.read_text()


@pytest.fixture(scope="module")
def loopback(tmp_path_factory: pytest.TempPathFactory, chromium: Any) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("loopback")
    with streamlit_server(data, {"REGISTRY_DATABASE_URL": migrated_sqlite(data)}) as url:
        yield Served(url, data / f"streamlit-{urlsplit(url).port}.log")


def _open_as(page: Any, host: str, url: str) -> None:
    page.goto(f"http://{host}:{urlsplit(url).port}/")


def test_a_foreign_host_name_gets_no_websocket_and_loopback_names_work(
    loopback: Served, chromium: Any
) -> None:
    page = chromium.new_page(viewport={"width": 1024, "height": 800})
    _open_as(page, "evil.test", loopback.url)
    deadline = time.monotonic() + WAIT_MS / 1000
    while not loopback.refused_websocket():  # so no session, no script run at all
        assert time.monotonic() < deadline, "Streamlit did not refuse the foreign host"
        page.wait_for_timeout(200)
    assert page.get_by_role("heading", name="Overview").count() == 0
    assert "local-admin" not in page.content()
    for host in ("127.0.0.1", "localhost"):
        _open_as(page, host, loopback.url)
        Ui(page).heading("Overview")
    page.close()


# --- password guessing and exports -------------------------------------------------------------


@dataclass
class PasswordDashboard:
    url: str
    database_url: str


@pytest.fixture(scope="module")
def password_dashboard(
    tmp_path_factory: pytest.TempPathFactory, chromium: Any
) -> Iterator[PasswordDashboard]:
    data = tmp_path_factory.mktemp("password")
    database_url = migrated_sqlite(data)
    env = {
        "REGISTRY_DATABASE_URL": database_url,
        "REGISTRY_ADMIN_PASSWORD": PASSWORD,
        "REGISTRY_LOGIN_MAX_FAILURES": "3",
        "REGISTRY_LOGIN_LOCKOUT_SECONDS": str(LOCKOUT_SECONDS),
    }
    # `*` switches Streamlit's own Host allow-list off here: the dashboard's check holds alone.
    with streamlit_server(data, env, args=["--server.allowedHosts", "*"]) as url:
        yield PasswordDashboard(url, database_url)


def _login_page(chromium: Any, url: str, headers: dict[str, str] | None = None) -> Any:
    context = chromium.new_context(
        viewport={"width": 1024, "height": 800}, extra_http_headers=headers or {}
    )
    page = context.new_page()
    page.goto(url)
    page.get_by_label("Password", exact=True).wait_for(timeout=WAIT_MS)
    Ui(page).settle()
    return page


def _submit(page: Any, password: str, timeout_ms: float = WAIT_MS) -> None:
    page.get_by_label("Password", exact=True).fill(password, timeout=timeout_ms)
    page.get_by_role("button", name="Sign in").click(timeout=timeout_ms)


def _failed_sign_ins(database_url: str) -> int:
    database = Database(database_url)
    set_database(database)
    try:
        return len(list_audit_entries(action="login_failed"))
    finally:
        set_database(None)
        database.dispose()


def test_the_dashboard_refuses_a_foreign_host_by_itself(
    password_dashboard: PasswordDashboard, chromium: Any
) -> None:
    page = chromium.new_page(viewport={"width": 1024, "height": 800})
    _open_as(page, "evil.test", password_dashboard.url)
    page.get_by_text(REFUSED_HOST).wait_for(timeout=WAIT_MS)
    Ui(page).settle()
    assert page.get_by_label("Password", exact=True).count() == 0
    _open_as(page, "localhost", password_dashboard.url)
    page.get_by_label("Password", exact=True).wait_for(timeout=WAIT_MS)
    assert page.get_by_text(REFUSED_HOST).count() == 0
    page.close()


def test_an_export_is_made_on_click_and_served_only_briefly(
    password_dashboard: PasswordDashboard, chromium: Any
) -> None:
    page = _login_page(chromium, password_dashboard.url)
    ui = Ui(page)
    _submit(page, PASSWORD)
    ui.heading("Overview")
    page.get_by_role("link", name="Activity").click()  # a reload would start a new session
    ui.heading("Activity")
    assert ".csv" not in page.content()  # nothing is made before the click
    download = _download(page, "Download all models (CSV)")
    url = download.url
    assert urlsplit(url).path.startswith("/media/") and url.endswith(".csv")
    assert Path(download.path()).read_text().startswith('"id","provider","category"')
    # Streamlit serves /media without asking who fetches it: the file goes away instead.
    deadline = time.monotonic() + 40
    gone = False
    while not gone and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                time.sleep(0.5)
        except urllib.error.HTTPError as exc:
            gone = exc.code == 404
    assert gone, f"{url} was still served 40 s after the download"
    page.context.close()


def _download(page: Any, button: str) -> Any:
    """Click a download button. A click that lands while the page is still re-rendering after
    navigation is dropped by the browser, so a second click is made before giving up."""
    try:
        with page.expect_download(timeout=WAIT_MS // 2) as started:
            Ui(page).click(button)
    except PlaywrightTimeout:
        with page.expect_download(timeout=WAIT_MS) as started:
            Ui(page).click(button)
    return started.value


def _failed_clients(database_url: str) -> list[str | None]:
    database = Database(database_url)
    set_database(database)
    try:
        return [e.new_value for e in list_audit_entries(action="login_failed")]
    finally:
        set_database(None)
        database.dispose()


def test_a_guesser_is_slowed_and_unmasked_while_the_admin_signs_in_at_once(
    password_dashboard: PasswordDashboard, chromium: Any
) -> None:
    url = password_dashboard.url
    before = len(_failed_clients(password_dashboard.database_url))
    # The guesser forges X-Forwarded-For; no proxy is trusted, so its real peer is recorded.
    guesser = _login_page(chromium, url, {"X-Forwarded-For": "203.0.113.9"})
    for n in range(3):
        _submit(guesser, f"guess {n}")
        deadline = time.monotonic() + WAIT_MS / 1000
        while len(_failed_clients(password_dashboard.database_url)) < before + n + 1:
            assert time.monotonic() < deadline, _errors(guesser)
            guesser.wait_for_timeout(100)
    _submit(guesser, "guess 3")
    guesser.get_by_text("Too many failed sign-in attempts from here: wait").wait_for(
        timeout=WAIT_MS
    )
    clients = _failed_clients(password_dashboard.database_url)
    assert clients[:3] == ["this machine"] * 3 and "203.0.113.9" not in clients

    admin = _login_page(chromium, url)
    started = time.monotonic()
    _submit(admin, PASSWORD)
    Ui(admin).heading("Overview")
    print(f"the admin signed in {time.monotonic() - started:.1f} s after submitting")
    assert time.monotonic() - started < 10
    guesser.context.close()
    admin.context.close()


# --- OIDC -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oidc_url(tmp_path_factory: pytest.TempPathFactory, chromium: Any) -> Iterator[str]:
    from oidc_provider_mock import User, run_server_in_thread

    users = [
        User(sub="ada", claims={"email": "ada@example.com", "email_verified": True}),
        User(sub="bob", claims={"email": "bob@example.com", "email_verified": False}),
    ]
    data = tmp_path_factory.mktemp("oidc")
    app_dir = data / "app"
    (app_dir / ".streamlit").mkdir(parents=True)
    shutil.copy(ROOT / ".streamlit" / "config.toml", app_dir / ".streamlit" / "config.toml")
    port = free_port()
    with run_server_in_thread(user_claims=users) as provider:
        issuer = f"http://localhost:{provider.server_port}"
        (app_dir / ".streamlit" / "secrets.toml").write_text(
            'REGISTRY_ADMIN_EMAILS = ["ada@example.com", "bob@example.com"]\n\n'
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            'cookie_secret = "a-cookie-secret-for-the-browser-test"\n'
            'client_id = "registry-dashboard"\n'
            'client_secret = "registry-dashboard-secret"\n'
            f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
        )
        env = {"REGISTRY_DATABASE_URL": migrated_sqlite(data)}
        with streamlit_server(data, env, cwd=app_dir, port=port) as url:
            yield url


@pytest.mark.parametrize(("who", "admitted"), [("ada", True), ("bob", False)])
def test_oidc_sign_in_needs_an_email_the_provider_verified(
    oidc_url: str, chromium: Any, who: str, admitted: bool
) -> None:
    page = chromium.new_context(viewport={"width": 1024, "height": 800}).new_page()
    ui = Ui(page)
    page.goto(oidc_url)
    ui.click("Log in")
    page.get_by_role("button", name=who, exact=True).click()  # the provider's own page
    if admitted:
        ui.heading("Overview")
        ui.see("Signed in as ada@example.com")
    else:
        ui.see("is not verified by your identity provider")
        assert _errors(page) == [
            "bob@example.com is not verified by your identity provider, so it cannot sign in here."
        ]
        assert page.get_by_role("heading", name="Overview").count() == 0
    page.context.close()
