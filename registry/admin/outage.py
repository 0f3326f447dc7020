"""A database outage, said calmly: one banner with Retry, never Streamlit's exception box.

The gate (`ui_common.require_admin`) raises `DatabaseError` for an admin who may see details;
`ui_app.run` then still draws the navigation and shows `outage_banner` where the page would be.
A page that loses the database halfway, and a section's fragment rerun (ticking a grid row),
show the same banner; a widget callback that meets it says so in a toast
(`ui_common.calm_callback`). README, "Every page: status strip, views in the URL, outages".
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from registry.admin.views import escape_markdown
from registry.db import get_database
from registry.errors import DatabaseError

logger = logging.getLogger(__name__)

OUTAGE_TITLE = "The registry database cannot be reached right now."
OUTAGE_ADVICE = (
    "Nothing was changed. The application keeps answering from its last snapshot of the "
    "catalog meanwhile. Retry once the database is back."
)

# Set by the gate: URLs of databases found reachable and migrated once in this process; Retry
# forgets one, so the next run checks it afresh.
ready_databases: set[str] = set()


def retry() -> None:
    ready_databases.discard(get_database().url)


def outage_banner(exc: DatabaseError, container: Any = None, *, key: str = "page") -> None:
    """The calm banner: what happened, that nothing changed, and a Retry button."""
    logger.warning("Dashboard: the registry database is unavailable: %s", exc)
    target = container if container is not None else st
    box = target.container(border=True, key=f"registry-outage-{key}")
    box.warning(
        escape_markdown(f"{OUTAGE_TITLE} {OUTAGE_ADVICE} ({exc})"),
        icon=":material/cloud_off:",
    )
    box.button(
        "Retry",
        key=f"registry-outage-retry-{key}",
        icon=":material/refresh:",
        on_click=retry,
        help="Checks the database again and redraws this page.",
    )
