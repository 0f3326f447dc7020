"""Who may use the dashboard: the rules, without Streamlit.

Three ways in, chosen from the configuration:
1. `[auth]` in `.streamlit/secrets.toml` → OIDC login (`st.login`) and an allow-list of admin
   emails (`REGISTRY_ADMIN_EMAILS`, comma-separated or a TOML list; `@example.com` allows a
   domain). Nobody is allowed while the list is empty.
2. else `REGISTRY_ADMIN_PASSWORD` → a password form; the acting admin is
   `REGISTRY_ADMIN_EMAIL` (default `admin@localhost`).
3. else no login: the dashboard serves only when Streamlit listens on a loopback address, and
   shows a banner saying so; the acting admin is `local-admin@localhost`.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

LOOPBACK_ADMIN_EMAIL = "local-admin@localhost"
PASSWORD_ADMIN_EMAIL = "admin@localhost"
PASSWORD_ENV = "REGISTRY_ADMIN_PASSWORD"
ADMIN_EMAIL_ENV = "REGISTRY_ADMIN_EMAIL"
ALLOW_LIST_ENV = "REGISTRY_ADMIN_EMAILS"
# Settings shared by every OIDC provider in `[auth]`; anything else that is a table names one.
_SHARED_AUTH_KEYS = frozenset({"redirect_uri", "cookie_secret", "expose_tokens"})


class AccessMode(StrEnum):
    OIDC = "oidc"
    PASSWORD = "password"
    LOOPBACK = "loopback"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class AccessConfig:
    auth: Mapping[str, object] | None  # the `[auth]` table of secrets.toml, if any
    password: str | None
    admin_emails: tuple[str, ...]
    password_admin_email: str
    server_address: str | None


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`; an unset address means every interface."""
    if not address:
        return False
    host = address.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def decide(config: AccessConfig) -> AccessMode:
    if config.auth:
        return AccessMode.OIDC
    if config.password:
        return AccessMode.PASSWORD
    if is_loopback(config.server_address):
        return AccessMode.LOOPBACK
    return AccessMode.REFUSED


def parse_allow_list(value: object) -> tuple[str, ...]:
    """`"a@x.com, @y.org"` or `["a@x.com", "@y.org"]` → normalised entries."""
    if value is None:
        return ()
    items: Sequence[object] = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    cleaned = (str(item).strip().lower() for item in items)
    return tuple(dict.fromkeys(item for item in cleaned if "@" in item))


def email_allowed(email: str | None, allow_list: Sequence[str]) -> bool:
    """Exact addresses, or `@domain` entries matching the address's domain."""
    if not email or "@" not in email:
        return False
    address = email.strip().lower()
    domain = "@" + address.rsplit("@", 1)[1]
    return any(
        entry == address or (entry.startswith("@") and entry == domain) for entry in allow_list
    )


def password_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison, so the answer's timing tells nothing about the password."""
    return hmac.compare_digest((given or "").encode(), expected.encode())


def login_providers(auth: Mapping[str, object]) -> list[str | None]:
    """The `st.login` provider names of an `[auth]` table: None for a single unnamed one."""
    named = [
        key
        for key, value in auth.items()
        if key not in _SHARED_AUTH_KEYS and isinstance(value, Mapping)
    ]
    if named and "client_id" not in auth:
        return list(named)
    return [None]


def refusal_message(address: str | None) -> str:
    where = address or "every network interface (0.0.0.0)"
    return (
        f"This dashboard is listening on {where} and no login is configured, so it refuses to "
        "serve. Set REGISTRY_ADMIN_PASSWORD, add an [auth] section (OIDC) to "
        ".streamlit/secrets.toml, or run it on a loopback address "
        "(streamlit run app.py --server.address 127.0.0.1)."
    )


LOOPBACK_BANNER = (
    "No login is configured, so this dashboard serves only on this machine's loopback address "
    "and everyone who can reach it acts as local-admin@localhost. Set REGISTRY_ADMIN_PASSWORD "
    "or an [auth] section in .streamlit/secrets.toml before exposing it."
)
