"""Helpers for the dashboard's tests: open a page in AppTest, read what it says, seed a grid;
serve `streamlit run app.py` and drive it with Debian's chromium.

Its fixtures (`loopback`, `openai_server`, `chromium`) are registered by tests/conftest.py.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options

from registry.db import Database
from registry.demo import load_fixture
from registry.migrate import upgrade
from registry.standin import openai as openai_standin
from registry.standin.server import StandInServer

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
TIMEOUT = 30


@contextmanager
def served_on(address: str | None) -> Iterator[None]:
    """Pretend Streamlit listens on `address` (what the access gate looks at)."""
    with patch_config_options({"server.address": address}):
        yield


def plain(text: str) -> str:
    """What the browser shows for a Markdown-escaped string."""
    return re.sub(r"\\(.)", r"\1", text)


def open_app(page: str | None = None, *, user: dict[str, Any] | None = None) -> AppTest:
    """Run app.py (the gate and navigation), then switch to `pages/<page>.py` if given."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if user is not None:
        at.user = user
    at.run()
    if page is not None and not at.exception:
        at.switch_page(f"pages/{page}.py").run()
    return at


def messages(at: AppTest, kind: str) -> list[str]:
    """The texts of every `st.<kind>` element (success, error, warning, info), unescaped;
    the loopback banner left out."""
    texts = [plain(str(e.value)) for e in getattr(at, kind)]
    return [t for t in texts if not t.startswith("No login is configured")]


def toasts(at: AppTest) -> list[str]:
    """The texts of this run's toasts (action feedback), unescaped."""
    return [plain(str(t.value)) for t in at.toast]


def everything(at: AppTest) -> str:
    """All visible text of the run, unescaped, one element per line (for `in` checks)."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text"):
        parts += [plain(str(e.value)) for e in getattr(at, kind)]
    for kind in ("success", "error", "warning", "info"):
        parts += messages(at, kind)
    return "\n".join(parts)


def headings(at: AppTest) -> list[str]:
    return [plain(str(s.value)) for s in at.subheader]


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def grid_key(at: AppTest, category: str, section: str) -> str:
    """The current key of a section's grid (it changes after every write)."""
    prefix = f"{category}-{section}-grid-"
    keys = [e.key for e in at.data_editor if e.key and e.key.startswith(prefix)]
    assert len(keys) == 1, f"no single {section} grid among {[e.key for e in at.data_editor]}"
    return keys[0]


def grid_frame(at: AppTest, category: str, section: str) -> Any:
    """The rows a section's grid shows (a DataFrame, before any cell edit)."""
    key = grid_key(at, category, section)
    return next(e for e in at.data_editor if e.key == key).value


def grid_models(at: AppTest, category: str, section: str) -> list[str]:
    return list(grid_frame(at, category, section)["model"])


def edit_grid(at: AppTest, category: str, section: str, rows: dict[int, dict[str, Any]]) -> AppTest:
    """Seed the grid's edit state as the browser would after cell edits, then rerun."""
    at.session_state[grid_key(at, category, section)] = {
        "edited_rows": rows,
        "added_rows": [],
        "deleted_rows": [],
    }
    return at.run()


def select_models(at: AppTest, category: str, section: str, models: list[str]) -> AppTest:
    """Tick the Select box of the rows showing `models` (as provider/model_id)."""
    shown = grid_models(at, category, section)
    missing = set(models) - set(shown)
    assert not missing, f"{missing} not on the {section} page: {shown}"
    return edit_grid(at, category, section, {shown.index(m): {"select": True} for m in models})


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return at.run()


@pytest.fixture
def loopback() -> Iterator[None]:
    """The dashboard as `make run` serves it: on 127.0.0.1, without a login."""
    with served_on("127.0.0.1"):
        yield


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    """OpenAI played by a local stand-in with its demo listing, and a made-up key."""
    with StandInServer() as server:
        openai_standin.install(server, load_fixture("openai"))
        monkeypatch.setenv("REGISTRY_OPENAI_BASE_URL", server.origin)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-dashboard-test-1234")
        yield server


