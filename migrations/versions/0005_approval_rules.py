"""Approval rules: an ordered list of decisions about new models, made in advance.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 06:00:00

The rules are admin data: downgrading refuses while any rule exists (remove them first with
`model-registry rules remove`, after keeping them with `model-registry export`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "approval_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=8), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("pattern", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint("category IN ('text', 'tts')", name=op.f("ck_approval_rules_category")),
        sa.CheckConstraint(
            "action IN ('approve', 'ignore')", name=op.f("ck_approval_rules_action")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_approval_rules_updated_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_rules")),
    )
    with op.batch_alter_table("approval_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_rules_position"), ["position"], unique=False)


def downgrade() -> None:
    count = op.get_bind().scalar(sa.select(sa.func.count()).select_from(sa.table("approval_rules")))
    if count:
        # CommandError: the alembic command line prints it as one line, and so does `migrate`.
        raise CommandError(
            f"refusing to drop the approval rules, {count} rule(s) exist; keep them with "
            "`model-registry export`, remove them with `model-registry rules remove`, then "
            "downgrade again"
        )
    with op.batch_alter_table("approval_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_rules_position"))
    op.drop_table("approval_rules")
