"""The dashboard's entry: page config, access gate (host, database, login), navigation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from registry.admin.outage import outage_banner
from registry.admin.status_strip import status_strip
from registry.admin.timefmt import now_utc
from registry.admin.ui_common import ARRIVED_KEY, require_admin, say, show_toasts
from registry.errors import DatabaseError, RegistryError

PAGES_DIR = Path(__file__).resolve().parents[2] / "pages"
PAGE_KEY = "registry:page"  # the page of the last run


def run() -> None:
    st.set_page_config(
        page_title="Model Registry", page_icon=":material/inventory_2:", layout="wide"
    )
    outage: DatabaseError | None = None
    try:
        require_admin()
    except DatabaseError as exc:  # an admin may see why; the navigation stays (README)
        outage = exc
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
    top = st.container()
    if outage is not None:
        outage_banner(outage, top)
        show_toasts()  # what a callback met (calm_callback) before the page failed
        return
    arrived = st.session_state.get(PAGE_KEY) != page.url_path
    st.session_state[PAGE_KEY] = page.url_path
    st.session_state[ARRIVED_KEY] = arrived
    try:
        with top:
            status_strip(now_utc())
        page.run()
    except DatabaseError as exc:
        outage_banner(exc, top)
        show_toasts()
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
