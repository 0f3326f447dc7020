"""Streamlit helpers shared by every page: messages that survive a rerun, the access gate.

Messages go through `say`, which escapes Markdown: model ids, names and provider errors are
shown exactly as typed, never rendered as links, HTML or formatting.

The gate (`require_admin`) runs first on every rerun of every page, before anything is drawn
or done: it refuses a foreign `Host` (DNS rebinding), checks the database (saying only
"unavailable" to a visitor who has not signed in), then asks for the login the configuration
chooses (see `access`).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, Literal, ParamSpec

import streamlit as st
from streamlit import config as streamlit_config
from streamlit import runtime

from registry.admin import access
from registry.admin.outage import OUTAGE_TITLE, ready_databases
from registry.admin.timefmt import now_utc
from registry.admin.views import escape_markdown, label
from registry.audit import Actor, audit_row, ensure_user, list_audit_entries, write_audit
from registry.db import get_database
from registry.errors import DatabaseError, RegistryError
from registry.migrate import is_up_to_date
from registry.text import inert
from registry.types import Category

Kind = Literal["success", "info", "warning", "error"]

ACTOR_KEY = "registry:actor"
SIGN_IN_KEY = "registry:sign-in"
SIGNED_OUT_NOTE_KEY = "registry:signed-out-note"
FLASH_KEY = "registry:flash"
TOAST_KEY = "registry:toasts"
# True on the first run of a page after another page (set by `ui_app.run`).
ARRIVED_KEY = "registry:arrived"
UNAVAILABLE = "The registry is unavailable right now. Try again later, or ask its administrator."
LOCKED = "Too many failed sign-in attempts"
# How long Streamlit keeps serving an export after it was made: the browser fetches it at once.
EXPORT_LIFETIME_SECONDS = 10.0

logger = logging.getLogger(__name__)


def say(kind: Kind, text: str, container: Any = None) -> None:
    """`st.success/info/warning/error` with the text shown literally."""
    target = container if container is not None else st
    getattr(target, kind)(escape_markdown(text))


@dataclass(frozen=True, slots=True)
class Flash:
    kind: Kind
    text: str
    table: Mapping[str, str] = field(default_factory=dict)  # e.g. model → why it was rejected


def flash(kind: Kind, text: str, table: Mapping[str, str] | None = None) -> None:
    """Queue a message for the next time `show_flashes` runs (after a callback, say)."""
    st.session_state.setdefault(FLASH_KEY, []).append(Flash(kind, text, dict(table or {})))


def show_flashes() -> None:
    show_toasts()
    for item in st.session_state.pop(FLASH_KEY, []):
        say(item.kind, item.text)
        if item.table:
            st.dataframe(
                [{"model": k, "problem": v} for k, v in item.table.items()],
                hide_index=True,
                width="stretch",
            )


# Material icons: they need no emoji font on the admin's machine.
TOAST_ICONS: Mapping[Kind, str] = {
    "success": ":material/check_circle:",
    "info": ":material/info:",
    "warning": ":material/warning:",
    "error": ":material/error:",
}


def toast(kind: Kind, text: str) -> None:
    """Feedback beside the action: a toast shows wherever the admin has scrolled to.

    Errors stay until closed; the rest fade. Queued, then shown by `show_toasts`: a toast sent
    from a callback of a fragment's widget is lost when that fragment then reruns the page.
    """
    st.session_state.setdefault(TOAST_KEY, []).append((kind, text))


P = ParamSpec("P")


def calm_callback(action: Callable[P, None]) -> Callable[P, None]:
    """A widget callback that meets a database outage says so in a toast: Streamlit runs
    callbacks before the page, where an exception would show its exception box instead."""

    @wraps(action)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            action(*args, **kwargs)
        except DatabaseError as exc:
            logger.warning("Dashboard: the registry database is unavailable: %s", exc)
            toast("error", f"{OUTAGE_TITLE} Nothing was changed; try again shortly. ({exc})")

    return guarded


def category_label(category: Category) -> str:
    return "Text" if category is Category.TEXT else "TTS"


def data_generation_key(category: Category) -> str:
    """Session key of the category's data generation: `ui_models.bump` raises it after every
    write to the catalog, so grids and stored summaries know their rows are old."""
    return f"{category.value}-data-gen"


def data_generation(category: Category) -> int:
    return int(st.session_state.get(data_generation_key(category), 0))


def show_toasts() -> None:
    for kind, text in st.session_state.pop(TOAST_KEY, []):
        st.toast(
            escape_markdown(text),
            icon=TOAST_ICONS[kind],
            duration="infinite" if kind == "error" else "long",
        )


def attempt(
    action: Callable[[], str | None],
    *,
    failure: str = "",
    feedback: Callable[[Kind, str], None] = flash,
) -> bool:
    """Run a registry call; report its success text, or the registry's explanation of why not.

    `feedback` is `flash` (a message at the top after the rerun) or `toast`.
    """
    try:
        message = action()
    except RegistryError as exc:
        feedback("error", f"{failure}{exc}" if failure else str(exc))
        return False
    if message:
        feedback("success", message)
    return True


# --- access ------------------------------------------------------------------------------------


def dashboard_setting(name: str) -> str | None:
    """An environment variable, else a top-level string of `st.secrets`.

    Read on every run (not cached), so a changed `.streamlit/secrets.toml` applies at once:
    Streamlit reloads its secrets when the file changes.
    """
    value = os.environ.get(name)
    if value:
        return value
    try:
        found = st.secrets.get(name)
    except FileNotFoundError:  # StreamlitSecretNotFoundError: no secrets.toml at all
        return None
    return found if isinstance(found, str) and found else None


def _secrets_auth() -> Mapping[str, object] | None:
    try:
        if "auth" in st.secrets:
            auth = st.secrets["auth"]
            return dict(auth) if isinstance(auth, Mapping) else None
    except FileNotFoundError:
        return None
    return None


def _secrets_allow_list() -> object:
    raw = os.environ.get(access.ALLOW_LIST_ENV)
    if raw:
        return raw
    try:
        return st.secrets.get(access.ALLOW_LIST_ENV)
    except FileNotFoundError:
        return None


def access_config() -> access.AccessConfig:
    return access.AccessConfig(
        auth=_secrets_auth(),
        password=dashboard_setting(access.PASSWORD_ENV),
        admin_emails=access.parse_allow_list(_secrets_allow_list()),
        password_admin_email=dashboard_setting(access.ADMIN_EMAIL_ENV)
        or access.PASSWORD_ADMIN_EMAIL,
        server_address=streamlit_config.get_option("server.address"),
    )


def _number(name: str, default: float) -> float:
    return access.positive_number(name, dashboard_setting(name), default)


def _idle_seconds(mode: access.AccessMode) -> float:
    if mode is access.AccessMode.LOOPBACK:  # no login to ask for again
        return math.inf
    return 60 * _number(access.IDLE_ENV, access.DEFAULT_IDLE_MINUTES)


def _actor_for(email: str) -> Actor:
    cached = st.session_state.get(ACTOR_KEY)
    if isinstance(cached, Actor) and cached.label == email.strip().lower():
        return cached
    actor = ensure_user(email)
    st.session_state[ACTOR_KEY] = actor
    return actor


THIS_MACHINE = "this machine"


def _client() -> str:
    """Where a sign-in attempt came from, for the audit log and the throttle: the connection's
    peer, or the `X-Forwarded-For` client when that peer is a trusted proxy (`access`)."""
    peer, headers = st.context.ip_address, st.context.headers
    forwarded = headers.get("X-Forwarded-For") if headers else None
    address = access.client_address(
        peer if isinstance(peer, str) and peer else None,
        forwarded if isinstance(forwarded, str) else None,
        access.parse_trusted_proxies(dashboard_setting(access.TRUSTED_PROXIES_ENV)),
        os.environ.get("FORWARDED_ALLOW_IPS"),
    )
    return inert(address, 100) if address else THIS_MACHINE


# --- the Host ----------------------------------------------------------------------------------


def _refuse_foreign_host() -> None:
    """Stop unless the request names a loopback host or one of `server.allowedHosts`.

    `st.context.headers` are those of the browser's WebSocket request. Streamlit itself refuses
    that WebSocket for a Host outside `server.allowedHosts` (`.streamlit/config.toml` lists the
    loopback names); this check holds even when that list is widened to `*`. Without any
    headers there is no browser connection (AppTest, a bare script run): nothing to check.
    """
    headers = st.context.headers
    if not headers:
        return
    host = headers.get("Host")
    allowed = streamlit_config.get_option("server.allowedHosts") or []
    if access.host_allowed(host, allowed):
        return
    logger.warning("Dashboard refused a request for the host %s", inert(host or "(none)", 200))
    st.title("Model Registry")
    say("error", access.refused_host_message(host))
    st.stop()


# --- the database ------------------------------------------------------------------------------


def _database_ready(details: bool) -> bool:
    """True when the database is reachable and migrated; otherwise says so.

    Only a visitor who may use the dashboard (`details`) is told where the database is and
    what to run; anyone else learns only that the registry is unavailable. An unreachable
    database raises `DatabaseError` for such an admin: `ui_app.run` then keeps the navigation
    and shows the outage banner with Retry (`outage`).
    """
    database = get_database()
    if database.url in ready_databases:
        return True
    try:
        current = is_up_to_date(database)
    except DatabaseError as exc:
        if details:
            raise
        logger.warning("Dashboard: the registry database is unavailable: %s", exc)
        say("error", UNAVAILABLE)
        st.button("Retry", key="registry-unavailable-retry", icon=":material/refresh:")
        return False
    except RegistryError as exc:
        logger.warning("Dashboard: the registry database is unavailable: %s", exc)
        say("error", f"Cannot reach the registry database: {exc}" if details else UNAVAILABLE)
        return False
    if not current:
        say(
            "error",
            f"The database at {database.safe_url} is not migrated to the current schema. Run "
            "`python -m registry migrate` (or `make migrate`), then reload this page."
            if details
            else UNAVAILABLE,
        )
        return False
    ready_databases.add(database.url)
    return True


# --- sign-in state -----------------------------------------------------------------------------


def _current_mark(cfg: access.AccessConfig, mode: access.AccessMode) -> str | None:
    return access.password_mark(cfg.password) if mode is access.AccessMode.PASSWORD else None


def _held_sign_in(cfg: access.AccessConfig, mode: access.AccessMode) -> access.SignIn | None:
    """This session's sign-in while it holds (no side effects)."""
    held = st.session_state.get(SIGN_IN_KEY)
    if not isinstance(held, access.SignIn):
        return None
    if held.lapsed(time.monotonic(), _idle_seconds(mode), _current_mark(cfg, mode)):
        return None
    return held


