"""The discovery webhook: one POST to `REGISTRY_NOTIFY_URL` after a run worth telling about.

A run is worth telling about when it found new or deprecated models, enabled models retiring
within 30 days (`registry.retirement`), or a provider failed. The notification never fails
discovery and never holds it up for more than `NOTIFY_TIMEOUT_SECONDS` in all: the POST runs
on a daemon thread joined with that timeout (a listener that never answers is simply left
behind), and each socket operation has the same timeout. Redirects are not followed. Failures
are logged with the URL's credentials (userinfo, query values) masked.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import urllib.request
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from sqlalchemy import select

from registry.config import setting
from registry.db import get_database
from registry.retirement import retiring_before
from registry.schema import AIModel, utcnow
from registry.text import inert
from registry.types import ModelStatus

if TYPE_CHECKING:
    from registry.discovery import DiscoveryReport

logger = logging.getLogger(__name__)

NOTIFY_URL_ENV = "REGISTRY_NOTIFY_URL"
NOTIFY_TIMEOUT_SECONDS = 5.0
MAX_CHANGES = 200
_DETAIL_LIMIT = 300


def mask_url(url: str) -> str:
    """The URL as logs may show it: no password or token in userinfo or query values."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparsable URL>"
    netloc = ("***@" if "@" in parts.netloc else "") + host + port
    names = [quote(k, safe="") for k, _ in parse_qsl(parts.query, keep_blank_values=True)]
    query = "&".join(f"{name}=***" for name in names)
    return inert(urlunsplit((parts.scheme, netloc, parts.path, query, "")), 300)


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


def _retiring(report: DiscoveryReport, now: datetime) -> list[tuple[str, str, str, datetime]]:
    """Enabled models of the refreshed pairs whose provider retires them within 30 days."""
    pairs = {(r.provider, r.category.value) for r in report.results if r.ok}
    if not pairs:
        return []
    with get_database().read() as session:
        rows = session.execute(
            select(AIModel.provider, AIModel.category, AIModel.model_id, AIModel.retires_at)
            .where(
                AIModel.status == ModelStatus.ENABLED.value,
                AIModel.retires_at.is_not(None),
                AIModel.retires_at < retiring_before(now.date()),
            )
            .order_by(AIModel.retires_at, AIModel.model_id)
        ).all()
    return [
        (r.provider, r.category, r.model_id, r.retires_at)
        for r in rows
        if (r.provider, r.category) in pairs
    ]


def build_notification(
    report: DiscoveryReport, retiring: list[tuple[str, str, str, datetime]] | None = None
) -> dict[str, Any] | None:
    """The webhook's JSON for `report`, or None when the run found nothing worth telling."""
    # The most urgent first, so a cut list still names them.
    failed, deprecated, new = [], [], []
    for r in report.results:
        cat = r.category.value
        failed += [_change(r.provider, cat, "failed", None, e) for e in r.errors]
        deprecated += [
            _change(r.provider, cat, "deprecated", m, "no longer listed by the provider")
            for m in r.deprecated
        ]
        # A model an approval rule decided says so: "approved by rule #3 openai text gpt-5* …".
        ruled = {d.model_id: d.detail for d in r.decided}
        new += [
            _change(r.provider, cat, "new", m, ruled.get(m, "new model, pending approval"))
            for m in r.new
        ]
    retiring_changes = [
        _change(
            provider,
            cat,
            "retiring",
            model_id,
            f"enabled; the provider retires it {retires_at.date().isoformat()}",
        )
        for provider, cat, model_id, retires_at in retiring or []
    ]
    changes = failed + deprecated + retiring_changes + new
    if not changes:
        return None
    counts = {
        kind: sum(1 for c in changes if c["kind"] == kind)
        for kind in ("failed", "deprecated", "retiring", "new")
    }
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    lines = [f"Model registry discovery: {summary}"]
    lines += [
        f"- {c['kind']}: {c['provider']} {c['category']}"
        + (f" {c['model_id']}" if c["model_id"] else "")
        + (f" ({c['detail']})" if c["kind"] == "failed" or " by rule #" in c["detail"] else "")
        for c in changes[:MAX_CHANGES]
    ]
    if len(changes) > MAX_CHANGES:
        lines.append(f"… and {len(changes) - MAX_CHANGES} more")
    return {"text": "\n".join(lines), "changes": changes[:MAX_CHANGES]}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx answer is then raised as an HTTPError


def _post(url: str, body: bytes, timeout: float, outcome: list[str]) -> None:
    headers = {"Content-Type": "application/json"}
    parts = urlsplit(url)
    if "@" in parts.netloc:
        # urllib cannot send userinfo itself: it becomes Basic auth, as curl sends it.
        userinfo, _, hostport = parts.netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        token = f"{unquote(user)}:{unquote(password)}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
        url = urlunsplit(parts._replace(netloc=hostport))
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            outcome.append(f"HTTP {response.status}")
    except Exception as exc:
        # Exception texts may carry the URL; only the type and the HTTP status are kept.
        status = getattr(exc, "code", None)
        reason = getattr(exc, "reason", None)
        why = f"HTTP {status}" if status else type(reason or exc).__name__
        outcome.append(f"failed ({why})")


def send(url: str, payload: dict[str, Any]) -> bool:
    """POST `payload`; True when the webhook answered 2xx in time. Never raises."""
    timeout = NOTIFY_TIMEOUT_SECONDS
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        logger.warning("discovery notification not sent: %s is not an http(s) URL", mask_url(url))
        return False
    body = json.dumps(payload).encode()
    outcome: list[str] = []
    worker = threading.Thread(
        target=_post, args=(url, body, timeout, outcome), daemon=True, name="notify"
    )
    worker.start()
    worker.join(timeout)
    result = outcome[0] if outcome else f"no answer within {timeout:g} s"
    if result.startswith("HTTP 2"):
        logger.info("discovery notification sent to %s", mask_url(url))
        return True
    logger.warning("discovery notification to %s not delivered: %s", mask_url(url), result)
    return False


def notify_discovery(report: DiscoveryReport) -> bool:
    """Tell `REGISTRY_NOTIFY_URL` about a (real) discovery run; False when not sent."""
    url = (setting(NOTIFY_URL_ENV) or "").strip()
    if not url or report.dry_run:
        return False
    try:
        payload = build_notification(report, _retiring(report, utcnow()))
    except Exception as exc:  # reading retirements must not fail discovery either
        logger.warning("discovery notification not built (%s)", type(exc).__name__)
        return False
    return send(url, payload) if payload else False
