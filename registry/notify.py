"""The discovery webhook: one POST to `REGISTRY_NOTIFY_URL` after a run worth telling about.

A run is worth telling about when it found new or deprecated models, a provider failed, or an
enabled or default model of a refreshed provider is retiring within 30 days (`retiring`) or
past its `retires_at` (`retired`), whatever gave the date (`registry.retirement`).

- The settings are checked when a run starts (`webhook_from_settings`): a malformed URL or
  secret is one clear log line, no notification is sent, and discovery runs as usual.
- `REGISTRY_NOTIFY_SECRET` (`whsec_<base64>`) signs every POST the Standard Webhooks way
  (`webhook-id`, `webhook-timestamp`, `webhook-signature` headers).
- The notification never fails discovery and never holds it up for more than
  `NOTIFY_TIMEOUT_SECONDS` in all: at that deadline a timer shuts the socket down, so a
  listener that answers one byte at a time is cut off. Redirects are not followed.
- Provider text in `text` is escaped for Slack (`&`, `<`, `>`), so an id or an error body
  cannot ping a channel or disguise a link; `changes` carries the values as they are.
- Logs show the URL as scheme://host only: Slack and Discord carry their secret in the path.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import logging
import socket
import threading
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from sqlalchemy import select

from registry.config import setting
from registry.db import get_database
from registry.errors import ConfigurationError
from registry.retirement import retiring_before
from registry.schema import AIModel, utcnow
from registry.store import get_default_models
from registry.text import inert
from registry.types import ModelStatus

if TYPE_CHECKING:
    from registry.discovery import DiscoveryReport

logger = logging.getLogger(__name__)

NOTIFY_URL_ENV = "REGISTRY_NOTIFY_URL"
NOTIFY_SECRET_ENV = "REGISTRY_NOTIFY_SECRET"
NOTIFY_TIMEOUT_SECONDS = 5.0
MAX_CHANGES = 200
_DETAIL_LIMIT = 300
_SECRET_PREFIX = "whsec_"
# The order changes are listed in: the most urgent first, so a cut list still names them.
KINDS = ("failed", "retired", "deprecated", "retiring", "new")


def mask_url(url: str) -> str:
    """The URL as logs may show it: scheme://host[:port], never userinfo, path or query."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparsable URL>"
    shown = f"[{host}]" if ":" in host else host
    return inert(f"{parts.scheme}://{shown}{port}", 300)


