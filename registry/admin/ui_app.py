"""The dashboard's entry: page config, database check, access gate, navigation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from registry.admin.ui_common import require_admin, say
from registry.db import get_database
from registry.errors import RegistryError
from registry.migrate import is_up_to_date

PAGES_DIR = Path(__file__).resolve().parents[2] / "pages"
_ready: set[str] = set()


def database_ready() -> bool:
    """True when the database is reachable and migrated; otherwise says what to do."""
    database = get_database()
    if database.url in _ready:
        return True
    try:
        current = is_up_to_date(database)
    except RegistryError as exc:
        say("error", f"Cannot reach the registry database: {exc}")
        return False
    if not current:
        say(
            "error",
            f"The database at {database.safe_url} is not migrated to the current schema. Run "
            "`python -m registry migrate` (or `make migrate`), then reload this page.",
        )
        return False
    _ready.add(database.url)
    return True


def run() -> None:
    st.set_page_config(
        page_title="Model Registry", page_icon=":material/inventory_2:", layout="wide"
    )
    if not database_ready():
        st.stop()
    try:
        require_admin()
    except RegistryError as exc:
        say("error", f"Could not sign you in: {exc}")
        st.stop()
    pages = [
        st.Page(
            PAGES_DIR / "overview.py", title="Overview", icon=":material/dashboard:", default=True
        ),
        st.Page(PAGES_DIR / "text_models.py", title="Text models", icon=":material/article:"),
        st.Page(
            PAGES_DIR / "tts_models.py", title="TTS models", icon=":material/record_voice_over:"
        ),
        st.Page(PAGES_DIR / "api_keys.py", title="API keys", icon=":material/key:"),
        st.Page(PAGES_DIR / "settings.py", title="Settings", icon=":material/tune:"),
        st.Page(PAGES_DIR / "activity.py", title="Activity", icon=":material/history:"),
    ]
    page = st.navigation(pages, position="top")
    try:
        page.run()
    except RegistryError as exc:
        say("error", str(exc))


def page(render: Callable[[], None]) -> None:
    """Run one page of `pages/`; every page file is `page(<render function>)`.

    Streamlit runs a file of a `pages/` folder on its own (without `app.py`, so without the
    access gate and the navigation) when the very first request to a fresh server names that
    page: its old multipage mode is on until some run calls `st.navigation`. Then this run
    goes through `app.py`'s flow instead, which shows the same page properly.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        run()  # app.py's own flow: the gate, the navigation, then this page again
        return
    render()
