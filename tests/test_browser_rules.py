"""Settings → Approval rules and Import in a real browser at 1024×768 (Debian's chromium).

`streamlit run app.py` on a scratch SQLite catalog holding one rule. The admin adds a rule in the
table (typed into its Pattern cell), sees its live match count and saves it; then uploads an
export that disables a model, sees the change listed before anything is written, and applies it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from registry.approval_rules import add_approval_rule, list_approval_rules
from registry.db import Database, set_database
from registry.store import get_model_by_provider_id
from registry.transfer import export_admin_state
from registry.types import Category, ModelStatus
from tests.dashboard_support import WAIT_MS, Ui, migrated_sqlite, streamlit_server

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1024, 768
ROW_HEIGHT = 35
RULES = ".st-key-settings-rules"
TRANSFER = ".st-key-settings-transfer"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory, chromium: Any) -> Iterator[tuple[str, str]]:
    data = tmp_path_factory.mktemp("browser-rules")
    database_url = migrated_sqlite(data)
    with on(database_url):
        add_approval_rule("text", "gpt-5*", "approve", provider="openai", note="flagship")
    with streamlit_server(data, {"REGISTRY_DATABASE_URL": database_url}) as url:
        yield url, database_url


@contextmanager
def on(url: str) -> Iterator[Database]:
    """The module functions on the dashboard's database for the block."""
    database = Database(url)
    set_database(database)
    try:
        yield database
    finally:
        set_database(None)
        database.dispose()


def open_settings(chromium: Any, url: str) -> Ui:
    page = chromium.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.goto(f"{url}/settings")
    ui = Ui(page)
    ui.heading("Approval rules")
    return ui


def grid_box(ui: Ui) -> dict[str, float]:
    grid = ui.page.locator(f"{RULES} [data-testid=stDataFrame]")
    grid.scroll_into_view_if_needed()
    ui.settle()
    ui.page.wait_for_timeout(300)  # the page may still move after a rerun adds a message
    box = grid.bounding_box()
    assert box is not None
    return box


def test_the_rules_table_adds_a_rule_with_a_live_match_count_and_saves_it(
    dashboard: tuple[str, str], chromium: Any
) -> None:
    url, database_url = dashboard
    ui = open_settings(chromium, url)
    page = ui.page
    ui.see("1. openai text gpt-5* approve — matches 6 listed models")
    save = page.locator(RULES).get_by_role("button", name="Save rules", exact=True)
    assert save.is_disabled()

    box = grid_box(ui)
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH  # the table fits at 1024 px
    page.mouse.click(box["x"] + 60, box["y"] + ROW_HEIGHT * 2 + ROW_HEIGHT / 2)  # adds a row
    ui.see("row 2: the pattern is empty")
    box = grid_box(ui)
    # The grid is a canvas: select the first rule's Order cell, then walk to the new row's
    # Pattern cell with the keyboard (Order, Category, Provider, Pattern).
    page.mouse.click(box["x"] + 60, box["y"] + ROW_HEIGHT * 1.5)
    page.keyboard.press("ArrowDown")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")  # opens the cell's editor
    page.wait_for_timeout(300)
    page.keyboard.type("o*")
    page.wait_for_timeout(
        300
    )  # the editor takes the keys asynchronously: Enter too soon loses them
    page.keyboard.press("Enter")
    ui.see("2. any text o* approve — matches 2 listed models")
    with on(database_url):
        assert [r.pattern for r in list_approval_rules()] == ["gpt-5*"]  # nothing saved yet

    save.click()
    ui.see("Saved 2 approval rule(s).")
    with on(database_url):
        assert [(r.position, r.pattern) for r in list_approval_rules()] == [
            (1, "gpt-5*"),
            (2, "o*"),
        ]
    assert save.is_disabled()
    page.close()


def test_the_import_lists_the_changes_and_applies_them_only_on_apply(
    dashboard: tuple[str, str], chromium: Any, tmp_path: Path
) -> None:
    url, database_url = dashboard
    with on(database_url):
        document = export_admin_state()
    entry = next(m for m in document["models"] if m["model_id"] == "gpt-4o")
    entry |= {"status": "disabled", "admin_notes": "from staging"}
    staging = tmp_path / "staging.yaml"
    staging.write_text(yaml.safe_dump(document), encoding="utf-8")

    ui = open_settings(chromium, url)
    page = ui.page
    page.locator(f"{TRANSFER} input[type=file]").set_input_files(str(staging))
    ui.see("2 change(s) — preview, nothing was written")
    preview = page.locator(f"{TRANSFER} [data-testid=stDataFrame]")
    preview.scroll_into_view_if_needed()
    table = preview.bounding_box()
    assert table is not None and table["x"] >= 0 and table["x"] + table["width"] <= WIDTH
    cell = page.locator(f"{TRANSFER} [role=gridcell]")
    cell.filter(has_text="from staging").first.wait_for(state="attached", timeout=WAIT_MS)
    cells = cell.all_text_contents()
    assert "openai/gpt-4o (text)" in cells and "disabled" in cells and "from staging" in cells
    with on(database_url):
        assert get_model_by_provider_id("openai", "gpt-4o", Category.TEXT).status is (
            ModelStatus.ENABLED
        )

    apply = page.get_by_role("button", name="Apply 2 change(s)", exact=True)
    box = apply.bounding_box()
    assert box is not None and box["x"] + box["width"] <= WIDTH
    apply.click()
    ui.see("Imported 2 change(s) from staging.yaml.")
    with on(database_url):
        model = get_model_by_provider_id("openai", "gpt-4o", Category.TEXT)
    assert (model.status, model.admin_notes) == (ModelStatus.DISABLED, "from staging")
    assert page.get_by_text("preview, nothing was written").count() == 0
    page.get_by_text("Apply 2 change(s)").first.wait_for(state="detached", timeout=WAIT_MS)
    page.close()
