"""Who may use the dashboard: the rules, without Streamlit.

Three ways in, chosen from the configuration:
1. `[auth]` in `.streamlit/secrets.toml` → OIDC login (`st.login`) and an allow-list of admin
   emails (`REGISTRY_ADMIN_EMAILS`, comma-separated or a TOML list; `@example.com` allows a
   domain). Nobody is allowed while the list is empty.
2. else `REGISTRY_ADMIN_PASSWORD` → a password form; the acting admin is
   `REGISTRY_ADMIN_EMAIL` (default `admin@localhost`).
3. else no login: the dashboard serves only when Streamlit listens on a loopback address, and
   shows a banner saying so; the acting admin is `local-admin@localhost`.

Whatever the mode, a request must name a loopback host or one of `server.allowedHosts` (DNS
rebinding: a foreign name resolving to 127.0.0.1 gets nothing). A sign-in ends when the
password changes or after `REGISTRY_SESSION_IDLE_MINUTES` without activity.

Password guesses are throttled per client, so a guesser never locks the admin out
(`throttle_wait`): a client is its address (when the dashboard knows one: not this machine) and
its browser session. The first `REGISTRY_LOGIN_MAX_FAILURES` failures within
`REGISTRY_LOGIN_LOCKOUT_SECONDS` cost nothing; each further one doubles the wait before the
client's next attempt is checked (1 s, 2 s, 4 s … at most the window). Failures are counted
from the audit log, so every process on the database shares the count per address. A global
ceiling (`GLOBAL_CEILING_FACTOR` times the free failures, far above what one client reaches
in the window) pauses password sign-in for everyone: that takes many addresses at once.

The client's address is the connection's peer. `X-Forwarded-For` is believed only from a
proxy listed in `REGISTRY_TRUSTED_PROXIES` (`client_address`).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from registry.errors import InvalidInputError

LOOPBACK_ADMIN_EMAIL = "local-admin@localhost"
PASSWORD_ADMIN_EMAIL = "admin@localhost"
PASSWORD_ENV = "REGISTRY_ADMIN_PASSWORD"
ADMIN_EMAIL_ENV = "REGISTRY_ADMIN_EMAIL"
ALLOW_LIST_ENV = "REGISTRY_ADMIN_EMAILS"
MAX_FAILURES_ENV = "REGISTRY_LOGIN_MAX_FAILURES"
LOCKOUT_ENV = "REGISTRY_LOGIN_LOCKOUT_SECONDS"
IDLE_ENV = "REGISTRY_SESSION_IDLE_MINUTES"
TRUSTED_PROXIES_ENV = "REGISTRY_TRUSTED_PROXIES"
DEFAULT_MAX_FAILURES = 5
DEFAULT_LOCKOUT_SECONDS = 300
DEFAULT_IDLE_MINUTES = 30
# The global pause needs this many times a client's free failures within the window: one client
# slowed by doubling waits reaches about free + log2(window) of them.
GLOBAL_CEILING_FACTOR = 20
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
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


def email_verified(claim: object) -> bool:
    """The OIDC `email_verified` claim: true only when the identity provider says so."""
    if isinstance(claim, bool):
        return claim
    return isinstance(claim, str) and claim.strip().lower() == "true"


# --- the Host a request names ------------------------------------------------------------------


def host_allowed(host: str | None, allowed_hosts: Sequence[str] = ()) -> bool:
    """True when the `Host` header names a loopback host or one of `allowed_hosts` (any port).

    `allowed_hosts` follows Streamlit's `server.allowedHosts`: exact names and `*.example.com`
    for subdomains. A bare `*` adds nothing here: it would undo the point of the check.
    """
    if not host:
        return False
    try:
        parts = urlsplit(f"//{host.strip()}")
        name = parts.hostname
        _ = parts.port  # a port that is not a number makes the header invalid
    except ValueError:
        return False
    if name is None or parts.username is not None or parts.password is not None:
        return False
    if parts.path or parts.query or parts.fragment:
        return False
    name = name.rstrip(".")
    if is_loopback(name):
        return True
    for entry in allowed_hosts:
        pattern = str(entry).strip().lower().rstrip(".")
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
        if pattern and pattern != "*" and name == pattern:
            return True
    return False


def refused_host_message(host: str | None) -> str:
    return (
        "This dashboard answers only on this machine's own address (localhost, 127.0.0.1, [::1]) "
        "or a host name listed in server.allowedHosts; this page was opened under another name, "
        "so it shows nothing."
    ) + ("" if host else " (The request named no host.)")


# --- settings ----------------------------------------------------------------------------------


def positive_number(name: str, raw: str | None, default: float) -> float:
    """A numeric setting such as `REGISTRY_SESSION_IDLE_MINUTES`; unset means the default."""
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise InvalidInputError(f"{name} must be a positive number, not {raw!r}")
    return value


# --- password guessing ---------------------------------------------------------------------------


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def lockout_remaining(
    failures: Sequence[datetime], now: datetime, max_failures: int, window: timedelta
) -> float:
    """Seconds until password sign-in opens again (0: open now).

    Locked while `max_failures` failed attempts fall within the last `window`; it opens when the
    oldest of them leaves the window. Refused attempts are not failures, so a guesser cannot
    keep the real admin out for longer than the window after the guessing stops.
    """
    recent = sorted((_aware(f) for f in failures if _aware(f) > now - window), reverse=True)
    if len(recent) < max_failures:
        return 0.0
    opens = recent[max_failures - 1] + window
    return max((opens - now).total_seconds(), 0.0)


def throttle_wait(
    failures: Sequence[datetime], now: datetime, free: int, window: timedelta
) -> float:
    """Seconds one client must wait before its next password attempt is checked (0: now).

    The first `free` failures within the last `window` cost nothing; from then on the wait
    after the latest failure doubles with each one (1 s, 2 s, 4 s …), never beyond `window`.
    Refused attempts are not failures, so waiting out the delay is all it takes.
    """
    recent = sorted(_aware(f) for f in failures if _aware(f) > now - window)
    if len(recent) < free:
        return 0.0
    delay = min(2.0 ** (len(recent) - free), window.total_seconds())
    return max((recent[-1] + timedelta(seconds=delay) - now).total_seconds(), 0.0)


# --- the client's address ------------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Streamlit's web server (uvicorn) itself takes X-Forwarded-For from these peers unless
# FORWARDED_ALLOW_IPS says otherwise; `client_address` undoes that for proxies not trusted here.
_SERVER_TRUSTED_DEFAULT = "127.0.0.1,::1"


def parse_trusted_proxies(raw: str | None) -> tuple[Network, ...]:
    """`REGISTRY_TRUSTED_PROXIES`: comma-separated addresses or CIDR networks (none: unset)."""
    networks: list[Network] = []
    for item in (raw or "").split(","):
        entry = item.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            raise InvalidInputError(
                f"{TRUSTED_PROXIES_ENV} must list IP addresses or networks separated by commas "
                f"(e.g. 127.0.0.1, 10.0.0.0/8), not {entry[:60]!r}"
            ) from None
    return tuple(networks)


def _ip(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = (value or "").strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, by: Sequence[Network]
) -> bool:
    return address is not None and any(address in network for network in by)


def _forwarded_client(chain: Sequence[str], trusted: Sequence[Network]) -> str | None:
    """The rightmost `X-Forwarded-For` entry not itself a trusted proxy (the one a trusted
    proxy saw connect); None when there is no usable one."""
    for entry in reversed(chain):
        address = _ip(entry)
        if address is None:
            return None
        if not _trusted(address, trusted):
            return str(address)
    return None


def client_address(
    reported: str | None,
    forwarded_for: str | None,
    trusted: Sequence[Network],
    server_trusted: str | None = None,
) -> str | None:
    """The address to record for a connection (None: this machine).

    `reported` is the peer as Streamlit reports it (None for loopback); `forwarded_for` the
    request's `X-Forwarded-For`; `trusted` the proxies of `REGISTRY_TRUSTED_PROXIES`;
    `server_trusted` the web server's own `FORWARDED_ALLOW_IPS` (default loopback). That server
    already replaces the peer by the header's address for connections from those hosts: when
    it did, the real peer was one of them, so the header counts only if it is trusted here.
    """
    chain = [part.strip() for part in (forwarded_for or "").split(",") if part.strip()]
    peer = reported
    try:
        server = parse_trusted_proxies(server_trusted or _SERVER_TRUSTED_DEFAULT)
    except InvalidInputError:  # e.g. `*`: the server believes everyone, the peer is lost
        server = ()
    loopback_only = bool(server) and all(n.network_address.is_loopback for n in server)
    taken = reported is not None and str(_ip(reported)) == _forwarded_client(chain, server)
    if chain and loopback_only and taken:
        peer = None
    if chain and _trusted(_ip(peer or "127.0.0.1"), trusted):
        return _forwarded_client(chain, trusted) or peer
    return peer


# --- a signed-in session -------------------------------------------------------------------------

# Sessions remember a keyed hash of the password they signed in with, never the password; the
# key lives only in this process, so the hash is useless to anyone who reads session state.
_MARK_KEY = secrets.token_bytes(32)


def password_mark(password: str | None) -> str:
    return hmac.new(_MARK_KEY, (password or "").encode(), hashlib.sha256).hexdigest()


@dataclass(slots=True)
class SignIn:
    """One browser session's sign-in. Exports made later check it again (see `lapsed`)."""

    email: str
    last_seen: float  # time.monotonic() of the last run
    password_mark: str | None = None  # password mode: the mark of the password used
    ended: bool = False

    def lapsed(self, now: float, idle_seconds: float, current_mark: str | None) -> str | None:
        """Why this sign-in is over (a sentence for the login page), or None while it holds."""
        if self.ended:
            return "You signed out."
        if self.password_mark is not None and current_mark != self.password_mark:
            return "The admin password has changed: sign in again."
        if now - self.last_seen > idle_seconds:
            minutes = idle_seconds / 60
            shown = f"{minutes:g} minute{'' if minutes == 1 else 's'}"
            return f"Signed out after {shown} without activity: sign in again."
        return None


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
