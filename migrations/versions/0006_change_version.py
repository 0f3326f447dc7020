"""A per-row change counter on ai_models, so a process reloads only the rows that changed.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-06 06:00:00

`ai_models.change_version` holds the change stamp (`registry_stamp.version`) of the write that
last inserted or updated the row, set by a trigger on both backends (so no write path can
forget it). `Database.write()` bumps the stamp first, which serializes catalog writers and
makes the trigger's value the version the change commits as. Existing rows start at 0 (in every
snapshot). Downgrading drops only the counter and its triggers: no admin data.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STAMP = "(SELECT version FROM registry_stamp WHERE id = 1)"


def upgrade() -> None:
    op.add_column(
        "ai_models",
        sa.Column("change_version", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_index("ix_ai_models_change_version", "ai_models", ["change_version"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION registry_mark_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN NEW.change_version := COALESCE({_STAMP}, 0); RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER ai_models_mark_change BEFORE INSERT OR UPDATE ON ai_models "
            "FOR EACH ROW EXECUTE FUNCTION registry_mark_change()"
        )
        return
    # SQLite: AFTER triggers writing the row again (recursive triggers are off by default).
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER ai_models_mark_{event.lower()} AFTER {event} ON ai_models "
            f"BEGIN UPDATE ai_models SET change_version = COALESCE({_STAMP}, 0) "
            "WHERE id = NEW.id; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ai_models_mark_change ON ai_models")
        op.execute("DROP FUNCTION IF EXISTS registry_mark_change()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ai_models_mark_insert")
        op.execute("DROP TRIGGER IF EXISTS ai_models_mark_update")
    op.drop_index("ix_ai_models_change_version", table_name="ai_models")
    with op.batch_alter_table("ai_models", schema=None) as batch_op:
        batch_op.drop_column("change_version")