def _may_see_details(cfg: access.AccessConfig, mode: access.AccessMode) -> bool:
    if mode is access.AccessMode.LOOPBACK:
        return True
    if mode is access.AccessMode.OIDC:
        return bool(st.user.is_logged_in) and _oidc_refusal(cfg) is None
    return _held_sign_in(cfg, mode) is not None


def _keep_sign_in(cfg: access.AccessConfig, mode: access.AccessMode, email: str) -> bool:
    """Start or refresh this session's sign-in; False (and a note for the login page) when it
    ran out since the last run."""
    now = time.monotonic()
    held = st.session_state.get(SIGN_IN_KEY)
    if isinstance(held, access.SignIn) and held.email == email:
        reason = held.lapsed(now, _idle_seconds(mode), _current_mark(cfg, mode))
        if reason is not None:
            _end_sign_in(reason)
            return False
        held.last_seen = now
        return True
    if mode is access.AccessMode.PASSWORD:  # only the password form starts one
        return False
    st.session_state[SIGN_IN_KEY] = access.SignIn(email=email, last_seen=now)
    return True


def _end_sign_in(note: str | None = None) -> None:
    held = st.session_state.pop(SIGN_IN_KEY, None)
    if isinstance(held, access.SignIn):
        held.ended = True  # exports made from this session's page refuse from now on
    st.session_state.pop(ACTOR_KEY, None)
    if note:
        st.session_state[SIGNED_OUT_NOTE_KEY] = note