def slack_escape(text: str) -> str:
    """`text` as Slack and Mattermost show it literally: `&`, `<` and `>` escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- the settings ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """Where notifications go, and the key that signs them (None: unsigned)."""

    url: str
    secret: bytes | None = None


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if parts is None or parts.scheme.lower() not in ("http", "https"):
        raise ConfigurationError(
            f"{NOTIFY_URL_ENV} is not an http(s) URL; discovery notifications are off until it "
            "is fixed"
        )
    if not parts.hostname or not port_ok:
        raise ConfigurationError(
            f"{NOTIFY_URL_ENV} names no valid host and port; discovery notifications are off "
            "until it is fixed"
        )


def _bad_secret(problem: str) -> ConfigurationError:
    return ConfigurationError(
        f"{NOTIFY_SECRET_ENV} {problem} (a Standard Webhooks secret is whsec_ followed by "
        "base64); discovery notifications are off until it is fixed"
    )


def parse_secret(value: str) -> bytes:
    """The key of a `whsec_<base64>` secret; `ConfigurationError` (never quoting it) otherwise."""
    encoded = value.strip()
    if not encoded.startswith(_SECRET_PREFIX):
        raise _bad_secret("does not start with whsec_")
    body = encoded[len(_SECRET_PREFIX) :]
    try:  # unpadded base64 is common in these secrets
        key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        raise _bad_secret("is not base64 after whsec_")
    return key


def webhook_from_settings() -> WebhookTarget | None:
    """The configured webhook, checked; None when none is set or a setting is unusable.

    Called when a discovery run starts: an unusable setting is logged in one line (never its
    value) and the run goes on without notifying.
    """
    url = (setting(NOTIFY_URL_ENV) or "").strip()
    secret = (setting(NOTIFY_SECRET_ENV) or "").strip()
    if not url:
        return None
    try:
        _check_url(url)
        key = parse_secret(secret) if secret else None
        if key is not None:
            _signer()
    except ConfigurationError as exc:
        logger.error("%s", exc)
        return None
    return WebhookTarget(url, key)


# --- what to tell ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DatedModel:
    """An enabled or default model of a refreshed provider with a `retires_at` soon or past."""

    provider: str
    category: str
    model_id: str
    retires_at: datetime
    enabled: bool
    default: bool


def _change(
    provider: str, category: str, kind: str, model_id: str | None, detail: str
) -> dict[str, Any]:
    return {
        "provider": provider,
        "category": category,
        "kind": kind,
        "model_id": inert(model_id, 200) if model_id is not None else None,
        "detail": inert(detail, _DETAIL_LIMIT),
    }


def _dated(report: DiscoveryReport, now: datetime) -> list[DatedModel]:
    """Enabled or default models of the refreshed pairs retiring within 30 days, or retired."""
    pairs = {(r.provider, r.category.value) for r in report.results if r.ok}
    if not pairs:
        return []
    defaults = get_default_models()
    with get_database().read() as session:
        rows = session.execute(
            select(
                AIModel.provider,
                AIModel.category,
                AIModel.model_id,
                AIModel.retires_at,
                AIModel.status,
            )
            .where(
                AIModel.retires_at.is_not(None),
                AIModel.retires_at < retiring_before(now.date()),
            )
            .order_by(AIModel.retires_at, AIModel.model_id)
        ).all()
    dated = []
    for r in rows:
        default = defaults.get((r.category, r.provider)) == r.model_id
        enabled = r.status == ModelStatus.ENABLED.value
        if (r.provider, r.category) in pairs and (enabled or default):
            dated.append(
                DatedModel(r.provider, r.category, r.model_id, r.retires_at, enabled, default)
            )
    return dated


def _dated_change(model: DatedModel, now: datetime) -> dict[str, Any]:
    role = " and ".join(
        word for word, held in (("default", model.default), ("enabled", model.enabled)) if held
    )
    day = model.retires_at.date().isoformat()
    if model.retires_at <= now:
        return _change(
            model.provider,
            model.category,
            "retired",
            model.model_id,
            f"{role}; retired on {day}: the application gets its replacement",
        )
    return _change(
        model.provider, model.category, "retiring", model.model_id, f"{role}; retires on {day}"
    )


def build_notification(
    report: DiscoveryReport, dated: list[DatedModel] | None = None, now: datetime | None = None
) -> dict[str, Any] | None:
    """The webhook's JSON for `report`, or None when the run found nothing worth telling."""
    now = now or utcnow()
    changes: list[dict[str, Any]] = []
    for r in report.results:
        cat = r.category.value
        changes += [_change(r.provider, cat, "failed", None, e) for e in r.errors]
        changes += [
            _change(r.provider, cat, "deprecated", m, "no longer listed by the provider")
            for m in r.deprecated
        ]
        # A model an approval rule decided says so: "approved by rule #3 openai text gpt-5* …".
        ruled = {d.model_id: d.detail for d in r.decided}
        changes += [
            _change(r.provider, cat, "new", m, ruled.get(m, "new model, pending approval"))
            for m in r.new
        ]
    changes += [_dated_change(m, now) for m in dated or []]
    if not changes:
        return None
    changes.sort(key=lambda c: KINDS.index(c["kind"]))  # stable: each kind keeps its order
    counts = {kind: sum(1 for c in changes if c["kind"] == kind) for kind in KINDS}
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    lines = [f"Model registry discovery: {summary}"]
    lines += [
        slack_escape(
            f"- {c['kind']}: {c['provider']} {c['category']}"
            + (f" {c['model_id']}" if c["model_id"] else "")
            + (
                f" ({c['detail']})"
                if c["kind"] in ("failed", "retired") or " by rule #" in c["detail"]
                else ""
            )
        )
        for c in changes[:MAX_CHANGES]
    ]
    if len(changes) > MAX_CHANGES:
        lines.append(f"… and {len(changes) - MAX_CHANGES} more")
    return {"text": "\n".join(lines), "changes": changes[:MAX_CHANGES]}


