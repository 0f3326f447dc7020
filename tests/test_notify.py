"""The `REGISTRY_NOTIFY_URL` webhook, against tiny listeners on 127.0.0.1."""

from __future__ import annotations

import base64
import copy
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from registry import notify
from registry.cli import main as cli_main
from registry.db import Database
from registry.demo import StandInProviders, load_fixture
from registry.discovery import discover_models
from registry.schema import utcnow
from registry.standin import json_response
from registry.store import get_model_by_provider_id, update_model_status
from registry.types import ModelStatus


class Webhook:
    """Records every POST; `/moved` answers with a redirect to `/elsewhere`."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, Any]] = []
        self.authorization: list[str | None] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.posts.append((self.path, json.loads(body)))
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
            assert notify.notify_discovery(report) is False
        waited = time.monotonic() - started
    assert waited < 1.0 + 2.0
    assert "no answer within 1 s" in caplog.text and "abc123" not in caplog.text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://u:p@hooks.example.com/x?token=t&a=",
            "https://***@hooks.example.com/x?token=***&a=***",
        ),
        ("http://127.0.0.1:8080/h", "http://127.0.0.1:8080/h"),
    ],
)
def test_notify_urls_are_logged_without_credentials(url: str, shown: str) -> None:
    assert notify.mask_url(url) == shown