def signed_in_export(make: Callable[[], bytes]) -> Callable[[], bytes]:
    """Data for `st.download_button`, made on click and only while this session is signed in.

    Streamlit serves a download at `/media/<hash>.csv` without asking who fetches it, so the
    export is (1) not made at all until a signed-in admin clicks, (2) refused when the click
    comes after sign-out, the idle limit or a password change, and (3) removed from Streamlit's
    media store soon after it was made. The URL itself is a hash of the content, which a visitor
    without the data cannot guess.
    """
    held = st.session_state.get(SIGN_IN_KEY)
    cfg = access_config()
    mode = access.decide(cfg)
    idle = _idle_seconds(mode)

    def generate() -> bytes:
        current = access.password_mark(dashboard_setting(access.PASSWORD_ENV))
        mark = current if mode is access.AccessMode.PASSWORD else None
        if not isinstance(held, access.SignIn) or held.lapsed(time.monotonic(), idle, mark):
            raise RegistryError("sign in again to download this export")
        data = make()
        _expire_exports_later()
        return data

    return generate


def _expire_exports_later() -> None:
    if not runtime.exists():
        return
    media = runtime.get_instance().media_file_mgr

    def purge() -> None:
        # A download no session references is marked on the first pass, deleted on the second.
        media.remove_orphaned_files()
        media.remove_orphaned_files()

    timer = threading.Timer(EXPORT_LIFETIME_SECONDS, purge)
    timer.daemon = True
    timer.start()


