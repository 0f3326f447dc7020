"""Streamlit helpers shared by every page: messages that survive a rerun, the access gate.

Messages go through `say`, which escapes Markdown: model ids, names and provider errors are
shown exactly as typed, never rendered as links, HTML or formatting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import streamlit as st
from streamlit import config as streamlit_config

from registry import config
from registry.admin import access
from registry.admin.views import escape_markdown
from registry.audit import Actor, ensure_user
from registry.errors import RegistryError

Kind = Literal["success", "info", "warning", "error"]

ACTOR_KEY = "registry:actor"
PASSWORD_OK_KEY = "registry:password-ok"
FLASH_KEY = "registry:flash"


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
    for item in st.session_state.pop(FLASH_KEY, []):
        say(item.kind, item.text)
        if item.table:
            st.dataframe(
                [{"model": k, "problem": v} for k, v in item.table.items()],
                hide_index=True,
                width="stretch",
            )


def attempt(action: Callable[[], str | None], *, failure: str = "") -> bool:
    """Run a registry call; flash its success text, or the registry's explanation of why not."""
    try:
        message = action()
    except RegistryError as exc:
        flash("error", f"{failure}{exc}" if failure else str(exc))
        return False
    if message:
        flash("success", message)
    return True


# --- access ------------------------------------------------------------------------------------


def _secrets_auth() -> Mapping[str, object] | None:
    try:
        if "auth" in st.secrets:
            auth = st.secrets["auth"]
            return dict(auth) if isinstance(auth, Mapping) else None
    except FileNotFoundError:  # StreamlitSecretNotFoundError: no secrets.toml at all
        return None
    return None


def _secrets_allow_list() -> object:
    raw = config.setting(access.ALLOW_LIST_ENV)
    if raw:
        return raw
    try:
        return st.secrets.get(access.ALLOW_LIST_ENV)
    except FileNotFoundError:
        return None


def access_config() -> access.AccessConfig:
    return access.AccessConfig(
        auth=_secrets_auth(),
        password=config.setting(access.PASSWORD_ENV),
        admin_emails=access.parse_allow_list(_secrets_allow_list()),
        password_admin_email=config.setting(access.ADMIN_EMAIL_ENV) or access.PASSWORD_ADMIN_EMAIL,
        server_address=streamlit_config.get_option("server.address"),
    )


def _actor_for(email: str) -> Actor:
    cached = st.session_state.get(ACTOR_KEY)
    if isinstance(cached, Actor) and cached.label == email.strip().lower():
        return cached
    actor = ensure_user(email)
    st.session_state[ACTOR_KEY] = actor
    return actor


def _password_form() -> None:
    st.title("Model Registry")
    st.write("Enter the admin password to continue.")
    with st.form("registry-login", clear_on_submit=True):
        given = st.text_input("Password", type="password", key="registry-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if access.password_matches(given, config.setting(access.PASSWORD_ENV) or ""):
            st.session_state[PASSWORD_OK_KEY] = True
            st.rerun()
        time.sleep(0.5)  # slows guessing down a little; the real defence is a long password
        st.error("That password is not correct.")
    st.stop()


def _oidc_gate(cfg: access.AccessConfig) -> str:
    assert cfg.auth is not None
    if not st.user.is_logged_in:
        st.title("Model Registry")
        st.write("Sign in with your organisation's account to manage the model catalog.")
        for provider in access.login_providers(cfg.auth):
            label = f"Log in with {provider}" if provider else "Log in"
            st.button(
                label,
                type="primary",
                key=f"registry-login-{provider or 'default'}",
                on_click=st.login,
                args=(provider,) if provider else (),
            )
        st.stop()
    email = str(st.user.get("email") or "")
    if not access.email_allowed(email, cfg.admin_emails):
        st.title("Model Registry")
        if cfg.admin_emails:
            say("error", f"{email or 'This account'} is not on the list of admins.")
        else:
            say(
                "error",
                "No admin emails are allowed yet: set REGISTRY_ADMIN_EMAILS (in the environment "
                "or .streamlit/secrets.toml) to the addresses that may sign in.",
            )
        st.button("Log out", on_click=st.logout, key="registry-logout-refused")
        st.stop()
    return email


def _sign_out_password() -> None:
    st.session_state.pop(PASSWORD_OK_KEY, None)
    st.session_state.pop(ACTOR_KEY, None)


def require_admin() -> Actor:
    """The acting admin; draws the login (or the refusal) and stops the script otherwise.

    Every page calls this first, so no page runs for a visitor who has not passed the gate,
    even when Streamlit is asked for a page URL directly.
    """
    cfg = access_config()
    mode = access.decide(cfg)
    if mode is access.AccessMode.REFUSED:
        st.title("Model Registry")
        say("error", access.refusal_message(cfg.server_address))
        st.stop()
    if mode is access.AccessMode.OIDC:
        email = _oidc_gate(cfg)
        actor = _actor_for(email)
        st.sidebar.caption(f"Signed in as {escape_markdown(actor.label)}")
        st.sidebar.button("Log out", on_click=st.logout, key="registry-logout")
        return actor
    if mode is access.AccessMode.PASSWORD:
        if not st.session_state.get(PASSWORD_OK_KEY):
            _password_form()
        actor = _actor_for(cfg.password_admin_email)
        st.sidebar.caption(f"Signed in as {escape_markdown(actor.label)}")
        st.sidebar.button("Sign out", on_click=_sign_out_password, key="registry-logout")
        return actor
    actor = _actor_for(access.LOOPBACK_ADMIN_EMAIL)
    st.info(escape_markdown(access.LOOPBACK_BANNER), icon=":material/lock_open:")
    return actor


def current_actor() -> Actor:
    """The admin of this session (set by `require_admin` earlier in the run)."""
    actor = st.session_state.get(ACTOR_KEY)
    if not isinstance(actor, Actor):
        return require_admin()
    return actor


def names(items: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
