"""Settings → Approval rules, Export and Import (README "Approval rules", "Export and import").

Feedback on saving comes as a toast, beside the action wherever the page is scrolled to.
The rules are one editable table: add, edit or delete rows, change `Order` to reorder; each row
says live how many listed models it matches, and nothing is saved until "Save rules". Export is
a download made on click (`signed_in_export`); Import shows the changes a file would make (a
dry run) and applies them only on "Apply".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from registry.admin.ui_common import attempt, say, signed_in_export, toast
from registry.admin.views import escape_markdown, label
from registry.approval_rules import (
    ANY_PROVIDER,
    ApprovalRule,
    RuleAction,
    RuleSpec,
    count_matches,
    list_approval_rules,
    parse_rule,
    save_approval_rules,
)
from registry.audit import Actor
from registry.errors import InvalidInputError, RegistryError
from registry.transfer import export_admin_state, import_admin_state, render_export
from registry.types import ALL_PROVIDERS, Category

RULE_COLUMNS = ["id", "position", "category", "provider", "pattern", "action", "note"]
RULES_GENERATION = "settings-rules-gen"
IMPORT_GENERATION = "settings-import-gen"


def _generation(key: str) -> int:
    return int(st.session_state.get(key, 0))


def _bump(key: str) -> None:
    """A new widget key: the table (or the uploader) starts again from what is saved."""
    st.session_state[key] = _generation(key) + 1


def rules_frame(rules: Sequence[ApprovalRule]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": rule.id,
                "position": rule.position,
                "category": rule.category.value,
                "provider": rule.provider or ANY_PROVIDER,
                "pattern": rule.pattern,
                "action": rule.action.value,
                "note": rule.note or "",
            }
            for rule in rules
        ],
        columns=RULE_COLUMNS,
    )


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _order(value: Any, moved: bool, row: int) -> tuple[float, int, int]:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.inf
    return (number if math.isfinite(number) else math.inf, 0 if moved else 1, row)


def specs_from_table(
    frame: pd.DataFrame, saved: Sequence[ApprovalRule] = ()
) -> tuple[list[RuleSpec], list[str]]:
    """The edited table as rules in their new order, and one problem line per row that is not
    a valid rule (numbered as shown). Order: by `Order`; a row given the Order another row has
    (a new row, or one whose Order was changed) goes before it; else as shown."""
    before = {rule.id: rule.position for rule in saved}
    specs: list[tuple[tuple[float, int, int], RuleSpec]] = []
    problems: list[str] = []
    for shown, (_, row) in enumerate(frame.iterrows(), start=1):
        rule_id = _cell(row.get("id"))
        try:
            spec = parse_rule(
                _cell(row.get("category")) or Category.TEXT.value,
                _cell(row.get("pattern")),
                _cell(row.get("action")) or RuleAction.APPROVE.value,
                provider=_cell(row.get("provider")),
                note=_cell(row.get("note")),
                rule_id=int(float(rule_id)) if rule_id else None,
            )
        except InvalidInputError as exc:
            problems.append(f"row {shown}: {exc}")
            continue
        position = row.get("position")
        moved = spec.id is None or before.get(spec.id) != _order(position, False, 0)[0]
        specs.append((_order(position, moved, shown), spec))
    return [spec for _, spec in sorted(specs, key=lambda item: item[0])], problems


def rules_section(actor: Actor) -> None:
    st.subheader("Approval rules")
    st.caption(
        "Decisions about new models made in advance. When a refresh lists a model for the first "
        "time (or again after it was deprecated), the first rule that matches decides: approve "
        "→ enabled, ignore → disabled with the rule named in its notes. Without a matching rule "
        "the model waits in pending. Rules never change a model an admin decided on. Pattern: a "
        "glob on the model id, case-sensitive (* any text, ? one character, [abc] one of)."
    )
    saved = list_approval_rules()
    edited = st.data_editor(
        rules_frame(saved),
        key=f"settings-rules-grid-{_generation(RULES_GENERATION)}",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_order=["position", "category", "provider", "pattern", "action", "note", "id"],
        column_config={
            "id": st.column_config.NumberColumn("Rule", disabled=True, format="#%d"),
            "position": st.column_config.NumberColumn(
                "Order", min_value=1, step=1, help="1 is asked first: change it to reorder"
            ),
            "category": st.column_config.SelectboxColumn(
                "Category", options=[c.value for c in Category], default="text", required=True
            ),
            "provider": st.column_config.SelectboxColumn(
                "Provider", options=[ANY_PROVIDER, *ALL_PROVIDERS], default=ANY_PROVIDER
            ),
            "pattern": st.column_config.TextColumn(
                "Pattern", help="glob on the model id, e.g. gpt-5*", max_chars=200
            ),
            "action": st.column_config.SelectboxColumn(
                "Action", options=[a.value for a in RuleAction], default="approve", required=True
            ),
            "note": st.column_config.TextColumn("Note", width="medium"),
        },
    )
    specs, problems = specs_from_table(edited, saved)
    for problem in problems:
        say("warning", problem)
    matches = count_matches(specs)
    lines = [
        f"{position}. {label(spec.summary)} — matches {count} listed "
        f"model{'' if count == 1 else 's'}"
        for position, (spec, count) in enumerate(zip(specs, matches, strict=True), start=1)
    ]
    if lines:
        st.markdown("\n".join(f"- {escape_markdown(line)}" for line in lines))
    unsaved = not problems and [(s.id, *_spec_values(s)) for s in specs] != [
        (r.id, *_spec_values(r)) for r in saved
    ]
    cols = st.columns([1, 1, 3])
    if cols[0].button(
        "Save rules", type="primary", key="settings-rules-save", disabled=not unsaved
    ):

        def save() -> str:
            rules = save_approval_rules(specs, actor=actor)
            return f"Saved {len(rules)} approval rule(s)."

        if attempt(save, failure="Rules not saved: ", feedback=toast):
            _bump(RULES_GENERATION)
        st.rerun()
    if cols[1].button("Discard changes", key="settings-rules-discard", disabled=not unsaved):
        _bump(RULES_GENERATION)
        st.rerun()
    if unsaved:
        cols[2].caption("Unsaved changes: new models are decided by the saved rules until saved.")


def _spec_values(spec: RuleSpec) -> tuple[object, ...]:
    return (spec.category, spec.provider, spec.pattern, spec.action, spec.note)


# --- export and import -------------------------------------------------------------------------


def export_section() -> None:
    st.subheader("Export")
    st.caption(
        "The admin state as a file: each model's status, successor, edited name, description, "
        "notes and metadata; the defaults; the settings; the approval rules. Never API keys, "
        "never the audit log. Stable order, so two exports diff like a change list."
    )
    cols = st.columns(2)
    for column, fmt in zip(cols, ("yaml", "json"), strict=True):
        column.download_button(
            f"Download export ({fmt.upper()})",
            data=signed_in_export(partial(_export_bytes, fmt)),
            file_name=f"model-registry.{fmt}",
            mime="application/yaml" if fmt == "yaml" else "application/json",
            key=f"settings-export-{fmt}",
        )


def _export_bytes(fmt: str) -> bytes:
    return render_export(export_admin_state(), fmt).encode()


def _shown(value: Any) -> str:
    return "" if value is None else label(value if isinstance(value, str) else repr(value))


def import_section(actor: Actor) -> None:
    st.subheader("Import")
    st.caption(
        "Bring this catalog to an export's admin state (e.g. staging's). Upload the file to see "
        "every change it would make; nothing is written until you apply them. Models the file "
        "does not name are left alone."
    )
    upload = st.file_uploader(
        "Export file (YAML or JSON)",
        type=["yaml", "yml", "json"],
        key=f"settings-import-file-{_generation(IMPORT_GENERATION)}",
    )
    if upload is None:
        return
    data = upload.getvalue()
    try:
        preview = import_admin_state(data, dry_run=True)
    except RegistryError as exc:
        say("error", f"Not imported: {exc}")
        return
    if not preview.changes:
        say("info", "Nothing to change: this catalog already matches the file.")
        return
    st.caption(f"{len(preview.changes)} change(s) — preview, nothing was written")
    st.dataframe(
        [
            {
                "change": c.kind,
                "target": label(c.target),
                "from": _shown(c.old),
                "to": _shown(c.new),
            }
            for c in preview.changes
        ],
        hide_index=True,
        width="stretch",
    )
    if st.button(
        f"Apply {len(preview.changes)} change(s)", type="primary", key="settings-import-apply"
    ):

        def apply() -> str:
            report = import_admin_state(data, actor=actor)
            return f"Imported {len(report.changes)} change(s) from {upload.name}."

        if attempt(apply, failure="Not imported: ", feedback=toast):
            _bump(IMPORT_GENERATION)
        st.rerun()
