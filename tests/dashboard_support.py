"""Helpers for the dashboard's AppTest tests: open a page, read what it says, seed a grid.

Its fixtures (`loopback`, `openai_server`) are registered by tests/conftest.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options

from registry.demo import load_fixture
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
