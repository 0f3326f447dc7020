"""Record who holds a discovery claim and its heartbeat, so a crashed refresh is taken over.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 22:50:00

The new columns only describe refreshes in progress (no admin data): downgrading drops them,
and the claim falls back to its expiry time (`claimed_until`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("discovery_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("claim_host", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("claim_pid", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("discovery_state", schema=None) as batch_op:
        batch_op.drop_column("claim_pid")
        batch_op.drop_column("claim_host")
        batch_op.drop_column("claim_token")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("claimed_at")
