"""Normalized metadata on ai_models: prices, output limit, capabilities, replacement, sources.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 00:20:00

Downgrading drops only these columns; `retires_at` predates them and stays. It refuses while
an admin set any of them (marked "admin" in `metadata_sources`): those values exist nowhere
else, unlike the listing's and the dataset's, which the next refresh brings back.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("ai_models", schema=None) as batch_op:
        batch_op.add_column(sa.Column("input_price_per_mtok", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("output_price_per_mtok", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("price_per_mchar", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("max_output_tokens", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("capabilities", _JSON, nullable=True))
        batch_op.add_column(sa.Column("replacement_model_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("metadata_sources", _JSON, nullable=True))


def _admin_set_models() -> int:
    """How many models hold a value an admin set in these columns."""
    models = sa.table("ai_models", sa.column("metadata_sources", _JSON))
    rows = op.get_bind().execute(
        sa.select(models.c.metadata_sources).where(models.c.metadata_sources.is_not(None))
    )
    return sum(
        1
        for (sources,) in rows
        if isinstance(sources, dict) and "admin" in sources.values()  # registry.types.SOURCE_ADMIN
    )


def downgrade() -> None:
    held = _admin_set_models()
    if held:
        # CommandError: the alembic command line prints it as one line, and so does `migrate`.
        raise CommandError(
            f"refusing to drop the normalized metadata columns: an admin set prices, limits or "
            f"capabilities on {held} model(s); back the database up and drop the columns by "
            "hand if that is really meant"
        )
    with op.batch_alter_table("ai_models", schema=None) as batch_op:
        batch_op.drop_column("metadata_sources")
        batch_op.drop_column("replacement_model_id")
        batch_op.drop_column("capabilities")
        batch_op.drop_column("max_output_tokens")
        batch_op.drop_column("price_per_mchar")
        batch_op.drop_column("output_price_per_mtok")
        batch_op.drop_column("input_price_per_mtok")
