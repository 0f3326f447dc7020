"""The `REGISTRY_NOTIFY_URL` webhook, against tiny listeners on 127.0.0.1."""

from __future__ import annotations

import base64
import copy
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import standardwebhooks

from registry import notify
from registry.cli import main as cli_main
from registry.db import Database
from registry.demo import StandInProviders, load_fixture
from registry.discovery import discover_models
from registry.schema import utcnow
from registry.standin import json_response
from registry.store import (
    edit_model,
    get_default_model_for_provider,
    get_model_by_provider_id,
    update_model_status,
)
from registry.types import ModelStatus


class Webhook:
    """Records every POST; `/moved` answers with a redirect to `/elsewhere`."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, Any]] = []
        self.authorization: list[str | None] = []
        self.raw: list[tuple[bytes, dict[str, str]]] = []  # body and headers as received
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.posts.append((self.path, json.loads(body)))
                hook.raw.append((body, dict(self.headers.items())))
                hook.authorization.append(self.headers.get("Authorization"))
                if self.path.startswith("/moved"):
                    self.send_response(307)
                    self.send_header("Location", "/elsewhere")
                else:
                    self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInProviders]:
    with StandInProviders(page_size=50) as standins:
        for name, value in standins.environment().items():
            monkeypatch.setenv(name, value)
        yield standins


def test_one_post_per_all_run_names_the_changes_and_nothing_is_sent_for_dry_or_idle_runs(
    undated_catalog: Database,
    providers: StandInProviders,
    webhook: Webhook,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", undated_catalog.url)
    monkeypatch.setenv("REGISTRY_NOTIFY_URL", webhook.url + "/hook")
    providers.servers["mistral"].fail("/v1/models", json_response({"error": "boom"}, 500))
    assert cli_main(["discover", "--all", "--dry-run", "--json"]) == 0
    assert webhook.posts == [] and json.loads(capsys.readouterr().out)["dry_run"] is True

    assert cli_main(["discover", "--all", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(webhook.posts) == 1
    path, payload = webhook.posts[0]
    changes = payload["changes"]
    assert path == "/hook" and len(changes) <= notify.MAX_CHANGES
    # The most urgent first: failures, then deprecations, retirements, new models.
    assert changes[0]["kind"] == "failed" and changes[0]["provider"] == "mistral"
    assert changes[0]["model_id"] is None and "500" in changes[0]["detail"]
    new = {(c["provider"], c["category"], c["model_id"]) for c in changes if c["kind"] == "new"}
    assert ("openai", "text", "o3") in new
    assert payload["text"].startswith("Model registry discovery: 1 failed, ")
    assert "mistral text" in payload["text"]
    assert (len(changes) == notify.MAX_CHANGES) == payload["text"].endswith("more")
    assert report["total_errors"] == 1

    # Nothing new, nothing failing: no notification … unless an enabled model is retiring.
    assert discover_models("text", ["openai"], force=True).total_new == 0
    assert len(webhook.posts) == 1
    o3 = get_model_by_provider_id("openai", "o3", "text")
    update_model_status(o3.id, ModelStatus.ENABLED.value)
    listing = copy.deepcopy(load_fixture("openai"))
    for entry in listing["data"]:
        if entry["id"] == "o3":
            entry["shutdown_date"] = (utcnow() + timedelta(days=10)).date().isoformat()
    providers.serve("openai", listing)
    discover_models("text", ["openai"], force=True)
    assert len(webhook.posts) == 2
    retiring = webhook.posts[1][1]["changes"]
    assert [(c["kind"], c["provider"], c["model_id"]) for c in retiring] == [
        ("retiring", "openai", "o3")
    ]


def test_provider_text_in_the_notification_is_inert_and_the_list_is_bounded() -> None:
    from registry.discovery import DiscoveryReport, ProviderResult
    from registry.types import Category

    result = ProviderResult("openai", Category.TEXT)
    result.new = [f"m{i}" for i in range(250)]
    result.errors = ["openai: listing failed (\x1b[31mred\u202e)"]
    payload = notify.build_notification(DiscoveryReport([result]))
    assert payload is not None
    assert len(payload["changes"]) == notify.MAX_CHANGES
    assert payload["text"].endswith("… and 51 more")
    assert "\x1b" not in json.dumps(payload, ensure_ascii=False)
    assert "\u202e" not in json.dumps(payload, ensure_ascii=False)


def test_redirects_are_not_followed(webhook: Webhook, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="registry.notify"):
        assert not notify.send(webhook.url + "/moved", {"text": "x", "changes": []})
    assert [p for p, _ in webhook.posts] == ["/moved"]
    assert "HTTP 307" in caplog.text


def test_credentials_in_the_url_are_sent_as_basic_auth(webhook: Webhook) -> None:
    url = webhook.url.replace("http://", "http://hook%40user:p%3Ass@") + "/in?token=t"
    assert notify.send(url, {"text": "x", "changes": []})
    assert webhook.posts == [("/in?token=t", {"text": "x", "changes": []})]
    assert webhook.authorization == ["Basic " + base64.b64encode(b"hook@user:p:ss").decode()]


def _refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_dead_webhook_is_logged_masked_and_discovery_still_succeeds(
    sqlite_database: Database,
    providers: StandInProviders,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"http://alice:s3cr3t-pass@127.0.0.1:{_refused_port()}/hook?token=tok-s3cr3t&x=1"
    monkeypatch.setenv("REGISTRY_NOTIFY_URL", url)
    started = time.monotonic()
    with caplog.at_level(logging.INFO):
        report = discover_models("text", ["openai"])
    assert report.total_new > 0 and report.total_errors == 0
    assert time.monotonic() - started < 30  # refused at once; the listing dominates
    assert (
        "not delivered: failed (ConnectionRefusedError)" in caplog.text
        and "127.0.0.1" in caplog.text
    )
    assert "s3cr3t" not in caplog.text and "alice" not in caplog.text


def test_a_webhook_that_never_answers_costs_at_most_the_bound(
    sqlite_database: Database,
    providers: StandInProviders,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(notify, "NOTIFY_TIMEOUT_SECONDS", 1.0)
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv(
            "REGISTRY_NOTIFY_URL", f"http://127.0.0.1:{silent.getsockname()[1]}/?key=abc123"
        )
        report = discover_models("text", ["openai"])
        assert report.total_new > 0 and report.total_errors == 0
        started = time.monotonic()
        with caplog.at_level(logging.INFO):
            assert notify.notify_discovery(report, notify.webhook_from_settings()) is False
        waited = time.monotonic() - started
    assert waited < 1.0 + 2.0
    assert "no answer within 1 s" in caplog.text and "abc123" not in caplog.text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@hooks.example.com/x?token=t&a=", "https://hooks.example.com"),
        ("https://hooks.slack.com/services/T0/B0/s3cr3t", "https://hooks.slack.com"),
        ("http://127.0.0.1:8080/h", "http://127.0.0.1:8080"),
        ("http://[::1]:9/h?k=v", "http://[::1]:9"),
        ("http://[::1", "<unparsable URL>"),
    ],
)
def test_notify_urls_are_logged_as_scheme_and_host_only(url: str, shown: str) -> None:
    assert notify.mask_url(url) == shown


# --- signatures ----------------------------------------------------------------------------


def _secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def test_a_signed_notification_verifies_with_the_secret_and_not_with_another(
    database: Database,
    providers: StandInProviders,
    webhook: Webhook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = _secret()
    monkeypatch.setenv("REGISTRY_NOTIFY_URL", webhook.url + "/signed")
    monkeypatch.setenv("REGISTRY_NOTIFY_SECRET", secret)
    assert discover_models("text", ["openai"]).total_new > 0
    ((body, headers),) = webhook.raw
    assert headers["webhook-signature"].startswith("v1,")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert standardwebhooks.Webhook(secret).verify(body, headers) == webhook.posts[0][1]
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(_secret()).verify(body, headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):  # a body changed on the way
        standardwebhooks.Webhook(secret).verify(body.replace(b"o3", b"o4"), headers)


def test_without_a_secret_nothing_is_signed(webhook: Webhook) -> None:
    assert notify.send(webhook.url, {"text": "x", "changes": []})
    ((_, headers),) = webhook.raw
    assert not {"webhook-id", "webhook-signature"} & {k.lower() for k in headers}


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("REGISTRY_NOTIFY_URL", "http://[::1", "REGISTRY_NOTIFY_URL is not an http(s) URL"),
        ("REGISTRY_NOTIFY_URL", "ftp://hooks.example/x", "REGISTRY_NOTIFY_URL is not an http"),
        ("REGISTRY_NOTIFY_URL", "http:///only-a-path", "REGISTRY_NOTIFY_URL names no valid host"),
        ("REGISTRY_NOTIFY_SECRET", "s3cr3t-not-whsec", "does not start with whsec_"),
        ("REGISTRY_NOTIFY_SECRET", "whsec_s3cr3t!!", "is not base64 after whsec_"),
    ],
)
def test_a_malformed_webhook_setting_is_one_line_and_discovery_still_succeeds(
    sqlite_database: Database,
    providers: StandInProviders,
    webhook: Webhook,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    name: str,
    value: str,
    problem: str,
) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", sqlite_database.url)
    monkeypatch.setenv("REGISTRY_NOTIFY_URL", webhook.url)
    monkeypatch.setenv(name, value)
    with caplog.at_level(logging.INFO):
        assert cli_main(["discover", "--category", "text", "--provider", "openai", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_new"] > 0  # the catalog was written
    lines = [r.getMessage() for r in caplog.records if r.name == "registry.notify"]
    assert len(lines) == 1 and problem in lines[0], lines
    assert "s3cr3t" not in caplog.text and webhook.posts == []


# --- what the text says --------------------------------------------------------------------

PING = "<!channel> your key <https://evil.example/login|was revoked: sign in here> & more"


def test_provider_text_is_escaped_for_slack_in_text_and_raw_in_changes() -> None:
    from registry.discovery import DiscoveryReport, ProviderResult
    from registry.types import Category

    result = ProviderResult("openai", Category.TEXT)
    result.new = ["<!here>gpt"]
    result.errors = [PING]
    payload = notify.build_notification(DiscoveryReport([result]))
    assert payload is not None
    text = payload["text"]
    assert "<" not in text and ">" not in text
    assert "&lt;!channel&gt; your key &lt;https://evil.example/login|was revoked" in text
    assert "&amp; more" in text and "&lt;!here&gt;gpt" in text
    failed, new = payload["changes"]
    assert failed["detail"] == PING and new["model_id"] == "<!here>gpt"


def _date(model_id: str, day: datetime) -> None:
    model = get_model_by_provider_id("openai", model_id, "text")
    edit_model(model.id, metadata={"retires_at": day.date().isoformat()})


def test_enabled_and_default_models_past_their_date_are_reported_retired(
    undated_catalog: Database,
    providers: StandInProviders,
    webhook: Webhook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listed = discover_models("text", ["openai"]).results[0].new
    pending = next(m for m in listed if m != "o3")
    o3 = get_model_by_provider_id("openai", "o3", "text")
    update_model_status(o3.id, ModelStatus.ENABLED.value)
    default = get_default_model_for_provider("openai", "text")
    assert default is not None and default != "o3"
    today = utcnow()
    _date("o3", today - timedelta(days=1))  # a date from any source: the column decides
    _date(default, today + timedelta(days=20))
    _date(pending, today - timedelta(days=3))  # neither enabled nor the default: not told
    monkeypatch.setenv("REGISTRY_NOTIFY_URL", webhook.url)
    discover_models("text", ["openai"], force=True)
    ((_, payload),) = webhook.posts
    dated = [(c["kind"], c["model_id"], c["detail"]) for c in payload["changes"]]
    assert dated == [
        (
            "retired",
            "o3",
            f"enabled; retired on {(today - timedelta(days=1)).date()}: "
            "the application gets its replacement",
        ),
        (
            "retiring",
            default,
            f"default and enabled; retires on {(today + timedelta(days=20)).date()}",
        ),
    ]
    assert payload["text"].startswith("Model registry discovery: 1 retired, 1 retiring")


# --- the deadline --------------------------------------------------------------------------


class Dripper:
    """Reads the request, then answers one byte every `every` seconds, forever."""

    def __init__(self, every: float, first: bytes = b"") -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/services/T0/B0/s3cr3t"
        self.closed_after: float | None = None
        self.every = every
        self.first = first
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(65536)
            head, _, body = request.partition(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            while len(body) < length:
                body += conn.recv(65536)
            started = time.monotonic()
            conn.sendall(self.first)
            for byte in b"X-Drip: 1\r\n" * 100:
                try:
                    conn.sendall(bytes([byte]))
                    # The request was read whole: the client sends nothing more, so reading
                    # waits out the interval, or finds the connection closed (end of file).
                    conn.settimeout(self.every)
                    if conn.recv(1) == b"":
                        break
                except TimeoutError:
                    continue
                except OSError:
                    break
            self.closed_after = time.monotonic() - started


@pytest.mark.parametrize("first", [b"", b"HTTP/1.1 200 OK\r\n"])
def test_a_listener_that_drips_bytes_is_cut_off_at_the_deadline(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, first: bytes
) -> None:
    monkeypatch.setattr(notify, "NOTIFY_TIMEOUT_SECONDS", 2.0)
    # Also when a 200 status line comes at once and only the headers drip: cut off all the same.
    dripper = Dripper(every=0.8, first=first)  # each byte comes well within any one read's timeout
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="registry.notify"):
        assert notify.send(dripper.url, {"text": "x", "changes": []}) is False
    assert time.monotonic() - started < 2.0 + 1.5
    dripper.thread.join(3)
    # The socket was closed at the deadline, and no notification thread lives on.
    assert dripper.closed_after is not None and dripper.closed_after < 2.0 + 1.0
    assert not [t for t in threading.enumerate() if t.name == "notify"]
    assert "no answer within 2 s" in caplog.text
    assert "s3cr3t" not in caplog.text and "services" not in caplog.text


def test_logs_show_the_host_only_on_success_and_on_failure(
    webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="registry.notify"):
        assert notify.send(webhook.url + "/services/T0/B0/s3cr3t?token=t0k", {"text": "x"})
        assert not notify.send(webhook.url + "/moved/s3cr3t?token=t0k", {"text": "x"})
    assert f"sent to {webhook.url}" in caplog.text
    assert f"to {webhook.url} not delivered: HTTP 307" in caplog.text
    assert "s3cr3t" not in caplog.text and "t0k" not in caplog.text