# --- password ----------------------------------------------------------------------------------

# One lock for the whole process: guesses from parallel sessions are checked one at a time, so
# the count of recent failures each check reads is the true one.
_attempts = threading.Lock()
# This session's failed attempts (times): the throttle's session half.
FAILURES_KEY = "registry:login-failures"


def _check_password(given: str, cfg: access.AccessConfig) -> str | None:
    """None when the password is right; else what to tell the visitor. Audited and logged.

    Throttled per client (see `access.throttle_wait`): by this session's failures, and by its
    address's failures in the audit log when the address is known; a global ceiling on all
    failures pauses everyone.
    """
    free = max(int(_number(access.MAX_FAILURES_ENV, access.DEFAULT_MAX_FAILURES)), 1)
    window = timedelta(seconds=_number(access.LOCKOUT_ENV, access.DEFAULT_LOCKOUT_SECONDS))
    ceiling = free * access.GLOBAL_CEILING_FACTOR
    client = _client()
    mine: list[datetime] = st.session_state.setdefault(FAILURES_KEY, [])
    with _attempts:
        now = now_utc()
        recent = list_audit_entries(action="login_failed", limit=ceiling)
        same_address = [e.created_at for e in recent if e.new_value == client]
        client_wait = max(
            access.throttle_wait(mine, now, free, window),
            access.throttle_wait(same_address, now, free, window) if client != THIS_MACHINE else 0,
        )
        everyone_wait = access.lockout_remaining(
            [e.created_at for e in recent], now, ceiling, window
        )
        if client_wait > 0 or everyone_wait > 0:
            wait = math.ceil(max(client_wait, everyone_wait))
            logger.warning(
                "Dashboard sign-in refused from %s: %s for %d s after repeated failures",
                client,
                "password sign-in is paused for everyone" if everyone_wait else "this client waits",
                wait,
            )
            if client_wait >= everyone_wait:
                return f"{LOCKED} from here: wait {wait} s before trying again."
            return f"{LOCKED}: password sign-in is paused for {wait} s. Try again after that."
        if access.password_matches(given, cfg.password or ""):
            mine.clear()
            return None
        mine.append(now)
        with get_database().write() as session:
            write_audit(
                session,
                [audit_row(Actor("anonymous"), "login_failed", field="client", new=client)],
            )
        logger.warning("Dashboard sign-in failed (wrong password) from %s", client)
        return "That password is not correct."


