"""Successors for retiring and retired models: never a model that cannot serve, a picker on
every row (labelled by name), and every open suggestion accepted at once, with Undo."""

from __future__ import annotations

from datetime import timedelta

import pytest

from registry.admin.ui_overview import row_key
from registry.db import Database
from registry.retirement import retiring_models, suggest_successor
from registry.schema import utcnow
from registry.store import (
    change_model_statuses,
    edit_model,
    get_model_by_id,
    get_model_by_provider_id,
    set_default_model,
    upsert_discovered_models,
)
from registry.types import DiscoveredModel, ModelStatus
from tests.dashboard_support import assert_clean, click, messages, open_app
from tests.test_retirement import TODAY, _at, _model

pytestmark = pytest.mark.usefixtures("loopback")


def test_a_retired_or_retiring_today_model_is_never_suggested() -> None:
    # o1-mini's provider names o4-mini-2025-04-16, which has itself retired: not that one.
    retired = _model("o4-mini-2025-04-16", retires_at=_at(TODAY - timedelta(days=30)))
    today = _model("o4-mini-2025-05-01", retires_at=_at(TODAY))
    old = _model("o1-mini", replacement_model_id="o4-mini-2025-04-16")
    assert suggest_successor(old, [retired, today], TODAY) is None
    assert suggest_successor(old, [retired, today, _model("o5-mini")], TODAY) == "o5-mini"
    # Never pending or disabled either, even when the provider names it.
    pending = _model("o4-mini-2025-04-16", status=ModelStatus.PENDING)
    disabled = _model("o5-mini", status=ModelStatus.DISABLED)
    assert suggest_successor(old, [pending, disabled], TODAY) is None


def _retire_in(model_id: str, days: int) -> None:
    if model_id == "o3":  # not curated: discovered, then approved
        upsert_discovered_models("openai", "text", [DiscoveredModel("o3", "o3")])
        o3 = get_model_by_provider_id("openai", "o3", "text")
        change_model_statuses([str(o3.id)], ModelStatus.ENABLED)
    model = get_model_by_provider_id("openai", model_id, "text")
    edit_model(model.id, metadata={"retires_at": (utcnow() + timedelta(days=days)).isoformat()})


def test_a_row_without_a_suggestion_can_still_name_a_successor(database: Database) -> None:
    _retire_in("o3", 12)  # no family: nothing to suggest
    _retire_in("gpt-4.1", -3)  # retired already: offered nowhere
    key = row_key("text", "openai", "o3")
    at = open_app()
    assert_clean(at)
    picker = at.selectbox(key=f"retiring-choice-{key}")
    assert picker.value is None
    assert "gpt-4.1" not in picker.options and "o3" not in picker.options
    assert "GPT-5.4 mini — openai/gpt-5.4-mini" in [picker.format_func(o) for o in picker.options]
    button = at.button(key=f"retiring-accept-{key}")
    assert button.label.replace("\\", "") == "Name successor for openai/o3"
    assert button.disabled  # nothing chosen yet
    picker.set_value("gpt-5.4-mini").run()
    at = click(at, f"retiring-accept-{key}")
    assert_clean(at)
    assert "Accepted: openai/gpt-5.4-mini replaces openai/o3 once it retires." in messages(
        at, "success"
    )
    assert get_model_by_provider_id("openai", "o3", "text").successor_model_id == "gpt-5.4-mini"


def test_every_open_suggestion_is_accepted_at_once_and_undone(database: Database) -> None:
    _retire_in("gpt-4o-mini", 12)
    _retire_in("gpt-4.1-mini", 20)
    _retire_in("o3", 5)  # no suggestion: left alone
    set_default_model("openai", "text", "gpt-4o-mini")
    # The curated catalog's own retirement dates may add rows of their own.
    waiting = {
        r.model.id: (r.model.successor_model_id, r.suggested_successor)
        for r in retiring_models()
        if r.suggested_successor and r.suggested_successor != r.model.successor_model_id
    }
    ours = [
        get_model_by_provider_id("openai", m, "text").id for m in ("gpt-4o-mini", "gpt-4.1-mini")
    ]
    assert set(ours) <= set(waiting)
    at = open_app()
    bulk = at.button(key="retiring-accept-all")
    assert bulk.label == f"Accept {len(waiting)} suggested successor(s)"
    at = click(at, "retiring-accept-all")
    assert_clean(at)
    for model_id, (_before, suggested) in waiting.items():
        assert get_model_by_id(model_id).successor_model_id == suggested
    assert get_model_by_provider_id("openai", "o3", "text").successor_model_id is None
    (answer,) = [m for m in messages(at, "success") if m.startswith(f"Accepted {len(waiting)}")]
    assert "openai/gpt-4o-mini → " in answer
    assert at.button(key="retiring-accept-all").disabled  # nothing open any more
    at = click(at, "retiring-accept-all-undo")
    assert_clean(at)
    assert messages(at, "info")[-1] == (
        f"Undone: {len(waiting)} model(s) have their previous successor again."
    )
    for model_id, (before, _suggested) in waiting.items():
        assert get_model_by_id(model_id).successor_model_id == before