# --- sending ---------------------------------------------------------------------------------


def _signer() -> type[Any]:
    try:
        from standardwebhooks import Webhook
    except ImportError:
        raise ConfigurationError(
            f"{NOTIFY_SECRET_ENV} needs the standardwebhooks package: "
            "pip install 'model-catalog-registry[discovery]'"
        ) from None
    return Webhook


def signature_headers(secret: bytes, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one POST of `body`."""
    message_id = f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time())
    signature = _signer()(secret).sign(message_id, datetime.fromtimestamp(timestamp, UTC), body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def _post(
    url: str, body: bytes, headers: dict[str, str], seconds: float, outcome: list[str]
) -> None:
    """POST `body`, all of it (connecting, sending, the answer) within `seconds`.

    At the deadline a timer shuts the socket down: a blocked read returns at once whatever its
    own timeout, so an answer that trickles in one byte at a time cannot hold the socket.
    """
    parts = urlsplit(url)
    headers = {"Content-Type": "application/json", **headers}
    if parts.username is not None:
        # userinfo becomes Basic auth, as curl sends it.
        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
    make = (
        http.client.HTTPSConnection
        if parts.scheme.lower() == "https"
        else http.client.HTTPConnection
    )
    connection = make(parts.hostname or "", parts.port, timeout=seconds)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            with suppress(OSError):  # already closed: nothing left to stop
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        connection.connect()
        if expired.is_set():  # the deadline passed while connecting, before the socket was set
            raise TimeoutError
        target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)
        if expired.is_set():  # the answer's end was the deadline's shutdown, not the listener's
            raise TimeoutError
        outcome.append(f"HTTP {response.status}")
    except Exception as exc:
        # Exception texts may carry the URL; only the type is kept.
        late = expired.is_set() or isinstance(exc, TimeoutError)
        outcome.append(
            f"no answer within {seconds:g} s" if late else f"failed ({type(exc).__name__})"
        )
    finally:
        timer.cancel()
        connection.close()


def send(webhook: WebhookTarget | str, payload: dict[str, Any]) -> bool:
    """POST `payload`, signed when the webhook has a secret; True when it answered 2xx within
    `NOTIFY_TIMEOUT_SECONDS`. Never raises."""
    hook = WebhookTarget(webhook) if isinstance(webhook, str) else webhook
    try:
        _check_url(hook.url)
    except ConfigurationError as exc:
        logger.warning("discovery notification not sent: %s", exc)
        return False
    timeout = NOTIFY_TIMEOUT_SECONDS
    body = json.dumps(payload).encode()
    headers = signature_headers(hook.secret, body) if hook.secret else {}
    outcome: list[str] = []
    worker = threading.Thread(
        target=_post, args=(hook.url, body, headers, timeout, outcome), daemon=True, name="notify"
    )
    worker.start()
    # The timer ends the POST at the deadline; the grace lets the worker say so.
    worker.join(timeout + 1.0)
    result = outcome[0] if outcome else f"no answer within {timeout:g} s"
    if result.startswith("HTTP 2"):
        logger.info("discovery notification sent to %s", mask_url(hook.url))
        return True
    logger.warning("discovery notification to %s not delivered: %s", mask_url(hook.url), result)
    return False


def notify_discovery(report: DiscoveryReport, webhook: WebhookTarget | None) -> bool:
    """Tell `webhook` (from `webhook_from_settings`) about a real discovery run; False when
    nothing was sent. Never raises: a notification must not change the run's outcome."""
    if webhook is None or report.dry_run:
        return False
    try:
        now = utcnow()
        payload = build_notification(report, _dated(report, now), now)
        return send(webhook, payload) if payload else False
    except Exception as exc:
        logger.warning("discovery notification not sent (%s)", type(exc).__name__)
        return False