# --- a real server and a real browser ----------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    # A foreign host name that resolves to this machine, as DNS rebinding makes it.
    "--host-resolver-rules=MAP evil.test 127.0.0.1",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
WAIT_MS = 30_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"streamlit did not become healthy:\n{log.read_text()}")


def migrated_sqlite(folder: Path) -> str:
    url = f"sqlite:///{folder / 'registry.db'}"
    database = Database(url)
    upgrade(database)
    database.dispose()
    return url


@contextmanager
def streamlit_server(
    folder: Path,
    env: Mapping[str, str],
    *,
    cwd: Path = ROOT,
    args: Sequence[str] = (),
    port: int | None = None,
) -> Iterator[str]:
    """`streamlit run app.py` on 127.0.0.1 and a free port, on the scratch data `folder`.

    The environment starts without the developer's REGISTRY_* settings and provider keys.
    Yields the base URL; the server stops when the block ends.
    """
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REGISTRY_", "STREAMLIT_"))
        and not k.endswith(("_API_KEY", "_SPEECH_KEY"))
    }
    clean |= {"REGISTRY_DATA_DIR": str(folder), **env}
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / f"streamlit-{port}.log"
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address"]
    command += ["127.0.0.1", "--server.port", str(port), "--server.headless", "true"]
    command += ["--browser.gatherUsageStats", "false", *args]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=clean, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium through Playwright, one per test module."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Ui:
    """Small waits around a Streamlit page: every action waits for its rerun to finish."""

    def __init__(self, page: Any, shots: Path | None = None) -> None:
        self.page = page
        self.shots = shots

    def settle(self) -> None:
        self.page.wait_for_selector(IDLE, timeout=WAIT_MS)
        self.page.wait_for_timeout(150)  # a rerun queued by the last event starts here
        self.page.wait_for_selector(IDLE, timeout=WAIT_MS)

    def see(self, text: str, exact: bool = False) -> None:
        self.page.get_by_text(text, exact=exact).first.wait_for(timeout=WAIT_MS)
        self.settle()

    def heading(self, name: str) -> None:
        self.page.get_by_role("heading", name=name).first.wait_for(timeout=WAIT_MS)
        self.settle()

    def click(self, name: str) -> None:
        self.page.get_by_role("button", name=name, exact=True).click()

    def search(self, text: str) -> None:
        box = self.page.get_by_label("Search models", exact=True)
        box.fill(text)
        box.press("Enter")

    def choose(self, label: str, option: str) -> None:
        self.page.get_by_test_id("stSelectbox").filter(has_text=label).first.click()
        self.page.keyboard.type(option)  # long option lists are virtual: filter first
        self.page.get_by_role("option", name=option, exact=True).click()

    def tick(self, label: str) -> None:
        self.page.get_by_test_id("stCheckbox").filter(has_text=label).first.click()

    def shot(self, name: str) -> None:
        assert self.shots is not None
        path = self.shots / f"{name}.png"
        self.page.mouse.move(1, 1)  # no tooltip in the picture
        self.settle()
        self.page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000, f"{path} looks empty"


@dataclass
class OpenAIDashboard:
    url: str
    standin: StandInServer
    database_url: str
    screenshots: Path


@contextmanager
def openai_dashboard(data: Path) -> Iterator[OpenAIDashboard]:
    """The dashboard on a fresh SQLite database in `data`, OpenAI listed by a stand-in serving
    the project's fixture. Screenshots go to `REGISTRY_SCREENSHOTS_DIR` (`docs/screenshots`
    refreshes the README's), else to the data folder."""
    database_url = migrated_sqlite(data)
    with StandInServer() as standin:
        openai_standin.install(standin, load_fixture("openai"))
        env = {
            "REGISTRY_DATABASE_URL": database_url,
            "REGISTRY_OPENAI_BASE_URL": standin.origin,
            "OPENAI_API_KEY": "sk-browser-test-0000",
        }
        with streamlit_server(data, env) as url:
            shots = Path(os.environ.get("REGISTRY_SCREENSHOTS_DIR") or data / "screenshots")
            shots.mkdir(parents=True, exist_ok=True)
            yield OpenAIDashboard(url, standin, database_url, shots)