def _password_form(cfg: access.AccessConfig) -> None:
    st.title("Model Registry")
    note = st.session_state.pop(SIGNED_OUT_NOTE_KEY, None)
    if note:
        st.info(escape_markdown(note))
    st.write("Enter the admin password to continue.")
    with st.form("registry-login", clear_on_submit=True):
        given = st.text_input("Password", type="password", key="registry-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        problem = _check_password(given, cfg)
        if problem is None:
            st.session_state[SIGN_IN_KEY] = access.SignIn(
                email=cfg.password_admin_email,
                last_seen=time.monotonic(),
                password_mark=access.password_mark(cfg.password),
            )
            st.rerun()
        say("error", problem or "")
    st.stop()


def _sign_out() -> None:
    _end_sign_in()


# --- OIDC --------------------------------------------------------------------------------------


def _oidc_refusal(cfg: access.AccessConfig) -> str | None:
    """Why the signed-in OIDC account may not use the dashboard, or None."""
    email = str(st.user.get("email") or "")
    if not cfg.admin_emails:
        return (
            "No admin emails are allowed yet: set REGISTRY_ADMIN_EMAILS (in the environment "
            "or .streamlit/secrets.toml) to the addresses that may sign in."
        )
    if not access.email_allowed(email, cfg.admin_emails):
        return f"{label(email) or 'This account'} is not on the list of admins."
    if not access.email_verified(st.user.get("email_verified")):
        return (
            f"{label(email)} is not verified by your identity provider, so it cannot sign in here."
        )
    return None


def _oidc_gate(cfg: access.AccessConfig) -> str:
    assert cfg.auth is not None
    if not st.user.is_logged_in:
        st.title("Model Registry")
        note = st.session_state.pop(SIGNED_OUT_NOTE_KEY, None)
        if note:
            st.info(escape_markdown(note))
        st.write("Sign in with your organisation's account to manage the model catalog.")
        for provider in access.login_providers(cfg.auth):
            text = f"Log in with {provider}" if provider else "Log in"
            st.button(
                text,
                type="primary",
                key=f"registry-login-{provider or 'default'}",
                on_click=st.login,
                args=(provider,) if provider else (),
            )
        st.stop()
    refusal = _oidc_refusal(cfg)
    if refusal is not None:
        st.title("Model Registry")
        say("error", refusal)
        st.button("Log out", on_click=_oidc_logout, key="registry-logout-refused")
        st.stop()
    return str(st.user.get("email") or "")


def _oidc_logout() -> None:
    _end_sign_in()
    st.logout()


def require_admin() -> Actor:
    """The acting admin; draws the login (or the refusal) and stops the script otherwise.

    Every page calls this first, so no page runs for a visitor who has not passed the gate,
    even when Streamlit is asked for a page URL directly.
    """
    _refuse_foreign_host()
    cfg = access_config()
    mode = access.decide(cfg)
    if mode is access.AccessMode.REFUSED:
        st.title("Model Registry")
        say("error", access.refusal_message(cfg.server_address))
        st.stop()
    details = _may_see_details(cfg, mode)
    try:
        if not _database_ready(details):
            st.stop()
        return _admit(cfg, mode)
    except DatabaseError as exc:
        if details:
            raise
        logger.warning("Dashboard: the registry database is unavailable: %s", exc)
        say("error", UNAVAILABLE)
        st.stop()


def _admit(cfg: access.AccessConfig, mode: access.AccessMode) -> Actor:
    if mode is access.AccessMode.OIDC:
        email = _oidc_gate(cfg)
        if not _keep_sign_in(cfg, mode, email):
            st.logout()  # idle too long: Streamlit forgets the identity and shows the login
            st.stop()
        actor = _actor_for(email)
        st.sidebar.caption(f"Signed in as {escape_markdown(actor.label)}")
        st.sidebar.button("Log out", on_click=_oidc_logout, key="registry-logout")
        return actor
    if mode is access.AccessMode.PASSWORD:
        if not _keep_sign_in(cfg, mode, cfg.password_admin_email):
            _password_form(cfg)
        actor = _actor_for(cfg.password_admin_email)
        st.sidebar.caption(f"Signed in as {escape_markdown(actor.label)}")
        st.sidebar.button("Sign out", on_click=_sign_out, key="registry-logout")
        return actor
    _keep_sign_in(cfg, mode, access.LOOPBACK_ADMIN_EMAIL)
    actor = _actor_for(access.LOOPBACK_ADMIN_EMAIL)
    st.info(escape_markdown(access.LOOPBACK_BANNER), icon=":material/lock_open:")
    return actor


def current_actor() -> Actor:
    """The admin of this session (set by `require_admin` earlier in the run)."""
    actor = st.session_state.get(ACTOR_KEY)
    if not isinstance(actor, Actor):
        return require_admin()
    return actor
